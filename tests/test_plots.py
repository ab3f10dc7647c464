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
