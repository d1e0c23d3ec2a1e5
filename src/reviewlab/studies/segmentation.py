"""Customer segmentation from reviews and behaviour (training split only).

A user's profile is the mean embedding of their training reviews plus behaviour statistics
(review count, mean and spread of their ratings, helpful votes received, tenure). Segments
come from k-means on the standardised profile (embedding reduced by PCA); k is the value in
``ks`` with the highest silhouette score. Each segment is described by its behaviour means and
the words whose training TF-IDF weight is most above the average user's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from reviewlab.core.params import SegmentParams
from reviewlab.studies.terms import content_term

BEHAVIOUR = ["reviews", "mean_rating", "rating_std", "helpful_votes", "tenure_days"]


def user_profiles(train: pd.DataFrame, embeddings: pd.DataFrame) -> pd.DataFrame:
    """One row per user of the training rows ``train`` (features table): behaviour columns +
    ``e0..`` mean-embedding columns (unit length)."""
    train = train.dropna(subset=["user_id"])
    grouped = train.groupby("user_id")
    behaviour = pd.DataFrame(
        {
            "reviews": grouped.size(),
            "mean_rating": grouped["rating"].mean(),
            "rating_std": grouped["rating"].std(ddof=0),
            "helpful_votes": grouped["helpful_votes"].sum(),
            "tenure_days": (grouped["timestamp"].max() - grouped["timestamp"].min())
            / pd.Timedelta(days=1),
        }
    )
    vectors = embeddings.loc[train["review_id"]].to_numpy()
    mean = pd.DataFrame(vectors, index=train["user_id"].to_numpy()).groupby(level=0).mean()
    norms = np.linalg.norm(mean.to_numpy(), axis=1, keepdims=True)
    mean = pd.DataFrame(mean.to_numpy() / np.where(norms > 0, norms, 1.0), index=mean.index)
    mean.columns = [f"e{i}" for i in range(mean.shape[1])]
    return behaviour.join(mean).rename_axis("user_id")


def design_matrix(profiles: pd.DataFrame, n_components: int, seed: int) -> np.ndarray:
    """Standardised [PCA(embedding), log1p(counts), ratings, tenure] for clustering."""
    embedding = profiles.filter(regex=r"^e\d+$").to_numpy()
    reduced = PCA(n_components=n_components, random_state=seed).fit_transform(embedding)
    behaviour = profiles[BEHAVIOUR].astype("float64").copy()
    for column in ("reviews", "helpful_votes", "tenure_days"):
        behaviour[column] = np.log1p(behaviour[column])
    return StandardScaler().fit_transform(np.hstack([reduced, behaviour.to_numpy()]))


def choose_k(x: np.ndarray, ks: list[int], seed: int) -> tuple[int, pd.DataFrame]:
    """k-means for each k; the k with the highest silhouette score (and the table)."""
    rows = []
    for k in ks:
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
        rows.append({"k": k, "silhouette": float(silhouette_score(x, labels, random_state=seed))})
    table = pd.DataFrame(rows)
    return int(table.loc[table["silhouette"].idxmax(), "k"]), table


def segment(profiles: pd.DataFrame, cfg: SegmentParams, seed: int) -> dict[str, Any]:
    """Cluster users: chosen k, labels, the silhouette table and a 2-D PCA projection."""
    x = design_matrix(profiles, cfg.pca_components, seed)
    k, search = choose_k(x, cfg.ks, seed)
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
    projection = PCA(n_components=2, random_state=seed).fit_transform(x)
    return {
        "k": k,
        "labels": pd.Series(labels, index=profiles.index, name="segment"),
        "search": search,
        "projection": pd.DataFrame(projection, index=profiles.index, columns=["pc1", "pc2"]),
    }


def describe(profiles: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Size and behaviour means of each segment."""
    frame = profiles[BEHAVIOUR].assign(segment=labels)
    table = frame.groupby("segment").mean()
    table.insert(0, "users", frame.groupby("segment").size())
    table.insert(1, "share", table["users"] / table["users"].sum())
    return table


def distinctive_terms(
    tfidf, vocabulary: np.ndarray, review_users: np.ndarray, labels: pd.Series, n: int
) -> dict[int, list[str]]:
    """Per segment, the ``n`` terms (none with a stop word: :func:`~.terms.content_term`) whose
    mean TF-IDF weight over the segment's training reviews is most above the mean over all
    training reviews."""
    segment_of = labels.reindex(review_users).to_numpy()
    overall = np.asarray(tfidf.mean(axis=0)).ravel()
    content = np.array([content_term(str(term)) for term in vocabulary], dtype=bool)
    terms = {}
    for s in sorted(labels.unique()):
        rows = np.flatnonzero(segment_of == s)
        lift = np.where(content, np.asarray(tfidf[rows].mean(axis=0)).ravel() - overall, -np.inf)
        terms[int(s)] = vocabulary[np.argsort(-lift, kind="stable")[:n]].tolist()
    return terms


@dataclass
class Segmentation:
    """Chosen k, each user's segment, the silhouette search, the 2-D projection, the segment
    table (size, behaviour, distinctive terms), the profiles and ``segments.json``'s payload."""

    k: int
    labels: pd.Series
    search: pd.DataFrame
    projection: pd.DataFrame
    table: pd.DataFrame
    profiles: pd.DataFrame
    metrics: dict[str, Any]


def study(
    dataset: str,
    table: pd.DataFrame,
    word_tfidf,
    vocabulary: np.ndarray,
    embeddings: pd.DataFrame,
    cfg: SegmentParams,
    seed: int,
) -> Segmentation:
    """Profiles from the training rows of the features ``table`` (with their word TF-IDF rows
    ``word_tfidf`` over ``vocabulary``) and the review ``embeddings``; segments and terms."""
    is_train = (table["split"] == "train").to_numpy() & table["user_id"].notna().to_numpy()
    train = table[is_train]
    profiles = user_profiles(train, embeddings)
    result = segment(profiles, cfg, seed)
    described = describe(profiles, result["labels"])
    terms = distinctive_terms(
        word_tfidf[np.flatnonzero(is_train)],
        vocabulary,
        train["user_id"].to_numpy(),
        result["labels"],
        cfg.terms,
    )
    described["distinctive_terms"] = [", ".join(terms[s]) for s in described.index]
    metrics = {
        "dataset": dataset,
        "users": len(profiles),
        "k": result["k"],
        "criterion": "highest silhouette score over segments.ks",
        "silhouette": result["search"].round(6).to_dict("records"),
        "segments": described.reset_index().round(6).to_dict("records"),
    }
    return Segmentation(**result, table=described, profiles=profiles, metrics=metrics)


def plot_projection(projection: pd.DataFrame, labels: pd.Series, k: int):
    """Users in the first two principal components of the clustering space, by segment."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    frame = projection.assign(segment=labels.astype(str))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sns.scatterplot(data=frame, x="pc1", y="pc2", hue="segment", s=12, alpha=0.7, ax=ax)
    ax.set(title=f"{len(frame)} users, k = {k} segments (PCA of the clustering space)")
    return fig
