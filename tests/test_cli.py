"""The command line: one-line errors, JSON answers, cached repeats, sweeps."""
import csv
import json
import subprocess
import sys

import pytest

from qml_core.cli.main import main

TINY = ["--n-train-per-class", "8", "--n-val", "16", "--epochs", "2", "--batch-size", "8"]


def run_cli(*args, env_cache):
    env = {"QML_LAB_CACHE": str(env_cache), "PATH": "/usr/bin:/bin", "PYTHONPATH": "."}
    return subprocess.run([sys.executable, "-m", "qml_core", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "1.2"], "alpha must be a number in [0.0, 1.0)"),
    (["--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["--dataset", "xxz", "--spins", "30"], "spins must be one of (6, 8, 10, 12)"),
    (["--shots", "0"], "shots must be an integer in 1..10000000"),
    (["--depolarizing", "1.5"], "depolarizing must be a number in [0.0, 1.0]"),
    (["--depolarizing", "0.01", "--trajectories", "0"], "trajectories must be an integer in 1..1024"),
    (["--readout-error", "0.7"], "readout_error must be a number in [0.0, 0.5]"),
    (["--model", "mlp", "--shots", "100"], "--shots does not apply to --model mlp"),
    (["--epochs", "0"], "epochs must be an integer in 1..10000"),
    (["--digits", "3,3"], "digits must be two different digits"),
    (["--digits", "a,b"], "expected comma-separated integers"),
    (["--spins", "8"], "--spins does not apply to dataset mnist"),
])
def test_bad_input_is_one_line_without_traceback(args, needle, private_cache):
    out = run_cli("train", *args, env_cache=private_cache)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


def test_train_json_then_cached(private_cache, capsys):
    args = ["train", "--model", "mlp", "--hidden", "4", "--alpha", "0.25", *TINY, "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert {"train_acc", "val_acc", "seconds", "cached"} <= set(first) and first["cached"] is False
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["cached"] is True and second["val_acc"] == first["val_acc"]


def test_sweep_writes_rows_and_resumes(private_cache, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    args = ["sweep", "--models", "qnn,mlp", "--depth", "1", "--hidden", "4", "--alphas", "0:0.2:0.2", "--runs", "2",
            "--jobs", "1", "--quiet", "--out", str(out), *TINY]
    assert main(args) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * 2 * 2
    assert {r["model"] for r in rows} == {"qnn", "mlp"} and {r["alpha"] for r in rows} == {"0.0", "0.2"}
    assert len({r["seed"] for r in rows if r["model"] == "qnn"}) == 4  # a fresh seed per (α, run)
    assert main(args) == 0
    assert "(0 computed, 8 from the cache)" in capsys.readouterr().out


def test_sweep_parallel_equals_serial(private_cache, tmp_path):
    base = ["sweep", "--models", "mlp", "--hidden", "4", "--alphas", "0.0,0.5", "--runs", "2", "--quiet", *TINY]
    assert main([*base, "--jobs", "2", "--out", str(tmp_path / "a.json")]) == 0
    parallel = json.loads((tmp_path / "a.json").read_text())
    assert all(not r["cached"] for r in parallel)
    other_cache = tmp_path / "other"
    out = run_cli(*base, "--jobs", "1", "--out", str(tmp_path / "b.json"), env_cache=other_cache)
    assert out.returncode == 0, out.stderr
    serial = json.loads((tmp_path / "b.json").read_text())
    assert [(r["seed"], r["val_acc"], r["train_acc"]) for r in parallel] == \
           [(r["seed"], r["val_acc"], r["train_acc"]) for r in serial]


def test_sweep_rejects_bad_output_name(private_cache, tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path / "rows.txt")]) == 2
    assert "--out must end in .csv or .json" in capsys.readouterr().err


def test_interrupted_sweep_resumes_without_recomputing(private_cache, tmp_path, monkeypatch):
    from qml_core.cli.commands import build_spec
    from qml_core.cli.main import make_parser
    from qml_core.experiments import sweep as sweep_module

    args = make_parser().parse_args(["sweep", "--models", "mlp", "--hidden", "4", "--out", str(tmp_path / "r.csv"), *TINY])
    jobs = sweep_module.sweep_specs([build_spec(args, "mlp", "label-flip", 0.0)], [0.0, 0.2, 0.4], runs=2)
    jobs.sort(key=lambda job: job[0])  # run 0's three α, then run 1's: two stacked batches
    done = []

    def interrupt_after_first_batch(row):
        done.append(row)
        if len(done) == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        sweep_module.run_sweep(jobs, n_jobs=1, on_row=interrupt_after_first_batch)
    rows = sweep_module.run_sweep(jobs, n_jobs=1)
    assert [r["cached"] for r in rows] == [True, True, True, False, False, False]
    assert [r["val_acc"] for r in rows[:3]] == [r["val_acc"] for r in done]


def test_unlearn_command_compares_with_retraining(private_cache, tmp_path, capsys):
    out = tmp_path / "unlearn.json"
    assert main(["unlearn", "--model", "mlp", "--preset", "quick", "--runs", "1", "--methods", "finetune",
                 "--epochs", "3", "--jobs", "1", "--quiet", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [t["method"] for t in report["summary"]] == ["retrain", "finetune"]
    assert {"agreement_val", "epochs_to_match", "mia_auc"} <= set(report["rows"][0])
    assert len(report["trajectories"][0]["val_acc"]) == 4  # start + 3 epochs
    assert "finetune" in capsys.readouterr().out


def test_unlearn_and_hessian_take_any_catalogue_model(private_cache, tmp_path, capsys):
    out = tmp_path / "unlearn.json"
    assert main(["unlearn", "--model", "logreg", "--preset", "quick", "--runs", "1", "--methods", "grad-ascent",
                 "--epochs", "2", "--jobs", "1", "--quiet", "--out", str(out)]) == 0
    rows = {r["method"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["grad-ascent"]["gap_start"] == pytest.approx(rows["grad-ascent"]["poisoned_val_acc"] - rows["retrain"]["val_acc"])
    assert 0 <= rows["grad-ascent"]["flip_fit"] <= 1
    assert "of the flipped labels (how much there was to unlearn)" in capsys.readouterr().out
    hessian = tmp_path / "hessian.json"
    assert main(["hessian", "--setting", "catalogue", "--preset", "quick", "--models", "logreg,mlp-es", "--alphas", "0.3",
                 "--runs", "1", "--jobs", "1", "--quiet", "--out", str(hessian)]) == 0
    report = json.loads(hessian.read_text())
    assert {r["variant"] for r in report["trace_ratios"]} == {"logreg", "mlp-es"}
    assert all(r["trace_err"] == 0 and r["method"].startswith("exact") for r in report["rows"])
    assert "median trace ratio" in capsys.readouterr().out
    assert main(["hessian", "--models", "logreg", "--out", str(hessian)]) == 2  # §5 has only qnn and mlp
    assert "add --setting catalogue" in capsys.readouterr().err


def test_unlearn_grid_command(private_cache, tmp_path, capsys):
    out = tmp_path / "grid.json"
    assert main(["unlearn-grid", "--method", "grad-ascent", "--weights", "0.0,0.5", "--model", "mlp", "--preset", "quick",
                 "--epochs", "2", "--jobs", "1", "--quiet", "--out", str(out)]) == 0
    grid = json.loads(out.read_text())
    assert grid["w_fo"] == [0.0, 0.5] and len(grid["val_acc"]) == 1 and len(grid["val_acc"][0]) == 2
    assert "grad-ascent: best val_acc" in capsys.readouterr().out


def test_unlearning_runs_on_an_uploaded_file_and_on_another_digit_pair(private_cache, tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "data"))
    x = np.random.default_rng(0).normal(size=(60, 6))
    np.savez(tmp_path / "mine.npz", x=x, y=(x[:, 0] > 0).astype(int))
    common = ["--model", "mlp", "--preset", "quick", "--runs", "1", "--methods", "finetune", "--epochs", "2",
              "--jobs", "1", "--quiet"]
    assert main(["unlearn", "--data-file", str(tmp_path / "mine.npz"), *common, "--out", str(tmp_path / "a.json")]) == 0
    assert main(["unlearn", "--digits", "3,5", *common, "--out", str(tmp_path / "b.json")]) == 0
    first, second = (json.loads((tmp_path / f).read_text())["rows"] for f in ("a.json", "b.json"))
    assert first[0]["val_acc"] != second[0]["val_acc"] or first[0]["retain_acc"] != second[0]["retain_acc"]
    assert main(["unlearn-grid", "--data-file", str(tmp_path / "mine.npz"), "--method", "grad-ascent", "--weights", "0,0.5",
                 "--model", "mlp", "--preset", "quick", "--epochs", "2", "--jobs", "1", "--quiet",
                 "--out", str(tmp_path / "grid.json")]) == 0


XXZ_TINY = ["--dataset", "xxz", "--preset", "quick", "--spins", "6", "--n-grid", "21", "--model", "mlp",
            "--hidden", "none", "--epochs", "3", "--alpha", "0.2", "--json"]


@pytest.mark.parametrize("features,n_params", [
    (["--features", "amplitudes"], 65),  # logistic regression on the 2**6 amplitudes (real states: no [Re, Im])
    (["--features", "probabilities"], 65),  # |ψ_k|² of the same 64 basis states
    (["--features", "correlators"], 46),  # 3 Paulis x 15 pairs
    (["--features", "shadows", "--snapshots", "50"], 110),  # 45 estimated correlators, 64 shot frequencies
    (["--features", "shadow-correlators", "--snapshots", "50"], 46),  # the 45 estimated correlators alone
    (["--features", "shadow-correlators"], 46),  # DEFAULT_SNAPSHOTS of them
])
def test_train_on_each_feature_kind(features, n_params, private_cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "data"))
    assert main(["train", *XXZ_TINY, *features]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0.0 <= out["val_acc"] <= 1.0 and out["status"] == "ok" and out["n_params"] == n_params


def test_amplitude_features_give_the_results_of_before(private_cache):
    """A tiny XXZ MLP run, with features given explicitly, ends where it ended at commit 58f2776."""
    from qml_core.experiments.experiment import train_experiment
    from qml_core.specs import MLPModel, Training, preset

    spec = preset("quick", "xxz", "mlp").replace(model=MLPModel(hidden=(4,), features="amplitudes"),
                                                 training=Training(3, 16, 0.01), alpha=0.3, seed=5)
    assert spec.key() == "4ff20de624f2d90f5fc32dff20852fc368ba57abba2b66500fde320373f11f81"
    result = train_experiment(spec)
    assert result["train_loss"] == pytest.approx(0.6817817590643727, abs=1e-12) and result["val_acc"] == 0.6875


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "xxz", "--model", "mlp", "--features", "shadows", "--snapshots", "0"],
     "snapshots must be an integer in 1..100000, got 0"),
    (["--model", "mlp", "--features", "shadows"], "features shadows applies only to dataset xxz"),
    (["--dataset", "xxz", "--model", "mlp", "--features", "shadow-correlators", "--snapshots", "0"],
     "snapshots must be an integer in 1..100000, got 0"),
    (["--model", "mlp", "--features", "shadow-correlators"], "features shadow-correlators applies only to dataset xxz"),
    (["--dataset", "xxz", "--model", "mlp", "--snapshots", "10"], "snapshots applies only to features shadows"),
    (["--dataset", "xxz", "--features", "correlators"], "--features does not apply to --model qnn"),
    (["--dataset", "xxz", "--model", "mlp", "--features", "phases"], "invalid choice: 'phases'"),
])
def test_bad_feature_options_are_one_line(args, needle, private_cache):
    out = run_cli("train", *args, env_cache=private_cache)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


def test_capacity_lists_the_measured_family_and_refuses_it_on_mnist(private_cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "data"))
    from qml_core.experiments.capacity import MEASURED_FAMILY, variants

    xxz = variants("quick", "xxz", spins=6)
    measured = [v.name for v in xxz if v.family == MEASURED_FAMILY]
    assert measured == ["mlp-probabilities", "logreg-probabilities", "mlp-correlators", "logreg-correlators",
                        "mlp-shadows100", "logreg-shadows100", "mlp-shadows1000", "logreg-shadows1000"]
    assert not any(v.family == MEASURED_FAMILY for v in variants("quick", "mnist"))
    moved = variants("quick", "xxz", ["mlp-wd@correlators", "matched@correlators"], features="correlators", spins=6)
    assert [v.spec.model.features for v in moved] == ["correlators", "correlators"]
    out = run_cli("capacity", "--preset", "quick", "--features", "correlators", "--out", str(tmp_path / "c.csv"),
                  env_cache=private_cache)
    assert out.returncode == 2 and "features correlators applies only to dataset xxz" in out.stderr
