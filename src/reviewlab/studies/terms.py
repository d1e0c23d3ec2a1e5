"""Which words a term list may show: scikit-learn's English stop words (those of
``TfidfVectorizer(stop_words="english")``), the fragments its default tokenizer leaves of
contractions (``you're`` -> ``you``, ``re``), and a few quantity and person words that describe
no aspect of a product."""

from __future__ import annotations

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

#: What ``\b\w\w+\b`` keeps of "I've", "don't", "isn't", "we'll", ...
CONTRACTION_FRAGMENTS = frozenset(
    {"ve", "re", "ll", "don", "doesn", "didn", "isn", "wasn", "aren", "won", "wouldn", "couldn",
     "shouldn", "haven", "hasn", "hadn", "weren", "ain"}
)  # fmt: skip
#: Vague words: a review's "a bit", "a lot", "for a person" name no aspect.
VAGUE = frozenset({"bit", "lot", "lots", "person", "people", "thing", "things", "way", "just",
                   "really", "get", "got"})  # fmt: skip
STOP_WORDS = ENGLISH_STOP_WORDS | CONTRACTION_FRAGMENTS | VAGUE


def content_term(term: str) -> bool:
    """Whether no word of ``term`` (a word or an n-gram) is a stop word."""
    return not any(word in STOP_WORDS for word in term.lower().split())
