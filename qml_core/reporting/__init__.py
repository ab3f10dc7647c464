"""Layer 5, what people look at: pure plotly figure builders and their shared style, captions
computed from the numbers they sit next to, the one-command reproduction and its HTML report.

Imports from: specs, store, runtime, experiments.
"""
