"""Text cleaning and hand-crafted text features (lengths, punctuation, VADER sentiment)."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_URL = re.compile(r"https?://\S+|www\.\S+")
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


def clean(text: str) -> str:
    """Unescape HTML, drop tags and URLs, collapse whitespace. Case is kept."""
    text = _TAG.sub(" ", html.unescape(text))
    text = _URL.sub(" URL ", text)
    return _SPACE.sub(" ", text).strip()


def document(title: pd.Series, text: pd.Series) -> pd.Series:
    """The model input: cleaned ``title. text`` (title omitted when empty)."""
    titles = title.fillna("").map(clean)
    bodies = text.fillna("").map(clean)
    return (titles + ". " + bodies).where(titles != "", bodies)


def text_stats(docs: pd.Series) -> pd.DataFrame:
    """Length and punctuation statistics of each document."""
    letters = docs.str.count(r"[A-Za-z]").clip(lower=1)
    return pd.DataFrame(
        {
            "n_chars": docs.str.len(),
            "n_words": docs.str.split().str.len(),
            "n_sentences": docs.map(lambda d: max(1, len(_SENTENCE_END.findall(d)))),
            "n_exclamations": docs.str.count("!"),
            "n_questions": docs.str.count(r"\?"),
            "upper_ratio": docs.str.count(r"[A-Z]") / letters,
            "digit_ratio": docs.str.count(r"\d") / docs.str.len().clip(lower=1),
        },
        index=docs.index,
    ).astype("float64")


def vader_scores(docs: pd.Series) -> pd.DataFrame:
    """VADER lexicon sentiment (neg, neu, pos, compound) of each document."""
    analyzer = SentimentIntensityAnalyzer()
    scores = [analyzer.polarity_scores(d) for d in docs]
    frame = pd.DataFrame(scores, index=docs.index, columns=["neg", "neu", "pos", "compound"])
    return frame.add_prefix("vader_").astype("float64")


def helpfulness(helpful: pd.Series, total: pd.Series) -> pd.DataFrame:
    """Helpful votes, total votes and their ratio (NaN where unknown or no votes)."""
    helpful = helpful.astype("float64")
    total = total.astype("float64")
    ratio = np.where(total > 0, helpful / total.where(total > 0), np.nan)
    return pd.DataFrame(
        {"helpful_votes": helpful, "total_votes": total, "helpful_ratio": ratio},
        index=helpful.index,
    )
