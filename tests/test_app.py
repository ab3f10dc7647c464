"""AppTest smoke tests of every page through app.py's navigation (quick preset)."""
from streamlit.testing.v1 import AppTest


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    if page is not None:
        at.switch_page(page).run()
    return at


def test_home_page_renders():
    at = open_page()
    assert not at.exception
    assert "quantum" in at.title[0].value


def test_playground_trains_both_models_with_the_quick_preset():
    at = open_page("pages/playground.py")
    assert not at.exception, at.exception
    assert at.slider[0].value == 0.3
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"QNN validation accuracy", "QNN train accuracy (poisoned labels)",
                            "MLP validation accuracy", "MLP train accuracy (poisoned labels)"}
    assert all(0.0 <= float(v) <= 1.0 for v in metrics.values())
    at.slider[0].set_value(0.0).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1


def test_playground_reports_a_bad_digit_pair():
    at = open_page("pages/playground.py")
    at.number_input[1].set_value(1).run()
    assert at.error and "two different digits" in at.error[0].value
