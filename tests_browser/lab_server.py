"""A real lab for browser tests and UI benchmarks: a fresh clone of this repository, its
Streamlit server on a free port with a private cache, and headless Chromium to drive it.

Chromium is Debian's (``apt install chromium``), driven by Playwright's Python package
(``pip install playwright``; no browser download needed).
"""
import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
FIGURE = "[data-testid='stPlotlyChart'] .main-svg"
METRIC = "[data-testid='stMetricValue']"  # a metric's value (the playground shows four)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab(clone: bool = True):
    """Yield the base URL of a running lab; a fresh ``git clone`` of HEAD unless clone=False.
    Its cache is private and empty, unless ``$QML_LAB_BROWSER_CACHE`` names a cache to use (e.g.
    one that ``reproduce`` filled, to photograph finished figures; its code version must match)."""
    with tempfile.TemporaryDirectory(prefix="qml-lab-browser-") as tmp:
        root = REPO
        if clone:
            root = pathlib.Path(tmp) / "clone"
            subprocess.run(["git", "clone", "-q", str(REPO), str(root)], check=True)
        port = free_port()
        cache = os.environ.get("QML_LAB_BROWSER_CACHE") or str(pathlib.Path(tmp) / "cache")
        env = dict(os.environ, QML_LAB_CACHE=cache)
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                   "--server.port", str(port)], cwd=root, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://localhost:{port}"
        try:
            wait_healthy(url)
            yield url
        finally:
            os.killpg(server.pid, 15)
            server.wait(30)


def wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"the lab at {url} did not start within {timeout} s")


@contextlib.contextmanager
def browser(width: int = 1400, height: int = 1000):
    """A headless Chromium page, width × height (1280 × 720: a classroom projector)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium.new_page(viewport={"width": width, "height": height})
        finally:
            chromium.close()


@contextlib.contextmanager
def cpu_hog(processes: int | None = None):
    """Every core busy with other work (one spinning process per core) for the block."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes or os.cpu_count() or 1)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


BUSY_JS = """(Array.from(document.querySelectorAll('button')).some(b => b.innerText.trim() === 'Cancel')
              || !!document.querySelector('[data-testid="stStatusWidget"] button')
              || document.body.innerText.includes('Loading the simulation engine'))"""  # a job, a script, the engine


def wait_idle(page, timeout_s: float = 300, settle_s: float = 2.0) -> None:
    """Wait until the page's jobs are done: no Cancel button and no running script, for
    ``settle_s`` on end (right after a navigation or a slider move the page looks idle until
    the rerun reaches it)."""
    page.evaluate("window.__qmlIdleSince = undefined")
    page.wait_for_function(
        """(settleMs) => {
            const busy = """ + BUSY_JS + """;
            if (busy) { window.__qmlIdleSince = undefined; return false; }
            window.__qmlIdleSince = window.__qmlIdleSince ?? Date.now();
            return Date.now() - window.__qmlIdleSince >= settleMs;
        }""", arg=settle_s * 1000, timeout=timeout_s * 1000, polling=200)


def alpha_slider(page):
    """The α slider's keyboard handle (a hidden range input in Streamlit's react-aria slider)."""
    return page.locator("[data-testid='stSlider'] input[type='range']").first
