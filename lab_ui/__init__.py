"""Streamlit building blocks shared by the pages: URL-backed controls, job progress panels and
download buttons. The science lives in ``qml_core``; nothing here computes results."""
