"""The ETA of a page's jobs comes from rates its runs measured, not from time spent queued."""
import numpy as np

from qml_core.runtime.eta import JobTiming, QueueEta, estimate


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


def lesson_like_queue(slow: float = 2.0):
    """A lesson's queue: blocks of quick runs (1 s measured before) and slow ones (10 s), as
    its steps come (playground, phase, unlearning, landscape); on a busy machine every run
    takes ``slow`` times its measured length, the two workers taking them in order."""
    expected = [1.0] * 40 + [10.0] * 20 + [1.0] * 60 + [10.0] * 40 + [1.0] * 40
    finish = np.cumsum([slow * e for e in expected]) / 2
    return expected, finish


def test_the_queue_eta_does_not_swing_where_a_moving_average_does():
    """Seen: prepare-lesson's ETA swung between 37 and 72 min (tqdm's moving average of recent rates)."""
    expected, finish = lesson_like_queue()
    eta, total = QueueEta(expected, workers=2), finish[-1]
    predicted = [finish[i] + eta.seconds_left(i + 1, finish[i]) for i in range(len(expected) - 1)]
    settled = predicted[len(expected) // 10:]  # after a tenth of the runs
    assert max(settled) / min(settled) < 1.5 and all(0.7 * total < p < 1.35 * total for p in settled)
    ema, moving = None, []  # tqdm's estimate: an exponential moving average (smoothing 0.3) of each run's time
    for i in range(1, len(expected) - 1):
        step = finish[i] - finish[i - 1]
        ema = step if ema is None else 0.3 * step + 0.7 * ema
        moving.append(finish[i] + ema * (len(expected) - 1 - i))
    assert max(moving[len(expected) // 10:]) / min(moving[len(expected) // 10:]) > 2  # the swing the test rules out


def test_the_queue_eta_starts_from_the_measured_rates_and_ends_at_zero():
    eta = QueueEta([4.0, 4.0, 2.0], workers=2)
    assert eta.seconds_left(0, 0.0) == 5.0  # 10 expected seconds on 2 workers
    assert eta.seconds_left(3, 12.0) == 0.0
    slower = eta.seconds_left(1, 8.0)  # the first run took 8 s of wall where 2 were expected: the rest slows down
    assert slower > eta.seconds_left(1, 2.0) > 0
