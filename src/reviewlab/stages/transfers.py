"""Stage ``transfers``: every transfer pair (``metrics/transfer/<pair>.json``, written by stage
``transfer``) in one report, ``reports/studies/transfers.html``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reviewlab.core.artifacts import TRANSFER, Catalogue
from reviewlab.core.params import Params
from reviewlab.studies.borrowed import table


@dataclass
class Result:
    payloads: list[dict[str, Any]]  # each pair's metrics, in params order
    table: pd.DataFrame  # one row per (pair, model)

    @property
    def by_store(self) -> dict[str, Any]:
        """Every pair's models as one payload, named ``<store>: <model>`` (the figure)."""
        return {
            "models": {
                f"{p['target']}: {name}": entry
                for p in self.payloads
                for name, entry in p["models"].items()
            }
        }


def run(params: Params, catalogue: Catalogue | None = None) -> Result:
    """Read every pair of ``params.transfer``."""
    catalogue = catalogue or Catalogue()
    payloads = [catalogue.read_metric(TRANSFER, pair) for pair in params.transfer]
    return Result(payloads, table(payloads))
