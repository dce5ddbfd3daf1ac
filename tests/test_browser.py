"""JupyterLab as a learner meets it, in a real browser: open notebook 01, run all cells, check what ran.

Starts JupyterLab the way `make lab` does (commands.lab) on a free localhost port in the smoke profile,
and drives headless Chromium (Debian's package) with Playwright. Skips when Chromium is missing, unless
COURSE_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium), where that is a failure.
A screenshot is saved as build/browser/01_in_jupyterlab.png.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from support import use_ordinary_kernels

from commands import lab
from helpers.config import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOK = "01_trainable_weights.ipynb"
LAST_OUTPUT = "Correct: only the last layer's kernel and bias changed in training."
# Without these, Chromium keeps trying to reach Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def ordinary_kernels(monkeypatch):
    """What is tested here is how learners' kernels start: none is forked from the tests' zygote (conftest.py)."""
    use_ordinary_kernels(monkeypatch)


@pytest.fixture
def jupyter_lab(tmp_path):
    """A running JupyterLab on the course's notebooks: (base URL, token)."""
    if not CHROMIUM:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail("COURSE_REQUIRE_BROWSER=1 but no chromium executable is on the PATH")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    lab.install_settings()
    # A copy of the notebooks: JupyterLab saves what it opens, and the course's own files stay untouched.
    notebooks = tmp_path / "notebooks"
    shutil.copytree(REPO_ROOT / "notebooks", notebooks)
    port, token = free_port(), "course-browser-test"
    server = subprocess.Popen(
        [
            *lab.lab_command(port=port, token=token, open_browser=False, notebook_dir=notebooks),
            "--LabApp.expose_app_in_browser=True",  # lets the test read the notebook's model
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "lab.log", "wb"),
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield url, token
    server.terminate()
    server.wait(timeout=30)


# JavaScript run in the page, on the notebook's model (the lab is started with expose_app_in_browser).
CODE_CELL_OUTPUTS = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const outputs = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type === 'code') outputs.push({ran: cell.executionCount !== null, outputs: cell.outputs.toJSON()});
    }
    return outputs;
}"""
# Run All before the kernel is connected skips every cell without a word: wait for this first.
KERNEL_READY = """() => {
    const session = window.jupyterapp?.shell.currentWidget?.sessionContext;
    const kernel = session?.session?.kernel;
    return Boolean(session?.isReady && kernel?.connectionStatus === 'connected' && kernel.status === 'idle');
}"""
NOTEBOOK_STARTED = f"""() => {{
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.sessionContext.session?.kernel?.status === 'busy' || ({CODE_CELL_OUTPUTS})().some(cell => cell.ran);
}}"""
NOTEBOOK_FINISHED = f"""() => {{
    const panel = window.jupyterapp?.shell.currentWidget;
    if (!panel?.content?.model || panel.sessionContext?.session?.kernel?.status !== 'idle') return false;
    const cells = ({CODE_CELL_OUTPUTS})();
    const failed = cells.some(cell => cell.outputs.some(output => output.output_type === 'error'));
    return failed || cells.every(cell => cell.ran);
}}"""


def text_of(output):
    """The text a stream or a plain-text result shows ("" for images and the like)."""
    text = output.get("text", output.get("data", {}).get("text/plain", ""))
    return "".join(text) if isinstance(text, list) else text


def run_all_cells(page, attempts=3):
    """Run > Run All Cells, until the kernel has started on it (the menu can lag behind a busy page)."""
    for _ in range(attempts):
        try:
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click(timeout=10_000)
            page.wait_for_function(NOTEBOOK_STARTED, timeout=30_000)
            return
        except Exception:  # Playwright's TimeoutError: close any open menu and try again
            page.keyboard.press("Escape")
            page.keyboard.press("Escape")
    raise AssertionError("Run All Cells did not start the notebook")


def test_notebook_01_runs_in_jupyterlab_without_a_dialog(jupyter_lab):
    from playwright.sync_api import sync_playwright

    url, token = jupyter_lab
    screenshot = REPO_ROOT / "build" / "browser" / "01_in_jupyterlab.png"  # kept after the run, for people
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_function(KERNEL_READY, timeout=120_000)
            assert page.locator(".jp-Dialog").count() == 0, "a dialog (such as Select Kernel) appeared"
            listing = page.locator(".jp-DirListing-itemText").all_inner_texts()
            assert NOTEBOOK in listing and not any(name.endswith(".py") for name in listing), listing

            run_all_cells(page)
            # Read the notebook's model, not the page: JupyterLab renders only the cells in view, so text
            # off screen may be missing from the DOM. Done when every code cell ran or one failed.
            page.wait_for_function(NOTEBOOK_FINISHED, timeout=300_000)
            cells = page.evaluate(CODE_CELL_OUTPUTS)
            failures = [
                output
                for cell in cells
                for output in cell["outputs"]
                if output["output_type"] == "error" or "Traceback" in text_of(output)
            ]
            assert failures == [], failures
            assert all(cell["ran"] for cell in cells)
            assert LAST_OUTPUT in "".join(text_of(output) for output in cells[-1]["outputs"]), cells[-1]
            assert page.locator(".jp-Dialog").count() == 0
            assert page.get_by_text("official Jupyter news").count() == 0, "the news pop-up appeared"
        finally:
            page.screenshot(path=str(screenshot))  # also when something failed: it shows what a learner saw
            browser.close()
    assert screenshot.stat().st_size > 10_000
