"""Generated findings of the data stages (ingest, eda, preprocess, audit) and the small table
helpers the stage reports share.

Each stage function takes the stage's ``Result`` and returns :class:`Findings`: a few summary
sentences and a conclusion that answers the report's heading, every number read from the
result (nothing typed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pandas as pd

from reviewlab.core.formatting import with_ci
from reviewlab.reporting import prose
from reviewlab.reporting.page import Findings

#: |Spearman| of a feature with the rating above which it looks too good (possible leakage).
SUSPICIOUS_CORRELATION = 0.9


# ---------------------------------------------------------------- table helpers


def readable(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``frame`` for a reader: floats rounded to ``digits``, ``snake_case`` column names and
    index names as words (row labels, e.g. model names, unchanged)."""
    out = frame.round(digits).rename(columns=_words)
    out.columns.names = [_words(n) for n in out.columns.names]
    out.index.names = [_words(n) for n in out.index.names]
    return out


def key_values(mapping: dict[str, Any], digits: int = 3) -> pd.DataFrame:
    """A (nested) dict of headline numbers as a table: one readable name per row, numbers
    with thousands separators and at most ``digits`` decimals."""
    rows = [(name, _number(value, digits)) for name, value in _flatten(mapping)]
    return pd.DataFrame(rows, columns=["quantity", "value"]).set_index("quantity")


def spearman_ci(rho: float, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Approximate CI of a Spearman correlation over ``n`` pairs: Fisher's z with Bonett and
    Wright's (2000) variance ``(1 + rho^2 / 2) / (n - 3)``; no bounds where undefined."""
    if n <= 3 or not math.isfinite(rho) or abs(rho) >= 1:
        return None, None
    half = NormalDist().inv_cdf(0.5 + level / 2) * math.sqrt((1 + rho**2 / 2) / (n - 3))
    return math.tanh(math.atanh(rho) - half), math.tanh(math.atanh(rho) + half)


def _count(n: int, noun: str) -> str:
    """``1 review`` / ``3 reviews``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _words(name: Any) -> Any:
    return name.replace("_", " ") if isinstance(name, str) else name


def _flatten(mapping: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        name = f"{prefix}{_words(str(key))}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{name} ")
        else:
            yield name, value


def _number(value: Any, digits: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if not math.isfinite(value):
        return "—"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


# ---------------------------------------------------------------- ingest


def ingest_facts(quality: dict[str, Any]) -> dict[str, Any]:
    """The numbers the ``ingest`` report states, from ``data_quality.json``."""
    q = quality
    read, loaded, held = q["rows_read"], q["rows_loaded"], q["rows_quarantined"]
    return {
        "file": Path(q["file"]).name,  # never a machine path
        "read": read,
        "loaded": loaded,
        "held": held,
        "held_share": q["quarantine_rate"],
        "loaded_share": loaded / max(read, 1),
        "missing": read - loaded - held,
        "kept": q.get("rows_subsampled_to", loaded),
        "reasons": {_words(r): n for r, n in q["by_reason"].items() if n},
        "nulled": {_words(f): n for f, n in q["optional_nulled"].items() if n},
        "stripped": {_words(f): n for f, n in q["control_characters_removed"].items() if n},
        "users": q["n_users"],
        "items": q["n_items"],
        "per_user": loaded / max(q["n_users"], 1),
        "per_item": loaded / max(q["n_items"], 1),
    }


def ingest(result: Any) -> Findings:
    """Findings of the ``ingest`` stage (``result.quality``: ``data_quality.json``)."""
    return prose.findings("ingest", ingest_facts(result.quality))


# ---------------------------------------------------------------- eda


def eda(result: Any) -> Findings:
    """Findings of the ``eda`` stage (``result.summary``: ``eda.json``)."""
    s = result.summary
    shares = {int(k): v for k, v in s["rating_share"].items()}
    top = max(shares, key=shares.get)
    low = shares.get(1, 0.0) + shares.get(2, 0.0)
    summary = [
        _corpus(s),
        f"Ratings are skewed: {shares[top]:.1%} of reviews give {top} stars and {low:.1%} give "
        f"1 or 2 (mean {s['mean_rating']:.2f}), so always predicting {top} stars is right "
        f"{shares[top]:.1%} of the time.",
        _lengths(s),
        _spread(s),
    ]
    conclusion = (
        f"The rating model faces an imbalanced label ({top} stars on {shares[top]:.1%} of "
        "reviews: accuracy alone flatters a majority-class model, hence macro-F1, QWK and RMSE "
        f"beside it), {_truncation(s)}, and reviews spread over items with a Gini coefficient "
        f"of {s['item_gini']:.2f} (reviews per item: median {s['item_reviews_median']:.0f})."
    )
    return Findings(summary, conclusion)


def _corpus(s: dict[str, Any]) -> str:
    users = f"by {s['n_users']:,} users" if s["n_users"] else "(no user ids)"
    span = f", written {s['first_review']} to {s['last_review']}" if "first_review" in s else ""
    return f"{s['n_reviews']:,} reviews of {s['n_items']:,} items {users}{span}."


def _lengths(s: dict[str, Any]) -> str:
    words = f"The median review has {s['words_median']:.0f} words"
    if "tokens_median" not in s:
        return f"{words} (95th percentile {s['words_p95']:.0f})."
    return (
        f"{words} ({s['tokens_median']:.0f} tokens, 95th percentile {s['tokens_p95']:.0f}); "
        f"{s['share_over_128_tokens']:.1%} exceed 128 tokens, "
        f"{s['share_over_256_tokens']:.1%} exceed 256 and {s['share_over_512_tokens']:.1%} "
        "exceed 512."
    )


def _truncation(s: dict[str, Any]) -> str:
    if "tokens_median" not in s:
        return f"texts of {s['words_median']:.0f} words at the median"
    return (
        f"mostly short texts (a 256-token input cuts {s['share_over_256_tokens']:.1%} of reviews)"
    )


def _spread(s: dict[str, Any]) -> str:
    parts = [
        f"items Gini {s['item_gini']:.2f} (reviews per item: median {s['item_reviews_median']:.0f})"
    ]
    if "user_gini" in s:
        parts.append(
            f"users Gini {s['user_gini']:.2f} (per user: median {s['user_reviews_median']:.0f})"
        )
    return "Reviews spread unevenly (0: all equal, 1: one holds all): " + "; ".join(parts) + "."


# ---------------------------------------------------------------- preprocess


def rating_correlations(features: Any) -> tuple[pd.Series, list[str]]:
    """Spearman correlation of each dense feature with the rating on the training rows of a
    ``FeatureSet`` (ascending), and the features constant there (no correlation defined)."""
    train = features.table[features.table["split"] == "train"]
    dense = train[features.dense_columns]
    constant = [c for c in dense if dense[c].nunique(dropna=True) <= 1]
    varying = dense.drop(columns=constant)
    return varying.corrwith(train["rating"], method="spearman").sort_values(), constant


def preprocess(result: Any) -> Findings:
    """Findings of the ``preprocess`` stage (``result.report``: ``preprocess.json``, the split
    summary and the features)."""
    r, splits = result.report, result.summary
    corr, constant = rating_correlations(result.features)
    n_train = r["split"]["train"]
    top = corr.abs().idxmax()
    low, high = spearman_ci(corr[top], n_train)
    strongest = with_ci(corr[top], low, high, sign=True)
    suspicious = corr.index[corr.abs() > SUSPICIOUS_CORRELATION].tolist()
    spread = _share_spread(splits)
    summary = [
        f"De-duplication on ({', '.join(r['dedupe_key'])}) removed "
        f"{_count(r['duplicates_removed'], 'exact repeat')} "
        f"({r['rows_in']:,} → {r['rows_out']:,} rows).",
        _split_sizes(r, splits, spread),
        _seen_in_train(r, result.features.table),
        f"{r['n_features']['dense']} dense features beside "
        + " and ".join(
            f"{n:,} {k.removeprefix('tfidf_')} TF-IDF columns"
            for k, n in r["n_features"].items()
            if k != "dense"
        )
        + f"; on training rows the feature most correlated with the rating is `{top}` "
        f"(Spearman {strongest}, 95% CI)"
        + (f"; constant there, so left out: {', '.join(constant)}." if constant else "."),
    ]
    verdict = (
        f"no feature is suspiciously perfect (|Spearman| above {SUSPICIOUS_CORRELATION} would "
        "point to leakage)"
        if not suspicious
        else f"{', '.join(suspicious)} correlate above {SUSPICIOUS_CORRELATION}: check them "
        "for leakage"
    )
    conclusion = (
        f"The splits keep the rating distribution (star shares at most {spread:.1f} percentage "
        f"points apart) and the features carry signal: the strongest, `{top}`, has Spearman "
        f"{strongest} with the rating; {verdict}. The leakage audit checks the rest."
    )
    return Findings(summary, conclusion)


def _share_spread(splits: pd.DataFrame) -> float:
    """Largest difference between splits of a star's share, in percentage points."""
    shares = splits.filter(like="share_")
    return float((shares.max() - shares.min()).max() * 100)


def _split_sizes(r: dict[str, Any], splits: pd.DataFrame, spread: float) -> str:
    total = sum(r["split"].values())
    sizes = ", ".join(f"{n:,} ({n / total:.0%})" for n in r["split"].values())
    means = ", ".join(f"{splits.at[s, 'mean_rating']:.2f}" for s in r["split"])
    return (
        f"Train, validation and test hold {sizes} rows, with mean ratings {means}; star "
        f"shares differ by at most {spread:.1f} percentage points."
    )


def _seen_in_train(r: dict[str, Any], table: pd.DataFrame) -> str:
    items = r["item_seen_in_train"]
    item_part = (
        f"{items['test']:.0%} of test reviews (validation {items['valid']:.0%}) are of items "
        "with training reviews"
    )
    if table["user_id"].isna().all():
        return f"{item_part}; the data has no user ids, so user-history features are empty."
    users = r["user_seen_in_train"]
    return (
        f"{item_part}, and {users['test']:.0%} (validation {users['valid']:.0%}) are by users "
        "with training reviews: history features are available for them."
    )


# ---------------------------------------------------------------- audit


def audit(result: Any) -> Findings:
    """Findings of the ``audit`` stage (``result.report``: ``audit.json``)."""
    report = result.report
    strategy = report["strategy"]
    shared = pd.DataFrame(report["shared"]).set_index("split")
    duplicates = pd.DataFrame(report["exact_duplicates"])
    near = sum(row["near_duplicates"] for row in report["near_duplicates"])
    summary = [
        _verdict(report),
        f"{shared.at['test', 'user_id_shared_share']:.0%} of test reviews are by users and "
        f"{shared.at['test', 'item_id_shared_share']:.0%} are of items seen in training "
        f"({_shared_meaning(strategy)}).",
        f"{_count(duplicates['duplicate_texts'].sum(), 'review')} repeat an earlier split's "
        f"text word for word ({duplicates['same_user'].sum():,} by the same user, at most "
        f"{duplicates['same_user_share'].max():.2%} of a split) and "
        f"{_count(near, 'held-out review')} near-duplicate a training review "
        f"({report['near_duplicates_same_user']:,} by the same user).",
    ]
    if "temporal_violations" in report:
        summary.append(_temporal(report, int(shared["rows"].sum())))
    return Findings(summary, _audit_conclusion(report, shared))


def _audit_conclusion(report: dict[str, Any], shared: pd.DataFrame) -> str:
    if report["leakage"]:
        return "Yes: " + "; ".join(report["leakage"]) + "."
    later = report.get("temporal_violations")
    return (
        f"No: under the {report['strategy']} split no review id, feature or same-user repeat "
        "carries held-out information into training (the stage fails when one does). What "
        f"remains is by design: {shared.at['test', 'item_id_shared_share']:.0%} of test "
        "reviews are of items seen in training"
        + (
            f", and {later:,} held-out reviews predate training ones, so test scores measure "
            "models within the period of their training data, not forecasts."
            if later and report["strategy"] != "temporal"
            else "."
        )
    )


def _verdict(report: dict[str, Any]) -> str:
    if report["leakage"]:
        return "Real leakage: " + "; ".join(report["leakage"]) + "."
    return (
        f"No real leakage under the {report['strategy']} split: no review id is in two splits, "
        "the label probe moved no feature, and same-user repeats stay within the allowed share."
    )


def _shared_meaning(strategy: str) -> str:
    if strategy == "cold_start_user":
        return "a cold_start_user split must have no held-out review by a training user"
    if strategy == "cold_start_item":
        return "a cold_start_item split must have no held-out review of a training item"
    return f"expected under the {strategy} split: history features rely on it"


def _temporal(report: dict[str, Any], held_out: int) -> str:
    count = report["temporal_violations"]
    meaning = (
        "a temporal split must have none"
        if report["strategy"] == "temporal"
        else f"expected under the {report['strategy']} split, which ignores time: models "
        "train on reviews written after some of the reviews they are tested on"
    )
    return (
        f"{count:,} of {held_out:,} held-out reviews ({count / max(held_out, 1):.1%}) are older "
        f"than the newest training review ({meaning})."
    )


def audit_checks(report: dict[str, Any]) -> pd.DataFrame:
    """Each check of ``audit.json`` with what was found and what it means (Verdict table)."""
    shared = pd.DataFrame(report["shared"])
    held_out = int(shared["rows"].sum())
    rows = [
        (
            "review ids in two splits",
            f"{shared['review_id_shared'].sum():,}",
            "leakage unless 0: a model would be scored on a review it trained on",
        ),
        (
            "features moved by held-out data (label probe)",
            ", ".join(report["label_probe"]) or "none",
            "leakage unless none: the feature was computed with held-out ratings or texts",
        ),
        (
            "same-user word-for-word repeats (largest share of a split)",
            f"{max(r['same_user_share'] for r in report['exact_duplicates']):.2%}",
            "leakage above audit.max_same_user_duplicate_share",
        ),
        (
            "held-out reviews by training users",
            f"{shared['user_id_shared'].sum():,} of {held_out:,}",
            "leakage under cold_start_user; expected otherwise (history features rely on it)",
        ),
        (
            "held-out reviews of training items",
            f"{shared['item_id_shared'].sum():,} of {held_out:,}",
            "leakage under cold_start_item; expected otherwise (history features rely on it)",
        ),
        (
            "near duplicates of a training review",
            f"{sum(r['near_duplicates'] for r in report['near_duplicates']):,}",
            "reported only: similar wording, different text",
        ),
    ]
    if "temporal_violations" in report:
        rows.append(
            (
                "held-out reviews older than the newest training review",
                f"{report['temporal_violations']:,} of {held_out:,}",
                "leakage under a temporal split; expected otherwise (splits ignore time)",
            )
        )
    return pd.DataFrame(rows, columns=["check", "found", "what it means"]).set_index("check")
