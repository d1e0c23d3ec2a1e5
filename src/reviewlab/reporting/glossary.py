"""The index page's glossary: each term in one line, linked from where it first appears."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString


@dataclass(frozen=True)
class Term:
    name: str
    pattern: str  # a regex (case-insensitive) that finds the term in the page's text
    meaning: str

    @property
    def anchor(self) -> str:
        return "term-" + re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


TERMS = (
    Term("RMSE", r"\bRMSE\b", "root mean squared error of the predicted stars (lower is better)."),
    Term("95% CI", r"\b95% (?:bootstrap )?CIs?\b", "95% confidence interval from a bootstrap of "
         "the test rows (training seeds resampled as blocks where there are several)."),
    Term("QWK", r"\bQWK\b", "quadratic weighted kappa: agreement of predicted and true stars, far "
         "misses penalised more; 0 is chance, 1 perfect."),
    Term("macro-F1", r"\bmacro[-_ ]F1\b", "F1 averaged over the classes with equal weight, so a "
         "rare class counts as much as a common one."),
    Term("paired verdicts", r"\binconclusive\b", "better / worse: the CI excludes zero (Holm-"
         "adjusted); equivalent: the CI lies inside the ± margin; inconclusive: neither."),
    Term("Holm", r"\bHolm\b", "Holm's step-down correction for testing several comparisons at "
         "once."),
    Term("MDE", r"\bMDE\b|\bdetects a difference\b", "minimum detectable effect: the smallest "
         "difference a test finds with the stated power (80% unless said otherwise)."),
    Term("plain", r"\bplain\b", "the ablation grid's reference: the fine-tune on the grid budget "
         "with no added ingredient."),
    Term("FGM", r"\bFGM\b", "fast gradient method: adversarial training that perturbs the word "
         "embeddings along the loss gradient (Miyato et al., 2017)."),
    Term("PGD", r"\bPGD\b", "projected gradient descent: several small adversarial steps on the "
         "embeddings within a radius (Madry et al., 2018)."),
    Term("FreeLB", r"\bFreeLB\b", "free large-batch adversarial training: gradients accumulated "
         "over several embedding perturbations per step (Zhu et al., 2020)."),
    Term("R-Drop", r"\bR-?Drop\b", "regularisation that makes two dropout passes over the same "
         "review agree (Liang et al., 2021)."),
    Term("noise_25", r"\bnoise_\d+\b", "a copy of test rows with 25% of words dropped or "
         "misspelt (noise_10: 10%)."),
    Term("NDCG@10", r"\bNDCG@10\b", "normalised discounted cumulative gain of the top 10 "
         "recommendations: 1 when the held-out item ranks first, less the lower it ranks."),
    Term("ALS", r"\bALS\b", "alternating least squares: a matrix-factorisation recommender "
         "fitted to who reviewed what."),
    Term("head / tail users", r"\bhead users\b", "users whose held-out item is a popular (head) "
         "or a rarely reviewed (tail) item."),
    Term("tail share", r"\btail share\b", "share of recommended slots filled by tail items."),
    Term("coverage", r"\bcoverage\b", "share of the catalogue recommended to anyone."),
    Term("Spearman", r"\bSpearman\b", "rank correlation of two orderings, -1 to 1."),
    Term("silhouette", r"\bsilhouette\b|\bstructure\b", "how much closer users are to their own "
         "segment than to the next (-1 to 1; under 0.25: no substantial structure)."),
)  # fmt: skip

#: Where a term is not linked: inside a link already, a heading, a script or a style.
_SKIP = ("a", "h1", "h2", "h3", "script", "style", "title")


def link_terms(body: str, terms: tuple[Term, ...] = TERMS) -> str:
    """``body`` with the first occurrence of each term linked to its glossary line."""
    soup = BeautifulSoup(body, "html.parser")
    pending = list(terms)
    texts = [t for t in soup.find_all(string=True) if t.find_parent(_SKIP) is None]
    while texts and pending:
        text = texts.pop(0)
        found = [(m, t) for t in pending if (m := re.search(t.pattern, text, re.IGNORECASE))]
        if found:
            match, term = min(found, key=lambda pair: pair[0].start())
            pending.remove(term)
            texts.insert(0, _wrap(soup, text, match, term))  # the rest may hold another term
    return str(soup)


def _wrap(
    soup: BeautifulSoup, text: NavigableString, match: re.Match, term: Term
) -> NavigableString:
    """Replace ``text`` by its parts around ``match``, the match a link to ``term``; returns
    the part after the match."""
    link = soup.new_tag("a", href=f"#{term.anchor}", attrs={"class": "term"}, string=match.group(0))
    after = NavigableString(text[match.end() :])
    text.replace_with(NavigableString(text[: match.start()]), link, after)
    return after


def glossary_html(terms: tuple[Term, ...] = TERMS) -> str:
    """The glossary section: one line per term, each with its anchor."""
    items = "".join(
        f'<li id="{t.anchor}"><b>{html.escape(t.name)}</b>: {html.escape(t.meaning)}</li>'
        for t in terms
    )
    return f'<h2 id="glossary">Glossary</h2><ul class="glossary">{items}</ul>'
