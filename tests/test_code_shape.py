"""The shape of src/: no dead code (every definition is used by src/ or a notebook, apart
from the hooks a framework calls by name; vulture) and no function over 60 lines."""

from __future__ import annotations

import ast
import json

from vulture import Vulture

from tests.conftest import ROOT

#: Called by a framework, never by our code: Trainer callbacks and overrides, evaluate's
#: metric modules, pydantic's config, nbconvert's exporter switches, DVCLive's callback state.
HOOKS = [
    "on_train_begin",
    "on_step_end",
    "on_evaluate",
    "create_optimizer",
    "setup",
    "_initialized",
    "model_accepts_loss_kwargs",
    "compute_metrics",
    "_info",
    "LabelMetrics",
    "RatingMetrics",
    "model_config",
    "exclude_input_prompt",
    "exclude_output_prompt",
    "control",  # an argument every TrainerCallback hook takes
    "trace",  # an argument of __exit__
    "max_quarantine_rate",  # a params field the loader reads from the raw block, by name
    "cmd",  # Declared.cmd: DVC's resolved command, which the declaration tests read back
    "_repr_mimebundle_",  # IPython's display protocol (reporting.figures.Drawn)
]


def test_every_definition_in_src_is_used():
    scanner = Vulture(ignore_names=HOOKS, ignore_decorators=["@*validator"])
    scanner.scavenge([str(ROOT / "src" / "reviewlab")])
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = [c["source"] for c in cells if c["cell_type"] == "code"]
        scanner.scan("\n".join("".join(source) for source in code), filename=str(notebook))
    unused = [
        f"{item.filename.relative_to(ROOT)}:{item.first_lineno}: {item.message}"
        for item in scanner.get_unused_code(min_confidence=60)
        if item.filename.suffix == ".py"
    ]
    assert not unused, "\n".join(unused)


#: The longest function src/ may hold, in lines (signature and docstring included).
MAX_LINES = 60


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for path in sorted((ROOT / "src" / "reviewlab").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines}")
    assert not long, "\n".join(long)
