"""Execute a stage notebook with papermill (values from params.yaml) and render it to HTML."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from reviewlab.core import artifacts as paths
from reviewlab.core.config_old import dataset_config, load_params

KERNEL = "reviewlab"

#: stage -> (notebook, params.yaml keys injected as parameters of the same name, per dataset?)
STAGES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "ingest": ("01_ingest.ipynb", ("seed",), True),
    "eda": ("02_eda.ipynb", ("eda",), True),
    "preprocess": ("03_preprocess.ipynb", ("seed", "split", "features"), True),
    "audit": ("07_audit.ipynb", ("seed", "split", "features", "audit"), True),
    "baselines": ("04_baselines.ipynb", ("seed", "baselines", "evaluation"), True),
    "finetune": ("05_finetune.ipynb", ("seed", "finetune", "evaluation"), True),
    "ablations": ("06_ablations.ipynb", ("ablations", "evaluation"), True),
    "longtail": ("08_longtail.ipynb", ("longtail", "finetune"), True),
    "recommend": ("09_recommend.ipynb", ("seed", "longtail", "embed", "evaluation"), False),
    "segments": ("10_segments.ipynb", ("seed", "segments", "embed", "tasks"), False),
    "opinions": ("11_opinions.ipynb", ("seed", "opinions", "tasks"), False),
    "report": ("99_report.ipynb", (), False),
}
#: Reports of stages that span datasets (the neighbouring studies) live in this folder.
STUDIES = "studies"


def ensure_kernel() -> None:
    """Install the ``reviewlab`` kernel into this interpreter's prefix unless it is there."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        if spec.argv and Path(spec.argv[0]) == Path(sys.executable):
            return
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL, display_name="reviewlab", prefix=sys.prefix)


def stage_parameters(stage: str, dataset: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """The papermill parameters of ``stage``: the named params.yaml sections."""
    if stage not in STAGES:
        raise KeyError(f"unknown stage '{stage}' (known: {sorted(STAGES)})")
    _, keys, per_dataset = STAGES[stage]
    values: dict[str, Any] = {key: params[key] for key in keys}
    if per_dataset:
        if not dataset:
            raise ValueError(f"stage '{stage}' runs per dataset: pass --dataset")
        values["dataset"] = dataset
        values["dataset_cfg"] = dataset_config(params, dataset)
    return values


def _folder(stage: str, dataset: str | None) -> str | None:
    """Per-dataset stages write under the dataset, study stages under ``studies``."""
    return dataset or (None if stage == "report" else STUDIES)


def executed_path(stage: str, dataset: str | None, root: Path) -> Path:
    folder = _folder(stage, dataset)
    base = paths.artifacts(folder, root) if folder else root / "artifacts"
    return base / "notebooks" / f"{stage}.ipynb"


def html_path(stage: str, dataset: str | None, root: Path) -> Path:
    if stage == "report":
        return paths.reports_dir(None, root) / "index.html"
    return paths.reports_dir(_folder(stage, dataset), root) / f"{stage}.html"


def run_stage(stage: str, dataset: str | None = None, root: Path | None = None) -> Path:
    """Execute ``notebooks/<stage>`` for ``dataset``; returns the HTML report's path."""
    import papermill as pm

    root = root or paths.project_root()
    parameters = stage_parameters(stage, dataset, load_params(root / "params.yaml"))
    notebook = root / "notebooks" / STAGES[stage][0]
    executed = executed_path(stage, dataset, root)
    executed.parent.mkdir(parents=True, exist_ok=True)
    ensure_kernel()
    start = time.perf_counter()
    pm.execute_notebook(
        str(notebook),
        str(executed),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(root),
        progress_bar=False,
    )
    print(f"[reviewlab] {stage} {dataset or ''} executed in {time.perf_counter() - start:.1f}s")
    if stage == "report":
        return html_path(stage, dataset, root)
    return to_html(executed, html_path(stage, dataset, root))


def to_html(notebook: Path, target: Path) -> Path:
    """Render an executed notebook to a self-contained HTML page (figures embedded)."""
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.remove_input_tags = {"hide-input"}
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target
