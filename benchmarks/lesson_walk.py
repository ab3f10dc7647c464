"""The lesson as a teacher gives it, in headless Chromium at projector size (1280 × 720).

Two measurements, each on a lab started from a fresh clone of HEAD (``--here``: this working
tree):

- ``walk``: a prepared lesson (``--cache``, a cache ``python -m qml_core prepare-lesson``
  filled). From the home page in teacher mode, follow each step's "Next" link and time the click
  until the step's view is on screen (its first figure drawn; the summary's text for the last
  step); then each step's link opened as a whole page load (a reload, or a shared link: a new
  session), in a browser that has the lab's code cached and in a new profile; then every α of
  the playground's slider, both attacks, from the keypress until both models' metrics at the
  new α are shown. Photographs of each step go to ``--shots``.
- ``idle``: no preparation (an empty cache). Open the playground, leave it idle for
  ``--idle-s`` seconds (the background fill of its α grid), then time every α as above.

Goals: a step within 2 s, an α within 1 s, no error box. ``--busy`` runs a CPU hog on every
core throughout. Prints one JSON object (and writes it to ``--out``).

Usage: python benchmarks/lesson_walk.py walk --cache DIR [--shots DIR] [--busy] [--here]
       python benchmarks/lesson_walk.py idle [--idle-s 150] [--busy] [--here]
"""
import argparse
import contextlib
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from qml_core.experiments.lesson import STEPS  # noqa: E402
from qml_core.experiments.views import PLAYGROUND_ALPHAS, slider_alphas  # noqa: E402
from tests_browser.lab_server import (ERRORS, FIGURE, METRIC, alpha_slider, browser, cpu_hog, lab,  # noqa: E402
                                      wait_idle)

ALPHAS = slider_alphas(*PLAYGROUND_ALPHAS)
STEP_GOAL_S, ALPHA_GOAL_S = 2.0, 1.0


def shown(page, number: int, step: str) -> None:
    """Wait until lesson step ``number`` (``step``) is on screen: its panel ("step k of n") and,
    drawn in this run (an element the rerun has not reached yet is marked stale), a figure, or
    the summary's verdict on claim 1."""
    page.wait_for_function(
        """([number, step]) => {
            if (!document.body.innerText.includes(`step ${number} of`)) return false;
            const fresh = Array.from(document.querySelectorAll('[data-testid="stElementContainer"]'))
                .filter(e => e.getAttribute('data-stale') !== 'true');
            return step === 'summary' ? fresh.some(e => e.innerText.includes('Claim 1,'))
                                      : fresh.some(e => e.querySelector('.main-svg'));
        }""", arg=[number, step], timeout=120_000, polling=20)


def errors(page) -> list[str]:
    return page.locator(ERRORS).all_inner_texts()


def walk_steps(page, url: str, shots: pathlib.Path | None) -> list[dict]:
    """Follow the lesson's Next links from the home page; one row per step."""
    page.goto(f"{url}/?teacher=1")
    wait_idle(page, 120)  # the server's first page imports the engine: not a lesson step
    rows = []
    for k, step in enumerate(STEPS):
        start = time.perf_counter()
        page.get_by_text("Next:" if k else "Start the lesson").first.click()
        shown(page, k + 1, step)
        seconds = time.perf_counter() - start
        wait_idle(page, 120, settle_s=0.5)
        rows.append({"step": step, "seconds": round(seconds, 2), "figures": page.locator(FIGURE).count(),
                     "errors": errors(page), "link": page.url})
        print(json.dumps(rows[-1]), flush=True)
        if shots:
            page.screenshot(path=shots / f"step{k + 1}_{step}.png")
    return rows


def both_shown(page, before: list[str] | None = None) -> None:
    """Wait until both models' metrics are on screen, other than ``before``, and no job the page
    follows is running (no Cancel button shown; an earlier run's, hidden as stale, does not
    count). Not until the script is idle: while the grid fills, the page reruns every few
    seconds to update its count."""
    page.wait_for_function(
        f"""(before) => !Array.from(document.querySelectorAll('button')).some(b => b.innerText.trim() === 'Cancel'
                                                                            && b.getClientRects().length > 0)
            && document.querySelectorAll({METRIC!r}).length === 4
            && JSON.stringify(Array.from(document.querySelectorAll({METRIC!r})).map(e => e.innerText)) !== before""",
        arg=json.dumps(before), timeout=300_000, polling=20)


def opened_as_links(page, steps: list[dict]) -> list[dict]:
    """Each step's link (the URL the walk reached it at) opened as a whole page load, a new
    session: in the walk's tab (``warm``: the browser has the lab's code cached, as after a
    reload) and in a new browser profile (``cold``: a first visit downloads and compiles it)."""
    rows = []
    for k, step in enumerate(steps):
        row = {"step": step["step"], "errors": []}
        tab = page.context.browser.new_page(viewport={"width": 1280, "height": 720})
        for name, where in (("warm", page), ("cold", tab)):
            start = time.perf_counter()
            where.goto(step["link"])
            shown(where, k + 1, step["step"])
            row[f"{name}_s"] = round(time.perf_counter() - start, 2)
            row["errors"] += errors(where)
        tab.close()
        wait_idle(page, 120, settle_s=0.5)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def alpha_moves(page, url: str) -> list[dict]:
    """Every α of the playground's slider for both attacks, one keypress each: seconds until
    both models' metrics at the new α are shown, and where each came from ("from the cache",
    or "trained in 5.1 s": by a background job of this server)."""
    rows = []
    for attack in ("label-flip", "feature-noise"):
        page.goto(f"{url}/playground?teacher=1&alpha={ALPHAS[0]}&attack={attack}")
        both_shown(page)
        for alpha in ALPHAS[1:]:
            before = page.locator(METRIC).all_inner_texts()
            slider = alpha_slider(page)
            slider.focus()
            start = time.perf_counter()
            slider.press("ArrowRight")
            page.wait_for_url(f"**alpha={alpha}**", timeout=30_000)
            both_shown(page, before)
            seconds = time.perf_counter() - start
            sources = [t.split(", ", 1)[1] for t in page.locator("[data-testid='stCaptionContainer']").all_inner_texts()
                       if " parameters, " in t]
            rows.append({"attack": attack, "alpha": alpha, "seconds": round(seconds, 2), "sources": sources,
                         "errors": errors(page)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def idle(page, seconds: float) -> tuple[str | None, float | None]:
    """Leave the page open for ``seconds``, reading its "Slider grid ready" line every second:
    the last line, and after how many seconds it first said the whole grid is ready."""
    start, line, filled = time.perf_counter(), None, None
    while time.perf_counter() - start < seconds:
        line = next((t for t in page.locator("[data-testid='stCaptionContainer']").all_inner_texts()
                     if t.startswith("Slider grid ready")), line)
        if filled is None and line and "each answers at once" in line:
            filled = round(time.perf_counter() - start, 1)
        time.sleep(1.0)
    return line, filled


def summary(out: dict) -> dict:
    steps, moves = out.get("steps", []), out["alphas"]
    out["slowest_step_s"] = max((r["seconds"] for r in steps), default=None)
    out["slowest_alpha_s"] = max(r["seconds"] for r in moves)
    out["alphas_over_goal"] = [f"{r['attack']} {r['alpha']}: {r['seconds']} s" for r in moves if r["seconds"] > ALPHA_GOAL_S]
    out["steps_over_goal"] = [f"{r['step']}: {r['seconds']} s" for r in steps if r["seconds"] > STEP_GOAL_S]
    out["slowest_link_warm_s"] = max((r["warm_s"] for r in out.get("links", [])), default=None)
    out["slowest_link_cold_s"] = max((r["cold_s"] for r in out.get("links", [])), default=None)
    out["error_boxes"] = sum(len(r["errors"]) for r in steps + moves + out.get("links", []))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["walk", "idle"])
    parser.add_argument("--cache", help="walk: the prepared cache (prepare-lesson's)")
    parser.add_argument("--idle-s", type=float, default=150.0, help="idle: seconds the playground stays open first")
    parser.add_argument("--shots", type=pathlib.Path, help="walk: a folder for each step's photograph")
    parser.add_argument("--busy", action="store_true", help="a CPU hog on every core throughout")
    parser.add_argument("--here", action="store_true", help="run the lab from this working tree, not a clone of HEAD")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    if args.mode == "walk" and not args.cache:
        parser.error("walk needs --cache: a cache that prepare-lesson filled")
    if args.cache:
        os.environ["QML_LAB_BROWSER_CACHE"] = str(pathlib.Path(args.cache).resolve())
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    out = {"mode": args.mode, "busy": args.busy, "cores": os.cpu_count(), "load_before": os.getloadavg()[0]}
    with lab(clone=not args.here) as url, browser(1280, 720) as page, (cpu_hog() if args.busy else contextlib.nullcontext()):
        if args.mode == "walk":
            out["steps"] = walk_steps(page, url, args.shots)
            out["links"] = opened_as_links(page, out["steps"])
        else:
            page.goto(f"{url}/playground?teacher=1")
            both_shown(page)  # the view on screen; the idle time starts now
            out["ready_line"], out["grid_filled_after_s"] = idle(page, args.idle_s)
        out["alphas"] = alpha_moves(page, url)
    out["load_after"] = os.getloadavg()[0]
    out = summary(out)
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
