"""The example scripts run end to end at the quick preset and write their figures."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script, args", [
    ("train_qnn_vs_mlp.py", ["--alpha", "0.3"]),
    ("phase_diagram.py", ["--alphas", "0,0.3,0.6", "--runs", "1"]),
])
def test_example_runs_and_writes_its_figure(script, args, tmp_path, private_cache):
    out = tmp_path / "figure.html"
    env = {**os.environ, "QML_LAB_CACHE": str(private_cache)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args, "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 10_000 and "plotly" in out.read_text()[:100_000]
    assert f"figure: {out}" in done.stdout
