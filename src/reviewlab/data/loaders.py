"""Raw review files -> the canonical table (see :mod:`reviewlab.core.schema`), with quarantine.

Every dataset goes through one generic reader driven by an *adapter*: the file format plus a
mapping ``canonical column -> source field``. The two built-in adapters are presets; a new
dataset needs only a ``datasets.<name>`` block in ``params.yaml``::

    my_shop:
      adapter: generic
      path: data/my_shop.csv          # .csv, .jsonl, .json.gz or .csv.gz
      columns: {text: body, rating: stars, item_id: sku, user_id: customer}
      keep: {country: Country}        # extra columns to carry along (optional)

Source fields may address nested JSON with dots (``helpful.0`` is the first element of the
list ``helpful``). Rows that break the contract are quarantined with a reason; a file that
cannot be read at all raises :class:`DataLoadError` naming the file and line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reviewlab.core.params import DatasetParams
from reviewlab.core.schema import CANONICAL_COLUMNS, QUARANTINE_REASONS, validate

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


class DataLoadError(ValueError):
    """A raw file that cannot be read at all (names the file and line)."""


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
        raise ValueError(f"unknown adapter '{name}' (allowed: {sorted(ADAPTERS)})")
    given = {k: v for k, v in cfg.model_dump().items() if v is not None}
    spec = {**ADAPTERS[name], **given}
    spec["columns"] = {**ADAPTERS[name]["columns"], **(cfg.columns or {})}
    spec["keep"] = {**ADAPTERS[name]["keep"], **(cfg.keep or {})}
    if "format" not in spec:
        suffixes = Path(spec["path"]).suffixes
        spec["format"] = "csv" if ".csv" in suffixes else "jsonl"
    missing = [c for c in REQUIRED if c not in spec["columns"]]
    if missing:
        raise ValueError(f"adapter '{name}' maps no source field to required column(s) {missing}")
    return spec


def _open_text_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        yield from handle


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict | None, str | None, str]]:
    """Yield ``(line_no, record, reason, raw)``; reason is set when the line is unusable."""
    line_no = 0
    try:
        for line_no, line in enumerate(_open_text_lines(path), start=1):
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                yield line_no, None, "non_utf8", repr(line[:200])
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                yield line_no, None, "unparsable_line", f"{err.msg}: {text[:200]!r}"
                continue
            if not isinstance(record, dict):
                yield line_no, None, "unparsable_line", f"not a JSON object: {text[:200]!r}"
                continue
            yield line_no, record, None, ""
    except (OSError, EOFError) as err:
        raise DataLoadError(f"{path}: line {line_no + 1}: cannot read the file: {err}") from err


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _read_csv(path: Path) -> Iterator[tuple[int, dict | None, str | None, str]]:
    """Yield ``(start_line, record, reason, raw)`` for each CSV record after the header."""
    try:
        raw = b"".join(_open_text_lines(path))
    except (OSError, EOFError) as err:
        raise DataLoadError(f"{path}: cannot read the file: {err}") from err
    reader = csv.reader(io.StringIO(raw.decode("utf-8", "surrogateescape"), newline=""))
    try:
        header = next(reader)  # _check_header has ruled out an empty file
    except csv.Error as err:
        raise DataLoadError(f"{path}: line 1: cannot parse the header: {err}") from err
    header = [h.lstrip("\ufeff") for h in header]
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DataLoadError(f"{path}: line {start}: cannot parse CSV: {err}") from err
        if row:
            if len(row) != len(header):
                detail = f"{len(row)} fields, header has {len(header)}: {str(row)[:200]}"
                yield start, None, "unparsable_line", detail
            elif any(_has_surrogates(v) for v in row):
                bad = next(h for h, v in zip(header, row, strict=True) if _has_surrogates(v))
                yield start, None, "non_utf8", f"field '{bad}'"
            else:
                yield start, dict(zip(header, row, strict=True)), None, ""
        start = reader.line_num + 1


def _lookup(record: dict, source: str) -> Any:
    """``record[source]``, following dots into nested dicts and lists; None when absent."""
    if source in record:
        return record[source]
    node: Any = record
    for part in source.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _check_header(path: Path, spec: dict[str, Any]) -> None:
    """CSV only: every mapped source column must be in the header (clear error otherwise)."""
    if spec["format"] != "csv":
        return
    first = next(_open_text_lines(path), b"").decode("utf-8", "replace")
    if not first.strip():
        raise DataLoadError(f"{path}: line 1: empty file, expected a header row")
    header = [h.lstrip("\ufeff") for h in next(csv.reader([first]), [])]
    wanted = {**spec["columns"], **spec["keep"]}
    for target, source in wanted.items():
        if source not in header:
            raise DataLoadError(
                f"{path}: line 1: column '{source}' (mapped to '{target}') is not in the header "
                f"{header}"
            )


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("str").str.strip() == "")


def _to_number(series: pd.Series) -> pd.Series:
    text = series.where(~_blank(series)).astype("object")
    return pd.to_numeric(text, errors="coerce")


def _to_timestamp(series: pd.Series) -> pd.Series:
    present = series.where(~_blank(series))
    numeric = pd.to_numeric(present.astype("object"), errors="coerce")
    if numeric.notna().sum() == present.notna().sum():
        stamps = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    else:
        stamps = pd.to_datetime(present.astype("object"), utc=True, errors="coerce", format="mixed")
    return stamps.astype("datetime64[ns, UTC]")


def _maybe_numeric(series: pd.Series) -> pd.Series:
    numbers = _to_number(series)
    if numbers.notna().sum() == (~_blank(series)).sum() and numbers.notna().any():
        return numbers
    return series.where(~_blank(series)).astype("str")


def load_reviews(
    cfg: DatasetParams, name: str, root: Path | None = None, seed: int = 0
) -> LoadResult:
    """Read one dataset into the canonical table; quarantine (never drop) bad rows.

    ``cfg`` is the ``datasets.<name>`` block; a relative ``cfg.path`` is resolved against
    ``root`` (the folder the calling stage passes). ``cfg.max_rows`` keeps a random subset of
    the valid rows, drawn with ``seed`` (tiny profiles).
    """
    spec = resolve_adapter(cfg)
    path = Path(spec["path"])
    if root is not None and not path.is_absolute():
        path = root / path
    if not path.is_file():
        raise DataLoadError(f"{path}: file not found (datasets.{name}.path)")
    _check_header(path, spec)
    reader = _read_csv if spec["format"] == "csv" else _read_jsonl

    rows, bad = [], []
    wanted = {**spec["columns"], **spec["keep"]}
    for line_no, record, reason, raw in reader(path):
        if reason:
            bad.append({"source_row": line_no, "reason": reason, "field": "", "value": raw})
            continue
        row = {target: _lookup(record, source) for target, source in wanted.items()}
        row["source_row"] = line_no
        rows.append(row)
    rows_read = len(rows) + len(bad)
    if rows_read == 0:
        raise DataLoadError(f"{path}: no records found")

    table = pd.DataFrame(rows, columns=[*wanted, "source_row"])
    reviews, flagged = _check_rows(table, name)
    quarantine = pd.DataFrame(
        bad + flagged, columns=["source_row", "reason", "field", "value"]
    ).sort_values("source_row", kind="stable", ignore_index=True)
    reviews = validate(reviews)

    quality = quality_report(path, rows_read, reviews, quarantine)
    if cfg.max_rows and len(reviews) > cfg.max_rows:
        keep = reviews.sample(n=int(cfg.max_rows), random_state=int(seed))
        reviews = keep.sort_values("source_row", ignore_index=True)
        quality["rows_subsampled_to"] = len(reviews)
    return LoadResult(reviews, quarantine, quality)


def _check_rows(table: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[dict]]:
    """Coerce mapped columns to canonical types; return the valid rows and flagged ones."""
    reason = pd.Series(None, index=table.index, dtype="object")
    fieldname = pd.Series("", index=table.index, dtype="object")

    def flag(mask: pd.Series, why: str, column: str) -> None:
        new = mask & reason.isna()
        reason[new] = why
        fieldname[new] = column

    for column in table.columns:
        if column != "source_row":
            bad = [isinstance(v, str) and _has_surrogates(v) for v in table[column]]
            flag(pd.Series(bad, index=table.index, dtype=bool), "non_utf8", column)

    text = table["text"] if "text" in table else pd.Series(None, index=table.index)
    flag(_blank(text), "missing_text", "text")
    rating = _to_number(table["rating"])
    flag(rating.isna(), "rating_non_numeric", "rating")
    flag(rating.notna() & ~rating.isin([1, 2, 3, 4, 5]), "rating_out_of_range", "rating")

    out = pd.DataFrame(index=table.index)
    out["review_id"] = (
        table["review_id"].astype("str")
        if "review_id" in table
        else name + "-" + table["source_row"].astype("str")
    )
    for column in ("user_id", "item_id"):
        values = table[column] if column in table else pd.Series(None, index=table.index)
        out[column] = values.where(~_blank(values)).astype("str")
    out["rating"] = rating.where(rating.isin([1, 2, 3, 4, 5]), 0).astype("int64")  # bad: flagged
    out["title"] = table["title"].fillna("").astype("str") if "title" in table else ""
    out["text"] = text.astype("str")
    if "timestamp" in table:
        stamps = _to_timestamp(table["timestamp"])
        flag(stamps.isna() & ~_blank(table["timestamp"]), "bad_value", "timestamp")
        out["timestamp"] = stamps
    else:
        out["timestamp"] = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns, UTC]")
    for column in ("helpful_votes", "total_votes"):
        values = table[column] if column in table else pd.Series(None, index=table.index)
        numbers = _to_number(values)
        invalid = (numbers.isna() & ~_blank(values)) | (numbers < 0) | (numbers.mod(1) > 0)
        flag(invalid, "bad_value", column)
        out[column] = numbers.where(~invalid).astype("Int64")
    out["source_row"] = table["source_row"].astype("int64")
    for column in table.columns:
        if column not in CANONICAL_COLUMNS:
            out[column] = _maybe_numeric(table[column])

    # a duplicate id only counts against rows that are otherwise valid: the first valid one stays
    valid_ids = out["review_id"].where(reason.isna())
    flag(valid_ids.notna() & valid_ids.duplicated(keep="first"), "duplicate_review_id", "review_id")

    flagged = [
        {
            "source_row": int(table.at[i, "source_row"]),
            "reason": reason[i],
            "field": fieldname[i],
            "value": str(table.at[i, fieldname[i]])[:200] if fieldname[i] in table else "",
        }
        for i in reason.index[reason.notna()]
    ]
    return out[reason.isna()].reset_index(drop=True), flagged


def quality_report(
    path: Path, rows_read: int, reviews: pd.DataFrame, quarantine: pd.DataFrame
) -> dict[str, Any]:
    """Counts per quarantine reason with a few examples; ``read = loaded + quarantined``."""
    counts = quarantine["reason"].value_counts()
    examples = {
        reason: group.head(EXAMPLES_PER_REASON).to_dict(orient="records")
        for reason, group in quarantine.groupby("reason", sort=True)
    }
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
        "n_users": int(reviews["user_id"].nunique()),
        "n_items": int(reviews["item_id"].nunique()),
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
