"""Top-N recommendation with a leave-last-out (temporal) protocol, for the long-tail study.

Each user's reviews in time order: the last one is the test interaction, the one before it the
validation interaction, the rest are training interactions. Hyper-parameters are chosen on
validation with the training interactions; the test run refits on training + validation.
Items a user already reviewed are never recommended to them; the held-out interaction's own
review text is never part of any item's content vector.

Models: popularity; implicit-feedback ALS (the ``implicit`` library); content-based (cosine
between an item's mean review embedding and the mean of the user's items); and a hybrid that
adds the per-user standardised ALS and content scores with weight ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from reviewlab.core.evaluation import percentile_bootstrap
from reviewlab.core.evaluation.inference import Design, bootstrap_scores, compare, decide, rounded
from reviewlab.core.formatting import metric_with_ci
from reviewlab.core.params import EvaluationParams, RecommendParams
from reviewlab.studies.tail import popularity_buckets

K = 10


def leave_last_out(reviews: pd.DataFrame) -> pd.Series:
    """``train`` / ``valid`` / ``test`` per review: each user's last review is test, the one
    before it valid (ties in time broken by review id, so the split is deterministic)."""
    ordered = reviews.sort_values(["user_id", "timestamp", "review_id"])
    from_end = ordered.groupby("user_id").cumcount(ascending=False)
    role = np.select([from_end == 0, from_end == 1], ["test", "valid"], "train")
    return pd.Series(role, index=ordered.index).reindex(reviews.index)


@dataclass
class Interactions:
    """Users x items index maps and the fitting interactions as a CSR matrix."""

    users: pd.Index
    items: pd.Index
    matrix: sp.csr_matrix

    @classmethod
    def build(cls, fit_rows: pd.DataFrame, users: pd.Index, items: pd.Index) -> Interactions:
        u = users.get_indexer(fit_rows["user_id"])
        i = items.get_indexer(fit_rows["item_id"])
        data = np.ones(len(fit_rows), dtype=np.float32)
        shape = (len(users), len(items))
        return cls(users, items, sp.csr_matrix((data, (u, i)), shape=shape))


def popularity_scores(inter: Interactions) -> np.ndarray:
    counts = np.asarray(inter.matrix.sum(axis=0)).ravel()
    return np.tile(counts, (len(inter.users), 1))


def als_scores(inter: Interactions, factors: int, regularization: float, seed: int) -> np.ndarray:
    """User x item scores of implicit's ALS fitted on the (binary) interaction matrix."""
    from implicit.als import AlternatingLeastSquares

    # implicit parallelises itself and BLAS threads fight it; it checks (and warns) when the
    # model is built, so the single-thread limit covers construction and fit
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            iterations=20,
            random_state=seed,
            use_gpu=False,
            calculate_training_loss=False,
        )
        model.fit(inter.matrix, show_progress=False)
    return np.asarray(model.user_factors) @ np.asarray(model.item_factors).T


def content_scores(
    inter: Interactions, fit_rows: pd.DataFrame, embeddings: pd.DataFrame
) -> np.ndarray:
    """Cosine between each item's mean review embedding (fitting reviews only) and the mean
    vector of the items each user reviewed."""
    vectors = embeddings.loc[fit_rows["review_id"]].to_numpy()
    item_index = inter.items.get_indexer(fit_rows["item_id"])
    sums = np.zeros((len(inter.items), vectors.shape[1]))
    np.add.at(sums, item_index, vectors)
    items = _unit(sums)
    users = _unit(inter.matrix @ items)
    return users @ items.T


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def standardise(scores: np.ndarray) -> np.ndarray:
    """Per-user z-scores, so that two models' scores can be added."""
    std = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)


def top_n(scores: np.ndarray, seen: sp.csr_matrix, k: int = K) -> np.ndarray:
    """Indices of each user's ``k`` best unseen items, best first (ties: lower index)."""
    masked = np.where(seen.toarray() > 0, -np.inf, scores)
    order = np.argsort(-masked, axis=1, kind="stable")
    return order[:, :k]


def hits(recommended: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-user Recall@k (0/1: one held-out item) and NDCG@k of the held-out item."""
    match = recommended == targets[:, None]
    found = match.any(axis=1)
    rank = match.argmax(axis=1)
    ndcg = np.where(found, 1.0 / np.log2(rank + 2.0), 0.0)
    return found.astype(np.float64), ndcg


def evaluate_lists(
    recommended: np.ndarray,
    targets: np.ndarray,
    item_bucket: np.ndarray,
    ci: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Recall@k / NDCG@k overall, on users whose held-out item is a tail or head item, with
    bootstrap CIs over users; catalogue coverage and the tail share of recommended slots."""
    recall, ndcg = hits(recommended, targets)
    result: dict[str, Any] = {}
    target_bucket = item_bucket[targets]
    for subset, mask in (
        ("all", np.ones(len(targets), dtype=bool)),
        ("tail", target_bucket == "tail"),
        ("head", target_bucket == "head"),
    ):
        r, g = recall[mask], ndcg[mask]
        if not mask.any():
            result[subset] = {"users": 0}
            continue
        entry = {"recall": float(r.mean()), "ndcg": float(g.mean()), "users": int(mask.sum())}
        if ci:
            bounds = percentile_bootstrap(
                lambda idx, r=r, g=g: {"recall": r[idx].mean(), "ndcg": g[idx].mean()},
                len(r),
                ("recall", "ndcg"),
                **ci,
            )
            for metric, bound in bounds.items():
                entry[f"{metric}_low"], entry[f"{metric}_high"] = bound["low"], bound["high"]
        result[subset] = {k: round(v, 6) if isinstance(v, float) else v for k, v in entry.items()}
    n_items = len(item_bucket)
    result["coverage"] = round(len(np.unique(recommended)) / n_items, 6)
    result["tail_share"] = round(float(np.mean(item_bucket[recommended] == "tail")), 6)
    return result


def paired_differences(
    lists: dict[str, np.ndarray],
    targets: np.ndarray,
    item_bucket: np.ndarray,
    reference: str,
    design: Design,
    margin: float,
) -> dict[str, Any]:
    """NDCG@k of each model minus ``reference`` on the same users (all, tail-item and
    head-item users) by the paired inference: users resampled jointly for all models, one
    Holm family over every model and user group, a verdict each."""
    _, base = hits(lists[reference], targets)
    target_bucket = item_bucket[targets]
    names = [name for name in lists if name != reference]
    ndcg = np.stack([hits(lists[name], targets)[1] for name in names] + [base])
    keys, family = [], []
    for subset in ("all", "tail", "head"):
        mask = np.ones(len(targets), bool) if subset == "all" else target_bucket == subset
        if not mask.any():
            continue
        values = ndcg[:, mask]
        point, draws = bootstrap_scores(lambda idx, v=values: v[:, idx].mean(1), mask.sum(), design)
        for i, name in enumerate(names):
            keys.append((name, subset))
            family.append(
                compare(
                    point[i],
                    point[-1],
                    draws[:, i],
                    draws[:, -1],
                    higher_is_better=True,
                    margin=margin,
                    design=design,
                )
            )
    out: dict[str, Any] = {name: {} for name in names}
    for (name, subset), decided in zip(keys, decide(family, design), strict=True):
        entry = rounded(decided)
        out[name][subset] = {"ndcg_difference": entry.pop("difference"), **entry}
    return out


def run(
    reviews: pd.DataFrame,
    embeddings: pd.DataFrame,
    cfg: RecommendParams,
    shares: list[float],
    seed: int,
    evaluation: EvaluationParams,
) -> dict[str, Any]:
    """The whole study: split, choose settings on validation, score every model on test
    (bootstrap CIs over users) and compare each with ALS by the paired inference."""
    role = leave_last_out(reviews)
    users = pd.Index(sorted(reviews["user_id"].unique()))
    items = pd.Index(sorted(reviews["item_id"].unique()))
    study = _Study(reviews, embeddings, role, users, items, seed)
    counts = reviews[role == "train"]["item_id"].value_counts().reindex(items, fill_value=0)
    bucket = popularity_buckets(counts, shares).to_numpy()
    table = _search(study, cfg)
    chosen = _chosen(table)
    test_users, test_targets = study.targets("test")
    lists = _test_lists(study, chosen, test_users)
    ci = evaluation.ci(seed)
    models = {name: evaluate_lists(top, test_targets, bucket, ci) for name, top in lists.items()}
    design, margin = evaluation.design(seed), evaluation.margin("ndcg")
    vs_als = paired_differences(lists, test_targets, bucket, "als", design, margin)
    return {
        "k": K,
        "users": len(users),
        "items": len(items),
        "item_buckets": pd.Series(bucket).value_counts().to_dict(),
        "chosen_on_valid": chosen,
        "vs_als": vs_als,
        "models": models,
        "search": table.to_dict(orient="records"),
        "lists": {k: v.tolist() for k, v in lists.items()},
    }


@dataclass
class _Study:
    """The interactions of the study, each review's role, and the user / item indices."""

    reviews: pd.DataFrame
    embeddings: pd.DataFrame
    role: pd.Series  # train / valid / test per review (leave-last-out)
    users: pd.Index
    items: pd.Index
    seed: int

    def fitted(self, fit_rows: pd.DataFrame, factors: int, reg: float) -> tuple:
        """(interactions, standardised ALS scores, standardised content scores)."""
        inter = Interactions.build(fit_rows, self.users, self.items)
        als = standardise(als_scores(inter, factors, reg, self.seed))
        return inter, als, standardise(content_scores(inter, fit_rows, self.embeddings))

    def targets(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(row of each user with a ``split`` interaction, index of that item)."""
        held = self.reviews[self.role == split]
        return self.users.get_indexer(held["user_id"]), self.items.get_indexer(held["item_id"])


def _search(study: _Study, cfg: RecommendParams) -> pd.DataFrame:
    """Validation NDCG of ALS and the hybrid over the grid of ``cfg``, fitted on train."""
    train = study.reviews[study.role == "train"]
    valid_users, valid_targets = study.targets("valid")
    search = []
    for factors in cfg.als_factors:
        for reg in cfg.als_regularization:
            inter, als, content = study.fitted(train, factors, reg)
            for alpha in cfg.hybrid_alpha:
                hybrid = alpha * als + (1 - alpha) * content
                row = {"factors": factors, "regularization": reg, "alpha": alpha}
                for name, scores in (("als", als), ("hybrid", hybrid)):
                    top = top_n(scores[valid_users], inter.matrix[valid_users])
                    _, ndcg = hits(top, valid_targets)
                    row[f"{name}_valid_ndcg"] = round(float(ndcg.mean()), 6)
                search.append(row)
    return pd.DataFrame(search)


def _chosen(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The best ALS and hybrid settings on validation (the first of ties)."""
    best_als = table.sort_values("als_valid_ndcg", ascending=False, kind="stable").iloc[0]
    best_hybrid = table.sort_values("hybrid_valid_ndcg", ascending=False, kind="stable").iloc[0]
    return {
        "als": {
            "factors": int(best_als["factors"]),
            "regularization": float(best_als["regularization"]),
        },
        "hybrid": {
            "factors": int(best_hybrid["factors"]),
            "regularization": float(best_hybrid["regularization"]),
            "alpha": float(best_hybrid["alpha"]),
        },
    }


def _test_lists(
    study: _Study, chosen: dict[str, dict[str, Any]], test_users: np.ndarray
) -> dict[str, np.ndarray]:
    """Every model's top-k list per test user, refitted with the chosen settings on train and
    validation."""
    fit_rows = study.reviews[study.role != "test"]
    als_cfg, hybrid_cfg = chosen["als"], chosen["hybrid"]
    inter, als, content = study.fitted(fit_rows, als_cfg["factors"], als_cfg["regularization"])
    scores = {"popularity": popularity_scores(inter), "als": als, "content": content}
    if (hybrid_cfg["factors"], hybrid_cfg["regularization"]) != tuple(als_cfg.values()):
        _, als, _ = study.fitted(fit_rows, hybrid_cfg["factors"], hybrid_cfg["regularization"])
    scores["hybrid"] = hybrid_cfg["alpha"] * als + (1 - hybrid_cfg["alpha"]) * content
    return {name: top_n(s[test_users], inter.matrix[test_users]) for name, s in scores.items()}


@dataclass
class Recommendation:
    """``recommend.json``'s payload and each model's top-k lists (item indices per test user)."""

    metrics: dict[str, Any]
    lists: dict[str, list]


def study(
    dataset: str,
    reviews: pd.DataFrame,
    embeddings: pd.DataFrame,
    cfg: RecommendParams,
    shares: list[float],
    seed: int,
    evaluation: EvaluationParams,
) -> Recommendation:
    """:func:`run` on the reviews of ``dataset`` that have a user and an item."""
    result = run(
        reviews.dropna(subset=["user_id", "item_id"]), embeddings, cfg, shares, seed, evaluation
    )
    metrics = {"dataset": dataset, **{k: v for k, v in result.items() if k != "lists"}}
    return Recommendation(metrics, result["lists"])


def summary(result: dict[str, Any]) -> pd.DataFrame:
    """One row per model: Recall@k / NDCG@k (all users, tail-item users), coverage, tail share."""
    rows = []
    for model, m in result["models"].items():
        row = {"model": model}
        for subset in ("all", "tail", "head"):
            for metric in ("recall", "ndcg"):
                row[f"{metric}_{subset}"] = metric_with_ci(m[subset], metric)
        row["coverage"], row["tail_share"] = m["coverage"], m["tail_share"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def plot_tradeoff(result: dict[str, Any]):
    """NDCG@k on all users against the tail share of recommendations, one point per model."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for model, m in result["models"].items():
        ax.scatter(m["tail_share"], m["all"]["ndcg"], s=60)
        ax.annotate(
            model, (m["tail_share"], m["all"]["ndcg"]), xytext=(5, 5), textcoords="offset points"
        )
    ax.set(
        xlabel="share of recommended slots that are tail items",
        ylabel=f"NDCG@{result['k']} (all users)",
        title="accuracy vs long-tail exposure",
    )
    return fig
