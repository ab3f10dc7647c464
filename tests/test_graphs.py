"""The CUDA-graph cache of the executor's calls: one capture per call shape and gradient need,
an output that a later call cannot overwrite. The capture itself needs a GPU
(``benchmarks/bench_gpu.py`` checks it there); here torch's capture is replaced by a stand-in
that, like a graph, writes every call's result into one static buffer."""
import torch

from qml_core.sim.graphs import GraphedCalls


def test_one_capture_per_shape_and_gradient_need_and_outputs_are_copies(monkeypatch):
    captured = []

    def capture(function, samples):
        captured.append(tuple((tuple(s.shape), s.requires_grad) for s in samples))
        static = function(*samples).detach().clone()

        def replay(*args):
            static.copy_(function(*args).detach())
            return static
        return replay

    monkeypatch.setattr(torch.cuda, "make_graphed_callables", capture)
    calls = GraphedCalls()
    w = torch.ones(3, requires_grad=True)
    first = calls(torch.mul, w, torch.full((3,), 2.0))
    second = calls(torch.mul, w, torch.full((3,), 5.0))
    assert torch.equal(first, torch.full((3,), 2.0)) and torch.equal(second, torch.full((3,), 5.0))
    with torch.no_grad():
        calls(torch.mul, w, torch.ones(3))
    calls(torch.mul, w, torch.ones(2, 3))
    assert captured == [(((3,), True), ((3,), False)), (((3,), False), ((3,), False)), (((3,), True), ((2, 3), False))]
    assert len(calls.graphs) == 3
