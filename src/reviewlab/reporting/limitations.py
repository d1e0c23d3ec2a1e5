"""The facts of a page's Limitations block: what limits how far its numbers can be read.

Four checks, each a list of plain dicts (``templates/_limits.md.j2`` phrases them):
``unconverged`` (still improving at its last evaluation), ``failed`` (not better than the
text-blind constant, or collapsed onto one class), ``budgets`` (numbers on the page measured
under another budget or on other test rows than the headline's) and ``low_power`` (a paired
test whose minimum detectable effect, MDE, exceeds the effect of interest: the params margin).
"""

from __future__ import annotations

from typing import Any

#: What a failed model's ``failure`` code means (core/evaluation/inference.py).
FAILURES = {
    "not_better_than_trivial": "not better than the text-blind constant",
    "collapsed_onto_rare_class": "collapsed onto one class",
}


CHECKS = ("unconverged", "failed", "collapsed", "budgets", "low_power")


def limits(power: float, **found: list[dict[str, Any]]) -> dict[str, Any]:
    """Every check's findings (an empty list: the check passed) and the design's ``power``
    (params ``evaluation.power``, what each MDE is computed at)."""
    unknown = set(found) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown limitation checks: {sorted(unknown)}")
    return {"power": power, **{check: list(found.get(check, [])) for check in CHECKS}}


def low_power(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paired comparisons whose MDE exceeds their margin (the effect of interest)."""
    return [
        {k: c[k] for k in ("model", "reference", "mde", "margin")}
        for c in comparisons
        if c.get("mde") is not None and c.get("margin") is not None and c["mde"] > c["margin"]
    ]


def failed(models: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Models marked failed, with the reason in words."""
    return [
        {"model": name, "why": FAILURES[entry["failure"]]}
        for name, entry in models.items()
        if entry.get("failed")
    ]


def unconverged_run(model: str, selected: dict[str, Any], seeds: int = 1) -> list[dict[str, Any]]:
    """A fine-tune still improving at its last evaluation in some of its ``seeds``, from its
    metrics' ``selected`` (``converged``, ``converged_seeds``, ``last_eval_step``)."""
    if selected.get("best_step") is None or selected.get("last_eval_step") is None:
        return []
    seeds = max(seeds, 1)
    converged = selected.get("converged_seeds")
    converged = (seeds if selected.get("converged") else 0) if converged is None else converged
    if converged >= seeds:
        return []
    step = selected["last_eval_step"]
    return [{"model": model, "step": step, "improving": seeds - converged, "seeds": seeds}]


def unconverged_variants(variants: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Grid variants whose validation loss was still falling at the end in some seed
    (``fit.min_before_end`` < 1: the share of seeds that passed their minimum)."""
    rows = []
    for name, entry in variants.items():
        fit = entry.get("fit") or {}
        if "min_before_end" in fit and fit["min_before_end"] < 1:
            rows.append({"model": name, "share": 1 - fit["min_before_end"]})
    return rows


def budget(
    name: str, rmse: float, headline: str, headline_rmse: float, **pairs: tuple[Any, Any]
) -> list[dict[str, Any]]:
    """``name``'s test RMSE beside ``headline``'s where they were measured differently:
    ``pairs`` maps what was measured (``training_rows``: ``(here, headline)``) and keeps the
    pairs that differ (None: all rows); nothing where every pair agrees."""
    differences = [
        {"what": what.replace("_", " "), "here": here, "headline": there}
        for what, (here, there) in pairs.items()
        if here != there
    ]
    if not differences:
        return []
    return [
        {
            "name": name,
            "rmse": rmse,
            "headline": headline,
            "headline_rmse": headline_rmse,
            "differences": differences,
        }
    ]
