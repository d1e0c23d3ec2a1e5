"""``reviewlab`` command line: run a pipeline stage, copy the generated blocks into the README.

A data or params error (:class:`reviewlab.core.errors.ReviewlabError`) prints one clear line on
stderr (file, line, key or field, what was expected, how to fix) and exits with 2, without a
traceback; ``--debug`` (or ``REVIEWLAB_DEBUG=1``) shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

DEBUG_ENV = "REVIEWLAB_DEBUG"


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    run = HANDLERS[args.command]
    if getattr(args, "debug", False) or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        return run(args, cli)  # errors propagate with their traceback
    from reviewlab.core.errors import ReviewlabError

    try:
        return run(args, cli)
    except (ReviewlabError, KeyError, FileNotFoundError) as err:
        sys.stderr.write(error_report(args, err))
        return 2


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per entry of :data:`HANDLERS`."""
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error (also: REVIEWLAB_DEBUG=1)",
    )
    parser = argparse.ArgumentParser(prog="reviewlab", description=__doc__, parents=[debug])
    sub = parser.add_subparsers(dest="command", required=True)
    stage = sub.add_parser("stage", help="run one instance of a dvc.yaml stage", parents=[debug])
    stage.add_argument("name", help="a stage of dvc.yaml (its module: reviewlab.stages.<name>)")
    stage.add_argument("key", nargs="?", help="the foreach key (dataset or task) of the stage")
    stage.add_argument("--dataset", help="matrix axis of `learn`: a dataset")
    stage.add_argument("--size", type=int, help="matrix axis of `learn`: training rows")
    stage.add_argument("--variant", help="matrix axis of `ablate`, `tune`, `learn`: a variant")
    stage.add_argument("--trial", help="matrix axis of `tune`: one of ablations.tuning.trials")
    stage.add_argument("--seed", type=int, help="matrix axis of `ablate`, `tune`, `learn`: a seed")
    validate = sub.add_parser(
        "validate", help="check params.yaml against the typed schema", parents=[debug]
    )
    validate.add_argument("--params", type=Path, help="a params file (default: the project's)")
    sub.add_parser(
        "readme",
        help="copy the report stage's generated blocks into the README and docs/",
        parents=[debug],
    )
    predict = sub.add_parser(
        "predict", help="score new reviews with a fine-tuned model or an ensemble", parents=[debug]
    )
    which = predict.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", type=Path, help="a saved fine-tuned model folder")
    which.add_argument(
        "--ensemble", metavar="DATASET", help="a dataset's stacked ensemble (stage ensemble)"
    )
    predict.add_argument("--input", required=True, type=Path, help=".csv or .jsonl reviews")
    predict.add_argument("--output", required=True, type=Path, help=".csv, .jsonl or .parquet")
    predict.add_argument("--text-column", default="text")
    predict.add_argument("--title-column", default="title")
    predict.add_argument("--batch-size", type=int, default=64)
    bench = sub.add_parser(
        "bench", help="fine-tuning throughput: naive loop vs project default", parents=[debug]
    )
    bench.add_argument("--dataset", default="amazon")
    bench.add_argument("--steps", type=int, default=4, help="timed batches per configuration")
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--threads", type=int, default=None)
    bench.add_argument("--output", type=Path, default=Path("bench"))
    bench.add_argument(
        "--only-default",
        action="store_true",
        help="time the project default's rung alone (printed, bench/results.* left as they are)",
    )
    return parser


def error_report(args: argparse.Namespace, err: BaseException) -> str:
    """stderr for a user error: one line saying what and where, then any detail, no traceback.

    A :class:`~reviewlab.core.errors.ReviewlabError` is formatted where it is raised (its first
    line names the file, line, field and fix); this only adds the command's name."""
    if isinstance(err, KeyError):
        message = f"missing key {err}: a key the command needs is not in the params or the data"
    elif isinstance(err, FileNotFoundError) and err.filename:
        message = (
            f"{err.filename}: no such file: run the stages that write it first (`dvc repro`) "
            "or fix the path"
        )
    else:
        message = str(err)
    first, *rest = [line for line in message.strip().splitlines() if line.strip()] or ["?"]
    lines = [f"reviewlab {args.command}: error: {first}", *rest]
    lines.append("(run with --debug for the full traceback)")
    return "\n".join(lines) + "\n"


def stage_item(args: argparse.Namespace) -> dict[str, Any]:
    """The instance a ``stage`` command names: ``key`` (foreach) and the matrix axes given."""
    given = {
        "key": args.key,
        "dataset": args.dataset,
        "size": args.size,
        "variant": args.variant,
        "trial": args.trial,
        "seed": args.seed,
    }
    return {axis: value for axis, value in given.items() if value is not None}


def _stage(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from reviewlab.cli.runner import run_stage

    matrix = stage_item(args)
    result = run_stage(args.name, matrix.pop("key", None), **matrix)
    if isinstance(result, Path):  # the report written; a module stage's result is in its files
        print(result)
    return 0


def _validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from reviewlab.core.config import load_params

    load_params(args.params)
    print(f"{args.params or 'params.yaml'}: valid")
    return 0


def _readme(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from reviewlab.stages.report import update_readme

    for page in update_readme():
        print(page)
    return 0


def _predict(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from reviewlab.models.encoder.predict import predict_frame, read_table, write_table

    try:
        if args.ensemble:
            frame = _predict_ensemble(args)
        else:
            frame = predict_frame(
                args.model,
                read_table(args.input),
                args.text_column,
                args.title_column,
                args.batch_size,
            )
    except (FileNotFoundError, KeyError, ValueError) as err:
        parser.exit(2, f"reviewlab predict: error: {err.args[0]}\n")
    print(write_table(frame, args.output))
    return 0


def _predict_ensemble(args: argparse.Namespace) -> Any:
    """The ensemble's predictions of the input, its text and title columns named as given."""
    from reviewlab.models.encoder.predict import read_table
    from reviewlab.stages.serve import predict

    frame = read_table(args.input)
    names = {args.text_column: "text", args.title_column: "title"}
    clash = [new for old, new in names.items() if old != new and old in frame and new in frame]
    if clash:
        raise ValueError(f"the input has both {clash} and the columns named to replace them")
    return predict(frame.rename(columns=names), args.ensemble, args.batch_size)


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.models import bench as benchmark
    from reviewlab.models.encoder.data import training_frame

    catalogue = Catalogue()
    frame = training_frame(
        catalogue.load_features_table(args.dataset), catalogue.load_reviews(args.dataset)
    )
    train = frame[frame["split"] == "train"]
    rows = train.sample(n=min(len(train), args.batch_size * args.steps), random_state=0)
    report = benchmark.run(
        rows, args.batch_size, threads=args.threads, only_default=args.only_default
    )
    if not args.only_default:
        benchmark.save(report, args.output)
    print(benchmark.markdown(report))
    return 0


#: One handler per subcommand: ``(args, parser) -> exit status``.
HANDLERS = {
    "stage": _stage,
    "validate": _validate,
    "readme": _readme,
    "predict": _predict,
    "bench": _bench,
}
