"""Poisoning playground: choose data, attack and α, train the QNN and the MLP side by side."""
import streamlit as st

from qml_core.experiment import run_experiment
from qml_core.plots import LABELS, training_curves
from qml_core.specs import MnistData, SpecError, XXZData, preset

st.title("Poisoning playground")
with st.sidebar:
    dataset = st.selectbox("dataset", ["mnist", "xxz"], format_func={"mnist": "MNIST digits", "xxz": "XXZ ground states"}.get)
    if dataset == "mnist":
        first, second = st.columns(2)
        digits = (first.number_input("digit 0", 0, 9, 1), second.number_input("digit 1", 0, 9, 9))
    else:
        spins = st.select_slider("spins N", [6, 8, 10, 12], value=6)
    attack = st.radio("attack", ["label-flip", "feature-noise"], horizontal=True)
    alpha = st.slider("poisoned fraction α", 0.0, 0.9, 0.3, 0.1)
    preset_name = st.radio("preset", ["quick", "paper"], horizontal=True, help="quick: seconds; paper: PROTOCOL §3")
    seed = st.number_input("seed", 0, 10_000, 0)

try:
    specs = {}
    for model in ("qnn", "mlp"):
        spec = preset(preset_name, dataset, model)
        data = (MnistData(digits=(int(digits[0]), int(digits[1])), n_train_per_class=spec.data.n_train_per_class,
                          n_val=spec.data.n_val) if dataset == "mnist" else XXZData(spins=spins))
        specs[model] = spec.replace(data=data, attack=attack, alpha=alpha, seed=int(seed))
except SpecError as exc:
    st.error(str(exc))
    st.stop()

results = {}
columns = st.columns(2)
for column, (model, spec) in zip(columns, specs.items()):
    with column:
        bar = st.progress(0.0, text=f"{LABELS[model]}: starting")
        result, was_cached = run_experiment(
            spec, progress=lambda e, n, r, bar=bar, m=model: bar.progress(e / n, text=f"{LABELS[m]}: epoch {e}/{n}"))
        status = "from the cache" if was_cached else f"trained in {result['seconds']:.1f}s"
        bar.progress(1.0, text=f"{LABELS[model]}: {status}")
        st.metric(f"{LABELS[model]} validation accuracy", f"{result['val_acc']:.3f}")
        st.metric(f"{LABELS[model]} train accuracy (poisoned labels)", f"{result['train_acc']:.3f}")
        results[model] = result

st.plotly_chart(training_curves({m: r["history"] for m, r in results.items()}), use_container_width=True)
