#!/usr/bin/env bash
# The ablation grid's GPU `full` profile on a machine without DVC: every variant x seed run in
# parallel on one GPU (a MiniLM run leaves an H100 mostly idle), then the ablation report's
# aggregation. Works on a scratch copy of the project, so the checkout's params stay as they are.
# With DVC the same profile is `dvc exp run -S ...` (README "Ablations").
#
# usage: bench/gpu_full_grid.sh OUT_DIR [SEEDS] [VARIANTS] [MODEL]
#   e.g. bench/gpu_full_grid.sh /tmp/gpu "1 2 3" "plain fgm pgd freelb rdrop"
# writes OUT_DIR/{params.yaml, ablations_summary.json, ablations_runtime.json, logs/, runs.tar.gz}
set -euo pipefail
out=$(realpath -m "$1")
seeds=${2:-"1 2 3"}
variants=${3:-"plain fgm pgd freelb rdrop"}
model=${4:-}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cp "$root/dvc.yaml" "$root/params.yaml" "$work/"
ln -s "$root/data" "$work/data"
mkdir -p "$out/logs"
export PYTHONPATH="$root/src" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_EVALUATE_OFFLINE=1 \
  PYTHONHASHSEED=0
cd "$work"

MODEL="$model" VARIANTS="$variants" SEEDS="$seeds" python3 - <<'PY'
import os
import yaml
from reviewlab import pipeline
from reviewlab.config import dataset_config, load_params

params = yaml.safe_load(open("params.yaml"))
if os.environ["MODEL"]:
    params["finetune"]["model_name_or_path"] = os.environ["MODEL"]
grid = params["ablations"]
grid["variants"] = {v: grid["variants"][v] for v in os.environ["VARIANTS"].split()}
grid["seeds"] = [int(s) for s in os.environ["SEEDS"].split()]
grid["compare"] = {k: v for k, v in grid["compare"].items() if {k, v} <= set(grid["variants"])}
grid["test_rows"] = None  # the whole test split
grid["robustness"]["rows"] = 300
grid["budget"] = {  # the `full` profile: all training rows, 256 tokens, two epochs
    "max_train_rows": None,
    "input": {"max_length": 256, "head_tokens": 128},
    "train": {"epochs": 2, "batch_size": 32, "lr": 1.0e-4, "head_lr": None,
              "eval_every": None, "log_every": 50, "threads": 1},
}
yaml.safe_dump(params, open("params.yaml", "w"), sort_keys=False)
params = load_params("params.yaml")  # validated
dataset, seed = grid["dataset"], params["seed"]
pipeline.ingest(dataset, dataset_config(params, dataset), seed)
pipeline.preprocess(dataset, params["split"], params["features"], seed)
PY
cp params.yaml "$out/params.yaml"

start=$(date +%s)
for seed in $seeds; do
  for variant in $variants; do
    python3 -m reviewlab ablate --variant "$variant" --seed "$seed" \
      > "$out/logs/$variant-$seed.log" 2>&1 || echo "FAILED $variant-$seed (log: $out/logs)" &
  done
done
wait
echo "grid wall time: $(( $(date +%s) - start )) s"

OUT="$out" python3 - <<'PY'
import os
import shutil
from pathlib import Path
from reviewlab import ablation_report
from reviewlab.config import load_params

params = load_params("params.yaml")
grid = params["ablations"]
ablation_report.build(grid["dataset"], grid, params["evaluation"], Path.cwd())
for name in ("ablations_summary.json", "ablations_runtime.json"):
    shutil.copy(Path("metrics", grid["dataset"], name), Path(os.environ["OUT"], name))
PY
tar czf "$out/runs.tar.gz" metrics artifacts/*/ablations
rm -rf "$work"
