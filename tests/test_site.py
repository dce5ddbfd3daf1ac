"""The course as a website: every notebook executed as `make run` does (smoke), `make site`, then Chromium.

This is where `make test` executes the course's notebooks on TensorFlow, reference solutions included
(nbmake did it before, one test per notebook): the executed copies a notebook failure is read from are
the ones the site is built from, so the notebooks run once. Then `make site` (commands.site) builds the
site, under a minute, with every internal link resolving, and headless Chromium (Debian's package, driven
by Playwright, as in tests/test_browser.py) opens it from a local web server: every notebook page loads with
no console error and no request to another host; notebook 06's page shows a figure that has loaded;
searching for BatchNormalization lists notebook 03; the front page links every notebook; a reference
solution stays hidden until its toggle is clicked. The site is opened once more from a copied folder
(file://). A screenshot of notebook 06's page is saved in build/site-screens/. Without Chromium the page
checks skip (the notebooks and the build are still checked), unless COURSE_REQUIRE_BROWSER=1 (CI).
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS

from commands import site
from commands.run_course import notebook_paths
from helpers.config import REPO_ROOT
from helpers.provenance import RECORD_KEY

SCREENS = REPO_ROOT / "build" / "site-screens"
SITE_BUILD_BUDGET = 60  # seconds for `make site` after `make run`, on 2 cores


def notebook_failures(executed_dir, summary):
    """The runner's summary and, for each executed copy holding an error, the end of its traceback."""
    lines = [summary[-3000:]]
    for path in sorted(executed_dir.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
                    lines.append(f"--- {path.name}:\n{trace[-2500:]}")
    return "\n".join(lines)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """`python -m http.server`'s handler, without a log line per request."""

    def log_message(self, *args):
        pass


def serve(folder):
    """A web server on 127.0.0.1 for `folder` in a thread, as `python -m http.server` serves it: (server, url)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class PageWatch:
    """What a page did while it loaded: console errors, uncaught exceptions, requests to other hosts."""

    def __init__(self, page, allowed):
        self.errors, self.foreign = [], []
        self.allowed = allowed
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.route("**/*", self.route)

    def route(self, route):
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob", "about") or (parts.scheme, parts.netloc) in self.allowed:
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # Sphinx 11's deprecations, in MyST's code
def test_the_notebooks_run_and_the_site_shows_them(tmp_path):
    build = tmp_path / "build"
    env = {**os.environ, "COURSE_BUILD_DIR": str(build)}
    env.setdefault("COURSE_NOTEBOOK_TIMEOUT", "600")
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "commands.run_course"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    print(f"{run.stdout}\nthe notebooks: {time.perf_counter() - started:.0f} s")  # shown by pytest -s or on failure
    executed = sorted((build / "executed").glob("*.ipynb"))
    assert run.returncode == 0, notebook_failures(build / "executed", run.stdout + run.stderr)
    assert [path.name for path in executed] == [path.name for path in notebook_paths()]
    record = json.loads(executed[5].read_text())["metadata"][RECORD_KEY]
    assert record["profile"] == "smoke" and record["warning"].startswith("Warning: this run uses synthetic images")

    started = time.perf_counter()
    assert site.main(["--build-dir", str(build)]) == 0  # which also walks every internal link
    seconds = time.perf_counter() - started
    print(f"make site: {seconds:.1f} s")
    assert seconds < SITE_BUILD_BUDGET, f"make site took {seconds:.0f} s"
    html = build / "site"
    assert site.broken_links(html) == [] and site.external_fetches(html) == []

    if not CHROMIUM:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail("COURSE_REQUIRE_BROWSER=1 but no chromium executable is on the PATH")
        pytest.skip(
            "the notebooks ran and the site built; Chromium is not installed (Debian: apt-get install chromium)"
        )
    copied = tmp_path / "copied-site"
    shutil.copytree(html, copied)
    server, url = serve(html)
    started = time.perf_counter()
    try:
        check_pages_in_chromium(url, [path.stem for path in executed], copied)
    finally:
        server.shutdown()
    print(f"the pages in Chromium: {time.perf_counter() - started:.0f} s")


def check_pages_in_chromium(url, names, copied):
    """Every check of the site in a browser, served at `url`, and from the folder `copied` through file://."""
    from playwright.sync_api import sync_playwright

    local = {tuple(urlsplit(url)[:2])}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            watch = PageWatch(page, local)
            for name in names:
                page.goto(f"{url}/notebooks/{name}.html", wait_until="load")
                assert page.locator(".course-run").count() == 1, f"{name}: no banner saying how the page was made"
                assert "synthetic images" in page.locator(".admonition.warning").first.inner_text(), name
                if name.startswith("06_"):
                    loaded = page.eval_on_selector_all(
                        ".cell_output img", "images => images.filter(i => i.complete && i.naturalWidth > 0).length"
                    )
                    assert loaded >= 1, "notebook 06's page shows no figure that loaded"
                    SCREENS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
                    assert (SCREENS / f"{name}.png").stat().st_size > 10_000
            assert watch.errors == [], watch.errors
            assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"

            page.goto(f"{url}/index.html")
            linked = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.href)")
            missing = [name for name in names if not any(href.endswith(f"notebooks/{name}.html") for href in linked)]
            assert missing == [], f"the front page does not link {missing}"

            page.goto(f"{url}/search.html?q=BatchNormalization")
            results = page.locator("#search-results ul.search li a")
            results.first.wait_for(timeout=30_000)
            hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
            assert any("notebooks/03_batchnorm_and_compile" in href for href in hrefs), hrefs

            page.goto(f"{url}/notebooks/{names[1]}.html")
            toggle = page.locator("details.hide").first
            solution = toggle.locator(".cell_input")
            assert not solution.is_visible(), "a reference solution is shown before its toggle is clicked"
            toggle.locator("summary").click()
            assert solution.is_visible() and "reference" in solution.inner_text()
            assert watch.errors == [] and watch.foreign == [], (watch.errors, watch.foreign)

            # A copied folder, opened as files: a notebook page and the search, with nothing fetched from a host.
            files = browser.new_page()
            file_watch = PageWatch(files, {("file", "")})
            files.goto((copied / "search.html").as_uri() + "?q=BatchNormalization")
            files.locator("#search-results ul.search li a").first.wait_for(timeout=30_000)
            files.goto((copied / "notebooks" / f"{names[5]}.html").as_uri())
            assert files.locator(".course-run").count() == 1
            assert file_watch.foreign == [], file_watch.foreign
        finally:
            browser.close()
