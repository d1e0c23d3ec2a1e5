"""Property-based tests (hypothesis) of the generic adapter with random malformed records.

For any file: the loader raises nothing but a clear ``DataLoadError``; ``rows read = loaded +
quarantined``; exactly the valid records are loaded (first of a duplicated id), each with a
valid canonical row; every other record is quarantined with a reason.

The generators cover what a researcher's own file holds: null, absent, empty and integer
ids (``2`` and ``"2"`` are one id), texts and titles that are numbers, booleans, lists or
objects, boolean ratings, fields absent from some records (a JSONL field absent from *every*
record is a mapping error naming the field), and non-UTF-8 bytes in a field the adapter does
not map (which must not matter).
"""

from __future__ import annotations

import csv
import io
import json
import math
import unicodedata
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
HEADER = [*COLUMNS.values(), "key", "note"]  # `note`: in the file, not mapped
ABSENT = object()  # a field the record does not have

ratings = st.one_of(
    st.sampled_from([1, 2, 3, 4, 5, 0, 6, -1, 3.5, 4.0, "4", " 2 ", "five", "", None]),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(1, 5), max_size=2),
)
not_text = st.one_of(  # JSON values that are no text
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["x", "y"]), st.integers(), max_size=2),
)
texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "   ", "\n", 'good, "quoted"\nmultiline', "x" * 20_000]),
    st.none(),
    not_text,
)
ids = st.one_of(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 3).map(str),
    st.integers(0, 3),  # the same ids as JSON integers
    st.sampled_from([None, "", "  ", True]),
)
people = st.text(max_size=8) | st.none() | st.integers(0, 9) | st.booleans()
records = st.lists(
    st.fixed_dictionaries(
        {
            "id": ids,
            "user": people,
            "item": people,
            "stars": ratings,
            "headline": st.text(max_size=30) | st.none() | not_text,
            "body": texts,
            "posted": st.sampled_from([None, "2014-01-02", "2015-06-30T12:00:00", "not a date"]),
            "note": st.sampled_from([None, "plain", "café", "naïve"]),  # latin-1 bytes
            "latin1": st.booleans(),  # encode this record's line in latin-1 (mixed encodings)
            # fields this record lacks (rarely: a field absent from all records is an error)
            "absent": st.sampled_from([(), (), (), (), ("id",), ("body",), ("user", "posted")]),
        }
    ),
    max_size=25,
)


def _valid_rating(value) -> bool:
    if isinstance(value, bool) or value is None or not isinstance(value, str | int | float):
        return False
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return False
    return math.isfinite(number) and number in (1, 2, 3, 4, 5)


def _payload(row: dict) -> dict:
    drop = {"latin1", "absent", "note", *row["absent"]}
    return {k: v for k, v in row.items() if k not in drop}


def _jsonl_line(row: dict) -> tuple[bytes, bytes]:
    """``(line, line without the unmapped note)``: the note's latin-1 bytes must not matter."""
    text = json.dumps(_payload(row), ensure_ascii=False, allow_nan=True)
    base = _encode(text + "\n", row["latin1"])
    if row["note"] is None:
        return base, base
    note = b', "note": "' + row["note"].encode("latin-1") + b'"}'
    return _encode(text[:-1], row["latin1"]) + note + b"\n", base


def _csv_line(row: dict) -> tuple[bytes, bytes]:
    def encoded(note: str) -> bytes:
        values = [_csv_value(row, c) for c in HEADER[:-1]]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow([*values, "@"])
        head, _ = buffer.getvalue().rsplit('"@"', 1)
        return _encode(head, row["latin1"]) + b'"' + note.encode("latin-1") + b'"\n'

    return encoded(row["note"] or ""), encoded("")


def _csv_value(row: dict, column: str):
    value = row.get(column) if column not in row["absent"] else None
    return "" if value is None else value


def _encode(line: str, latin1: bool) -> bytes:
    return line.encode("latin-1", "replace") if latin1 else line.encode("utf-8")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_fields(base: bytes) -> dict:
    return json.loads(base)


def _csv_fields(base: bytes) -> dict:
    values = next(csv.reader(io.StringIO(base.decode("utf-8"), newline="")))
    return dict(zip(HEADER, values, strict=True))


def _visible(text: str) -> bool:
    """A visible character once control characters are removed: not only whitespace and
    invisible format characters (U+200B, U+FEFF, ...)."""
    kept = "".join(c for c in text if unicodedata.category(c) != "Cc" or c in "\t\n\r")
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in kept)


def _id_text(value):
    """The canonical id of a raw value; None where the row must be quarantined."""
    if value is ABSENT or value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _json_valid(fields: dict) -> str | None:
    """The id of a valid JSON record; None when it must be quarantined."""
    body, title = fields.get("body"), fields.get("headline")
    people_ok = all(  # user / item ids: a string, an integer (not a boolean) or null
        type(fields.get(c)) in (str, int, type(None)) for c in ("user", "item")
    )
    ok = (
        isinstance(body, str)
        and _visible(body)
        and (title is None or isinstance(title, str))
        and people_ok
        and _valid_rating(fields.get("stars"))
    )  # an unparsable date is nulled, never costs the review
    return _id_text(fields.get("id", ABSENT)) if ok else None


def _csv_valid(fields: dict) -> str | None:
    ok = _visible(fields["body"]) and _valid_rating(fields["stars"])
    return _id_text(fields["id"]) if ok else None


def _expected_keys(rows: list[dict], bases: list[bytes], suffix: str) -> list[tuple[str, str]]:
    seen, keys = set(), []
    for row, base in zip(rows, bases, strict=True):
        if not _utf8(base):
            continue
        if suffix == "jsonl":
            review_id = _json_valid(_json_fields(base))
        else:
            review_id = _csv_valid(_csv_fields(base))
        if review_id is not None and review_id not in seen:
            seen.add(review_id)
            keys.append((row["key"], review_id))
    return keys


def _absent_everywhere(rows: list[dict]) -> list[str]:
    return [f for f in COLUMNS.values() if rows and all(f in r["absent"] for r in rows)]


def _check(path: Path, rows: list[dict], bases: list[bytes], suffix: str) -> None:
    cfg = DatasetParams(
        adapter="generic", path=str(path), columns=COLUMNS, keep=KEEP, max_quarantine_rate=1
    )
    missing = _absent_everywhere(rows) if suffix == "jsonl" else []
    try:
        result = load_reviews(cfg, "prop")
    except DataLoadError as err:  # the only error allowed: a clear one naming the file
        assert str(path) in str(err)
        if missing:  # a mapped field in no record: named, with the fields that do exist
            assert f"field '{missing[0]}'" in str(err) and "one of the records' fields" in str(err)
        else:
            assert not rows or "cannot parse CSV" in str(err)
        return
    assert not missing, f"mapped field(s) {missing} in no record, yet loaded"
    quality = result.quality
    assert quality["rows_read"] == len(rows)
    assert quality["rows_read"] == quality["rows_loaded"] + quality["rows_quarantined"]
    assert len(result.quarantine) == quality["rows_quarantined"]
    assert result.quarantine["reason"].notna().all()
    expected = _expected_keys(rows, bases, suffix)
    loaded = list(zip(result.reviews["key"], result.reviews["review_id"], strict=True))
    assert loaded == expected
    assert result.reviews["rating"].between(1, 5).all()
    assert result.reviews["text"].map(_visible).all()
    assert not result.reviews["text"].str.contains("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]").any()
    assert result.reviews["review_id"].is_unique

    # the same file under a quarantine limit: fails (naming a reason) iff the share is above it
    limited = cfg.model_copy(update={"max_quarantine_rate": 0.5})
    if quality["rows_quarantined"] > 0.5 * quality["rows_read"]:
        with pytest.raises(DataLoadError, match="max_quarantine_rate = 0.5"):
            load_reviews(limited, "prop")
    else:
        assert load_reviews(limited, "prop").quality == quality


def _keyed(rows: list[dict]) -> list[dict]:
    return [{**row, "key": f"k{i}"} for i, row in enumerate(rows)]


SETTINGS = settings(
    max_examples=40,
    print_blob=True,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


FORMATS = {  # suffix -> (line writer, header bytes)
    "jsonl": (_jsonl_line, b""),
    "csv": (_csv_line, (",".join(HEADER) + "\n").encode()),
}


@pytest.mark.parametrize("suffix", FORMATS)
@SETTINGS
@given(rows=records)
def test_loader_never_crashes_loses_or_lets_through_a_row(tmp_path_factory, suffix, rows):
    write_line, header = FORMATS[suffix]
    rows = _keyed(rows)
    path = tmp_path_factory.mktemp(suffix) / f"reviews.{suffix}"
    lines, bases = zip(*[write_line(row) for row in rows], strict=True) if rows else ((), ())
    path.write_bytes(header + b"".join(lines))
    _check(path, rows, list(bases), suffix)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\x00\xff\xfe"])
def test_empty_or_binary_files_fail_clearly(tmp_path, content):
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(content)
    cfg = DatasetParams(adapter="generic", path=str(path), columns=COLUMNS, max_quarantine_rate=1)
    try:
        result = load_reviews(cfg, "prop")
    except DataLoadError as err:
        assert str(path) in str(err)
    else:  # binary junk is one unreadable line, quarantined and counted
        assert result.quality["rows_read"] == result.quality["rows_quarantined"] == 1
