"""Which experiment specs a playground user is likely to ask for next, so that they can be
computed in the background while the view is idle and a move answers from the cache.

From a view at α the next request is most often one slider step away (α + step first: users
drag towards the collapse, then back), or the other attack at the same α.
"""
from qml_core.specs import ATTACKS, ExperimentSpec


def neighbours(spec: ExperimentSpec, step: float = 0.1, low: float = 0.0, high: float = 0.9) -> list[ExperimentSpec]:
    """The specs one move away from ``spec``, most likely first: α + step, α − step (those
    within [low, high], the slider's range) and the other attack at α; the rest unchanged.
    α is rounded to 4 decimals, as the slider and the phase grid give it (0.2 + 0.1 would
    otherwise be 0.30000000000000004, a different cache key)."""
    alphas = [round(spec.alpha + step, 4), round(spec.alpha - step, 4)]
    moves = [spec.replace(alpha=a) for a in alphas if low <= a <= high]
    return moves + [spec.replace(attack=a) for a in ATTACKS if a != spec.attack]


def likely_next(specs: list[ExperimentSpec], **slider) -> list[ExperimentSpec]:
    """The neighbours of a view made of several specs (one per model), interleaved so that
    every next view's specs come together: [α+step of each spec, α−step of each, …].
    ``slider``: ``step``, ``low``, ``high`` as for ``neighbours``."""
    return [spec for view in zip(*(neighbours(s, **slider) for s in specs)) for spec in view]
