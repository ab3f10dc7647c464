"""The QNN on a device's terms: finite shots, depolarising and readout noise, and the two
gradient estimators a shot-based device allows (docs/device.md has the derivations).

- Readout error q (the measured bit flipped with probability q) is exact: ⟨Z⟩ → (1 − 2q)⟨Z⟩.
- Depolarising noise p after every gate on each of its qubits runs as Monte-Carlo trajectories
  on the fused executor: each trajectory draws a Pauli (I with probability 1 − p, X, Y, Z with
  p/3 each) after each gate, pushes the entangler's Paulis to its layer's end (an X or Y flips
  the sign of each IsingZZ angle it passes) and folds them into the single-qubit products, so a
  trajectory costs one exact run. The mean of K trajectories is an unbiased estimate of the
  noisy ⟨Z⟩, and its gradient of the noisy gradient (the Pauli probabilities do not depend on θ).
- Shots S: each output is the mean of S ±1 outcomes with P(+1) = (1 + m)/2, unbiased for m
  with variance (1 − m²)/S.
- Training with shots, for every rotation gate exp(−iθG/2) (G² = 1, each parameter in one gate):
  m(θ_k ± π/2) = a_k ± g_k with g_k = ∂m/∂θ_k and a_k = (m(θ) + m(θ_k + π))/2.
  ``parameter-shift`` measures both shifted circuits with S shots each: component k of the loss
  gradient Σ_i w_i (m̂₊ − m̂₋)/2 (w_i = ∂L/∂m̂_i) has mean Σ_i w_i g_ik and variance
  V_k = Σ_i w_i² (1 − a_ik² − g_ik²) / (2S). ``fast`` adds to the exact adjoint gradient the noise
  sqrt(V̂_k) ξ_k, ξ_k ~ N(0, 1), with V̂_k = Σ_j w_j² · (1 − q̂_Ik)/(2S): sample I drawn with
  probability w_I²/Σ w_j² and q̂_Ik = a_Ik² + g_Ik² from one branch pass over that sample (with
  noise, a product of two independent trajectories' values, unbiased for the noisy square).
  E[V̂_k] = V_k, so each component has the reference's mean and variance exactly; components
  are independent in the reference and share I here, and the tails differ (a Gaussian scale
  mixture against a sum of binomials).
"""
import math
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.sim.executor import FusedExecutor
from qml_core.sim.statevector import evolve, layer, observable, readout
from qml_core.specs import QNNModel

DEVICE_STREAM = 11  # the device's random stream, apart from the poison set's, the init's and the hold-out's
BRANCH_SAMPLES = 1  # samples per run and step whose branch pass gives the fast estimator's variance (any
# number is unbiased; one costs least: on paper XXZ, 32 samples a step, four made the step 3.4x slower)
SHIFT_CHUNK = 64  # shifted circuits per executor call in the parameter-shift reference
TRAJECTORY_AMPLITUDES = 2 ** 20  # amplitudes of trajectory states per executor call (8 MiB in complex64)

# I, X, Y, Z; a Pauli's bits (x, z): I (0, 0), X (1, 0), Y (1, 1), Z (0, 1)
PAULIS = torch.tensor([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
                      dtype=torch.complex128)
X_BIT = torch.tensor([0, 1, 1, 0])
Z_BIT = torch.tensor([0, 0, 1, 1])
GENERATORS = {"RX": 1, "RY": 2}  # the Pauli G of each rotation exp(−iθG/2)


def device_generator(seed: int) -> torch.Generator:
    """The generator of a run's shots and trajectories, derived from its seed."""
    state = np.random.SeedSequence([seed, DEVICE_STREAM]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def sample_means(m: torch.Tensor, shots: int, generator: torch.Generator) -> torch.Tensor:
    """The mean of ``shots`` ±1 outcomes with P(+1) = (1 + m)/2, for every entry of m (drawn on
    the CPU, where the run's generator lives, and returned on m's device)."""
    prob = ((1 + m.detach()) / 2).clamp(0, 1).to("cpu", torch.float64)
    ups = torch.binomial(torch.full_like(prob, float(shots)), prob, generator=generator)
    return (2 * ups / shots - 1).to(m.device, m.dtype)


@dataclass(frozen=True)
class Trajectories:
    """Pauli insertions of ``runs`` noise trajectories, as the fused executor takes them:
    after_single (runs, depth, n, slots, 2, 2) after each single-qubit gate; before_layer
    (runs, depth, n, 2, 2), the Paulis the layer before left at its end; zz_sign (runs, depth,
    ring) ±1 per IsingZZ angle (an odd number of X or Y pushed through it); readout_sign
    (runs,) ±1 (an X or Y left on the readout qubit)."""
    after_single: torch.Tensor
    before_layer: torch.Tensor
    zz_sign: torch.Tensor
    readout_sign: torch.Tensor


def draw_paulis(p: float, shape: tuple, generator: torch.Generator) -> torch.Tensor:
    """Pauli indices: 0 with probability 1 − p, 1, 2, 3 with p/3 each."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    return torch.where(u < p, 1 + (3 * u / p).long().clamp(max=2), 0) if p > 0 else torch.zeros(shape, dtype=torch.long)


def sample_trajectories(executor: FusedExecutor, p: float, count: int, generator: torch.Generator) -> Trajectories:
    """``count`` trajectories of depolarising noise p after every gate of the executor's circuit
    (on each of the gate's qubits)."""
    depth, n = len(executor.layers), executor.n_qubits
    slots = len(executor.layers[0].single_names)
    rings = [[wires for _, wires, _ in layer_.entangler] for layer_ in executor.layers]
    single = draw_paulis(p, (count, depth, n, slots), generator)
    ring = draw_paulis(p, (count, depth, max(1, max(len(r) for r in rings)), 2), generator)
    x_end = torch.zeros(count, depth + 1, n, dtype=torch.long)
    z_end = torch.zeros(count, depth + 1, n, dtype=torch.long)
    zz_sign = torch.ones(count, depth, max(1, max(len(r) for r in rings)))
    for d, gates in enumerate(rings):
        x, z = torch.zeros(count, n, dtype=torch.long), torch.zeros(count, n, dtype=torch.long)
        for j, (a, b) in enumerate(gates):
            zz_sign[:, d, j] = 1 - 2 * ((x[:, a] + x[:, b]) % 2)
            for side, wire in enumerate((a, b)):
                x[:, wire] ^= X_BIT[ring[:, d, j, side]]
                z[:, wire] ^= Z_BIT[ring[:, d, j, side]]
        x_end[:, d + 1], z_end[:, d + 1] = x, z
    x_carried, z_carried = x_end[:, :depth], z_end[:, :depth]
    carried = x_carried + 3 * z_carried - 2 * x_carried * z_carried  # bits (x, z) -> index of I, X, Y, Z
    return Trajectories(after_single=PAULIS[single], before_layer=PAULIS[carried],
                        zz_sign=zz_sign.double(),
                        readout_sign=(1 - 2 * x_end[:, depth, n - 1]).double())


def concat(parts: list[Trajectories]) -> Trajectories:
    """The trajectories of several runs, one after the other on the run axis."""
    return Trajectories(*(torch.cat([getattr(t, name) for t in parts]) for name in Trajectories.__dataclass_fields__))


def on_qubit(state: torch.Tensor, w: torch.Tensor, qubit: int, executor: FusedExecutor) -> torch.Tensor:
    """Each 2×2 matrix of w (V, 2, 2) applied to ``qubit`` of state (1, dim_a, batch, dim_c):
    (V, dim_a, batch, dim_c)."""
    n, n_a = executor.n_qubits, executor.n_a
    low = 2 ** (n_a - qubit - 1) * state.shape[2] * state.shape[3] if qubit < n_a else 2 ** (n - qubit - 1)
    flat = state.reshape(-1, 2, low)
    return torch.einsum("vij,ajb->vaib", w.to(state.dtype), flat).reshape(w.shape[0], *state.shape[1:])


def shift_halves(executor: FusedExecutor, weights: torch.Tensor, x: torch.Tensor,
                 paulis: Trajectories | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, g), each (batch, n_params), with m(θ_k ± π/2) = a_k ± g_k for every parameter k and
    input row of x (batch, 2**n), for one run's weights ``shape`` (and one trajectory ``paulis``).

    One forward pass, then per layer one branch pass: the state before the layer with the
    gate's Pauli G inserted (G ψ after gate k), run to the end; c = ⟨b|Z|b⟩ = m(θ_k + π) and
    A = ⟨b|Z|f⟩ (f the unbranched final state) give a = (m + c)/2 and g = −Im A. Parameters
    outside the readout's light cone have g = 0 and a = m."""
    ex = executor
    with torch.no_grad():
        flat = weights.reshape(1, -1).to(ex.dtype)
        u, zz = ex.gate_factors(flat.reshape(1, *ex.shape), paulis)
        us, ms = ex.assemble(u, zz)
        rotations = ex.slot_gates(flat, rotations_only=True)
        after = [paulis.after_single[..., s, :, :].to(ex.device, ex.cdtype) if paulis is not None else None
                 for s in range(len(rotations))]
        before = paulis.before_layer.to(ex.device, ex.cdtype) if paulis is not None else None
        sign = float(paulis.readout_sign[0]) if paulis is not None else 1.0
        batch = x.shape[0]
        state = x.reshape(1, batch, ex.dim_a, ex.dim_c).transpose(1, 2).to(ex.cdtype, memory_format=torch.contiguous_format)
        inputs = []
        for step, u_d, m_d in zip(ex.program, us, ms):
            inputs.append(state)
            state = layer(state, u_d, m_d, step)[0]
        final, r = state, ex.readout
        m = sign * readout(final, r)[0]  # (batch,)
        n_params = flat.shape[1]
        a = m[:, None].expand(batch, n_params).clone()
        g = torch.zeros(batch, n_params, dtype=m.dtype, device=m.device)
        tail = ex.split if 0 < ex.split < len(ex.program) else len(ex.program)
        if tail < len(ex.program):  # the observable of the executor's Heisenberg tail, shared by every branch
            tail_step = ex.program[tail]
            spare_a, spare_c = ex.dim_a >> tail_step.k_a, ex.dim_c >> tail_step.k_c
            r_cone = ex.readout.reshape(2 ** tail_step.k_a, spare_a, spare_c, 2 ** tail_step.k_c)[:, 0, 0, :]
            observable_ = observable(ex.program[tail:], r_cone, us[tail:], ms[tail:], tail_step.k_a, tail_step.k_c)[0]

            def cone_rows(state):  # (1, dim_a, rows, dim_c) -> (rows · slices, cone), as the tail reads it
                slices = state[0].reshape(2 ** tail_step.k_a, spare_a, -1, spare_c, 2 ** tail_step.k_c).permute(2, 1, 3, 0, 4)
                return slices.reshape(-1, 2 ** (tail_step.k_a + tail_step.k_c))
        names = ex.layers[0].single_names
        start = before[0] if before is not None else torch.eye(2, dtype=ex.cdtype, device=ex.device).expand(*u.shape[1:3], 2, 2)
        branched = []
        for s, name in enumerate(names):  # every qubit's gates per layer with G right after slot s's rotation
            prod = start
            for t in range(len(names)):
                gate = PAULIS[GENERATORS[name]].to(ex.device, ex.cdtype) @ rotations[t][0] if t == s else rotations[t][0]
                prod = (gate if after[t] is None else after[t][0] @ gate) @ prod
            branched.append(u[0].mH @ prod)  # applied before the layer, it turns u into the branched product
        branched = torch.stack(branched, 2)  # (depth, n_qubits, slots, 2, 2)
        for d, step in enumerate(ex.program):
            cone = list(range(step.k_a)) + list(range(ex.n_qubits - step.k_c, ex.n_qubits))
            params = [ex.single_index[d, cone].flatten().cpu()]
            branches = []
            if cone:
                bank = torch.cat([on_qubit(inputs[d], branched[d, q], q, ex) for q in cone])
                bank = bank.permute(1, 0, 2, 3).reshape(1, ex.dim_a, -1, ex.dim_c)
                branches.append(layer(bank, us[d], ms[d], step)[0])
            kept = ex.kept_counts[d] if d < len(ex.program) - 1 else 0
            if kept:
                after_layer = inputs[d + 1] if d + 1 < len(inputs) else final
                patterns = ex.zz_signs[d, :kept].reshape(kept, ex.dim_a, 1, ex.dim_c).to(ex.cdtype)
                if paulis is not None:  # the Paulis pushed through the gate sit after Z_iZ_j here, before it in time
                    moved = torch.gather(paulis.zz_sign[0, d].to(ex.device), 0, ex.phase_position[d, :kept])
                    patterns = patterns * moved.reshape(kept, 1, 1, 1).to(ex.cdtype)
                zz_bank = (patterns * after_layer[0][None]).permute(1, 0, 2, 3).reshape(1, ex.dim_a, -1, ex.dim_c)
                branches.append(zz_bank)
                params.append(ex.phase_index[d, :kept].cpu())
            if not branches:
                continue
            index = torch.cat(params)
            v = len(index)
            bank = torch.cat(branches, 2)
            if d < tail < len(ex.program):  # to the executor's split, then x† O y on the tail's light cone
                bank = evolve(bank, ex.program[d + 1:tail], us[d + 1:tail], ms[d + 1:tail])
                rows_b, rows_f = cone_rows(bank), cone_rows(inputs[tail])
                rows_f = rows_f.reshape(1, batch, -1, rows_f.shape[-1])
                applied = (rows_b @ observable_.mT).reshape(v, batch, -1, rows_b.shape[-1])
                rows_b = rows_b.reshape(v, batch, -1, rows_b.shape[-1])
                c = sign * (rows_b.conj() * applied).real.sum((2, 3))
                amp = sign * (applied.conj() * rows_f).sum((2, 3))  # O Hermitian: <b|O|f> = conj(O b) . f
            else:
                bank = evolve(bank, ex.program[d + 1:], us[d + 1:], ms[d + 1:]).reshape(ex.dim_a, v, batch, ex.dim_c)
                c = sign * (bank.real.square() + bank.imag.square()).mul(r[:, None, None, :]).sum((0, 3))
                amp = sign * (bank.conj() * (r[:, None, :] * final[0])[:, None]).sum((0, 3))
            a[:, index] = ((m[None] + c) / 2).T.to(a.dtype)
            g[:, index] = (-amp.imag).T.to(g.dtype)
        return a, g


class QNNDevice:
    """The fused executor as a device with the settings of a ``QNNModel``: call it with weights
    (R, *shape) and x (R, batch, 2**n) for R runs, each drawing its noise from its own generator
    (``generators``, one per run, so that a run gives the same numbers alone or stacked);
    returns the (R, batch) outputs the device would report, differentiable (with shots, by the
    spec's ``gradient`` estimator).

    Example::

        ex = FusedExecutor("paper", depth=2, n_qubits=4)
        dev = QNNDevice(QNNModel(depth=2, shots=1000), ex, [device_generator(0)])
        z = dev(torch.zeros(1, *ex.shape, dtype=torch.float64), torch.eye(16, dtype=torch.float64)[None, :3])
    """

    def __init__(self, spec: QNNModel, executor: FusedExecutor, generators: list[torch.Generator]):
        if not isinstance(executor, FusedExecutor):
            raise ValueError("a QNN device runs on the fused executor")
        self.spec, self.executor, self.generators = spec, executor, generators
        self.contrast = 1.0 - 2.0 * spec.readout_error  # readout error: <Z> -> (1 - 2q) <Z>

    def trajectories(self, run: int, count: int) -> Trajectories:
        return sample_trajectories(self.executor, self.spec.depolarizing, count, self.generators[run])

    def expectation(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The noisy <Z> (exact, or the mean of K trajectories) times the readout contrast."""
        if self.spec.depolarizing == 0:
            z = self.executor(weights, x)
        else:
            runs, k = weights.shape[0], self.spec.trajectories
            drawn = [self.trajectories(r, k) for r in range(runs)]
            # a few trajectories per executor call, so that their states stay cache-sized
            chunk = max(1, TRAJECTORY_AMPLITUDES // (runs * x.shape[1] * x.shape[2]))
            parts = []
            for start in range(0, k, chunk):
                size = min(chunk, k - start)
                paulis = concat([Trajectories(*(getattr(t, f)[start:start + size] for f in Trajectories.__dataclass_fields__))
                                 for t in drawn])
                # one run: its inputs as a stride-0 view, copied once, into the executor's layout
                xs = x.expand(size, *x.shape[1:]) if runs == 1 else x.repeat_interleave(size, 0)
                z = self.executor(weights.repeat_interleave(size, 0), xs, paulis)
                parts.append((z * paulis.readout_sign[:, None].to(z.device, z.dtype)).reshape(runs, size, -1))
            z = torch.cat(parts, 1).mean(1)
        return z * self.contrast if self.contrast != 1.0 else z

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        m = self.expectation(weights, x)
        if self.spec.shots is None:
            return m
        return ShotSample.apply(m, weights, x, self)

    def sample(self, m: torch.Tensor) -> torch.Tensor:
        """Shot means for m (R, ...), run r from its own generator."""
        return torch.stack([sample_means(m[r], self.spec.shots, self.generators[r]) for r in range(m.shape[0])])

    def fast_noise(self, weights: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The fast estimator's noise on the weights' gradient (R, *shape) for dL/dm̂ = w (R, batch)."""
        noise = torch.zeros(weights.shape[0], weights[0].numel(), dtype=torch.float64)
        for r in range(weights.shape[0]):
            w2 = w[r].detach().to("cpu", torch.float64).square()  # drawn with the run's CPU generator
            total = float(w2.sum())
            if total == 0:
                continue
            gen = self.generators[r]
            picks = torch.multinomial(w2 / total, BRANCH_SAMPLES, replacement=True, generator=gen)
            squares = self.shifted_squares(weights[r], x[r, picks.to(x.device)], r)
            variance = total * (1 - squares).mean(0).clamp(min=0).cpu() / (2 * self.spec.shots)
            noise[r] = variance.sqrt() * torch.randn(variance.shape, generator=gen, dtype=torch.float64)
        return noise.reshape(weights.shape).to(weights.device, weights.dtype)

    def shifted_squares(self, weights: torch.Tensor, x: torch.Tensor, run: int) -> torch.Tensor:
        """(batch, n_params), unbiased for (m̃(θ_k + π/2)² + m̃(θ_k − π/2)²)/2 of the noisy device:
        a² + g² exactly without depolarising noise, else a₁a₂ + g₁g₂ from two independent
        trajectories (E[m₁m₂] = E[m]²)."""
        if self.spec.depolarizing == 0:
            a, g = shift_halves(self.executor, weights, x)
            squares = a.square() + g.square()
        else:
            (a1, g1), (a2, g2) = (shift_halves(self.executor, weights, x, self.trajectories(run, 1)) for _ in range(2))
            squares = a1 * a2 + g1 * g2
        return self.contrast ** 2 * squares

    def shift_gradient(self, weights: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The parameter-shift reference: every shifted circuit of every sample measured with S
        shots, Σ_i w_i (m̂₊ − m̂₋)/2 per parameter: (R, *shape)."""
        runs, n_params = weights.shape[0], weights[0].numel()
        grad = torch.zeros(runs, n_params, dtype=torch.float64)
        with torch.no_grad():
            for r in range(runs):
                for start in range(0, n_params, SHIFT_CHUNK):
                    index = torch.arange(start, min(start + SHIFT_CHUNK, n_params))
                    shift = torch.zeros(len(index), n_params, dtype=weights.dtype, device=weights.device)
                    shift[torch.arange(len(index)), index] = math.pi / 2
                    shift = shift.reshape(len(index), *weights.shape[1:])
                    both = torch.cat([weights[r][None] + shift, weights[r][None] - shift])
                    device = QNNDevice(self.spec, self.executor, [self.generators[r]] * len(both))
                    m = device.sample(device.expectation(both, x[r][None].expand(len(both), -1, -1)))
                    halves = (m[:len(index)] - m[len(index):]) / 2  # (chunk, batch)
                    grad[r, index] = (halves.to("cpu", torch.float64) @ w[r].detach().to("cpu", torch.float64))
        return grad.reshape(weights.shape).to(weights.device, weights.dtype)


class ShotSample(torch.autograd.Function):
    """Forward: the shot means of m. Backward: the spec's gradient estimator. ``fast`` passes
    dL/dm̂ on to m (the exact adjoint gradient of the expectation) and adds its noise to the
    weights' gradient; ``parameter-shift`` gives m nothing and the weights the reference's
    estimate. Call as ``ShotSample.apply(m, weights, x, device)``."""

    @staticmethod
    def forward(ctx, m, weights, x, device):
        ctx.save_for_backward(weights, x)
        ctx.device = device
        return device.sample(m)

    @staticmethod
    def backward(ctx, w):
        weights, x = ctx.saved_tensors
        device = ctx.device
        if device.spec.shot_gradient == "fast":
            return w, device.fast_noise(weights, x, w), None, None
        return torch.zeros_like(w), device.shift_gradient(weights, x, w), None, None
