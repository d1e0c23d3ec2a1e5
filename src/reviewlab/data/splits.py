"""Train / validation / test splits. The test split is never used for model selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

STRATEGIES = ("stratified", "temporal", "cold_start_user", "cold_start_item")
#: The column a grouped strategy keeps out of training for held-out rows
GROUPED = {"cold_start_user": "user_id", "cold_start_item": "item_id"}
SPLITS = ("train", "valid", "test")


def make_splits(
    reviews: pd.DataFrame,
    strategy: str = "stratified",
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 42,
) -> pd.Series:
    """Label every row ``train``, ``valid`` or ``test``.

    - ``stratified``: random, stratified by rating.
    - ``temporal``: the newest ``test_frac`` rows are test, the ``valid_frac`` before them valid.
    - ``cold_start_user`` / ``cold_start_item``: test and validation users (items) never
      appear in train (groups drawn at random, so the split sizes are approximate).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"split.strategy '{strategy}' is not one of {STRATEGIES}")
    if not (0 < valid_frac < 1 and 0 < test_frac < 1 and valid_frac + test_frac < 1):
        raise ValueError(
            f"split fractions must be in (0, 1) and sum below 1: {valid_frac}, {test_frac}"
        )
    n = len(reviews)
    labels = pd.Series("train", index=reviews.index, dtype="object")
    if strategy == "stratified":
        rest, test = train_test_split(
            reviews.index, test_size=test_frac, stratify=reviews["rating"], random_state=seed
        )
        _, valid = train_test_split(
            rest,
            test_size=valid_frac / (1 - test_frac),
            stratify=reviews.loc[rest, "rating"],
            random_state=seed,
        )
    elif strategy == "temporal":
        if reviews["timestamp"].isna().any():
            raise ValueError("split.strategy 'temporal' needs a timestamp on every review")
        order = reviews.sort_values(["timestamp", "source_row"], kind="stable").index
        n_test, n_valid = round(n * test_frac), round(n * valid_frac)
        test, valid = order[n - n_test :], order[n - n_test - n_valid : n - n_test]
    else:
        test, valid = _grouped(reviews, GROUPED[strategy], strategy, valid_frac, test_frac, seed)
    labels[test] = "test"
    labels[valid] = "valid"
    return labels.astype(pd.CategoricalDtype(SPLITS, ordered=True))


def _grouped(
    reviews: pd.DataFrame,
    column: str,
    strategy: str,
    valid_frac: float,
    test_frac: float,
    seed: int,
) -> tuple[pd.Index, pd.Index]:
    """Test and validation rows drawn as whole groups of ``column`` (users or items)."""
    if reviews[column].isna().any():
        raise ValueError(f"split.strategy '{strategy}' needs a {column} on every review")
    groups = reviews[column].to_numpy()
    outer = GroupShuffleSplit(n_splits=1, test_size=test_frac, random_state=seed)
    rest_pos, test_pos = next(outer.split(reviews.index, groups=groups))
    inner = GroupShuffleSplit(n_splits=1, test_size=valid_frac / (1 - test_frac), random_state=seed)
    _, valid_pos = next(inner.split(rest_pos, groups=groups[rest_pos]))
    return reviews.index[test_pos], reviews.index[rest_pos[valid_pos]]


def split_summary(reviews: pd.DataFrame, split: pd.Series) -> pd.DataFrame:
    """Rows, mean rating and rating shares per split (a table for reports)."""
    frame = reviews.assign(split=split)
    shares = pd.crosstab(frame["split"], frame["rating"], normalize="index").add_prefix("share_")
    stats = frame.groupby("split", observed=True)["rating"].agg(rows="size", mean_rating="mean")
    return stats.join(shares).round(4)


def overlap(reviews: pd.DataFrame, split: pd.Series, column: str) -> dict[str, float]:
    """Share of valid/test rows whose ``column`` (user_id / item_id) also occurs in train."""
    train_values = set(reviews.loc[split == "train", column].dropna())
    out = {}
    for name in ("valid", "test"):
        values = reviews.loc[split == name, column]
        out[name] = float(np.mean(values.isin(train_values))) if len(values) else float("nan")
    return out
