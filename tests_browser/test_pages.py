"""Real-browser test: headless Chromium opens every page of a freshly cloned lab, moves the α
slider, waits for the figures and checks that no error box is shown; screenshots go to
``$QML_LAB_SCREENSHOTS`` (default: tests_browser/screenshots).

Run: ``python -m pytest tests_browser`` (needs Debian's chromium and ``pip install playwright``).
"""
import os
import pathlib

import pytest

from tests_browser.lab_server import ERRORS, FIGURE, METRIC, alpha_slider, browser, lab, wait_idle

SHOTS = pathlib.Path(os.environ.get("QML_LAB_SCREENSHOTS", pathlib.Path(__file__).parent / "screenshots"))
PAGES = {  # path (some controls in the URL, as a shared link has them; quick, paper being the default) -> figures
    "": 0,
    "playground?preset=quick": 2,
    "playground?preset=quick&shots=1000&noise=0.001": 2,  # the QNN on a device: shots and depolarising noise
    "phase?preset=quick&runs=1&alpha_step=0.2": 1,
    "phase?preset=quick&runs=1&alpha_step=0.2&models=qnn,mlp,logreg,mlp-4": 1,  # any chosen models on one chart
    "phase?preset=quick&runs=1&alpha_step=0.2&models=qnn,mlp,logreg,mlp-4&view=capacity": 1,  # issue 15's view
    "unlearning?preset=quick&model=mlp&runs=1&methods=finetune": 2,
    "unlearning?preset=quick&runs=1&methods=finetune&models=qnn,logreg": 3,  # a classical control beside the QNN
    "landscape?preset=quick&models=mlp": 5,  # §5's views and the controls' own curvature (QNN, MLP, logistic regression)
    "landscape?preset=quick&models=mlp&controls=qnn,logreg,mlp-es": 5,  # the controls' curvature, chosen in the link
    "data": 1,
    "data?dataset=xxz": 2,  # the chain, and what a measurement gives of its states
    "phase?preset=quick&dataset=xxz&runs=1&alpha_step=0.2&models=qnn,mlp,mlp-correlators": 1,  # MLP on measurements
    "phase?preset=quick&dataset=xxz&runs=1&alpha_step=0.2&view=capacity&models=qnn,mlp,mlp-probabilities,"
    "logreg-correlators,mlp-shadows100,logreg-shadows1000": 1,  # the family "classical on measurements"
    "summary?preset=quick": 0,  # the lesson's last step: its views' captions, then the verdict on each claim
}


@pytest.fixture(scope="module")
def page():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with lab() as url, browser() as tab:
        tab.base_url = url
        yield tab


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders_its_figures_without_an_error(page, path):
    page.goto(f"{page.base_url}/{path}")
    page.wait_for_selector("h1", timeout=60_000)
    wait_idle(page, timeout_s=900)  # the landscape's exact 8221 × 8221 MLP Hessians take a while on 2 cores
    if PAGES[path]:
        page.wait_for_function(f"document.querySelectorAll({FIGURE!r}).length >= {PAGES[path]}", timeout=180_000)
    page.screenshot(path=SHOTS / f"{path.split('?')[0] or 'home'}{'-' + path.split('=')[-1] if '=' in path else ''}.png",
                    full_page=True)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()


def test_the_last_step_states_each_claim_s_verdict_as_the_readme_does(page):
    """The verdicts on the page are those of ``measured`` (which tests/test_measured.py holds
    to the README's tables), each paragraph whole, with the grid of every part beside them."""
    from qml_core.reporting.captions import claims_finding
    from qml_core.reporting.measured import claim_table, measured_claims

    page.goto(f"{page.base_url}/summary?preset=quick")
    page.wait_for_selector("h1", timeout=60_000)
    wait_idle(page)
    text = page.locator("body").inner_text()
    for paragraph in claims_finding(claim_table(measured_claims())):
        assert paragraph.replace("**", "") in text
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    assert page.locator(ERRORS).count() == 0


def test_moving_the_alpha_slider_retrains_and_updates_url_and_figures(page):
    page.goto(f"{page.base_url}/playground?preset=quick&alpha=0.3")
    wait_idle(page)
    before = page.locator(METRIC).all_inner_texts()
    slider = alpha_slider(page)
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_url("**alpha=0.4**", timeout=30_000)
    wait_idle(page)
    page.wait_for_selector(FIGURE)
    after = page.locator(METRIC).all_inner_texts()
    page.screenshot(path=SHOTS / "playground-alpha-0.4.png", full_page=True)
    assert page.locator(ERRORS).count() == 0
    assert len(after) == 4 and after != before  # new runs at α = 0.4 replaced the α = 0.3 metrics


@pytest.mark.parametrize("query, shown", [("shots=0", "shots='0'"), ("noise=1.5", "noise='1.5'")])
def test_a_bad_device_value_in_a_link_is_one_line(page, query, shown):
    """Zero shots or a noise level above 1 cannot be chosen; from a link each is one notice,
    and the page falls back to the exact, noiseless device."""
    page.goto(f"{page.base_url}/playground?preset=quick&{query}")
    wait_idle(page)
    notices = page.locator("[data-testid='stAlertContentWarning'] [data-testid='stMarkdownContainer']").all_inner_texts()
    assert [n for n in notices if shown in n] and all("\n" not in n.strip() for n in notices if shown in n)
    assert page.locator(ERRORS).count() == 0


def test_a_deep_link_as_a_fresh_servers_first_request_runs_through_app_py(page):
    """Streamlit would run pages/phase.py alone (file names as navigation, no teacher mode)."""
    with lab(clone=False) as url:
        tab = page.context.browser.new_page()  # the module's browser: one Playwright per process
        tab.goto(f"{url}/phase?preset=quick&runs=1&alpha_step=0.2")
        tab.wait_for_selector("text=Teacher mode", timeout=60_000)
        nav = tab.inner_text("[data-testid='stSidebarNav']")
        assert "Poisoning playground" in nav and "Phase diagram" in nav
        assert tab.inner_text("h1") == "Phase diagram"
        assert "alpha_step=0.2" in tab.url


def test_typing_a_model_s_name_and_enter_adds_that_model_only(page):
    """Streamlit's multiselect put "Select 2 matches" first for "MLP (1)" (also "MLP (16, 4)"), and
    "Select all" (12 models) while the typed text had not reached the filter: Enter took it."""
    page.goto(f"{page.base_url}/phase?preset=quick&runs=1&alpha_step=0.2")
    wait_idle(page)
    box = page.locator("[data-testid='stMultiSelect']").first
    box.locator("input").first.click()
    assert not [o for o in page.locator("[role='option']").all_inner_texts() if o.startswith("Select ")]
    box.locator("input").first.type("MLP (1)", delay=50)
    page.wait_for_function("document.querySelectorAll(\"[role='option']\").length === 1", timeout=10_000)
    box.locator("input").first.press("Enter")
    page.wait_for_url("**models=qnn%2Cmlp%2Cmlp-1&**", timeout=30_000)
    wait_idle(page)
    assert "models=qnn%2Cmlp%2Cmlp-1&" in page.url and page.locator(ERRORS).count() == 0
