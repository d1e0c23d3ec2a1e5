"""Run one instance of a DVC stage as dvc.yaml declares it.

A stage with a notebook among its deps is executed with papermill (parameters: its dvc.yaml
params as ``params`` and its foreach key) and rendered to the HTML among its outs; a stage
without one calls ``reviewlab.stages.<name>.run`` directly. Either way the stage module's
``run`` does the work, with params validated once, before anything runs.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from reviewlab.cli.devices import claim_gpu
from reviewlab.cli.progress import Relay
from reviewlab.core.artifacts import project_root
from reviewlab.core.config import validate_params
from reviewlab.core.errors import USER_ERRORS, StageError
from reviewlab.core.params import read_params
from reviewlab.stages.declared import (
    Declared,
    address,
    declared,
    injected,
    stage_params,
    trace_opens,
)

KERNEL = "reviewlab"


def run_stage(stage: str, key: str | None = None, root: Path | None = None, **matrix: Any) -> Any:
    """Execute one instance of ``stage``; returns the HTML report's path or the stage's result."""
    root = root or project_root()
    claim_gpu()  # before torch starts: one device per process when queue jobs share GPUs
    trace_opens(address(stage, **({"key": key} if key is not None else {}), **matrix))
    raw = read_params(root / "params.yaml")
    validate_params(raw, str(root / "params.yaml"))
    item = {"key": key} if key is not None else {}
    entry = declared(stage, root, **item, **matrix)
    values = injected(entry, raw)
    notebooks = [d for d in entry.deps if d.endswith(".ipynb")]
    label = " ".join(str(v) for v in (stage, key, *matrix.values()) if v is not None)
    start = time.perf_counter()
    with Relay(label):
        if notebooks:
            result = _run_notebook(stage, entry, root / notebooks[0], values, root, item, matrix)
        else:
            result = _run_module(stage, values, root, item, matrix)
    print(f"[reviewlab] {label} executed in {time.perf_counter() - start:.1f}s")
    return result


def _run_module(
    stage: str, values: dict[str, Any], root: Path, item: dict[str, Any], matrix: dict[str, Any]
) -> Any:
    """A stage without a notebook: its module's ``run`` with the validated params."""
    module = importlib.import_module(f"reviewlab.stages.{stage}")
    params = stage_params(stage, values, root, **item, **matrix)
    return module.run(params, *item.values(), **matrix)


def _run_notebook(
    stage: str,
    entry: Declared,
    notebook: Path,
    values: dict[str, Any],
    root: Path,
    item: dict[str, Any],
    matrix: dict[str, Any],
) -> Path:
    """A notebook stage: executed with papermill, then rendered to the report among its outs
    (the out named after the stage; ``report`` writes its own pages)."""
    outs = entry.outs
    executed = root / next(o for o in outs if o.endswith(".ipynb"))
    parameters: dict[str, Any] = {"params": values}
    if item:
        parameters["dataset"] = item["key"]  # every notebook stage with a key runs per dataset
    execute(notebook, executed, parameters, root)
    html = [o for o in outs if o.endswith(f"/{stage}.html")]
    if not html:
        return executed
    from reviewlab.reporting.render import Provenance, locked_deps

    target = root / html[0]
    name = address(stage, **item, **matrix)
    locked = locked_deps(root, name)
    where = Provenance(
        address=name,
        lockfile=locked.lockfile,
        deps=locked.deps,
        params=parameters["params"],
        notebook=executed.relative_to(root).as_posix(),
        back=os.path.relpath(root / "reports" / "index.html", target.parent),
    )
    return to_html(executed, target, where)


#: jsonschema (through nbformat) imports this optional IRI checker when it is installed, and
#: building its grammar takes over a second per stage; notebooks hold no IRIs to check.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def execute(notebook: Path, executed: Path, parameters: dict[str, Any], root: Path) -> None:
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # None: `import name` raises ImportError
    import papermill as pm

    executed.parent.mkdir(parents=True, exist_ok=True)
    ensure_kernel()
    try:
        pm.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(root),
            progress_bar=False,
            # the kernel's own log lines (a start-up warning, a KeyboardInterrupt at shutdown)
            # would come before a failed stage's one-line error
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except pm.PapermillExecutionError as err:
        if err.ename not in USER_ERRORS:  # a bug: keep papermill's full report
            raise
        raise StageError(failure_message(err.ename, err.evalue, notebook, executed)) from err


def failure_message(ename: str, evalue: str, notebook: Path, executed: Path) -> str:
    """What a notebook's data / params error says, first; where its traceback is, second."""
    first = evalue.strip() or ename
    if ename == "KeyError":
        first = (
            f"{notebook.name}: KeyError {first}: a key the stage needs is missing from its "
            "params or from the data"
        )
    return f"{first}\n(the executed notebook {executed} holds the full traceback)"


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


def to_html(notebook: Path, target: Path, provenance: Any) -> Path:
    """Render an executed notebook to a self-contained report page (figures embedded)."""
    import nbformat

    from reviewlab.reporting.render import render

    page = render(nbformat.read(notebook, as_version=4), provenance)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
