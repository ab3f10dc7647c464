"""Soak test of the dashboard's state under load (issue 13): with every core busy with other
work, ten long jobs started from deep links on the playground and the loss-landscape page;
after each finishes, every control still holds the link's value (the URL, which the page
rewrites from its controls on every run, and the α slider on screen), and every navigation
shows its page heading within 10 s (no blank page).

Run: ``python -m pytest tests_browser/test_state.py -q`` (several minutes: the jobs are real).
"""
import urllib.parse

from tests_browser.lab_server import ERRORS, alpha_slider, browser, cpu_hog, lab, wait_idle

LINKS = [  # ten long jobs: six playground runs (fresh seeds), four landscape views (fresh model × α × directions)
    *[f"playground?preset=quick&attack=feature-noise&alpha=0.6&seed={seed}&digit_a=3&digit_b=8" for seed in range(11, 17)],
    "landscape?preset=quick&models=qnn&model=qnn&alpha=0.4&directions=hessian",
    "landscape?preset=quick&models=qnn&model=mlp&alpha=0.2&directions=hessian",
    "landscape?preset=quick&models=qnn&model=qnn&alpha=0.2&directions=random",
    "landscape?preset=quick&models=qnn&model=mlp&alpha=0.3&directions=random",
]


def query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def test_controls_keep_the_links_values_through_long_jobs_on_a_busy_machine():
    resets = []
    with lab() as base, browser() as page, cpu_hog():
        for link in LINKS:
            page.goto(f"{base}/{link}")
            page.wait_for_selector("h1", timeout=10_000)  # not a blank page
            wait_idle(page, timeout_s=900)
            wanted, shown = query(link), query(page.url)
            changed = {k: (v, shown.get(k)) for k, v in wanted.items() if shown.get(k) != v}
            if "alpha" in wanted and link.startswith("playground"):
                on_screen = alpha_slider(page).input_value()
                if float(on_screen) != float(wanted["alpha"]):
                    changed["alpha slider"] = (wanted["alpha"], on_screen)
            if changed:
                resets.append((link, changed))
            assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
    assert resets == []
