"""The terminal end of the progress channel (:mod:`reviewlab.core.progress`): while a stage
runs, its progress lines are printed to stderr with the stage's name, and a heartbeat with the
elapsed time fills any quiet stretch, so ``dvc repro`` never sits silent for long."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from reviewlab.core.progress import CHANNEL, duration

#: The longest quiet stretch before a heartbeat line (seconds).
HEARTBEAT = 25.0


class Relay:
    """Context manager: opens the channel (a temporary file named in the environment, which
    the kernel inherits) and prints what arrives on it, prefixed by ``label``."""

    def __init__(self, label: str, heartbeat: float = HEARTBEAT, poll: float = 0.5) -> None:
        self.label, self.heartbeat, self.poll = label, heartbeat, poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._path: Path | None = None
        self._previous: str | None = None

    def __enter__(self) -> Relay:
        handle, name = tempfile.mkstemp(prefix="reviewlab-progress-", suffix=".log")
        os.close(handle)
        self._path = Path(name)
        self._previous = os.environ.get(CHANNEL)
        os.environ[CHANNEL] = name
        self._start = self._last = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self._previous is None:
            os.environ.pop(CHANNEL, None)
        else:
            os.environ[CHANNEL] = self._previous
        self._path.unlink(missing_ok=True)

    def _relay(self) -> None:
        pending = ""
        with open(self._path, encoding="utf-8") as channel:
            while True:
                stopping = self._stop.wait(self.poll)
                *lines, pending = (pending + channel.read()).split("\n")
                for line in lines:
                    self._print(line)
                if stopping:
                    return
                if time.monotonic() - self._last >= self.heartbeat:
                    self._print(f"running, {duration(time.monotonic() - self._start)} elapsed")

    def _print(self, line: str) -> None:
        self._last = time.monotonic()
        print(f"[reviewlab] {self.label}: {line}", file=sys.stderr, flush=True)
