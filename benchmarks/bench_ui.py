"""UI timings in a real browser (issues 5 and 12), on a lab started from a fresh clone of HEAD
(``--here``: from this working tree, uncommitted changes included), at the playground's
default settings (the paper preset, MNIST 1 vs 9):

- fresh: a move of the α slider to an α nobody computed or guessed, until both models'
  metrics are shown: the median of ``FRESH_SEEDS`` × 2 moves (End from α = 0.4 to 0.9, then
  Home to 0.0, each seed a new view), and whether a progress bar was on screen meanwhile;
- prefetched: a one-step move after the view was idle for ``IDLE_S`` (the prefetch of the
  likely next views should have computed it: a cache hit);
- cached: slider moves back and forth between two computed α values (goal < 1 s);
- responsive: while a paper-preset phase diagram computes in one tab, another tab opens the data
  explorer and moves the playground's slider between cached values; and the busy tab's
  progress text keeps refreshing.

Usage: python benchmarks/bench_ui.py [--out benchmarks/results/ui.json] [--here]
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tests_browser.lab_server import BUSY_JS, FIGURE, METRIC, alpha_slider, browser, lab, wait_idle  # noqa: E402

PROGRESS = "[data-testid='stProgress']"
FRESH_SEEDS = 3  # views to start fresh moves from; two moves each
IDLE_S = 30.0  # how long the view stays idle before a move to a neighbouring α


def metrics(page) -> list[str]:
    return page.locator(METRIC).all_inner_texts()


def move(page, key: str, expect_url: str, until_metrics: list[str], before: list[str]) -> tuple[float, bool]:
    """Press an arrow key on the α slider; seconds until the page is idle and shows
    ``until_metrics`` (None: any four values other than ``before``, the metrics at the old α),
    and whether a progress bar appeared meanwhile."""
    slider = alpha_slider(page)
    slider.focus()
    start = time.perf_counter()
    slider.press(key)
    page.wait_for_url(f"**{expect_url}**", timeout=30_000)
    saw_progress, deadline = False, start + 300
    while time.perf_counter() < deadline:
        saw_progress = saw_progress or page.locator(PROGRESS).count() > 0
        shown = metrics(page)
        idle = not page.evaluate(f"() => {BUSY_JS}")
        if idle and len(shown) == 4 and shown != before and (until_metrics is None or shown == until_metrics):
            return time.perf_counter() - start, saw_progress
        time.sleep(0.02)
    raise TimeoutError(f"after {key}: metrics {shown}, expected {until_metrics or 'four values'}")


def settle(page) -> list[str]:
    """Wait until the playground's jobs are done and both models' metrics are shown; return them."""
    wait_idle(page)
    page.wait_for_function(f"document.querySelectorAll({METRIC!r}).length === 4", timeout=300_000)
    return metrics(page)


def progress_refreshes(page, seconds: float = 10.0) -> int:
    """How often the busy tab's progress text changed within ``seconds``."""
    seen, last, end = 0, None, time.time() + seconds
    while time.time() < end:
        texts = page.locator(PROGRESS).all_inner_texts()
        if texts and texts != last:
            seen, last = seen + 1, texts
        time.sleep(0.1)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/results/ui.json"))
    parser.add_argument("--here", action="store_true", help="run the lab from this working tree, not a clone of HEAD")
    args = parser.parse_args()
    out = {"preset": "paper (the default)"}
    with lab(clone=not args.here) as url, browser() as page:
        fresh, progress_shown = [], []
        for seed in range(FRESH_SEEDS):
            page.goto(f"{url}/playground?alpha=0.4&seed={seed}")
            page.wait_for_selector("h1", timeout=60_000)
            shown = settle(page)  # the fork server is warm, α = 0.4 computed, its neighbours being prefetched
            for key, alpha in (("End", "0.9"), ("Home", "0.0")):
                seconds, saw_progress = move(page, key, f"alpha={alpha}", None, shown)
                fresh.append(seconds)
                progress_shown.append(saw_progress)
                shown = metrics(page)
            print(json.dumps({"fresh_s": fresh}), flush=True)
        out["fresh_s"], out["fresh_median_s"] = fresh, statistics.median(fresh)
        out["fresh_showed_progress"] = all(progress_shown)

        prefetched, prefetch_progress, at = [], [], {}  # at: α -> the metrics shown there (the last seed)
        for alpha in (0.1, 0.2):
            time.sleep(IDLE_S)
            seconds, saw_progress = move(page, "ArrowRight", f"alpha={alpha}", None, shown)
            prefetched.append(seconds)
            prefetch_progress.append(saw_progress)
            shown = at[alpha] = metrics(page)
        out["prefetched_s"], out["prefetched_showed_progress"] = prefetched, any(prefetch_progress)
        print(json.dumps(out), flush=True)

        cached = []
        for _ in range(3):
            cached.append(move(page, "ArrowLeft", "alpha=0.1", at[0.1], at[0.2])[0])
            cached.append(move(page, "ArrowRight", "alpha=0.2", at[0.2], at[0.1])[0])
        out["cached_s"] = cached
        out["cached_median_s"] = statistics.median(cached)
        print(json.dumps(out), flush=True)

        busy = page.context.browser.new_page()  # a second tab, as another user would have
        busy.goto(f"{url}/phase?preset=paper&runs=1&alpha_step=0.2")
        busy.wait_for_selector(PROGRESS, timeout=60_000)
        start = time.perf_counter()
        page.goto(f"{url}/data")
        page.wait_for_selector(FIGURE, timeout=60_000)
        out["busy_open_data_explorer_s"] = time.perf_counter() - start
        page.goto(f"{url}/playground?alpha=0.2&seed={FRESH_SEEDS - 1}")
        settle(page)
        out["busy_cached_s"] = [move(page, "ArrowLeft", "alpha=0.1", at[0.1], at[0.2])[0],
                                move(page, "ArrowRight", "alpha=0.2", at[0.2], at[0.1])[0]]
        out["busy_progress_refreshes_in_10s"] = progress_refreshes(busy)
        out["busy_still_running"] = busy.locator(PROGRESS).count() > 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
