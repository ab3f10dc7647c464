"""Pure plot builders: plain results in, plotly figures out (no I/O, no streamlit). Every builder
finishes with ``figure_style.style``, so all figures share one palette, fonts readable on a
1280 × 720 projector and axis titles in words; pages pass ``FIGURE_CONFIG`` (or
``figure_config(name, "svg")``) to ``st.plotly_chart(..., config=...)`` for PNG / SVG export."""
import numpy as np
import plotly.graph_objects as go

from qml_core.reporting.figure_style import (CHANCE_COLOR, CLASSICAL_SYMBOLS, FIGURE_CONFIG, FIGURE_CONFIG_SVG,
                                             FONT_SIZE, HUMAN_COLUMNS, LABELS, LINE_WIDTH, MARKER_SIZE, METHOD_COLORS,
                                             METHOD_LABELS, METRIC_NAMES, MISSING_COLOR, NEUTRAL, PALETTE, QUANTUM_SYMBOL,
                                             READY_COLOR, figure_config, human_name, human_table, log_axis, method_label,
                                             model_color, model_label, plus_minus, shade, stagger_levels, style,
                                             subplots)

__all__ = ["PALETTE", "LABELS", "METHOD_COLORS", "METHOD_LABELS", "HUMAN_COLUMNS", "FIGURE_CONFIG", "FIGURE_CONFIG_SVG",
           "figure_config", "human_table", "epochs_to_match_text", "training_curves", "unlearning_trajectories",
           "unlearning_comparison", "weight_heatmap", "metrics_table", "METRICS_TABLE_COLUMNS", "hessian_spectrum", "spectral_density",
           "trace_ratio_bars", "interpolation_curve", "landscape_surface", "phase_diagram", "PHASE_TABLE_COLUMNS",
           "image_grid", "xxz_overview", "upload_figure", "capacity_plot", "capacity_rows", "measured_features_plot",
           "readiness_bars"]


def _color(model: str) -> str:
    return model_color(model)  # the paper's QNN and MLP from PALETTE; capacity variants too


CHANCE_NAME = "chance (0.5)"


CRITICAL_CHANCE_NAME = "chance (0.5): a validation curve<br>crosses it at its critical α"


def _chance(x_span: list[float], showlegend: bool = True, name: str = CHANCE_NAME) -> go.Scatter:
    """The dotted chance line (accuracy 0.5) over ``x_span``, a legend entry (no label to collide)."""
    return go.Scatter(x=list(x_span), y=[0.5, 0.5], mode="lines", name=name, legendgroup="chance",
                      showlegend=showlegend, line=dict(color=CHANCE_COLOR, dash="dot", width=LINE_WIDTH), hoverinfo="skip")


def _ignores_poison(alphas, attack: str | None) -> tuple[np.ndarray, str]:
    """(train accuracy, legend name) of a model that ignores the poison, at each α: 1 − α under
    label flipping (it gets every flipped label 'wrong'), 1 − α/2 under feature noise (it
    guesses on the noise samples)."""
    alphas = np.asarray(alphas, dtype=float)
    if attack == "feature-noise":
        return 1 - alphas / 2, "1 − α/2: train accuracy of a model<br>that only guesses on the noise samples"
    return 1 - alphas, "1 − α: train accuracy of a model<br>that ignores the flipped labels"


def training_curves(histories: dict[str, dict], alpha: float | None = None, attack: str | None = "label-flip") -> go.Figure:
    """Loss and accuracy per epoch for each model: histories maps "qnn"/"mlp" to a result's
    ``history``. Solid lines: validation (clean labels); dashed: training (poisoned labels).
    On the accuracy panel, as legend entries: chance (0.5, dotted) and, when ``alpha`` > 0 is
    given, the train accuracy of a model that ignores the poison (1 − α, or 1 − α/2 under
    feature noise; long dash-dot), the level to compare the dashed train curves with."""
    fig = subplots(1, 2, subplot_titles=("loss (binary cross-entropy)", "accuracy"), horizontal_spacing=0.12)
    for model, hist in histories.items():
        color, name = _color(model), model_label(model)
        for col, metric in ((1, "loss"), (2, "acc")):
            for split, dash in (("train", "dash"), ("val", "solid")):
                fig.add_trace(go.Scatter(x=hist["epoch"], y=hist[f"{split}_{metric}"], mode="lines",
                                         line=dict(color=color, dash=dash, width=LINE_WIDTH), legendgroup=f"{model}-{split}",
                                         name=f"{name} {'train (poisoned labels)' if split == 'train' else 'validation (clean labels)'}",
                                         showlegend=col == 2), row=1, col=col)
    epochs = [e for hist in histories.values() for e in hist["epoch"]] or [0, 1]
    span = [min(epochs), max(epochs)]
    fig.add_trace(_chance(span), row=1, col=2)
    if alpha is not None and alpha > 0:
        (level,), name = _ignores_poison([alpha], attack)
        fig.add_trace(go.Scatter(x=span, y=[level, level], mode="lines", name=name.replace(":", f" = {level:.2f}:", 1),
                                 line=dict(color=CHANCE_COLOR, dash="longdashdot", width=LINE_WIDTH), hoverinfo="skip"),
                      row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=2)
    return style(fig, height=440)


def _band(x, mean, std, color: str, name: str, dash: str = "solid", showlegend: bool = True,
          group: str | None = None) -> list[go.Scatter]:
    """A mean line with a shaded ± std band: [band, line]."""
    upper, lower = list(mean + std), list(mean - std)
    group = group or name
    return [go.Scatter(x=list(x) + list(x)[::-1], y=upper + lower[::-1], fill="toself", fillcolor=color,
                       opacity=0.18, line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=group),
            go.Scatter(x=list(x), y=list(mean), mode="lines", line=dict(color=color, width=LINE_WIDTH, dash=dash),
                       name=name, legendgroup=group, showlegend=showlegend)]


def _trajectory_traces(trajectories: list[dict], metric: str, x_axis: str, methods: list[str],
                       showlegend: bool = True) -> list[go.Scatter]:
    """[band, line] per method present, in ``methods`` order: mean ± std over runs."""
    traces = []
    for method in methods:
        runs = [t for t in trajectories if t["method"] == method]
        if not runs:
            continue
        values = np.array([t[metric] for t in runs], dtype=float)
        x = np.mean([t["seconds"] for t in runs], axis=0) if x_axis == "seconds" else runs[0]["epoch"]
        traces += _band(x, values.mean(0), values.std(0), METHOD_COLORS.get(method, NEUTRAL), method_label(method),
                        dash="dash" if method == "retrain" else "solid", showlegend=showlegend, group=method)
    return traces


def _trajectory_chance(fig: go.Figure, metric: str, panels: int = 0) -> None:
    """The chance line on an accuracy axis, across each panel's x range (one legend entry)."""
    if "acc" not in metric:
        return
    for col in range(1, max(panels, 1) + 1):
        axis = "x" if col == 1 else f"x{col}"
        xs = [x for t in fig.data if t.name != CHANCE_NAME and (t.xaxis or "x") == axis for x in (t.x or ())]
        if xs:
            trace = _chance([min(xs), max(xs)], showlegend=col == 1)
            fig.add_trace(trace, **(dict(row=1, col=col) if panels else {}))


def _trajectory_axes(fig: go.Figure, metric: str, x_axis: str, panels: bool = False) -> None:
    """Axis titles in words (the y title on the first panel only) and a 0..1 range for accuracies."""
    fig.update_xaxes(title_text="wall time (s)" if x_axis == "seconds" else "epoch")
    fig.update_yaxes(title_text=METRIC_NAMES.get(metric, human_name(metric)), **(dict(col=1) if panels else {}))
    if "acc" in metric:
        fig.update_yaxes(range=[0, 1.02])


def unlearning_trajectories(trajectories: list[dict], metric: str = "val_acc", x_axis: str = "epoch") -> go.Figure:
    """Mean ± std over runs of one trajectory metric per method, against epoch or wall time.

    trajectories: dicts with "method", and lists per trajectory field (as the ``unlearn``
    command writes them). Wall-time curves average each epoch's time over runs. Retraining,
    the reference, is dashed black."""
    fig = go.Figure(_trajectory_traces(trajectories, metric, x_axis, list(dict.fromkeys(t["method"] for t in trajectories))))
    _trajectory_chance(fig, metric)
    _trajectory_axes(fig, metric, x_axis)
    return style(fig, height=440)


def unlearning_comparison(by_model: dict[str, list[dict]], metric: str = "val_acc", x_axis: str = "epoch") -> go.Figure:
    """The paper's comparison: one panel per model (QNN, MLP) sharing the y axis, one colour per
    method in both panels, mean ± std over runs. by_model: model -> trajectories as for
    ``unlearning_trajectories``. Clicking a method in the legend hides it in both panels."""
    models = list(by_model)
    methods = list(dict.fromkeys(t["method"] for m in models for t in by_model[m]))
    methods.sort(key=lambda m: m != "retrain")  # the reference first in the legend
    fig = subplots(1, max(1, len(models)), shared_yaxes=True, horizontal_spacing=0.04,
                   subplot_titles=[model_label(m) for m in models])
    for col, model in enumerate(models, start=1):
        for trace in _trajectory_traces(by_model[model], metric, x_axis, methods, showlegend=col == 1):
            fig.add_trace(trace, row=1, col=col)
    _trajectory_chance(fig, metric, panels=len(models))
    for annotation, model in zip(fig.layout.annotations, models):  # panel titles in the model's colour
        annotation.font.color = _color(model)
    _trajectory_axes(fig, metric, x_axis, panels=True)
    return style(fig, height=460)


def weight_heatmap(grid: dict) -> go.Figure:
    """Final validation accuracy over the unlearning weights (``unlearn_summary.weight_grid``),
    each cell labelled with its value."""
    fig = go.Figure(go.Heatmap(z=grid["val_acc"], x=grid["w_fo"], y=grid["w_kl"], colorscale="Viridis",
                               zmin=0.0, zmax=1.0, texttemplate="%{z:.2f}", textfont=dict(size=FONT_SIZE),
                               colorbar=dict(title=dict(text="final validation<br>accuracy", side="right")),
                               hovertemplate="forget weight %{x}<br>retain KL weight %{y}<br>accuracy %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="forget-set weight w<sub>fo</sub>", type="category")
    fig.update_yaxes(title_text="retain KL weight w<sub>kl</sub>" if grid["method"] == "scrub" else "(no KL term)",
                     type="category")
    return style(fig, height=460, legend="none", title=f"{method_label(grid['method'])}: final validation accuracy")


METRICS_TABLE_COLUMNS = ["val_acc", "retain_acc", "forget_acc_true", "forget_acc_poisoned", "mia_auc", "agreement_val"]
TABLE_HEADERS = {"method": "method", "val_acc": "validation accuracy", "retain_acc": "retain accuracy",
                 "forget_acc_true": "forget accuracy (true labels)", "forget_acc_poisoned": "forget accuracy (poisoned labels)",
                 "mia_auc": "MIA AUC (0.5: forgotten)", "agreement_val": "agreement with retrain (validation)",
                 "epochs_to_match": "epochs to match retrain"}
TABLE_LINE_HEIGHT = 22  # px per text line at 16 px
TABLE_PADDING = 14      # px above and below a cell's text


def _wrap(text: str, width: int = 16) -> str:
    """Break ``text`` at spaces into lines of at most ``width`` characters, joined by <br>."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def epochs_to_match_text(entry: dict) -> str:
    """An unlearning summary entry's epochs-to-match-retrain as a number: "3" for one run (or
    runs that all took 3), "4.0 ± 1.0" (mean ± std over runs), "4.0 ± 1.0 (1 of 3 runs never)" when some runs never
    reach retraining's accuracy, "never" when none does, "—" when not measured. Uses the
    ``epochs_to_match_mean/_std/_never`` fields of ``summary_table`` when present, else the list.
    Retraining itself is the reference: "reference", never a count against itself."""
    if entry.get("method") == "retrain":
        return "reference"
    values = entry.get("epochs_to_match")
    if values is None:
        return "—"
    matched = [v for v in values if not isinstance(v, str)]
    never = len(values) - len(matched)
    if not matched:
        return "never"
    mean = entry.get("epochs_to_match_mean", float(np.mean(matched)))
    std = entry.get("epochs_to_match_std", float(np.std(matched)))
    text = f"{matched[0]}" if len(set(matched)) == 1 else plus_minus(mean, std, 1)  # every run alike: one number
    return text + (f" ({never} of {len(values)} runs never)" if never else "")


def _lines(cell: str) -> int:
    return cell.count("<br>") + 1


def metrics_table(summary: list[dict]) -> go.Figure:
    """The final-metrics table (``unlearn_summary.summary_table``), retraining first, mean ±
    std over runs; column names in words, 16 px text broken into short lines (<br>) so nothing
    wraps on its own, and a figure height that is the sum of its row heights (no scrolling)."""
    def fmt(entry, key):
        if key + "_mean" not in entry:
            return "—"
        return plus_minus(entry[key + "_mean"], entry[key + "_std"], between="<br>± ")
    columns = METRICS_TABLE_COLUMNS
    cells = [[_wrap(method_label(e["method"]), 12) for e in summary]] + [[fmt(e, c) for e in summary] for c in columns]
    def epochs(entry):  # "8<br>(1 of 2 runs<br>never)": "(1 of 2 runs never)" on one line ran past the table's edge
        head, _, note = epochs_to_match_text(entry).partition(" (")
        return head + (f"<br>{_wrap('(' + note, 12)}" if note else "")
    cells.append([epochs(e) for e in summary])
    header = [_wrap(TABLE_HEADERS[key], 12) for key in ["method", *columns, "epochs_to_match"]]
    header_height = max(map(_lines, header)) * TABLE_LINE_HEIGHT + TABLE_PADDING
    row_heights = [max(_lines(column[i]) for column in cells) * TABLE_LINE_HEIGHT + TABLE_PADDING for i in range(len(summary))]
    fig = go.Figure(go.Table(
        columnwidth=[1.0] * (len(columns) + 1) + [1.3],
        header=dict(values=[f"<b>{h}</b>" for h in header], height=header_height, align="left",
                    font=dict(size=FONT_SIZE), fill_color="#eeeeee"),
        cells=dict(values=cells, height=min(row_heights, default=TABLE_LINE_HEIGHT + TABLE_PADDING), align="left",
                   font=dict(size=FONT_SIZE), fill_color=[["#ffffff", "#f4f4f4"] * len(summary)])))
    fig = style(fig, legend="none")
    margin = 6
    return fig.update_layout(height=header_height + sum(row_heights) + 2 * margin + 8,
                             margin=dict(t=margin, b=margin, l=0, r=0))


def _bandwidth(log_values: np.ndarray) -> float:
    """Silverman's rule of thumb in decades, at least 0.05."""
    return max(1.06 * float(np.std(log_values)) * len(log_values) ** -0.2, 0.05)


def _log_density(log_values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A Gaussian kernel density of ``log_values`` (log10 |λ|) on ``grid``: unit area per
    decade, so curves of spectra of different sizes compare."""
    n, bandwidth = len(log_values), _bandwidth(log_values)
    z = (grid[:, None] - log_values[None, :]) / bandwidth
    return np.exp(-0.5 * z ** 2).sum(axis=1) / (n * bandwidth * np.sqrt(2 * np.pi))


POISONED_DASHES = ("solid", "dash", "dashdot", "longdash")  # largest α solid


def hessian_spectrum(spectra: list[dict]) -> go.Figure:
    """One smoothed density of log10 |eigenvalue| per (model, α), one panel per model (shared
    eigenvalue axis): the clean model (α = 0) dotted and pale, larger α darker, all in the
    model's colour; each curve's hover says how many eigenvalues are negative (drawn at |λ|).
    spectra: dicts with "model", "alpha", "eigenvalues" (as the ``hessian`` command writes
    them); |λ| ≤ 1e-12 is left out of the log axis and counted in the hover."""
    models = list(dict.fromkeys(e["model"] for e in spectra))
    logs = []
    for entry in spectra:
        values = np.abs(np.asarray(entry["eigenvalues"], dtype=float))
        logs.append(np.log10(values[values > 1e-12]))
    nonempty = [v for v in logs if len(v)]
    pad = max((3 * _bandwidth(v) for v in nonempty), default=0.5)  # the kernels' tails stay on the axis
    low = min((v.min() for v in nonempty), default=-1.0) - pad
    high = max((v.max() for v in nonempty), default=1.0) + pad
    grid = np.linspace(low, high, 300)
    fig = subplots(max(1, len(models)), 1, shared_xaxes=True, vertical_spacing=0.08,
                   subplot_titles=[model_label(m) for m in models])
    for row, model in enumerate(models, start=1):
        mine = sorted((e["alpha"], i) for i, e in enumerate(spectra) if e["model"] == model)
        for rank, (alpha, i) in enumerate(mine):
            eigenvalues = np.asarray(spectra[i]["eigenvalues"], dtype=float)
            negative, hidden = int((eigenvalues < -1e-12).sum()), int((np.abs(eigenvalues) <= 1e-12).sum())
            clean = alpha == 0
            darkest = len(mine) - 1 - rank  # 0 for the largest α
            color = shade(_color(model), 0.45 if clean else 1.0 - 0.2 * darkest)
            density = _log_density(logs[i], grid) if len(logs[i]) else np.zeros_like(grid)
            label = f"{model_label(model)}, α = {alpha:g}" + (" (clean)" if clean else "")
            fig.add_trace(go.Scatter(x=10.0 ** grid, y=density, mode="lines", name=label, legendgroup=f"{model}-{alpha}",
                                     line=dict(color=color, width=LINE_WIDTH, dash="dot" if clean else POISONED_DASHES[darkest % 4]),
                                     hovertemplate=f"{label}<br>|λ| = %{{x:.3g}}<br>density %{{y:.3f}} per decade<br>"
                                                   f"{negative} of {len(eigenvalues)} eigenvalues negative (|λ| shown)"
                                                   + (f", {hidden} with |λ| ≤ 10⁻¹² left out" if hidden else "")
                                                   + "<extra></extra>"), row=row, col=1)
        for annotation in fig.layout.annotations[row - 1:row]:
            annotation.font.color = _color(model)
    axis = log_axis([10.0 ** low, 10.0 ** high], max_ticks=6)
    fig.update_xaxes(**axis)
    fig.update_xaxes(title_text="eigenvalue magnitude |λ| (log scale)", row=max(1, len(models)), col=1)
    fig.update_yaxes(title_text="share per decade", rangemode="tozero")
    return style(fig, height=200 + 200 * max(1, len(models)))


def spectral_density(grid, density, label: str = "") -> go.Figure:
    """A smoothed spectral density (``hessian.density_on_grid``) on a log density axis."""
    values = [max(v, 1e-12) for v in density]
    fig = go.Figure(go.Scatter(x=list(grid), y=values, mode="lines", name=label, line=dict(width=LINE_WIDTH)))
    fig.update_layout(xaxis_title="eigenvalue λ", yaxis_title="spectral density (log scale)")
    fig.update_yaxes(**log_axis(values))
    return style(fig, height=400)


def trace_ratio_bars(ratios: list[dict]) -> go.Figure:
    """trace(poisoned)/trace(clean) vs α per model: bars at the median over seeds with the
    quartiles as error bars (a robust statistic: one seed's ratio of 2000 pulls a mean far off),
    every seed as a dot beside its bar, runs involving a collapsed model as crosses
    (``curvature.trace_ratios`` rows). The log axis carries explicit 1-3 ticks (0.1, 0.3, 1, 3,
    10, …) over the data."""
    fig = go.Figure()
    shown = []
    for model in dict.fromkeys(r["model"] for r in ratios):
        rows = [r for r in ratios if r["model"] == model]
        color, name = _color(model), model_label(model)
        fig.add_trace(go.Bar(x=[r["alpha"] for r in rows], y=[r["ratio_median"] for r in rows],
                             name=f"{name} median, quartiles", marker_color=color, opacity=0.45, offsetgroup=model,
                             legendgroup=model,
                             error_y=dict(type="data", symmetric=False, thickness=2, width=6, color=color,
                                          array=[r["ratio_q75"] - r["ratio_median"] for r in rows],
                                          arrayminus=[r["ratio_median"] - r["ratio_q25"] for r in rows]),
                             hovertemplate=f"{name} α = %{{x}}<br>median ratio %{{y:.3g}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[r["alpha"] for r in rows for _ in r["ratios"]], y=[v for r in rows for v in r["ratios"]],
                                 mode="markers", marker=dict(color=color, size=MARKER_SIZE, line=dict(color="white", width=1)),
                                 name=f"{name} per seed", offsetgroup=model, legendgroup=model,
                                 hovertemplate=f"{name} α = %{{x}}<br>ratio %{{y:.3g}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[r["alpha"] for r in rows for _ in r["collapsed_ratios"]],
                                 y=[v for r in rows for v in r["collapsed_ratios"]], mode="markers", offsetgroup=model,
                                 marker=dict(color=color, symbol="x", size=MARKER_SIZE + 3), legendgroup=model,
                                 name=f"{name} collapsed run (reported apart)"))
        shown += [r["ratio_q25"] for r in rows] + [r["ratio_q75"] for r in rows]
        shown += [v for r in rows for v in r["ratios"] + r["collapsed_ratios"]]
    fig.add_hline(y=1.0, line=dict(dash="dot", color=CHANCE_COLOR, width=LINE_WIDTH), showlegend=True,
                  name="ratio 1: as sharp as the clean model")
    alphas = sorted({r["alpha"] for r in ratios})
    fig.update_layout(xaxis_title="poisoned fraction α", yaxis_title="Hessian trace ratio<br>poisoned / clean",
                      barmode="group", scattermode="group")
    fig.update_xaxes(tickmode="array", tickvals=alphas)
    fig.update_yaxes(**log_axis(shown + [1.0]))
    return style(fig, height=460)


def interpolation_curve(result: dict) -> go.Figure:
    """Held-out loss along clean (t = 0) → poisoned (t = 1), both solutions marked."""
    t, loss = result["t"], result["loss"]
    ends = [i for i, v in enumerate(t) if abs(v) < 1e-9 or abs(v - 1) < 1e-9]
    fig = go.Figure([go.Scatter(x=t, y=loss, mode="lines", name="held-out loss", line=dict(color=NEUTRAL, width=LINE_WIDTH)),
                     go.Scatter(x=[t[i] for i in ends], y=[loss[i] for i in ends], mode="markers+text",
                                text=["clean", "poisoned"][:len(ends)], textposition="top center",
                                textfont=dict(size=FONT_SIZE), marker=dict(size=MARKER_SIZE + 4, color="#d62728"),
                                name="trained solutions")])
    fig.update_layout(xaxis_title="t (0 = clean solution, 1 = poisoned solution)",
                      yaxis_title="held-out loss (clean labels)")
    return style(fig, height=420)


SLICE_HEIGHT = 700  # px: the map square and the two-line legend below it
SOLUTION_NOTE = "trained solution<br>(fitted to the poisoned labels)"  # the legend's ★ beside it
MINIMUM_NOTE = "lowest held-out loss<br>(measured with clean labels)"  # the legend's ◇ beside it
WHY_THEY_DIFFER = ("The held-out loss uses clean labels; the solution was fitted to poisoned ones,<br>"
                   "so it need not sit at this loss's minimum.")
LOSS_SCALE = (0.0, 2 * float(np.log(2)))  # one colour scale for every model's slice: 0 to twice chance's loss (ln 2)
LOSS_BAR = f"held-out loss<br>(clean labels;<br>≥ {LOSS_SCALE[1]:.2f}: top colour)"
LIFT = 0.12  # 3-D: the markers float this share of the loss range above the surface, so it never hides them


def _legend_key(name: str, symbol: str, color: str, size: int) -> go.Scatter:
    """A legend-only entry (no data) whose symbol is the one the text and the map use."""
    return go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                      marker=dict(color=color, size=size, symbol=symbol, line=dict(width=3, color=color)))


def landscape_surface(result: dict, surface: bool = False) -> go.Figure:
    """A 2-D slice (``landscape.slice_2d``) as a contour map or a 3-D surface, with the trained
    solution (the origin, ★) and the lowest plotted held-out loss (◇) marked: the loss uses
    clean labels while the solution was fitted to poisoned ones, so they need not coincide.
    Every slice shares one colour scale (``LOSS_SCALE``), so an MLP's and a QNN's maps compare
    colour for colour. In 3-D both markers float above the surface on a stem (a marker at the
    surface's height was hidden behind it), and the legend shows the text's ★ and ◇.
    Traces: [loss, solution, minimum, the legend's ★, the legend's ◇]."""
    a, b, z = result["a"], result["b"], np.asarray(result["loss"], dtype=float)
    i0, j0 = int(np.argmin(np.abs(np.asarray(b)))), int(np.argmin(np.abs(np.asarray(a))))
    im, jm = np.unravel_index(int(np.nanargmin(z)), z.shape)
    centre, lowest = float(z[i0, j0]), float(z[im, jm])
    solution_hover = f"{SOLUTION_NOTE}<br>loss {centre:.4g}<br>{WHY_THEY_DIFFER}<extra></extra>"
    minimum_hover = f"{MINIMUM_NOTE}<br>loss {lowest:.4g}<br>{WHY_THEY_DIFFER}<extra></extra>"
    scale = dict(colorscale="Viridis", zmin=LOSS_SCALE[0], zmax=LOSS_SCALE[1],
                 colorbar=dict(title=dict(text=LOSS_BAR, side="right")))
    keys = [_legend_key(SOLUTION_NOTE, "star", "#d62728", 20), _legend_key(MINIMUM_NOTE, "diamond-open", "black", 20)]
    if surface:
        lift = LIFT * max(float(np.nanmax(z) - np.nanmin(z)), 1e-9)
        def floating(x, y, height, name, marker, hover):
            """A stem from the surface up to the marker; 3-D has no star symbol, so a ★ is drawn as text."""
            glyph = marker["symbol"] == "star"
            return go.Scatter3d(x=[x, x], y=[y, y], z=[height, height + lift], mode="lines+text" if glyph else "lines+markers",
                                name=name, showlegend=False, hovertemplate=hover, line=dict(color=marker["color"], width=4),
                                text=["", "★"] if glyph else None, textposition="middle center",
                                textfont=dict(size=2 * marker["size"], color=marker["color"]),
                                marker=dict(size=[0, marker["size"]], color=marker["color"],
                                            symbol="circle" if glyph else marker["symbol"]))
        fig = go.Figure([go.Surface(x=a, y=b, z=z.tolist(), cmin=LOSS_SCALE[0], cmax=LOSS_SCALE[1],
                                    colorscale="Viridis", colorbar=scale["colorbar"]),
                         floating(a[j0], b[i0], centre, SOLUTION_NOTE, dict(size=14, color="#d62728", symbol="star"),
                                  solution_hover),
                         floating(a[jm], b[im], lowest, MINIMUM_NOTE, dict(size=14, color="black", symbol="diamond-open"),
                                  minimum_hover), *keys])
        fig.update_layout(scene=dict(xaxis_title="direction 1", yaxis_title="direction 2", zaxis_title="loss"),
                          xaxis=dict(visible=False), yaxis=dict(visible=False))  # the legend keys' empty 2-D axes
        fig.update_traces(colorbar=dict(len=0.7, thickness=16), selector=dict(type="surface"))
        return style(fig, height=SLICE_HEIGHT)
    fig = go.Figure([go.Contour(x=a, y=b, z=z.tolist(), **scale,
                                contours=dict(start=LOSS_SCALE[0], end=LOSS_SCALE[1], size=LOSS_SCALE[1] / 16),
                                hovertemplate="direction 1 %{x:.2f}<br>direction 2 %{y:.2f}<br>loss %{z:.4g}<extra></extra>"),
                     go.Scatter(x=[a[j0]], y=[b[i0]], mode="markers", name=SOLUTION_NOTE, hovertemplate=solution_hover,
                                showlegend=False, cliponaxis=False,
                                marker=dict(color="#d62728", size=20, symbol="star", line=dict(color="white", width=1.5))),
                     # an open ◇, larger than the ★: where the two coincide the ★ shows through it; never
                     # clipped at the map's edge (cliponaxis off), where a minimum often lies
                     go.Scatter(x=[a[jm]], y=[b[im]], mode="markers", name=MINIMUM_NOTE, hovertemplate=minimum_hover,
                                marker=dict(color="white", size=28, symbol="diamond-open", line=dict(width=3)),
                                showlegend=False, cliponaxis=False), *keys])
    # the axes reach a little past the map, so that a marker on its edge is drawn whole; a square
    # map, drawn across the page's width, keeps at least 400 px a side at 1280 × 720
    fig.update_xaxes(title_text="step along direction 1", range=_padded(a), constrain="domain")
    fig.update_yaxes(title_text="step along direction 2", range=_padded(b), scaleanchor="x", scaleratio=1)
    return style(fig, height=SLICE_HEIGHT)


def _padded(values, share: float = 0.06) -> list[float]:
    """[low, high] of ``values`` widened by ``share`` of their span on each side."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = share * max(high - low, 1e-9)
    return [low - pad, high + pad]


PHASE_TABLE_COLUMNS = ["model", "attack", "alpha", "n", "train_acc_mean", "train_acc_std", "val_acc_mean", "val_acc_std"]
LABEL_STEP_PX = 26  # vertical distance between staggered critical-α labels
LABEL_GAP = 0.3     # labels closer than this share of the α axis go on different levels
MAX_LABEL_LEVELS = 3  # more staggered levels than this and the critical α labels go into the legend
LEGEND_ENTRY_PX = 24  # height of one legend line at 16 px


def _reference_lines(fig: go.Figure, alphas: list[float], attack: str | None) -> None:
    """Chance (0.5) and the train accuracy of a model that ignores the poison: 1 − α under label
    flipping (it gets every flipped label 'wrong'), 1 − α/2 under feature noise (it guesses on
    the noise samples), as legend entries."""
    span = [min(alphas), max(alphas)]
    fig.add_trace(_chance(span, name=CRITICAL_CHANCE_NAME))  # the line the critical α is defined on, named so
    grid = np.linspace(span[0], span[1], 50)
    y, name = _ignores_poison(grid, attack)
    fig.add_trace(go.Scatter(x=grid, y=y, mode="lines", name=name, line=dict(color=CHANCE_COLOR, dash="longdashdot", width=LINE_WIDTH),
                             hoverinfo="skip"))


def phase_diagram(summary: list[dict], critical: list[dict] = ()) -> go.Figure:
    """Accuracy vs α per model (``phase.phase_summary`` entries of one dataset and attack):
    validation mean ± std as a band, train accuracy on the poisoned labels dashed, reference
    lines for chance (0.5, the line whose crossing defines the critical α, so named in the
    legend) and for 1 − α, and each model's critical α (``phase.critical_alpha``) as a
    dotted line over its bootstrap interval, labelled above the plot at staggered heights so
    that two labels never overlap however close the two critical α are."""
    fig = go.Figure()
    alphas_all = sorted({e["alpha"] for e in summary}) or [0.0, 1.0]
    for model in dict.fromkeys(e["model"] for e in summary):
        rows = [e for e in summary if e["model"] == model]
        color, name = _color(model), model_label(model)
        alphas = [e["alpha"] for e in rows]
        for trace in _band(alphas, np.array([e["val_acc_mean"] for e in rows]),
                           np.array([e["val_acc_std"] for e in rows]), color, f"{name} validation (clean labels)"):
            fig.add_trace(trace)
        fig.add_trace(go.Scatter(x=alphas, y=[e["train_acc_mean"] for e in rows], mode="lines+markers",
                                 line=dict(color=color, dash="dash", width=LINE_WIDTH), marker=dict(size=MARKER_SIZE),
                                 name=f"{name} train (poisoned labels)"))
    attacks = {e.get("attack") for e in summary}
    _reference_lines(fig, alphas_all, attacks.pop() if len(attacks) == 1 else None)
    x_span = max(alphas_all[-1] - alphas_all[0], 1e-9)
    shown = [e for e in critical if np.isfinite(e["estimate"])]
    levels = stagger_levels([e["estimate"] for e in shown], min_gap=LABEL_GAP * x_span)
    for entry in critical:
        if np.isfinite(entry["low"]):
            fig.add_vrect(x0=entry["low"], x1=entry["high"], fillcolor=_color(entry["model"]), opacity=0.10, line_width=0)
    labelled = max(levels, default=-1) < MAX_LABEL_LEVELS  # more levels than that left the plot an empty gap
    for entry, level in zip(shown, levels):
        color, x = _color(entry["model"]), entry["estimate"]
        fig.add_vline(x=x, line=dict(color=color, dash="dot", width=LINE_WIDTH))
        if not labelled:  # many models: the critical α goes into the legend instead
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=color, dash="dot", width=LINE_WIDTH),
                                     name=f"{model_label(entry['model'])}: critical α = {x:.2f}"))
            continue
        near = (x - alphas_all[0]) / x_span
        fig.add_annotation(x=x, y=1, xref="x", yref="paper", yanchor="bottom", yshift=4 + LABEL_STEP_PX * level,
                           xanchor="left" if near < 0.12 else "right" if near > 0.88 else "center", showarrow=False,
                           text=f"<b>{model_label(entry['model'])}: critical α = {x:.2f}</b>", font=dict(color=color, size=FONT_SIZE),
                           bgcolor="rgba(255,255,255,0.85)", name=f"critical-{entry['model']}")
    fig.update_layout(xaxis_title="poisoned fraction α", yaxis_title="accuracy", yaxis_range=[0, 1.02])
    entries = sum(1 for t in fig.data if t.showlegend is not False and t.name)
    fig = style(fig, height=max(540, 120 + LEGEND_ENTRY_PX * entries))  # every legend entry in view, none scrolled
    return fig.update_layout(margin=dict(t=40 + LABEL_STEP_PX * (max(levels, default=-1) + 1 if labelled else 0)))


def image_grid(images, titles: list[str], columns: int = 8) -> go.Figure:
    """Grey-scale images (k, h, w) in [0, 1] in a grid, each with its title."""
    images = np.asarray(images)
    rows = max(1, -(-len(images) // columns))
    fig = subplots(rows, columns, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.1)
    fig.update_annotations(font_size=FONT_SIZE)
    for i, image in enumerate(images):
        fig.add_trace(go.Heatmap(z=image[::-1], colorscale="Greys", zmin=0, zmax=1, showscale=False, hoverinfo="skip"),
                      row=i // columns + 1, col=i % columns + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig = style(fig, height=160 * rows + 40, legend="none")
    return fig.update_layout(margin=dict(t=30, b=0, l=0, r=0))


ROLE_STYLES = {  # drawn in this order, training last: three symbols and three hues, told apart where
    # neighbouring Δ alternate roles (seen: green diamonds and blue circles merging into one band)
    "window": dict(color="#666666", symbol="x-thin-open", size=10, line=dict(width=2, color="#666666"),
                   name="left out (near Δ = 1)"),
    "validation": dict(color="#d55e00", symbol="triangle-up-open", size=10, line=dict(width=2, color="#d55e00"),
                       name="validation (the Δ in between)"),
    "train": dict(color="#0072b2", symbol="circle", size=8, line=dict(width=0, color="#0072b2"),
              name="training (every other Δ)"),
}


def xxz_overview(overview: dict) -> go.Figure:
    """Energy gap and nearest-neighbour correlations against Δ (``explore.xxz_overview``).
    The gap is a line; each grid point's role is a marker on a row of its own under it (a rug:
    left out as grey crosses, validation as orange open triangles, training as blue dots), since
    161 points on one curve merged into one band whatever their symbols. The transition at Δ = 1
    dotted."""
    fig = subplots(1, 2, subplot_titles=("energy gap (Sz = 0 sector)", "nearest-neighbour correlations"),
                   horizontal_spacing=0.12)
    gap = np.asarray(overview["gap"], dtype=float)
    fig.add_trace(go.Scatter(x=overview["delta"], y=gap, mode="lines", name="energy gap", showlegend=False,
                             line=dict(color="#444444", width=LINE_WIDTH)), row=1, col=1)
    low, span = float(gap.min()), max(float(gap.max() - gap.min()), 1e-9)
    for row, (role, look) in enumerate(ROLE_STYLES.items()):
        idx = [i for i, r in enumerate(overview["role"]) if r == role]
        height = low - span * (0.36 - 0.12 * row)  # training's row nearest the curve, drawn last
        fig.add_trace(go.Scatter(x=[overview["delta"][i] for i in idx], y=[height] * len(idx), mode="markers",
                                 customdata=[overview["gap"][i] for i in idx], name=look["name"],
                                 hovertemplate=f"{look['name']}<br>Δ = %{{x:.3f}}<br>gap %{{customdata:.3f}}<extra></extra>",
                                 marker=dict(color=look["color"], symbol=look["symbol"], size=look["size"], line=look["line"])),
                      row=1, col=1)
    for key, dash in (("zz", "solid"), ("xx", "dash")):
        fig.add_trace(go.Scatter(x=overview["delta"], y=overview[key], mode="lines", line=dict(dash=dash, color="#444444"),
                                 name=METRIC_NAMES[key]), row=1, col=2)
    fig.add_vline(x=1.0, line=dict(dash="dot", color=CHANCE_COLOR, width=LINE_WIDTH))
    fig.update_xaxes(title_text="anisotropy Δ")
    # ticks only where the gap's line is: the rows of role markers under it are no gap values
    fig.update_yaxes(title_text="E₁ − E₀", tickmode="array", tickvals=[round(v, 2) for v in np.linspace(low, low + span, 4)],
                     row=1, col=1)
    fig.update_yaxes(title_text="correlation", row=1, col=2)
    return style(fig, height=460, title=f"XXZ chain, N = {overview['spins']} spins")


FEATURE_COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#444444", "#f0e442")


def measured_features_plot(view: dict) -> go.Figure:
    """What a measurement gives of the XXZ states against Δ (``explore.xxz_features_view``):
    one line per distinct feature (its exact value), named with how many equal ones it stands
    for; for shadows the estimates as markers of the same colour on top, so the estimation
    noise shows against the exact curve. The transition at Δ = 1 dotted."""
    fig = go.Figure()
    estimated = view["measured"] is not None
    equal = view.get("equal") or [1] * len(view["names"])
    for i, (feature, count) in enumerate(zip(view["names"], equal)):
        name = f"{feature} (= {count - 1} more by symmetry)" if count > 1 else feature
        color = FEATURE_COLORS[i % len(FEATURE_COLORS)]
        fig.add_trace(go.Scatter(x=view["delta"], y=view["exact"][i], mode="lines", line=dict(color=color, width=LINE_WIDTH),
                                 name=f"{name} (exact)" if estimated else name, legendgroup=name))
        if estimated:
            fig.add_trace(go.Scatter(x=view["delta"], y=view["measured"][i], mode="markers", legendgroup=name,
                                     marker=dict(color=color, size=MARKER_SIZE - 3, opacity=0.7),
                                     name=f"{name}, {view['snapshots']:,} snapshots"))
    fig.add_vline(x=1.0, line=dict(dash="dot", color=CHANCE_COLOR, width=LINE_WIDTH))
    fig.update_xaxes(title_text="anisotropy Δ")
    fig.update_yaxes(title_text="probability" if view["kind"] == "probabilities" else "expectation value")
    shown, distinct = len(view["names"]), view.get("distinct", view["width"])
    return style(fig, height=460, title=f"XXZ chain, N = {view['spins']}: the {shown} of {distinct} distinct {view['kind']} "
                                         f"features ({view['width']} in all) that vary most with Δ")


def upload_figure(overview: dict) -> go.Figure:
    """An upload's samples on their first two principal components, coloured by class."""
    fig = go.Figure()
    for label, color in ((0, "#0072b2"), (1, "#d55e00")):
        idx = [i for i, v in enumerate(overview["label"]) if v == label]
        fig.add_trace(go.Scattergl(x=[overview["pc1"][i] for i in idx], y=[overview["pc2"][i] for i in idx], mode="markers",
                                   marker=dict(color=color, size=MARKER_SIZE - 1, opacity=0.6),
                                   name=f"{overview['classes'][label]} (label {label})"))
    fig.update_layout(xaxis_title="principal component 1", yaxis_title="principal component 2")
    return style(fig, height=460)


def family_legend(family: str) -> str:
    """A capacity family's legend entry: "quantum: QNN", "classical: MLP", "classical on measurements"."""
    if family.startswith("classical"):
        return family
    return ("quantum: " if family == "QNN" else "classical: ") + family


def capacity_plot(table: list[dict]) -> go.Figure:
    """Is it quantum or capacity? (``capacity.capacity_table`` entries of one dataset and α):
    validation accuracy at that α (left) and critical α (right) against the number of
    trainable parameters on a log axis, one marker per variant with its seed spread (± std
    over runs; the critical α's bootstrap interval), labelled with the variant. Quantum and
    classical families differ in colour (purple / other hues) and in marker shape; each
    family is one legend entry. Chance (0.5) is dotted on the left."""
    fig = subplots(1, 2, horizontal_spacing=0.1, subplot_titles=(
        f"validation accuracy at α = {table[0]['alpha']:g}" if table else "validation accuracy",
        "critical α (mean accuracy crosses 0.5)"))
    # the QNNs drawn last, as thick open rings: on top of a classical marker at a similar parameter
    # count (the matched model's ★ beside the QNN's 240), both stay visible; the legend keeps them first
    families = sorted(dict.fromkeys(e["family"] for e in table), key=lambda f: f == "QNN")
    for family in families:
        quantum = family == "QNN"
        symbol = QUANTUM_SYMBOL + "-open" if quantum else CLASSICAL_SYMBOLS.get(family, "square")
        # one legend entry per model, grouped under its family: labels beside the markers piled up
        # or were cut off where parameter counts are close ("N depth 1", "MLP + early st")
        for e in (e for e in table if e["family"] == family):
            name = model_label(e["variant"])
            marker = (dict(color=model_color(e["variant"]), symbol=symbol, size=MARKER_SIZE + 11, line=dict(width=4))
                      if quantum else dict(color=model_color(e["variant"]), symbol=symbol, size=MARKER_SIZE + 5,
                                           line=dict(color="#222222", width=1)))
            group = dict(legendgroup=family, legendgrouptitle_text=family_legend(family), legendrank=1 if quantum else 2)
            fig.add_trace(go.Scatter(x=[e["n_params"]], y=[e["val_acc_mean"]], mode="markers", marker=marker, name=name,
                                     error_y=dict(type="data", array=[e["val_acc_std"]], color=NEUTRAL), **group,
                                     customdata=[[e["runs"], e["train_acc_mean"]]],
                                     hovertemplate=f"{name}<br>%{{x:,}} parameters<br>validation %{{y:.3f}}"
                                                   "<br>train (poisoned) %{customdata[1]:.3f}<br>%{customdata[0]} runs<extra></extra>"),
                          row=1, col=1)
            if np.isfinite(e["critical_alpha"]):
                fig.add_trace(go.Scatter(x=[e["n_params"]], y=[e["critical_alpha"]], mode="markers", marker=marker,
                                         error_y=dict(type="data", symmetric=False, color=NEUTRAL,
                                                      array=[max(0.0, e["critical_alpha_high"] - e["critical_alpha"])],
                                                      arrayminus=[max(0.0, e["critical_alpha"] - e["critical_alpha_low"])]),
                                         name=name, showlegend=False, **group,
                                         hovertemplate=f"{name}<br>%{{x:,}} parameters<br>critical α %{{y:.2f}}<extra></extra>"),
                              row=1, col=2)
    counts = [e["n_params"] for e in table]
    fig.add_hline(y=0.5, line=dict(color=CHANCE_COLOR, dash="dot", width=LINE_WIDTH), row=1, col=1)
    fig.update_xaxes(title_text="trainable parameters (log scale)", **log_axis(counts))
    fig.update_yaxes(title_text="accuracy (clean labels)", range=[0.3, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="critical α", range=[0, 1], row=1, col=2)
    return style(fig, height=max(540, 160 + 26 * len(table)))


def capacity_rows(table: list[dict]) -> list[dict]:
    """The capacity table as a class reads it: models and columns in words, mean ± std in one
    cell, a critical α that is not reached reads "not reached" (never "None" or "nan")."""
    def critical(e):
        return f"{e['critical_alpha']:.2f}" if np.isfinite(e["critical_alpha"]) else "not reached"
    # the columns a caption compares first (clean, then at α: "within 0.10 of their clean value"), so that
    # both are in view at 1280 px; the family is the figure's legend, the train accuracy comes after
    return [{"model": e.get("label") or model_label(e["variant"]), "parameters": e["n_params"],
             "clean validation accuracy": round(e["clean_val_acc"], 3),
             f"validation accuracy at α = {e['alpha']:g}": plus_minus(e["val_acc_mean"], e["val_acc_std"]),
             "critical α": critical(e), "train accuracy (poisoned labels)": round(e["train_acc_mean"], 3),
             "family": e["family"], "runs": e["runs"]} for e in table]


def readiness_bars(counts: dict[str, tuple[int, int]], titles: dict[str, str]) -> go.Figure:
    """How much of each lesson step is in the cache (``lesson.readiness``' step -> (ready, runs),
    "all" left out): one bar per step, filled to its ready share, "ready / runs" beside it, the
    steps top to bottom in lesson order. A teacher reads at a glance which steps still compute."""
    steps = [step for step in counts if step != "all"][::-1]  # plotly draws the first category at the bottom
    ready = [counts[s][0] / counts[s][1] if counts[s][1] else 1.0 for s in steps]
    names = [titles.get(s, s) for s in steps]
    fig = go.Figure([
        go.Bar(y=names, x=ready, orientation="h", name="ready", marker_color=READY_COLOR,
               hovertemplate="%{y}: %{x:.0%} of its runs ready<extra></extra>"),
        go.Bar(y=names, x=[1 - r for r in ready], orientation="h", name="to compute", marker_color=MISSING_COLOR,
               hoverinfo="skip")])
    for step, name in zip(steps, names):
        fig.add_annotation(x=1, y=name, text=f"{counts[step][0]} / {counts[step][1]}", xanchor="left", showarrow=False,
                           xshift=8, font=dict(size=FONT_SIZE))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title_text="share of the step's runs in the cache")
    style(fig, height=90 + 34 * len(steps), legend="none")
    return fig.update_layout(margin=dict(r=110))  # room for "ready / runs" right of the bars (the top keeps the modebar off them)
