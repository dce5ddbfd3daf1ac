"""Is a difference real? Accuracy as an interval, two models compared on the same images, spread over seeds,
many tests corrected together (Holm).

The first two are taught in notebook 08 (tests/test_taught_code.py keeps them identical). Plain Python
and NumPy, no SciPy at run time; tests/test_stats.py checks each function against SciPy's, and `holm`
against a table computed by hand.
"""

import math

import numpy as np

Z_95 = 1.959963984540054  # the two-sided 95% quantile of the normal distribution


def wilson_interval(correct, total, z=Z_95):
    """The Wilson score interval (95% by default) for an accuracy of `correct` out of `total`: (low, high).

    Taught in notebook 08. Unlike accuracy +- 1.96 standard errors, it stays inside [0, 1] and is not
    zero-width at 0 or 100%.
    """
    if total <= 0:
        raise ValueError("an interval needs at least one image")
    share = correct / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(right_a, right_b):
    """McNemar's exact test of two models on the same images: (only A right, only B right, p-value).

    Taught in notebook 08. `right_a` and `right_b` say, image by image, whether each model was right.
    Only the images where the two disagree carry information; under "no difference" each of them is a
    fair coin toss, so the two-sided p-value is twice the smaller binomial tail (at most 1).
    """
    right_a, right_b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    if right_a.shape != right_b.shape:
        raise ValueError("both models must be scored on the same images")
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(~right_a & right_b))
    disagreements = only_a + only_b
    tail = sum(math.comb(disagreements, k) for k in range(min(only_a, only_b) + 1)) / 2**disagreements
    return only_a, only_b, min(1.0, 2 * tail)


def detectable_split(disagreements, alpha):
    """The most even split (more, fewer) of `disagreements` that McNemar's test calls measurable at `alpha`,
    or None when no split of so few is: the scale of a "no measurable difference" (notebook 10)."""
    for fewer in range(disagreements // 2, -1, -1):
        more = disagreements - fewer
        if mcnemar_exact([True] * more + [False] * fewer, [False] * more + [True] * fewer)[2] < alpha:
            return more, fewer
    return None


def seed_spread(values):
    """Mean, sample standard deviation and count of a measurement repeated over seeds."""
    values = np.asarray(values, dtype=float)
    spread = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), spread, len(values)


def holm(p_values):
    """Holm's step-down correction of a family of tests: the adjusted p-values, as floats, in the order given.

    Sorted from the smallest, the k-th p-value (k from 0) is multiplied by (number of tests - k), capped at 1,
    and raised to the adjusted value before it. A test is measurable at `alpha` when its adjusted p-value is
    below `alpha`; this holds the chance of any false "measurable" in the family at `alpha`, whatever the
    dependence between the tests.
    """
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * float(p_values[index])))
        adjusted[index] = running
    return adjusted
