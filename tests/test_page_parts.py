"""Parts every page shares (issue #24): number agreement and sign-visible CIs from one filter
each, the index glossary linked from each term's first use, and a footer whose dependency
hashes are DVC's own (equal to the stage's dvc.lock entry after ``dvc repro``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from reviewlab.reporting import glossary, prose, render
from reviewlab.studies.terms import content_term


@pytest.mark.parametrize(("n", "word"), [(1, "repeats"), (0, "repeat"), (2, "repeat")])
def test_plural_agrees_with_the_number(n, word):
    assert prose.plural(n, "repeats", "repeat") == word
    assert prose.count(n, "category", "categories").endswith("category" if n == 1 else "ies")


@pytest.mark.parametrize(
    ("values", "places"),
    [([0.005, 0.0003, 0.009], 4), ([0.003, -0.0004, 0.007], 4), ([0.012, -0.012, 0.036], 3)],
)
def test_ci_shows_enough_decimals_for_each_bound_sign(values, places):
    assert prose.decimals(values) == places
    text = prose.ci(values, sign=True)
    assert "0.000," not in text and "0.000]" not in text
    assert prose.decimals([0.0, 0.0, 0.0]) == 3  # an exact zero needs no more


def test_term_lists_drop_stop_words_and_contraction_fragments():
    kept = [
        t for t in ("pedal", "if you", "of the", "ve", "you re", "tone", "bit") if content_term(t)
    ]
    assert kept == ["pedal", "tone"]


def test_glossary_links_each_term_where_it_first_appears():
    body = (
        "<h2>RMSE</h2><p>test RMSE 0.9, QWK 0.6; fgm and pgd</p><p>RMSE again, "
        '<a href="x.html">QWK</a></p><p>macro-F1 0.3</p>'
    )
    linked = BeautifulSoup(glossary.link_terms(body), "html.parser")
    terms = {a["href"]: a.get_text() for a in linked.select("a.term")}
    assert terms == {"#term-rmse": "RMSE", "#term-qwk": "QWK", "#term-fgm": "fgm",
                     "#term-pgd": "pgd", "#term-macro-f1": "macro-F1"}  # fmt: skip
    assert linked.find("a", class_="term").find_parent("p") is not None  # not the heading
    anchors = [t.anchor for t in glossary.TERMS]
    listed = BeautifulSoup(glossary.glossary_html(), "html.parser").select("li[id]")
    assert len(set(anchors)) == len(anchors) == len(listed)


def test_footer_names_dvc_lock_hashes_and_links_nothing():
    where = render.Provenance(
        address="baselines@amazon",
        lockfile="dvc.lock",
        deps={"src/a.py": "0cc175b9c0f1b6a831c399e269772661", "data/x": "92eb5f.dir"},
        params={"seed": 42},
        notebook="artifacts/amazon/notebooks/baselines.ipynb",
        back="../index.html",
    )
    soup = BeautifulSoup(render.footer(where), "html.parser")
    assert soup.find("a") is None  # no link into artifacts/, which a clone lacks
    table = soup.select_one("table.dvc-lock")
    rows = {r.find_all("td")[0].get_text(): r.find_all("td")[1].get_text() for r in
            table.find_all("tr") if r.find("td")}  # fmt: skip
    assert rows == where.deps and table["data-stage"] == "baselines@amazon"
    assert json.loads(soup.find("script", id="dvc-lock-deps").string) == where.deps
    assert "dvc pull artifacts/amazon/notebooks/baselines.ipynb" in soup.get_text()


def test_locked_deps_equal_the_lock_entry_dvc_repro_writes(tmp_path):
    """DVC's own hashing, before the run, gives what dvc.lock records after it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("print(1)\n")
    (tmp_path / "input.txt").write_text("rows\n")
    stage = {"cmd": "cp input.txt out.txt", "deps": ["src", "input.txt"], "outs": ["out.txt"]}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"copy": stage}}))
    dvc = [sys.executable, "-m", "dvc"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True, env=env)
    before = render.locked_deps(tmp_path, "copy")
    subprocess.run([*dvc, "repro", "-q"], cwd=tmp_path, check=True, env=env)
    lock = yaml.safe_load((tmp_path / "dvc.lock").read_text())["stages"]["copy"]
    assert before.lockfile == "dvc.lock"
    assert before.deps == {d["path"]: d["md5"] for d in lock["deps"]}
    assert before.deps["src"].endswith(".dir")
    with pytest.raises(ValueError, match="0 DVC stages"):
        render.locked_deps(Path(tmp_path), "nowhere")
