"""Plot builders: pure functions of plain results."""
import plotly.graph_objects as go
import pytest

from qml_core.plots import metrics_table, training_curves, unlearning_trajectories, weight_heatmap


def test_training_curves_have_train_and_validation_per_model():
    hist = {"epoch": [1, 2], "train_loss": [0.7, 0.6], "val_loss": [0.7, 0.5], "train_acc": [0.5, 0.6],
            "val_acc": [0.5, 0.7]}
    fig = training_curves({"qnn": hist, "mlp": hist})
    assert isinstance(fig, go.Figure) and len(fig.data) == 8


def test_unlearning_trajectories_average_runs_with_bands():
    runs = [{"method": "finetune", "epoch": [0, 1], "val_acc": [0.5, 0.9], "seconds": [0.0, 1.0]},
            {"method": "finetune", "epoch": [0, 1], "val_acc": [0.7, 0.7], "seconds": [0.0, 3.0]}]
    fig = unlearning_trajectories(runs)
    band, line = fig.data
    assert list(line.y) == pytest.approx([0.6, 0.8]) and list(band.y) == pytest.approx([0.7, 0.9, 0.7, 0.5])
    assert list(unlearning_trajectories(runs, x_axis="seconds").data[1].x) == [0.0, 2.0]


def test_heatmap_and_table():
    fig = weight_heatmap({"method": "scrub", "w_kl": [0.0, 0.5], "w_fo": [0.1], "val_acc": [[0.9], [0.8]]})
    assert [list(row) for row in fig.data[0].z] == [[0.9], [0.8]]
    table = metrics_table([{"method": "retrain", "val_acc_mean": 0.9, "val_acc_std": 0.01, "epochs_to_match": [3]}])
    assert table.data[0].cells.values[1][0] == "0.900 ± 0.010" and table.data[0].cells.values[-1][0] == "3"


def test_curvature_figures():
    from qml_core.plots import hessian_spectrum, interpolation_curve, landscape_surface, spectral_density, trace_ratio_bars

    spec = hessian_spectrum([{"model": "mlp", "alpha": 0.3, "eigenvalues": [-0.1, 0.01, 1.0, 10.0]}])
    assert [len(t.x) for t in spec.data] == [3, 1] and spec.data[0].x[-1] == pytest.approx(1.0)
    assert spectral_density([0.0, 1.0], [0.5, 0.0]).layout.yaxis.type == "log"
    bars = trace_ratio_bars([{"model": "mlp", "alpha": 0.2, "ratio_mean": 3.0, "ratio_std": 1.0, "ratios": [2.0, 4.0],
                              "collapsed_ratios": [0.1], "collapsed_seeds": [2]}])
    assert list(bars.data[0].y) == [3.0] and list(bars.data[1].y) == [2.0, 4.0] and list(bars.data[2].y) == [0.1]
    curve = interpolation_curve({"t": [-0.5, 0.0, 0.5, 1.0, 1.5], "loss": [3, 1, 2, 1.5, 4]})
    assert list(curve.data[1].y) == [1, 1.5] and list(curve.data[1].text) == ["clean", "poisoned"]
    grid = {"a": [-1, 0, 1], "b": [-1, 0, 1], "loss": [[3, 2, 3], [2, 1, 2], [3, 2, 3]]}
    assert landscape_surface(grid).data[1].x == (0,)
    surf = landscape_surface(grid, surface=True)
    assert isinstance(surf.data[0], go.Surface) and surf.data[1].z == (1,)
