"""The two models compared: the QNN (on a chosen executor) and a dense MLP, and their
stacked forms, which hold R independently initialised runs of one architecture.

Both map a batch of inputs to probabilities p(label = 1), shape (batch,) (stacked: inputs
(R, batch, width) to (R, batch)), so that the same training loop and losses serve both.
"""
import torch
from torch import nn

from qml_core.sim.circuits import weight_shape
from qml_core.sim.device import QNNDevice, device_generator
from qml_core.sim.executor import FusedExecutor, make_executor
from qml_core.specs import MLPModel, QNNModel


class QNN(nn.Module):
    """p = sigmoid(5 <Z_{n-1}>) of the ansatz applied to the amplitude-encoded input.

    weights: (depth, n_qubits, k) float64, initialised N(0, 0.01²) from ``generator``. With
    shots or noise in the spec, <Z> is what the device reports (``device.QNNDevice``), its
    randomness drawn from a generator derived from the run's seed.
    """

    def __init__(self, spec: QNNModel, n_qubits: int, generator: torch.Generator, device=None):
        super().__init__()
        shape = weight_shape(spec.ansatz, spec.depth, n_qubits)
        init = 0.01 * torch.randn(shape, generator=generator, dtype=torch.float64)
        self.weights = nn.Parameter(init.to(device))
        dtype = torch.float32 if spec.precision == "single" else torch.float64
        self.executor = make_executor(spec.executor, spec.ansatz, spec.depth, n_qubits, device=device, dtype=dtype)
        self.spec = spec
        self.noise = device_generator(generator.initial_seed()) if spec.on_device else None
        self.device = QNNDevice(spec, self.executor, [self.noise]) if spec.on_device else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.device is not None:
            return torch.sigmoid(5.0 * self.device(self.weights[None], x[None])[0])
        return torch.sigmoid(5.0 * self.executor(self.weights, x))


def readout(z: torch.Tensor, bounded: bool) -> torch.Tensor:
    """p from a logit z: sigmoid(z), or with ``bounded`` the QNN's sigmoid(5·tanh z)."""
    return torch.sigmoid(5.0 * torch.tanh(z) if bounded else z)


class MLP(nn.Module):
    """Dense ReLU layers, sigmoid output (or the bounded readout of ``MLPModel.readout``);
    Glorot-uniform weights and zero biases (the Keras defaults of the paper's code), drawn
    from ``generator``."""

    def __init__(self, spec: MLPModel, n_inputs: int, generator: torch.Generator, device=None):
        super().__init__()
        self.bounded = spec.readout == "bounded"
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
        return readout(self.net(x).squeeze(-1), self.bounded)


def quadratic_form(x: torch.Tensor, basis: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
    """5·xᵀMx for M = Q diag(tanh s) Qᵀ, Q the orthonormalised ``basis`` (QR): x (..., batch, d),
    basis (..., d, r), strengths (..., r) -> (..., batch). |xᵀMx| ≤ |x|², so on unit-norm inputs
    the logit is bounded by 5, as the QNN's."""
    q = torch.linalg.qr(basis).Q
    return 5.0 * ((x @ q) ** 2 * torch.tanh(strengths).unsqueeze(-2)).sum(-1)


class QuadraticForm(nn.Module):
    """The QNN's function class as a classical model (``MLPModel.quadratic``): p =
    sigmoid(5·xᵀMx), M of rank r with eigenvalues in [−1, 1]. ``basis`` (d, r) starts
    Glorot-uniform, ``strengths`` (r,) at N(0, 0.01²), as the QNN's small angles: M ≈ 0, p ≈ 0.5."""

    def __init__(self, spec: MLPModel, n_inputs: int, generator: torch.Generator, device=None):
        super().__init__()
        bound = (6.0 / (n_inputs + spec.quadratic)) ** 0.5
        basis = (torch.rand(n_inputs, spec.quadratic, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        self.basis = nn.Parameter(basis.to(device))
        self.strengths = nn.Parameter((0.01 * torch.randn(spec.quadratic, generator=generator, dtype=torch.float64)).to(device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(quadratic_form(x, self.basis, self.strengths))


def build_model(spec: QNNModel | MLPModel, width: int, seed: int, device=None) -> nn.Module:
    """A freshly initialised model for inputs of ``width`` features (amplitudes for the QNN,
    the classical view for the MLP)."""
    generator = torch.Generator().manual_seed(seed)
    if isinstance(spec, QNNModel):
        return QNN(spec, width.bit_length() - 1, generator, device)
    if spec.quadratic:
        return QuadraticForm(spec, width, generator, device)
    return MLP(spec, width, generator, device)


class StackedQNN(nn.Module):
    """R QNNs of one architecture as one module: weights (R, *shape), stacked from the
    separately initialised ``models``; forward (R, batch, 2**n) -> (R, batch) on the fused
    executor's run axis (PennyLane devices take R = 1)."""

    def __init__(self, models: list[QNN]):
        super().__init__()
        self.weights = nn.Parameter(torch.stack([m.weights.detach() for m in models]))
        self.executor = models[0].executor
        if not isinstance(self.executor, FusedExecutor) and len(models) > 1:
            raise ValueError("only the fused executor trains several runs at once")
        spec = models[0].spec
        self.device = QNNDevice(spec, self.executor, [m.noise for m in models]) if spec.on_device else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.device is not None:
            return torch.sigmoid(5.0 * self.device(self.weights, x))
        if isinstance(self.executor, FusedExecutor):
            return torch.sigmoid(5.0 * self.executor(self.weights, x))
        return torch.sigmoid(5.0 * self.executor(self.weights[0], x[0]))[None]

    def run_params(self, run: int) -> dict:
        """Run ``run``'s parameters under the names a single QNN's state_dict uses."""
        return {"weights": self.weights[run].detach().cpu().numpy()}


class StackedLinear(torch.autograd.Function):
    """h W^T + b for every run at once: h (R, batch, in), W (R, out, in), b (R, out) ->
    (R, batch, out), with a reverse pass that takes the weight gradient as g^T h, (out, batch)
    times (batch, in), in the weight's own layout. Autograd's baddbmm backward forms it as
    h^T g, (in, out), and copies its transpose into place: for the 64 x 8192 first layer of an
    MLP on 8192 inputs that product alone took 4.5 ms a step against 1.3 ms (one thread).
    First derivatives only (the Hessians of §5 use the plain ``MLP``)."""

    @staticmethod
    def forward(ctx, h, weight, bias):
        ctx.save_for_backward(h, weight)
        return torch.baddbmm(bias.unsqueeze(1), h, weight.mT)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        h, weight = ctx.saved_tensors
        grad_h = g @ weight if ctx.needs_input_grad[0] else None
        grad_w = g.mT @ h if ctx.needs_input_grad[1] else None
        grad_b = g.sum(1) if ctx.needs_input_grad[2] else None
        return grad_h, grad_w, grad_b


class StackedMLP(nn.Module):
    """R MLPs of one architecture as one module (weights (R, out, in), biases (R, out) per
    layer, stacked from the separately initialised ``models``); forward (R, batch, width) ->
    (R, batch) with one batched product per layer."""

    def __init__(self, models: list[MLP]):
        super().__init__()
        self.names = list(models[0].state_dict())  # net.0.weight, net.0.bias, net.2.weight, ...
        self.tensors = nn.ParameterList(nn.Parameter(torch.stack([m.state_dict()[name] for m in models]))
                                        for name in self.names)
        self.columns: torch.Tensor | None = None
        self.bounded = models[0].bounded

    def read_only(self, columns: torch.Tensor) -> None:
        """From now on take inputs holding only these input ``columns`` (the others are zero in
        every sample: e.g. the imaginary half of real XXZ states, or the amplitudes outside
        their Sz = 0 sector). Exact: a zero input adds nothing to the first layer and gives its
        weights zero gradients, so Adam leaves them where they are; they are kept aside and
        only the used columns are trained. Call before making the optimizer."""
        first = self.tensors[0].detach()
        self.register_buffer("first_layer", first.clone())
        self.columns = columns
        self.tensors[0] = nn.Parameter(first[:, :, columns].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, layers = x, len(self.tensors) // 2
        for i in range(layers):
            h = StackedLinear.apply(h, self.tensors[2 * i], self.tensors[2 * i + 1])
            if i < layers - 1:
                h = torch.relu(h)
        return readout(h.squeeze(-1), self.bounded)

    def run_params(self, run: int) -> dict:
        tensors = [t[run].detach() for t in self.tensors]
        if self.columns is not None:
            first = self.first_layer[run].clone()
            first[:, self.columns] = tensors[0]
            tensors[0] = first
        return {name: t.cpu().numpy() for name, t in zip(self.names, tensors)}


class StackedQuadratic(nn.Module):
    """R ``QuadraticForm`` runs as one module: basis (R, d, r), strengths (R, r); forward
    (R, batch, d) -> (R, batch)."""

    def __init__(self, models: list[QuadraticForm]):
        super().__init__()
        self.basis = nn.Parameter(torch.stack([m.basis.detach() for m in models]))
        self.strengths = nn.Parameter(torch.stack([m.strengths.detach() for m in models]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(quadratic_form(x, self.basis, self.strengths))

    def run_params(self, run: int) -> dict:
        return {"basis": self.basis[run].detach().cpu().numpy(), "strengths": self.strengths[run].detach().cpu().numpy()}


def stack_models(models: list[nn.Module]) -> StackedQNN | StackedMLP | StackedQuadratic:
    """The stacked form of R freshly built models of one architecture."""
    if isinstance(models[0], QNN):
        return StackedQNN(models)
    return StackedQuadratic(models) if isinstance(models[0], QuadraticForm) else StackedMLP(models)
