"""``reviewlab`` command line: run a pipeline stage, refresh the README results table."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reviewlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    stage = sub.add_parser("stage", help="execute a stage notebook (papermill) and render HTML")
    stage.add_argument("name", help="ingest | eda | preprocess | baselines | report")
    stage.add_argument("--dataset", help="dataset key under `datasets:` in params.yaml")
    sub.add_parser("readme", help="regenerate the README results table from metrics/")
    args = parser.parse_args(argv)

    if args.command == "stage":
        from reviewlab.notebooks import run_stage

        print(run_stage(args.name, args.dataset))
    elif args.command == "readme":
        from reviewlab.reporting import update_readme

        print(update_readme())
    return 0
