"""A Trainer callback reporting training progress to the terminal (never to the notebook):
step / total, elapsed, ETA and the latest validation metric."""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback

from reviewlab.core.progress import duration, emit

#: The longest stretch between two progress lines while training (seconds).
EVERY = 15.0


class TrainingProgress(TrainerCallback):
    """Emits a line at the first step, after every evaluation and at least every ``every``
    seconds; ``metric`` names the validation metric shown (the selection metric)."""

    def __init__(self, metric: str, every: float = EVERY) -> None:
        self.metric, self.every = metric, every
        self._valid: str = ""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._start = self._last = time.monotonic()
        self._first = state.global_step  # a resumed run starts past zero
        emit(
            f"training {state.max_steps} steps"
            + (f", resumed at step {self._first}" if self._first else "")
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self._first + 1 or time.monotonic() - self._last >= self.every:
            self._emit(state)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict | None = None, **kwargs: Any
    ) -> None:
        value = (metrics or {}).get(f"eval_{self.metric}")
        if value is not None:
            self._valid = f", valid {self.metric} {value:.4f} (step {state.global_step})"
            self._emit(state)

    def _emit(self, state: Any) -> None:
        self._last = time.monotonic()
        elapsed, done, total = self._last - self._start, state.global_step, state.max_steps
        rate = (done - self._first) / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {duration((total - done) / rate)}" if rate > 0 and total > done else ""
        where = f"step {done}/{total} ({done / total:.0%}), {duration(elapsed)} elapsed"
        emit(where + eta + self._valid)
