"""Progress lines: emitted anywhere in a stage, relayed to the terminal with the stage's name,
a heartbeat in quiet stretches, and the training callback's step / ETA / validation line."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from reviewlab.cli.progress import Relay
from reviewlab.core.progress import CHANNEL, duration, emit


@pytest.mark.parametrize(
    ("seconds", "text"), [(4.4, "4s"), (59.6, "1m00s"), (185, "3m05s"), (3720, "1h02m")]
)
def test_duration_reads_as_a_clock(seconds, text):
    assert duration(seconds) == text


def test_without_a_runner_lines_go_to_stderr(capsys, monkeypatch):
    monkeypatch.delenv(CHANNEL, raising=False)
    emit("step 1/2")
    assert capsys.readouterr() == ("", "step 1/2\n")


def test_relay_prints_lines_with_the_stage_and_fills_silence(capsys, monkeypatch):
    monkeypatch.delenv(CHANNEL, raising=False)
    with Relay("ablate plain 1", heartbeat=0.3, poll=0.05):
        channel = os.environ[CHANNEL]
        emit("step 1/4 (25%)")
        emit("two\nlines become one")
        time.sleep(0.8)
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "[reviewlab] ablate plain 1: step 1/4 (25%)",
        "[reviewlab] ablate plain 1: two lines become one",
    ]
    assert err[2].startswith("[reviewlab] ablate plain 1: running, ") and "elapsed" in err[2]
    assert CHANNEL not in os.environ and not os.path.exists(channel)


def test_training_progress_states_step_eta_and_validation(capsys, monkeypatch):
    from reviewlab.models.encoder.progress import TrainingProgress

    monkeypatch.delenv(CHANNEL, raising=False)
    callback = TrainingProgress("rmse", every=3600)
    state = SimpleNamespace(global_step=0, max_steps=10)
    callback.on_train_begin(None, state, None)
    for step in range(1, 6):
        state.global_step = step
        callback.on_step_end(None, state, None)  # the first step only: `every` is an hour
    callback.on_evaluate(None, state, None, metrics={"eval_rmse": 0.61234, "eval_loss": 0.4})
    callback.on_evaluate(None, state, None, metrics={"eval_loss": 0.4})  # no metric: silent
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "training 10 steps"
    assert lines[1].startswith("step 1/10 (10%), ") and "ETA " in lines[1]
    assert lines[2].startswith("step 5/10 (50%), ")
    assert lines[2].endswith(", valid rmse 0.6123 (step 5)") and len(lines) == 3
