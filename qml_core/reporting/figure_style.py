"""The look every figure shares: one palette keyed by model and by unlearning method, fonts and
line widths readable on a 1280 × 720 projector, axis and column names in words, log-axis ticks,
and the plotly config that lets every figure download as PNG or SVG (plain data, no streamlit).

Example::

    fig = style(go.Figure(go.Scatter(x=[0, 1], y=[1, 0], mode="lines")), height=400)
    st.plotly_chart(fig, config=figure_config("phase-diagram"))   # in a page
"""
import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from qml_core.experiments.capacity import measured_label, split_view
from qml_core.experiments.sweep import device_setting

# Models: purple and orange, told apart by colour-blind viewers too; methods: Okabe–Ito hues,
# retraining (the reference) black. Every figure takes its colours from here.
PALETTE = {"qnn": "#6f42c1", "mlp": "#e8710a"}
LABELS = {"qnn": "QNN", "mlp": "MLP"}
METHOD_COLORS = {"retrain": "#222222", "finetune": "#0072b2", "scrub": "#009e73", "grad-ascent": "#d55e00",
                 "random-label": "#cc79a7", "salun": "#b8860b", "l1-sparse": "#56b4e9"}
METHOD_LABELS = {"retrain": "retrain (reference)", "finetune": "fine-tune", "scrub": "SCRUB",
                 "grad-ascent": "gradient ascent", "random-label": "random labels", "salun": "SalUn",
                 "l1-sparse": "ℓ1-sparse"}
NEUTRAL = "#555555"
CHANCE_COLOR = "#888888"
READY_COLOR, MISSING_COLOR = "#2e8540", "#dddddd"  # a lesson step's runs in the cache / still to compute

FONT_SIZE = 16          # ticks, legend, hover, table cells
AXIS_TITLE_SIZE = 18    # axis titles and subplot titles
TITLE_SIZE = 20
LINE_WIDTH = 3
MARKER_SIZE = 9
FONT_FAMILY = "Arial, Helvetica, sans-serif"

# What a trajectory / summary key means, in words (a metric name is never shown raw).
METRIC_NAMES = {
    "val_acc": "validation accuracy (clean labels)", "train_acc": "train accuracy (poisoned labels)",
    "retain_acc": "retain-set accuracy", "forget_acc_true": "forget-set accuracy (true labels)",
    "forget_acc_poisoned": "forget-set accuracy (poisoned labels)", "val_loss": "validation loss (clean labels)",
    "train_loss": "train loss (poisoned labels)", "retain_loss": "retain-set loss", "mia_auc": "membership-inference AUC",
    "agreement_val": "agreement with retrain (validation)", "agreement_forget": "agreement with retrain (forget set)",
    "seconds": "wall time (s)", "epochs_to_match": "epochs to match retrain", "ratio": "trace ratio poisoned / clean",
    "trace": "Hessian trace", "gap": "energy gap E₁ − E₀", "zz": "⟨Z₀Z₁⟩", "xx": "⟨X₀X₁⟩",
}


def _with(name: str, word: str) -> str:
    """"train accuracy (poisoned labels)" + "mean" -> "train accuracy (poisoned labels, mean)"."""
    return f"{name[:-1]}, {word})" if name.endswith(")") else f"{name} ({word})"


_SUFFIXES = ("mean", "std", "min", "max")
HUMAN_COLUMNS = {
    "dataset": "dataset", "model": "model", "attack": "attack", "alpha": "poisoned fraction α", "n": "runs",
    "runs": "runs", "run": "run", "seed": "seed", "method": "method", "estimate": "critical α",
    "low": "interval low", "high": "interval high", "level": "interval level", "threshold": "accuracy threshold",
    "crossed": "resamples that cross", "collapsed": "collapsed", "ratios": "trace ratio per seed",
    "collapsed_ratios": "trace ratio per collapsed seed", "collapsed_seeds": "collapsed seeds", "delta": "Δ",
    "label": "label", "role": "role", "cached": "from cache", "epoch": "epoch",
    **METRIC_NAMES,
    "test_acc": "test accuracy (clean labels)", "n_params": "parameters", "max": "largest eigenvalue",
    "min": "smallest eigenvalue",
    **{f"{key}_{suffix}": _with(name, suffix) for key, name in METRIC_NAMES.items() for suffix in _SUFFIXES},
    "epochs_to_match_never": "runs that never match retrain",
}
VALUE_NAMES = {"model": LABELS, "method": METHOD_LABELS,
               "attack": {"label-flip": "label flipping", "feature-noise": "feature randomisation"}}

# st.plotly_chart(fig, config=FIGURE_CONFIG): the modebar camera saves a 2× PNG. Plotly's
# toImageButtonOptions takes one format per figure, so SVG is a second config the page offers
# (a PNG / SVG choice) rather than a second button: a custom modebar button needs a JavaScript
# click handler, which a JSON config cannot carry. The modebar shows while the pointer is over
# the figure ("hover"), so on a projector it never covers a title or a subplot's name.
FIGURE_CONFIG = {"displaylogo": False, "displayModeBar": "hover", "modeBarButtonsToRemove": ["lasso2d", "select2d"],
                 "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "figure"}}
FIGURE_CONFIG_SVG = {**FIGURE_CONFIG, "toImageButtonOptions": {"format": "svg", "scale": 1, "filename": "figure"}}
IMAGE_FORMATS = ("png", "svg")


def figure_config(name: str = "figure", image_format: str = "png") -> dict:
    """A plotly config whose download button saves ``name``.png (2×) or ``name``.svg."""
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {IMAGE_FORMATS}, got {image_format!r}")
    base = FIGURE_CONFIG if image_format == "png" else FIGURE_CONFIG_SVG
    return {**base, "toImageButtonOptions": {**base["toImageButtonOptions"], "filename": name}}


def human_name(key: str) -> str:
    """A column or metric key in words (``train_acc_mean`` → "train accuracy (poisoned labels,
    mean)"); an unknown key loses its underscores."""
    return HUMAN_COLUMNS.get(key, key.replace("_", " "))


def plus_minus(mean: float, std: float, places: int = 3, between: str = " ± ") -> str:
    """A spread as tables show it: "0.705 ± 0.058" (``between="<br>± "`` breaks the line)."""
    return f"{mean:.{places}f}{between}{std:.{places}f}"


def human_table(rows: list[dict], columns: list[str] | None = None, digits: int | None = None,
                spread: bool = False) -> list[dict]:
    """A list-of-dict table for display: keys in words (``HUMAN_COLUMNS``), model / method /
    attack values in words, ``columns`` (default: every key, first-seen order) in that order,
    floats rounded to ``digits`` when given. Missing values stay None. ``spread``: a metric's
    ``X_mean`` and ``X_std`` columns become one column, named by the metric, reading "0.705 ±
    0.058" (``digits`` decimals, default 3): half the columns, so a table fits a projector."""
    keys = columns if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    places = 3 if digits is None else digits

    def show(key, value):
        if isinstance(value, str):
            return VALUE_NAMES.get(key, {}).get(value, value)
        if digits is not None and isinstance(value, float):
            return round(value, digits)
        return value

    means = {k.removesuffix("_mean") for k in keys if k.endswith("_mean")}
    merged = {m for m in means if spread and f"{m}_std" in keys and m in METRIC_NAMES}

    def cells(row):
        out = {}
        for key in keys:
            metric, _, suffix = key.rpartition("_")
            if metric in merged and suffix == "mean":
                mean, std = row.get(key), row.get(f"{metric}_std")
                out[METRIC_NAMES[metric]] = None if mean is None else plus_minus(mean, std, places)
            elif not (metric in merged and suffix == "std"):
                out[human_name(key)] = show(key, row.get(key))
        return out
    return [cells(r) for r in rows]


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


MEASURED_KINDS = {"mlp": "MLP", "logreg": "logistic regression"}
MEASURED_COLORS = {"probabilities": "#e69f00", "correlators": "#d55e00", "shadows": "#117733",
                   "shadow-correlators": "#999933"}  # a hue per specs.FEATURES less amplitudes


def measured_parts(model: str) -> tuple[str, str, int] | None:
    """A model id on measured XXZ features split into (base model id, features, snapshots):
    "mlp-correlators" → ("mlp", "correlators", 0), "logreg-shadow-correlators100" → ("logreg",
    "shadow-correlators", 100), "mlp-wd@probabilities" → ("mlp-wd", "probabilities", 0); None for
    any other id."""
    base, at, view = model.partition("@")
    if not at:
        base, _, view = model.partition("-")
        if base not in MEASURED_KINDS:
            return None
    parts = split_view(view)
    return (base, *parts) if parts else None


def device_label(setting: dict) -> str:
    """A QNN's device setting (``sweep.device_setting``) in words: "QNN, p = 0.01, 1 000 shots"."""
    words = {"depolarizing": lambda p: f"p = {p:g}", "shots": lambda n: f"{n:,} shots".replace(",", " "),
             "readout_error": lambda q: f"readout error {q:g}", "trajectories": lambda k: f"{k} trajectories",
             "shot_gradient": lambda name: f"{name} gradient"}
    return ", ".join(["QNN"] + [words[name](value) for name, value in setting.items()])


def model_label(model: str) -> str:
    """"qnn" → "QNN"; a capacity variant id in words ("qnn-d3" → "QNN depth 3", "mlp-16x4" →
    "MLP (16, 4)", "logreg-shadows100" → "logistic regression on shadows, M = 100"); anything
    else as it is."""
    if model in LABELS or model in VARIANT_LABELS:
        return LABELS.get(model) or VARIANT_LABELS[model]
    device = device_setting(model)
    if device:
        return device_label(device)
    measured = measured_parts(model)
    if measured:
        base, features, snapshots = measured
        return f"{MEASURED_KINDS.get(base) or model_label(base)} on {measured_label(features, snapshots)}"
    kind, _, rest = model.partition("-")
    if kind == "qnn" and rest.startswith("d") and rest[1:].isdigit():
        return f"QNN depth {rest[1:]}"
    if kind == "mlp" and rest and all(part.isdigit() for part in rest.split("x")):
        return f"MLP ({', '.join(rest.split('x'))})"
    return model


# Capacity variants (qml_core/experiments/capacity.py): quantum ones in the QNN's purple (lighter = shallower,
# darker = deeper than the paper's), classical ones in the MLP's orange (lighter = smaller) or,
# for the other classical families, hues of their own; quantum and classical also differ in
# marker shape (QUANTUM_SYMBOL / CLASSICAL_SYMBOLS).
VARIANT_LABELS = {"logreg": "logistic regression", "matched": "parameter-matched MLP", "mlp-wd": "MLP + weight decay",
                  "mlp-es": "MLP + early stopping"}
VARIANT_COLORS = {"logreg": "#0072b2", "matched": "#009e73", "mlp-wd": "#cc79a7", "mlp-es": "#56b4e9"}
# the QNN on a device (qml_core/experiments/devices.py; labels: device_label): fewer shots lighter, noise
# darker than the QNN's purple
VARIANT_COLORS |= {"qnn-shots-10000": "#8e6bd1", "qnn-shots-1000": "#ab94de", "qnn-shots-100": "#cbbdeb",
                   "qnn-p0.001": "#4b2a91", "qnn-p0.01": "#2e1760", "qnn-p0.01-shots-1000": "#a0522d"}
# the paper's QNN without its entangling gates (capacity.noent_variant): a greyed purple
VARIANT_LABELS["qnn-noent"] = "QNN without entanglers"
VARIANT_COLORS["qnn-noent"] = "#9e8fb8"
# one ingredient of the QNN each (capacity.ingredient_variants): the quadratic form is the QNN's function class
VARIANT_LABELS |= {"quadratic": "quadratic form (the QNN's function class)", "logreg-bounded": "logistic regression, bounded readout"}
VARIANT_COLORS |= {"quadratic": "#009e9e", "logreg-bounded": "#7f7f00"}
QUANTUM_SYMBOL = "circle"
CLASSICAL_SYMBOLS = {"MLP": "square", "regularised MLP": "diamond", "logistic regression": "triangle-up",
                     "parameter-matched": "star", "classical on measurements": "hexagon", "QNN ingredient": "pentagon"}


def model_color(model: str) -> str:
    """The colour of a model or capacity variant id (PALETTE for the paper's two models; models
    on measured features in a hue per feature kind, fewer snapshots and logistic regression
    lighter)."""
    if model in PALETTE or model in VARIANT_COLORS:
        return PALETTE.get(model) or VARIANT_COLORS[model]
    device = device_setting(model)
    if device:  # a setting outside the phase diagram's six: shots lighter, noise darker, as theirs
        return VARIANT_COLORS["qnn-p0.001"] if device.get("depolarizing") else VARIANT_COLORS["qnn-shots-1000"]
    measured = measured_parts(model)
    if measured:  # logistic regression darker, fewer snapshots lighter: never a pale tint a projector washes out
        base, features, snapshots = measured
        color = darken(MEASURED_COLORS[features], 0.6) if base != "mlp" else MEASURED_COLORS[features]
        return shade(color, 0.7) if 0 < snapshots < 1000 else color
    kind, _, rest = model.partition("-")
    if kind == "qnn" and rest[1:].isdigit():
        depth = int(rest[1:])
        return "#3b1f73" if depth >= 8 else shade(PALETTE["qnn"], min(0.9, 0.35 + 0.1 * depth))
    if kind == "mlp" and rest and all(part.isdigit() for part in rest.split("x")):
        units = sum(int(part) for part in rest.split("x"))
        return shade(PALETTE["mlp"], min(0.9, 0.35 + 0.15 * math.log2(1 + units)))
    return NEUTRAL


def log_ticks(low: float, high: float, max_decades: int = 4, max_ticks: int = 8) -> list[float]:
    """Tick values for a log axis covering [low, high] (both > 0): 1-3 steps (0.1, 0.3, 1, 3,
    10, …) over at most ``max_decades`` decades; beyond that powers of ten, every k-th one so
    that at most ``max_ticks`` remain."""
    if not (low > 0 and high > 0):
        raise ValueError(f"log ticks need positive bounds, got {low!r}, {high!r}")
    low, high = min(low, high), max(low, high)
    first, last = math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9)
    last = max(last, first + 1)
    if last - first <= max_decades:
        ticks = [m * 10.0 ** k for k in range(first, last + 1) for m in (1, 3)]
        below = [t for t in ticks if t <= low * (1 + 1e-9)]
        above = [t for t in ticks if t >= high * (1 - 1e-9)]
        ticks = [t for t in ticks if below[-1] <= t <= above[0]]
    else:
        stride = math.ceil((last - first + 1) / max_ticks)
        ticks = [10.0 ** k for k in range(first, last + 1) if k % stride == 0]
    return [float(f"{t:.6g}") for t in ticks]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def tick_text(value: float) -> str:
    """0.1 → "0.1", 3 → "3", 3000 → "3000", 1e-6 → "10⁻⁶" (no "1e-06" on a classroom axis)."""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) < 1e-9 and not -3 <= round(exponent) <= 4:
        return "10" + str(round(exponent)).translate(_SUPERSCRIPT)
    if 1e-3 <= value < 1e5:
        return f"{value:.6g}" if value < 1 else f"{value:.0f}"
    mantissa, exp = f"{value:.0e}".split("e")
    return f"{mantissa}·10" + str(int(exp)).translate(_SUPERSCRIPT)


def log_axis(values, max_ticks: int = 8) -> dict:
    """Axis settings for a log axis over positive ``values``: explicit tick values and labels
    (no crammed minor labels) and a range padded by a tenth of a decade."""
    positive = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    low, high = (min(positive), max(positive)) if positive else (1.0, 1.0)
    ticks = log_ticks(low, high, max_ticks=max_ticks)
    return dict(type="log", tickmode="array", tickvals=ticks, ticktext=[tick_text(t) for t in ticks],
                range=[math.log10(min(low, ticks[0])) - 0.1, math.log10(max(high, ticks[-1])) + 0.1],
                minor=dict(showgrid=False, ticks=""))


def stagger_levels(xs: list[float], min_gap: float) -> list[int]:
    """A height level (0, 1, …) per label at ``xs`` so that labels on one level are at least
    ``min_gap`` apart: greedy, left to right, each label on the lowest level it fits."""
    levels = [0] * len(xs)
    last_on_level: list[float] = []
    for i in sorted(range(len(xs)), key=lambda i: xs[i]):
        level = next((k for k, x in enumerate(last_on_level) if xs[i] - x >= min_gap), len(last_on_level))
        if level == len(last_on_level):
            last_on_level.append(xs[i])
        last_on_level[level] = xs[i]
        levels[i] = level
    return levels


def shade(color: str, amount: float) -> str:
    """``color`` (#rrggbb) mixed with white: amount 1 is the colour itself, 0 is white."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def darken(color: str, amount: float) -> str:
    """``color`` (#rrggbb) mixed with black: amount 1 is the colour itself, 0 is black."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * amount):02x}" for c in (r, g, b))


def subplots(rows: int = 1, cols: int = 1, **kwargs) -> go.Figure:
    """``make_subplots`` with subplot titles at the axis-title size (18 px)."""
    fig = make_subplots(rows=rows, cols=cols, **kwargs)
    fig.update_annotations(font_size=AXIS_TITLE_SIZE)
    return fig


def _widen_lines(fig: go.Figure) -> None:
    """Every scatter line not set explicitly (a band edge sets width 0) gets LINE_WIDTH; every
    marker without a size gets MARKER_SIZE."""
    for trace in fig.data:
        if trace.type not in ("scatter", "scattergl"):
            continue
        mode = trace.mode or "lines"
        if "lines" in mode and trace.line.width is None:
            trace.line.width = LINE_WIDTH
        if "markers" in mode and trace.marker.size is None:
            trace.marker.size = MARKER_SIZE


def style(fig: go.Figure, height: int = 420, legend: str = "bottom", title: str | None = None) -> go.Figure:
    """The shared look: fonts (16 px, axis titles 18 px), line widths, a legend below the plot
    (``legend="bottom"``), at the right (``"right"``) or none (``"none"``); returns ``fig``."""
    _widen_lines(fig)
    # A bottom legend anchored to the figure's bottom edge (container) rather than below the
    # plot area: plotly then reserves room for it above, so it never covers the x-axis title.
    legends = {"bottom": dict(orientation="h", yref="container", yanchor="bottom", y=0.01, xanchor="left", x=0),
               "right": dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02)}
    fig.update_layout(font=dict(family=FONT_FAMILY, size=FONT_SIZE), height=height,
                      hoverlabel=dict(font_size=FONT_SIZE), showlegend=legend != "none",
                      legend=dict(font_size=FONT_SIZE, **legends.get(legend, {})),
                      margin=dict(t=60 if title else 40, b=40, l=70, r=20))
    if title:
        fig.update_layout(title=dict(text=title, font_size=TITLE_SIZE, x=0.01))
    fig.update_xaxes(title_font_size=AXIS_TITLE_SIZE, tickfont_size=FONT_SIZE, automargin=True)
    fig.update_yaxes(title_font_size=AXIS_TITLE_SIZE, tickfont_size=FONT_SIZE, automargin=True)
    for annotation in fig.layout.annotations:  # labels a builder sized itself (subplot titles) keep their size
        if annotation.font.size is None:
            annotation.font.size = FONT_SIZE
    if any(trace.type in ("surface", "scatter3d") for trace in fig.data):
        for axis in ("xaxis", "yaxis", "zaxis"):
            fig.layout.scene[axis].title.font.size = AXIS_TITLE_SIZE
            fig.layout.scene[axis].tickfont.size = FONT_SIZE
    return fig
