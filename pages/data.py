"""Data explorer: MNIST digit pairs as images; the XXZ chain's gap and correlations against Δ, and
what a measurement gives of its states (the classical models' fair input)."""
import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import charts, controls, downloads, lesson, url_state  # noqa: E402
from qml_core.data.upload import MAX_BYTES, save_upload  # noqa: E402
from qml_core.experiments.explore import mnist_samples, upload_overview, xxz_features_view, xxz_overview  # noqa: E402
from qml_core.reporting.plots import image_grid, measured_features_plot, upload_figure  # noqa: E402
from qml_core.reporting.plots import xxz_overview as xxz_figure  # noqa: E402
from qml_core.specs import DEFAULT_SNAPSHOTS, SNAPSHOT_FEATURES, SpecError  # noqa: E402

st.title("Data explorer")
lesson.panel("data")
lesson.navigation("data")
with st.expander("Upload your own data: a .csv or .npz of features and binary labels"):
    st.caption(f"CSV: numeric feature columns and a label column (named `label` or `y`, else the last). NPZ: arrays "
               f"`x` (samples × features) and `y`, read without pickles. At most {MAX_BYTES // 2 ** 20} MB, "
               "2..4096 features, exactly two classes with at least 5 samples each, finite values.")
    uploaded = st.file_uploader("data file", type=["csv", "npz"], label_visibility="collapsed")
    if uploaded is not None:
        try:
            st.session_state["upload"] = save_upload(uploaded.name, uploaded.getvalue())
            st.session_state["dataset"] = "upload"
        except SpecError as exc:
            st.error(str(exc))
with st.sidebar:  # the paper's chain, N = 12 (first time 9 s for its ground states, then read from disk)
    dataset, options = controls.dataset_controls(spins=12)
url_state.publish()

if dataset == "mnist":
    st.caption("Real MNIST shipped with the lab (the paper's digits 1 vs 9 by default): 28×28 images, amplitude-encoded on 10 qubits "
               "(784 pixels padded to 1024 amplitudes); the MLP sees the same normalised vector.")
    try:
        samples = mnist_samples(options["digits"])
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    charts.show(image_grid(samples["images"], samples["labels"]), "mnist-figure")
    downloads.buttons("mnist-samples", samples)
elif dataset == "upload":
    try:
        overview = upload_overview(options["digest"])
    except SpecError as exc:
        st.error(str(exc))
        st.stop()
    st.success(f"{overview['n']} samples × {overview['features']} features, classes {overview['classes'][0]} (label 0) "
               f"and {overview['classes'][1]} (label 1), {overview['counts'][0]} and {overview['counts'][1]} samples; "
               f"amplitude-encoded on {overview['qubits']} qubits. It is now offered as a dataset on the other pages.")
    charts.show(upload_figure(overview), "upload-figure")
    downloads.buttons("upload-overview", overview)
else:
    st.session_state.setdefault("xxz_gauge", "phase")  # the paper's states (a default index would clash with a lesson link's state)
    gauge = st.radio("how each state is represented", ["fixed", "sign", "phase"], horizontal=True, key="xxz_gauge",
                     format_func={"fixed": "fixed sign", "sign": "random sign ±", "phase": "random global phase"}.get,
                     help="Physically the same states; the QNN cannot tell them apart, a classical network sees "
                          "different inputs (CLI: --gauge)")
    with st.spinner(f"Ground states of the N = {options['spins']} chain (exact diagonalisation, cached on disk)…"):
        overview = xxz_overview(options["spins"], gauge=gauge)
    st.caption(f"The representation is what a classical network sees, and the QNN does not: with this one "
               f"{overview['mlp_alike']:.0%} of neighbouring Δ points give the MLP nearly the same input (cosine "
               f"similarity > 0.9), while for the QNN {overview['qnn_alike']:.0%} are nearly the same state (|⟨ψ|ψ′⟩| > 0.9).")
    st.caption("Ground states of the periodic XXZ chain on a Δ grid: label 0 in the XY phase (Δ < 1), 1 in the Néel "
               "phase (Δ > 1); the points nearest the transition are left out of training.")
    charts.show(xxz_figure(overview), "xxz-figure")
    rows = [dict(zip(("delta", "gap", "zz", "xx", "label", "role"), v))
            for v in zip(*(overview[k] for k in ("delta", "gap", "zz", "xx", "label", "role")))]
    downloads.buttons(f"xxz-N{options['spins']}", overview, rows)
    st.subheader("What a measurement gives")
    st.caption("An experiment never hands a classical learner the amplitudes: it measures copies of the state. These "
               "are the inputs of the classical models on measurements (CLI: --features): basis-state probabilities, "
               "Pauli correlators ⟨XᵢXⱼ⟩, ⟨YᵢYⱼ⟩, ⟨ZᵢZⱼ⟩, both estimated from classical-shadow snapshots "
               "(shadows), or the correlators alone estimated from them (shadow-correlators).")
    kind = st.radio("features", ["correlators", "probabilities", *SNAPSHOT_FEATURES], horizontal=True,
                    key="xxz_features")
    snapshots = st.select_slider("snapshots per state", [100, DEFAULT_SNAPSHOTS], DEFAULT_SNAPSHOTS,
                                 key="xxz_snapshots") if kind in SNAPSHOT_FEATURES else 0
    with st.spinner("Measuring the states (cached on disk)…"):
        view = xxz_features_view(options["spins"], kind, snapshots)
    charts.show(measured_features_plot(view), "xxz-features")
    downloads.buttons(f"xxz-N{options['spins']}-{kind}{snapshots or ''}", view)
