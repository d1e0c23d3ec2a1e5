"""``reviewlab`` command line: run a pipeline stage, refresh the README results table."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reviewlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    stage = sub.add_parser("stage", help="run one instance of a dvc.yaml stage")
    stage.add_argument("name", help="a stage of dvc.yaml (its module: reviewlab.stages.<name>)")
    stage.add_argument("key", nargs="?", help="the foreach key (dataset or task) of the stage")
    stage.add_argument("--variant", help="matrix axis of `ablate`: a key of ablations.variants")
    stage.add_argument("--seed", type=int, help="matrix axis of `ablate`: one of ablations.seeds")
    validate = sub.add_parser("validate", help="check params.yaml against the typed schema")
    validate.add_argument("--params", type=Path, help="a params file (default: the project's)")
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

        matrix = {
            k: v for k, v in (("variant", args.variant), ("seed", args.seed)) if v is not None
        }
        print(run_stage(args.name, args.key, **matrix))
    elif args.command == "validate":
        from reviewlab.core.config import load_params

        load_params(args.params)
        print(f"{args.params or 'params.yaml'}: valid")
    elif args.command == "readme":
        from reviewlab.stages.report import update_readme

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
    elif args.command == "sweep":
        from reviewlab.core.artifacts import Catalogue
        from reviewlab.core.config import load_params
        from reviewlab.core.io import write_json
        from reviewlab.models.ablations import sweep, sweep_configs
        from reviewlab.models.finetune.data import training_frame

        params, catalogue = load_params(), Catalogue()
        values = [_yaml_value(v) for v in args.values]
        configs = sweep_configs(params, args.variant, args.key, values)  # checked before training
        table = sweep(
            training_frame(
                catalogue.load_features_table(params.ablations.dataset),
                catalogue.load_reviews(params.ablations.dataset),
            ),
            values,
            configs,
            args.seeds,
            args.valid_rows,
            params.ablations.robustness.seed,
            catalogue.cache("tokenised"),
        )
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
        from reviewlab.core.artifacts import Catalogue
        from reviewlab.models import bench as benchmark
        from reviewlab.models.finetune.data import training_frame

        catalogue = Catalogue()
        frame = training_frame(
            catalogue.load_features_table(args.dataset), catalogue.load_reviews(args.dataset)
        )
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
