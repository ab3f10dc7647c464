"""What measuring classical shadows for a set of runs will cost, and measuring them first.

``--snapshots 100000`` on the paper XXZ states sat at "train: 0/400" with no word for what
would be hours (about 600 snapshots a second of a 12-qubit state). Before such runs start, a
caller asks ``shadow_work`` what is still to measure, refuses with ``check_shadow_time`` a
measurement expected to take longer than ``rates.BIG_SECONDS`` (as a big request of runs
asks first) unless told to go on, and measures each dataset's states first, with progress
(``measure_datasets``). A run's own feature-noise states are measured in the run, which
reports them to its progress callback (``experiment.prepare``).

Example::

    work = shadow_work(specs)
    check_shadow_time(work, go_on=False)       # SpecError naming the time and the way out
    measure_datasets(work, lambda item: None)
"""
from collections.abc import Callable
from dataclasses import dataclass

from qml_core.data import measurements
from qml_core.data.measurements import MeasureProgress, features_file, stored_features
from qml_core.data.poison import poison_count
from qml_core.runtime.rates import BIG_SECONDS, duration
from qml_core.specs import ExperimentSpec, SpecError, XXZData
from qml_core.store.cache import lookup


@dataclass(frozen=True)
class ShadowWork:
    """Shadows still to measure of one dataset at one snapshot count: ``states`` in all, the
    dataset's own ``dataset_states`` (0 when stored) and the replaced states of its
    feature-noise runs."""
    data: XXZData
    snapshots: int
    states: int
    dataset_states: int

    def seconds(self) -> float:
        return measurements.shadow_seconds(self.states, self.data.spins, self.snapshots)


def shadow_work(specs: list[ExperimentSpec]) -> list[ShadowWork]:
    """The shadows the runs of ``specs`` not in the cache will measure, per stored features
    file (one dataset's states at one snapshot count), in first-seen order."""
    from qml_core.data.xxz import load_xxz

    work: dict[str, ShadowWork] = {}
    n_train: dict[str, int] = {}
    for spec in specs:
        if getattr(spec.model, "features", None) != "shadows" or lookup("train", spec) is not None:
            continue
        data, snapshots = spec.data, spec.model.snapshots
        key = str(features_file(data, "shadows", snapshots))
        if key not in work:
            xxz = load_xxz(n_spins=data.spins, n_grid=data.n_grid, window=data.window, layout=data.layout)
            own = 0 if stored_features(data, "shadows", snapshots) is not None else len(xxz.deltas)
            work[key], n_train[key] = ShadowWork(data, snapshots, own, own), int(xxz.train_mask.sum())
        replaced = poison_count(n_train[key], spec.alpha, spec.attack) if spec.attack == "feature-noise" else 0
        item = work[key]
        work[key] = ShadowWork(item.data, item.snapshots, item.states + replaced, item.dataset_states)
    return [item for item in work.values() if item.states]


def check_shadow_time(work: list[ShadowWork], go_on: bool, how: str = "add --yes") -> float:
    """The seconds measuring ``work`` should take here; SpecError in one line when that is more
    than BIG_SECONDS and not ``go_on``: how long, at what measured rate, and the two ways on
    (``how``, or fewer snapshots: as many as fit in BIG_SECONDS)."""
    seconds = sum(item.seconds() for item in work)
    if seconds <= BIG_SECONDS or go_on:
        return seconds
    item = max(work, key=ShadowWork.seconds)
    rate = measurements.snapshot_rate(item.data.spins)
    states = sum(i.states for i in work)
    fits = int(BIG_SECONDS * rate / states)
    fits -= fits % 10 ** (len(str(fits)) - 1)  # rounded down to one significant digit, a number a person types
    fewer = f"--snapshots {fits}" if fits >= 1 else "fewer runs"
    raise SpecError(f"measuring {item.snapshots:,} classical-shadow snapshots of each of {states} XXZ states would "
                    f"take about {duration(seconds)} here ({rate:,.0f} snapshots/s measured on {item.data.spins} "
                    f"qubits); {how} to measure them anyway, or use {fewer} (under {duration(BIG_SECONDS)})")


def measure_datasets(work: list[ShadowWork], progress: Callable[[ShadowWork], MeasureProgress | None]) -> None:
    """Measure and store each dataset's own shadows of ``work``, reporting each state to
    ``progress(item)`` (a ``measure`` callback per item, or None)."""
    from qml_core.data.measurements import xxz_features

    for item in work:
        if item.dataset_states:
            xxz_features(item.data, "shadows", item.snapshots, progress(item))
