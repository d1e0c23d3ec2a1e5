"""The canonical review table every dataset is mapped into, and its contract (pandera).

| column        | type              | meaning                                                  |
|---------------|-------------------|----------------------------------------------------------|
| review_id     | str, unique       | stable id (from the source, else ``<dataset>-<row>``)     |
|               |                   | (ids are text: JSON ``2`` and ``"2"`` are the same id)    |
| user_id       | str, nullable     | reviewer (null where the source has none)                |
| item_id       | str, nullable     | product                                                   |
| rating        | int 1-5           | star rating, the main label                              |
| title         | str ("" if none)  | review title / summary                                    |
| text          | str, non-empty    | review body                                               |
| timestamp     | datetime UTC, null| when the review was written                              |
| helpful_votes | Int64 >= 0, null  | helpful / positive-feedback votes                        |
| total_votes   | Int64 >= 0, null  | all votes cast on helpfulness                             |
| source_row    | int               | 1-based line (JSONL) or record start line (CSV) in the file |

Dataset-specific columns (e.g. ``age``, ``recommended``) follow, named in the adapter.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

RATINGS = [1, 2, 3, 4, 5]

#: Why a row can be quarantined instead of loaded. Each is counted in the data-quality report.
QUARANTINE_REASONS = {
    "unparsable_line": "the line/record could not be parsed (bad JSON, wrong field count)",
    "non_utf8": "a mapped or kept field holds bytes that are not valid UTF-8",
    "missing_text": "review text is missing, empty or whitespace only",
    "rating_non_numeric": "rating is missing or not a number (a boolean is not a number)",
    "rating_out_of_range": "rating is not an integer from 1 to 5 (or not on the declared scale)",
    "bad_value": "an optional field (timestamp, votes) could not be parsed",
    "duplicate_review_id": "review id already seen earlier in the file",
    # appended after the first seven, so their order in reports stays the same
    "missing_review_id": "the mapped review id is missing, null or empty",
    "wrong_type": (
        "a JSON value of the wrong type: text/title not a string, an id not a string or "
        "integer, a kept field a list or object"
    ),
}

CANONICAL_SCHEMA = pa.DataFrameSchema(
    {
        "review_id": pa.Column(str, unique=True),
        "user_id": pa.Column(str, nullable=True),
        "item_id": pa.Column(str, nullable=True),
        "rating": pa.Column("int64", pa.Check.isin(RATINGS)),
        "title": pa.Column(str),
        "text": pa.Column(str, pa.Check(lambda s: s.str.strip().str.len() > 0, name="non_empty")),
        "timestamp": pa.Column(pd.DatetimeTZDtype("ns", "UTC"), nullable=True),
        "helpful_votes": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "total_votes": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "source_row": pa.Column("int64", pa.Check.ge(1)),
    },
    strict=False,
    name="canonical_reviews",
)


def validate(reviews: pd.DataFrame) -> pd.DataFrame:
    """Check the canonical contract on every row; raises ``pandera`` errors naming rows."""
    return CANONICAL_SCHEMA.validate(reviews, lazy=True)
