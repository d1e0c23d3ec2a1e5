"""``reports/index.html``: the front page of the study, generated from ``metrics/``.

The question, the headline answers with their confidence intervals (rating prediction per
dataset, the ablation grid, the neighbouring studies), one figure comparing every model, the
results table with one selected model per dataset, and every stage report grouped by stage.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mistune  # noqa: E402
import pandas as pd  # noqa: E402

from reviewlab.core.evaluation import METRICS  # noqa: E402
from reviewlab.core.formatting import with_ci  # noqa: E402
from reviewlab.reporting import grid_report, limitations, prose  # noqa: E402
from reviewlab.reporting.figures import DPI, MAX_WIDTH, draw  # noqa: E402
from reviewlab.reporting.glossary import glossary_html, link_terms  # noqa: E402
from reviewlab.reporting.page import document  # noqa: E402
from reviewlab.reporting.tables import show  # noqa: E402

_markdown = mistune.create_markdown()

QUESTION = (
    "Which star rating (1-5) will a customer give a product, from the review text and the "
    "customer's and product's history? Does fine-tuning a pretrained encoder beat linear and "
    "tree baselines, and do adversarial training and regularisation make it better?"
)


def rating_facts(results: pd.DataFrame) -> dict[str, Any]:
    """Per dataset: the model selected on validation, its test RMSE and accuracy with their 95%
    CIs, and its paired RMSE comparison with the best baseline (a baseline's: with the training
    mean), whether it failed, whether the dataset has a fine-tuned model."""
    datasets = []
    for dataset, rows in results.groupby("dataset", sort=False):
        chosen = rows[rows["best_on_valid"]].iloc[0]  # marked by results.results_frame
        baselines = rows[rows["stage"] == "baselines"]
        best = baselines.loc[baselines["valid_rmse"].idxmin()]
        reference = best["model"] if chosen["model"] != best["model"] else "mean_majority"
        datasets.append(
            {
                "dataset": dataset,
                "model": chosen["model"],
                "rmse": _bounds(chosen, "rmse"),
                "accuracy": _bounds(chosen, "accuracy"),
                "reference": reference,
                "versus": chosen["versus"].get(reference),
                "failed": bool(chosen["failed"]),
                "finetuned": bool((rows["stage"] == "finetune").any()),
            }
        )
    return {"datasets": datasets}


def rating_findings(results: pd.DataFrame) -> list[str]:
    """The index page's rating answers, one per dataset (``templates/rating.md.j2``)."""
    return prose.bullets(prose.macro("rating", rating_facts(results), "lines"))


def index_limits(
    results: pd.DataFrame,
    grids: dict[str, dict[str, Any]],
    finetunes: dict[str, tuple[dict[str, Any], dict[str, Any]]],
) -> dict[str, Any]:
    """The index's Limitations facts: the headline fine-tunes still improving, the selected
    models and fine-tunes that failed, the grid's numbers set beside the headline's (other
    budget, other test rows) and every headline or grid test too weak for its margin.
    ``grids``: dataset -> ``ablations_summary.json``; ``finetunes``: dataset ->
    (``finetune.json``, ``finetune_runtime.json``)."""
    unconverged, budgets, low_power, collapsed, failed = [], [], [], [], []
    for dataset, (metrics, _) in finetunes.items():
        tuned = metrics["models"]["finetune"]
        seeds = len(tuned.get("seeds", []))
        unconverged += limitations.unconverged_run(
            f"finetune ({dataset})", tuned["selected"], seeds
        )
    for dataset, rows in results.groupby("dataset", sort=False):
        shown = rows[rows["best_on_valid"] | (rows["model"] == "finetune")]
        failed += limitations.failed(
            {
                f"{r.model} ({dataset})": {"failed": r.failed, "failure": r.failure}
                for r in shown.itertuples()
            }
        )
        low_power += limitations.low_power(
            [c for f in rating_facts(rows)["datasets"] if (c := f["versus"])]
        )
    for dataset, summary in grids.items():
        grid = grid_report.grid_facts(summary)
        rows = results[results["dataset"] == dataset].set_index("model")
        budgets += _grid_budgets(dataset, grid, rows, finetunes.get(dataset))
        unconverged += grid["limits"]["unconverged"]
        failed += grid["limits"]["failed"]
        collapsed += grid["limits"]["collapsed"]
        low_power += grid["limits"]["low_power"]
    power = next((s["inference"]["power"] for s in grids.values()), None)
    return limitations.limits(
        power,
        unconverged=unconverged,
        failed=failed,
        collapsed=collapsed,
        budgets=budgets,
        low_power=low_power,
    )


def index_limitations(
    results: pd.DataFrame,
    grids: dict[str, dict[str, Any]],
    finetunes: dict[str, tuple[dict[str, Any], dict[str, Any]]],
) -> list[str]:
    """The index's Limitations block, one bullet each (``templates/rating.md.j2``)."""
    facts = {"limits": index_limits(results, grids, finetunes)}
    return prose.bullets(prose.macro("rating", facts, "limitations"))


def _grid_budgets(
    dataset: str, grid: dict[str, Any], rows: pd.DataFrame, finetune: tuple | None
) -> list[dict[str, Any]]:
    """The grid's reference and training-mean scores beside the headline fine-tune's and the
    mean_majority baseline's, where budget or test rows differ."""
    test_rows = grid["test_rows"]
    found = []
    if "mean_majority" in rows.index:
        mean = rows.loc["mean_majority"]
        found += limitations.budget(
            f"the training mean in the ablation grid ({dataset})",
            grid["floor"]["rmse"],
            "the mean_majority baseline",
            float(mean["rmse"]),
            test_rows=(test_rows or int(mean["n"]), int(mean["n"])),
        )
    if finetune is not None and "finetune" in rows.index:
        tuned = rows.loc["finetune"]
        found += limitations.budget(
            f"{grid['reference']} in the ablation grid ({dataset})",
            grid["reference_test"]["rmse"],
            "the headline finetune",
            float(tuned["rmse"]),
            training_rows=(grid["max_train_rows"], finetune[1]["train_rows"]),
            test_rows=(test_rows or int(tuned["n"]), int(tuned["n"])),
        )
    return found


def _bounds(row: pd.Series, metric: str) -> list[float | None]:
    """``[value, low, high]`` of ``metric`` (a missing bound: None)."""
    return [float(row[metric]), *(_finite(row.get(f"{metric}_{end}")) for end in ("low", "high"))]


def _finite(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _ci(row: pd.Series, metric: str) -> str:
    return with_ci(row[metric], row.get(f"{metric}_low"), row.get(f"{metric}_high"))


def overview_figure(results: pd.DataFrame) -> str:
    """Test RMSE with 95% CI of every model, one panel per dataset, as an inline PNG <img>."""
    datasets = list(dict.fromkeys(results["dataset"]))
    width = min(3.6 * len(datasets), MAX_WIDTH / DPI)
    fig, axes = plt.subplots(1, len(datasets), figsize=(width, 3), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rows = results[results["dataset"] == dataset].sort_values("rmse", ascending=False)
        for y, (_, row) in enumerate(rows.iterrows()):
            colour = "#0b5cad" if row["best_on_valid"] else "#777"
            ax.errorbar(
                row["rmse"],
                y,
                xerr=[[row["rmse"] - row["rmse_low"]], [row["rmse_high"] - row["rmse"]]],
                fmt="o",
                color=colour,
                capsize=3,
            )
        ax.set_yticks(range(len(rows)), rows["model"])
        ax.set(title=dataset, xlabel="test RMSE (95% CI), lower is better")
    fig.tight_layout()
    drawn = draw(fig)
    data = base64.b64encode(drawn.png).decode()
    return (
        f'<img alt="{html.escape(drawn.alt)}" src="data:image/png;base64,{data}">'
        "<p><small>Blue: the model selected on validation for that dataset.</small></p>"
    )


def results_table(results: pd.DataFrame) -> str:
    """Every (dataset, model) with test metrics and CIs; the selected model marked."""
    table = pd.DataFrame(
        {
            "dataset": results["dataset"],
            "model": results["model"] + results["failed"].map({True: " (failed)", False: ""}),
            "selected": results["best_on_valid"].map({True: "selected on validation", False: ""}),
            "valid RMSE": results["valid_rmse"],
            **{f"test {m}": results.apply(_ci, axis=1, metric=m) for m in METRICS},
        }
    )
    return show(table).data


def _list(heading: str, lines: list[str]) -> str:
    items = "".join(f"<li>{_markdown(line)}</li>" for line in lines)
    return f'<h3>{html.escape(heading)}</h3><ul class="summary">{items}</ul>' if lines else ""


def index_page(
    results: pd.DataFrame,
    links: dict[str, list[tuple[str, str]]],
    ablations: list[str],
    studies: list[str],
    limits: list[str],
    footer: str,
) -> str:
    """The front page: ``links`` maps a stage to its reports' (label, relative path);
    ``ablations``: the grid's findings (:func:`grid_report.grid_lines`); ``studies``:
    :func:`study_findings`; ``limits``: :func:`index_limitations`; ``footer``: the report
    stage's provenance (``render.footer``). Each glossary term links from its first use."""
    sections = "".join(
        f"<li><b>{html.escape(stage)}</b>: "
        + ", ".join(
            f'<a href="{html.escape(path)}">{html.escape(label)}</a>' for label, path in pages
        )
        + "</li>"
        for stage, pages in links.items()
    )
    rating = "".join(f"<li>{_markdown(line)}</li>" for line in rating_findings(results))
    body = (
        "<h1>reviewlab: predicting review ratings</h1>"
        f"<p><b>The question.</b> {html.escape(QUESTION)}</p>"
        "<h2>Headline answers</h2><h3>Rating prediction (test split, 95% bootstrap CIs)</h3>"
        f'<ul class="summary">{rating}</ul>'
        + _list("What the ablation grid says", ablations)
        + _list("The neighbouring studies", studies)
        + '<h2 id="limitations">Limitations</h2>'
        + "".join(f"<li>{_markdown(line)}</li>" for line in limits).join(
            ('<ul class="summary">', "</ul>")
        )
        + "<h2>Every model at a glance</h2>"
        + overview_figure(results)
        + "<h2>Results</h2><p>Test-split metrics with 95% bootstrap CIs. One model per dataset "
        "is selected, on validation RMSE only; the test split plays no part in any choice.</p>"
        + results_table(results)
        + f"<h2>Stage reports</h2><ul>{sections}</ul>"
        "<p>Generated from <code>metrics/</code> by the <code>report</code> stage; every number "
        "above comes from a committed metrics file.</p>"
    )
    return document("reviewlab: results", link_terms(body) + glossary_html() + footer)
