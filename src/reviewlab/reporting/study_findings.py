"""Findings of the study stages (longtail, recommend, segments, opinions) and the index page's
study sentences.

Each ``<stage>_facts`` computes what a report states: numbers, names and verdicts, a plain
dict; ``templates/<stage>.md.j2`` phrases them (:mod:`reviewlab.reporting.prose`), hedged by
the confidence intervals the metrics carry. The reports' tables are built here too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reviewlab.core.formatting import MISSING, with_ci
from reviewlab.reporting import prose
from reviewlab.reporting.data_findings import spearman_ci
from reviewlab.reporting.page import Findings
from reviewlab.reporting.results import (
    failure_note,
    paired_facts,
    task_comparisons,
    versus_als_facts,
)

#: The recommenders that use review text (the others: popularity and the reference, ALS).
TEXT_MODELS = ("content", "hybrid")
#: The constant baseline of the review-level tasks.
CONSTANT = "majority"

#: A value with its 95% CI bounds: ``(value, low, high)`` (a bound is None where missing).
CI = tuple[Any, Any, Any]


def _ci(entry: dict[str, Any], metric: str) -> CI:
    """``entry[metric]`` with its bounds (metrics JSON), for the ``ci`` filter."""
    return entry.get(metric), entry.get(f"{metric}_low"), entry.get(f"{metric}_high")


# ---------------------------------------------------------------- longtail


def longtail(result: Any) -> Findings:
    """Findings of the ``longtail`` stage (``result.errors`` and ``result.gap``)."""
    return prose.findings("longtail", longtail_facts(result.errors, result.gap))


def longtail_facts(errors: pd.DataFrame, gap: pd.DataFrame) -> dict[str, Any]:
    """Per model the test RMSE on tail minus head items (and users): how many models are worse
    on the tail (``verdict``: all, none or some), the range, the best model per bucket and the
    test rows per item bucket."""
    items = gap[gap["by"] == "item"].set_index("model")["tail_minus_head_rmse"]
    rows = errors[errors["by"] == "item"]
    worse = int((items > 0).sum())
    return {
        "models": len(items),
        "worse": worse,
        "verdict": "all" if worse == len(items) else "none" if worse == 0 else "some",
        "gaps": (float(items.min()), float(items.max())),
        "smallest": items.idxmin(),
        "largest": items.idxmax(),
        "best": _best_per_bucket(rows),
        "users": _user_gaps(gap),
        "sizes": {r["bucket"]: int(r["n"]) for _, r in rows.drop_duplicates("bucket").iterrows()},
    }


def _best_per_bucket(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The lowest-RMSE model on head and on tail items (``{bucket: {model, rmse}}``)."""
    best = {}
    for bucket in ("head", "tail"):
        part = rows[rows["bucket"] == bucket]
        if len(part):
            row = part.loc[part["rmse"].idxmin()]
            best[bucket] = {"model": row["model"], "rmse": float(row["rmse"])}
    return best


def _user_gaps(gap: pd.DataFrame) -> dict[str, Any] | None:
    """How many models are worse on the least active users and the range of the gap (None
    where the data has no user ids)."""
    users = gap[gap["by"] == "user"].set_index("model")["tail_minus_head_rmse"]
    if users.empty:
        return None
    return {
        "models": len(users),
        "worse": int((users > 0).sum()),
        "gaps": (float(users.min()), float(users.max())),
    }


# ---------------------------------------------------------------- recommend


def recommend(result: Any) -> Findings:
    """Findings of the ``recommend`` stage (``result.metrics``: ``recommend.json``)."""
    return prose.findings("recommend", recommend_facts(result.metrics))


def recommend_facts(m: dict[str, Any]) -> dict[str, Any]:
    """From ``recommend.json``: the data, the best model on NDCG@k, every model's NDCG@k,
    tail share and coverage, and per text model its paired difference from ALS on tail- and
    head-item users and whether it gives tail items more slots than ALS (``surfaced``: any)."""
    models = m["models"]
    text = [_text_model(m, name) for name in TEXT_MODELS if name in m["vs_als"]]
    return {
        "users": m["users"],
        "items": m["items"],
        "buckets": m["item_buckets"],
        "k": m["k"],
        "best": max(models, key=lambda name: models[name]["all"]["ndcg"]),
        "ndcg": {name: _ci(e["all"], "ndcg") for name, e in models.items()},
        "tail_share": {name: e["tail_share"] for name, e in models.items()},
        "coverage": {name: e["coverage"] for name, e in models.items()},
        "als_tail_share": models["als"]["tail_share"],
        "text": text,
        "surfaced": any(model["more"] for model in text),
    }


def _text_model(m: dict[str, Any], name: str) -> dict[str, Any]:
    diffs, share = m["vs_als"][name], m["models"][name]["tail_share"]
    return {
        "name": name,
        "tail_share": share,
        "more": share > m["models"]["als"]["tail_share"],
        "groups": {s: paired_facts(diffs[s]) for s in ("tail", "head") if s in diffs},
    }


def recommend_table(summary: pd.DataFrame, k: int) -> pd.DataFrame:
    """The stage's per-model summary with readable column names (``NDCG@10, tail-item
    users``), rates rounded."""
    names = {"recall": f"Recall@{k}", "ndcg": f"NDCG@{k}"}

    def readable(column: str) -> str:
        metric, _, subset = column.partition("_")
        if metric in names:
            return f"{names[metric]}, {subset}-item users" if subset != "all" else names[metric]
        return column.replace("_", " ")

    return summary.round(3).rename(columns=readable)


def paired_table(m: dict[str, Any]) -> pd.DataFrame:
    """Each model minus ALS in NDCG@k, per user group, with its paired 95% CI and verdict."""
    rows = {
        name: {
            f"{subset}-item users" if subset != "all" else "all users": _difference(d)
            for subset, d in diffs.items()
        }
        for name, diffs in m["vs_als"].items()
    }
    return pd.DataFrame(rows).T.rename_axis(f"NDCG@{m['k']} minus ALS")


def chosen_table(m: dict[str, Any]) -> pd.DataFrame:
    """The settings chosen on validation NDCG, one row per tuned model."""
    chosen = pd.DataFrame.from_dict(m["chosen_on_valid"], orient="index")
    return chosen.astype(object).fillna(MISSING)


def _difference(d: dict[str, Any]) -> str:
    value = with_ci(d["ndcg_difference"], d["low"], d["high"], sign=True)
    return f"{value} ({d['verdict']})"


# ---------------------------------------------------------------- segments


def segments(result: Any) -> Findings:
    """Findings of the ``segments`` stage (segments and the ``age_group`` task's metrics)."""
    return prose.findings("segments", segments_facts(result))


def segments_facts(result: Any) -> dict[str, Any]:
    """The users segmented, the chosen k and the silhouette over the ks tried, the lowest- and
    highest-rating segments, and the ``age_group`` task (:func:`task_facts`)."""
    table, task = result.table, result.age_group
    return {
        "users": len(result.labels),
        "k": int(result.k),
        "ks": result.search["k"].tolist(),
        "silhouette": float(result.search["silhouette"].max()),
        "lowest": _segment(table, table["mean_rating"].idxmin()),
        "highest": _segment(table, table["mean_rating"].idxmax()),
        "task": task_facts(task),
        "failed": failed_facts([task]),
    }


def _segment(table: pd.DataFrame, segment: Any) -> dict[str, Any]:
    row = table.loc[segment]
    return {
        "segment": int(segment),
        "share": float(row["share"]),
        "mean_rating": float(row["mean_rating"]),
        "reviews": float(row["reviews"]),
        "terms": row["distinctive_terms"],
    }


# ---------------------------------------------------------------- opinions


def opinions(result: Any) -> Findings:
    """Findings of the ``opinions`` stage (the review-level tasks and the aspects)."""
    return prose.findings("opinions", opinions_facts(result))


def opinions_facts(result: Any) -> dict[str, Any]:
    """The review-level tasks (:func:`task_facts`, :func:`failed_facts`), the aspect terms and
    mentions, the products with a con, and on test reviews the Spearman correlation of aspect
    sentiment with the stars (``(rho, low, high)``; ``reliable``: its CI excludes 0)."""
    check, tasks = result.agreement, list(result.tasks.values())
    rho, pairs = check["spearman_review_aspect"], check["review_aspect_pairs"]
    low, high = spearman_ci(rho, pairs)
    return {
        "tasks": [task_facts(task) for task in tasks],
        "failed": failed_facts(tasks),
        "terms": sum(len(found) for found in result.aspects.values()),
        "categories": len(result.aspects),
        "mentions": len(result.mentions),
        "products": len(result.products),
        "with_cons": sum(int((t["verdict"] == "con").any()) for t in result.products.values()),
        "spearman": (rho, low, high),
        "reliable": low is not None and (low > 0 or high < 0),
        "pairs": pairs,
        "praised": check["mean_stars_praised"],
        "criticised": check["mean_stars_criticised"],
    }


def aspects_table(aspects: dict[Any, list[str]]) -> pd.DataFrame:
    """Aspect terms of each category, one row per category."""
    terms = {category: ", ".join(found) for category, found in aspects.items()}
    return pd.Series(terms, name="aspect terms").rename_axis("category").to_frame()


# ---------------------------------------------------------------- review-level tasks


def task_facts(task: dict[str, Any]) -> dict[str, Any]:
    """A task's best model by test macro-F1 (:func:`best_model`) with its CI (and ROC-AUC),
    every other model's macro-F1 and the best model's paired difference from the majority
    class (``versus``: None where the best is the majority class itself)."""
    models, best = task["models"], best_model(task)
    auc = models[best].get("roc_auc")
    return {
        "task": task["task"],
        "dataset": task["dataset"],
        "test_rows": task["test_rows"],
        "best": best,
        "macro_f1": _ci(models[best], "macro_f1"),
        "roc_auc": _ci(models[best], "roc_auc") if auc is not None else None,
        "others": {name: _ci(e, "macro_f1") for name, e in models.items() if name != best},
        "versus": _versus_majority(task, best),
    }


def _versus_majority(task: dict[str, Any], best: str) -> dict[str, Any] | None:
    """The paired difference of ``best`` from the majority class on macro-F1, and its verdict."""
    if best == CONSTANT:
        return None
    c = next(c for c in task_comparisons(task, "macro_f1") if c["model"] == best)
    return {"difference": (c["difference"], c["low"], c["high"]), "verdict": c["verdict"]}


def best_model(task: dict[str, Any]) -> str:
    """The model with the best test macro-F1 among those that did not fail (the majority
    class where every trained model failed): a failed model is never named best."""
    models = task["models"]
    working = [n for n, e in models.items() if n != CONSTANT and not e.get("failed")]
    return max(working, key=lambda n: models[n]["macro_f1"]) if working else CONSTANT


def failed_facts(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every trained model of ``tasks`` that failed: model, task, why (:func:`failure_note`)
    and its macro-F1 with CI."""
    return [
        {
            "model": name,
            "task": task["task"],
            "why": failure_note(task, name),
            "macro_f1": _ci(entry, "macro_f1"),
        }
        for task in tasks
        for name, entry in task["models"].items()
        if name != CONSTANT and entry.get("failed")
    ]


# ---------------------------------------------------------------- the index


def index_lines(
    tasks: list[dict[str, Any]],
    recommend: dict[str, Any] | None,
    segments: dict[str, Any] | None,
    opinions: dict[str, Any] | None,
) -> list[str]:
    """One sentence per neighbouring study, from its metrics (macro-F1 with 95% CIs)."""
    return prose.sentences("index_studies", index_facts(tasks, recommend, segments, opinions))


def index_facts(
    tasks: list[dict[str, Any]],
    recommend: dict[str, Any] | None,
    segments: dict[str, Any] | None,
    opinions: dict[str, Any] | None,
) -> dict[str, Any]:
    """Per task its best working model and the fine-tuned encoder (:func:`_index_task`); the
    aspect agreement of ``opinions.json``; the chosen k and best silhouette of
    ``segments.json``; each recommender against ALS (:func:`versus_als_facts`). A study whose
    metrics are missing (None) is None."""
    return {
        "tasks": [_index_task(task) for task in tasks],
        "aspects": _index_aspects(opinions) if opinions else None,
        "segments": _index_segments(segments) if segments else None,
        "recommend": versus_als_facts(recommend) if recommend else None,
    }


def _index_aspects(opinions: dict[str, Any]) -> dict[str, Any]:
    check = opinions["test_agreement"]
    return {
        "dataset": opinions["dataset"],
        "spearman": check["spearman_review_aspect"],
        "pairs": check["review_aspect_pairs"],
        "praised": check["mean_stars_praised"],
        "criticised": check["mean_stars_criticised"],
    }


def _index_segments(segments: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": segments["dataset"],
        "users": segments["users"],
        "k": segments["k"],
        "silhouette": max(row["silhouette"] for row in segments["silhouette"]),
    }


def _index_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task's best working model (None where every trained model failed) with its macro-F1,
    why the fine-tuned encoder failed (empty where it did not), and its macro-F1 where it did
    not fail and is not the best."""
    models, best = task["models"], best_model(task)
    tuned = models.get("finetune")
    shown = tuned and not tuned.get("failed") and best not in (CONSTANT, "finetune")
    return {
        "task": task["task"],
        "dataset": task["dataset"],
        "best": None if best == CONSTANT else best,
        "macro_f1": _ci(models[best], "macro_f1"),
        "finetune_failure": failure_note(task, "finetune") if tuned else "",
        "finetune": _ci(tuned, "macro_f1") if shown else None,
    }
