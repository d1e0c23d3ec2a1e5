"""The predictions table every model-fitting stage writes (one layout for all models)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def prediction_frame(
    rows: pd.DataFrame,
    model: str,
    split: str,
    pred: np.ndarray,
    cls: np.ndarray | None,
) -> pd.DataFrame:
    """One model's predictions on one split, in the layout every stage writes.

    ``rows``: the scored rows (``review_id``, ``user_id``, ``item_id``, ``rating``);
    ``cls``: predicted classes, or None for the clipped, rounded ``pred``.
    """
    frame = rows[["review_id", "user_id", "item_id", "rating"]].copy()
    frame.insert(0, "model", model)
    frame.insert(1, "split", split)
    frame["prediction"] = pred
    frame["predicted_class"] = (
        cls if cls is not None else pd.Series(pred).clip(1, 5).round().astype(int).to_numpy()
    )
    return frame.reset_index(drop=True)
