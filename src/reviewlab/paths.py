"""Where things live. One convention shared by dvc.yaml, the notebooks and the tests."""

from __future__ import annotations

from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that holds ``dvc.yaml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no dvc.yaml found at or above {here}: run from inside the project")


def artifacts(dataset: str, root: Path | None = None) -> Path:
    """Ignored, DVC-cached outputs of one dataset (tables, features, models)."""
    return (root or project_root()) / "artifacts" / dataset


def metrics_dir(dataset: str | None = None, root: Path | None = None) -> Path:
    """Committed metrics JSON (``metrics/<dataset>/`` or ``metrics/`` for cross-dataset ones)."""
    base = (root or project_root()) / "metrics"
    return base / dataset if dataset else base


def reports_dir(dataset: str | None = None, root: Path | None = None) -> Path:
    """Committed HTML reports."""
    base = (root or project_root()) / "reports"
    return base / dataset if dataset else base
