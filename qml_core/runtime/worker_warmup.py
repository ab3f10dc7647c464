"""Imported once by the jobs' fork server (multiprocessing's preload runs imports only), so that
what every job would load again is in memory before a worker is forked, and shared with it
copy-on-write: the shipped MNIST arrays, decompressed (0.4 s a job, measured; a phase diagram
forks 100 jobs)."""
from qml_core.data.mnist import mnist_arrays

mnist_arrays()
