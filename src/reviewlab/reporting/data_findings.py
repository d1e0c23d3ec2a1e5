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

from reviewlab.core.formatting import MISSING
from reviewlab.reporting import prose
from reviewlab.reporting.page import Findings

#: |Spearman| of a feature with the rating above which it looks too good (possible leakage).
SUSPICIOUS_CORRELATION = 0.9


# ---------------------------------------------------------------- table helpers


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
    if value is None:  # not measurable here (``n users`` of a dataset without user ids)
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if not math.isfinite(value):
        return MISSING
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


def eda_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers the ``eda`` report states, from ``eda.json``."""
    s = summary
    shares = {int(k): v for k, v in s["rating_share"].items()}
    top = max(shares, key=shares.get)
    return {
        "reviews": s["n_reviews"],
        "items": s["n_items"],
        "users": s["n_users"],
        "first_review": s.get("first_review"),
        "last_review": s.get("last_review"),
        "top": top,
        "top_share": shares[top],
        "low_share": shares.get(1, 0.0) + shares.get(2, 0.0),
        "mean_rating": s["mean_rating"],
        "words_median": s["words_median"],
        "words_p95": s["words_p95"],
        "tokens_median": s.get("tokens_median"),
        "tokens_p95": s.get("tokens_p95"),
        **{f"over_{n}": s.get(f"share_over_{n}_tokens") for n in (128, 256, 512)},
        "item_gini": s["item_gini"],
        "item_median": s["item_reviews_median"],
        "user_gini": s.get("user_gini"),
        "user_median": s.get("user_reviews_median"),
    }


def eda(result: Any) -> Findings:
    """Findings of the ``eda`` stage (``result.summary``: ``eda.json``)."""
    return prose.findings("eda", eda_facts(result.summary))


# ---------------------------------------------------------------- preprocess


def rating_correlations(features: Any) -> tuple[pd.Series, list[str]]:
    """Spearman correlation of each dense feature with the rating on the training rows of a
    ``FeatureSet`` (ascending), and the features constant there (no correlation defined)."""
    train = features.table[features.table["split"] == "train"]
    dense = train[features.dense_columns]
    constant = [c for c in dense if dense[c].nunique(dropna=True) <= 1]
    varying = dense.drop(columns=constant)
    return varying.corrwith(train["rating"], method="spearman").sort_values(), constant


def preprocess_facts(result: Any) -> dict[str, Any]:
    """The numbers the ``preprocess`` report states (``result.report``: ``preprocess.json``,
    the split summary and the features)."""
    r, splits = result.report, result.summary
    corr, constant = rating_correlations(result.features)
    top = corr.abs().idxmax()
    total = sum(r["split"].values())
    shares = splits.filter(like="share_")
    has_users = not result.features.table["user_id"].isna().all()
    return {
        "dedupe_key": r["dedupe_key"],
        "duplicates": r["duplicates_removed"],
        "rows_in": r["rows_in"],
        "rows_out": r["rows_out"],
        "split_sizes": [(n, n / total) for n in r["split"].values()],
        "split_means": [splits.at[s, "mean_rating"] for s in r["split"]],
        "spread": float((shares.max() - shares.min()).max() * 100),  # percentage points
        "item_seen": r["item_seen_in_train"],
        "user_seen": r["user_seen_in_train"] if has_users else None,
        "dense": r["n_features"]["dense"],
        "tfidf": {k.removeprefix("tfidf_"): n for k, n in r["n_features"].items() if k != "dense"},
        "top": top,
        "top_rho": (corr[top], *spearman_ci(corr[top], r["split"]["train"])),
        "constant": constant,
        "suspicious": corr.index[corr.abs() > SUSPICIOUS_CORRELATION].tolist(),
        "threshold": SUSPICIOUS_CORRELATION,
    }


def preprocess(result: Any) -> Findings:
    """Findings of the ``preprocess`` stage."""
    return prose.findings("preprocess", preprocess_facts(result))


# ---------------------------------------------------------------- audit


def audit_facts(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers the ``audit`` report states, from ``audit.json``."""
    shared = pd.DataFrame(report["shared"]).set_index("split")
    duplicates = pd.DataFrame(report["exact_duplicates"])
    held_out = int(shared["rows"].sum())
    temporal = report.get("temporal_violations")
    return {
        "strategy": report["strategy"],
        "leakage": report["leakage"],
        "test_user_shared": shared.at["test", "user_id_shared_share"],
        "test_item_shared": shared.at["test", "item_id_shared_share"],
        "duplicate_texts": int(duplicates["duplicate_texts"].sum()),
        "same_user": int(duplicates["same_user"].sum()),
        "same_user_max": duplicates["same_user_share"].max(),
        "near": sum(row["near_duplicates"] for row in report["near_duplicates"]),
        "near_same_user": report["near_duplicates_same_user"],
        "held_out": held_out,
        "temporal": temporal,
        "temporal_share": None if temporal is None else temporal / max(held_out, 1),
    }


def audit(result: Any) -> Findings:
    """Findings of the ``audit`` stage (``result.report``: ``audit.json``)."""
    return prose.findings("audit", audit_facts(result.report))


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
