"""Layer 1, the data: MNIST digit pairs from the shipped copy, XXZ ground states by exact
diagonalisation, what measurements of those states give (probabilities, Pauli correlators,
classical shadows: the classical models' fair input), amplitude encoding, uploads of your own
data, and poisoning (label flipping, feature randomisation).

Imports from: specs, store.
"""
