"""Generated findings of the stage reports follow the numbers of the results they are given.

Each test builds small stand-ins of a stage's ``Result`` (``SimpleNamespace``) and checks that
the sentences carry the input's numbers, so a number typed into a sentence would fail when the
inputs change.
"""

from __future__ import annotations

import pytest


def text(findings) -> str:
    return " ".join(findings.summary) + " " + findings.conclusion


# ---------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("selected", "words"),
    [
        ({"best_step": 40, "last_eval_step": 80, "converged": True}, "converged: validation was"),
        ({"best_step": 80, "last_eval_step": 80, "converged": False}, "**unconverged**"),
        ({"best_step": None}, "no checkpoint selection"),
    ],
)
def test_finetune_says_whether_validation_stopped_improving(selected, words):
    from reviewlab.reporting.model_findings import _converged

    assert _converged(selected).startswith(words)
