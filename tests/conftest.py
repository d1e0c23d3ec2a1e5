"""Shared fixtures: the project root, real data paths, small synthetic review tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
AMAZON = ROOT / "data" / "amazon_musical_instruments_5.json.gz"
CLOTHING = ROOT / "data" / "womens_clothing_ecommerce_reviews.csv"


def evaluation_block(n_bootstrap: int = 20, ci_level: float = 0.95) -> dict:
    """params.yaml's ``evaluation`` block (margins, correction, failure rule) with a small
    bootstrap for fast tests."""
    import yaml

    block = yaml.safe_load((ROOT / "params.yaml").read_text())["evaluation"]
    return block | {"n_bootstrap": n_bootstrap, "ci_level": ci_level}


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def real_data() -> dict[str, Path]:
    missing = [p for p in (AMAZON, CLOTHING) if not p.is_file()]
    if missing:
        pytest.skip(f"data not pulled ({missing}); run `make data`")
    return {"amazon": AMAZON, "clothing": CLOTHING}


def synthetic_reviews(n: int = 400, n_users: int = 40, n_items: int = 25, seed: int = 0):
    """Canonical-shaped reviews whose rating depends on user, item and words in the text."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    items = rng.integers(0, n_items, n)
    user_bias = rng.normal(0, 0.8, n_users)
    item_bias = rng.normal(0, 0.8, n_items)
    latent = 3.5 + user_bias[users] + item_bias[items] + rng.normal(0, 0.5, n)
    rating = np.clip(np.rint(latent), 1, 5).astype("int64")
    words = {1: "awful broken", 2: "poor cheap", 3: "okay fine", 4: "good solid", 5: "great love"}
    text = [f"this is {words[r]} product number {i}" for i, r in enumerate(rating)]
    return pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(n)],
            "user_id": pd.Series([f"u{u}" for u in users], dtype="str"),
            "item_id": pd.Series([f"i{i}" for i in items], dtype="str"),
            "rating": rating,
            "title": "",
            "text": text,
            "timestamp": pd.to_datetime(
                1_300_000_000 + rng.permutation(n) * 86_400, unit="s", utc=True
            ).astype("datetime64[ns, UTC]"),
            "helpful_votes": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "total_votes": pd.array(rng.integers(5, 9, n), dtype="Int64"),
            "source_row": np.arange(1, n + 1),
        }
    )


@pytest.fixture
def reviews() -> pd.DataFrame:
    return synthetic_reviews()


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``tiny_repo`` every test that needs the session's tiny `dvc repro`: `make test` runs
    them in one process beside the rest (the repro keeps one of two cores busy)."""
    for item in items:
        if "tiny_repo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.tiny_repo)
