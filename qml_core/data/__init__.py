"""Layer 1, the data: MNIST digit pairs from the shipped copy, XXZ ground states by exact
diagonalisation, amplitude encoding, uploads of your own data, and poisoning (label flipping,
feature randomisation).

Imports from: specs, store.
"""
