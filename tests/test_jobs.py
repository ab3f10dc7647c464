"""Background jobs: progress, one computation per spec, cached answers, cancel, failures."""
import os
import signal
import time

import pytest

from qml_core.cache import lookup
from qml_core.jobs import ACTIVE, JobManager, manager
from qml_core.specs import Training


def wait(*jobs, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while any(j.state in ACTIVE for j in jobs):
        assert time.time() < deadline, [j.status() for j in jobs]
        time.sleep(0.05)


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
