"""Layer 4, the science: running a spec (cached), batched sweeps, unlearning, Hessian
curvature and loss landscapes, phase-diagram statistics, the §6 claims, capacity controls, the
fair baselines on quantum data (classical models on measurements), collapse detection and what
the data pages show.

Imports from: specs, store, data, sim, training, runtime.
"""
