"""Raw review files -> the canonical table (:mod:`reviewlab.core.schema`), with quarantine.

One reader serves every dataset, driven by an adapter: the format (csv or jsonl, optionally
.gz) and a mapping ``canonical column -> source field`` (dots address nested JSON:
``helpful.0``). A row that breaks the contract is quarantined with a reason from
:data:`~reviewlab.core.schema.QUARANTINE_REASONS`, never dropped; a file that cannot be used
raises :class:`DataLoadError`. docs/data.md states the contract row by row.
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
from dataclasses import dataclass
from functools import partial
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
TEXT_COLUMNS = ("title", "text")
OPTIONAL_COLUMNS = ("timestamp", "helpful_votes", "total_votes")  # unparsable: nulled, counted
PARSED_COLUMNS = ("rating", *OPTIONAL_COLUMNS)  # a bad value has its own reason, not wrong_type
#: The raw types a canonical column accepts (booleans never; a kept column: any scalar)
TYPES = {
    **dict.fromkeys(TEXT_COLUMNS, (str,)),
    **dict.fromkeys(("review_id", "user_id", "item_id"), (str, int)),
    **dict.fromkeys(PARSED_COLUMNS, (str, int, float)),
}
QUARANTINE_COLUMNS = ["source_row", "reason", "field", "value"]
CLEANED_COLUMNS = ["source_row", "field", "action", "value"]
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab and newlines stay
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")  # "1,341" (Amazon 2018)
_EARLIEST, _LATEST = (t.tz_localize("UTC") for t in (pd.Timestamp.min, pd.Timestamp.max))
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
    """A raw file that cannot be used at all (a :class:`Problem`: where, what, the fix)."""


@dataclass
class LoadResult:
    """Loaded rows, quarantined rows, and the counts that reconcile them."""

    reviews: pd.DataFrame
    quarantine: pd.DataFrame
    quality: dict[str, Any]


def resolve_adapter(cfg: DatasetParams) -> dict[str, Any]:
    """Merge a ``datasets.<name>`` block over its adapter preset."""
    name = cfg.adapter
    if name not in ADAPTERS:
        raise ParamsError(f"unknown adapter '{name}' (allowed: {sorted(ADAPTERS)})")
    preset = ADAPTERS[name]
    spec = {**preset, **{k: v for k, v in cfg.model_dump().items() if v is not None}}
    spec["columns"] = {**preset["columns"], **(cfg.columns or {})}
    spec["keep"] = {**preset["keep"], **(cfg.keep or {})}
    spec.setdefault("format", "csv" if ".csv" in Path(spec["path"]).suffixes else "jsonl")
    missing = [c for c in REQUIRED if c not in spec["columns"]]
    if missing:
        raise ParamsError(
            f"adapter '{name}' maps no source field to required column(s) {missing}: "
            "add them to `columns`"
        )
    return spec


def _fail(what: str, shown: str, line: int | None = None, **parts: str) -> DataLoadError:
    return DataLoadError(Problem(what, shown, line, **parts))


def _unreadable(err: Exception, shown: str, name: str, line: int | None = None) -> DataLoadError:
    fix = f"fetch it again (`dvc pull`) or fix datasets.{name}.path"
    return _fail(f"cannot read the file ({err}): it is damaged or truncated", shown, line, fix=fix)


def _lines(path: Path) -> Iterator[bytes]:
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
        yield from handle


def _read_jsonl(
    path: Path, shown: str, name: str, wanted: dict[str, str]
) -> Iterator[tuple[int, dict | None, str | None, str]]:
    """Yield ``(line_no, record, reason, raw)`` (reason: the line is unusable), then fail on
    a mapped field that no record has. Undecodable bytes stay as surrogates."""
    line_no, found, fields, first = 0, set(), {}, True
    try:
        for line_no, line in enumerate(_lines(path), start=1):
            line = line.removeprefix(codecs.BOM_UTF8) if line_no == 1 else line
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
        raise _unreadable(err, shown, name, line_no + 1) from err
    missing = [(t, s) for t, s in wanted.items() if s not in found]
    if fields and missing:  # no parsed record at all: the quarantine rate tells
        listed = [_safe(f) for f in list(fields)[:30]] + (["..."] if len(fields) > 30 else [])
        raise _fail(
            f"field '{missing[0][1]}' (mapped to '{missing[0][0]}') is in no record",
            shown,
            expected=f"one of the records' fields {listed}",
            fix=f"fix the mapping in datasets.{name}",
        )


def _reject_json_array(first: str, shown: str, line_no: int, name: str) -> None:
    """Fail on a JSON array file (``[{...}, ...]``) where JSON Lines is expected."""
    if not first.lstrip().startswith("["):
        return
    try:
        value = json.loads(first)
    except json.JSONDecodeError:
        value = None  # an array spread over several lines
    if value is None or any(isinstance(v, dict) for v in value):
        raise _fail(
            "the file is a JSON array ([{...}, ...])",
            shown,
            line_no,
            expected="JSON Lines: one JSON object per line",
            fix=f"convert it, e.g. `jq -c '.[]' {Path(shown).name} > reviews.jsonl`, and "
            f"point datasets.{name}.path at the result",
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
    """Yield ``(start_line, record, reason, raw)`` per CSV record after a checked header."""
    try:
        text = b"".join(_lines(path)).decode("utf-8", "surrogateescape")
    except (OSError, EOFError) as err:
        raise _unreadable(err, shown, name) from err
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, [])
    except csv.Error as err:
        raise _fail(f"cannot parse the header: {err}", shown, 1) from err
    _check_header(header, shown, name, wanted)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise _fail(f"cannot parse CSV ({err})", shown, start, fix="fix that record") from err
        if len(row) == len(header):
            yield start, dict(zip(header, row, strict=True)), None, ""
        elif row:
            detail = f"{len(row)} fields, header has {len(header)}: {str(row)[:200]}"
            yield start, None, "unparsable_line", _safe(detail)
        start = reader.line_num + 1


def _check_header(header: list[str], shown: str, name: str, wanted: dict[str, str]) -> None:
    """A CSV header names every mapped source column exactly once."""
    if not "".join(header).strip():
        example = ",".join(wanted.values())
        raise _fail(
            "empty file", shown, 1, expected=f"a header row naming the columns, e.g. {example}"
        )
    for target, source in wanted.items():
        mapped = f"column '{source}' (mapped to '{target}')"
        if source not in header:
            raise _fail(
                f"{mapped} is not in the header",
                shown,
                1,
                expected=f"one of {[_safe(h) for h in header]}",
                fix=f"fix the mapping in datasets.{name}",
            )
        if header.count(source) > 1:
            what = f"{mapped} appears {header.count(source)} times in the header"
            raise _fail(what, shown, 1, fix="rename one of them")


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
    """A visible character: not only whitespace and invisible format characters (U+200B)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in value)


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("str").str.strip() == "")


def _to_number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.where(~_blank(series)).astype("object"), errors="coerce")


def _to_timestamp(series: pd.Series) -> pd.Series:
    """Unix seconds or dates to UTC timestamps; NaT where a value does not parse."""
    present = series.where(~_blank(series))
    numeric = pd.to_numeric(present.astype("object"), errors="coerce")
    stamps = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    dates = present.notna() & numeric.isna()
    if dates.any():
        parsed = pd.to_datetime(
            present[dates].astype("object"), utc=True, errors="coerce", format="mixed"
        )
        inside = parsed.between(_EARLIEST, _LATEST)  # "1;" is year 1
        stamps[dates] = parsed.where(inside).astype("datetime64[ns, UTC]")
    return stamps.astype("datetime64[ns, UTC]")


def _maybe_numeric(series: pd.Series) -> pd.Series:
    """A kept column: booleans, numbers or (else) strings; blanks null."""
    present = series.where(~_blank(series))
    if present.notna().any() and all(map(_is_bool, present.dropna())):
        return present.astype("boolean")
    numbers = _to_number(series.where(~series.map(_is_bool)))
    if numbers.notna().sum() == present.notna().sum() and numbers.notna().any():
        return numbers
    return present.astype("str")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _type_ok(value: Any, column: str) -> bool:
    """Whether a raw value has a type ``column`` accepts (:data:`TYPES`); null always does."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    if column not in TYPES:
        return not isinstance(value, list | dict)
    return isinstance(value, TYPES[column]) and not _is_bool(value)


def _as_id(value: Any) -> Any:
    """A JSON integer id as its decimal text (``2`` and ``"2"`` are one id)."""
    return str(value) if isinstance(value, int) and not _is_bool(value) else value


def _column(table: pd.DataFrame, column: str) -> pd.Series:
    return table[column] if column in table else pd.Series(None, index=table.index)


def load_reviews(
    cfg: DatasetParams, name: str, root: Path | None = None, seed: int = 0
) -> LoadResult:
    """Read the dataset ``cfg`` (``datasets.<name>``; a relative path is under ``root``) into
    the canonical table, quarantining bad rows; ``cfg.max_rows`` keeps a random subset drawn
    with ``seed``. Raises :class:`DataLoadError` when the file cannot be used or more than
    ``cfg.max_quarantine_rate`` of its rows is quarantined."""
    spec = resolve_adapter(cfg)
    shown = spec["path"]  # messages name the path as written in params.yaml
    path = _review_file(shown, root, name)
    wanted = {**spec["columns"], **spec["keep"]}
    reader = _read_csv if spec["format"] == "csv" else _read_jsonl
    rows, bad = [], []
    for line_no, record, reason, raw in reader(path, shown, name, wanted):
        if reason:
            bad.append({"source_row": line_no, "reason": reason, "field": "", "value": raw})
        else:
            rows.append(
                {**{t: _lookup(record, s) for t, s in wanted.items()}, "source_row": line_no}
            )
    if not rows and not bad:
        holds = "a header and no rows" if spec["format"] == "csv" else "only blank lines"
        raise _fail(f"no records found: the file holds {holds}", shown)

    table = pd.DataFrame(rows, columns=[*wanted, "source_row"], dtype=object)
    reviews, flagged, cleaned = _check_rows(table, name, spec, cfg.strict_optional)
    quarantine = pd.DataFrame(bad + flagged, columns=QUARANTINE_COLUMNS)
    quarantine = quarantine.sort_values("source_row", kind="stable", ignore_index=True)
    reviews = _validated(reviews, shown)
    quality = quality_report(path, len(rows) + len(bad), reviews, quarantine, cleaned)
    _check_quarantine_rate(quality, quarantine, table, spec, shown, name)
    if cfg.max_rows and len(reviews) > cfg.max_rows:
        keep = reviews.sample(n=int(cfg.max_rows), random_state=int(seed))
        reviews = keep.sort_values("source_row", ignore_index=True)
        quality["rows_subsampled_to"] = len(reviews)
    return LoadResult(reviews, quarantine, quality)


def _review_file(shown: str, root: Path | None, name: str) -> Path:
    """The review file ``shown`` (as in params.yaml, relative to ``root``), or a clear error."""
    path = Path(shown)
    if root is not None and not path.is_absolute():
        path = root / path
    if path.is_dir():
        expected = "a review file: .csv or .jsonl, optionally .gz"
        raise _fail("is a directory", shown, expected=expected, fix=f"fix datasets.{name}.path")
    if not path.is_file():
        fix = "fix the path (relative to the project folder) or fetch the data (`dvc pull`)"
        raise _fail(f"file not found (datasets.{name}.path)", shown, fix=fix)
    return path


def _validated(reviews: pd.DataFrame, shown: str) -> pd.DataFrame:
    """The pandera contract; a failure (a loader bug) names the file and the source lines."""
    import pandera.errors

    try:
        return validate(reviews)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        rows = reviews["source_row"].iloc[cases["index"].dropna().astype(int)]
        lines = sorted({int(r) for r in rows})
        checks = sorted({f"{c}: {k}" for c, k in zip(cases["column"], cases["check"], strict=True)})
        what = f"rows on lines {lines[:10]} break the canonical contract ({'; '.join(checks[:5])})"
        raise _fail(what, shown, fix="please report this with the file") from err


def _scaled_rating(raw: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """``(stars, present)``: stars 1-5 (NaN where invalid) and whether a rating was given;
    ``rating_scale`` maps ``[min, max]`` linearly (nearest star, halves up), ``rating_map``
    looks the value's text up (``10.0`` as ``"10"``)."""
    usable = raw.where(raw.map(lambda v: _type_ok(v, "rating")))  # booleans, lists: not ratings
    present = ~_blank(usable)
    if mapping := spec.get("rating_map"):

        def stars_of(value: Any) -> float:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return float(mapping.get(str(value).strip(), math.nan))

        return usable.where(present).map(stars_of, na_action="ignore").astype("float64"), present
    numbers = _to_number(usable)
    if scale := spec.get("rating_scale"):
        low, high = scale["min"], scale["max"]
        stars = np.floor(1 + 4 * (numbers - low) / (high - low) + 0.5 + 1e-9)
        return stars.where(numbers.between(low, high)), numbers.notna()
    return numbers.where(numbers.isin([1, 2, 3, 4, 5])), numbers.notna()


def _check_rows(
    table: pd.DataFrame, name: str, spec: dict[str, Any], strict: bool = False
) -> tuple[pd.DataFrame, list[dict], pd.DataFrame]:
    """Coerce mapped columns to canonical types; return the valid rows, the flagged ones and
    what was cleaned in the valid ones. The first reason wins, in the order ``non_utf8``,
    ``wrong_type``, ``missing_review_id``, ``missing_text``, ``rating_non_numeric``,
    ``rating_out_of_range``, ``bad_value`` (only when ``strict``), ``duplicate_review_id``."""
    flag = _Flags(table.index)
    table = _flag_encoding_and_types(table, flag)
    strip = partial(_CONTROL.sub, "")
    stripped = {c: _repair(table, c, _CONTROL.search, strip) for c in TEXT_COLUMNS if c in table}
    out = _identity_and_text(table, name, spec, flag)
    nulled = _add_time_and_votes(out, table)
    if strict:
        for column, mask in nulled.items():
            flag(mask, "bad_value", column)
        nulled = {}
    out["source_row"] = table["source_row"].astype("int64")
    for column in table.columns:
        if column not in CANONICAL_COLUMNS:
            out[column] = _maybe_numeric(table[column])
    # a duplicate id only counts against rows that are otherwise valid: the first valid one stays
    valid_ids = out["review_id"].where(flag.reason.isna())
    flag(valid_ids.notna() & valid_ids.duplicated(keep="first"), "duplicate_review_id", "review_id")
    loaded = flag.reason.isna()
    cleaned = [
        _record(table, i, column, field=column, action=action)
        for action, masks in (("control_characters_removed", stripped), ("optional_nulled", nulled))
        for column, mask in masks.items()
        for i in mask.index[mask & loaded]
    ]
    cleaned = pd.DataFrame(cleaned, columns=CLEANED_COLUMNS)
    return out[loaded].reset_index(drop=True), flag.rows(table), cleaned


def _record(table: pd.DataFrame, i: Any, column: str, **what: str) -> dict[str, Any]:
    """A row's source line, ``what`` and (the start of) its value in ``column``."""
    value = _safe(table.at[i, column])[:200] if column in table else ""
    return {"source_row": int(table.at[i, "source_row"]), **what, "value": value}


def _repair(table: pd.DataFrame, column: str, found: Any, repair: Any) -> pd.Series:
    """Apply ``repair`` (in place) to the strings of ``column`` where ``found``; return where."""
    has = table[column].map(lambda v: isinstance(v, str) and bool(found(v))).astype(bool)
    if has.any():
        table.loc[has, column] = table.loc[has, column].map(repair)
    return has


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
        flagged = self.reason.index[self.reason.notna()]
        return [
            _record(table, i, self.field[i], reason=self.reason[i], field=self.field[i])
            for i in flagged
        ]


def _flag_encoding_and_types(table: pd.DataFrame, flag: _Flags) -> pd.DataFrame:
    """Flag undecodable text (then shown as escapes) and values of the wrong type."""
    columns = table.columns.drop("source_row")
    table = table.copy()
    for column in columns:  # undecodable bytes: from here on shown as escapes (\xe9)
        flag(_repair(table, column, _has_surrogates, _safe), "non_utf8", column)
    for column in columns.drop(list(PARSED_COLUMNS), errors="ignore"):
        ok = table[column].map(lambda v, c=column: _type_ok(v, c)).astype(bool)
        flag(~ok, "wrong_type", column)
    return table


def _identity_and_text(
    table: pd.DataFrame, name: str, spec: dict[str, Any], flag: _Flags
) -> pd.DataFrame:
    """The canonical ids, rating, title and text, flagging what is missing or out of range."""
    if "review_id" in table:
        ids = table["review_id"].map(_as_id)
        flag(_blank(ids), "missing_review_id", "review_id")
        review_id = ids.where(~_blank(ids), "").astype("str")
    else:
        review_id = name + "-" + table["source_row"].astype("str")
    text = _column(table, "text")
    no_content = text.map(lambda v: isinstance(v, str) and not _has_content(v)).astype(bool)
    flag(_blank(text) | no_content, "missing_text", "text")
    stars, given = _scaled_rating(table["rating"], spec)
    flag(~given, "rating_non_numeric", "rating")
    flag(stars.isna(), "rating_out_of_range", "rating")
    out = pd.DataFrame({"review_id": review_id}, index=table.index)
    for column in ("user_id", "item_id"):
        values = _column(table, column).map(_as_id)
        out[column] = values.where(~_blank(values)).astype("str")
    out["rating"] = stars.where(stars.isin([1, 2, 3, 4, 5]), 0).astype("int64")  # bad: flagged
    out["title"] = table["title"].fillna("").astype("str") if "title" in table else ""
    out["text"] = text.astype("str")
    return out


def _add_time_and_votes(out: pd.DataFrame, table: pd.DataFrame) -> dict[str, pd.Series]:
    """Add the timestamp and the votes (null where a value does not parse); return, per
    optional column of the file, the rows whose value was given but unusable."""
    unusable = {}
    out["timestamp"] = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns, UTC]")
    if "timestamp" in table:
        raw = table["timestamp"]
        wrong = ~raw.map(lambda v: _type_ok(v, "timestamp"))
        stamps = _to_timestamp(raw.where(~wrong))
        unusable["timestamp"] = (stamps.isna() & ~_blank(raw)) | wrong
        out["timestamp"] = stamps.where(~unusable["timestamp"])
    for column in ("helpful_votes", "total_votes"):
        values = _column(table, column)
        wrong = ~values.map(lambda v, c=column: _type_ok(v, c))
        numbers = _to_number(values.where(~wrong).map(_without_separators))
        invalid = wrong | (numbers.isna() & ~_blank(values)) | (numbers < 0) | (numbers.mod(1) > 0)
        invalid |= numbers >= 2**53  # beyond exact integers: no vote count
        if column in table:
            unusable[column] = invalid
        out[column] = numbers.where(~invalid).astype("Int64")
    return unusable


def _without_separators(value: Any) -> Any:
    """``"1,341"`` (thousands separators) -> ``"1341"``."""
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
    mapping or scale), naming the top reasons with an example each."""
    limit = spec.get(
        "max_quarantine_rate", DatasetParams.model_fields["max_quarantine_rate"].default
    )
    if quality["rows_quarantined"] <= limit * quality["rows_read"]:
        return
    top = sorted(((r, n) for r, n in quality["by_reason"].items() if n), key=lambda rn: -rn[1])
    parts = []
    for why, count in top[:3]:
        first = quarantine[quarantine["reason"] == why].iloc[0]
        value = f"{first['field']} {first['value']!r}" if first["field"] else first["value"][:60]
        parts.append(f"{why} {count:,} (e.g. line {first['source_row']}: {value})")
    hint = _FIX_HINTS.get(top[0][0], "check datasets.{name}").format(name=name)
    if top[0][0] == "rating_out_of_range":
        ratings = table["rating"]
        numbers = _to_number(ratings.where(ratings.map(lambda v: _type_ok(v, "rating"))))
        hint = f"ratings span {numbers.min():g} to {numbers.max():g}: {hint}"
    raise _fail(
        f"{quality['rows_quarantined']:,} of {quality['rows_read']:,} rows "
        f"({quality['quarantine_rate']:.0%}) quarantined: {'; '.join(parts)}",
        shown,
        expected=f"at most datasets.{name}.max_quarantine_rate = {limit}",
        fix=f"{hint}; or raise max_quarantine_rate",
    )


def quality_report(
    path: Path,
    rows_read: int,
    reviews: pd.DataFrame,
    quarantine: pd.DataFrame,
    cleaned: pd.DataFrame,
) -> dict[str, Any]:
    """Counts per quarantine reason with a few examples (``read = loaded + quarantined``),
    and what was cleaned in loaded rows (optional values nulled, control characters removed)."""
    counts = quarantine["reason"].value_counts()
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
            reason: group.head(EXAMPLES_PER_REASON).to_dict(orient="records")
            for reason, group in quarantine.groupby("reason", sort=True)
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
