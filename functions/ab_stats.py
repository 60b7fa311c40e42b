"""Is one A/B variant really better than another? The pooled two-proportion z-test on
conversions (goals met, emails opened…) out of contacts, with the confidence interval of
the difference and the sample size a test of this effect needs.

Pure and standard library only (statistics.NormalDist): the analytics answer computes it,
and the editor only shows it, so every client reads the same verdict.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

ALPHA = 0.05  # two-sided
POWER = 0.8
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Proportion:
    """`hits` of `trials`: contacts that converted out of those counted."""

    hits: int
    trials: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.trials if self.trials else None


@dataclass(frozen=True)
class Significance:
    """The test of `b` against `a`; None where the numbers cannot say (nobody counted,
    or everybody or nobody converted in both)."""

    difference: float | None  # rate of b − rate of a
    z: float | None
    p_value: float | None  # two-sided
    ci_low: float | None  # of the difference, at 1 − alpha
    ci_high: float | None
    needed_per_variant: int | None  # contacts per variant to detect this difference
    still_needed_per_variant: int | None  # of those, how many more the smaller variant needs
    significant: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def two_proportion_test(
    a: Proportion, b: Proportion, alpha: float = ALPHA, power: float = POWER
) -> Significance:
    """The pooled two-proportion z-test of b's rate against a's (two-sided)."""
    if a.rate is None or b.rate is None:
        return Significance(None, None, None, None, None, None, None, False)
    difference = b.rate - a.rate
    z = _z(a, b)
    p_value = math.erfc(abs(z) / math.sqrt(2)) if z is not None else None
    low, high = _interval(a, b, alpha)
    needed = sample_size(a.rate, b.rate, alpha, power)
    still = max(0, needed - min(a.trials, b.trials)) if needed is not None else None
    significant = p_value is not None and p_value < alpha
    return Significance(difference, z, p_value, low, high, needed, still, significant)


def sample_size(
    rate_a: float, rate_b: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Contacts per variant for a two-sided test at `alpha` to find the difference between
    these two rates with probability `power`; None when they are equal (no sample does)."""
    if rate_a == rate_b:
        return None
    z_alpha = _NORMAL.inv_cdf(1 - alpha / 2)
    z_power = _NORMAL.inv_cdf(power)
    mean = (rate_a + rate_b) / 2
    spread = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        rate_a * (1 - rate_a) + rate_b * (1 - rate_b)
    )
    return math.ceil(spread**2 / (rate_a - rate_b) ** 2)


# --- helpers -----------------------------------------------------------------------------


def _z(a: Proportion, b: Proportion) -> float | None:
    # Under "no difference" both variants share one rate: pool them for the standard error.
    pooled = (a.hits + b.hits) / (a.trials + b.trials)
    error = math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials))
    if error == 0:
        return None  # nobody or everybody converted in both: nothing to compare
    return (b.hits / b.trials - a.hits / a.trials) / error


def _interval(a: Proportion, b: Proportion, alpha: float) -> tuple[float | None, float | None]:
    # The interval estimates the difference itself, so each variant keeps its own rate
    # (unpooled, Wald); with both rates at 0 or 1 it has no width to report.
    ra, rb = a.hits / a.trials, b.hits / b.trials
    error = math.sqrt(ra * (1 - ra) / a.trials + rb * (1 - rb) / b.trials)
    if error == 0:
        return None, None
    margin = _NORMAL.inv_cdf(1 - alpha / 2) * error
    return rb - ra - margin, rb - ra + margin
