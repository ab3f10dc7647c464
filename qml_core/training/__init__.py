"""Layer 2, training: the QNN and MLP torch modules (plain or stacked on a run axis) and the
one Adam loop every experiment and unlearning method trains with.

Imports from: specs, sim.
"""
