"""GPU check: the default Amazon pipeline up to fine-tuning, run on whatever device torch sees.

    python bench/gpu_check.py [--model PATH] [--set finetune.train.epochs=3 ...]

Ingests and preprocesses Amazon (params.yaml), then runs the `finetune` stage's code with the
params' `finetune` block (plus overrides) and prints the test metrics and the runtime. On a
CUDA machine the Trainer places the model on the GPU and `bf16: auto` turns bf16 on.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import yaml

from reviewlab.stages import pipeline_old as pipeline
from reviewlab.core.config_old import dataset_config, load_params
from reviewlab.models.finetune.run import finetune


def _override(params: dict, dotted: str, value: str) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        params = params[key]
    params[last] = yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model_name_or_path (default: params.yaml)")
    parser.add_argument("--set", nargs="*", default=[], help="dotted.key=value overrides")
    args = parser.parse_args()
    params = load_params()
    for item in args.set:
        _override(params, *item.split("=", 1))
    if args.model:
        params["finetune"]["model_name_or_path"] = args.model
    dataset, seed = params["finetune"]["dataset"], params["seed"]
    start = time.perf_counter()
    pipeline.ingest(dataset, dataset_config(params, dataset), seed)
    pipeline.preprocess(dataset, params["split"], params["features"], seed)
    prepared = time.perf_counter() - start
    result = finetune(dataset, params["finetune"], params["evaluation"], seed, log_curves=False)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    test = result.metrics["models"][params["finetune"]["name"]]["test"]
    print(
        json.dumps(
            {
                "device": device,
                "prepare_seconds": round(prepared, 1),
                "runtime": result.runtime,
                "test": test,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
