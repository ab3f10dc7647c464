"""The reproduction report's figures: pure functions of ``reproduce.reproduce`` results (plain
data in, titled plotly figures out), built from the plot builders in ``plots.py``."""
import numpy as np
import plotly.graph_objects as go

from qml_core.reporting import plots
from qml_core.reporting.figure_style import TITLE_SIZE, method_label, style

DATASET_NAMES = {"mnist": "MNIST 1 vs 9", "xxz": "XXZ ground states"}
ATTACK_NAMES = {"label-flip": "label flipping", "feature-noise": "feature randomisation"}


TITLE_ROOM = 36  # px added above a figure for its title, the plot area keeps its size


def titled(fig: go.Figure, title: str) -> go.Figure:
    top = fig.layout.margin.t if fig.layout.margin.t is not None else 40
    fig.update_layout(title=dict(text=title, x=0.01, font_size=TITLE_SIZE), margin=dict(t=top + TITLE_ROOM),
                      height=(fig.layout.height or 450) + TITLE_ROOM)
    return fig


def poisoning_figures(poisoning: dict) -> list[tuple[str, go.Figure]]:
    """Accuracy vs α with ± std bands and the critical α, one figure per (dataset, attack)."""
    out = []
    keys = sorted({(e["dataset"], e["attack"]) for e in poisoning["summary"]},
                  key=lambda k: (k[0], list(ATTACK_NAMES).index(k[1]) if k[1] in ATTACK_NAMES else len(ATTACK_NAMES)))
    for dataset, attack in keys:  # label flipping first, as in the paper
        summary = [e for e in poisoning["summary"] if (e["dataset"], e["attack"]) == (dataset, attack)]
        critical = [e for e in poisoning["critical"] if (e["dataset"], e["attack"]) == (dataset, attack)]
        title = f"{DATASET_NAMES.get(dataset, dataset)}, {ATTACK_NAMES.get(attack, attack)}: accuracy vs α"
        out.append((title, titled(plots.phase_diagram(summary, critical), title)))
    return out


def unlearning_final_bars(unlearning: dict) -> go.Figure:
    """Final validation accuracy (mean ± std over runs) per method, grouped by (dataset,
    model), retraining first as the reference."""
    fig = go.Figure()
    groups = list(unlearning.values())
    methods = sorted(dict.fromkeys(e["method"] for g in groups for e in g["summary"]), key=lambda m: m != "retrain")
    labels = [f"{DATASET_NAMES.get(g['dataset'], g['dataset'])}, {plots.LABELS.get(g['model'], g['model'])}" for g in groups]
    for method in methods:
        entries = [next((e for e in g["summary"] if e["method"] == method), None) for g in groups]
        fig.add_trace(go.Bar(x=labels, y=[e["val_acc_mean"] if e else None for e in entries], name=method_label(method),
                             marker_color=plots.METHOD_COLORS.get(method, "#777777"),
                             error_y=dict(type="data", array=[e["val_acc_std"] if e else 0 for e in entries], thickness=2)))
    fig.update_layout(barmode="group", yaxis_title="final validation accuracy (clean labels)", yaxis_range=[0, 1.02])
    return style(fig, height=460)


def unlearning_figures(unlearning: dict) -> list[tuple[str, go.Figure]]:
    """Per dataset: validation-accuracy trajectories of the QNN and the MLP side by side (the
    paper's comparison; retraining is the reference curve); per (dataset, model) the
    final-metrics table; then the final accuracies of all groups side by side."""
    out = []
    for dataset in dict.fromkeys(g["dataset"] for g in unlearning.values()):
        groups = [g for g in unlearning.values() if g["dataset"] == dataset]
        name = DATASET_NAMES.get(dataset, dataset)
        models = " and ".join(plots.LABELS.get(g["model"], g["model"]) for g in groups)
        title = f"Unlearning, {name}: validation accuracy per epoch, {models} (mean ± std over runs)"
        fig = plots.unlearning_comparison({g["model"]: g["trajectories"] for g in groups}, "val_acc")
        out.append((title, titled(fig, title)))
        for group in groups:
            title = f"Unlearning, {name}, {plots.LABELS.get(group['model'], group['model'])}: final metrics (mean ± std over runs)"
            out.append((title, titled(plots.metrics_table(group["summary"]), title)))
    title = "Unlearning: final validation accuracy, every method against retraining"
    out.append((title, titled(unlearning_final_bars(unlearning), title)))
    return out


def landscape_figures(landscape: dict) -> list[tuple[str, go.Figure]]:
    """Hessian spectra (seed 0 of every (model, α)), trace-ratio bars, and per model the clean →
    poisoned interpolation and the 2-D slice around the poisoned solution."""
    spectra = [s for s in landscape["spectra"] if s["seed"] == min(t["seed"] for t in landscape["spectra"])]
    out = [("Hessian eigenvalue spectra (held-out loss, seed 0)",
            titled(plots.hessian_spectrum(spectra), "Hessian eigenvalue spectra (held-out loss, seed 0)")),
           ("Trace ratio poisoned / clean", titled(plots.trace_ratio_bars(landscape["trace_ratios"]),
                                                   "Hessian trace ratio poisoned / clean (median over seeds, quartiles, seeds as dots)"))]
    for entry in landscape["landscapes"]:
        spec = entry["spec"]
        model = plots.LABELS.get(spec["model"], spec["model"])
        if spec["kind"] == "interpolate":
            title = f"{model}: held-out loss from the clean (t=0) to the poisoned (t=1, α={spec['alpha']}) solution"
            out.append((title, titled(plots.interpolation_curve(entry), title)))
        elif spec["kind"] == "slice2d":
            title = f"{model}: 2-D slice of the held-out loss around the poisoned solution (α={spec['alpha']})"
            out.append((title, titled(plots.landscape_surface(entry), title)))
    return out


def timing_bars(timings: dict[str, float]) -> go.Figure:
    """Wall time per figure group."""
    fig = go.Figure(go.Bar(x=list(timings), y=[timings[g] / 60 for g in timings], marker_color="#555555",
                           text=[f"{timings[g] / 60:.1f} min" for g in timings], textposition="outside"))
    fig.update_layout(xaxis_title="figure group", yaxis_title="wall time (min)",
                      yaxis_range=[0, 1.2 * max(np.array(list(timings.values())) / 60, default=1)])
    return style(fig, height=360, legend="none")


def controls_figures(controls: dict) -> list[tuple[str, go.Figure]]:
    """The capacity plot per dataset (issue 15)."""
    out = []
    for dataset, table in controls["tables"].items():
        title = (f"{DATASET_NAMES.get(dataset, dataset)}, label flipping: is it quantum or capacity? "
                 f"Accuracy at α = {controls['alpha']:g} and critical α against parameters")
        out.append((title, titled(plots.capacity_plot(table), title)))
    return out


def fair_figures(fair: dict) -> list[tuple[str, go.Figure]]:
    """The capacity plot of the QNN against classical models on measurement data (XXZ)."""
    title = (f"{DATASET_NAMES.get('xxz', 'xxz')}, label flipping: the QNN against classical models on measurements. "
             f"Accuracy at α = {fair['alpha']:g} and critical α against parameters")
    return [(title, titled(plots.capacity_plot(fair["tables"]["xxz"]), title))]


def claims_controls_figures(data: dict) -> list[tuple[str, go.Figure]]:
    """Per dataset, the median trace ratios of every model against the controls."""
    out = []
    for dataset, result in data.items():
        title = f"{DATASET_NAMES.get(dataset, dataset)}: held-out trace ratio poisoned / clean, every model (median over runs)"
        out.append((title, titled(plots.trace_ratio_bars(result["curvature"]["ratios"]), title)))
    return out


FIGURE_BUILDERS = {"poisoning": poisoning_figures, "unlearning": unlearning_figures, "landscape": landscape_figures,
                   "controls": controls_figures, "fair": fair_figures, "claims-controls": claims_controls_figures}


def report_figures(results: dict) -> dict[str, list[tuple[str, go.Figure]]]:
    """group -> [(title, figure)] for every group present in the results."""
    return {group: build(results[group]) for group, build in FIGURE_BUILDERS.items() if group in results}
