"""Error analysis of rating predictions: by group, calibration, training curves, worst cases."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def errors_by(predictions: pd.DataFrame, groups: pd.Series, name: str) -> pd.DataFrame:
    """n, RMSE, MAE, accuracy and mean signed error of the predictions within each group."""
    frame = predictions.assign(  # by position; .array keeps an ordered categorical's order
        group=pd.Series(groups.array, index=predictions.index),
        err=predictions["prediction"].clip(1, 5) - predictions["rating"],
    )
    table = frame.groupby("group", observed=True).agg(
        n=("err", "size"),
        rmse=("err", lambda e: float(np.sqrt(np.mean(e**2)))),
        mae=("err", lambda e: float(np.mean(np.abs(e)))),
        bias=("err", "mean"),
    )
    hits = frame["predicted_class"] == frame["rating"]
    table["accuracy"] = hits.groupby(frame["group"], observed=True).mean()
    return table.rename_axis(name).round(3)


def length_buckets(words: pd.Series) -> pd.Series:
    """Review length in words, bucketed by quartiles of the given rows: an ordered categorical
    labelled ``"a-b words"`` (tables sort by length, not as text)."""
    buckets = pd.qcut(words, 4, duplicates="drop")
    labels = [f"{int(np.floor(i.left)) + 1}-{int(i.right)} words" for i in buckets.cat.categories]
    return buckets.cat.rename_categories(labels)


def plot_calibration(predictions: pd.DataFrame, title: str = "Calibration"):
    """Distribution of the predicted rating for each true rating (ideal: on the diagonal)."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sns.boxplot(x=predictions["rating"], y=predictions["prediction"], ax=ax, color="lightsteelblue")
    means = predictions.groupby("rating")["prediction"].mean()
    ax.plot(range(len(means)), means.to_numpy(), "o-", color="darkred", label="mean prediction")
    ax.plot(range(len(means)), means.index.to_numpy(), "k:", label="ideal")
    ax.set(title=title, xlabel="true stars", ylabel="predicted rating")
    ax.legend()
    return fig


def plot_training(history: pd.DataFrame, metric: str):
    """Training loss and the validation ``metric`` against the optimisation step."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    if "loss" in history:
        train = history.dropna(subset=["loss"])
        axes[0].plot(train["step"], train["loss"], label="train loss")
    if "eval_loss" in history:
        evals = history.dropna(subset=["eval_loss"])
        axes[0].plot(evals["step"], evals["eval_loss"], "o-", label="validation loss")
    axes[0].set(title="Loss", xlabel="step")
    axes[0].legend()
    key = f"eval_{metric}"
    if key in history:
        evals = history.dropna(subset=[key])
        axes[1].plot(evals["step"], evals[key], "o-")
    axes[1].set(title=f"validation {metric}", xlabel="step")
    fig.tight_layout()
    return fig


def worst(predictions: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` rows with the largest absolute error."""
    error = (predictions["prediction"].clip(1, 5) - predictions["rating"]).abs()
    return predictions.assign(abs_error=error).nlargest(n, "abs_error")
