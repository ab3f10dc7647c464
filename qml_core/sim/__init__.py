"""Layer 1, the simulator: the QNN circuit defined once in PennyLane, the fused torch executor
compiled from it (proved equal to ``default.qubit``), its state-vector kernels and adjoint
backward, its GPU path (dense layer unitaries, CUDA graphs), and the QNN's exact Hessian from
its gates.

Imports from: specs.
"""
