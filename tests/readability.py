"""How the lessons read: words per sentence, parentheses per sentence, and sentences over 45 words, in
each notebook's markdown cells (and, for comparison, in the keras.io guide's prose).

`python tests/readability.py` prints the table; tests/test_readability.py holds each notebook to it.
Code (fenced blocks, inline `code`), headings, list markers and links' targets are left out; a sentence
ends at ".", "!" or "?" followed by a space or the end of a paragraph.
"""

import re
import sys
from pathlib import Path

import jupytext

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO.parent / "shared" / "reference" / "keras_guide_transfer_learning.md"
TARGET = dict(words=22.0, parentheses=0.35, longest=45)  # issue 28's limits per notebook
LONG = 45  # words: a sentence longer than this is counted


def prose(markdown):
    """The readable text of Markdown: no code, headings, tables, list markers or link targets."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("#", "|"))]
    # each list item is a sentence (or more) of its own, as is a bold line that introduces a list
    text = "\n".join(re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "\n", line) for line in lines)
    text = re.sub(r"^(\*\*[^*]+\*\*)\s*$", r"\1\n", text, flags=re.M)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link reads as its words
    return re.sub(r"`[^`]*`", "CODE", text)  # inline code reads as one word


def sentences(text):
    """The sentences of a text, paragraph by paragraph."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        found += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'*_])", flat) if len(s.split()) > 1]
    return found


def figures(text):
    """(sentences, words per sentence, parentheses per sentence, sentences over LONG words) of a text."""
    found = sentences(prose(text))
    words = [len(s.split()) for s in found]
    parentheses = sum(s.count("(") for s in found)
    count = max(len(found), 1)
    return len(found), sum(words) / count, parentheses / count, sum(n > LONG for n in words)


def notebook_markdown(path):
    """The markdown cells of a py:percent notebook, joined."""
    return "\n\n".join(cell.source for cell in jupytext.read(path).cells if cell.cell_type == "markdown")


def guide_prose():
    """The guide's prose: its text outside code blocks (the copy in ../shared), or None when missing."""
    return GUIDE.read_text() if GUIDE.is_file() else None


def table():
    """One row per notebook (and the guide): name, sentences, words/sentence, parentheses/sentence, long."""
    rows = [
        (path.stem, *figures(notebook_markdown(path))) for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
    ]
    guide = guide_prose()
    if guide is not None:
        rows.append(("the keras.io guide", *figures(guide)))
    return rows


if __name__ == "__main__":
    print(f"{'':28} sentences  words/sentence  parentheses/sentence  over {LONG} words")
    for name, count, words, parentheses, long in table():
        print(f"{name:28} {count:9d}  {words:14.1f}  {parentheses:20.2f}  {long:13d}")
    print(f"{'target (issue 28)':28} {'':9}  {TARGET['words']:14.1f}  {TARGET['parentheses']:20.2f}  {0:13d}")
    sys.exit(0)
