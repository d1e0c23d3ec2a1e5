"""Aspect-level opinion mining: aspect terms per product category, their sentiment, and
per-product pros and cons.

Aspects are the YAKE keyphrases (1-2 words) of each category's training reviews without a
sentiment word (VADER lexicon) or stopword. A mention is a sentence containing an aspect, scored
by its VADER compound. The check the data allows: on test reviews, mention sentiment should
rise with the stars (Spearman), and praised aspects should come with more stars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from reviewlab.core.params import OpinionParams
from reviewlab.studies.terms import STOP_WORDS

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text``."""
    return [s for s in _SENTENCE.split(text) if s.strip()]


def extract_aspects(docs: list[str], cfg: OpinionParams, lexicon: set[str]) -> list[str]:
    """Top ``cfg.per_category`` YAKE keyphrases of ``docs`` without a word of ``lexicon``, a
    stopword or a word of ``cfg.exclude``."""
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=2, dedupLim=0.7, top=cfg.candidates)
    excluded = lexicon | STOP_WORDS | set(cfg.exclude)
    aspects: list[str] = []
    for phrase, _ in extractor.extract_keywords("\n".join(docs)):
        if any(w in excluded or not w.isalpha() for w in phrase.lower().split()):
            continue
        if phrase.lower() not in aspects:
            aspects.append(phrase.lower())
        if len(aspects) == cfg.per_category:
            break
    return aspects


def mentions(reviews: pd.DataFrame, aspects: dict[str, list[str]], category: str) -> pd.DataFrame:
    """One row per (review, aspect, sentence) where a review mentions one of its category's
    aspects, with the sentence's VADER compound score."""
    analyzer = SentimentIntensityAnalyzer()
    patterns = {
        c: [(a, re.compile(rf"\b{re.escape(a)}\b", re.IGNORECASE)) for a in terms]
        for c, terms in aspects.items()
    }
    columns = ["review_id", "item_id", "category", "rating", "aspect", "sentence", "sentiment"]
    rows = []
    for review in reviews.itertuples(index=False):
        value = getattr(review, category)
        for sentence in sentences(review.doc) if value in patterns else []:
            for aspect, pattern in patterns[value]:
                if pattern.search(sentence):
                    score = analyzer.polarity_scores(sentence)["compound"]
                    ids = (review.review_id, review.item_id, value, review.rating)
                    rows.append((*ids, aspect, sentence, score))
    return pd.DataFrame(rows, columns=columns)


def agreement(found: pd.DataFrame) -> dict[str, Any]:
    """How aspect sentiment agrees with stars: Spearman over (review, aspect) pairs and over
    (item, aspect) pairs with at least 3 mentions; mean stars of praising vs criticising."""
    pairs = found.groupby(["review_id", "aspect"]).agg(
        sentiment=("sentiment", "mean"), rating=("rating", "first"), item=("item_id", "first")
    )
    items = pairs.groupby(["item", "aspect"]).agg(
        sentiment=("sentiment", "mean"), rating=("rating", "mean"), n=("rating", "size")
    )
    items = items[items["n"] >= 3]
    praise, criticism = pairs[pairs["sentiment"] >= 0.05], pairs[pairs["sentiment"] <= -0.05]
    return {
        "review_aspect_pairs": int(len(pairs)),
        "spearman_review_aspect": _spearman(pairs),
        "item_aspect_pairs": int(len(items)),
        "spearman_item_aspect": _spearman(items),
        "mean_stars_praised": round(float(praise["rating"].mean()), 4),
        "mean_stars_criticised": round(float(criticism["rating"].mean()), 4),
    }


def _spearman(frame: pd.DataFrame) -> float:
    if len(frame) < 3:
        return float("nan")
    return round(float(spearmanr(frame["sentiment"], frame["rating"]).statistic), 4)


def pros_and_cons(
    found: pd.DataFrame, item: Any, min_mentions: int, n: int, con_share: float = 0.2
) -> pd.DataFrame:
    """An item's aspects with at least ``min_mentions`` mentions: mean mention sentiment and
    the shares of positive and negative mentions. Cons: the ``n`` aspects with the largest
    negative share, at least ``con_share``; pros: the ``n`` others with the highest mean."""
    rows = found[found["item_id"] == item]
    table = rows.groupby("aspect").agg(
        mentions=("sentiment", "size"),
        sentiment=("sentiment", "mean"),
        positive=("sentiment", lambda s: float(np.mean(s >= 0.05))),
        negative=("sentiment", lambda s: float(np.mean(s <= -0.05))),
    )
    table = table[table["mentions"] >= min_mentions]
    cons = table[table["negative"] >= con_share].sort_values("negative", ascending=False).head(n)
    pros = table.drop(cons.index)
    pros = pros[pros["sentiment"] >= 0.05].sort_values("sentiment", ascending=False).head(n)
    return pd.concat([pros.assign(verdict="pro"), cons.assign(verdict="con")])


def vader_lexicon() -> set[str]:
    """The words of the VADER sentiment lexicon."""
    return set(SentimentIntensityAnalyzer().lexicon)


@dataclass
class Opinions:
    """Aspects per category, every mention, the agreement with stars on test reviews, pros and
    cons of the most-reviewed products, and ``opinions.json``'s payload."""

    aspects: dict[Any, list[str]]
    mentions: pd.DataFrame
    agreement: dict[str, Any]
    products: dict[Any, pd.DataFrame]
    metrics: dict[str, Any]


def study(table: pd.DataFrame, canonical: pd.DataFrame, cfg: OpinionParams, seed: int) -> Opinions:
    """Aspects per category (training reviews of the features ``table``; the category column
    comes from the ``canonical`` table), mentions, agreement with stars (test reviews), pros
    and cons of the most-reviewed products."""
    dataset, category = cfg.dataset, cfg.category
    canonical = canonical.set_index("review_id")
    if category not in canonical:
        raise KeyError(f"opinions.category: '{category}' is not a column of {dataset}")
    reviews = table[["review_id", "split", "item_id", "rating", "doc"]].assign(
        **{category: table["review_id"].map(canonical[category])}
    )
    reviews = reviews.dropna(subset=[category])
    lexicon = vader_lexicon()
    train = reviews[reviews["split"] == "train"]
    aspects = {}
    for value, rows in train.groupby(category):
        sample = rows.sample(n=min(len(rows), cfg.max_docs), random_state=seed)
        aspects[value] = extract_aspects(sample["doc"].tolist(), cfg, lexicon)
    found = mentions(reviews, aspects, category)
    test = found[found["review_id"].isin(reviews.loc[reviews["split"] == "test", "review_id"])]
    check = agreement(test)
    top = reviews["item_id"].value_counts().head(cfg.products).index
    products = {
        item: pros_and_cons(found, item, cfg.min_mentions, 5, cfg.con_share).round(3)
        for item in top
    }
    metrics = {
        "dataset": dataset,
        "category": category,
        "aspects": aspects,
        "mentions": int(len(found)),
        "test_agreement": check,
        "products": {str(k): v.reset_index().to_dict("records") for k, v in products.items()},
    }
    return Opinions(aspects, found, check, products, metrics)


def examples(found: pd.DataFrame, item: Any, n: int) -> pd.DataFrame:
    """The ``n`` most positive and ``n`` most negative mention sentences of an item."""
    rows = found[found["item_id"] == item].sort_values("sentiment")
    picked = pd.concat([rows.tail(n)[::-1], rows.head(n)]).drop_duplicates()
    return picked[["aspect", "sentiment", "rating", "sentence"]]
