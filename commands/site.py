"""`make site`: the course as a static website in build/site/, from the notebooks the last `make run` executed.

It never runs a notebook: it renders the executed copies in build/executed/ (with their outputs and
figures), the README as the front page, INSTRUCTOR.md and docs/*.md, with Sphinx, MyST-NB (execution
off) and sphinx-book-theme. The sources are assembled in build/site-src/: each notebook gets a banner
saying how it was made (what `make run` recorded in its metadata, helpers/provenance.py) and its
reference solutions folded behind a toggle. The site needs no network to build or to view: it fetches
nothing from another host, searches its own index, and works from a local web server or a copied folder.
"""

import html.parser
import json
import os
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from commands import argument_parser
from commands.student import SOLUTION_TAG
from helpers.config import REPO_ROOT, SettingsError, load_settings
from helpers.provenance import RECORD_KEY

RECORD_FIELDS = ("profile", "data", "base", "weights", "backend", "commit", "date")
# The menu's order of docs/ pages, as the README lists them; a page not named here comes after, by name.
DOC_ORDER = (
    "settings",
    "troubleshooting",
    "guide-fixes",
    "using-the-model",
    "checks",
    "backends",
    "benchmarks",
    "maintaining",
)

CONF_PY = '''"""Sphinx settings of the course's site, written by commands/site.py (edit them there)."""

project = "Transfer learning and fine-tuning with Keras 3"
html_title = project
extensions = ["myst_nb"]
nb_execution_mode = "off"  # the notebooks were executed by `make run`; the site only renders them
nb_ipywidgets_js = {}  # no widget scripts from a CDN
nb_merge_streams = True
myst_heading_anchors = 3  # links to a section of a page, as GitHub makes them
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "footer_content_items": [],  # its default says "By Author name not set"
}
# An empty mode makes the theme's script log a console error on every page.
html_context = {"default_mode": "auto"}
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# Sphinx would load MathJax from a CDN on a page with math: the course has none, and the site stays offline.
mathjax_path = "about:blank"
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
'''


def executed_notebooks(build_dir):
    """The executed copies of the course's notebooks in `build_dir`/executed, in order."""
    return sorted((Path(build_dir) / "executed").glob("[0-9][0-9]_*.ipynb"))


def banner(record):
    """The Markdown of a notebook page's banner: how it was made and, for stand-in data or weights, the warning."""
    if not record:
        return (
            "```{note}\nHow this page was made was not recorded: `make run` records it when it executes "
            "the notebook.\n```\n"
        )
    made = ", ".join(f"{name} **{record.get(name, '?')}**" for name in RECORD_FIELDS)
    text = f"```{{admonition}} How this page was made\n:class: note course-run\nExecuted by `make run`: {made}.\n```\n"
    if record.get("warning"):
        warning = record["warning"].removeprefix("Warning: ")  # the admonition's title says it
        text += f"\n```{{warning}}\n{warning[:1].upper()}{warning[1:]}\n```\n"
    return text


def site_notebook(notebook):
    """The executed `notebook` (a dict, changed in place) as the site shows it: banner first, solutions folded."""
    cells = notebook["cells"]
    for cell in cells:
        tags = cell.setdefault("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and SOLUTION_TAG in tags:
            cell["metadata"]["tags"] = [*tags, "hide-cell"]
            cell["metadata"]["mystnb"] = {
                "code_prompt_show": "Show the reference solution",
                "code_prompt_hide": "Hide the reference solution",
            }
    record = notebook["metadata"].get(RECORD_KEY)
    banner_cell = {"cell_type": "markdown", "id": "course-run", "metadata": {}, "source": banner(record)}
    # Right under the title: split the first cell after its "# " line when it has one.
    first = cells[0] if cells else None
    source = "".join(first["source"]) if first and first["cell_type"] == "markdown" else ""
    if source.startswith("# "):
        title, _, rest = source.partition("\n")
        first["source"] = title + "\n"
        cells[1:1] = [banner_cell, {"cell_type": "markdown", "id": "course-intro", "metadata": {}, "source": rest}]
    else:
        cells.insert(0, banner_cell)
    return notebook


def front_page(readme, notebook_names, doc_names):
    """The README as the site's front page, with the (hidden) tables of contents Sphinx builds its menu from."""
    notebooks = "\n".join(f"notebooks/{name}" for name in notebook_names)
    docs = "\n".join(doc_names)
    return (
        Path(readme).read_text()
        + f"\n```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n{notebooks}\n```\n"
        + f"\n```{{toctree}}\n:hidden:\n:caption: Guides\n\n{docs}\n```\n"
    )


def assemble_source(source, notebooks, repo=REPO_ROOT):
    """Write the site's sources to the folder `source` (replaced): conf.py, index.md, the docs, the notebooks."""
    source, repo = Path(source), Path(repo)
    shutil.rmtree(source, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    (source / "docs").mkdir()
    (source / "conf.py").write_text(CONF_PY)
    doc_names = []
    docs = sorted((repo / "docs").glob("*.md"), key=lambda p: ((DOC_ORDER + (p.stem,)).index(p.stem), p.stem))
    for doc in docs:
        # On GitHub a page links the README; in the site the README is the front page, index.
        (source / "docs" / doc.name).write_text(doc.read_text().replace("../README.md", "../index.md"))
        doc_names.append(f"docs/{doc.stem}")
    (source / "INSTRUCTOR.md").write_text((repo / "INSTRUCTOR.md").read_text().replace("README.md", "index.md"))
    doc_names.append("INSTRUCTOR")
    for path in notebooks:
        notebook = json.loads(Path(path).read_text())
        (source / "notebooks" / path.name).write_text(json.dumps(site_notebook(notebook), indent=1))
    names = [path.stem for path in notebooks]
    (source / "index.md").write_text(front_page(repo / "README.md", names, doc_names))


def build_html(source, output):
    """Run Sphinx's HTML builder on `source` into `output` (replaced); returns Sphinx's exit status."""
    from sphinx.cmd.build import build_main  # here, not at the top: Sphinx takes a second to import

    shutil.rmtree(output, ignore_errors=True)
    doctrees = Path(source) / "_doctrees"
    return build_main(["-b", "html", "-q", "-d", str(doctrees), str(source), str(output)])


class _LinkParser(html.parser.HTMLParser):
    """Collects a page's ids and the URLs it links or loads, as (tag, attribute, url)."""

    def __init__(self):
        super().__init__()
        self.ids, self.urls = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.urls.append((tag, name, attrs[name]))


def _parse(page):
    parser = _LinkParser()
    parser.feed(page.read_text(errors="replace"))
    return parser


def external_fetches(site):
    """Every URL of another host that a page of `site` would load by itself (scripts, styles, images, fonts)."""
    found = []
    for page in site_pages(site):
        for tag, attribute, url in _parse(page).urls:
            loads = attribute == "src" or tag == "link"  # <a href> is followed only when clicked
            if loads and urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                found.append(f"{page.relative_to(site)}: <{tag} {attribute}={url}>")
    for sheet in sorted(Path(site).rglob("*.css")):
        if "url(http" in sheet.read_text(errors="replace").replace('"', "").replace("'", ""):
            found.append(f"{sheet.relative_to(site)}: url(http...)")
    return found


def site_pages(site):
    """The HTML pages of `site` (not the theme's templates under _static/)."""
    return sorted(page for page in Path(site).rglob("*.html") if "_static" not in page.relative_to(site).parts)


def broken_links(site):
    """Every link or load inside `site` whose file, or whose #anchor in that file, does not exist."""
    site = Path(site)
    pages = {page: _parse(page) for page in site_pages(site)}
    broken = []
    for page, parsed in pages.items():
        for tag, attribute, url in parsed.urls:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue  # another host (a link to click) or mailto:, javascript:
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {url} (no such file)")
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{page.relative_to(site)}: {url} (no such anchor)")
    return broken


def main(argv=None):
    """Build the site; return 2 when there is nothing executed to render, 1 when the build or its checks fail, else 0."""
    parser = argument_parser("make site", __doc__)
    parser.add_argument("--build-dir", type=Path, help="the build folder (default: COURSE_BUILD_DIR or build/)")
    args = parser.parse_args(argv)
    try:
        build_dir = args.build_dir or load_settings().build_dir
    except SettingsError as error:
        print(f"Settings problem: {error}")
        return 2
    notebooks = executed_notebooks(build_dir)
    if not notebooks:
        print(f"No executed notebooks in {build_dir / 'executed'}: run `make run` first (make site runs none).")
        return 2
    started = time.perf_counter()
    source, site = build_dir / "site-src", build_dir / "site"
    assemble_source(source, notebooks)
    if build_html(source, site) != 0:
        print(f"Sphinx could not build the site (its messages are above); sources in {source}")
        return 1
    problems = [f"fetches from another host: {line}" for line in external_fetches(site)]
    problems += [f"broken link: {line}" for line in broken_links(site)]
    if problems:
        print("\n".join(problems))
        return 1
    site = Path(os.path.relpath(site)) if site.is_relative_to(Path.cwd()) else site
    print(
        f"The site: {site / 'index.html'} ({len(notebooks)} notebook pages, built in "
        f"{time.perf_counter() - started:.0f} s). Open that file, copy the folder anywhere, or serve it:\n"
        f"    python3 -m http.server --directory {site} 8000    # then open http://localhost:8000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
