"""Text augmentation of the training split with nlpaug (offline word/char operations).

Methods: ``delete`` / ``swap`` (random words), ``substitute`` (random words replaced by
frequent training-vocabulary words), ``typo`` (keyboard-distance character typos). Back-
translation needs translation models that cannot be loaded offline here, so it is not offered.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pandas as pd

from reviewlab.core.params import AugmentParams

METHODS = ("none", "delete", "swap", "substitute", "typo")


def augmenter(method: str, p: float, vocabulary: list[str] | None = None):
    """The nlpaug augmenter for ``method`` with probability ``p`` per word."""
    import nlpaug.augmenter.char as nac
    import nlpaug.augmenter.word as naw

    if method not in METHODS or method == "none":
        raise ValueError(f"augment.method '{method}' is not one of {METHODS[1:]}")
    if method == "typo":
        return nac.KeyboardAug(aug_word_p=p, aug_char_p=0.1, include_special_char=False)
    if method == "substitute":
        return naw.RandomWordAug(action="substitute", aug_p=p, target_words=vocabulary)
    return naw.RandomWordAug(action=method, aug_p=p)


def seeded_augment(texts: list[str], aug, seed: int) -> list[str]:
    """Augment every text; nlpaug draws from the global RNGs, so seed them first."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - nlpaug samples from numpy's global RNG
    out = []
    for text in texts:
        result = aug.augment(text) if text.strip() else [text]
        out.append(result[0] if isinstance(result, list) and result else text)
    return out


def augment_training(train: pd.DataFrame, cfg: AugmentParams, seed: int) -> pd.DataFrame:
    """The training rows plus ``cfg.copies`` augmented copies of their text (labels kept)."""
    if cfg.method == "none" or not cfg.copies:
        return train
    vocabulary = None
    if cfg.method == "substitute":
        counts = Counter(w for t in train["text"] for w in t.lower().split() if w.isalpha())
        vocabulary = [w for w, _ in counts.most_common(2000)]
    aug = augmenter(cfg.method, cfg.p, vocabulary)
    copies = [
        train.assign(text=seeded_augment(train["text"].tolist(), aug, seed + copy))
        for copy in range(1, cfg.copies + 1)
    ]
    return pd.concat([train, *copies], ignore_index=True)
