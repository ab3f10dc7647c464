"""Plot builders: pure functions of plain results, one look for every figure (palette, fonts,
words on the axes), and the figure-specific fixes of issue 13."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from qml_core.reporting import figure_style
from qml_core.reporting.figure_style import (AXIS_TITLE_SIZE, FIGURE_CONFIG, FIGURE_CONFIG_SVG, FONT_SIZE,
                                             HUMAN_COLUMNS, LINE_WIDTH, METHOD_COLORS, PALETTE, figure_config,
                                             human_table, log_axis, log_ticks, stagger_levels, tick_text)
from qml_core.reporting.plots import (LABEL_STEP_PX, epochs_to_match_text, hessian_spectrum, image_grid,
                                      interpolation_curve, landscape_surface, metrics_table, phase_diagram, readiness_bars,
                                      spectral_density, trace_ratio_bars, training_curves, unlearning_comparison,
                                      unlearning_trajectories, upload_figure, weight_heatmap, xxz_overview)

HIST = {"epoch": [1, 2], "train_loss": [0.7, 0.6], "val_loss": [0.7, 0.5], "train_acc": [0.5, 0.6], "val_acc": [0.5, 0.7]}


def trajectories(method: str, offsets=(0.0, 0.2)) -> list[dict]:
    return [{"method": method, "run": r, "epoch": [0, 1, 2], "val_acc": [0.5 + o, 0.7 + o, 0.8],
             "forget_acc_poisoned": [0.9, 0.5, 0.2], "seconds": [0.0, 1.0, 2.0]} for r, o in enumerate(offsets)]


def summary_rows(model: str, curve: dict[float, float], attack: str = "label-flip") -> list[dict]:
    return [dict(dataset="mnist", model=model, attack=attack, alpha=a, n=2, val_acc_mean=v, val_acc_std=0.02,
                 train_acc_mean=1 - a, train_acc_std=0.01) for a, v in curve.items()]


PHASE = summary_rows("qnn", {0.0: 0.95, 0.3: 0.9, 0.6: 0.3, 0.9: 0.1}) + summary_rows("mlp", {0.0: 0.95, 0.3: 0.7, 0.6: 0.3, 0.9: 0.1})


def critical(qnn: float, mlp: float) -> list[dict]:
    return [dict(model=m, estimate=x, low=x - 0.02, high=x + 0.02) for m, x in (("qnn", qnn), ("mlp", mlp))]


SPECTRA = [{"model": m, "alpha": a, "eigenvalues": list(np.geomspace(1e-4, 10.0 * (1 + 30 * a * (m == "mlp")), 40)) + [-0.01]}
           for m in ("qnn", "mlp") for a in (0.0, 0.3)]
RATIOS = [{"model": "mlp", "alpha": 0.2, "ratio_mean": 30.0, "ratio_std": 10.0, "ratios": [20.0, 40.0],
           "ratio_median": 30.0, "ratio_q25": 25.0, "ratio_q75": 35.0, "collapsed_ratios": [0.15], "collapsed_seeds": [2]},
          {"model": "qnn", "alpha": 0.2, "ratio_mean": 1.1, "ratio_std": 0.1, "ratios": [1.0, 1.2],
           "ratio_median": 1.1, "ratio_q25": 1.05, "ratio_q75": 1.15,
           "collapsed_ratios": [], "collapsed_seeds": []}]
SLICE = {"a": [-1, 0, 1], "b": [-1, 0, 1], "loss": [[3, 2, 3], [2, 1.5, 2], [3, 2, 0.5]]}  # minimum at a=1, b=1
XXZ = {"spins": 8, "delta": [0.0, 0.5, 0.9, 1.1, 1.5, 2.0], "gap": [1, 0.5, 0.1, 0.1, 0.5, 1],
       "zz": [0, -0.2, -0.4, -0.5, -0.7, -0.9], "xx": [-0.5, -0.4, -0.3, -0.2, -0.1, 0],
       "role": ["train", "validation", "window", "window", "validation", "train"]}
SUMMARY = [{"method": "retrain", "val_acc_mean": 0.9, "val_acc_std": 0.01, "epochs_to_match": [3, 5]},
           {"method": "grad-ascent", "val_acc_mean": 0.8, "val_acc_std": 0.05, "mia_auc_mean": 0.6, "mia_auc_std": 0.1,
            "epochs_to_match": [3, 5, "never"], "epochs_to_match_mean": 4.0, "epochs_to_match_std": 1.0}]

BUILDERS = {  # every builder with a small input: the shared-look checks run over all of them
    "training_curves": lambda: training_curves({"qnn": HIST, "mlp": HIST}),
    "unlearning_trajectories": lambda: unlearning_trajectories(trajectories("retrain") + trajectories("scrub")),
    "unlearning_comparison": lambda: unlearning_comparison({"qnn": trajectories("retrain") + trajectories("scrub"),
                                                            "mlp": trajectories("retrain") + trajectories("scrub")}),
    "weight_heatmap": lambda: weight_heatmap({"method": "scrub", "w_kl": [0.0, 0.5], "w_fo": [0.1], "val_acc": [[0.9], [0.8]]}),
    "hessian_spectrum": lambda: hessian_spectrum(SPECTRA),
    "spectral_density": lambda: spectral_density([0.0, 1.0, 2.0], [0.5, 0.01, 0.0]),
    "trace_ratio_bars": lambda: trace_ratio_bars(RATIOS),
    "interpolation_curve": lambda: interpolation_curve({"t": [-0.5, 0.0, 0.5, 1.0, 1.5], "loss": [3, 1, 2, 1.5, 4]}),
    "landscape_contour": lambda: landscape_surface(SLICE),
    "landscape_surface": lambda: landscape_surface(SLICE, surface=True),
    "phase_diagram": lambda: phase_diagram(PHASE, critical(0.5, 0.3)),
    "xxz_overview": lambda: xxz_overview(XXZ),
    "upload_figure": lambda: upload_figure({"pc1": [0.0, 1.0], "pc2": [1.0, 0.0], "label": [0, 1], "classes": ["a", "b"]}),
    "metrics_table": lambda: metrics_table(SUMMARY),
    "image_grid": lambda: image_grid(np.zeros((2, 4, 4)), ["1", "9"]),
}


def axes(fig: go.Figure) -> list:
    layout = fig.layout
    return [layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))]


@pytest.mark.parametrize("name", BUILDERS)
def test_every_figure_has_the_shared_readable_look(name):
    fig = BUILDERS[name]()
    assert isinstance(fig, go.Figure)
    assert fig.layout.font.size >= 16
    for axis in axes(fig):
        if axis.visible is False:
            continue
        assert axis.title.font.size >= 18 and axis.tickfont.size >= 16
    for trace in fig.data:
        if trace.type in ("scatter", "scattergl") and "lines" in (trace.mode or "lines") and trace.fill != "toself":
            assert trace.line.width >= LINE_WIDTH, (name, trace.name)
        if trace.type in ("scatter", "scattergl") and "markers" in (trace.mode or ""):
            assert trace.marker.size >= 8, (name, trace.name)
    for annotation in fig.layout.annotations:
        assert annotation.font.size >= 16, (name, annotation.text)
    json.dumps(fig.to_plotly_json(), default=str)  # plain data: the page and the report serialise it


@pytest.mark.parametrize("name", [n for n in BUILDERS if n not in ("metrics_table", "image_grid", "landscape_surface")])
def test_axis_titles_are_words_not_keys(name):
    fig = BUILDERS[name]()
    titled = [axis.title.text for axis in axes(fig) if axis.title.text]
    assert titled, name
    for text in titled:
        assert "_" not in text, (name, text)  # never a raw key such as val_acc
    if name == "unlearning_trajectories":
        assert fig.layout.yaxis.title.text == "validation accuracy (clean labels)"


def test_one_palette_for_models_and_methods_across_figures():
    qnn, mlp = PALETTE["qnn"], PALETTE["mlp"]
    curves = training_curves({"qnn": HIST, "mlp": HIST})
    assert {t.line.color for t in curves.data if t.name.startswith("QNN")} == {qnn}
    assert {t.line.color for t in curves.data if t.name.startswith("MLP")} == {mlp}
    phase = phase_diagram(PHASE)
    assert {t.line.color for t in phase.data if t.name and t.name.startswith("QNN")} == {qnn}
    bars = trace_ratio_bars(RATIOS)
    assert {t.marker.color for t in bars.data if t.name and t.name.startswith("MLP")} == {mlp}
    spectrum = hessian_spectrum(SPECTRA)  # the largest α in the model's own colour, the clean one a paler shade
    assert [t.line.color for t in spectrum.data if t.name == "QNN, α = 0.3"] == [qnn]
    assert [t.line.color for t in spectrum.data if t.name == "MLP, α = 0.3"] == [mlp]
    side = unlearning_comparison({"qnn": trajectories("scrub"), "mlp": trajectories("scrub")})
    single = unlearning_trajectories(trajectories("scrub"))
    assert {t.line.color for t in side.data if t.mode == "lines" and t.name != "chance (0.5)"} == {METHOD_COLORS["scrub"]}
    assert {t.line.color for t in single.data if t.mode == "lines" and t.name != "chance (0.5)"} == {METHOD_COLORS["scrub"]}
    assert len(set(METHOD_COLORS.values())) == len(METHOD_COLORS) and not set(METHOD_COLORS.values()) & set(PALETTE.values())


def test_training_curves_have_train_and_validation_per_model():
    fig = training_curves({"qnn": HIST, "mlp": HIST})
    assert len(fig.data) == 9  # 2 models × 2 splits × (loss, accuracy) and chance
    assert {t.name for t in fig.data} == {"QNN train (poisoned labels)", "QNN validation (clean labels)",
                                          "MLP train (poisoned labels)", "MLP validation (clean labels)", "chance (0.5)"}


def test_training_curves_mark_chance_and_one_minus_alpha_on_the_accuracy_panel():
    fig = training_curves({"qnn": HIST, "mlp": HIST}, alpha=0.3, attack="label-flip")
    chance = next(t for t in fig.data if t.name == "chance (0.5)")
    assert list(chance.y) == [0.5, 0.5] and list(chance.x) == [1, 2] and chance.xaxis == "x2"
    ignore = next(t for t in fig.data if t.name.startswith("1 − α"))
    assert list(ignore.y) == pytest.approx([0.7, 0.7]) and ignore.xaxis == "x2" and ignore.line.dash == "longdashdot"
    assert ignore.name.startswith("1 − α = 0.70: train accuracy") and ignore.showlegend is not False
    noise = training_curves({"qnn": HIST}, alpha=0.4, attack="feature-noise")
    assert [list(t.y) for t in noise.data if t.name.startswith("1 − α/2 = 0.80")] == [pytest.approx([0.8, 0.8])]
    assert not [t for t in training_curves({"qnn": HIST}, alpha=0.0).data if t.name.startswith("1 − α")]
    assert not fig.layout.annotations[2:]  # labels are legend entries: nothing drawn on the plot to overlap


def test_unlearning_trajectories_average_runs_with_bands():
    runs = [{"method": "finetune", "epoch": [0, 1], "val_acc": [0.5, 0.9], "seconds": [0.0, 1.0]},
            {"method": "finetune", "epoch": [0, 1], "val_acc": [0.7, 0.7], "seconds": [0.0, 3.0]}]
    fig = unlearning_trajectories(runs)
    band, line, chance = fig.data
    assert chance.name == "chance (0.5)" and list(chance.x) == [0, 1]
    assert list(line.y) == pytest.approx([0.6, 0.8]) and list(band.y) == pytest.approx([0.7, 0.9, 0.7, 0.5])
    assert list(unlearning_trajectories(runs, x_axis="seconds").data[1].x) == [0.0, 2.0]
    assert line.name == "fine-tune"
    forget = unlearning_trajectories(trajectories("scrub"), "forget_acc_poisoned", "seconds")
    assert forget.layout.yaxis.title.text == "forget-set accuracy (poisoned labels)"
    assert forget.layout.xaxis.title.text == "wall time (s)"


def test_unlearning_comparison_puts_qnn_and_mlp_side_by_side_on_one_y_axis():
    fig = unlearning_comparison({"qnn": trajectories("retrain") + trajectories("finetune"),
                                 "mlp": trajectories("finetune", (0.1, 0.1)) + trajectories("retrain")})
    assert [a.text for a in fig.layout.annotations] == ["QNN", "MLP"]
    assert [a.font.color for a in fig.layout.annotations] == [PALETTE["qnn"], PALETTE["mlp"]]
    assert fig.layout.yaxis2.matches == "y"  # shared y: the two panels compare at a glance
    assert fig.layout.yaxis.title.text == "validation accuracy (clean labels)" and not fig.layout.yaxis2.title.text
    lines = [t for t in fig.data if t.mode == "lines" and t.name != "chance (0.5)"]
    assert [(t.name, t.xaxis) for t in lines] == [("retrain (reference)", "x"), ("fine-tune", "x"),
                                                  ("retrain (reference)", "x2"), ("fine-tune", "x2")]
    chance = [t for t in fig.data if t.name == "chance (0.5)"]
    assert [(t.xaxis, list(t.y), t.showlegend) for t in chance] == [("x", [0.5, 0.5], True), ("x2", [0.5, 0.5], False)]
    losses = [{"method": "scrub", "epoch": [0, 1], "val_loss": [0.7, 0.5], "seconds": [0.0, 1.0]}]
    assert not [t for t in unlearning_comparison({"qnn": losses}, metric="val_loss").data
                if t.name == "chance (0.5)"]  # only on accuracy axes
    assert [t.showlegend for t in lines] == [True, True, False, False]  # one legend entry per method
    assert lines[0].line.dash == "dash" and lines[1].line.dash == "solid"  # the reference stands out
    assert list(lines[3].y) == pytest.approx([0.6, 0.8, 0.8])  # the MLP panel has the MLP's runs


def test_heatmap():
    fig = weight_heatmap({"method": "scrub", "w_kl": [0.0, 0.5], "w_fo": [0.1], "val_acc": [[0.9], [0.8]]})
    assert [list(row) for row in fig.data[0].z] == [[0.9], [0.8]] and fig.data[0].texttemplate == "%{z:.2f}"


def test_metrics_table_reads_in_words_and_fits_its_rows():
    fig = metrics_table(SUMMARY)
    table = fig.data[0]
    header = [h.replace("<b>", "").replace("</b>", "").replace("<br>", " ") for h in table.header.values]
    assert header[:3] == ["method", "validation accuracy", "retain accuracy"] and header[-1] == "epochs to match retrain"
    assert not any("_" in h for h in header)
    assert table.header.font.size >= 16 and table.cells.font.size >= 16
    assert list(table.cells.values[0]) == ["retrain<br>(reference)", "gradient<br>ascent"]
    assert table.cells.values[1][0] == "0.900<br>± 0.010" and table.cells.values[5][0] == "—"
    assert list(table.cells.values[-1]) == ["reference", "4.0 ± 1.0<br>(1 of 3 runs<br>never)"]
    # the height is the header plus every row (two text lines, three where "(1 of 3 runs never)" wraps), so the
    # table never scrolls
    rows = (2 * 22 + 14) + (3 * 22 + 14)
    assert fig.layout.height == table.header.height + rows + 2 * fig.layout.margin.t + 8
    assert metrics_table(SUMMARY * 3).layout.height == fig.layout.height + 2 * rows


def test_epochs_to_match_is_a_number_not_a_list():
    assert epochs_to_match_text({"epochs_to_match": [3]}) == "3"
    assert epochs_to_match_text({"epochs_to_match": [5, 3]}) == "4.0 ± 1.0"
    assert epochs_to_match_text({"epochs_to_match": [0, 0, 0]}) == "0"
    assert epochs_to_match_text({"epochs_to_match": [5, "never"]}) == "5 (1 of 2 runs never)"
    assert epochs_to_match_text({"epochs_to_match": ["never", "never"]}) == "never"
    assert epochs_to_match_text({"method": "x"}) == "—"
    # seen: retraining's own row read "38.5 ± 3.5" epochs to match retraining
    assert epochs_to_match_text({"method": "retrain", "epochs_to_match": [35, 42]}) == "reference"


def test_phase_labels_of_nearly_equal_critical_alphas_are_staggered():
    close = phase_diagram(PHASE, critical(0.50, 0.51))
    labels = [a for a in close.layout.annotations if "critical α" in (a.text or "")]
    assert len(labels) == 2 and {"QNN", "MLP"} == {a.text[3:6] for a in labels}
    assert abs(labels[0].yshift - labels[1].yshift) >= LABEL_STEP_PX  # one above the other, never on top
    assert all(a.yref == "paper" and a.y == 1 and a.yanchor == "bottom" for a in labels)  # above the plot area
    assert close.layout.margin.t >= 40 + 2 * LABEL_STEP_PX  # and the top margin makes room for both rows
    far = phase_diagram(PHASE, critical(0.15, 0.75))
    assert len({a.yshift for a in far.layout.annotations if "critical α" in (a.text or "")}) == 1
    lines = [s for s in close.layout.shapes if s.type == "line"]
    assert sorted(s.x0 for s in lines) == [0.50, 0.51]
    nan = phase_diagram(PHASE, [dict(model="qnn", estimate=float("nan"), low=float("nan"), high=float("nan"))])
    assert not [a for a in nan.layout.annotations if "critical" in (a.text or "")]


def test_stagger_levels():
    assert stagger_levels([0.5, 0.51], 0.2) == [0, 1]
    assert stagger_levels([0.2, 0.8], 0.2) == [0, 0]
    assert stagger_levels([0.51, 0.5, 0.52, 0.9], 0.2) == [1, 0, 2, 0]  # order of input kept
    assert stagger_levels([], 0.2) == []


def test_phase_reference_lines_for_chance_and_one_minus_alpha():
    fig = phase_diagram(PHASE)
    chance = next(t for t in fig.data if (t.name or "") == "chance (0.5): a validation curve<br>crosses it at its critical α")
    assert list(chance.y) == [0.5, 0.5] and list(chance.x) == [0.0, 0.9]
    ignore = next(t for t in fig.data if (t.name or "").startswith("1 − α"))
    assert np.allclose(ignore.y, 1 - np.asarray(ignore.x)) and ignore.x[0] == 0.0 and ignore.x[-1] == 0.9
    noise = phase_diagram(summary_rows("qnn", {0.0: 0.9, 0.5: 0.8}, attack="feature-noise"))
    half = next(t for t in noise.data if (t.name or "").startswith("1 − α/2"))
    assert np.allclose(half.y, 1 - np.asarray(half.x) / 2)


def test_trace_ratio_axis_has_readable_explicit_ticks():
    fig = trace_ratio_bars(RATIOS)
    assert list(fig.data[0].y) == [30.0] and list(fig.data[1].y) == [20.0, 40.0] and list(fig.data[2].y) == [0.15]
    y = fig.layout.yaxis
    assert y.type == "log" and y.tickmode == "array"
    assert list(y.tickvals) == [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]  # 1-3 steps covering 0.15 .. 40
    assert list(y.ticktext) == ["0.1", "0.3", "1", "3", "10", "30", "100"]
    assert 10 ** y.range[0] <= 0.15 and 10 ** y.range[1] >= 40.0
    assert fig.layout.scattermode == "group" and fig.data[1].offsetgroup == fig.data[0].offsetgroup == "mlp"
    assert any(s.y0 == 1.0 and s.showlegend for s in fig.layout.shapes)  # the "no change" line is in the legend


def test_trace_ratio_bars_stand_at_the_median_with_quartiles():
    skewed = [{**RATIOS[0], "ratio_mean": 500.0, "ratio_std": 800.0, "ratio_median": 27.0, "ratio_q25": 25.0,
               "ratio_q75": 30.0}]
    bar = trace_ratio_bars(skewed).data[0]
    assert list(bar.y) == [27.0] and "median" in bar.name
    assert list(bar.error_y.array) == [3.0] and list(bar.error_y.arrayminus) == [2.0]


def test_log_ticks():
    assert log_ticks(0.15, 40) == [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
    assert log_ticks(16, 938) == [10.0, 30.0, 100.0, 300.0, 1000.0]
    many = log_ticks(1e-12, 30)  # 14 decades: powers of ten only, thinned
    assert len(many) <= 8 and all(np.log10(t) == round(np.log10(t)) for t in many) and 1.0 in many
    assert [tick_text(t) for t in (1e-6, 0.001, 0.3, 3.0, 3000.0, 1e6)] == ["10⁻⁶", "0.001", "0.3", "3", "3000", "10⁶"]
    assert log_axis([5.0])["tickvals"] == [3.0, 10.0]
    with pytest.raises(ValueError, match="positive bounds"):
        log_ticks(0.0, 1.0)


def test_hessian_spectrum_is_one_density_per_model_and_alpha_in_small_multiples():
    fig = hessian_spectrum(SPECTRA)  # the ``hessian`` command's format: model, alpha, eigenvalues
    assert not any(isinstance(t, go.Histogram) for t in fig.data)
    assert [t.name for t in fig.data] == ["QNN, α = 0 (clean)", "QNN, α = 0.3", "MLP, α = 0 (clean)", "MLP, α = 0.3"]
    assert [t.yaxis for t in fig.data] == ["y", "y", "y2", "y2"]  # one panel per model
    assert [a.text for a in fig.layout.annotations] == ["QNN", "MLP"]
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"  # one eigenvalue axis
    assert [t.line.dash for t in fig.data] == ["dot", "solid", "dot", "solid"]
    for trace in fig.data:  # each density has unit area per decade of |λ|
        log_x = np.log10(np.asarray(trace.x))
        assert np.trapezoid(trace.y, log_x) == pytest.approx(1.0, abs=0.02)
        assert "1 of 41 eigenvalues negative" in trace.hovertemplate
    mlp_peak = fig.data[3].x[int(np.argmax(fig.data[3].y))]
    assert mlp_peak > fig.data[2].x[int(np.argmax(fig.data[2].y))]  # the poisoned MLP's spectrum sits higher
    assert fig.layout.xaxis2.type == "log" and fig.layout.xaxis2.tickmode == "array"


def test_spectral_density_log_axis():
    fig = spectral_density([0.0, 1.0], [0.5, 0.0])
    assert fig.layout.yaxis.type == "log" and list(fig.data[0].y) == [0.5, 1e-12]


def test_interpolation_marks_both_solutions():
    curve = interpolation_curve({"t": [-0.5, 0.0, 0.5, 1.0, 1.5], "loss": [3, 1, 2, 1.5, 4]})
    assert list(curve.data[1].y) == [1, 1.5] and list(curve.data[1].text) == ["clean", "poisoned"]
    assert curve.layout.yaxis.title.text == "held-out loss (clean labels)"


def test_landscape_marks_the_solution_and_the_minimum_and_says_why_they_differ():
    fig = landscape_surface(SLICE)
    contour, solution, minimum, star, diamond = fig.data
    assert (star.name, diamond.name) == (solution.name, minimum.name) and not solution.showlegend and not minimum.showlegend
    # the legend's symbols are the text's: ★ and ◇ (seen in 3-D: ● and ◇ beside a text of ★ and ◆)
    assert star.marker.symbol == "star" and diamond.marker.symbol == "diamond-open" and diamond.marker.color == "black"
    assert (solution.x, solution.y) == ((0,), (0,)) and solution.marker.symbol == "star"
    assert (minimum.x, minimum.y) == ((1,), (1,))  # the lowest plotted loss, not the origin
    assert "poisoned labels" in solution.name and "clean labels" in minimum.name
    for trace in (solution, minimum):
        assert "held-out loss uses clean labels" in trace.hovertemplate and "fitted to poisoned" in trace.hovertemplate
        assert trace.cliponaxis is False  # seen: the ◆ cut in half at the map's edge
    assert "1.5" in solution.hovertemplate and "0.5" in minimum.hovertemplate
    surf = landscape_surface(SLICE, surface=True)
    assert isinstance(surf.data[0], go.Surface)
    # 3-D: each marker on a stem above the surface (seen: the solution's dot hidden behind it)
    assert surf.data[1].z[0] == 1.5 and surf.data[1].z[1] > 1.5 and surf.data[2].z[0] == 0.5 and surf.data[2].z[1] > 0.5
    assert (surf.data[2].x[1], surf.data[2].y[1]) == (1, 1)
    assert [t.marker.symbol for t in surf.data[3:]] == ["star", "diamond-open"]
    assert list(surf.data[1].text) == ["", "★"] and surf.data[2].marker.symbol == "diamond-open"  # the map's own ★ and ◇
    centred = landscape_surface({"a": [-1, 0, 1], "b": [-1, 0, 1], "loss": [[3, 2, 3], [2, 1, 2], [3, 2, 3]]})
    assert (centred.data[2].x, centred.data[2].y) == ((0,), (0,))  # where they agree, both markers coincide
    # seen at 1280 × 720: the ◆ half outside the map, the ★ hidden under it
    assert centred.data[2].marker.symbol == "diamond-open" and centred.data[2].marker.size > centred.data[1].marker.size
    low, high = centred.layout.xaxis.range
    assert low < -1 and high > 1 and centred.layout.yaxis.scaleanchor == "x"


def test_every_slice_shares_one_colour_scale():
    """Seen: the MLP's and the QNN's slices on different colour scales, so one colour meant two losses."""
    mlp = landscape_surface({**SLICE, "loss": [[9, 8, 9], [8, 0.2, 8], [9, 8, 9]]})
    qnn = landscape_surface({**SLICE, "loss": [[0.7, 0.69, 0.7], [0.69, 0.6, 0.69], [0.7, 0.69, 0.7]]})
    assert (mlp.data[0].zmin, mlp.data[0].zmax) == (qnn.data[0].zmin, qnn.data[0].zmax) == (0.0, 2 * np.log(2))
    surf = landscape_surface(SLICE, surface=True).data[0]
    assert (surf.cmin, surf.cmax) == (0.0, 2 * np.log(2))


def test_xxz_training_markers_are_drawn_over_validation():
    fig = xxz_overview(XXZ)
    gap = [t for t in fig.data if t.mode == "markers"]
    names = [t.name.split(" ")[0] for t in gap]
    assert names.index("training") > names.index("validation") > names.index("left")  # training on top
    train, val = gap[names.index("training")], gap[names.index("validation")]
    assert list(train.x) == [0.0, 2.0] and list(val.x) == [0.5, 1.5]
    assert train.marker.symbol == "circle" and val.marker.symbol.endswith("-open")  # validation hollow: both visible
    assert train.marker.color != val.marker.color and val.marker.size > train.marker.size
    # each role on a row of its own under the gap's line (seen: 161 points on one curve merged into one band)
    rows = {t.name.split(" ")[0]: set(t.y) for t in gap}
    assert all(len(r) == 1 for r in rows.values()) and len(set.union(*rows.values())) == 3
    assert max(set.union(*rows.values())) < min(XXZ["gap"]) and list(train.customdata) == [1, 1]


def test_a_spread_table_reads_mean_plus_minus_std_in_one_column():
    rows = [{"model": "qnn", "alpha": 0.3, "val_acc_mean": 0.92681, "val_acc_std": 0.0098, "n": 5}]
    shown = human_table(rows, ["model", "alpha", "n", "val_acc_mean", "val_acc_std"], spread=True)
    assert shown == [{"model": "QNN", "poisoned fraction α": 0.3, "runs": 5,
                      "validation accuracy (clean labels)": "0.927 ± 0.010"}]
    assert len(human_table(rows, ["val_acc_mean", "val_acc_std"])[0]) == 2  # apart unless asked


def test_human_table_renames_columns_and_values_for_display():
    rows = [{"model": "qnn", "alpha": 0.3, "train_acc_mean": 0.712345, "val_acc_std": 0.01, "method": "grad-ascent",
             "odd_key": 1}]
    shown = human_table(rows, digits=3)
    assert shown == [{"model": "QNN", "poisoned fraction α": 0.3, "train accuracy (poisoned labels, mean)": 0.712,
                      "validation accuracy (clean labels, std)": 0.01, "method": "gradient ascent", "odd key": 1}]
    assert list(human_table(rows, ["alpha", "model"])[0]) == ["poisoned fraction α", "model"]
    assert rows[0]["model"] == "qnn"  # the input is not modified
    from qml_core.experiments.phase import phase_summary
    from qml_core.experiments.unlearn_summary import summary_table
    phase_keys = phase_summary([dict(dataset="mnist", model="qnn", attack="label-flip", alpha=0.0, run=0,
                                     val_acc=0.9, train_acc=1.0)])[0]
    unlearn_keys = summary_table([{"method": "retrain", "run": 0, "val_acc": 0.9, "retain_acc": 1.0, "forget_acc_true": 1.0,
                                   "forget_acc_poisoned": 0.0, "mia_auc": 0.5, "seconds": 1.0, "epochs_to_match": 0,
                                   "agreement_val": 1.0, "agreement_forget": 1.0}])[0]
    for key in [*phase_keys, *unlearn_keys]:  # every column the pages show has a name in words
        assert key in HUMAN_COLUMNS and "_" not in HUMAN_COLUMNS[key], key


def test_figure_configs_download_png_and_svg():
    assert FIGURE_CONFIG["toImageButtonOptions"] == {"format": "png", "scale": 2, "filename": "figure"}
    assert FIGURE_CONFIG_SVG["toImageButtonOptions"]["format"] == "svg"
    assert FIGURE_CONFIG["displaylogo"] is False and FIGURE_CONFIG["displayModeBar"] == "hover"
    svg = figure_config("phase-diagram", "svg")
    assert svg["toImageButtonOptions"] == {"format": "svg", "scale": 1, "filename": "phase-diagram"}
    assert figure_config("x")["toImageButtonOptions"]["format"] == "png"
    assert FIGURE_CONFIG["toImageButtonOptions"]["filename"] == "figure"  # the shared dict is not modified
    json.dumps([FIGURE_CONFIG, svg])  # plain data, as st.plotly_chart(config=...) sends it
    with pytest.raises(ValueError, match="image format must be one of"):
        figure_config("x", "pdf")


def test_style_helper_sizes_everything_and_keeps_explicit_choices():
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], mode="lines+markers"),
                     go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(width=0), fill="toself")])
    fig.add_annotation(text="note", x=0, y=0)
    figure_style.style(fig, height=300, legend="none", title="t")
    assert fig.data[0].line.width == LINE_WIDTH and fig.data[0].marker.size >= 8 and fig.data[1].line.width == 0
    assert fig.layout.font.size == FONT_SIZE and fig.layout.xaxis.title.font.size == AXIS_TITLE_SIZE
    assert fig.layout.annotations[0].font.size == FONT_SIZE and fig.layout.showlegend is False
    assert fig.layout.title.font.size >= 20 and fig.layout.height == 300


def test_report_shows_unlearning_side_by_side_per_dataset_and_tables_that_fit():
    from qml_core.reporting.report_figures import TITLE_ROOM, unlearning_figures

    groups = {f"{d}/{m}": {"dataset": d, "model": m, "summary": SUMMARY,
                           "trajectories": trajectories("retrain") + trajectories("scrub")}
              for d in ("mnist", "xxz") for m in ("qnn", "mlp")}
    figures = unlearning_figures(groups)
    titles = [t for t, _ in figures]
    assert sum("validation accuracy per epoch" in t for t in titles) == 2  # one side-by-side figure per dataset
    assert sum("final metrics" in t for t in titles) == 4 and "every method against retraining" in titles[-1]
    side = dict(figures)[titles[0]]
    assert [a.text for a in side.layout.annotations if a.text in ("QNN", "MLP")] == ["QNN", "MLP"]
    table = dict(figures)[titles[1]]
    assert table.layout.height == metrics_table(SUMMARY).layout.height + TITLE_ROOM  # the title does not eat rows
    bars = figures[-1][1]
    assert [t.name for t in bars.data] == ["retrain (reference)", "gradient ascent"]
    assert [t.marker.color for t in bars.data] == [METHOD_COLORS["retrain"], METHOD_COLORS["grad-ascent"]]


def test_a_phase_diagram_of_twelve_models_keeps_its_plot_area():
    """Seen with 11-12 models: the chart was an empty gap (a label row per model above it)."""
    names = ["qnn", "qnn-d1", "qnn-d3", "qnn-d10", "mlp", "mlp-1", "mlp-4", "mlp-16x4", "mlp-wd", "mlp-es", "logreg", "matched"]
    rows = [r for i, m in enumerate(names) for r in summary_rows(m, {0.0: 0.95, 0.3: 0.9 - 0.02 * i, 0.6: 0.3, 0.9: 0.1})]
    crit = [dict(model=m, estimate=0.45 + 0.005 * i, low=0.4, high=0.5, level=0.9, threshold=0.7, crossed=1.0)
            for i, m in enumerate(names)]
    fig = phase_diagram(rows, crit)
    assert fig.layout.margin.t <= 40 + 3 * LABEL_STEP_PX  # the plot area keeps most of the height
    assert not [a for a in fig.layout.annotations if "critical α" in (a.text or "")]
    legend = [t.name for t in fig.data if t.name and t.showlegend is not False]
    assert "logistic regression: critical α = 0.50" in legend
    assert fig.layout.height >= 120 + 24 * len(legend)  # every legend entry in view


def test_readiness_bars_show_each_step_s_ready_share_in_lesson_order_top_down():
    counts = {"playground": (36, 36), "phase": (2, 60), "landscape": (0, 10), "all": (38, 106)}
    fig = readiness_bars(counts, {"playground": "Poisoning playground", "phase": "Phase diagram"})
    ready, missing = fig.data
    assert list(ready.y) == ["landscape", "Phase diagram", "Poisoning playground"]  # plotly's bottom-up: the first step on top
    assert list(ready.x) == pytest.approx([0.0, 2 / 60, 1.0]) and list(missing.x) == pytest.approx([1.0, 58 / 60, 0.0])
    assert [a.text for a in fig.layout.annotations] == ["0 / 10", "2 / 60", "36 / 36"] and fig.layout.barmode == "stack"
