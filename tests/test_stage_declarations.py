"""Each stage is declared once, in dvc.yaml; these tests keep everything else in step with it.

- every dvc.yaml stage has its module ``reviewlab.stages.<name>`` (and no module is orphaned);
- a stage's ``deps`` cover the import closure of its module and of its notebook's imports
  (so editing any code a stage runs makes ``dvc status`` report it), and name no stale code;
- every stage's command is the CLI's ``stage`` command naming that very instance;
- papermill injects exactly the stage's dvc.yaml ``params:``; notebooks hold no defaults;
- a stage's typed params refuse keys its dvc.yaml does not declare.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

import grimp
import pytest

import reviewlab.stages
from reviewlab.cli import parser, stage_item
from reviewlab.core.params import lookup, partial, read_params
from reviewlab.stages.declared import PIPELINES, Declared, address, pipeline
from tests.conftest import ROOT

RAW = read_params(ROOT / "params.yaml")


def profile_pipeline(profile: str) -> dict[str, Declared]:
    """The pipeline as DVC resolves it under another profile (conf/profile/<profile>.yaml)."""
    from dvc.utils.hydra import compose_and_dump

    folder = Path(tempfile.mkdtemp(prefix=f"pipeline-{profile}-"))
    for file in PIPELINES:
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / file, folder / file)
    overrides = [f"profile={profile}"]
    compose_and_dump(
        folder / "params.yaml", str(ROOT / "conf"), None, "config", str(ROOT), overrides
    )
    return pipeline(folder)


CPU = pipeline(ROOT)  # DVC's own resolution of dvc.yaml and tuning/dvc.yaml
#: ... with the stages the cpu profile leaves without instances (an empty foreach / matrix:
#: the learning curve), as the extended profile declares them
PIPELINE = CPU | {
    name: entry
    for name, entry in profile_pipeline("extended").items()
    if name.split("@")[0] not in {n.split("@")[0] for n in CPU}
}
STAGES = list(dict.fromkeys(name.split("@")[0] for name in PIPELINE))
HELPERS = {"declared", "serve"}  # modules of reviewlab.stages that are not stages


def instance(entry: Declared) -> tuple[str, dict]:
    """(stage, item) of the instance a stage's command runs, read by the CLI's own parser."""
    args = parser().parse_args(shlex.split(entry.cmd)[1:])
    return args.name, stage_item(args)


def instances(stages: dict[str, Declared]) -> list[tuple[str, dict]]:
    return [instance(entry) for entry in stages.values()]


INSTANCES = instances(PIPELINE)
RUNNABLE = instances(CPU)  # the instances params.yaml itself declares


def entry_of(stage: str, item: dict, stages: dict[str, Declared] = PIPELINE) -> Declared:
    return stages[address(stage, **item)]


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("reviewlab", include_external_packages=False)


def closure(modules: set[str]) -> set[str]:
    """Every reviewlab module that importing ``modules`` executes (their packages' __init__ too)."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += graph().find_modules_directly_imported_by(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages
    return seen


def module_file(module: str) -> str:
    path = ROOT / "src" / Path(*module.split("."))
    file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return file.relative_to(ROOT).as_posix()


def notebook_imports(notebook: Path) -> set[str]:
    modules = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reviewlab"):
                modules.add(node.module)
                for alias in node.names:  # `from reviewlab.stages import finetune`
                    candidate = f"{node.module}.{alias.name}"
                    if candidate in graph().modules:
                        modules.add(candidate)
            elif isinstance(node, ast.Import):
                modules |= {a.name for a in node.names if a.name.startswith("reviewlab")}
    return modules


def is_face(file: str) -> bool:
    """A package ``__init__.py`` that holds nothing but its docstring (no code to track)."""
    body = ast.parse((ROOT / file).read_text()).body
    return (
        len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    )


#: What turns a notebook stage's executed notebook into its HTML report (an out of the stage).
RENDERER = "reviewlab.reporting.render"


TEMPLATES = "src/reviewlab/reporting/templates"
#: A template named in code (``prose.findings("eda", ...)``) or imported by another template.
NAMED = re.compile(r'prose\.(?:findings|sentences|macro|line)\(\s*"([a-z_]+)"')
IMPORTED = re.compile(r'{%-?\s*(?:from|import)\s+"([^"]+)\.md\.j2"')


def templates(files: set[str]) -> set[str]:
    """The report templates the code in ``files`` renders, with the ones they import."""
    names = {n for f in files for n in NAMED.findall((ROOT / f).read_text())}
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += IMPORTED.findall((ROOT / TEMPLATES / f"{name}.md.j2").read_text())
    return {f"{TEMPLATES}/{name}.md.j2" for name in seen}


def stage_code(stage: str, deps: list[str]) -> set[str]:
    """Files under src/ that one stage runs: its module's closure, its notebook's, that of
    :mod:`reviewlab.stages.declared` (which builds every stage's params) and, for a notebook
    stage, that of the renderer of its report."""
    roots = {f"reviewlab.stages.{stage}", "reviewlab.stages.declared"}
    for dep in deps:
        if dep.endswith(".ipynb"):  # executed, then rendered to its report by RENDERER
            roots |= notebook_imports(ROOT / dep) | {RENDERER}
    files = {module_file(m) for m in closure(roots)}
    files |= templates(files)  # package data the code reads: each stage declares its own
    return {f for f in files if not (f.endswith("__init__.py") and is_face(f))}


def covered(file: str, deps: list[str]) -> bool:
    return any(file == dep or file.startswith(dep.rstrip("/") + "/") for dep in deps)


def test_every_stage_has_its_module_and_every_module_a_stage():
    modules = {m.name for m in pkgutil.iter_modules(reviewlab.stages.__path__)} - HELPERS
    assert modules == set(STAGES)


@pytest.mark.parametrize("name", list(PIPELINE))
def test_command_runs_the_stage(name):
    """The command is ``bin/reviewlab stage`` naming this very instance (its name, key, axes)."""
    entry = PIPELINE[name]
    assert entry.cmd.startswith("bin/reviewlab stage ")
    stage, item = instance(entry)
    assert address(stage, **item) == name


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_cover_the_code_the_stage_runs(stage):
    """Editing any module a stage imports (directly, lazily or through its notebook) must make
    DVC re-run it: every file of the import closure lies under one of its deps."""
    item = next(i for s, i in INSTANCES if s == stage)
    deps = entry_of(stage, item).deps
    missing = sorted(f for f in stage_code(stage, deps) if not covered(f, deps))
    assert not missing, f"{stage}: dvc.yaml deps do not cover {missing}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_code_deps_are_not_stale(stage):
    """Every code dep names something the stage runs (no renamed-away or unrelated module)."""
    item = next(i for s, i in INSTANCES if s == stage)
    deps = entry_of(stage, item).deps
    code = stage_code(stage, deps)
    stale = [d for d in deps if d.startswith("src/") and not any(covered(f, [d]) for f in code)]
    assert not stale, f"{stage}: deps name code the stage does not run: {stale}"


def notebook_of(stage: str) -> Path | None:
    item = next(i for s, i in INSTANCES if s == stage)
    found = [d for d in entry_of(stage, item).deps if d.endswith(".ipynb")]
    return ROOT / found[0] if found else None


NOTEBOOK_STAGES = sorted(s for s in STAGES if notebook_of(s))


@pytest.mark.parametrize("stage", NOTEBOOK_STAGES)
def test_notebook_parameters_hold_no_defaults(stage):
    """Standalone defaults come from params.yaml (``params = None``), never from literals
    that could drift from what the stage gets."""
    cells = json.loads(notebook_of(stage).read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    names = {}
    for node in ast.parse("".join(tagged[0]["source"])).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        names[node.targets[0].id] = ast.literal_eval(node.value)
    per_dataset = "key" in next(i for s, i in INSTANCES if s == stage)
    expected = {"params": None} | ({"dataset": next(iter(RAW["datasets"]))} if per_dataset else {})
    assert names == expected


@pytest.mark.parametrize("stage,item", RUNNABLE, ids=list(CPU))
def test_runner_injects_exactly_the_declared_params(stage, item, monkeypatch):
    from reviewlab.cli import runner

    seen = {}
    if notebook_of(stage):
        monkeypatch.setattr(
            runner, "execute", lambda nb, out, parameters, root: seen.update(parameters)
        )
        monkeypatch.setattr(runner, "to_html", lambda nb, target, provenance: target)
        from reviewlab.reporting import render  # the footer's dvc.lock hashes need the data

        monkeypatch.setattr(render, "locked_deps", lambda root, name: render.Locked("", {}))
    else:
        import importlib

        module = importlib.import_module(f"reviewlab.stages.{stage}")
        monkeypatch.setattr(module, "run", lambda params, *a, **k: seen.update(params=params))
    runner.run_stage(stage, item.get("key"), ROOT, **{k: v for k, v in item.items() if k != "key"})
    declared = entry_of(stage, item).params
    injected = seen["params"]
    if isinstance(injected, dict):  # papermill: plain values, by dotted key
        assert list(injected) == declared
        assert all(injected[k] == lookup(RAW, k) for k in declared)
        assert set(seen) == {"params"} | ({"dataset"} if "key" in item else set())
    else:  # called directly: the typed view holds the declared top-level sections only
        present = {k for k in type(injected).model_fields if k in injected.__dict__}
        assert present == {k.split(".")[0] for k in declared}


def test_partial_params_refuse_undeclared_keys():
    view = partial({"seed": RAW["seed"], "ablations.budget": RAW["ablations"]["budget"]})
    assert view.seed == RAW["seed"]
    assert view.ablations.budget == RAW["ablations"]["budget"]
    with pytest.raises(AttributeError):
        view.finetune  # noqa: B018
    with pytest.raises(AttributeError):
        view.ablations.seeds  # noqa: B018


def test_validate_is_fast_and_imports_no_ml_stack():
    code = (
        # CPU time, not wall time: `make test` runs it beside the tiny repro on 2 cores
        "import sys, time; t = time.process_time(); from reviewlab.cli import main; "
        "main(['validate']); print(time.process_time() - t); "
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'lightgbm', 'sklearn') "
        "if m in sys.modules))"
    )
    timings = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
        timings.append(float(out[-2]))
        assert out[-1] == "[]", f"validating params imported {out[-1]}"
    assert min(timings) < 1.0, timings


def test_no_import_cycles_inside_the_package():
    g = graph()
    cycles = []
    for module in sorted(g.modules):
        for imported in g.find_modules_directly_imported_by(module):
            if g.chain_exists(imported=module, importer=imported):
                cycles.append((module, imported))
    assert not cycles


def test_layers_run_one_way():
    """The same contract `lint-imports` checks (pyproject.toml), as a test."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert time.perf_counter() - started < 60
