"""Pure plot builders: plain results in, plotly figures out (no computation, no I/O)."""
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PALETTE = {"qnn": "#6f42c1", "mlp": "#e8710a"}
LABELS = {"qnn": "QNN", "mlp": "MLP"}


def training_curves(histories: dict[str, dict]) -> go.Figure:
    """Loss and accuracy per epoch for each model: histories maps "qnn"/"mlp" to a result's
    ``history``. Solid lines: validation (clean labels); dashed: training (poisoned labels)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (BCE)", "accuracy"))
    for model, hist in histories.items():
        color, name = PALETTE.get(model, "#444"), LABELS.get(model, model)
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "dash"), ("val", "solid")):
                fig.add_trace(go.Scatter(x=hist["epoch"], y=hist[f"{split}_{metric}"], mode="lines",
                                         line=dict(color=color, dash=dash), legendgroup=model,
                                         name=f"{name} {'train (poisoned)' if split == 'train' else 'validation'}",
                                         showlegend=col == 2), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=380, margin=dict(t=40, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


METHOD_COLORS = {"retrain": "#222222", "finetune": "#1f77b4", "scrub": "#2ca02c", "grad-ascent": "#d62728",
                 "random-label": "#9467bd", "salun": "#8c564b", "l1-sparse": "#e377c2"}


def _band(x, mean, std, color: str, name: str) -> list[go.Scatter]:
    """A mean line with a shaded ± std band."""
    upper, lower = list(mean + std), list(mean - std)
    return [go.Scatter(x=list(x) + list(x)[::-1], y=upper + lower[::-1], fill="toself", fillcolor=color,
                       opacity=0.18, line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name),
            go.Scatter(x=list(x), y=list(mean), mode="lines", line=dict(color=color), name=name, legendgroup=name)]


def unlearning_trajectories(trajectories: list[dict], metric: str = "val_acc", x_axis: str = "epoch") -> go.Figure:
    """Mean ± std over runs of one trajectory metric per method, against epoch or wall time.

    trajectories: dicts with "method", and lists per trajectory field (as the ``unlearn``
    command writes them). Wall-time curves average each epoch's time over runs."""
    import numpy as np

    fig = go.Figure()
    for method in dict.fromkeys(t["method"] for t in trajectories):
        runs = [t for t in trajectories if t["method"] == method]
        values = np.array([t[metric] for t in runs])
        x = np.mean([t["seconds"] for t in runs], axis=0) if x_axis == "seconds" else runs[0]["epoch"]
        for trace in _band(x, values.mean(0), values.std(0), METHOD_COLORS.get(method, "#777777"), method):
            fig.add_trace(trace)
    fig.update_layout(xaxis_title="wall time (s)" if x_axis == "seconds" else "epoch", yaxis_title=metric,
                      height=400, margin=dict(t=30, b=40))
    return fig


def weight_heatmap(grid: dict) -> go.Figure:
    """Final validation accuracy over the unlearning weights (``unlearn_summary.weight_grid``)."""
    fig = go.Figure(go.Heatmap(z=grid["val_acc"], x=grid["w_fo"], y=grid["w_kl"], colorscale="Viridis",
                               zmin=0.0, zmax=1.0, colorbar=dict(title="val acc")))
    fig.update_layout(xaxis_title="w_fo (forget weight)", yaxis_title="w_kl (retain KL weight)",
                      title=f"{grid['method']}: final validation accuracy", height=400)
    return fig


def metrics_table(summary: list[dict]) -> go.Figure:
    """The final-metrics table, retraining first, mean ± std over runs."""
    def fmt(entry, key):
        return f"{entry[key + '_mean']:.3f} ± {entry[key + '_std']:.3f}" if key + "_mean" in entry else "—"
    columns = ["val_acc", "retain_acc", "forget_acc_true", "forget_acc_poisoned", "mia_auc", "agreement_val"]
    cells = [[e["method"] for e in summary]] + [[fmt(e, c) for e in summary] for c in columns]
    cells.append([", ".join(map(str, e.get("epochs_to_match", []))) for e in summary])
    header = ["method", *columns, "epochs to match retrain"]
    fig = go.Figure(go.Table(header=dict(values=header), cells=dict(values=cells)))
    return fig.update_layout(height=140 + 32 * len(summary), margin=dict(t=10, b=10, l=0, r=0))  # room for a title


def hessian_spectrum(spectra: list[dict]) -> go.Figure:
    """Histogram of Hessian eigenvalue magnitudes on a log axis, one colour per (model, α);
    negative eigenvalues are a separate, hatched trace. spectra: dicts with "model", "alpha",
    "eigenvalues" (as the ``hessian`` command writes them)."""
    import numpy as np

    fig = go.Figure()
    for entry in spectra:
        values = np.asarray(entry["eigenvalues"], dtype=float)
        name = f"{LABELS.get(entry['model'], entry['model'])} α={entry['alpha']}"
        for sign, pattern in ((1, ""), (-1, "/")):
            part = values[sign * values > 1e-12] * sign
            if len(part):
                fig.add_trace(go.Histogram(x=np.log10(part), name=name + (" (negative)" if sign < 0 else ""),
                                           opacity=0.6, marker_pattern_shape=pattern, nbinsx=60))
    fig.update_layout(barmode="overlay", xaxis_title="log10 |eigenvalue|", yaxis_title="count", height=400)
    return fig


def spectral_density(grid, density, label: str = "") -> go.Figure:
    """A smoothed spectral density (``hessian.density_on_grid``) on a log density axis."""
    fig = go.Figure(go.Scatter(x=list(grid), y=[max(v, 1e-12) for v in density], mode="lines", name=label))
    fig.update_layout(xaxis_title="eigenvalue", yaxis_title="density", yaxis_type="log", height=380)
    return fig


def trace_ratio_bars(ratios: list[dict]) -> go.Figure:
    """trace(poisoned)/trace(clean) vs α per model: bars at the mean with ± std, every seed as a
    dot, runs involving a collapsed model as crosses (``curvature.trace_ratios`` rows)."""
    fig = go.Figure()
    for model in dict.fromkeys(r["model"] for r in ratios):
        rows = [r for r in ratios if r["model"] == model]
        color = PALETTE.get(model, "#444")
        fig.add_trace(go.Bar(x=[r["alpha"] for r in rows], y=[r["ratio_mean"] for r in rows], name=LABELS.get(model, model),
                             marker_color=color, opacity=0.5, offsetgroup=model,
                             error_y=dict(type="data", array=[r["ratio_std"] for r in rows])))
        fig.add_trace(go.Scatter(x=[r["alpha"] for r in rows for _ in r["ratios"]], y=[v for r in rows for v in r["ratios"]],
                                 mode="markers", marker=dict(color=color), name=f"{LABELS.get(model, model)} seeds"))
        fig.add_trace(go.Scatter(x=[r["alpha"] for r in rows for _ in r["collapsed_ratios"]],
                                 y=[v for r in rows for v in r["collapsed_ratios"]], mode="markers",
                                 marker=dict(color=color, symbol="x", size=10), name=f"{LABELS.get(model, model)} collapsed"))
    fig.add_hline(y=1.0, line_dash="dot")
    fig.update_layout(xaxis_title="poisoned fraction α", yaxis_title="trace ratio poisoned / clean", yaxis_type="log",
                      barmode="group", height=400)
    return fig


def interpolation_curve(result: dict) -> go.Figure:
    """Held-out loss along clean (t = 0) → poisoned (t = 1), both solutions marked."""
    t, loss = result["t"], result["loss"]
    ends = [i for i, v in enumerate(t) if abs(v) < 1e-9 or abs(v - 1) < 1e-9]
    fig = go.Figure([go.Scatter(x=t, y=loss, mode="lines", name="loss"),
                     go.Scatter(x=[t[i] for i in ends], y=[loss[i] for i in ends], mode="markers+text",
                                text=["clean", "poisoned"][:len(ends)], textposition="top center",
                                marker=dict(size=10), name="solutions")])
    fig.update_layout(xaxis_title="t", yaxis_title="held-out loss", height=380)
    return fig


def landscape_surface(result: dict, surface: bool = False) -> go.Figure:
    """A 2-D slice (``landscape.slice_2d``) as a contour map or a 3-D surface, with the
    solution (the origin) marked."""
    a, b, z = result["a"], result["b"], result["loss"]
    centre = z[len(b) // 2][len(a) // 2]
    if surface:
        fig = go.Figure([go.Surface(x=a, y=b, z=z, colorscale="Viridis"),
                         go.Scatter3d(x=[0], y=[0], z=[centre], mode="markers", marker=dict(size=5, color="red"), name="solution")])
        fig.update_layout(scene=dict(xaxis_title="direction 1", yaxis_title="direction 2", zaxis_title="loss"), height=500)
        return fig
    fig = go.Figure([go.Contour(x=a, y=b, z=z, colorscale="Viridis", colorbar=dict(title="loss")),
                     go.Scatter(x=[0], y=[0], mode="markers", marker=dict(color="red", size=10, symbol="star"), name="solution")])
    fig.update_layout(xaxis_title="direction 1", yaxis_title="direction 2", height=450)
    return fig


def phase_diagram(summary: list[dict], critical: list[dict] = ()) -> go.Figure:
    """Accuracy vs α per model (``phase.phase_summary`` entries of one dataset and attack):
    validation mean ± std as a band, train accuracy on the poisoned labels dashed, and each
    model's critical α (``phase.critical_alpha``) as a dotted line over its bootstrap interval."""
    import numpy as np

    fig = go.Figure()
    for model in dict.fromkeys(e["model"] for e in summary):
        rows = [e for e in summary if e["model"] == model]
        color, name = PALETTE.get(model, "#444"), LABELS.get(model, model)
        alphas = [e["alpha"] for e in rows]
        for trace in _band(alphas, np.array([e["val_acc_mean"] for e in rows]),
                           np.array([e["val_acc_std"] for e in rows]), color, f"{name} validation"):
            fig.add_trace(trace)
        fig.add_trace(go.Scatter(x=alphas, y=[e["train_acc_mean"] for e in rows], mode="lines+markers",
                                 line=dict(color=color, dash="dash"), name=f"{name} train (poisoned labels)"))
    for entry in critical:
        color = PALETTE.get(entry["model"], "#444")
        if np.isfinite(entry["low"]):
            fig.add_vrect(x0=entry["low"], x1=entry["high"], fillcolor=color, opacity=0.10, line_width=0)
        if np.isfinite(entry["estimate"]):
            fig.add_vline(x=entry["estimate"], line=dict(color=color, dash="dot"),
                          annotation_text=f"{LABELS.get(entry['model'], entry['model'])} α_c={entry['estimate']:.2f}")
    fig.add_hline(y=0.5, line=dict(color="#999", width=1))
    fig.update_layout(xaxis_title="poisoned fraction α", yaxis_title="accuracy", yaxis_range=[0, 1.02], height=420,
                      margin=dict(t=30, b=40), legend=dict(orientation="h", y=-0.2))
    return fig


def image_grid(images, titles: list[str], columns: int = 8) -> go.Figure:
    """Grey-scale images (k, h, w) in [0, 1] in a grid, each with its title."""
    import numpy as np

    images = np.asarray(images)
    rows = max(1, -(-len(images) // columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.08)
    for i, image in enumerate(images):
        fig.add_trace(go.Heatmap(z=image[::-1], colorscale="Greys", zmin=0, zmax=1, showscale=False, hoverinfo="skip"),
                      row=i // columns + 1, col=i % columns + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(height=150 * rows + 40, margin=dict(t=30, b=0, l=0, r=0))
    return fig


def xxz_overview(overview: dict) -> go.Figure:
    """Energy gap and nearest-neighbour correlations against Δ (``explore.xxz_overview``),
    markers coloured by each grid point's role; the transition at Δ = 1 dotted."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("gap E1 − E0 (Sz = 0 sector)", "nearest-neighbour correlations"))
    colors = {"train": "#1f77b4", "validation": "#2ca02c", "window": "#bbbbbb"}
    for role, color in colors.items():
        idx = [i for i, r in enumerate(overview["role"]) if r == role]
        fig.add_trace(go.Scatter(x=[overview["delta"][i] for i in idx], y=[overview["gap"][i] for i in idx],
                                 mode="markers", marker=dict(color=color, size=5), name=role), row=1, col=1)
    for name, dash in (("zz", "solid"), ("xx", "dash")):
        fig.add_trace(go.Scatter(x=overview["delta"], y=overview[name], mode="lines", line=dict(dash=dash, color="#444"),
                                 name=f"⟨{name[0].upper()}0{name[1].upper()}1⟩"), row=1, col=2)
    fig.add_vline(x=1.0, line_dash="dot")
    fig.update_xaxes(title_text="Δ")
    fig.update_layout(height=380, title=f"XXZ chain, N = {overview['spins']}", margin=dict(t=60, b=40))
    return fig


def upload_figure(overview: dict) -> go.Figure:
    """An upload's samples on their first two principal components, coloured by class."""
    fig = go.Figure()
    for label, color in ((0, "#1f77b4"), (1, "#d62728")):
        idx = [i for i, v in enumerate(overview["label"]) if v == label]
        fig.add_trace(go.Scattergl(x=[overview["pc1"][i] for i in idx], y=[overview["pc2"][i] for i in idx], mode="markers",
                                   marker=dict(color=color, size=5, opacity=0.6), name=f"{overview['classes'][label]} (label {label})"))
    fig.update_layout(xaxis_title="principal component 1", yaxis_title="principal component 2", height=420)
    return fig
