"""Background jobs: progress, one computation per spec, cached answers, cancel, failures,
priorities (order, promotion, pre-emption, demotion) and torch threads that follow the load."""
import os
import signal
import time

import pytest

from qml_core.runtime import jobs as jobs_module
from qml_core.runtime.cpu_load import OtherLoad
from qml_core.runtime.jobs import ACTIVE, BACKGROUND, FOREGROUND, JobManager, manager, worker_threads
from qml_core.specs import Training
from qml_core.store.cache import lookup


def wait(*jobs, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while any(j.state in ACTIVE for j in jobs):
        assert time.time() < deadline, [j.status() for j in jobs]
        time.sleep(0.05)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "condition not met in time"
        time.sleep(0.02)


def endless(spec):
    """A run that outlasts any test (cancel it): 5000 epochs of a tiny MLP, reporting every few ms."""
    return spec.replace(training=Training(5000, 8, 0.01))


def test_a_job_reports_progress_and_its_result_lands_in_the_cache(tiny_mlp_spec):
    job = manager().submit("train", tiny_mlp_spec, "MLP")
    wait(job)
    assert job.state == "done" and not job.was_cached, job.status()
    assert job.done == job.total == tiny_mlp_spec.training.epochs
    assert job.history()["epoch"] == list(range(1, job.total + 1))
    assert lookup("train", tiny_mlp_spec)["val_acc"] == job.result["val_acc"]
    assert "done in" in job.status()


def test_the_same_spec_asked_twice_is_one_job_and_later_a_cache_hit(tiny_qnn_spec, private_cache):
    jobs = manager()
    first, second = jobs.submit("train", tiny_qnn_spec), jobs.submit("train", tiny_qnn_spec)
    assert first is second
    wait(first)
    # another server process (a fresh manager) answers from the cache without a worker
    other = JobManager(str(private_cache), max_workers=1).submit("train", tiny_qnn_spec)
    assert other.state == "done" and other.was_cached and other.result["val_acc"] == first.result["val_acc"]


def test_cancel_stops_a_run_and_stores_nothing(tiny_mlp_spec):
    long = tiny_mlp_spec.replace(training=Training(5000, 8, 0.01))
    jobs = manager()
    job = jobs.submit("train", long, "long MLP")
    while job.done < 2:
        assert job.state in ACTIVE, job.status()
        time.sleep(0.05)
    assert job.eta() is not None and job.eta() > 0
    jobs.cancel(job)
    wait(job, timeout=30)
    assert job.state == "cancelled"
    assert lookup("train", long) is None
    assert jobs.submit("train", long) is job  # a rerun of the page does not undo the cancel
    restarted = jobs.submit("train", long, restart=True)
    assert restarted is not job and restarted.state in ACTIVE
    jobs.cancel(restarted)
    wait(restarted, timeout=30)


def test_a_worker_that_dies_is_reported_as_failed_and_nothing_is_cached(tiny_mlp_spec):
    long = tiny_mlp_spec.replace(training=Training(5000, 8, 0.01))
    job = manager().submit("train", long, "doomed")
    while job.done < 1:
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)  # what the kernel's OOM killer would do
    wait(job, timeout=30)
    assert job.state == "failed" and "worker exited with code -9" in job.error
    assert lookup("train", long) is None


def test_an_unknown_kind_is_refused(tiny_mlp_spec):
    with pytest.raises(ValueError, match="job kind must be one of"):
        manager().submit("nonsense", tiny_mlp_spec)


def test_the_highest_priority_queued_job_starts_first_and_a_prefetch_batch_in_its_order(tiny_mlp_spec, private_cache):
    jobs = JobManager(str(private_cache), max_workers=1)
    blocker = jobs.submit("train", endless(tiny_mlp_spec), "blocker")
    first, second = jobs.prefetch([("train", tiny_mlp_spec.replace(seed=s), f"prefetch {s}") for s in (10, 11)])
    shown = jobs.submit("train", tiny_mlp_spec.replace(seed=12))
    assert blocker.state == "running"  # a foreground job is never pre-empted
    assert [j.state for j in (first, second, shown)] == ["queued"] * 3
    jobs.cancel(blocker)
    wait(blocker, first, second, shown)
    assert [j.state for j in (first, second, shown)] == ["done"] * 3
    assert shown.started < first.started < second.started


def test_a_newer_prefetch_batch_runs_before_older_ones(tiny_mlp_spec, private_cache):
    """The newest batch guesses from the view on screen now; older guesses wait (they still run)."""
    jobs = JobManager(str(private_cache), max_workers=1)
    blocker = jobs.submit("train", endless(tiny_mlp_spec), "blocker")
    old = jobs.prefetch([("train", tiny_mlp_spec.replace(seed=s), f"old {s}") for s in (20, 21)])
    new = jobs.prefetch([("train", tiny_mlp_spec.replace(seed=s), f"new {s}") for s in (30, 31)] + [
        ("train", old[1].spec, "asked again")])
    assert new[2] is old[1]  # one job per spec; it joined the newer batch
    jobs.cancel(blocker)
    wait(*old, *new)
    assert new[0].started < new[1].started < old[1].started < old[0].started  # old[1] third, as asked


def test_a_foreground_request_promotes_a_prefetch_and_it_is_computed_once(tiny_qnn_spec, tiny_mlp_spec, private_cache):
    jobs = JobManager(str(private_cache), max_workers=1)
    prefetch = jobs.submit("train", tiny_qnn_spec, "prefetch QNN", priority=BACKGROUND)
    other = jobs.submit("train", tiny_mlp_spec, "prefetch MLP", priority=BACKGROUND)
    later = jobs.submit("train", tiny_mlp_spec.replace(seed=4), "prefetch MLP seed 4", priority=BACKGROUND)
    assert prefetch.state == "running" and prefetch.priority == BACKGROUND
    pid = prefetch.pid
    shown = jobs.submit("train", tiny_qnn_spec, "QNN")
    assert shown is prefetch and shown.priority == FOREGROUND and shown.label == "QNN"
    assert jobs.submit("train", later.spec, "MLP") is later and later.priority == FOREGROUND  # queued, promoted
    wait(shown, other, later)
    assert shown.state == "done" and not shown.was_cached and shown.pid == pid  # one worker, never restarted
    assert shown.history()["epoch"] == list(range(1, tiny_qnn_spec.training.epochs + 1))
    assert later.started < other.started  # the promoted prefetch overtook the earlier one


def test_a_foreground_job_preempts_a_prefetch_which_is_queued_again_and_reruns(tiny_mlp_spec, private_cache):
    jobs = JobManager(str(private_cache), max_workers=1)
    prefetch = jobs.submit("train", endless(tiny_mlp_spec), "prefetch", priority=BACKGROUND)
    wait_for(lambda: prefetch.done >= 2)
    first_pid = prefetch.pid
    shown = jobs.submit("train", tiny_mlp_spec, "MLP")
    assert shown.state == "running"  # at once: the prefetch's worker is stopping meanwhile
    wait(shown)
    assert shown.state == "done"
    wait_for(lambda: prefetch.state == "running" and prefetch.pid != first_pid)  # re-queued, then started afresh
    assert prefetch.priority == BACKGROUND and prefetch.started > shown.started
    assert lookup("train", prefetch.spec) is None  # the pre-empted run stored nothing
    jobs.cancel(prefetch)
    wait(prefetch, timeout=30)
    assert prefetch.state == "cancelled"  # a user's cancel is final, not a re-queue


def test_prefetches_wait_while_a_view_is_computing(tiny_mlp_spec, private_cache):
    """A free worker stays free for a prefetch while a foreground job runs: the view being
    waited for gets the cores."""
    jobs = JobManager(str(private_cache), max_workers=2)
    shown = jobs.submit("train", endless(tiny_mlp_spec), "the view")
    guess = jobs.submit("train", tiny_mlp_spec.replace(seed=40), "a guess", priority=BACKGROUND)
    time.sleep(0.5)
    assert shown.state == "running" and guess.state == "queued"
    jobs.cancel(shown)
    wait(shown, guess)
    assert guess.state == "done"


def test_a_job_nobody_watches_drops_to_background_and_yields(tiny_mlp_spec, private_cache, monkeypatch):
    monkeypatch.setattr(jobs_module, "WATCH_GRACE_S", 0.5)
    jobs = JobManager(str(private_cache), max_workers=1)
    left = jobs.submit("train", endless(tiny_mlp_spec), "a page nobody shows any more")
    assert left.priority == FOREGROUND
    wait_for(lambda: left.priority == BACKGROUND, timeout=10)
    jobs.watch([left])  # the page is back on screen
    assert left.priority == FOREGROUND
    wait_for(lambda: left.priority == BACKGROUND, timeout=10)
    shown = jobs.submit("train", tiny_mlp_spec, "MLP")
    assert shown.state == "running"  # pre-empted the demoted job
    for job in (left, shown):
        jobs.cancel(job)
    wait(left, shown, timeout=30)


def test_a_job_nobody_watches_for_long_is_cancelled_and_starts_again_when_asked(tiny_mlp_spec, private_cache,
                                                                                 monkeypatch):
    monkeypatch.setattr(jobs_module, "ABANDON_S", 1.0)
    jobs = JobManager(str(private_cache), max_workers=1)
    left = jobs.submit("train", endless(tiny_mlp_spec), "a page nobody shows any more")
    wait(left, timeout=30)
    assert left.state == "cancelled" and left.abandoned and "nobody watched" in left.error
    monkeypatch.setattr(jobs_module, "ABANDON_S", 1000.0)
    back = jobs.submit("train", endless(tiny_mlp_spec), "the page is back")  # not a user's cancel: starts again
    assert back is not left and back.state in ("queued", "running")
    jobs.cancel(back)
    wait(back, timeout=30)
    user = jobs.submit("train", endless(tiny_mlp_spec), "again")
    assert user is back and user.state == "cancelled"  # a user's cancel stays until "Run again"


@pytest.mark.parametrize("cpus, running, others, threads", [
    (2, 0, 0.0, 2), (2, 1, 0.0, 2), (2, 2, 0.0, 1), (2, 3, 0.0, 1), (16, 3, 0.0, 5),
    (2, 1, 0.4, 2), (2, 1, 0.6, 1), (2, 1, 3.0, 1), (16, 2, 3.8, 6)])
def test_workers_share_out_the_cores_nobody_else_uses(cpus, running, others, threads):
    assert worker_threads(cpus, running, others) == threads


def test_a_running_worker_takes_the_cores_back_when_it_is_left_alone(tiny_mlp_spec, private_cache, monkeypatch):
    monkeypatch.setattr(OtherLoad, "sample", lambda self, pids: 0.0)  # an idle machine, whatever else runs now
    jobs = JobManager(str(private_cache), max_workers=2)
    first = jobs.submit("train", endless(tiny_mlp_spec), "first")
    wait_for(lambda: first.threads == jobs.cpus)
    second = jobs.submit("train", endless(tiny_mlp_spec.replace(seed=4)), "second")
    shared = worker_threads(jobs.cpus, 2)
    wait_for(lambda: first.threads == shared and second.threads == shared)  # applied at the next report
    jobs.cancel(second)
    wait(second, timeout=30)
    wait_for(lambda: first.threads == jobs.cpus)
    jobs.cancel(first)
    wait(first, timeout=30)


def test_the_fork_server_decompresses_mnist_once_for_every_worker():
    """The fork server's preload ends with the warm-up module, whose import leaves the MNIST
    arrays in memory, so that forked workers inherit them instead of loading them per job."""
    import pathlib
    import subprocess
    import sys

    assert jobs_module.PRELOAD[-1] == "qml_core.runtime.worker_warmup"
    probe = ("import importlib; from qml_core.data.mnist import mnist_arrays; "
             "before = mnist_arrays.cache_info().currsize; importlib.import_module('qml_core.runtime.worker_warmup'); "
             "print(before, mnist_arrays.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True,
                         cwd=pathlib.Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["0", "1"]


def test_a_finished_job_shows_done_only_once_its_result_is_there(private_cache, tiny_mlp_spec):
    """Pages read jobs without the manager's lock while its thread finishes them: ``_finish``
    writes the state last, so "done" never comes before the result it announces."""
    writes = []

    class Recorded(jobs_module.Job):
        def __setattr__(self, name, value):
            writes.append(name)
            super().__setattr__(name, value)

    manager_ = JobManager(str(private_cache), max_workers=1)
    job = Recorded("train", tiny_mlp_spec, "probe", state="running")
    manager_._jobs[job.key] = job
    writes.clear()
    manager_._finish(job.key, "done", result={"val_acc": 1.0}, was_cached=False)
    assert job.result == {"val_acc": 1.0} and writes[-1] == "state" and "result" in writes[:-1]


def test_follow_answers_with_the_results_the_bars_were_drawn_from(tiny_mlp_spec, tiny_qnn_spec):
    """A snapshot of the jobs: a job that finishes after the page drew its bars does not add
    a result the bars did not count (a phase page once said "26 runs" under "27/60 finished")."""
    from lab_ui import progress

    done = jobs_module.Job("train", tiny_mlp_spec, "a", state="done", result={"val_acc": 0.9})
    running = jobs_module.Job("train", tiny_qnn_spec, "b", state="running", done=3, total=8)
    seen = progress.snapshot([done, running])
    running.result, running.state = {"val_acc": 0.8}, "done"  # the manager's thread, meanwhile
    assert progress.overall(seen).startswith("1/2 finished")
    assert progress.results(seen) == [{"val_acc": 0.9}, None]
    assert progress.results([done, running]) == [{"val_acc": 0.9}, {"val_acc": 0.8}]


def test_the_fork_server_preloads_the_engine_when_the_lab_starts_elsewhere(tmp_path):
    """A lab started from another directory than the checkout (the engine on sys.path only):
    its fork server, which ignores the parent's sys.path before Python 3.13, is started with
    an environment in which the preload (the engine and the MNIST warm-up) imports."""
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    script = (f"import sys, time; sys.path.insert(0, {str(root)!r}); "
              "from multiprocessing import forkserver; from qml_core.runtime.jobs import manager; "
              "manager(); forkserver.ensure_running(); pid = forkserver._forkserver._forkserver_pid; "
              # /proc/PID/environ shows the server's own environment only once it has exec'd:
              # between fork and exec it shows the parent's as it started, and during the exec
              # an empty one (with an empty command line); so wait for the server's command line
              "deadline = time.time() + 60\n"
              "while b'multiprocessing.forkserver' not in open(f'/proc/{pid}/cmdline', 'rb').read() "
              "and time.time() < deadline: time.sleep(0.01)\n"
              "print(open(f'/proc/{pid}/environ').read())")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    server_env = dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    probe = subprocess.run([sys.executable, "-c", "import " + ", ".join(jobs_module.PRELOAD[-2:])], cwd=tmp_path,
                           env={**env, "PYTHONPATH": server_env.get("PYTHONPATH", "")}, capture_output=True, text=True,
                           timeout=120)
    assert probe.returncode == 0, probe.stderr[-300:]


def test_a_big_request_is_estimated_from_the_rates_measured_here(tmp_path):
    from qml_core.runtime.rates import big_request_text, expected, load, record, shape
    from qml_core.specs import preset

    qnn, mlp = preset("quick", "mnist", "qnn"), preset("quick", "mnist", "mlp")
    assert shape("train", qnn) == "train:QNNModel:mnist" and expected([("train", qnn)] * 4, 2, {}) == (16.0, 0, 4)
    record("train", qnn, 6.0, tmp_path)
    record("train", qnn, 8.0, tmp_path)
    record("train", mlp, 1.0, tmp_path)
    rates = load(tmp_path)
    assert rates["train:QNNModel:mnist"] == [2, 7.0]
    assert expected([("train", qnn)] * 10 + [("train", mlp)] * 10, 2, rates) == (40.0, 3, 0)
    text = big_request_text(360, 445.0, 3, 0, 2)
    assert text.startswith("This view needs 360 new runs, about 7 min on 2 workers (from 3 runs measured on this machine)")
    (tmp_path / "rates.json").write_text("not json")
    assert load(tmp_path) == {}


def test_runs_on_a_device_are_priced_by_their_cost_until_measured_and_a_long_request_asks(tmp_path):
    """Noisy QNN runs were priced as exact ones (a link to two noisy curves: 60 runs, about 3 h,
    started without a question). Unmeasured, a device run costs the exact run's mean times its
    device's cost; once measured, its own mean; a request asks above BIG_SECONDS however few runs."""
    import dataclasses

    from qml_core.runtime.rates import BIG_SECONDS, big_request_text, expected, is_big, load, record, shape
    from qml_core.specs import preset

    qnn = preset("quick", "mnist", "qnn")
    noisy = qnn.replace(model=dataclasses.replace(qnn.model, depolarizing=0.01))
    both = noisy.replace(model=dataclasses.replace(noisy.model, shots=1000))
    assert shape("train", both) == "train:QNNModel:mnist-p0.01-shots-1000"
    record("train", qnn, 8.0, tmp_path)
    rates = load(tmp_path)
    link = [("train", noisy)] * 30 + [("train", both)] * 30
    seconds, measured, assumed = expected(link, 2, rates)
    assert seconds == (30 * 8.0 * 16 + 30 * 8.0 * 16 * 2) / 2 and (measured, assumed) == (1, 60)
    assert is_big(60, seconds) and not is_big(60, expected([("train", qnn)] * 60, 2, rates)[0])
    assert is_big(1, BIG_SECONDS + 1) and is_big(101, 1.0)
    text = big_request_text(60, seconds, measured, assumed, 2)
    assert text.startswith("This view needs 60 new runs, about 1.6 h on 2 workers (from 1 run measured")
    assert "60 of a kind not measured here yet" in text and "K trajectories as K runs" in text
    record("train", noisy, 50.0, tmp_path)
    assert expected([("train", noisy)] * 2, 2, load(tmp_path)) == (50.0, 2, 0)  # measured: its own mean


def test_a_job_measuring_features_shows_it_and_keeps_its_curves_clean(tiny_mlp_spec, private_cache):
    """A run measuring classical shadows reports states (stage MEASURING): its bar says so with
    an ETA of that stage, and the live curves hold epochs only."""
    from qml_core.data.measurements import MEASURING
    from qml_core.runtime.jobs import Job

    jobs = JobManager(str(private_cache), max_workers=1)
    job = Job("train", tiny_mlp_spec, "MLP", state="running", started=time.time() - 10)
    jobs._jobs[job.key] = job
    jobs._apply(("progress", job.key, 5, 20, {"stage": MEASURING}, 1))
    assert job.records == [] and job.status().startswith("MLP: measuring states 5/20, 10 s, ETA ")
    jobs._apply(("progress", job.key, 1, 3, {"epoch": 1, "train_acc": 0.5}, 1))
    assert job.stage == "training" and job.records == [{"epoch": 1, "train_acc": 0.5}]
    assert job.status().startswith("MLP: running 1/3") and job.eta() < 1  # the epochs' own pace, not the measuring's
