"""UI timings in a real browser (issue 5's goals), on a lab started from a fresh clone:

- fresh: a quick-preset run of both models, from the slider move to both results shown (goal < 15 s),
  and whether a progress bar was on screen meanwhile;
- cached: a slider move back to an α already computed, until its metrics are shown (goal < 1 s);
- responsive: while a paper-preset phase diagram computes in one tab, another tab opens the data
  explorer and moves the playground's slider between cached values; and the busy tab's
  progress text keeps refreshing.

Usage: python benchmarks/bench_ui.py [--out benchmarks/results/ui.json]
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tests_browser.lab_server import BUSY_JS, FIGURE, alpha_slider, browser, lab, wait_idle  # noqa: E402

METRIC = "[data-testid='stMetricValue']"
PROGRESS = "[data-testid='stProgress']"


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
    args = parser.parse_args()
    out = {}
    with lab() as url, browser() as page:
        page.goto(f"{url}/playground?alpha=0.2")
        page.wait_for_selector("h1", timeout=60_000)
        at_02 = settle(page)  # the fork server is warm and α = 0.2 computed
        out["fresh_s"], out["fresh_showed_progress"] = move(page, "ArrowRight", "alpha=0.3", None, at_02)
        at_03 = metrics(page)
        cached = []
        for _ in range(3):
            cached.append(move(page, "ArrowLeft", "alpha=0.2", at_02, at_03)[0])
            cached.append(move(page, "ArrowRight", "alpha=0.3", at_03, at_02)[0])
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
        page.goto(f"{url}/playground?alpha=0.2")
        settle(page)
        out["busy_cached_s"] = [move(page, "ArrowRight", "alpha=0.3", at_03, at_02)[0],
                                  move(page, "ArrowLeft", "alpha=0.2", at_02, at_03)[0]]
        out["busy_progress_refreshes_in_10s"] = progress_refreshes(busy)
        out["busy_still_running"] = busy.locator(PROGRESS).count() > 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
