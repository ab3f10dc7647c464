"""Download buttons for the data behind a figure: CSV for tables, JSON for everything."""
import csv
import io
import json

import numpy as np
import streamlit as st


def plain(value):
    """JSON-ready copy: numpy arrays and scalars become lists and numbers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def buttons(name: str, data, rows: list[dict] | None = None) -> None:
    """A JSON button for ``data`` and, if given, a CSV button for the flat ``rows``."""
    left, right = st.columns(2)
    left.download_button(f"⬇ {name}.json", json.dumps(plain(data), indent=1), f"{name}.json", "application/json",
                         key=f"download-{name}-json", use_container_width=True)
    if rows:
        right.download_button(f"⬇ {name}.csv", to_csv(plain(rows)), f"{name}.csv", "text/csv",
                              key=f"download-{name}-csv", use_container_width=True)
