"""`make site`'s parts, fast: the record `make run` writes, the banner, folded solutions, the link checks.

The whole chain (every notebook, the build, Chromium) is tests/test_site.py.
"""

import nbformat
from support import use_ordinary_kernels

from commands import run_course, site
from helpers import provenance
from helpers.config import REPO_ROOT

WARNING = "Warning: this run uses synthetic images, so the accuracies below mean nothing about real photos."


def test_make_run_records_how_it_made_the_copy(tmp_path, monkeypatch):
    use_ordinary_kernels(monkeypatch)
    monkeypatch.setenv("COURSE_DATA_SOURCE", "synthetic")
    source = tmp_path / "01_demo.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print({WARNING!r})")]), source)
    ok, _, _ = run_course.execute_notebook(source, tmp_path / "out" / "01_demo.ipynb")
    record = nbformat.read(tmp_path / "out" / "01_demo.ipynb", as_version=4).metadata[provenance.RECORD_KEY]
    assert ok
    assert {name: record[name] for name in ("profile", "data", "base", "weights", "warning")} == {
        "profile": "smoke",
        "data": "synthetic",
        "base": "mobilenet_v2_0.35",
        "weights": "none",
        "warning": WARNING,
    }
    assert record["backend"] and record["commit"] and record["date"].endswith("UTC")


def test_a_run_on_real_photos_has_no_warning():
    notebook = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "text": ["Settings: ...\n"]}]}]}
    assert provenance.printed_warning(notebook) == ""


def notebook_with_a_solution(record=None):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# 01 · A title\n\nWhat you will learn."),
            nbformat.v4.new_code_cell("answer = ..."),
            nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]}),
        ],
        metadata={provenance.RECORD_KEY: record} if record else {},
    )
    return site.site_notebook(notebook)


def test_the_banner_comes_right_under_the_title_with_the_warning():
    record = {"profile": "smoke", "data": "synthetic", "base": "b", "weights": "none", "backend": "jax"}
    cells = notebook_with_a_solution({**record, "commit": "abc1234", "date": "d", "warning": WARNING}).cells
    assert cells[0]["source"] == "# 01 · A title\n" and cells[2]["source"] == "\nWhat you will learn."
    banner = cells[1]["source"]
    assert "profile **smoke**" in banner and "backend **jax**" in banner and "commit **abc1234**" in banner
    assert "```{warning}\nThis run uses synthetic images" in banner


def test_a_copy_without_a_record_says_so():
    assert "was not recorded" in notebook_with_a_solution().cells[1]["source"]


def test_only_the_reference_solution_is_folded():
    cells = notebook_with_a_solution().cells
    assert "hide-cell" not in cells[3].metadata.get("tags", [])
    assert cells[4].metadata["tags"] == ["solution", "hide-cell"]


def test_without_executed_notebooks_one_sentence_says_to_run_make_run(tmp_path, capsys):
    assert site.main(["--build-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().out.strip().splitlines() == [
        f"No executed notebooks in {tmp_path / 'executed'}: run `make run` first (make site runs none)."
    ]


def test_the_link_checks_find_a_missing_page_a_missing_anchor_and_a_fetch_from_another_host(tmp_path):
    (tmp_path / "index.html").write_text(
        '<a href="a.html#there">ok</a> <a href="a.html#gone">anchor</a> <a href="b.html">page</a>'
        '<a href="https://keras.io/">a link to click</a> <script src="https://cdn.example/x.js"></script>'
    )
    (tmp_path / "a.html").write_text('<h1 id="there">A</h1><link rel="stylesheet" href="//fonts.example/f.css">')
    assert site.broken_links(tmp_path) == [
        "index.html: a.html#gone (no such anchor)",
        "index.html: b.html (no such file)",
    ]
    assert site.external_fetches(tmp_path) == [
        "a.html: <link href=//fonts.example/f.css>",
        "index.html: <script src=https://cdn.example/x.js>",
    ]


def test_every_doc_page_and_the_readme_link_only_what_exists():
    """The Markdown links between the README, INSTRUCTOR.md and docs/ resolve on GitHub as in the site."""
    import re

    pages = [REPO_ROOT / "README.md", REPO_ROOT / "INSTRUCTOR.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_the_readme_stays_a_front_page():
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 150


def test_a_bad_setting_still_gives_a_record(monkeypatch):
    monkeypatch.setenv("COURSE_IMAGE_SIZE", "huge")
    record = provenance.run_record({"cells": []})
    assert record["profile"].startswith("unreadable settings (COURSE_IMAGE_SIZE='huge'") and record["commit"]
