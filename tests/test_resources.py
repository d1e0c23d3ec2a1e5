"""The committed default-profile metrics state their peak memory, and it stays under 8 GiB."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

LIMIT_GIB = 8.0
RUNTIME_FILES = sorted((ROOT / "metrics").glob("*/finetune_runtime.json")) + sorted(
    (ROOT / "metrics").glob("*/ablations/*_runtime.json")
)


def test_training_stages_report_memory():
    assert RUNTIME_FILES, "no committed fine-tuning runtime metrics"


@pytest.mark.parametrize("path", RUNTIME_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_peak_memory_is_stated_and_under_the_limit(path):
    peak = json.loads(path.read_text())["peak_rss_gib"]
    assert 0 < peak < LIMIT_GIB
