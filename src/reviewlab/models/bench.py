"""Training / inference throughput of the fine-tuning step, naive vs the project's default.

Every rung runs the fine-tuning model (regression head) with AdamW on the same real training
reviews in a plain forward + backward + step loop; only precision, padding, batch composition,
attention implementation and dropout differ. MFU counts the unpadded tokens against a bf16
matmul peak measured on the same machine.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from reviewlab.core.runtime import processor_name
from reviewlab.models.encoder.data import encode
from reviewlab.models.encoder.model import ReviewModel, load_encoder

#: Dropout before the regression head, the same in every configuration.
HEAD_DROPOUT = 0.1


@dataclass(frozen=True)
class BenchConfig:
    """One rung of the ladder; the defaults are the naive configuration (:data:`NAIVE`)."""

    name: str = "naive: fp32, pad to 512, random batches, SDPA, dropout 0.1"
    bf16: bool = False
    max_length: int = 512
    pad_to_max: bool = True
    group_by_length: bool = False
    attn: str = "sdpa"
    attention_dropout: float = 0.1
    hidden_dropout: float = 0.1


NAIVE = BenchConfig()
DEFAULT = "+ no attention dropout (project default: SDPA)"


def ladder(bf16: bool) -> list[BenchConfig]:
    """Naive -> project default, one ingredient at a time. bf16 autocast is a rung only where
    the CPU has native bf16 (AVX512-BF16 / AMX); elsewhere it is emulated and far slower."""
    steps = [("+ max_length 256, per-batch padding", {"max_length": 256, "pad_to_max": False})]
    if bf16:
        steps.insert(0, ("+ bf16 autocast", {"bf16": True}))
    steps += [
        ("+ length-grouped batches", {"group_by_length": True}),
        (DEFAULT, {"attention_dropout": 0.0}),
        ("+ eager attention instead of SDPA", {"attn": "eager"}),
        ("+ no hidden dropout either (eager)", {"hidden_dropout": 0.0}),
    ]
    configs = [NAIVE]
    for name, change in steps:
        configs.append(replace(configs[-1], name=name, **change))
    return configs


def matmul_peak(
    dtype: torch.dtype, size: int = 2048, seconds: float = 1.0, windows: int = 5
) -> float:
    """Measured matmul throughput (TFLOP/s) of a square ``size`` product in ``dtype``: the best
    of ``windows`` timing windows, so a busy moment does not understate the peak."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    best = 0.0
    for _ in range(windows):
        start, repeats = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            a @ b
            repeats += 1
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12)
    return best


def training_flops(lengths: np.ndarray, n_params: int, layers: int, hidden: int) -> float:
    """Model FLOPs of one training pass over sequences of the given (unpadded) lengths:
    3 x (2 * non-embedding params per token + 4 * layers * length * hidden per token)."""
    lengths = lengths.astype(np.float64)
    forward = 2 * n_params * lengths.sum() + 4 * layers * hidden * (lengths**2).sum()
    return 3 * forward


def _batches(
    enc: dict[str, list], cfg: BenchConfig, batch_size: int, seed: int
) -> list[np.ndarray]:
    lengths = np.array([len(ids) for ids in enc["input_ids"]])
    order = np.random.default_rng(seed).permutation(len(lengths))
    if cfg.group_by_length:  # mega-batches of 50 batches sorted by length, as the Trainer does
        mega = batch_size * 50
        chunks = np.split(order, range(mega, len(order), mega))
        order = np.concatenate([c[np.argsort(-lengths[c], kind="stable")] for c in chunks])
    batches = [order[i : i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
    shuffle = np.random.default_rng(seed + 1).permutation(len(batches))
    return [batches[i] for i in shuffle]


def _collate(
    enc: dict[str, list], index: np.ndarray, cfg: BenchConfig, tokenizer
) -> dict[str, torch.Tensor]:
    rows = {
        k: [enc[k][i] for i in index] for k in ("input_ids", "token_type_ids", "attention_mask")
    }
    padding = "max_length" if cfg.pad_to_max else True
    batch = tokenizer.pad(
        rows, padding=padding, max_length=cfg.max_length, pad_to_multiple_of=8, return_tensors="pt"
    )
    return dict(batch)


def _seconds(step, batches: list[np.ndarray], enc: dict[str, list], cfg: BenchConfig, tokenizer):
    """Seconds ``step(batch, index)`` takes over ``batches`` (their collation untimed)."""
    elapsed = 0.0
    for index in batches:
        batch = _collate(enc, index, cfg, tokenizer)
        start = time.perf_counter()
        step(batch, index)
        elapsed += time.perf_counter() - start
    return elapsed


def run_config(
    cfg: BenchConfig, frame: pd.DataFrame, tokenizer, batch_size: int, seed: int
) -> dict[str, Any]:
    """Samples/s for training and inference, and MFU, of one configuration: every rung times
    the same batches (all of ``frame``) once, after one untimed warm-up training step."""
    torch.manual_seed(seed)
    encoder = load_encoder(None, cfg.attn, cfg.hidden_dropout, cfg.attention_dropout)
    model = ReviewModel(encoder, 1, 0, HEAD_DROPOUT, [4.0])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    titles, texts = frame["title"].tolist(), frame["text"].tolist()
    enc = encode(tokenizer, titles, texts, cfg.max_length, cfg.max_length // 2, 32)
    batches = _batches(enc, cfg, batch_size, seed)
    labels = torch.tensor(frame["rating"].to_numpy(), dtype=torch.float32)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if cfg.bf16 else contextlib.nullcontext()

    def train_step(batch: dict[str, torch.Tensor], index: np.ndarray) -> None:
        with autocast:
            pred = model(**batch).logits.squeeze(-1)
        torch.nn.functional.mse_loss(pred.float(), labels[index]).backward()
        optimizer.step()
        optimizer.zero_grad()

    model.train()
    _seconds(train_step, batches[:1], enc, cfg, tokenizer)
    train_seconds = _seconds(train_step, batches, enc, cfg, tokenizer)
    model.eval()
    with torch.inference_mode(), autocast:
        infer_seconds = _seconds(lambda b, _: model(**b), batches, enc, cfg, tokenizer)
    tokens = np.array([len(enc["input_ids"][i]) for index in batches for i in index])
    encoder_cfg = model.encoder.config
    n_params = sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)
    layers, hidden = encoder_cfg.num_hidden_layers, encoder_cfg.hidden_size
    return {
        **asdict(cfg),
        "train_samples_per_s": len(tokens) / train_seconds,
        "infer_samples_per_s": len(tokens) / infer_seconds,
        "train_tflops": training_flops(tokens, n_params, layers, hidden) / train_seconds / 1e12,
        "mean_tokens": float(np.mean(tokens)),
    }


def run(
    frame: pd.DataFrame,
    batch_size: int = 32,
    seed: int = 0,
    threads: int | None = None,
    only_default: bool = False,
) -> dict[str, Any]:
    """The whole ladder (``only_default``: the project default's rung alone, e.g. to compare a
    stage's throughput with it); speed-ups against the first rung; MFU against the measured
    peak."""
    from reviewlab.core.backbone import load_tokenizer
    from reviewlab.models.encoder.run import bf16_supported

    if threads:
        torch.set_num_threads(threads)
    tokenizer = load_tokenizer()
    native_bf16 = bf16_supported()
    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16, windows=1)}
    configs = ladder(native_bf16)
    if only_default:
        configs = [cfg for cfg in configs if cfg.name == DEFAULT]
    rows = [run_config(cfg, frame, tokenizer, batch_size, seed) for cfg in configs]
    naive = rows[0]
    for row in rows:
        row["train_speedup"] = row["train_samples_per_s"] / naive["train_samples_per_s"]
        row["infer_speedup"] = row["infer_samples_per_s"] / naive["infer_samples_per_s"]
        row["mfu"] = row["train_tflops"] / peaks["bf16" if row["bf16"] else "fp32"]
    return {
        "machine": {
            "processor": processor_name(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "native_bf16": native_bf16,
            "fp32_matmul_peak_tflops": peaks["fp32"],
            "bf16_matmul_peak_tflops": peaks["bf16"],
        },
        "setup": {
            "steps": len(frame) // batch_size,
            "batch_size": batch_size,
            "rows": len(frame),
            "seed": seed,
        },
        "default": DEFAULT,
        "results": rows,
    }


def markdown(report: dict[str, Any]) -> str:
    """The benchmark as a Markdown table (what README and bench/results.md show)."""
    m, s = report["machine"], report["setup"]
    lines = [
        f"Machine: {m['processor']}, {m['threads']} threads, torch {m['torch']}. Measured matmul "
        f"peaks: fp32 {m['fp32_matmul_peak_tflops']:.3f} TFLOP/s, bf16 "
        f"{m['bf16_matmul_peak_tflops']:.4f} TFLOP/s (native bf16: {m['native_bf16']}; MFU is "
        f"against the peak of the precision each row uses). Batch {s['batch_size']}, "
        f"{s['rows']} real training reviews ({s['steps']} batches), each rung timing the same "
        "rows after one warm-up step.",
        "",
        "| configuration | train samples/s | speed-up | inference samples/s | speed-up "
        "| train TFLOP/s | MFU |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        name = f"**{r['name']}**" if r["name"] == report["default"] else r["name"]
        lines.append(
            f"| {name} | {r['train_samples_per_s']:.1f} | {r['train_speedup']:.1f}x | "
            f"{r['infer_samples_per_s']:.1f} | {r['infer_speedup']:.1f}x | "
            f"{r['train_tflops']:.3f} | {r['mfu']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def save(report: dict[str, Any], folder: Path) -> None:
    """``results.json`` and ``results.md`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / "results.md").write_text(markdown(report))
