"""Words at render time: the Jinja2 templates that phrase a report's numbers.

Python computes a report's *facts* (numbers, names, verdicts: a plain dict that tests check);
a template in ``reporting/templates/<name>.md.j2`` phrases them. Each template defines two
macros: ``summary()``, a Markdown bullet list (a bullet may wrap over several lines), and
``conclusion()``, one paragraph; ``notes()`` (caveats under the conclusion) and
``limitations()`` (the page's Limitations block, a bullet list) are optional, and a
template read by :func:`sentences` alone needs only ``summary()``. Templates whose name starts
with ``_`` hold macros that others import.
Undefined facts raise (``StrictUndefined``), so a template never prints a blank.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from reviewlab.core.formatting import MISSING, with_ci
from reviewlab.reporting.page import Findings


def plural(n: float, one: str, many: str | None = None) -> str:
    """The word that agrees with ``n``: ``one`` for exactly 1, else ``many`` (default: ``one``
    + ``s``); ``3 | plural("has", "have")``. Every template's number agreement goes through it."""
    return one if n == 1 else (many or f"{one}s")


def count(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 review`` / ``3 reviews`` (thousands separated; ``nouns``: an irregular plural)."""
    return f"{n:,} {plural(n, noun, nouns)}"


def names(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def number(value: float, digits: int = 3, sign: bool = False) -> str:
    """A float with ``digits`` decimals (``+`` for differences with ``sign``); ``-`` for NaN."""
    if value is None or not math.isfinite(value):
        return MISSING
    return format(value, f"{'+' if sign else ''},.{digits}f")


def decimals(values: list[float | None], digits: int = 3, most: int = 6) -> int:
    """The fewest decimals (at least ``digits``, at most ``most``) at which no nonzero value
    rounds to zero, so that a CI bound's sign stays visible (``[-0.0004, +0.007]``)."""
    shown = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    for places in range(digits, most):
        if all(round(v, places) != 0 for v in shown):
            return places
    return most


def ci(values: list[float | None], digits: int = 3, sign: bool = False) -> str:
    """``value [low, high]`` with :func:`decimals` places: a bound near zero keeps its sign."""
    return with_ci(*values, digits=decimals(list(values), digits), sign=sign)


def share(value: float, digits: int = 0) -> str:
    """``0.1234`` -> ``12%`` (``digits`` decimals)."""
    return format(value, f".{digits}%")


def strength(rho: float) -> str:
    """A correlation's size in words (Cohen 1988: 0.1 small, 0.3 medium, 0.5 large)."""
    size = abs(rho)
    if size < 0.1:
        return "negligibly"
    if size < 0.3:
        return "weakly"
    return "moderately" if size < 0.5 else "strongly"


def structure(silhouette: float) -> str:
    """Kaufman & Rousseeuw's (1990) reading of an average silhouette width."""
    if silhouette > 0.7:
        return "strong structure"
    if silhouette > 0.5:
        return "reasonable structure"
    if silhouette > 0.25:
        return "weak structure"
    return "no substantial structure (segments overlap; read them as tendencies)"


ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("reviewlab.reporting"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    autoescape=False,  # Markdown, rendered to HTML by the notebook (escaped there)
)
ENV.filters.update(
    count=count,
    plural=plural,
    names=names,
    number=number,
    share=share,
    strength=strength,
    structure=structure,
    ci=ci,
    metric_ci=lambda entry, metric, digits=3: ci(
        [entry.get(metric), entry.get(f"{metric}_low"), entry.get(f"{metric}_high")], digits
    ),
    thousands=lambda n: f"{n:,}",
)


def bullets(markdown: str) -> list[str]:
    """The items of a Markdown bullet list, each wrapped item joined onto one line (runs of
    whitespace become one space)."""
    items: list[str] = []
    for line in markdown.splitlines():
        text = line.strip()
        if text.startswith("- "):
            items.append(text[2:])
        elif text and items:
            items[-1] += " " + text
    return [" ".join(item.split()) for item in items]


def findings(template: str, facts: dict[str, Any]) -> Findings:
    """The :class:`Findings` of ``facts`` phrased by ``templates/<template>.md.j2``."""
    module = ENV.get_template(f"{template}.md.j2").make_module(facts)
    notes = bullets(str(module.notes())) if hasattr(module, "notes") else []
    limits = bullets(str(module.limitations())) if hasattr(module, "limitations") else []
    conclusion = " ".join(str(module.conclusion()).split())
    return Findings(bullets(str(module.summary())), conclusion, notes, limits)


def sentences(template: str, facts: dict[str, Any]) -> list[str]:
    """The bullets of a template's ``summary()`` alone (index and README lists)."""
    return bullets(macro(template, facts, "summary"))


# ---- other macros: README and index lists, one-line notes (rating-model reports)


def macro(template: str, facts: dict[str, Any], name: str) -> str:
    """The text of macro ``name`` of ``templates/<template>.md.j2`` phrasing ``facts``."""
    return str(getattr(ENV.get_template(f"{template}.md.j2").make_module(facts), name)())


def line(template: str, facts: dict[str, Any], name: str) -> str:
    """Macro ``name`` as one line (its whitespace runs collapsed)."""
    return " ".join(macro(template, facts, name).split())
