"""Collapsed training runs: a run that ended finite but did not train (protocol §5: reported as
such, never silently dropped, never averaged with the runs that trained).

Two signatures, both seen with a learning rate far too large (``--lr 10``):

- a constant output: the model answers the same for every input (a dead MLP);
- a frozen loss: the training loss has not moved at all over the last half of the epochs and
  sits above ln 2 (worse than always answering 0.5): the outputs are saturated at 0 or 1, where
  the loss is clipped (torch clamps log p at -100, so each wrong sample costs exactly 100) and
  no gradient flows: the loss pinned at 15.0 on quick MNIST (15 % of the samples saturated on
  the wrong side) and at 50.0 on XXZ (accuracy at chance), or at its first epoch's value.

A collapsed result carries ``status`` "collapsed" and the reason in ``collapse``; a run that
trained has status "ok". Statistics (``phase``) count collapsed runs apart.
"""
import math

import numpy as np

COLLAPSE_STD = 1e-6  # predictions spread less than this: a constant output
FROZEN_RTOL = 1e-6  # a loss that moved less than this (relative) over the window did not move
CHANCE_LOSS = math.log(2)  # the loss of always answering 0.5
OK, COLLAPSED = "ok", "collapsed"


def collapse_reason(outputs, train_losses: list[float]) -> str:
    """Why a finished run collapsed, or "" if it trained.

    outputs: the model's probabilities on the training inputs (any shape; a tensor or array);
    train_losses: the training loss of each epoch (a result's ``history["train_loss"]``)."""
    p = np.asarray(outputs.detach().cpu() if hasattr(outputs, "detach") else outputs, dtype=np.float64).ravel()
    if p.size > 1 and p.std() < COLLAPSE_STD:
        return f"constant output ({p.mean():.3g} for every input)"
    window = list(train_losses)[-max(2, len(train_losses) // 2):]
    if len(window) >= 2:
        low, high = min(window), max(window)
        if low > CHANCE_LOSS and high - low <= FROZEN_RTOL * max(1.0, abs(high)):
            return (f"training loss frozen at {high:.4g} over the last {len(window)} epochs (above ln 2 = "
                    f"{CHANCE_LOSS:.3f}: outputs saturated at the clip, no gradient)")
    return ""


def collapse_status(outputs, train_losses: list[float]) -> dict:
    """{"status": "ok" | "collapsed", "collapse": reason or ""}: the fields a training result
    carries (``collapse_reason``)."""
    reason = collapse_reason(outputs, train_losses)
    return {"status": COLLAPSED if reason else OK, "collapse": reason}


def is_collapsed(row: dict) -> bool:
    """Whether a result or table row is of a collapsed run (rows without a status trained)."""
    return row.get("status", OK) == COLLAPSED


def collapsed_note(rows: list[dict], name=str) -> str:
    """One sentence for a page: how many of ``rows`` (results or sweep rows) collapsed, that they
    are kept out of the statistics, and the first one's reason; "" when none did. ``name``: a
    model id in words (a page passes ``figure_style.model_label``)."""
    collapsed = [row for row in rows if is_collapsed(row)]
    if not collapsed:
        return ""
    first = collapsed[0]
    where = f" (e.g. {name(first['model'])} at α = {first['alpha']:.2f}, seed {first['seed']})" if "seed" in first else ""
    return (f"{len(collapsed)} of {len(rows)} runs collapsed and are left out of the means and the critical α"
            f"{where}: {first['collapse']}.")
