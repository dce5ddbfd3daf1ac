"""The lessons' prose, measured (tests/readability.py): each notebook within issue 28's limits, or, until it
gets there, no worse than its ceiling below. Lower a ceiling when a rewrite improves a notebook; a
notebook within the limits has no ceiling of its own. `python tests/readability.py` prints the table."""

import pytest
from readability import LONG, TARGET, figures, prose, sentences, table

# notebook: (words per sentence, parentheses per sentence, sentences over 45 words), for a notebook over
# TARGET while issue 28's work on it is still to do; none is left.
CEILINGS = {}


@pytest.mark.parametrize("row", [row for row in table() if row[0][:2].isdigit()], ids=lambda row: row[0])
def test_each_notebook_reads_within_its_limits(row):
    name, count, words, parentheses, long = row
    most_words, most_parentheses, most_long = CEILINGS.get(name, (TARGET["words"], TARGET["parentheses"], 0))
    assert count > 0, "the notebook has prose"
    assert round(words, 1) <= most_words, f"{words:.1f} words per sentence, at most {most_words}"
    assert round(parentheses, 2) <= most_parentheses, (
        f"{parentheses:.2f} parentheses per sentence, at most {most_parentheses}"
    )
    assert long <= most_long, f"{long} sentences over {LONG} words, at most {most_long}"


def test_the_measure_counts_what_it_says():
    text = "One short sentence here. A second one (with an aside) follows!\n\n- A list item is a sentence too"
    assert sentences(prose(text)) == [
        "One short sentence here.",
        "A second one (with an aside) follows!",
        "A list item is a sentence too",
    ]
    count, words, parentheses, long = figures(text + "\n\n" + " ".join(["word"] * 46) + ".")
    assert (count, long) == (4, 1) and parentheses == 0.25
    assert sentences(prose("```python\nx = f(1).\n```\nCalls `f(x). g` run.")) == ["Calls CODE run."]


def test_a_ceiling_is_only_kept_while_it_is_needed():
    measured = {row[0]: row[2:] for row in table()}
    for name in CEILINGS:
        words, parentheses, long = measured[name]
        over = round(words, 1) > TARGET["words"] or round(parentheses, 2) > TARGET["parentheses"] or long > 0
        assert over, f"{name} reads within the limits now: remove its ceiling"
