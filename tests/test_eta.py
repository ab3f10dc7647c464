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


def test_each_kind_runs_at_its_own_rate():
    """Seen on the landscape page: "ETA 16 s" at 27 s, "ETA 7 s" at 95 s, done at 124 s: two
    slow slice jobs were estimated at the rate of forty quick curvature runs."""
    curvature = [JobTiming("done", 0, 0, 2.0, kind="curvature")] * 40
    slices = [JobTiming("running", 0, 0, 60.0, kind="landscape", expected=90.0)] * 2
    eta = estimate(curvature + slices)
    assert abs(eta.seconds - 30.0) < 1e-9  # (90 − 60) s left of each, side by side
    unknown = estimate(curvature + [JobTiming("running", 0, 0, 60.0, kind="landscape")])
    assert unknown.seconds > 0  # past every rate measured: some time is still left, never "ETA 0 s"
    mixed = estimate([JobTiming("done", 10, 10, 1.0, kind="train"), JobTiming("done", 0, 0, 50.0, kind="landscape"),
                      JobTiming("queued", 0, 0, 0.0, kind="landscape"), JobTiming("queued", 0, 0, 0.0, kind="train")])
    assert abs(mixed.seconds - 51.0) < 1e-9
