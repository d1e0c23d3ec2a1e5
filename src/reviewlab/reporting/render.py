"""An executed notebook -> a stage report a reader wants to read.

The page shows the notebook's narrative and outputs only: no input cells, no stderr (warnings
and progress bars stay in the executed notebook, a DVC output the footer names), a table of
contents after the summary, a link back to the index and a "How this was produced" footer with
the effective params of the run and the dependency hashes its ``dvc.lock`` entry records. One
small stylesheet, no scripts loaded from anywhere.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from bs4 import BeautifulSoup

from reviewlab.reporting.page import document

#: Outputs a reader never needs: widget views (progress bars) and the HTML progress table.
_NOISE_MIME = ("application/vnd.jupyter.widget-view+json",)


@dataclass(frozen=True)
class Provenance:
    """How a report was produced: shown in its footer."""

    address: str  # the DVC stage instance, e.g. ``baselines@amazon``
    lockfile: str  # the lock file of its pipeline: ``dvc.lock`` or ``tuning/dvc.lock``
    deps: dict[str, str]  # each code and data dep -> its md5, as the lock file records it
    params: dict[str, Any]  # the params papermill injected, nested as in params.yaml
    notebook: str  # the executed notebook (a DVC output), relative to the project root
    back: str | None  # the index page, relative to the report (None: the index itself)


@dataclass(frozen=True)
class Locked:
    """A stage instance's dependency hashes and the lock file that records them."""

    lockfile: str  # relative to the project root: ``dvc.lock`` or ``tuning/dvc.lock``
    deps: dict[str, str]  # dep path as dvc.yaml writes it -> md5 (``….dir`` for a folder)


def locked_deps(root: Path, address: str) -> Locked:
    """The path deps of stage ``address`` (``baselines@amazon``, ``tuning``) with DVC's md5 of
    each, as its ``dvc.lock`` entry holds them after ``dvc repro``; params are left out (the
    footer shows them as values)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        stages = [s for s in repo.index.stages if getattr(s, "name", None) == address]
        if len(stages) != 1:
            raise ValueError(f"{len(stages)} DVC stages named '{address}' in {root}")
        (stage,) = stages
        deps = {
            dep.def_path: dep.get_hash().value
            for dep in stage.deps
            if not isinstance(dep, ParamsDependency)
        }
        lockfile = Path(stage.dvcfile.path).with_suffix(".lock")
        return Locked(lockfile.relative_to(root.absolute()).as_posix(), dict(sorted(deps.items())))


def readable(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` without stderr streams, widget views and progress bars."""
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs if not _noise(out)]
    return copy


def _noise(output: dict[str, Any]) -> bool:
    if output.get("output_type") == "stream":
        return output.get("name") == "stderr"
    data = output.get("data", {})
    return any(mime in data for mime in _NOISE_MIME) or "<progress" in str(
        data.get("text/html", "")
    )


def render(notebook: nbformat.NotebookNode, provenance: Provenance) -> str:
    """The complete HTML page of an executed notebook."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True)
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(readable(notebook))
    soup = BeautifulSoup(body, "html.parser")
    for empty in soup.select("div.jp-Cell"):  # code cells without output leave empty boxes
        if not empty.get_text(strip=True) and not empty.find("img"):
            empty.decompose()
    for anchor in soup.select("a.anchor-link"):
        anchor.decompose()
    title = soup.find("h1")
    _insert_toc(soup)
    page = str(soup) + footer(provenance)
    return document(_text(title) if title else provenance.address, page, provenance.back)


def _insert_toc(soup: BeautifulSoup) -> None:
    """A numbered list of the h2 sections, placed before the section after the summary."""
    sections = [h for h in soup.find_all("h2") if h.get("id")]
    if len(sections) < 3:
        return
    items = "".join(
        f'<li><a href="#{html.escape(h["id"])}">{html.escape(_text(h))}</a></li>' for h in sections
    )
    toc = BeautifulSoup(f'<nav class="toc"><b>Contents</b><ol>{items}</ol></nav>', "html.parser")
    anchor = sections[1] if _text(sections[0]) == "Summary" else sections[0]
    cell = anchor.find_parent("div", class_="jp-Cell") or anchor
    cell.insert_before(toc)


def _text(tag) -> str:
    """A heading's text with its words' spacing kept (``<code>`` inside included)."""
    return " ".join(tag.get_text().split())


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    rows: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows |= flatten(value, f"{name}.")
        else:
            rows[name] = value
    return rows


def footer(provenance: Provenance) -> str:
    """The "How this was produced" section: stage, the commands that rebuild or fetch its
    executed notebook, its dependency hashes (as its lock file records them) and params."""
    address, notebook = html.escape(provenance.address), html.escape(provenance.notebook)
    deps = "".join(
        f"<tr><td><code>{html.escape(path)}</code></td><td><code>{html.escape(md5)}</code></td></tr>"
        for path, md5 in provenance.deps.items()
    )
    locked = json.dumps(provenance.deps, sort_keys=True).replace("</", "<\\/")
    return (
        '<footer id="provenance"><h2 id="how-this-was-produced">How this was produced</h2>'
        f"<p>Stage <code>{address}</code> of <code>dvc.yaml</code>, run by "
        f"<code>dvc repro {address}</code>. The executed notebook, code included, is its DVC "
        f"output <code>{notebook}</code>: <code>dvc pull {notebook}</code> fetches it from the "
        f"remote, <code>dvc repro {address}</code> rebuilds it.</p>"
        f"<p>The code and data it was produced from, as <code>{html.escape(provenance.lockfile)}"
        f"</code> records them for <code>{address}</code> (md5, computed by DVC; "
        f"<code>dvc status {address}</code> says whether a checkout still matches):</p>"
        f'<table class="dvc-lock" data-stage="{address}" '
        f'data-lockfile="{html.escape(provenance.lockfile)}"><tr><th>dependency</th><th>md5</th>'
        f"</tr>{deps}</table>"
        f'<script type="application/json" id="dvc-lock-deps">{locked}</script>'
        + _params(provenance.params)
        + "</footer>"
    )


def _params(params: dict[str, Any]) -> str:
    """The effective params as a table (none: no table) and as JSON (tests read it)."""
    rows = "".join(
        f"<tr><td><code>{html.escape(key)}</code></td><td>{html.escape(json.dumps(value))}</td></tr>"
        for key, value in flatten(params).items()
    )
    data = json.dumps(params, sort_keys=True).replace("</", "<\\/")
    table = (
        "<p>Effective params of this run (the stage's <code>params</code> in "
        "<code>dvc.yaml</code>, read from <code>params.yaml</code>):</p>"
        f'<table class="effective-params"><tr><th>param</th><th>value</th></tr>{rows}</table>'
        if rows
        else "<p>The stage reads no params.</p>"
    )
    return table + f'<script type="application/json" id="effective-params">{data}</script>'
