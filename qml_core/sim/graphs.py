"""CUDA graphs of the executor's calls: each call shape's kernels captured once, then replayed.

A training step of the QNN issues hundreds of small kernels; on a GPU each launch (Python,
dispatcher, driver) costs more than its arithmetic (benchmarks/results/gpu.json: some 600
kernels, 11.5 ms a step). A CUDA graph replays the whole forward, and the whole reverse pass,
in one launch each. The shapes of a run are static (a training batch, the last smaller batch
of an epoch, the validation set), so a handful of graphs serve a whole run.
"""
from collections.abc import Callable

import torch


class GraphedCalls:
    """``calls(function, *tensors)`` runs ``function(*tensors)`` (tensors in, one tensor out, the
    same function at every call, no host synchronisation inside) as CUDA graphs: one forward
    graph and, where an input requires a gradient, one reverse graph
    per distinct (shapes, dtypes, which inputs need gradients), captured on first use with
    ``torch.cuda.make_graphed_callables``. A call copies its inputs into the graph's static
    buffers, replays it and returns a copy of the output (so a later call cannot overwrite it);
    autograd calls the reverse graph. Exact: the same kernels on the same numbers. The function
    is passed at each call, not kept: an executor's bound method kept here would make a cycle
    that holds the graphs' GPU memory until the garbage collector runs.

    Example (on a CUDA device)::

        calls = GraphedCalls()
        y = calls(torch.matmul, w, x)   # the first call of this shape captures, later ones replay
    """

    def __init__(self):
        self.graphs: dict[tuple, Callable] = {}

    @staticmethod
    def key(args: tuple[torch.Tensor, ...]) -> tuple:
        grad = torch.is_grad_enabled()
        return tuple((tuple(a.shape), a.dtype, a.device, grad and a.requires_grad) for a in args)

    def __call__(self, function: Callable[..., torch.Tensor], *args: torch.Tensor) -> torch.Tensor:
        key = self.key(args)
        graphed = self.graphs.get(key)
        if graphed is None:  # samples: fresh tensors, which become the graph's static inputs
            samples = tuple(a.detach().clone().requires_grad_(needs) for a, (*_, needs) in zip(args, key))
            graphed = self.graphs[key] = torch.cuda.make_graphed_callables(function, samples)
        return graphed(*args).clone()
