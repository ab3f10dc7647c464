"""The quick-preset reproduction end to end: every figure and every §6 claim in the report, the
raw data beside it, and a second run answered from the cache."""
import csv
import json
import os
import pathlib
import re
import runpy
import subprocess
import sys

import pytest

from qml_core.reporting.reproduce import PLANS, curvature_jobs, landscape_jobs, poisoning_jobs, unlearning_jobs

FIGURE_TITLES = [  # (title fragment, how many figures carry it)
    ("MNIST 1 vs 9, label flipping: accuracy vs α", 1), ("MNIST 1 vs 9, feature randomisation: accuracy vs α", 1),
    ("XXZ ground states, label flipping: accuracy vs α", 1), ("XXZ ground states, feature randomisation: accuracy vs α", 1),
    ("validation accuracy per epoch", 2), ("final metrics", 4), ("every method against retraining", 1),
    ("Hessian eigenvalue spectra", 1), ("Trace ratio", 1), ("from the clean (t=0) to the poisoned", 2),
    ("2-D slice of the held-out loss", 2), ("is it quantum or capacity?", 2),
    ("the QNN against classical models on measurements", 1), ("held-out trace ratio poisoned / clean, every model", 2)]
CLAIM_KEYS = {"mlp-memorises", "mlp-linear-decay", "qnn-no-memorisation", "qnn-plateau", "qnn-collapse",
              "feature-vs-label", "mlp-unlearning-lags", "qnn-unlearning-matches", "mlp-sharpens", "qnn-flat",
              "qnn-beats-measured", "plateau-quantum", "unlearning-quantum", "flatness-quantum"}


def test_quick_plan_covers_both_datasets_models_and_attacks():
    plan = PLANS["quick"]
    jobs = poisoning_jobs(plan)
    assert {(s.data.name, s.model.name, s.attack) for _, s in jobs} == {
        (d, m, a) for d in ("mnist", "xxz") for m in ("qnn", "mlp") for a in ("label-flip", "feature-noise")}
    assert len(jobs) == 8 * len(plan.alphas) * plan.runs
    assert {(d, m, method) for d, m, method, _, _ in unlearning_jobs(plan)} == {
        (d, m, method) for d in ("mnist", "xxz") for m in ("qnn", "mlp") for method in ("retrain", "finetune", "scrub", "grad-ascent")}
    assert {(j.model, j.alpha) for j in curvature_jobs(plan)} == {(m, a) for m in ("qnn", "mlp") for a in (0.0, *plan.curvature_alphas)}
    assert {(s.model, s.kind) for s in landscape_jobs(plan)} == {(m, k) for m in ("qnn", "mlp") for k in ("interpolate", "slice2d")}


def reproduce_quick(code: pathlib.Path, cache: pathlib.Path, out: pathlib.Path) -> None:
    """The CLI in a subprocess run from a snapshot of qml_core: the code version (part of every
    cache key) cannot change between the two runs even while the tree is being edited."""
    env = {**os.environ, "QML_LAB_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-m", "qml_core", "reproduce", "--preset", "quick", "--out", str(out),
                           "--jobs", "2", "--quiet"], cwd=code, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_quick_reproduction_report_has_every_figure_and_claim(tmp_path, code_snapshot, private_cache):
    out = tmp_path / "report"
    reproduce_quick(code_snapshot, private_cache, out)
    page = (out / "report.html").read_text()
    assert page.count("<script type='text/javascript'>") == 1 and "include_plotlyjs" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # self-contained: no script loaded from elsewhere
    titles = re.findall(r"data-title='([^']*)'", page)
    for fragment, count in FIGURE_TITLES:
        assert sum(fragment in t for t in titles) == count, fragment
    assert len(titles) == sum(count for _, count in FIGURE_TITLES)
    claims = json.loads((out / "claims.json").read_text())
    assert {c["key"] for c in claims} == CLAIM_KEYS
    # poisoning and unlearning per dataset, landscape (MNIST), fair (XXZ), claims 1, 2 and 3 with controls per dataset
    assert len(claims) == 6 * 2 + 2 * 2 + 2 + 1 + 3 * 2
    for claim in claims:
        assert claim["measured"] and isinstance(claim["holds"], bool)
        assert claim["claim"].replace("'", "&#x27;") in page
    assert page.count("class='verdict'") == len(claims)
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings) == {"poisoning", "unlearning", "landscape", "controls", "fair", "claims-controls"}
    assert page.count("class='finding'") == 3 and "models keep validation accuracy" in page  # the controls, in words
    assert "the best classical model on measurements" in page  # the fair baselines, in words
    with (out / "poisoning.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(poisoning_jobs(PLANS["quick"]))
    for name in ("poisoning_summary.csv", "critical_alpha.csv", "unlearning.csv", "unlearning_summary.csv",
                 "hessian.csv", "trace_ratios.csv", "results.json", "capacity_mnist.csv", "capacity_xxz.csv",
                 "capacity_xxz_measured.csv", "unlearn_controls_mnist.csv", "curvature_controls_xxz.csv"):
        assert (out / name).stat().st_size > 0, name

    reproduce_quick(code_snapshot, private_cache, tmp_path / "again")
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert all(r["cached"] for r in again["poisoning"]["rows"])
    # nothing is recomputed; what is left is the workers' start-up and reading (a few seconds)
    assert sum(again["timings"].values()) < 0.5 * sum(timings.values())
    assert again["claims"] == claims

    figure_times = runpy.run_path(str(pathlib.Path(__file__).parent.parent / "benchmarks" / "figure_times.py"))["figure_times"]
    table = figure_times(json.loads((out / "results.json").read_text()))
    assert sum(r["runs"] for r in table if r["group"] == "poisoning") == len(rows)
    for group, wall in timings.items():  # the group's wall time, split over its figures
        shares = [r["wall_s"] for r in table if r["group"] == group]
        assert shares and sum(shares) == pytest.approx(wall, abs=0.1 * len(shares))


def test_the_device_group_runs_the_table_and_the_report_says_what_it_found(tmp_path, monkeypatch, private_cache):
    """``reproduce --figures device`` on a tiny plan: every table cell on both datasets, the rows
    in device.csv and the report's section with its finding; ``all`` leaves the group out."""
    import dataclasses

    from qml_core.experiments.devices import TABLE_SETTINGS
    from qml_core.reporting import reproduce as repro
    from qml_core.reporting.report import write_outputs

    assert "device" in repro.GROUPS and "device" not in repro.ALL_GROUPS
    tiny = dataclasses.replace(PLANS["quick"], device_alphas=(0.0, 0.5), device_trajectories=2)
    monkeypatch.setitem(repro.PLANS, "quick", tiny)
    results = repro.reproduce("quick", "device")
    rows = results["device"]
    assert len(rows) == 2 * len(TABLE_SETTINGS) * 2  # datasets x settings x alphas, one run
    assert {(r["shots"], r["depolarizing"]) for r in rows} == {(s or "exact", p) for s, p in TABLE_SETTINGS}
    assert all(0.0 <= r["val_acc"] <= 1.0 for r in rows)
    write_outputs(results, tmp_path)
    assert len(list(csv.DictReader((tmp_path / "device.csv").open()))) == len(rows)
    page = (tmp_path / "report.html").read_text()
    assert "Does the resilience survive a device?" in page and "1000 shots" in page
