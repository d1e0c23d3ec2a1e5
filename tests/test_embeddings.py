"""Review embeddings: masked mean pooling, and length-sorted batches restored to input order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reviewlab.studies.embeddings import encode_texts, mean_pool


def test_mean_pool_ignores_padding_and_normalises():
    hidden = torch.tensor([[[3.0, 0.0], [0.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert mean_pool(hidden, mask).numpy() == pytest.approx(np.array([[0.6, 0.8]]))


def test_batched_vectors_equal_single_ones_in_input_order():
    texts = [
        "The strings buzz on the low frets and the tuners slip after a day of playing it.",
        "Great cable.",
        "This guitar cable is great and quiet.",
    ]
    together = encode_texts(texts, None, max_length=32, batch_size=2)
    alone = np.vstack([encode_texts([t], None, max_length=32, batch_size=1) for t in texts])
    assert together == pytest.approx(alone, abs=1e-5)
    assert np.linalg.norm(together, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    cos = together @ together.T
    assert cos[1, 2] > cos[1, 0]  # two cable reviews are closer than cable vs strings


def test_embed_stage_writes_vectors_ids_and_runtime(tmp_path):
    import pandas as pd

    from reviewlab.core.artifacts import Catalogue
    from reviewlab.core.params import partial
    from reviewlab.stages import embed

    catalogue = Catalogue(tmp_path)
    reviews = pd.DataFrame(
        {"review_id": ["a", "b"], "title": ["Cable", ""], "text": ["Quiet cable.", "Loud amp."]}
    )
    catalogue.write_table(reviews, catalogue.reviews("shop"))
    cfg = {"dataset": "shop", "model_name_or_path": None, "max_length": 16, "batch_size": 2}
    result = embed.run(partial({"embed": cfg}), catalogue)
    assert result.report["rows"] == 2 and result.report["dim"] == 384
    assert catalogue.read_metric("shop", "embed_runtime") == result.report
    vectors = catalogue.load_embeddings("shop")
    assert vectors.index.tolist() == ["a", "b"]
    expected = encode_texts(["Cable. Quiet cable.", "Loud amp."], None, 16, 2)
    assert vectors.to_numpy() == pytest.approx(expected, abs=1e-6)
