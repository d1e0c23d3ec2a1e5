"""Stage ``report``: every results metrics file in one table, ``reports/index.html`` (results +
links to the plots page and to each stage report) and the generated blocks of the README and
docs/ (``reports/blocks/<name>.md``: results, ablations, studies), all from ``metrics/``.
``reviewlab readme`` (:func:`update_readme`) copies the blocks into their pages, with the
benchmark table and ``dvc metrics show``'s output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reviewlab.core.artifacts import STUDIES, TASKS, Catalogue
from reviewlab.core.errors import ReviewlabError
from reviewlab.core.io import read_json
from reviewlab.core.params import Params
from reviewlab.reporting import front, grid_report, results, study_findings
from reviewlab.reporting.render import Provenance, footer, locked_deps
from reviewlab.stages.declared import declared, stage_names


@dataclass
class Result:
    results: pd.DataFrame  # one row per (dataset, model): test metrics with CIs
    index: Path  # reports/index.html
    blocks: list[Path]  # reports/blocks/<name>.md


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    """``params``: the stage declares none (it reads ``metrics/`` only)."""
    catalogue = catalogue or Catalogue()
    table = collect_results(catalogue)
    summaries = sorted(catalogue.metrics_dir().glob("*/ablations_summary.json"))
    findings = [line for file in summaries for line in grid_report.grid_lines(read_json(file))]
    studies = study_findings.index_lines(
        _tasks(catalogue),
        *(_optional(catalogue, STUDIES, name) for name in ("recommend", "segments", "opinions")),
    )
    limits = front.index_limitations(table, *_limit_inputs(catalogue))
    page = front.index_page(
        table, report_links(catalogue), findings, studies, limits, index_footer(catalogue)
    )
    index = _write_text(catalogue.index_page(), page)
    blocks = [_write_text(catalogue.block(n), md) for n, md in blocks_of(catalogue, table).items()]
    return Result(table, index, blocks)


def _limit_inputs(catalogue: Catalogue) -> tuple[dict, dict]:
    """(dataset -> ``ablations_summary.json``, dataset -> (``finetune.json``,
    ``finetune_runtime.json``)) of the datasets that have them."""
    grids = {
        s.parent.name: read_json(s)
        for s in sorted(catalogue.metrics_dir().glob("*/ablations_summary.json"))
    }
    finetunes = {
        f.parent.name: (read_json(f), read_json(f.with_name("finetune_runtime.json")))
        for f in sorted(catalogue.metrics_dir().glob("*/finetune.json"))
    }
    return grids, finetunes


def index_footer(catalogue: Catalogue) -> str:
    """The index's "How this was produced": stage ``report``'s dvc.lock dependencies."""
    locked = locked_deps(catalogue.root, "report")
    notebook = next(o for o in declared("report", catalogue.root).outs if o.endswith(".ipynb"))
    return footer(Provenance("report", locked.lockfile, locked.deps, {}, notebook, None))


def report_links(catalogue: Catalogue) -> dict[str, list[tuple[str, str]]]:
    """Stage -> (label, path relative to the index) of each of its reports, in dvc.yaml order;
    the fine-tuning report's training curves get their own link."""
    found: dict[str, list[tuple[str, str]]] = {}
    for page in sorted(catalogue.reports_dir().glob("*/*.html")):
        found.setdefault(page.stem, []).append(
            (page.parent.name, f"{page.parent.name}/{page.name}")
        )
    links = {stage: found[stage] for stage in stage_names(catalogue.root) if stage in found}
    if "finetune" in links:
        links["training curves"] = [
            (label, f"{path}#Training-curves") for label, path in links["finetune"]
        ]
    return links


def collect_results(catalogue: Catalogue) -> pd.DataFrame:
    """One row per (dataset, model) of every ``metrics/<dataset>/{baselines,finetune}.json``."""
    payloads = []
    for folder in sorted(p for p in catalogue.metrics_dir().iterdir() if p.is_dir()):
        for stage in results.RESULT_STAGES:
            file = catalogue.metric(folder.name, stage)
            if file.is_file():
                payloads.append((folder.name, stage, read_json(file)))
    return results.results_frame(payloads)


def update_readme(catalogue: Catalogue | None = None) -> list[Path]:
    """Copy each generated block into the one page of the README and ``docs/*.md`` that holds
    its markers: the report stage's (``reports/blocks/``), the benchmark's table and
    ``dvc metrics show``'s output; returns the pages."""
    catalogue = catalogue or Catalogue()
    pages = [catalogue.readme(), *sorted(catalogue.docs_dir().glob("*.md"))]
    texts = {page: page.read_text(encoding="utf-8") for page in pages if page.is_file()}
    blocks = {f.stem: f for f in sorted(catalogue.blocks_dir().glob("*.md"))}
    blocks |= {"bench": catalogue.bench_results()} if catalogue.bench_results().is_file() else {}
    contents = {name: file.read_text(encoding="utf-8") for name, file in blocks.items()}
    if catalogue.headlines_dir().is_dir():  # a checkout, not a copy of metrics/ alone
        contents["metrics-show"] = _console(
            "dvc metrics show", dvc_output(catalogue.root, "metrics", "show")
        )
    for name, content in contents.items():
        holders = [page for page, text in texts.items() if f"<!-- {name}:start -->" in text]
        if len(holders) != 1:
            raise ValueError(f"generated block '{name}' is in {len(holders)} pages, expected one")
        texts[holders[0]] = results.replace_block(texts[holders[0]], name, content, str(holders[0]))
    for page, text in texts.items():
        page.write_text(text, encoding="utf-8")
    return list(texts)


def blocks_of(catalogue: Catalogue, table: pd.DataFrame | None = None) -> dict[str, str]:
    """Block name -> its markdown, from ``metrics/``: results (``table``: the
    :func:`collect_results` the caller already holds), and where the checkout has them, the
    ablation grid's and the studies'."""
    table = collect_results(catalogue) if table is None else table
    blocks = {"results": results.results_markdown(table)}
    summaries = sorted(catalogue.metrics_dir().glob("*/ablations_summary.json"))
    if summaries:
        grids = {
            s.parent.name: (
                read_json(s),
                read_json(catalogue.metric(s.parent.name, "ablations_runtime")),
            )
            for s in summaries
        }
        blocks["ablations"] = grid_report.readme_block(grids)
        blocks["grid-power"] = grid_report.readme_block(grids, grid_report.power_table)
    if catalogue.metric(STUDIES, "recommend").is_file():
        blocks["studies"] = studies_markdown(catalogue)
    return blocks


def dvc_output(root: Path, *args: str) -> str:
    """What ``dvc <args>`` prints, run in ``root`` (README blocks show DVC's own output)."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise ReviewlabError(f"`dvc {' '.join(args)}` failed in {root}: {done.stderr.strip()}")
    return done.stdout


def _console(command: str, output: str) -> str:
    return f"```text\n$ {command}\n{output.rstrip()}\n```\n"


def studies_markdown(catalogue: Catalogue) -> str:
    """README block ``studies`` from ``metrics/tasks``, ``metrics/studies`` and every dataset's
    ``longtail.json``."""
    tasks = _tasks(catalogue)
    longtail = {
        file.parent.name: read_json(file)
        for file in sorted(catalogue.metrics_dir().glob("*/longtail.json"))
    }
    return results.studies_markdown(
        tasks,
        catalogue.read_metric(STUDIES, "opinions"),
        catalogue.read_metric(STUDIES, "segments"),
        catalogue.read_metric(STUDIES, "recommend"),
        longtail,
    )


def _tasks(catalogue: Catalogue) -> list[dict]:
    """Every task's metrics (``metrics/tasks/<task>.json``)."""
    files = sorted(catalogue.metrics_dir(TASKS).glob("*.json"))
    return [read_json(file) for file in files if not file.stem.endswith("_runtime")]


def _optional(catalogue: Catalogue, folder: str, name: str) -> dict | None:
    file = catalogue.metric(folder, name)
    return read_json(file) if file.is_file() else None


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
