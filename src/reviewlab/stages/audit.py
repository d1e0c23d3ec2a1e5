"""Stage ``audit`` (per dataset): leakage audit of the stored splits and features.

Rebuilds the splits from the canonical table, audits the stored features against them
(:mod:`reviewlab.data.leakage`), writes ``metrics/<dataset>/audit.json`` and then fails
(:class:`~reviewlab.data.leakage.LeakageError`) when it found real leakage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.core.compose import dedupe_key, split_config
from reviewlab.core.params import Params
from reviewlab.data.features import FeatureSet, deduplicated_splits
from reviewlab.data.leakage import assert_clean, run_audit


@dataclass
class Result:
    report: dict[str, Any]  # audit.json
    near_duplicate_pairs: pd.DataFrame  # held-out / training pairs, most similar first


def run(params: Params, dataset: str, catalogue: Catalogue | None = None) -> Result:
    """Audit ``dataset``; write ``audit.json``; raise ``LeakageError`` on real leakage."""
    catalogue = catalogue or Catalogue()
    folder = catalogue.features(dataset)
    stored = FeatureSet.load(folder)
    vectorizers = FeatureSet.load_vectorizers(folder)
    cfg = split_config(params, dataset)
    reviews, _, split = deduplicated_splits(
        catalogue.load_reviews(dataset), dedupe_key(params, dataset), cfg, params.seed
    )
    report, pairs = run_audit(
        reviews,
        split,
        stored,
        vectorizers,
        cfg.strategy,
        params.features,
        params.audit,
        params.seed,
        dataset,
    )
    catalogue.write_metric(dataset, "audit", report)
    assert_clean(report, dataset)
    return Result(report, pairs)
