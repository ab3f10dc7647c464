"""Digests of quick MNIST and XXZ QNN runs (alone and stacked), to compare two commits bit for
bit: with shots unset and no noise the device code must leave every number as it was.

    git archive 58f2776 | tar -x -C /tmp/base && (cd /tmp/base && PYTHONPATH=. python /path/to/this)
    PYTHONPATH=. python benchmarks/device_exact_check.py      # the same four digests
"""
import dataclasses
import hashlib
import json

import torch

from qml_core.experiments.experiment import train_experiment, train_experiments
from qml_core.specs import preset


def main() -> None:
    torch.set_num_threads(1)
    out = {}
    for dataset in ("mnist", "xxz"):
        spec = preset("quick", dataset, "qnn").replace(alpha=0.3, seed=3)
        spec = spec.replace(training=dataclasses.replace(spec.training, epochs=5))
        alone = train_experiment(spec, device="cpu")
        out[dataset] = hashlib.sha256(json.dumps(alone["history"]["val_loss"]).encode()
                                      + alone["params"]["weights"].tobytes()).hexdigest()[:16]
        stacked = train_experiments([spec, spec.replace(seed=4)], device="cpu")
        out[dataset + "_stacked"] = hashlib.sha256(b"".join(r["params"]["weights"].tobytes() for r in stacked)).hexdigest()[:16]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
