"""The README's and docs/' generated blocks: the report stage's, from the committed metrics."""

import pandas as pd
import pytest

from reviewlab.core.artifacts import Catalogue
from reviewlab.reporting.results import results_markdown
from reviewlab.stages.report import blocks_of, update_readme


def test_committed_blocks_are_the_report_stages_from_committed_metrics(root):
    """reports/blocks/ (stage ``report``) says what metrics/ holds: results, ablations, studies."""
    blocks = blocks_of(Catalogue(root))
    assert {"results", "ablations", "studies"} <= set(blocks)
    for name, text in blocks.items():
        assert Catalogue(root).block(name).read_text() == text, f"{name}: run `dvc repro report`"


def test_readme_and_docs_hold_the_generated_blocks(root, tmp_path):
    """`reviewlab readme` on a copy of the checkout leaves the README and docs/ as committed:
    each page's generated block is a copy of reports/blocks/ or of bench/results.md."""
    import shutil

    shutil.copytree(root / "reports" / "blocks", tmp_path / "reports" / "blocks")
    shutil.copytree(root / "bench", tmp_path / "bench")
    shutil.copy(root / "README.md", tmp_path / "README.md")
    shutil.copytree(root / "docs", tmp_path / "docs")
    pages = update_readme(Catalogue(tmp_path))
    assert len(pages) > 5  # the README and the docs pages that hold generated blocks
    for page in pages:
        committed = root / page.relative_to(tmp_path)
        assert page.read_text() == committed.read_text(), f"{committed}: run `reviewlab readme`"


def test_results_markdown_marks_selected_model():
    results = pd.DataFrame(
        [
            {
                "dataset": "d",
                "model": "a",
                "best_on_valid": True,
                "rmse": 1.0,
                "rmse_low": 0.9,
                "rmse_high": 1.1,
                "mae": 0.5,
                "accuracy": 0.6,
                "macro_f1": 0.4,
                "qwk": 0.3,
            },
            {
                "dataset": "d",
                "model": "b",
                "best_on_valid": False,
                "rmse": 1.2,
                "mae": 0.6,
                "accuracy": 0.5,
                "macro_f1": 0.3,
                "qwk": 0.2,
            },
        ]
    )
    text = results_markdown(results)
    assert "| d | **a** | 1.000 [0.900, 1.100] |" in text
    assert "| d | b | 1.200 |" in text


def test_write_json_is_atomic(tmp_path, monkeypatch):
    import os

    from reviewlab.core.io import read_json, write_json

    target = write_json(tmp_path / "m.json", {"rmse": 1.0})

    def crash(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_json(target, {"rmse": 2.0})
    assert read_json(target) == {"rmse": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
