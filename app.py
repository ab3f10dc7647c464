"""Entry point of the Streamlit lab: registers the pages with st.navigation and runs one."""
import streamlit as st

st.set_page_config(page_title="QML poisoning & unlearning lab", page_icon="⚛️", layout="wide")
pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/playground.py", title="Poisoning playground", icon="🧪"),
]
st.navigation(pages).run()
