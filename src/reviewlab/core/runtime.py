"""Measuring a run: its peak memory and the hardware it ran on (the runtime JSON files record
both beside wall time)."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (GiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def processor_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def hardware() -> str:
    """This machine in words: processor, cores, and the GPU a run would use (if any)."""
    import torch

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{processor_name()}, {os.cpu_count()} cores{gpu}"
