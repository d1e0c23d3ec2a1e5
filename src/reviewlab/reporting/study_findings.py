"""Generated findings of the study stages (longtail, recommend, segments, opinions).

Each stage function takes the stage's ``Result`` and returns :class:`Findings`: a few summary
sentences and a conclusion that answers the report's heading, hedged by the confidence
intervals the metrics carry; every number is read from the result (nothing typed).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reviewlab.core.formatting import metric_with_ci, with_ci
from reviewlab.reporting.data_findings import spearman_ci
from reviewlab.reporting.page import Findings
from reviewlab.reporting.results import failure_note, task_comparisons

#: The recommenders that use review text (the others: popularity and the reference, ALS).
TEXT_MODELS = ("content", "hybrid")
#: The constant baseline of the review-level tasks.
CONSTANT = "majority"


# ---------------------------------------------------------------- longtail


def longtail(result: Any) -> Findings:
    """Findings of the ``longtail`` stage (``result.errors`` and ``result.gap``)."""
    errors, gap = result.errors, result.gap
    items = gap[gap["by"] == "item"].set_index("model")["tail_minus_head_rmse"]
    worse, sizes = int((items > 0).sum()), _sizes(errors, "item")
    summary = [
        f"{worse} of {len(items)} models have a higher test RMSE on tail items than on head "
        f"items (tail minus head: {items.min():+.3f} to {items.max():+.3f}); the gap is "
        f"smallest for `{items.idxmin()}` and largest for `{items.idxmax()}`.",
        _best_per_bucket(errors, "item"),
        _users(gap),
        f"Test rows per item bucket: {sizes}.",
    ]
    if worse == len(items):
        answer = "On the long tail of items: every model is less accurate there"
    elif worse == 0:
        answer = "Not on the long tail: no model is less accurate on tail items than on head"
    else:
        answer = f"Partly on the long tail: {worse} of {len(items)} models are less accurate there"
    conclusion = (
        f"{answer} (tail minus head RMSE {items.min():+.3f} to {items.max():+.3f}). These "
        f"per-bucket errors carry no confidence intervals ({sizes} test rows), so small "
        "differences between buckets or models may be noise."
    )
    return Findings(summary, conclusion)


def _best_per_bucket(errors: pd.DataFrame, by: str) -> str:
    rows = errors[errors["by"] == by]
    parts = []
    for bucket in ("head", "tail"):
        part = rows[rows["bucket"] == bucket]
        if len(part):
            best = part.loc[part["rmse"].idxmin()]
            parts.append(f"`{best['model']}` on {bucket} items (RMSE {best['rmse']:.3f})")
    return "The most accurate model is " + " and ".join(parts) + "."


def _users(gap: pd.DataFrame) -> str:
    users = gap[gap["by"] == "user"].set_index("model")["tail_minus_head_rmse"]
    if users.empty:
        return "The data has no user ids, so errors are not broken down by user activity."
    return (
        f"By user activity, {int((users > 0).sum())} of {len(users)} models are less accurate "
        f"on the least active users (tail minus head: {users.min():+.3f} to {users.max():+.3f})."
    )


def _sizes(errors: pd.DataFrame, by: str) -> str:
    rows = errors[errors["by"] == by].drop_duplicates("bucket")
    return ", ".join(f"{r['bucket']} {r['n']:,}" for _, r in rows.iterrows())


# ---------------------------------------------------------------- recommend


def recommend(result: Any) -> Findings:
    """Findings of the ``recommend`` stage (``result.metrics``: ``recommend.json``)."""
    m = result.metrics
    models, k = m["models"], m["k"]
    best = max(models, key=lambda name: models[name]["all"]["ndcg"])
    ndcg = ", ".join(f"{name} {metric_with_ci(e['all'], 'ndcg')}" for name, e in models.items())
    summary = [
        f"{m['users']:,} users and {m['items']:,} items ({_buckets(m)}), each user's last "
        f"review held out: `{best}` has the highest NDCG@{k} over all test users (95% CIs: "
        f"{ndcg}).",
        *[_versus_als(m, name) for name in TEXT_MODELS if name in m["vs_als"]],
        "Share of recommended slots that go to tail items: "
        + ", ".join(f"{name} {e['tail_share']:.1%}" for name, e in models.items())
        + "; catalogue coverage: "
        + ", ".join(f"{name} {e['coverage']:.1%}" for name, e in models.items())
        + ".",
    ]
    return Findings(summary, _recommend_conclusion(m))


def _buckets(m: dict[str, Any]) -> str:
    return ", ".join(f"{n:,} {bucket}" for bucket, n in m["item_buckets"].items())


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
    return chosen.astype(object).fillna("—")


def _difference(d: dict[str, Any], verdict: bool = True) -> str:
    value = with_ci(d["ndcg_difference"], d["low"], d["high"], sign=True)
    if not verdict:
        return value
    return f"{value} ({d['verdict']})"


def _versus_als(m: dict[str, Any], name: str) -> str:
    diffs = m["vs_als"][name]
    parts = [f"{s}-item users {_difference(diffs[s])}" for s in ("tail", "head") if s in diffs]
    return f"`{name}` minus ALS, NDCG@{m['k']} (paired 95% CI): " + "; ".join(parts) + "."


def _recommend_conclusion(m: dict[str, Any]) -> str:
    als = m["models"]["als"]
    parts, surfaced = [], False
    for name in (n for n in TEXT_MODELS if n in m["models"]):
        model, head = m["models"][name], m["vs_als"][name].get("head")
        more = model["tail_share"] > als["tail_share"]
        surfaced |= more
        cost = ""
        if head:
            lost = head["verdict"] == "worse"
            cost = (
                f", {'at a cost' if lost else 'with no cost shown'} ({head['verdict']}) on "
                f"head-item users (NDCG@{m['k']} {_difference(head, verdict=False)})"
            )
        parts.append(
            f"`{name}` gives tail items {model['tail_share']:.1%} of its slots vs ALS's "
            f"{als['tail_share']:.1%} ({'more' if more else 'no more'}){cost}"
        )
    answer = "Yes, in exposure" if surfaced else "No"
    return f"{answer}: " + "; ".join(parts) + "."


# ---------------------------------------------------------------- segments


def segments(result: Any) -> Findings:
    """Findings of the ``segments`` stage (segments and the ``age_group`` task's metrics)."""
    silhouette = float(result.search["silhouette"].max())
    ks = result.search["k"].tolist()
    table = result.table
    low, high = table["mean_rating"].idxmin(), table["mean_rating"].idxmax()
    task = result.age_group
    summary = [
        f"{len(result.labels):,} users (training reviews only) split best into k = {result.k} "
        f"segments: silhouette {silhouette:.3f}, the highest of k = {ks}; {result.structure}.",
        f"Segment {_segment(table, low)} rates lowest and segment {_segment(table, high)} highest.",
        _task_sentence(task),
        *_failed([task]),
    ]
    best = _best(task)
    conclusion = (
        f"As far as a silhouette of {silhouette:.3f} allows: k-means finds {result.k} segments, "
        f"{result.structure}. The supervised check, the age group from review text, reaches "
        f"macro-F1 {metric_with_ci(task['models'][best], 'macro_f1')} with `{best}`, "
        f"{_versus_majority(task)}."
    )
    return Findings(summary, conclusion)


def _segment(table: pd.DataFrame, segment: Any) -> str:
    row = table.loc[segment]
    return (
        f"{segment} ({row['share']:.0%} of users, mean {row['mean_rating']:.2f} stars, "
        f"{row['reviews']:.1f} reviews each; distinctive words: {row['distinctive_terms']})"
    )


# ---------------------------------------------------------------- opinions


def opinions(result: Any) -> Findings:
    """Findings of the ``opinions`` stage (the review-level tasks and the aspects)."""
    check = result.agreement
    products = result.products
    with_cons = sum(int((t["verdict"] == "con").any()) for t in products.values())
    terms = sum(len(t) for t in result.aspects.values())
    summary = [
        *[_task_sentence(task) for task in result.tasks.values()],
        *_failed(list(result.tasks.values())),
        f"{terms} aspect terms over {len(result.aspects)} categories, mentioned "
        f"{len(result.mentions):,} times; on test reviews, {_agreement(check)}.",
        f"Of the {len(products)} most-reviewed products, {with_cons} have at least one con.",
    ]
    review_level = "; ".join(
        f"`{task['task']}` macro-F1 {metric_with_ci(task['models'][_best(task)], 'macro_f1')} "
        f"with `{_best(task)}`, {_versus_majority(task)}"
        for task in result.tasks.values()
    )
    rho = check["spearman_review_aspect"]
    low, high = spearman_ci(rho, check["review_aspect_pairs"])
    reliable = low is not None and (low > 0 or high < 0)
    conclusion = (
        f"Per review: {review_level}. Per aspect, sentiment agrees with the stars "
        f"{_strength(rho)} ({'the CI excludes 0' if reliable else 'the CI includes 0'}): "
        f"{_agreement(check)}."
    )
    return Findings(summary, conclusion)


def aspects_table(aspects: dict[Any, list[str]]) -> pd.DataFrame:
    """Aspect terms of each category, one row per category."""
    terms = {category: ", ".join(found) for category, found in aspects.items()}
    return pd.Series(terms, name="aspect terms").rename_axis("category").to_frame()


def _agreement(check: dict[str, Any]) -> str:
    rho, pairs = check["spearman_review_aspect"], check["review_aspect_pairs"]
    low, high = spearman_ci(rho, pairs)
    return (
        f"aspect sentiment vs stars Spearman {with_ci(rho, low, high, sign=True)} over "
        f"{pairs:,} review-aspect pairs; reviews praising an aspect average "
        f"{check['mean_stars_praised']:.2f} stars, those criticising it "
        f"{check['mean_stars_criticised']:.2f}"
    )


# ---------------------------------------------------------------- review-level tasks


def _strength(rho: float) -> str:
    """Cohen's (1988) reading of a correlation's size."""
    size = abs(rho)
    if size < 0.1:
        return "negligibly"
    if size < 0.3:
        return "weakly"
    return "moderately" if size < 0.5 else "strongly"


def _versus_majority(task: dict[str, Any]) -> str:
    """The paired verdict of a task's best model against the majority class on macro-F1."""
    best = _best(task)
    if best == CONSTANT:
        return "no trained model is better than the majority class (all failed)"
    c = next(c for c in task_comparisons(task, "macro_f1") if c["model"] == best)
    difference = with_ci(c["difference"], c["low"], c["high"], sign=True)
    return f"macro-F1 minus the majority class's {difference}: {c['verdict']}"


def _best(task: dict[str, Any]) -> str:
    """The model with the best test macro-F1 among those that did not fail (the majority
    class where every trained model failed): a failed model is never named best."""
    models = task["models"]
    working = [n for n, e in models.items() if n != CONSTANT and not e.get("failed")]
    return max(working, key=lambda n: models[n]["macro_f1"]) if working else CONSTANT


def _task_sentence(task: dict[str, Any]) -> str:
    """The best model of a task by test macro-F1 against the baselines, with CIs."""
    models, best = task["models"], _best(task)
    others = [
        f"{name} {metric_with_ci(e, 'macro_f1')}" for name, e in models.items() if name != best
    ]
    auc = models[best].get("roc_auc")
    auc_part = f", ROC-AUC {metric_with_ci(models[best], 'roc_auc')}" if auc is not None else ""
    return (
        f"`{task['task']}` ({task['dataset']}, {task['test_rows']:,} test rows): `{best}` has "
        f"the best macro-F1, {metric_with_ci(models[best], 'macro_f1')}{auc_part}; "
        + ", ".join(others)
        + "."
    )


def _failed(tasks: list[dict[str, Any]]) -> list[str]:
    """One sentence naming every trained model of ``tasks`` that failed, and why (none where
    no model did)."""
    parts = [
        f"`{name}` on `{task['task']}` ({failure_note(task, name)}; macro-F1 "
        f"{metric_with_ci(entry, 'macro_f1')})"
        for task in tasks
        for name, entry in task["models"].items()
        if name != CONSTANT and entry.get("failed")
    ]
    if not parts:
        return []
    return ["Failed, so no conclusion is drawn from them: " + "; ".join(parts) + "."]


# ---------------------------------------------------------------- the index


def index_lines(
    tasks: list[dict[str, Any]],
    recommend: dict[str, Any] | None,
    segments: dict[str, Any] | None,
    opinions: dict[str, Any] | None,
) -> list[str]:
    """One sentence per neighbouring study, from its metrics (macro-F1 with 95% CIs)."""
    lines = []
    for task in tasks:
        models = task["models"]
        working = [m for m, e in models.items() if m != "majority" and not e.get("failed")]
        tuned = models.get("finetune")
        line = f"Task **{task['task']}** ({task['dataset']}): "
        if working:
            best = max(working, key=lambda m: models[m]["macro_f1"])
            line += f"best macro-F1 {best} {metric_with_ci(models[best], 'macro_f1')}"
        else:
            line += "every trained model failed against the majority class"
        if tuned and tuned.get("failed"):
            line += f"; the fine-tuned encoder failed ({failure_note(task, 'finetune')})"
        elif tuned and working and best != "finetune":
            line += f"; the fine-tuned encoder {metric_with_ci(tuned, 'macro_f1')}"
        lines.append(line + ".")
    if opinions:
        check = opinions["test_agreement"]
        lines.append(
            f"Aspects ({opinions['dataset']}): aspect sentiment agrees "
            f"{_strength(check['spearman_review_aspect'])} with the stars "
            f"(Spearman {check['spearman_review_aspect']:.2f} over "
            f"{check['review_aspect_pairs']:,} review-aspect pairs; mean stars "
            f"{check['mean_stars_praised']:.2f} where praised vs "
            f"{check['mean_stars_criticised']:.2f} where criticised)."
        )
    if segments:
        lines.append(
            f"Segments ({segments['dataset']}, {segments['users']:,} users): k = "
            f"{segments['k']}, {segments['structure']}."
        )
    if recommend:
        lines += [f"Recommendation: {line}" for line in recommend["findings"]]
    return lines
