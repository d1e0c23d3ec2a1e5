"""Paired inference: the one procedure every comparison in the repository goes through.

Two models are always compared on the same rows. Each draw of the bootstrap resamples the rows
once and scores every model on them (:func:`bootstrap_scores`); where the models share training
seeds (the ablation grid: a seed fixes the training sample and the initialisation of every
variant), the seeds are blocks and are resampled jointly, the same seed indices for both
models (:func:`compare`). The standard error of the seed-averaged difference comes from those
draws; with ``k`` seeds the seed part of its variance has ``k - 1`` degrees of freedom and the
row part (hundreds of rows) practically infinite ones, so the interval, the p-value, the
equivalence test and the minimum detectable effect use Student's t with Welch-Satterthwaite
degrees of freedom (:func:`satterthwaite`: ``k - 1`` where seeds dominate, the normal
distribution where rows do or for a single seed).

A family of comparisons (one site, one metric: e.g. every grid variant against plain on test
RMSE) is decided together (:func:`decide`): a Holm correction of the difference tests
(``statsmodels``' ``multipletests``) and an equivalence test (TOST) against a margin set in
params. Each comparison ends in exactly one verdict:

- ``better`` / ``worse``: the adjusted test rejects "no difference", in the metric's good /
  bad direction (differences are always ``a - b``; for RMSE a negative difference is better);
- ``equivalent``: not different, and the ``1 - 2 alpha`` interval lies inside ``± margin``;
- ``inconclusive``: neither; the minimum detectable effect says how large a difference the
  design could have found with the stated power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests


@dataclass(frozen=True)
class Design:
    """How comparisons are decided (from ``evaluation`` in params.yaml)."""

    n_resamples: int = 1000
    level: float = 0.95  # confidence level; the tests' alpha is 1 - level
    power: float = 0.8  # the power at which minimum detectable effects are stated
    correction: str = "holm"  # holm | none: multiplicity correction within a family
    seed: int = 0  # seeds the row and seed resamples

    @property
    def alpha(self) -> float:
        return 1 - self.level


def bootstrap_scores(
    score: Callable[[np.ndarray], np.ndarray], n_rows: int, design: Design
) -> tuple[np.ndarray, np.ndarray]:
    """``score(rows)`` on all rows and on ``design.n_resamples`` resamples of them.

    ``score`` returns one array (any shape: e.g. ``[model, seed]``) for the row indices it is
    given; every model inside it sees the same resampled rows, so differences are paired.
    Returns (point estimate, draws with the resample as the first axis).
    """
    rng = np.random.default_rng(design.seed)
    point = np.asarray(score(np.arange(n_rows)), dtype=np.float64)
    draws = np.empty((design.n_resamples, *point.shape))
    for b in range(design.n_resamples):
        draws[b] = score(rng.integers(0, n_rows, n_rows))
    return point, draws


def _as_seeds(values: np.ndarray, draws: bool) -> np.ndarray:
    """Per-seed values as ``[seed]`` (or ``[resample, seed]`` for draws)."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), -1) if draws else values.reshape(-1)


def compare(
    point_a: np.ndarray,
    point_b: np.ndarray,
    draws_a: np.ndarray,
    draws_b: np.ndarray,
    *,
    higher_is_better: bool,
    margin: float,
    design: Design,
    blocked: bool = True,
) -> dict[str, Any]:
    """Model ``a`` minus model ``b``: per-seed point values ``point_*`` (``[seed]``, or one
    value for a model without seeds) and their row-resampled ``draws_*`` (``[resample,
    seed]``) from one :func:`bootstrap_scores` call.

    ``blocked``: the models share seeds, resampled jointly; otherwise (only for showing what
    pairing buys) each model's seeds are resampled on their own. Returns the difference, its
    interval, the unadjusted p-value, the TOST p-value against ``margin``, the minimum
    detectable effect and the per-seed differences; :func:`decide` adds the verdict.
    """
    pa, pb = _as_seeds(point_a, False), _as_seeds(point_b, False)
    da, db = _as_seeds(draws_a, True), _as_seeds(draws_b, True)
    k = max(len(pa), len(pb))
    pa, pb = np.broadcast_to(pa, k), np.broadcast_to(pb, k)
    da, db = np.broadcast_to(da, (len(da), k)), np.broadcast_to(db, (len(db), k))
    rng = np.random.default_rng(design.seed + 1)
    picks = rng.integers(0, k, (len(da), k))
    if blocked:
        spread = np.take_along_axis(da - db, picks, axis=1).mean(axis=1)
    else:
        other = rng.integers(0, k, (len(db), k))
        spread = np.take_along_axis(da, picks, 1).mean(1) - np.take_along_axis(db, other, 1).mean(1)
    # the bootstrap variance of a mean of k resampled seeds is (k - 1) / k of the seed variance
    se = float(np.nanstd(spread, ddof=1)) * (np.sqrt(k / (k - 1)) if k > 1 else 1.0)
    rows_only = float(np.nanstd((da - db).mean(axis=1), ddof=1))  # seeds held fixed
    df = satterthwaite(se, rows_only, k)
    difference = float(np.mean(pa - pb))
    return {
        "difference": difference,
        **_tests(difference, se, df, margin, design),
        "seeds": k,
        "per_seed": [float(x) for x in pa - pb],
        "higher_is_better": higher_is_better,
    }


def satterthwaite(se: float, se_rows: float, seeds: int) -> float:
    """Degrees of freedom of the seed-averaged difference (Welch-Satterthwaite): its variance
    ``se**2`` is the row part ``se_rows**2`` (many rows: infinite df) plus the seed part
    (``seeds - 1`` df); a single seed, or no seed variance, gives the normal distribution."""
    seed_part = se**2 - se_rows**2
    if seeds < 2 or seed_part <= 0 or not np.isfinite(seed_part):
        return np.inf
    return float((seeds - 1) * se**4 / seed_part**2)


def _tests(difference: float, se: float, df: float, margin: float, design: Design) -> dict:
    """Interval, two-sided p-value, TOST p-value and minimum detectable effect (Student's t
    with ``df`` degrees of freedom on the bootstrap standard error ``se``)."""
    t = stats.t(df)
    q = float(t.ppf(1 - design.alpha / 2))
    if se > 0:
        p = float(2 * t.sf(abs(difference) / se))
        p_tost = float(max(t.sf((difference + margin) / se), t.cdf((difference - margin) / se)))
    else:  # identical predictions on every resample
        p = 1.0 if difference == 0 else 0.0
        p_tost = 0.0 if abs(difference) < margin else 1.0
    return {
        "low": difference - q * se,
        "high": difference + q * se,
        "se": se,
        "p_value": p,
        "margin": margin,
        "p_equivalence": p_tost,
        "mde": float((q + t.ppf(design.power)) * se),
    }


def projected_mde(se: float, seeds: int, planned: int, design: Design) -> tuple[float, float]:
    """The minimum detectable effect of a seed-paired comparison whose standard error was ``se``
    with ``seeds`` seeds, had it run ``planned``: the error shrinks as sqrt(seeds / planned);
    the low end takes the normal (the row part dominates), the high end Student's t with
    ``planned - 1`` degrees of freedom (the seed part does)."""
    shrunk = se * np.sqrt(seeds / planned)
    low, high = (
        float((d.ppf(1 - design.alpha / 2) + d.ppf(design.power)) * shrunk)
        for d in (stats.norm, stats.t(planned - 1))
    )
    return low, high


def decide(comparisons: list[dict[str, Any]], design: Design) -> list[dict[str, Any]]:
    """One family of :func:`compare` results decided together: the Holm-adjusted p-value,
    whether the adjusted test rejects "no difference", and the verdict of each."""
    if not comparisons:
        return []
    pvalues = np.array([c["p_value"] for c in comparisons])
    if design.correction == "holm":
        reject, adjusted, _, _ = multipletests(pvalues, alpha=design.alpha, method="holm")
    elif design.correction == "none":
        reject, adjusted = pvalues < design.alpha, pvalues
    else:
        raise ValueError(f"unknown correction {design.correction!r} (holm | none)")
    decided = []
    for comparison, rejected, p_adjusted in zip(comparisons, reject, adjusted, strict=True):
        decided.append(
            comparison
            | {
                "p_adjusted": float(p_adjusted),
                "different": bool(rejected),
                "verdict": verdict(comparison, bool(rejected), design.alpha),
            }
        )
    return decided


def verdict(comparison: dict[str, Any], different: bool, alpha: float) -> str:
    """better / worse (adjusted test rejects, by direction), equivalent (TOST within the
    margin), or inconclusive."""
    if different:
        improves = (comparison["difference"] > 0) == comparison["higher_is_better"]
        return "better" if improves else "worse"
    if comparison["p_equivalence"] < alpha:
        return "equivalent"
    return "inconclusive"


def rounded(comparison: dict[str, Any], digits: int = 6) -> dict[str, Any]:
    """A comparison as metrics JSON stores it: floats rounded, p-values to 3 significant
    places."""
    out = {}
    for key, value in comparison.items():
        if isinstance(value, float):
            out[key] = float(f"{value:.3g}") if key.startswith("p_") else round(value, digits)
        elif isinstance(value, list):
            out[key] = [round(v, digits) for v in value]
        else:
            out[key] = value
    return out


#: Why a model failed (metrics JSON ``failure``); None for a model that did not.
NOT_BETTER_THAN_TRIVIAL = "not_better_than_trivial"
COLLAPSED_ONTO_RARE_CLASS = "collapsed_onto_rare_class"


def failure(
    vs_trivial: str | None,
    predicted: np.ndarray | None = None,
    base_rates: dict[int, float] | None = None,
    collapse_share: float = 0.95,
    base_rate_gap: float = 0.2,
) -> dict[str, Any]:
    """Whether a model failed, and why: its verdict against the trivial baseline of its task
    (the majority class, the training mean) is not ``better``; or it puts at least
    ``collapse_share`` of its ``predicted`` classes on one class whose training ``base_rates``
    share is at least ``base_rate_gap`` lower (a classifier predicting the majority of a 95%
    positive label is not collapsed; one putting 99% of rows on a 20% class is).
    ``vs_trivial`` None: the model is the trivial baseline itself."""
    out: dict[str, Any] = {"failed": False, "failure": None}
    if predicted is not None and len(predicted):
        values, counts = np.unique(np.asarray(predicted), return_counts=True)
        top = int(np.argmax(counts))
        share = float(counts[top] / counts.sum())
        rate = float((base_rates or {}).get(int(values[top]), 0.0))
        out |= {
            "majority_prediction": int(values[top]),
            "majority_share": round(share, 6),
            "base_rate": round(rate, 6),
        }
        if vs_trivial is not None and share >= collapse_share and share - rate >= base_rate_gap:
            out |= {"failed": True, "failure": COLLAPSED_ONTO_RARE_CLASS}
    if vs_trivial is not None and vs_trivial != "better" and not out["failed"]:
        out |= {"failed": True, "failure": NOT_BETTER_THAN_TRIVIAL}
    return out
