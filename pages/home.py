"""Landing page: what the lab is and what the paper found."""
import streamlit as st

st.title("Data poisoning and unlearning: quantum vs classical ML")
st.markdown(
    """
This lab reproduces and extends Chen & Zhang, *Superior resilience to poisoning and amenability
to unlearning in quantum machine learning*, Nat. Commun. **17**, 3716 (2026).

**What the paper found**
- Under label flipping a classical network (MLP) memorises every label and its validation
  accuracy decays roughly linearly with the poisoned fraction α; a quantum neural network (QNN)
  does not memorise, keeps a plateau of high accuracy and collapses abruptly near α = 0.5.
- After poisoning, fine-tuning the QNN on the clean data matches retraining from scratch;
  the MLP lags behind.
- Poisoning sharpens the MLP's loss minimum, while the QNN's curvature barely changes.

Start in the **Poisoning playground**: pick a dataset and α, and train both models side by side.
The same engine runs headless: `python -m qml_core train --help`.
"""
)
st.page_link("pages/playground.py", label="Open the poisoning playground", icon="🧪")
