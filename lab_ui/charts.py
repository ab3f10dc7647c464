"""Every figure of the lab is drawn through ``show``: plotly's camera button then downloads it as
PNG (2x, for slides) or SVG (for papers), as the sidebar's "figure downloads" control says."""
import plotly.graph_objects as go
import streamlit as st

from lab_ui import url_state
from qml_core.reporting.figure_style import IMAGE_FORMATS, figure_config

FORMAT_KEY = "image"


def format_control() -> None:
    """The sidebar radio choosing the image format of every figure's download button (in the URL)."""
    url_state.choice("figure downloads", FORMAT_KEY, list(IMAGE_FORMATS), widget=st.radio, horizontal=True,
                     format_func=str.upper, help="the camera button above each figure saves it in this format")


def show(figure: go.Figure, key: str) -> None:
    """st.plotly_chart with a download button saving ``key``.png or ``key``.svg."""
    image_format = st.session_state.get(FORMAT_KEY, IMAGE_FORMATS[0])
    st.plotly_chart(figure, key=key, config=figure_config(key, image_format))
