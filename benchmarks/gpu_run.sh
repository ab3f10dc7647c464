#!/bin/sh
# The GPU figures of issue 34 in one command that fits 10 minutes of device time: the versions,
# then benchmarks/bench_gpu.py (every section, prepare-lesson capped at 300 s) from empty result
# and data caches, its JSON written to $OUT/gpu.json (the device tool's returned folder), else
# to benchmarks/results/gpu.json.
#   sh benchmarks/gpu_run.sh
set -e
python -c "import torch, pennylane; print('torch', torch.__version__, 'pennylane', pennylane.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
python -c "import jax; print('jax', jax.__version__, jax.devices())" || echo "no jax: the W1 ratio will be missing"
QML_LAB_CACHE=$(mktemp -d) QML_LAB_DATA=$(mktemp -d)
export QML_LAB_CACHE QML_LAB_DATA
timeout 560 python benchmarks/bench_gpu.py --out "${OUT:-benchmarks/results}/gpu.json" --lesson-timeout 300
