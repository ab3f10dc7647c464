"""The lab on a classroom projector (1280 × 720, issue 13): every page opened with link values
its controls cannot take shows one-line notices and no exception box, and every page is
photographed at its default settings and in teacher mode (``$QML_LAB_SCREENSHOTS``, default
tests_browser/screenshots/projector-*.png), 1280 wide and as tall as the page, i.e. everything a
class sees by scrolling. A page may compute for ``$QML_LAB_SETTLE_S`` (default 60) seconds
before its picture; with ``$QML_LAB_BROWSER_CACHE`` (lab_server.lab) the finished figures show.

Run: ``python -m pytest tests_browser/test_projector.py -q``.
"""
import os
import pathlib

import pytest

from tests_browser.lab_server import ERRORS, browser, lab, wait_idle
from tests_browser.test_pages import SHOTS
from tests_browser.test_state import query

PAGES = ["", "playground", "phase", "unlearning", "landscape", "data"]
BAD_VALUES = {"alpha": ["abc", "5"], "seed": ["-5"], "digit_a": ["12"], "dataset": ["../../etc"],
              "upload": ["cd" * 32], "runs": ["100000"], "methods": [""], "models": [""]}
NOTICE = "[data-testid='stAlertContentWarning']"
MAIN = "[data-testid='stMain']"  # the page's scrolling column
SETTLE_S = float(os.environ.get("QML_LAB_SETTLE_S", 60))  # a page's computing time before its picture


@pytest.fixture(scope="module")
def page():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with lab() as url, browser(1280, 720) as tab:
        tab.base_url, tab.console = url, []
        tab.on("console", lambda m: tab.console.append(m.text) if m.type == "error" and "404" not in m.text else None)
        tab.on("pageerror", lambda error: tab.console.append(f"page error: {error}"))
        yield tab


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("key, value", [(k, v) for k, values in BAD_VALUES.items() for v in values])
def test_a_refused_link_value_gets_a_notice_and_no_exception(page, path, key, value):
    page.goto(f"{page.base_url}/{path}?preset=quick&{key}={value}")
    page.wait_for_selector("h1", timeout=10_000)
    page.wait_for_url("**teacher=**", timeout=30_000)  # the page has written its controls to the URL
    page.wait_for_timeout(500)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
    notices = [t[t.index("The link"):].strip() for t in page.locator(NOTICE).all_inner_texts() if "The link's" in t]
    has_control = key in query(page.url)  # the page writes every control it has to the URL
    assert len(notices) == (1 if has_control else 0), (page.url, notices)
    if notices:
        assert notices[0].startswith(f"The link's {key}=") and "not allowed" in notices[0] and "\n" not in notices[0]


def photograph(page, path: str, teacher: bool) -> pathlib.Path:
    page.goto(f"{page.base_url}/{path}" + ("?teacher=1" if teacher else ""))
    page.wait_for_selector("h1", timeout=10_000)
    try:
        wait_idle(page, timeout_s=SETTLE_S)
    except Exception:  # still computing: the picture shows its progress, as a class would see it
        pass
    shot = SHOTS / f"projector-{path or 'home'}{'-teacher' if teacher else ''}.png"
    viewport = page.viewport_size
    height = page.evaluate(f"document.querySelector({MAIN!r}).scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], min(height, 12_000))})
    page.wait_for_timeout(1000)  # the charts lay themselves out again
    try:
        page.screenshot(path=shot, full_page=True)
    finally:
        page.set_viewport_size(viewport)
    return shot


@pytest.mark.parametrize("teacher", [False, True])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_photographed_at_projector_size(page, path, teacher):
    page.console.clear()
    shot = photograph(page, path, teacher)
    assert shot.stat().st_size > 10_000, "\n".join(page.console)  # a drawn page, not a blank one
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
