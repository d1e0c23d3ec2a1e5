"""``reviewlab`` command line: run a pipeline stage, refresh the README results table."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reviewlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    stage = sub.add_parser("stage", help="execute a stage notebook (papermill) and render HTML")
    stage.add_argument("name", help="a notebook stage: see reviewlab.cli.runner.STAGES")
    stage.add_argument("--dataset", help="dataset key under `datasets:` in params.yaml")
    sub.add_parser("readme", help="regenerate the README results table from metrics/")
    predict = sub.add_parser("predict", help="score new reviews with a fine-tuned model")
    predict.add_argument("--model", required=True, type=Path, help="a saved model folder")
    predict.add_argument("--input", required=True, type=Path, help=".csv or .jsonl reviews")
    predict.add_argument("--output", required=True, type=Path, help=".csv, .jsonl or .parquet")
    predict.add_argument("--text-column", default="text")
    predict.add_argument("--title-column", default="title")
    predict.add_argument("--batch-size", type=int, default=64)
    bench = sub.add_parser("bench", help="fine-tuning throughput: naive loop vs project default")
    bench.add_argument("--dataset", default="amazon")
    bench.add_argument("--steps", type=int, default=4, help="timed batches per configuration")
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--threads", type=int, default=None)
    bench.add_argument("--output", type=Path, default=Path("bench"))
    ablate = sub.add_parser("ablate", help="train and score one ablation variant with one seed")
    ablate.add_argument("--variant", required=True, help="a key of ablations.variants")
    ablate.add_argument("--seed", required=True, type=int)
    task = sub.add_parser("task", help="derive, fine-tune and score one review-level task")
    task.add_argument("--name", required=True, help="a key of tasks in params.yaml")
    embed = sub.add_parser("embed", help="sentence embeddings of every review of a dataset")
    embed.add_argument("--dataset", required=True)
    tune = sub.add_parser(
        "sweep", help="validation-only sweep of one setting of an ablation variant (no test rows)"
    )
    tune.add_argument("--variant", required=True, help="a key of ablations.variants")
    tune.add_argument("--key", required=True, help="dotted finetune key, e.g. adversarial.epsilon")
    tune.add_argument("--values", required=True, nargs="+", help="YAML values to try")
    tune.add_argument("--seeds", type=int, nargs="+", default=[1])
    tune.add_argument("--valid-rows", type=int, default=500)
    tune.add_argument("--output", type=Path, help="JSON file for the table (default: print only)")
    args = parser.parse_args(argv)
    from reviewlab.core.params import ParamsError

    try:
        return _run(args, parser)
    except ParamsError as err:
        parser.exit(2, f"reviewlab {args.command}: invalid params\n{err}\n")


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:

    if args.command == "stage":
        from reviewlab.cli.runner import run_stage

        print(run_stage(args.name, args.dataset))
    elif args.command == "readme":
        from reviewlab.reporting.results.results import update_readme

        print(update_readme())
    elif args.command == "predict":
        from reviewlab.models.finetune.predict import predict_frame, read_table, write_table

        try:
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
    elif args.command == "ablate":
        from reviewlab.core.config_old import load_params
        from reviewlab.models.ablations import run_variant

        result = run_variant(load_params(), args.variant, args.seed)
        print({k: result[k] for k in ("variant", "seed", "test", "runtime")})
    elif args.command == "task":
        from reviewlab.core.config_old import load_params
        from reviewlab.studies.tasks import run_task

        result = run_task(load_params(), args.name)
        print({k: result[k] for k in ("task", "test_rows", "models", "runtime")})
    elif args.command == "embed":
        from reviewlab.core import artifacts as paths
        from reviewlab.core.config_old import load_params
        from reviewlab.core.io import write_json
        from reviewlab.studies.embeddings import embed_reviews

        report = embed_reviews(args.dataset, load_params()["embed"])
        write_json(paths.metrics_dir(args.dataset) / "embed_runtime.json", report)
        print(report)
    elif args.command == "sweep":
        from reviewlab.core.config_old import load_params
        from reviewlab.core.io import write_json
        from reviewlab.models.ablations import sweep

        values = [_yaml_value(v) for v in args.values]
        table = sweep(load_params(), args.variant, args.key, values, args.seeds, args.valid_rows)
        print(table.to_string(index=False))
        if args.output:
            write_json(
                args.output,
                {
                    "variant": args.variant,
                    "key": args.key,
                    "valid_rows": args.valid_rows,
                    "runs": table.to_dict(orient="records"),
                },
            )
    elif args.command == "bench":
        from reviewlab.models import bench as benchmark
        from reviewlab.models.finetune.run import training_frame

        frame = training_frame(args.dataset)
        train = frame[frame["split"] == "train"]
        rows = train.sample(n=min(len(train), args.batch_size * args.steps), random_state=0)
        report = benchmark.run(rows, args.batch_size, threads=args.threads)
        benchmark.save(report, args.output)
        print(benchmark.markdown(report))
    return 0


def _yaml_value(text: str):
    """A command-line value as YAML, with ``5e-5`` read as a number (YAML 1.1 wants ``5.0e-5``)."""
    import yaml

    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
