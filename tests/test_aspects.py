"""Aspect mining: opinion-free aspects, sentence-level mentions, agreement, pros and cons."""

from __future__ import annotations

import pandas as pd

from reviewlab.core.params import OpinionParams
from reviewlab.studies import aspects


def _reviews():
    docs = [
        "The fabric is lovely. The zipper broke after one wash.",
        "Great fabric and a nice color. Zipper works.",
        "The zipper is terrible and cheap. Fabric is fine.",
        "I hate the zipper. Awful fabric.",
    ]
    return pd.DataFrame(
        {
            "review_id": list("abcd"),
            "item_id": ["p1", "p1", "p1", "p2"],
            "rating": [4, 5, 2, 1],
            "doc": docs,
            "department": ["Tops"] * 4,
        }
    )


def test_extracted_aspects_carry_no_sentiment_words():
    docs = ["The zipper on this dress is great. The zipper and the fabric are lovely."] * 30
    cfg = OpinionParams(
        dataset="clothing",
        category="department",
        per_category=5,
        candidates=20,
        max_docs=100,
        products=1,
        min_mentions=1,
        con_share=0.2,
        exclude=["fabric"],
    )
    found = aspects.extract_aspects(docs, cfg, aspects.vader_lexicon())
    assert "zipper" in found and "fabric" not in found
    assert not any(word in aspects.vader_lexicon() for a in found for word in a.split())


def test_mentions_are_per_sentence_with_that_sentence_sentiment():
    found = aspects.mentions(_reviews(), {"Tops": ["zipper", "fabric"]}, "department")
    first = found[found["review_id"] == "a"].set_index("aspect")
    assert first.loc["fabric", "sentiment"] > 0 > first.loc["zipper", "sentiment"]
    assert len(found) == 8  # every review mentions both aspects once


def test_agreement_and_pros_and_cons():
    found = aspects.mentions(_reviews(), {"Tops": ["zipper", "fabric"]}, "department")
    check = aspects.agreement(found)
    assert check["review_aspect_pairs"] == 8
    assert check["mean_stars_praised"] > check["mean_stars_criticised"]
    table = aspects.pros_and_cons(found, "p1", min_mentions=3, n=5)
    assert table.loc["fabric", "verdict"] == "pro" and table.loc["fabric", "mentions"] == 3
    assert table.loc["zipper", "verdict"] == "con"  # 2 of 3 zipper mentions are negative
