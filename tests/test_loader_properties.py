"""Property-based tests (hypothesis) of the generic adapter with random malformed records.

For any file: the loader raises nothing but a clear ``DataLoadError``; ``rows read = loaded +
quarantined``; exactly the valid records are loaded (first of a duplicated id), each with a
valid canonical row; every other record is quarantined with a reason.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewlab.core.params import DatasetParams
from reviewlab.data.loaders import DataLoadError, load_reviews

COLUMNS = {
    "review_id": "id",
    "user_id": "user",
    "item_id": "item",
    "rating": "stars",
    "title": "headline",
    "text": "body",
    "timestamp": "posted",
}
KEEP = {"key": "key"}
HEADER = [*COLUMNS.values(), "key"]

ratings = st.one_of(
    st.sampled_from([1, 2, 3, 4, 5, 0, 6, -1, 3.5, 4.0, "4", " 2 ", "five", "", None, True]),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "   ", "\n", 'good, "quoted"\nmultiline', "x" * 20_000]),
    st.none(),
    st.integers(),
)
records = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(["a", "b", "c", "d"]) | st.integers(0, 3).map(str),
            "user": st.text(max_size=8) | st.none(),
            "item": st.text(max_size=8) | st.none(),
            "stars": ratings,
            "headline": st.text(max_size=30) | st.none(),
            "body": texts,
            "posted": st.sampled_from([None, "2014-01-02", "2015-06-30T12:00:00", "not a date"]),
            "latin1": st.booleans(),  # encode this record's line in latin-1 (mixed encodings)
        }
    ),
    max_size=25,
)


def _valid_rating(value) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return False
    return math.isfinite(number) and number in (1, 2, 3, 4, 5)


def _jsonl_line(row: dict) -> bytes:
    payload = {k: v for k, v in row.items() if k != "latin1"}
    return _encode(json.dumps(payload, ensure_ascii=False, allow_nan=True) + "\n", row["latin1"])


def _csv_line(row: dict) -> bytes:
    buffer = io.StringIO()
    values = ["" if row[c] is None else row[c] for c in HEADER]
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow(values)
    return _encode(buffer.getvalue(), row["latin1"])


def _encode(line: str, latin1: bool) -> bytes:
    return line.encode("latin-1", "replace") if latin1 else line.encode("utf-8")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _valid(row: dict, line: bytes, as_text) -> bool:
    if not _utf8(line):
        return False
    decoded = json.loads(line) if as_text is _json_text else row
    return (
        as_text(decoded["body"]).strip() != ""
        and _valid_rating(decoded["stars"] if as_text is _json_text else as_text(row["stars"]))
        and decoded["posted"] != "not a date"
    )


def _expected_keys(rows: list[dict], lines: list[bytes], as_text) -> list[str]:
    seen, keys = set(), []
    for row, line in zip(rows, lines, strict=True):
        if _valid(row, line, as_text) and row["id"] not in seen:
            seen.add(row["id"])
            keys.append(row["key"])
    return keys


def _json_text(value) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _csv_text(value) -> str:
    return "" if value is None else str(value)


def _check(path: Path, rows: list[dict], lines: list[bytes], as_text) -> None:
    cfg = DatasetParams(adapter="generic", path=str(path), columns=COLUMNS, keep=KEEP)
    try:
        result = load_reviews(cfg, "prop")
    except DataLoadError as err:  # the only error allowed: a clear one naming the file
        assert str(path) in str(err)
        assert not rows or "cannot parse CSV" in str(err)
        return
    quality = result.quality
    assert quality["rows_read"] == len(rows)
    assert quality["rows_read"] == quality["rows_loaded"] + quality["rows_quarantined"]
    assert len(result.quarantine) == quality["rows_quarantined"]
    assert result.quarantine["reason"].notna().all()
    loaded = [str(k) for k in result.reviews["key"]] if len(result.reviews) else []
    assert loaded == [str(k) for k in _expected_keys(rows, lines, as_text)]
    assert result.reviews["rating"].between(1, 5).all()
    assert result.reviews["text"].str.strip().ne("").all()
    assert result.reviews["review_id"].is_unique


def _keyed(rows: list[dict]) -> list[dict]:
    return [{**row, "key": f"k{i}"} for i, row in enumerate(rows)]


SETTINGS = settings(
    max_examples=40,
    print_blob=True,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


FORMATS = {  # suffix -> (line writer, header bytes, how the format turns a value into text)
    "jsonl": (_jsonl_line, b"", _json_text),
    "csv": (_csv_line, (",".join(HEADER) + "\n").encode(), _csv_text),
}


@pytest.mark.parametrize("suffix", FORMATS)
@SETTINGS
@given(rows=records)
def test_loader_never_crashes_loses_or_lets_through_a_row(tmp_path_factory, suffix, rows):
    write_line, header, as_text = FORMATS[suffix]
    rows = _keyed(rows)
    path = tmp_path_factory.mktemp(suffix) / f"reviews.{suffix}"
    lines = [write_line(row) for row in rows]
    path.write_bytes(header + b"".join(lines))
    _check(path, rows, lines, as_text)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\x00\xff\xfe"])
def test_empty_or_binary_files_fail_clearly(tmp_path, content):
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(content)
    cfg = DatasetParams(adapter="generic", path=str(path), columns=COLUMNS)
    try:
        result = load_reviews(cfg, "prop")
    except DataLoadError as err:
        assert str(path) in str(err)
    else:  # binary junk is one unreadable line, quarantined and counted
        assert result.quality["rows_read"] == result.quality["rows_quarantined"] == 1
