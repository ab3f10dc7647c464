"""The ETA of a page's jobs comes from rates its runs measured, not from time spent queued."""
from qml_core.runtime.eta import JobTiming, estimate


def test_no_estimate_before_a_rate_is_measured_or_when_nothing_is_left():
    assert estimate([JobTiming("queued", 0, 0, 0.0), JobTiming("running", 0, 100, 1.0)]) is None
    assert estimate([JobTiming("done", 100, 100, 10.0)]) is None


def test_time_spent_queued_does_not_inflate_the_estimate():
    """Nine runs done at 0.1 s per epoch, one running half-way: 50 epochs left = 5 s, however
    long the page has waited."""
    jobs = [JobTiming("done", 100, 100, 10.0)] * 9 + [JobTiming("running", 50, 100, 5.0)]
    eta = estimate(jobs)
    assert abs(eta.seconds - 5.0) < 1e-9 and eta.unit == "epoch" and eta.measured == 10 and eta.parallel == 1


def test_queued_runs_count_their_typical_length_shared_among_the_running_ones():
    jobs = [JobTiming("running", 20, 100, 2.0), JobTiming("running", 60, 100, 6.0),
            JobTiming("queued", 0, 0, 0.0), JobTiming("queued", 0, 0, 0.0)]
    eta = estimate(jobs)
    assert abs(eta.seconds - (80 + 40 + 100 + 100) * 0.1 / 2) < 1e-9


def test_cached_results_measure_nothing_and_jobs_without_progress_count_as_runs():
    jobs = [JobTiming("done", 0, 0, 0.01, cached=True), JobTiming("done", 0, 0, 30.0),
            JobTiming("running", 0, 0, 10.0), JobTiming("queued", 0, 0, 0.0)]
    eta = estimate(jobs)
    assert eta.unit == "run" and eta.rate == 30.0 and abs(eta.seconds - (20.0 + 30.0)) < 1e-9  # 10 s of 30 run
