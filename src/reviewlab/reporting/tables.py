"""Every table of a report in one style: :func:`show` (a pandas Styler, rendered to HTML).

Integers print as integers, floats with a fixed number of decimals per column, confidence
intervals on one line, text left-aligned and wrapped between words, no index artefacts (a
meaningful index becomes ordinary columns, a 0..n row number is dropped), missing values as
"-" with a note under the table, and each table sits in a box that scrolls sideways rather
than widening the page. The look itself is ``table.frame`` in :data:`reporting.page.CSS`.
"""

from __future__ import annotations

import hashlib
import numbers
import re
import textwrap
from collections.abc import Callable
from typing import Any

import pandas as pd
from IPython.display import HTML
from pandas.io.formats.style import Styler

from reviewlab.core.formatting import MISSING

#: A confidence interval in a cell: ``0.912 [0.880, 0.940]``.
CI = re.compile(r"\[[^\]]*,[^\]]*\]")
#: A cell that reads as a number: ``-0.3``, ``+0.012 [...]``, ``1,204``, ``0.46 ± 0.02``.
NUMBERISH = re.compile(r"[-+−]?\d")
#: Words written in capitals in headers, whatever case the column name has.
ACRONYMS = {
    w.lower(): w for w in ("RMSE", "MAE", "QWK", "MDE", "NDCG", "F1", "AUC", "ROC", "CI", "ALS")
}
#: Integer columns printed without thousands separators (identifiers, not quantities).
IDENTIFIER = re.compile(r"(?i)(^|[ _])(id|seed|year)$")


def show(
    frame: pd.DataFrame | pd.Series,
    *,
    digits: int | dict[str, int] = 3,
    missing: str = "no value",
    caption: str | None = None,
    chars: int | None = None,
) -> HTML:
    """``frame`` as a report table. ``digits``: decimals of float columns (one number, or per
    column name with 3 for the rest); ``missing``: what a "-" cell means (the note under the
    table, shown when one is); ``chars``: long text shortened to at most this many characters
    at a word boundary."""
    table = tidy(frame.to_frame() if isinstance(frame, pd.Series) else frame)
    places = {header(k): v for k, v in digits.items()} if isinstance(digits, dict) else {}
    default = 3 if isinstance(digits, dict) else digits
    styler = Styler(table, uuid=_digest(table, caption), cell_ids=False)
    styler.hide(axis="index").set_table_attributes('class="frame"')
    styler.format_index(escape="html", axis="columns")
    styler.set_td_classes(table.map(lambda v: "ci" if isinstance(v, str) and CI.search(v) else ""))
    for column in table.columns:
        cells = table[column]
        formatter = _formatter(cells, places.get(column, default), column, chars)
        styler.format(formatter, subset=[column], na_rep=MISSING, escape="html")
        styler.set_table_styles({column: [_style(cells)]}, overwrite=False)
    if caption:
        styler.set_caption(caption)
    note = (
        f'<p class="table-note">{MISSING}: {missing}</p>' if table.isna().to_numpy().any() else ""
    )
    return HTML(f'<div class="table-scroll">{styler.to_html()}</div>{note}')


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its index as leading columns (dropped where it only numbers the rows),
    one header row (levels of a column MultiIndex joined) and readable column names."""
    table = frame.copy()
    if isinstance(table.columns, pd.MultiIndex):
        table.columns = [" ".join(str(p) for p in c if str(p)) for c in table.columns]
    table.columns.name = None
    numbers_rows = table.index.nlevels == 1 and table.index.name is None
    if numbers_rows and pd.api.types.is_integer_dtype(table.index):
        table = table.reset_index(drop=True)
    else:
        names = [n if n is not None else "" for n in table.index.names]
        table = table.rename_axis(names).reset_index()
    return table.rename(columns=header)


def header(name: Any) -> str:
    """A column name for a reader: words for ``snake_case``, metric acronyms in capitals."""
    words = re.split(r"(\W+)", str(name).replace("_", " "))
    return "".join(ACRONYMS.get(w.lower(), w) for w in words)


def _formatter(cells: pd.Series, digits: int, name: str, chars: int | None) -> Callable:
    """How one column's values print (missing values are the Styler's ``na_rep``)."""
    if pd.api.types.is_bool_dtype(cells):
        return str
    numeric = pd.api.types.is_numeric_dtype(cells)
    whole = numeric and bool((cells.dropna() % 1 == 0).all())
    separator = "" if IDENTIFIER.search(name) else ","

    def cell(value: Any) -> str:
        if isinstance(value, bool | str):
            text = str(value)
            return textwrap.shorten(text, chars, placeholder=" …") if chars else text
        if isinstance(value, numbers.Integral) or (
            isinstance(value, numbers.Real) and (whole or not numeric) and float(value) % 1 == 0
        ):
            return format(int(value), separator)
        if isinstance(value, numbers.Real):
            return format(float(value), f"{separator}.{digits}f")
        return str(value)

    return cell


def _style(cells: pd.Series) -> dict[str, str]:
    """Per column: text left and wrapped (wider where it is prose); numbers and intervals right
    and on one line (the stylesheet's default)."""
    texts = cells.dropna().astype(str)
    if pd.api.types.is_numeric_dtype(cells) or texts.map(_numberish).all():
        return {"selector": "", "props": "text-align: right; white-space: nowrap;"}
    width = "24em" if texts.str.len().max() > 80 else "4em"
    return {"selector": "", "props": f"text-align: left; white-space: normal; min-width: {width};"}


def _numberish(text: str) -> bool:
    return bool(NUMBERISH.match(text)) or bool(CI.search(text))


def _digest(table: pd.DataFrame, caption: str | None) -> str:
    """A stable id for the table's CSS: its content's hash (the page stays the same on re-runs)."""
    content = table.to_csv().encode() + (caption or "").encode()
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()[:10]
