"""Model features: TF-IDF, text statistics, VADER, helpfulness and user/item history (from
the training split only; a training row never sees its own label)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from reviewlab.core.params import FeatureParams, SplitParams, TfidfParams
from reviewlab.data import text as textfeat
from reviewlab.data.splits import SPLITS, make_splits, overlap

HISTORY_KEYS = {"user": "user_id", "item": "item_id"}
TFIDF_KINDS = ("word", "char")


def history_stats(frame: pd.DataFrame, split: pd.Series, key: str, prefix: str) -> pd.DataFrame:
    """Count, mean and std of the training ratings of each row's ``key`` (user or item):
    leave-one-out for training rows; count 0 and NaN without training history."""
    train = frame.loc[split == "train", [key, "rating"]].dropna(subset=[key])
    ratings = train["rating"].astype("float64")
    agg = (
        pd.DataFrame({key: train[key], "r": ratings, "r2": ratings**2})
        .groupby(key)
        .agg(n=("r", "size"), s=("r", "sum"), s2=("r2", "sum"))
    )
    joined = frame[[key]].join(agg, on=key)
    n, s, s2 = (joined[c].fillna(0.0).to_numpy() for c in ("n", "s", "s2"))
    is_train = (split == "train").to_numpy() & frame[key].notna().to_numpy()
    own = frame["rating"].to_numpy(dtype="float64")
    n = np.where(is_train, n - 1, n)
    s = np.where(is_train, s - own, s)
    s2 = np.where(is_train, s2 - own**2, s2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        std = np.sqrt(np.clip(np.where(n > 0, s2 / n - mean**2, np.nan), 0, None))
    return pd.DataFrame(
        {f"{prefix}_n": n, f"{prefix}_mean": mean, f"{prefix}_std": std}, index=frame.index
    )


def _own_features(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """The features a row has on its own: text statistics, VADER, helpfulness."""
    return [
        textfeat.text_stats(frame["doc"]),
        textfeat.vader_scores(frame["doc"]),
        textfeat.helpfulness(frame["helpful_votes"], frame["total_votes"]),
    ]


def dense_features(frame: pd.DataFrame, split: pd.Series) -> pd.DataFrame:
    """All non-TF-IDF features of each row, in a fixed column order."""
    parts = _own_features(frame)
    parts += [history_stats(frame, split, key, p) for p, key in HISTORY_KEYS.items()]
    return pd.concat(parts, axis=1)


def tfidf_of(docs: pd.Series, vectorizers: dict[str, TfidfVectorizer]) -> dict[str, sp.csr_matrix]:
    """The TF-IDF matrices of ``docs`` by already fitted ``vectorizers``."""
    return {kind: v.transform(docs).astype(np.float32).tocsr() for kind, v in vectorizers.items()}


def fit_tfidf(
    docs: pd.Series, split: pd.Series, word: TfidfParams, char: TfidfParams
) -> tuple[dict[str, sp.csr_matrix], dict[str, TfidfVectorizer]]:
    """Word and char n-gram TF-IDF, fitted on the training documents only (word n-grams
    always start at unigrams: ``word.ngram_min`` is not used)."""
    specs = {
        "word": TfidfVectorizer(
            max_features=word.max_features,
            ngram_range=(1, word.ngram_max),
            min_df=word.min_df,
            sublinear_tf=True,
            strip_accents="unicode",
        ),
        "char": TfidfVectorizer(
            analyzer="char_wb",
            max_features=char.max_features,
            ngram_range=(char.ngram_min, char.ngram_max),
            min_df=char.min_df,
            sublinear_tf=True,
        ),
    }
    for vectorizer in specs.values():
        vectorizer.fit(docs[split == "train"])
    return tfidf_of(docs, specs), specs


def deduplicate(
    reviews: pd.DataFrame, key: Sequence[str] = ("user_id", "item_id", "text")
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop repeats on ``key`` (texts and titles lower-cased, whitespace collapsed; missing
    values equal); return the kept rows and the repeats."""
    subset = pd.DataFrame(
        {
            column: (
                reviews[column].str.lower().str.split().str.join(" ")
                if column in ("text", "title")
                else reviews[column].astype("string").fillna("")
            )
            for column in key
        }
    )
    repeated = subset.duplicated(keep="first")
    return reviews[~repeated].reset_index(drop=True), reviews[repeated].reset_index(drop=True)


def deduplicated_splits(
    reviews: pd.DataFrame, key: Sequence[str], cfg: SplitParams, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """:func:`deduplicate` on ``key``, then split the kept rows: (kept, repeats, split)."""
    kept, repeats = deduplicate(reviews, key)
    split = make_splits(kept, cfg.strategy, cfg.valid_frac, cfg.test_frac, seed=seed)
    return kept, repeats, split


@dataclass
class FeatureSet:
    """Everything the models read: one table (split, label, dense features) + TF-IDF matrices."""

    table: pd.DataFrame
    tfidf: dict[str, sp.csr_matrix]
    dense_columns: list[str]

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero((self.table["split"] == split).to_numpy())

    def save(self, folder: Path, vectorizers: dict[str, TfidfVectorizer]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.table.to_parquet(folder / "table.parquet", index=False)
        for kind, matrix in self.tfidf.items():
            sp.save_npz(folder / f"tfidf_{kind}.npz", matrix)
        for vectorizer in vectorizers.values():
            # sklearn caches id(stop_words), a memory address: the pickle would differ each run
            vars(vectorizer).pop("_stop_words_id", None)
        joblib.dump(vectorizers, folder / "vectorizers.joblib")
        (folder / "columns.json").write_text(json.dumps({"dense": self.dense_columns}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> FeatureSet:
        table = pd.read_parquet(folder / "table.parquet")
        tfidf = {k: sp.load_npz(folder / f"tfidf_{k}.npz").tocsr() for k in TFIDF_KINDS}
        dense = json.loads((folder / "columns.json").read_text())["dense"]
        return cls(table, tfidf, dense)

    @staticmethod
    def load_vectorizers(folder: Path) -> dict[str, TfidfVectorizer]:
        """The fitted TF-IDF vectorizers :meth:`save` wrote into ``folder``."""
        return joblib.load(folder / "vectorizers.joblib")


def build_features(
    reviews: pd.DataFrame, split: pd.Series, cfg: FeatureParams
) -> tuple[FeatureSet, dict[str, TfidfVectorizer]]:
    """Compute every feature of the canonical ``reviews`` given their ``split`` labels."""
    frame = reviews.copy()
    frame["doc"] = textfeat.document(frame["title"], frame["text"])
    dense = dense_features(frame, split)
    matrices, vectorizers = fit_tfidf(frame["doc"], split, cfg.tfidf_word, cfg.tfidf_char)
    keep = ["review_id", "user_id", "item_id", "rating", "timestamp", "doc"]
    table = pd.concat([frame[keep], dense], axis=1)
    table.insert(1, "split", split.astype("str").to_numpy())
    return FeatureSet(table, matrices, list(dense.columns)), vectorizers


def featurize(
    reviews: pd.DataFrame, trained: FeatureSet, vectorizers: dict[str, TfidfVectorizer]
) -> FeatureSet:
    """Features of reviews no model was fitted on (``reviewlab predict``): their own text
    features, the user's and the item's history in ``trained``'s training split (none for a
    newcomer), TF-IDF by ``trained``'s fitted ``vectorizers``. ``reviews`` needs ``text``;
    ``title``, ``user_id``, ``item_id``, ``helpful_votes``, ``total_votes`` may be missing."""
    frame = reviews.reset_index(drop=True).reindex(
        columns=["title", "text", *HISTORY_KEYS.values(), "helpful_votes", "total_votes"]
    )
    frame["doc"] = textfeat.document(frame["title"], frame["text"])
    train = trained.table.loc[trained.table["split"] == "train", [*HISTORY_KEYS.values(), "rating"]]
    both = pd.concat([train, frame[list(HISTORY_KEYS.values())]], ignore_index=True)
    split = pd.Series(["train"] * len(train) + ["new"] * len(frame))
    history = [history_stats(both, split, key, p) for p, key in HISTORY_KEYS.items()]
    history = [h.iloc[len(train) :].set_axis(frame.index) for h in history]
    dense = pd.concat([*_own_features(frame), *history], axis=1)[trained.dense_columns]
    table = pd.concat([frame[[*HISTORY_KEYS.values(), "doc"]], dense], axis=1)
    table.insert(0, "split", "new")
    return FeatureSet(table, tfidf_of(frame["doc"], vectorizers), list(trained.dense_columns))


def preprocess_report(
    reviews: pd.DataFrame,
    duplicates: pd.DataFrame,
    split: pd.Series,
    features: FeatureSet,
    dedupe_key: Sequence[str],
) -> dict[str, Any]:
    """Row accounting, split sizes, overlap and feature counts (``preprocess.json``)."""
    return {
        "rows_in": int(len(reviews) + len(duplicates)),
        "dedupe_key": list(dedupe_key),
        "duplicates_removed": int(len(duplicates)),
        "rows_out": int(len(reviews)),
        "split": {s: int((split == s).sum()) for s in SPLITS},
        "user_seen_in_train": overlap(reviews, split, "user_id"),
        "item_seen_in_train": overlap(reviews, split, "item_id"),
        "n_features": {
            "dense": len(features.dense_columns),
            **{f"tfidf_{k}": int(m.shape[1]) for k, m in features.tfidf.items()},
        },
    }
