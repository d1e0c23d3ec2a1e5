"""Seeded, dictionary-free text noise for robustness evaluation.

Each word is independently hit with probability ``level``: half of the hits drop the word,
the other half get a character typo (two adjacent letters swapped, or a letter replaced by a
neighbour on a QWERTY keyboard). Works offline, needs no synonyms, and is reproducible
row by row: the noise of a review depends only on ``(seed, row_key)``, not on row order.
"""

from __future__ import annotations

import zlib

import numpy as np

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    ch: "".join(
        _ROWS[r2][c2]
        for r2 in (r - 1, r, r + 1)
        for c2 in (c - 1, c, c + 1)
        if 0 <= r2 < 3 and 0 <= c2 < len(_ROWS[r2]) and (r2, c2) != (r, c)
    )
    for r, row in enumerate(_ROWS)
    for c, ch in enumerate(row)
}


def typo(word: str, rng: np.random.Generator) -> str:
    """``word`` with one adjacent-letter swap or one keyboard-neighbour substitution."""
    letters = [i for i, ch in enumerate(word) if ch.lower() in _NEIGHBOURS]
    if not letters:
        return word
    if len(word) > 1 and rng.random() < 0.5:
        i = int(rng.integers(0, len(word) - 1))
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    i = letters[int(rng.integers(0, len(letters)))]
    options = _NEIGHBOURS[word[i].lower()]
    new = options[int(rng.integers(0, len(options)))]
    return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]


def perturb(text: str, level: float, rng: np.random.Generator) -> str:
    """Drop or misspell each word of ``text`` with probability ``level`` (one word always kept)."""
    if not 0 <= level <= 1:
        raise ValueError(f"noise level must be in [0, 1], got {level}")
    words = text.split()
    out = []
    for word in words:
        hit = rng.random() < level
        if hit and rng.random() < 0.5:
            continue
        out.append(typo(word, rng) if hit else word)
    if words and not out:
        out = [words[int(rng.integers(0, len(words)))]]
    return " ".join(out)


def perturb_texts(texts: list[str], keys: list[str], level: float, seed: int) -> list[str]:
    """:func:`perturb` each text with a generator seeded by ``(seed, crc32(key))``."""
    return [
        perturb(text, level, np.random.default_rng([seed, zlib.crc32(str(key).encode())]))
        for text, key in zip(texts, keys, strict=True)
    ]
