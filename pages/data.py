"""Data explorer: MNIST digit pairs as images; the XXZ chain's gap and correlations against Δ."""
import streamlit as st

from lab_ui import controls, downloads, url_state
from qml_core.explore import mnist_samples, xxz_overview
from qml_core.plots import image_grid, xxz_overview as xxz_figure

st.title("Data explorer")
with st.sidebar:
    dataset, options = controls.dataset_controls()
url_state.publish()

if dataset == "mnist":
    st.caption("Real MNIST shipped with the lab (PROTOCOL §1): 28×28 images, amplitude-encoded on 10 qubits "
               "(784 pixels padded to 1024 amplitudes); the MLP sees the same normalised vector.")
    try:
        samples = mnist_samples(options["digits"])
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    st.plotly_chart(image_grid(samples["images"], samples["labels"]), key="mnist")
    downloads.buttons("mnist-samples", samples)
else:
    with st.spinner(f"Ground states of the N = {options['spins']} chain (exact diagonalisation, cached on disk)…"):
        overview = xxz_overview(options["spins"])
    st.caption("Ground states of the periodic XXZ chain on a Δ grid: label 0 in the XY phase (Δ < 1), 1 in the Néel "
               "phase (Δ > 1); the points nearest the transition are left out of training.")
    st.plotly_chart(xxz_figure(overview), key="xxz")
    rows = [dict(zip(("delta", "gap", "zz", "xx", "label", "role"), v))
            for v in zip(*(overview[k] for k in ("delta", "gap", "zz", "xx", "label", "role")))]
    downloads.buttons(f"xxz-N{options['spins']}", overview, rows)
