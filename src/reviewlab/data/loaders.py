"""Raw review files -> the canonical table (see :mod:`reviewlab.core.schema`), with quarantine.

Every dataset goes through one generic reader driven by an *adapter*: the file format plus a
mapping ``canonical column -> source field``. The two built-in adapters are presets; a new
dataset needs only a ``datasets.<name>`` block in ``params.yaml`` (and a file outside the
DVC-tracked ``data/`` folder, see docs/data.md)::

    my_shop:
      adapter: generic
      path: data-local/my_shop.csv    # .csv, .jsonl, .json.gz or .csv.gz
      columns: {text: body, rating: stars, item_id: sku, user_id: customer}
      keep: {country: Country}        # extra columns to carry along (optional)
      rating_scale: {min: 0, max: 10} # optional: ratings not on 1-5 stars (or `rating_map`)
      max_quarantine_rate: 0.2        # optional: fail when more rows are quarantined

Source fields may address nested JSON with dots (``helpful.0`` is the first element of the
list ``helpful``). Only the mapped (``columns``) and kept (``keep``) fields are read: the other
fields of a record never decide its fate.

The contract, per row (a row that breaks it is quarantined with a reason from
:data:`~reviewlab.core.schema.QUARANTINE_REASONS`, never dropped silently):

- ``text`` and ``title`` are strings (JSON: a list, object, number or boolean is ``wrong_type``);
- ids (``review_id``, ``user_id``, ``item_id``) are **strings**: a JSON integer is taken as its
  decimal text, so ``2`` and ``"2"`` are the same id (a duplicate); other JSON types are
  ``wrong_type``; ``review_id``, when mapped, must be non-empty (``missing_review_id``), when
  not mapped it is ``<dataset>-<line>``;
- ``rating`` is a number or numeric text (not a boolean) from 1 to 5, or on the declared
  ``rating_scale`` (mapped linearly onto 1-5, nearest star, halves up) or a key of
  ``rating_map`` (source value as text -> stars);
- ``timestamp`` (unix seconds or a date) and the vote counts (non-negative integers; ``"1,341"``
  with thousands separators is 1341) are optional: a value that does not parse becomes null,
  is counted per field in ``optional_nulled`` and never decides a row's fate, unless the
  dataset block sets ``strict_optional: true`` (then the row is quarantined as ``bad_value``);
- a text of only whitespace and invisible format characters (U+200B, U+FEFF, ...) is
  ``missing_text``; control characters (NUL, ...; not tab or newline) are removed from texts
  and titles and counted in ``control_characters_removed``.

A file that cannot be used at all raises :class:`DataLoadError`, whose first line names the
file, the line or field, what was expected and how to fix it: a missing file, a directory, an
unreadable (e.g. truncated gzip) file, an empty file, a mapped field that is in no record
(JSONL) or not in the header (CSV), or more than ``max_quarantine_rate`` of the rows
quarantined (default 0.2; the message lists the top reasons).

Blank lines are skipped and not counted: they hold no record, so ``rows_read`` counts records
(``rows_read = rows_loaded + rows_quarantined``), and ``source_row`` stays the line number in
the file, blank lines included. A UTF-8 byte-order mark at the start of the file is ignored.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.columns import CANONICAL_COLUMNS
from reviewlab.core.errors import Problem, ReviewlabError
from reviewlab.core.params import DatasetParams, ParamsError
from reviewlab.core.schema import QUARANTINE_REASONS, validate

ADAPTERS: dict[str, dict[str, Any]] = {
    "amazon_jsonl": {
        "format": "jsonl",
        "columns": {
            "user_id": "reviewerID",
            "item_id": "asin",
            "rating": "overall",
            "title": "summary",
            "text": "reviewText",
            "timestamp": "unixReviewTime",
            "helpful_votes": "helpful.0",
            "total_votes": "helpful.1",
        },
        "keep": {"reviewer_name": "reviewerName"},
    },
    "clothing_csv": {
        "format": "csv",
        "columns": {
            "review_id": "",  # the unnamed first column is the row index of the release
            "item_id": "Clothing ID",
            "rating": "Rating",
            "title": "Title",
            "text": "Review Text",
            "helpful_votes": "Positive Feedback Count",
        },
        "keep": {
            "age": "Age",
            "recommended": "Recommended IND",
            "division": "Division Name",
            "department": "Department Name",
            "class_name": "Class Name",
        },
    },
    "generic": {"columns": {}, "keep": {}},
}
REQUIRED = ("text", "rating")
EXAMPLES_PER_REASON = 3
#: Canonical columns by the JSON types they accept (``None`` is always accepted here).
TEXT_COLUMNS = ("title", "text")
ID_COLUMNS = ("review_id", "user_id", "item_id")
PARSED_COLUMNS = ("rating", "timestamp", "helpful_votes", "total_votes")
#: Optional fields: a value that does not parse becomes null (counted), never costs the review
OPTIONAL_COLUMNS = ("timestamp", "helpful_votes", "total_votes")
#: Control characters removed from texts and titles (tab, newline and carriage return stay)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LATEST = pd.Timestamp.max.tz_localize("UTC")  # the range a nanosecond timestamp can hold
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")  # "1,341": a count with thousands separators
_ABSENT = object()
_FIX_HINTS = {
    "unparsable_line": "check the file's format (datasets.{name}.format: csv or jsonl)",
    "non_utf8": "convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
    "missing_text": "check columns.text of datasets.{name}",
    "rating_non_numeric": "check columns.rating of datasets.{name}, or give a rating_map",
    "rating_out_of_range": (
        "declare the ratings' scale in datasets.{name}, e.g. rating_scale: {{min: 0, max: 10}}, "
        "or a rating_map"
    ),
    "bad_value": "check the timestamp / vote columns of datasets.{name}",
    "duplicate_review_id": "columns.review_id of datasets.{name} must identify one review",
    "missing_review_id": (
        "map a field every record has to review_id, or leave review_id out of columns "
        "(rows are then numbered <dataset>-<line>)"
    ),
    "wrong_type": (
        "map fields of the right type (text and title: strings; nested JSON fields with dots, "
        "e.g. body.text)"
    ),
}


class DataLoadError(ReviewlabError, ValueError):
    """A raw file that cannot be used at all; the first line names the file, the line or
    field, what was expected and how to fix it."""


@dataclass
class LoadResult:
    """Loaded rows, quarantined rows, and the counts that reconcile them."""

    reviews: pd.DataFrame
    quarantine: pd.DataFrame
    quality: dict[str, Any] = field(default_factory=dict)


def resolve_adapter(cfg: DatasetParams) -> dict[str, Any]:
    """Merge a ``datasets.<name>`` block over its adapter preset."""
    name = cfg.adapter
    if name not in ADAPTERS:
        raise ParamsError(f"unknown adapter '{name}' (allowed: {sorted(ADAPTERS)})")
    given = {k: v for k, v in cfg.model_dump().items() if v is not None}
    spec = {**ADAPTERS[name], **given}
    spec["columns"] = {**ADAPTERS[name]["columns"], **(cfg.columns or {})}
    spec["keep"] = {**ADAPTERS[name]["keep"], **(cfg.keep or {})}
    if "format" not in spec:
        suffixes = Path(spec["path"]).suffixes
        spec["format"] = "csv" if ".csv" in suffixes else "jsonl"
    missing = [c for c in REQUIRED if c not in spec["columns"]]
    if missing:
        raise ParamsError(
            f"adapter '{name}' maps no source field to required column(s) {missing}: "
            "add them to `columns`"
        )
    return spec


def _open_text_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        yield from handle


def _read_jsonl(
    path: Path, shown: str, name: str, wanted: dict[str, str]
) -> Iterator[tuple[int, dict | None, str | None, str]]:
    """Yield ``(line_no, record, reason, raw)``; reason is set when the line is unusable.

    Undecodable bytes are kept as surrogates (``surrogateescape``): a record is ``non_utf8``
    only when a field it maps or keeps holds them (or the line is not JSON at all). After the
    last line, a mapped field that no record has is an error naming the fields that exist.
    """
    line_no, found, fields, first = 0, set(), {}, True
    try:
        for line_no, line in enumerate(_open_text_lines(path), start=1):
            if line_no == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            if not line.strip():
                continue
            text = line.decode("utf-8", "surrogateescape")
            if first:  # a JSON array file starts with "["
                _reject_json_array(text, shown, line_no, name)
                first = False
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                if _has_surrogates(text):
                    yield line_no, None, "non_utf8", repr(line[:200])
                else:
                    yield line_no, None, "unparsable_line", f"{err.msg}: {text[:200]!r}"
                continue
            if not isinstance(record, dict):
                yield line_no, None, "unparsable_line", f"not a JSON object: {text[:200]!r}"
                continue
            fields.update(dict.fromkeys(record))
            found.update(s for s in wanted.values() if _lookup(record, s, _ABSENT) is not _ABSENT)
            yield line_no, record, None, ""
    except (OSError, EOFError) as err:
        raise DataLoadError(
            Problem(
                f"cannot read the file ({err}): it is damaged or truncated",
                shown,
                line_no + 1,
                fix=f"fetch it again (`dvc pull`) or fix datasets.{name}.path",
            )
        ) from err
    if fields:  # no parsed record at all: the quarantine rate tells
        for target, source in wanted.items():
            if source not in found:
                listed = [_safe(f) for f in list(fields)[:30]] + (
                    ["..."] if len(fields) > 30 else []
                )
                raise DataLoadError(
                    Problem(
                        f"field '{source}' (mapped to '{target}') is in no record",
                        shown,
                        expected=f"one of the records' fields {listed}",
                        fix=f"fix the mapping in datasets.{name}",
                    )
                )


def _reject_json_array(first: str, shown: str, line_no: int, name: str) -> None:
    """A JSON array file (``[{...}, {...}]``) given where JSON Lines is expected: say so,
    instead of quarantining the whole file as one unparsable line."""
    if not first.lstrip().startswith("["):
        return
    try:
        value = json.loads(first)
    except json.JSONDecodeError:
        value = None  # an array spread over several lines
    if value is None or any(isinstance(v, dict) for v in value):
        raise DataLoadError(
            Problem(
                "the file is a JSON array ([{...}, ...])",
                shown,
                line_no,
                expected="JSON Lines: one JSON object per line",
                fix=f"convert it, e.g. `jq -c '.[]' {Path(shown).name} > reviews.jsonl`, and "
                f"point datasets.{name}.path at the result",
            )
        )


def _has_surrogates(value: str) -> bool:
    """Undecodable bytes (``surrogateescape``) or a lone surrogate escaped in JSON."""
    return any("\ud800" <= ch <= "\udfff" for ch in value)


def _safe(value: Any) -> str:
    """``str(value)`` writable as UTF-8: undecodable bytes shown as ``\\xe9``."""
    text = str(value)
    if not _has_surrogates(text):
        return text
    return "".join(
        (f"\\x{ord(ch) - 0xDC00:02x}" if ch >= "\udc80" else f"\\u{ord(ch):04x}")
        if "\ud800" <= ch <= "\udfff"
        else ch
        for ch in text
    )


def _read_csv(
    path: Path, shown: str, name: str, wanted: dict[str, str]
) -> Iterator[tuple[int, dict | None, str | None, str]]:
    """Yield ``(start_line, record, reason, raw)`` for each CSV record after the header;
    first check the header (:func:`_check_header`)."""
    try:
        raw = b"".join(_open_text_lines(path))
    except (OSError, EOFError) as err:
        raise DataLoadError(
            Problem(
                f"cannot read the file ({err}): it is damaged or truncated",
                shown,
                fix=f"fetch it again (`dvc pull`) or fix datasets.{name}.path",
            )
        ) from err
    text = raw.decode("utf-8", "surrogateescape")
    if text.startswith("\ufeff"):  # a byte-order mark before a (possibly quoted) header
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
    except csv.Error as err:
        raise DataLoadError(Problem(f"cannot parse the header: {err}", shown, 1)) from err
    _check_header(header, shown, name, wanted)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DataLoadError(
                Problem(f"cannot parse CSV ({err})", shown, start, fix="fix that record")
            ) from err
        if row:
            if len(row) != len(header):
                detail = f"{len(row)} fields, header has {len(header)}: {str(row)[:200]}"
                yield start, None, "unparsable_line", _safe(detail)
            else:
                yield start, dict(zip(header, row, strict=True)), None, ""
        start = reader.line_num + 1


def _check_header(header: list[str], shown: str, name: str, wanted: dict[str, str]) -> None:
    """A CSV header names every mapped source column exactly once (clear error otherwise)."""
    if not "".join(header).strip():
        raise DataLoadError(
            Problem(
                "empty file",
                shown,
                1,
                expected=f"a header row naming the columns, e.g. {','.join(wanted.values())}",
            )
        )
    for target, source in wanted.items():
        if source not in header:
            raise DataLoadError(
                Problem(
                    f"column '{source}' (mapped to '{target}') is not in the header",
                    shown,
                    1,
                    expected=f"one of {[_safe(h) for h in header]}",
                    fix=f"fix the mapping in datasets.{name}",
                )
            )
        if header.count(source) > 1:
            raise DataLoadError(
                Problem(
                    f"column '{source}' (mapped to '{target}') appears "
                    f"{header.count(source)} times in the header",
                    shown,
                    1,
                    fix="rename one of them",
                )
            )


def _lookup(record: dict, source: str, default: Any = None) -> Any:
    """``record[source]``, following dots into nested dicts and lists; ``default`` when absent."""
    if source in record:
        return record[source]
    node: Any = record
    for part in source.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def _has_content(value: str) -> bool:
    """Whether a text holds a visible character, not only whitespace and invisible format
    characters (zero-width space U+200B, byte-order mark U+FEFF, ...)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in value)


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("str").str.strip() == "")


def _to_number(series: pd.Series) -> pd.Series:
    text = series.where(~_blank(series)).astype("object")
    return pd.to_numeric(text, errors="coerce")


def _to_timestamp(series: pd.Series) -> pd.Series:
    """Unix seconds (numbers or numeric text) and dates (text) to UTC timestamps; NaT where a
    value does not parse."""
    present = series.where(~_blank(series))
    numeric = pd.to_numeric(present.astype("object"), errors="coerce")
    stamps = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    dates = present.notna() & numeric.isna()
    if dates.any():
        parsed = pd.to_datetime(
            present[dates].astype("object"), utc=True, errors="coerce", format="mixed"
        )
        inside = parsed.between(pd.Timestamp.min.tz_localize("UTC"), _LATEST)  # "1;" is year 1
        stamps[dates] = parsed.where(inside).astype("datetime64[ns, UTC]")
    return stamps.astype("datetime64[ns, UTC]")


def _maybe_numeric(series: pd.Series) -> pd.Series:
    present = series[~_blank(series)]
    if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
        return series.where(~_blank(series)).astype("boolean")
    numbers = _to_number(series.where(~series.map(_is_bool)))
    if numbers.notna().sum() == (~_blank(series)).sum() and numbers.notna().any():
        return numbers
    return series.where(~_blank(series)).astype("str")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _type_ok(value: Any, column: str) -> bool:
    """Whether a raw (JSON or CSV) value has a type ``column`` accepts; ``None`` always does."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    if column in TEXT_COLUMNS:
        return isinstance(value, str)
    if column in ID_COLUMNS:
        return isinstance(value, str | int) and not _is_bool(value)
    if column in PARSED_COLUMNS:
        return isinstance(value, str | int | float) and not _is_bool(value)
    return not isinstance(value, list | dict)  # a kept column: any scalar


def _as_id(value: Any) -> Any:
    """A JSON integer id as its decimal text (ids are strings: ``2`` and ``"2"`` are one id)."""
    return str(value) if isinstance(value, int) and not _is_bool(value) else value


def load_reviews(
    cfg: DatasetParams, name: str, root: Path | None = None, seed: int = 0
) -> LoadResult:
    """Read one dataset into the canonical table; quarantine (never drop) bad rows.

    ``cfg`` is the ``datasets.<name>`` block; a relative ``cfg.path`` is resolved against
    ``root`` (the folder the calling stage passes). ``cfg.max_rows`` keeps a random subset of
    the valid rows, drawn with ``seed`` (tiny profiles). Raises :class:`DataLoadError` when
    the file cannot be used or more than ``cfg.max_quarantine_rate`` of its rows is
    quarantined.
    """
    spec = resolve_adapter(cfg)
    shown = spec["path"]  # messages name the path as written in params.yaml
    path = _review_file(shown, root, name)
    wanted = {**spec["columns"], **spec["keep"]}
    reader = _read_csv if spec["format"] == "csv" else _read_jsonl

    rows, bad = [], []
    for line_no, record, reason, raw in reader(path, shown, name, wanted):
        if reason:
            bad.append({"source_row": line_no, "reason": reason, "field": "", "value": raw})
            continue
        row = {target: _lookup(record, source) for target, source in wanted.items()}
        row["source_row"] = line_no
        rows.append(row)
    rows_read = len(rows) + len(bad)
    if rows_read == 0:
        holds = "a header and no rows" if spec["format"] == "csv" else "only blank lines"
        raise DataLoadError(Problem(f"no records found: the file holds {holds}", shown))

    table = pd.DataFrame(rows, columns=[*wanted, "source_row"], dtype=object)
    reviews, flagged, cleaned = _check_rows(table, name, spec, cfg.strict_optional)
    quarantine = pd.DataFrame(
        bad + flagged, columns=["source_row", "reason", "field", "value"]
    ).sort_values("source_row", kind="stable", ignore_index=True)
    reviews = _validated(reviews, shown)

    quality = quality_report(path, rows_read, reviews, quarantine, cleaned)
    _check_quarantine_rate(quality, quarantine, table, spec, shown, name)
    if cfg.max_rows and len(reviews) > cfg.max_rows:
        keep = reviews.sample(n=int(cfg.max_rows), random_state=int(seed))
        reviews = keep.sort_values("source_row", ignore_index=True)
        quality["rows_subsampled_to"] = len(reviews)
    return LoadResult(reviews, quarantine, quality)


def _review_file(shown: str, root: Path | None, name: str) -> Path:
    """The review file ``shown`` (as written in params.yaml), relative to ``root``; a clear
    error when it is a folder or missing."""
    path = Path(shown)
    if root is not None and not path.is_absolute():
        path = root / path
    if path.is_dir():
        raise DataLoadError(
            Problem(
                "is a directory",
                shown,
                expected="a review file: .csv or .jsonl, optionally .gz",
                fix=f"fix datasets.{name}.path",
            )
        )
    if not path.is_file():
        raise DataLoadError(
            Problem(
                f"file not found (datasets.{name}.path)",
                shown,
                fix="fix the path (relative to the project folder) or fetch the data (`dvc pull`)",
            )
        )
    return path


def _validated(reviews: pd.DataFrame, shown: str) -> pd.DataFrame:
    """The pandera contract; a failure (a loader bug: bad rows are quarantined before) names
    the file and the source lines instead of positions after filtering."""
    import pandera.errors

    try:
        return validate(reviews)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        lines = sorted(
            {int(reviews["source_row"].iloc[i]) for i in cases["index"].dropna().astype(int)}
        )
        checks = sorted({f"{c}: {k}" for c, k in zip(cases["column"], cases["check"], strict=True)})
        raise DataLoadError(
            Problem(
                f"rows on lines {lines[:10]} break the canonical contract "
                f"({'; '.join(checks[:5])})",
                shown,
                fix="please report this with the file",
            )
        ) from err


def _scaled_rating(raw: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """``(stars, present)``: stars 1-5 (NaN where invalid) and whether a rating was given.

    Without a declared scale the value itself must be 1-5; ``rating_scale`` maps
    ``[min, max]`` linearly onto 1-5 (nearest star, halves up); ``rating_map`` looks the
    value up by its text (an integral number by its integer text: ``10.0`` is ``"10"``).
    """
    usable = raw.where(raw.map(lambda v: _type_ok(v, "rating")))  # booleans, lists: not ratings
    present = ~_blank(usable)
    if spec.get("rating_map"):
        mapping = spec["rating_map"]

        def stars_of(value: Any) -> float:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return float(mapping.get(str(value).strip(), math.nan))

        return usable.where(present).map(stars_of, na_action="ignore").astype("float64"), present
    numbers = _to_number(usable)
    if spec.get("rating_scale"):
        low, high = spec["rating_scale"]["min"], spec["rating_scale"]["max"]
        inside = numbers.between(low, high)
        stars = np.floor(1 + 4 * (numbers - low) / (high - low) + 0.5 + 1e-9)
        return stars.where(inside), numbers.notna()
    return numbers.where(numbers.isin([1, 2, 3, 4, 5])), numbers.notna()


def _check_rows(
    table: pd.DataFrame, name: str, spec: dict[str, Any] | None = None, strict: bool = False
) -> tuple[pd.DataFrame, list[dict], pd.DataFrame]:
    """Coerce mapped columns to canonical types; return the valid rows, the flagged ones and
    what was cleaned in the valid ones (see :func:`_cleaned`).

    The first reason that applies wins, in this order: ``non_utf8``, ``wrong_type``,
    ``missing_review_id``, ``missing_text``, ``rating_non_numeric``, ``rating_out_of_range``,
    ``bad_value`` (only when ``strict``: ``strict_optional``), ``duplicate_review_id``.
    """
    spec = spec or {}
    flag = _Flags(table.index)
    table = _flag_encoding_and_types(table, flag)
    stripped = _strip_controls(table)
    out = _identity_and_text(table, name, spec, flag)
    unusable = _add_time_and_votes(out, table)
    if strict:
        for column, mask in unusable.items():
            flag(mask, "bad_value", column)
        unusable = {}
    out["source_row"] = table["source_row"].astype("int64")
    for column in table.columns:
        if column not in CANONICAL_COLUMNS:
            out[column] = _maybe_numeric(table[column])
    # a duplicate id only counts against rows that are otherwise valid: the first valid one stays
    valid_ids = out["review_id"].where(flag.reason.isna())
    flag(valid_ids.notna() & valid_ids.duplicated(keep="first"), "duplicate_review_id", "review_id")
    loaded = flag.reason.isna()
    cleaned = _cleaned(table, loaded, stripped, unusable)
    return out[loaded].reset_index(drop=True), flag.rows(table), cleaned


def _strip_controls(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Remove control characters (NUL, ...) from texts and titles in place; return, per
    column, which rows had any."""
    stripped = {}
    for column in TEXT_COLUMNS:
        if column in table:
            values = table[column]
            has = values.map(lambda v: isinstance(v, str) and bool(_CONTROL.search(v)))
            has = has.astype(bool)
            table.loc[has, column] = values[has].map(lambda v: _CONTROL.sub("", v))
            stripped[column] = has
    return stripped


def _cleaned(
    table: pd.DataFrame,
    loaded: pd.Series,
    stripped: dict[str, pd.Series],
    nulled: dict[str, pd.Series],
) -> pd.DataFrame:
    """One record per loaded row and field that was cleaned: ``control_characters_removed``
    (text, title) or ``optional_nulled`` (an optional value that did not parse, now null)."""
    rows = [
        {
            "source_row": int(table.at[i, "source_row"]),
            "field": column,
            "action": action,
            "value": _safe(table.at[i, column])[:200],
        }
        for action, masks in (("control_characters_removed", stripped), ("optional_nulled", nulled))
        for column, mask in masks.items()
        for i in mask.index[mask & loaded]
    ]
    return pd.DataFrame(rows, columns=["source_row", "field", "action", "value"])


class _Flags:
    """The first reason each row is quarantined for, and the field it names."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(None, index=index, dtype="object")
        self.field = pd.Series("", index=index, dtype="object")

    def __call__(self, mask: pd.Series, why: str, column: str) -> None:
        new = mask & self.reason.isna()
        self.reason[new] = why
        self.field[new] = column

    def rows(self, table: pd.DataFrame) -> list[dict]:
        """One record per flagged row: source row, reason, field and (the start of) its value."""
        return [
            {
                "source_row": int(table.at[i, "source_row"]),
                "reason": self.reason[i],
                "field": self.field[i],
                "value": _safe(table.at[i, self.field[i]])[:200] if self.field[i] in table else "",
            }
            for i in self.reason.index[self.reason.notna()]
        ]


def _flag_encoding_and_types(table: pd.DataFrame, flag: _Flags) -> pd.DataFrame:
    """Flag undecodable text (kept, shown as escapes) and values of the wrong type."""
    columns = [c for c in table.columns if c != "source_row"]
    table = table.copy()
    for column in columns:
        bad = pd.Series(
            [isinstance(v, str) and _has_surrogates(v) for v in table[column]],
            index=table.index,
            dtype=bool,
        )
        flag(bad, "non_utf8", column)
        if bad.any():  # flagged: from here on shown as escapes (\xe9), valid text
            table.loc[bad, column] = table.loc[bad, column].map(_safe)
    for column in columns:
        if column not in PARSED_COLUMNS:  # a bad rating / timestamp / vote has its own reason
            bad = [not _type_ok(v, column) for v in table[column]]
            flag(pd.Series(bad, index=table.index, dtype=bool), "wrong_type", column)
    return table


def _identity_and_text(
    table: pd.DataFrame, name: str, spec: dict[str, Any], flag: _Flags
) -> pd.DataFrame:
    """The canonical review id, user, item, rating, title and text, flagging what is missing
    or out of range."""
    if "review_id" in table:
        ids = table["review_id"].map(_as_id)
        flag(_blank(ids), "missing_review_id", "review_id")
        review_id = ids.where(~_blank(ids), "").astype("str")
    else:
        review_id = name + "-" + table["source_row"].astype("str")
    text = table["text"] if "text" in table else pd.Series(None, index=table.index)
    no_content = text.map(lambda v: isinstance(v, str) and not _has_content(v)).astype(bool)
    flag(_blank(text) | no_content, "missing_text", "text")
    stars, given = _scaled_rating(table["rating"], spec)
    flag(~given, "rating_non_numeric", "rating")
    flag(stars.isna(), "rating_out_of_range", "rating")

    out = pd.DataFrame(index=table.index)
    out["review_id"] = review_id
    for column in ("user_id", "item_id"):
        values = (
            table[column].map(_as_id) if column in table else pd.Series(None, index=table.index)
        )
        out[column] = values.where(~_blank(values)).astype("str")
    out["rating"] = stars.where(stars.isin([1, 2, 3, 4, 5]), 0).astype("int64")  # bad: flagged
    out["title"] = table["title"].fillna("").astype("str") if "title" in table else ""
    out["text"] = text.astype("str")
    return out


def _add_time_and_votes(out: pd.DataFrame, table: pd.DataFrame) -> dict[str, pd.Series]:
    """The timestamp and the helpfulness votes (null where a value does not parse); return,
    per optional column, the rows whose value was given but unusable."""
    unusable = {}
    if "timestamp" in table:
        raw = table["timestamp"]
        wrong = ~raw.map(lambda v: _type_ok(v, "timestamp"))
        stamps = _to_timestamp(raw.where(~wrong))
        unusable["timestamp"] = (stamps.isna() & ~_blank(raw)) | wrong
        out["timestamp"] = stamps.where(~unusable["timestamp"])
    else:
        out["timestamp"] = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns, UTC]")
    for column in ("helpful_votes", "total_votes"):
        values = table[column] if column in table else pd.Series(None, index=table.index)
        wrong = ~values.map(lambda v, c=column: _type_ok(v, c))
        numbers = _to_number(values.where(~wrong).map(_without_separators))
        invalid = wrong | (numbers.isna() & ~_blank(values)) | (numbers < 0) | (numbers.mod(1) > 0)
        invalid |= numbers >= 2**53  # beyond exact integers: no vote count
        if column in table:
            unusable[column] = invalid
        out[column] = numbers.where(~invalid).astype("Int64")
    return unusable


def _without_separators(value: Any) -> Any:
    """``"1,341"`` (thousands separators, as in Amazon's 2018 files) -> ``"1341"``."""
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        return value.replace(",", "")
    return value


def _check_quarantine_rate(
    quality: dict[str, Any],
    quarantine: pd.DataFrame,
    table: pd.DataFrame,
    spec: dict[str, Any],
    shown: str,
    name: str,
) -> None:
    """Fail when more than ``max_quarantine_rate`` of the rows is quarantined (a wrong
    mapping or scale, not a few bad rows), naming the top reasons with an example each."""
    limit = spec.get(
        "max_quarantine_rate", DatasetParams.model_fields["max_quarantine_rate"].default
    )
    if quality["rows_quarantined"] <= limit * quality["rows_read"]:
        return
    top = [(r, n) for r, n in quality["by_reason"].items() if n]
    top.sort(key=lambda item: -item[1])
    parts = []
    for why, count in top[:3]:
        first = quarantine[quarantine["reason"] == why].iloc[0]
        where = f"line {first['source_row']}"
        value = f"{first['field']} {first['value']!r}" if first["field"] else first["value"][:60]
        parts.append(f"{why} {count:,} (e.g. {where}: {value})")
    hint = _FIX_HINTS.get(top[0][0], "check datasets.{name}").format(name=name)
    if top[0][0] == "rating_out_of_range":
        ratings = table["rating"]
        numbers = _to_number(ratings.where(ratings.map(lambda v: _type_ok(v, "rating"))))
        hint = f"ratings span {numbers.min():g} to {numbers.max():g}: {hint}"
    raise DataLoadError(
        Problem(
            f"{quality['rows_quarantined']:,} of {quality['rows_read']:,} rows "
            f"({quality['quarantine_rate']:.0%}) quarantined: {'; '.join(parts)}",
            shown,
            expected=f"at most datasets.{name}.max_quarantine_rate = {limit}",
            fix=f"{hint}; or raise max_quarantine_rate",
        )
    )


def quality_report(
    path: Path,
    rows_read: int,
    reviews: pd.DataFrame,
    quarantine: pd.DataFrame,
    cleaned: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Counts per quarantine reason with a few examples (``read = loaded + quarantined``),
    and what was cleaned in loaded rows: optional values nulled (per field, with examples)
    and texts or titles with control characters removed."""
    counts = quarantine["reason"].value_counts()
    examples = {
        reason: group.head(EXAMPLES_PER_REASON).to_dict(orient="records")
        for reason, group in quarantine.groupby("reason", sort=True)
    }
    if cleaned is None:
        cleaned = pd.DataFrame(columns=["source_row", "field", "action", "value"])
    nulled = cleaned[cleaned["action"] == "optional_nulled"]
    stripped = cleaned[cleaned["action"] == "control_characters_removed"]
    return {
        "file": path.name,
        "rows_read": int(rows_read),
        "rows_loaded": int(len(reviews)),
        "rows_quarantined": int(len(quarantine)),
        "quarantine_rate": round(len(quarantine) / rows_read, 6),
        "by_reason": {r: int(counts.get(r, 0)) for r in QUARANTINE_REASONS},
        "examples": {
            r: [{k: _plain(v) for k, v in e.items()} for e in ex] for r, ex in examples.items()
        },
        "optional_nulled": {c: int((nulled["field"] == c).sum()) for c in OPTIONAL_COLUMNS},
        "optional_nulled_examples": {
            column: group[["source_row", "value"]].head(EXAMPLES_PER_REASON).to_dict("records")
            for column, group in nulled.groupby("field", sort=True)
        },
        "control_characters_removed": {
            c: int((stripped["field"] == c).sum()) for c in TEXT_COLUMNS
        },
        "n_users": int(reviews["user_id"].nunique()),
        "n_items": int(reviews["item_id"].nunique()),
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
