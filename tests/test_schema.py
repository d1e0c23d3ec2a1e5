"""The canonical schema accepts canonical tables and rejects broken ones."""

import pandera.errors
import pytest

from reviewlab.core.schema import validate


def test_valid_table_passes(reviews):
    assert validate(reviews).shape == reviews.shape


@pytest.mark.parametrize(
    ("column", "value"),
    [("rating", 6), ("rating", 0), ("text", "  "), ("helpful_votes", -1), ("source_row", 0)],
)
def test_invalid_values_fail(reviews, column, value):
    broken = reviews.copy()
    broken.loc[3, column] = value
    with pytest.raises(pandera.errors.SchemaErrors):
        validate(broken)


def test_duplicate_ids_fail(reviews):
    broken = reviews.copy()
    broken.loc[1, "review_id"] = broken.loc[0, "review_id"]
    with pytest.raises(pandera.errors.SchemaErrors, match="review_id"):
        validate(broken)
