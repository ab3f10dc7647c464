"""The two models compared: the QNN (on a chosen executor) and a dense MLP.

Both map a batch of inputs to probabilities p(label = 1), shape (batch,), so that the same
training loop and losses serve both.
"""
import torch
from torch import nn

from .circuits import weight_shape
from .executor import make_executor
from .specs import MLPModel, QNNModel


class QNN(nn.Module):
    """p = sigmoid(5 <Z_{n-1}>) of the ansatz applied to the amplitude-encoded input.

    weights: (depth, n_qubits, k) float64, initialised N(0, 0.01²) from ``generator``.
    """

    def __init__(self, spec: QNNModel, n_qubits: int, generator: torch.Generator, device=None):
        super().__init__()
        shape = weight_shape(spec.ansatz, spec.depth, n_qubits)
        init = 0.01 * torch.randn(shape, generator=generator, dtype=torch.float64)
        self.weights = nn.Parameter(init.to(device))
        self.executor = make_executor(spec.executor, spec.ansatz, spec.depth, n_qubits, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(5.0 * self.executor(self.weights, x))


class MLP(nn.Module):
    """Dense ReLU layers, sigmoid output; Glorot-uniform weights and zero biases (the Keras
    defaults of the paper's code), drawn from ``generator``."""

    def __init__(self, spec: MLPModel, n_inputs: int, generator: torch.Generator, device=None):
        super().__init__()
        sizes = (n_inputs, *spec.hidden, 1)
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            linear = nn.Linear(fan_in, fan_out, dtype=torch.float64)
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            with torch.no_grad():
                linear.weight.copy_((torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound)
                linear.bias.zero_()
            layers += [linear, nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1]).to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x).squeeze(-1))


def build_model(spec: QNNModel | MLPModel, width: int, seed: int, device=None) -> nn.Module:
    """A freshly initialised model for inputs of ``width`` features (amplitudes for the QNN,
    the classical view for the MLP)."""
    generator = torch.Generator().manual_seed(seed)
    if isinstance(spec, QNNModel):
        return QNN(spec, width.bit_length() - 1, generator, device)
    return MLP(spec, width, generator, device)
