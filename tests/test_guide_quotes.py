"""What docs/guide-fixes.md says the guide says is what the guide says (the copy in ../shared/reference)."""

import pytest
from support import REQUIRE_REAL

from helpers.config import REPO_ROOT, SHARED_DIR

GUIDE = SHARED_DIR / "reference" / "keras_guide_transfer_learning.md"
# docs/guide-fixes.md's "smaller slips": each quote of the guide's text, and the guide's code that contradicts it.
SLIPS = [
    ("using a `Normalization` layer", "scale_layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1)"),
    ("After 10 epochs", "epochs = 1"),
    ("The only built-in layer that has non-trainable weights is the `BatchNormalization` layer", ""),
]


@pytest.fixture(scope="module")
def guide():
    if not GUIDE.exists():
        if REQUIRE_REAL:
            pytest.fail(f"COURSE_REQUIRE_REAL=1 but the guide's copy is missing: {GUIDE}")
        pytest.skip(f"the guide's copy is not there: {GUIDE}")
    return GUIDE.read_text()


@pytest.mark.parametrize("quote, code", SLIPS, ids=[quote[:30] for quote, _ in SLIPS])
def test_the_docs_quote_the_guide(guide, quote, code):
    page = " ".join((REPO_ROOT / "docs" / "guide-fixes.md").read_text().split())
    assert quote in page, f"docs/guide-fixes.md no longer quotes {quote!r}: update SLIPS"
    assert quote in guide, f"the guide does not say {quote!r}"
    assert code in guide, f"the guide's code does not hold {code!r}"


def test_the_fine_tuning_run_before_after_10_epochs_has_one_epoch(guide):
    before = guide[: guide.index("After 10 epochs")]
    assert before.rfind("epochs = 1") > before.rfind("epochs = 2") > 0, "the last fit() before the sentence"
