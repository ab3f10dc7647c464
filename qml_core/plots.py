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
