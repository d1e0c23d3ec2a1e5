"""Exploratory statistics and figures of the canonical review table."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from reviewlab.core.schema import QUARANTINE_REASONS
from reviewlab.data.text import document

sns.set_theme(style="whitegrid", context="notebook")


def lengths(reviews: pd.DataFrame, tokenizer=None) -> pd.DataFrame:
    """Words (and, with a tokenizer, WordPiece tokens incl. special tokens) per review."""
    docs = document(reviews["title"], reviews["text"])
    out = pd.DataFrame({"words": docs.str.split().str.len()}, index=reviews.index)
    if tokenizer is not None:
        encoded = tokenizer(docs.tolist(), add_special_tokens=True, truncation=False)["input_ids"]
        out["tokens"] = [len(ids) for ids in encoded]
    return out


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of a count distribution (0: uniform, 1: all mass on one)."""
    values = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(values)
    if n == 0 or values.sum() == 0:
        return float("nan")
    cumulative = np.cumsum(values)
    return float((n + 1 - 2 * (cumulative / cumulative[-1]).sum()) / n)


def summary(reviews: pd.DataFrame, length: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers of a dataset (written to ``metrics/<dataset>/eda.json``)."""
    out: dict[str, Any] = {
        "n_reviews": int(len(reviews)),
        "n_users": int(reviews["user_id"].nunique()) if reviews["user_id"].notna().any() else None,
        "n_items": int(reviews["item_id"].nunique()),
        "mean_rating": round(float(reviews["rating"].mean()), 4),
        "rating_share": {
            str(k): round(float(v), 4)
            for k, v in reviews["rating"].value_counts(normalize=True).sort_index().items()
        },
        "words_median": float(length["words"].median()),
        "words_p95": float(length["words"].quantile(0.95)),
    }
    if "tokens" in length:
        out["tokens_median"] = float(length["tokens"].median())
        out["tokens_p95"] = float(length["tokens"].quantile(0.95))
        for cap in (128, 256, 512):
            out[f"share_over_{cap}_tokens"] = round(float((length["tokens"] > cap).mean()), 4)
    for key in ("user_id", "item_id"):
        counts = reviews[key].value_counts()
        if len(counts):
            out[f"{key[:-3]}_gini"] = round(gini(counts.to_numpy()), 4)
            out[f"{key[:-3]}_reviews_median"] = float(counts.median())
    if reviews["timestamp"].notna().any():
        out["first_review"] = str(reviews["timestamp"].min().date())
        out["last_review"] = str(reviews["timestamp"].max().date())
    return out


def plot_ratings(reviews: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    counts = reviews["rating"].value_counts().reindex(range(1, 6), fill_value=0)
    sns.barplot(x=counts.index, y=counts.to_numpy(), ax=ax, color="steelblue")
    for i, v in enumerate(counts.to_numpy()):
        ax.text(i, v, f"{v / counts.sum():.1%}", ha="center", va="bottom", fontsize=9)
    ax.set(xlabel="stars", ylabel="reviews", title="Rating distribution")
    return fig


def plot_lengths(length: pd.DataFrame, reviews: pd.DataFrame) -> plt.Figure:
    cols = [c for c in ("words", "tokens") if c in length]
    fig, axes = plt.subplots(1, len(cols) + 1, figsize=(10, 3.5))
    for ax, col in zip(axes, cols, strict=False):
        sns.histplot(length[col].clip(lower=1), bins=60, log_scale=True, ax=ax)
        for q in (0.5, 0.95):
            ax.axvline(length[col].quantile(q), color="crimson", ls="--", lw=1)
        ax.set(title=f"{col} per review (median, p95 dashed)", xlabel=col)
    sns.boxplot(x=reviews["rating"], y=length["words"].clip(lower=1), ax=axes[-1], log_scale=True)
    axes[-1].set(title="words by rating", xlabel="stars", ylabel="words")
    fig.tight_layout()
    return fig


def plot_long_tail(reviews: pd.DataFrame) -> plt.Figure:
    """Rank-frequency (log-log) and cumulative share of reviews for users and items."""
    keys = [k for k in ("user_id", "item_id") if reviews[k].notna().any()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for key in keys:
        counts = np.sort(reviews[key].value_counts().to_numpy())[::-1]
        ranks = np.arange(1, len(counts) + 1)
        axes[0].loglog(ranks, counts, label=key[:-3])
        axes[1].plot(ranks / len(counts), np.cumsum(counts) / counts.sum(), label=key[:-3])
    axes[0].set(title="Reviews per user / item", xlabel="rank", ylabel="reviews")
    axes[1].plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    axes[1].set(
        title="Cumulative share of reviews", xlabel="share of users/items (most reviewed first)"
    )
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_over_time(reviews: pd.DataFrame) -> plt.Figure | None:
    """Monthly review count and mean rating; None when the dataset has no timestamps."""
    if reviews["timestamp"].isna().all():
        return None
    monthly = (
        reviews.set_index(reviews["timestamp"].dt.tz_localize(None))["rating"]
        .resample("MS")
        .agg(["size", "mean"])
    )
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.bar(monthly.index, monthly["size"], width=25, color="lightsteelblue", label="reviews/month")
    ax.set(ylabel="reviews per month", title="Reviews and mean rating over time")
    twin = ax.twinx()
    smooth = monthly["mean"].where(monthly["size"] >= 10)
    twin.plot(monthly.index, smooth, color="darkred", label="mean rating (months with >= 10)")
    twin.set(ylabel="mean rating", ylim=(1, 5))
    twin.grid(False)
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88), fontsize=9)
    return fig


def plot_helpfulness(reviews: pd.DataFrame) -> plt.Figure | None:
    """Votes distribution and mean helpful share / votes by rating; None without votes."""
    if reviews["helpful_votes"].isna().all():
        return None
    frame = reviews.assign(
        helpful=reviews["helpful_votes"].astype("float64"),
        total=reviews["total_votes"].astype("float64"),
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    sns.histplot(frame["helpful"] + 1, bins=40, log_scale=True, ax=axes[0])
    axes[0].set(title="Helpful votes per review (+1, log)", xlabel="helpful votes + 1")
    if frame["total"].notna().any():
        voted = frame[frame["total"] > 0]
        by = (voted["helpful"] / voted["total"]).groupby(voted["rating"]).mean()
        title, label = "Helpful share of votes by rating", "helpful / total"
    else:
        by = frame.groupby("rating")["helpful"].mean()
        title, label = "Mean helpful votes by rating", "helpful votes"
    sns.barplot(x=by.index, y=by.to_numpy(), ax=axes[1], color="seagreen")
    axes[1].set(title=title, xlabel="stars", ylabel=label)
    fig.tight_layout()
    return fig


def quality_table(quality: dict[str, Any]) -> pd.DataFrame:
    """Quarantine counts per reason (with the reason's meaning) for the report."""
    return pd.DataFrame(
        {
            "rows": [quality["by_reason"].get(r, 0) for r in QUARANTINE_REASONS],
            "meaning": list(QUARANTINE_REASONS.values()),
        },
        index=pd.Index(list(QUARANTINE_REASONS), name="reason"),
    )
