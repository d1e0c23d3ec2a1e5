"""Progress lines for the terminal, kept out of executed notebooks and reports.

A notebook stage runs in a Jupyter kernel whose output becomes the executed notebook and its
HTML report, so progress travels on a side channel: the runner names a file in
:data:`CHANNEL` before the kernel starts, code anywhere in the stage appends lines to it with
:func:`emit`, and the runner relays them to the terminal of ``dvc repro``
(:mod:`reviewlab.cli.progress`). Without a runner (a notebook opened by hand, a test) lines go
to stderr.
"""

from __future__ import annotations

import os
import sys

#: The environment variable naming the file progress lines are appended to.
CHANNEL = "REVIEWLAB_PROGRESS"


def emit(line: str) -> None:
    """Send one progress line to the terminal, never to a notebook's outputs."""
    path = os.environ.get(CHANNEL)
    if not path:
        print(line, file=sys.stderr, flush=True)
        return
    with open(path, "a", encoding="utf-8") as channel:
        channel.write(line.replace("\n", " ") + "\n")


def duration(seconds: float) -> str:
    """``45s``, ``3m05s`` or ``1h02m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
