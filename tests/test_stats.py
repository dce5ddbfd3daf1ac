"""helpers.stats against SciPy's own implementations, and by hand on small cases."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from helpers.stats import detectable_split, holm, mcnemar_exact, seed_spread, wilson_interval


@pytest.mark.parametrize("correct, total", [(0, 10), (1, 10), (81, 263), (350, 360), (360, 360), (1, 1)])
def test_wilson_interval_matches_scipy(correct, total):
    expected = scipy_stats.binomtest(correct, total).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(correct, total)
    assert low == pytest.approx(expected.low, abs=1e-9) and high == pytest.approx(expected.high, abs=1e-9)


def test_one_photo_of_360_is_inside_the_interval():
    low, high = wilson_interval(350, 360)
    assert low < 349 / 360 < 351 / 360 < high


def test_wilson_interval_needs_images():
    with pytest.raises(ValueError, match="at least one image"):
        wilson_interval(0, 0)


@pytest.mark.parametrize("only_a, only_b", [(0, 0), (0, 1), (3, 0), (5, 5), (2, 9), (14, 4), (0, 30)])
def test_mcnemar_exact_matches_scipys_binomial_test(only_a, only_b):
    both_right, both_wrong = 40, 7
    right_a = [True] * both_right + [False] * both_wrong + [True] * only_a + [False] * only_b
    right_b = [True] * both_right + [False] * both_wrong + [False] * only_a + [True] * only_b
    counted_a, counted_b, p_value = mcnemar_exact(right_a, right_b)
    assert (counted_a, counted_b) == (only_a, only_b)
    expected = 1.0 if only_a + only_b == 0 else scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert p_value == pytest.approx(expected, rel=1e-12)


def test_mcnemar_by_hand():
    # 0 against 5 disagreements: both tails are 1/32, so p = 2/32
    assert mcnemar_exact([False] * 5, [True] * 5) == (0, 5, 2 / 32)


def test_mcnemar_refuses_different_images():
    with pytest.raises(ValueError, match="same images"):
        mcnemar_exact([True, False], [True])


def test_seed_spread():
    mean, spread, count = seed_spread([0.9, 0.92, 0.94])
    assert mean == pytest.approx(0.92) and spread == pytest.approx(0.02) and count == 3
    assert math.isnan(seed_spread([0.5])[1])
    assert np.isclose(seed_spread([1, 1, 1])[1], 0.0)


@pytest.mark.parametrize(
    "disagreements, expected", [(32, (23, 9)), (22, (17, 5)), (16, (13, 3)), (5, None), (6, (6, 0))]
)
def test_detectable_split_is_the_most_even_measurable_one(disagreements, expected):
    assert detectable_split(disagreements, 0.025 if disagreements != 6 else 0.05) == expected
    if expected:  # one step more even is no longer measurable, by SciPy's binomial test
        more, fewer = expected
        alpha = 0.025 if disagreements != 6 else 0.05
        assert scipy_stats.binomtest(fewer, disagreements).pvalue < alpha
        if fewer + 1 <= disagreements // 2:
            assert scipy_stats.binomtest(fewer + 1, disagreements).pvalue >= alpha


@pytest.mark.parametrize(
    "p_values, adjusted",
    [
        # by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> 0.04 raised to 0.06
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        ([0.5, 0.6], [1.0, 1.0]),  # capped at 1, then the larger p raised to it
        ([0.02, 0.02], [0.04, 0.04]),
        ([0.2], [0.2]),  # one test: nothing to correct
        ([], []),
    ],
)
def test_holm_by_hand(p_values, adjusted):
    result = holm(p_values)
    assert isinstance(result, list) and all(isinstance(p, float) for p in result)
    assert result == pytest.approx(adjusted, abs=1e-12)


def test_holm_lies_between_the_raw_p_values_and_bonferroni():
    p_values = list(np.random.default_rng(0).uniform(0, 0.2, 12))
    for raw, adjusted in zip(p_values, holm(p_values)):
        assert raw <= adjusted <= min(1.0, 12 * raw)
