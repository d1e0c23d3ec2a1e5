"""`reviewlab predict` on a saved model, and the benchmark's bookkeeping."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from reviewlab.cli import main
from reviewlab.models import bench
from reviewlab.models.encoder.data import LabelSpec, Standardizer
from reviewlab.models.encoder.model import build_model, save_model
from tests.test_finetune_parts import CFG, finetune_cfg

INPUT = {"max_length": 64, "head_tokens": 32, "title_max_tokens": 8, "pad_to_multiple_of": 8}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from reviewlab.core.backbone import load_tokenizer

    folder = tmp_path_factory.mktemp("model")
    spec = LabelSpec.fit("rating", "classification", pd.Series([1, 2, 3, 4, 5]))
    scaler = Standardizer(["user_n", "item_mean"], [2.0, 4.0], [1.0, 0.5])
    model = build_model(CFG, spec.num_outputs, 2)
    settings = finetune_cfg(input=INPUT).model_dump(by_alias=True)
    meta = {"finetune": settings, "label": spec.__dict__, "scaler": scaler.__dict__}
    save_model(model, folder, meta)
    load_tokenizer().save_pretrained(folder)
    return folder


def test_predict_cli_scores_every_row_in_order(model_dir, tmp_path):
    reviews = pd.DataFrame(
        {
            "body": ["Great strings, bright tone.", "Broke after a day.", "ok " * 300],
            "headline": ["Love it", "", "Long one"],
            "user_n": [3, np.nan, 1],
        }
    )
    source, target = tmp_path / "in.csv", tmp_path / "out.jsonl"
    reviews.to_csv(source, index=False)
    args = ["predict", "--model", str(model_dir), "--input", str(source), "--output", str(target)]
    assert main([*args, "--text-column", "body", "--title-column", "headline"]) == 0
    out = pd.read_json(target, lines=True)
    assert out["body"].tolist() == reviews["body"].tolist()
    assert out["predicted_class"].isin([1, 2, 3, 4, 5]).all()
    assert out["prediction"].between(1, 5).all()


def test_predict_names_the_missing_text_column(model_dir, tmp_path, capsys):
    source = tmp_path / "in.csv"
    pd.DataFrame({"comment": ["fine"]}).to_csv(source, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", str(model_dir), "--input", str(source), "--output", "x.csv"])
    assert exit_info.value.code == 2
    assert "text column 'text' not in the input" in capsys.readouterr().err


def test_ensemble_input_keeps_ids_as_text_and_refuses_reviews_without_text(tmp_path):
    from reviewlab.models.encoder.predict import read_table
    from reviewlab.stages import serve

    source = tmp_path / "new.jsonl"
    source.write_text(
        '{"item_id": "0739079891", "text": "Good"}\n{"item_id": "12", "text": "  "}\n'
    )
    frame = read_table(source)
    assert frame["item_id"].tolist() == ["0739079891", "12"]  # not 739079891: ids stay text
    with pytest.raises(ValueError, match="input rows 2: no review text"):
        serve._checked_input(frame)


def test_predict_ensemble_names_what_to_run_when_nothing_is_saved(tmp_path, capsys):
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.stages import serve

    with pytest.raises(FileNotFoundError, match=r"dvc repro ensemble@shop"):
        serve.predict(pd.DataFrame({"text": ["fine"]}), "shop", catalogue=Catalogue(tmp_path))


def test_training_flops_counts_params_and_attention():
    lengths = np.array([10, 20])
    flops = bench.training_flops(lengths, n_params=1000, layers=2, hidden=8)
    assert flops == 3 * (2 * 1000 * 30 + 4 * 2 * 8 * (100 + 400))


def test_length_grouping_reduces_padding():
    rng = np.random.default_rng(0)
    enc = {"input_ids": [[1] * n for n in rng.integers(5, 300, 640)]}
    lengths = np.array([len(x) for x in enc["input_ids"]])

    def padding(cfg):
        batches = bench._batches(enc, cfg, 32, seed=0)
        return sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)

    grouped = next(c for c in bench.ladder(False) if c.group_by_length)
    random = replace(grouped, group_by_length=False)
    assert grouped.group_by_length and not random.group_by_length
    assert padding(grouped) < 0.2 * padding(random)


def test_ladder_changes_one_ingredient_at_a_time():
    for bf16 in (False, True):
        configs = bench.ladder(bf16)
        assert configs[0] == bench.NAIVE and any(c.name == bench.DEFAULT for c in configs)
        assert any(c.bf16 for c in configs) == bf16
        for before, after in zip(configs, configs[1:], strict=False):
            changed = [
                k
                for k in (
                    "bf16",
                    "max_length",
                    "pad_to_max",
                    "group_by_length",
                    "attn",
                    "attention_dropout",
                    "hidden_dropout",
                )
                if getattr(before, k) != getattr(after, k)
            ]
            assert 1 <= len(changed) <= 2, (after.name, changed)


def test_markdown_marks_the_default():
    row = {
        "train_samples_per_s": 10.0,
        "train_speedup": 2.0,
        "infer_samples_per_s": 30.0,
        "infer_speedup": 3.0,
        "train_tflops": 0.1,
        "mfu": 0.1,
    }
    report = {
        "machine": {
            "processor": "x",
            "threads": 2,
            "torch": "t",
            "native_bf16": False,
            "fp32_matmul_peak_tflops": 1.0,
            "bf16_matmul_peak_tflops": 0.1,
        },
        "setup": {"batch_size": 32, "steps": 4, "rows": 128},
        "default": "b",
        "results": [{**row, "name": "a"}, {**row, "name": "b"}],
    }
    text = bench.markdown(report)
    assert "| **b** | 10.0 | 2.0x | 30.0 | 3.0x | 0.100 | 10.0% |" in text
