"""One GPU per stage process where several DVC queue jobs share a machine with several GPUs.

`dvc exp run --run-all --jobs N` (or `dvc queue start --jobs N`) starts N workers that all see
every GPU; each stage process claims the first GPU no other reviewlab process holds (an
exclusive lock file per device, released when the process exits) and pins itself to it with
``CUDA_VISIBLE_DEVICES``. With one GPU or none, or a device already chosen by the caller,
nothing changes.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from pathlib import Path
from typing import IO

#: Where the per-device lock files live (shared by every process on the machine).
LOCKS = Path(tempfile.gettempdir()) / "reviewlab-gpus"
_held: list[IO[str]] = []  # the claimed device's lock, held for the life of the process


def gpu_count() -> int:
    """NVIDIA GPUs on this machine (``nvidia-smi -L``; 0 without a driver)."""
    try:
        done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if done.returncode:
        return 0
    return sum(line.startswith("GPU ") for line in done.stdout.splitlines())


def claim_gpu(count: int | None = None, locks: Path = LOCKS) -> str | None:
    """Pin this process to the first unclaimed GPU; returns its index, or None where there is
    nothing to choose (fewer than two GPUs, ``CUDA_VISIBLE_DEVICES`` already set, all taken)."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return None
    count = gpu_count() if count is None else count
    if count < 2:
        return None
    locks.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        handle = (locks / f"gpu{index}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
        return str(index)
    return None
