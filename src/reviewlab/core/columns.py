"""The canonical review table's columns, in order (their contract: :mod:`reviewlab.core.schema`).

A module of its own so that validating params.yaml needs neither pandas nor pandera."""

CANONICAL_COLUMNS = [
    "review_id",
    "user_id",
    "item_id",
    "rating",
    "title",
    "text",
    "timestamp",
    "helpful_votes",
    "total_votes",
    "source_row",
]
#: Columns a dataset may map from its source (``source_row`` is the loader's own).
MAPPABLE_COLUMNS = tuple(c for c in CANONICAL_COLUMNS if c != "source_row")
#: Identifier columns: read as text from any file (``0739079891`` keeps its leading zero).
ID_COLUMNS = ("review_id", "user_id", "item_id")
