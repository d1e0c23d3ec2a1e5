"""The one table style (reporting.tables.show) and the figures a report draws (reporting.figures):
numbers as a reader expects them, no index artefacts, figures at the width shown, alt text
from the data (issue #24)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from reviewlab.reporting import analysis, results  # noqa: E402
from reviewlab.reporting.figures import DPI, MAX_WIDTH, describe, draw  # noqa: E402
from reviewlab.reporting.tables import show  # noqa: E402


def cells(frame: pd.DataFrame, **options) -> tuple[list[str], list[list[str]], BeautifulSoup]:
    """(header, body rows, the soup) of ``show(frame)``."""
    soup = BeautifulSoup(show(frame, **options).data, "html.parser")
    rows = soup.find("table").find_all("tr")
    header = [th.get_text() for th in rows[0].find_all("th")]
    return header, [[td.get_text() for td in r.find_all(["td", "th"])] for r in rows[1:]], soup


def test_numbers_print_as_a_reader_expects():
    frame = pd.DataFrame(
        {"rows": [8202.0, 3.0], "test_rmse": [0.91234, 1.0], "review_id": [12345, 7]},
        index=pd.Index(["a", "b"], name="model"),
    )
    header, body, soup = cells(frame)
    assert header == ["model", "rows", "test RMSE", "review id"]  # one header row, acronyms
    assert body == [["a", "8,202", "0.912", "12345"], ["b", "3", "1.000", "7"]]
    assert len(soup.find_all("tr")) == 3 and not soup.select(".table-note")
    assert cells(frame, digits={"test_rmse": 4})[1][0][2] == "0.9123"


def test_row_numbers_are_dropped_and_missing_values_explained():
    frame = pd.DataFrame({"model": ["a", "b"], "C": [1.0, np.nan], "when": [pd.NaT, pd.NaT]})
    header, body, soup = cells(frame.iloc[::-1], missing="not a setting of this model")
    assert header == ["model", "C", "when"] and body == [["b", "-", "-"], ["a", "1", "-"]]
    assert soup.select_one(".table-note").get_text() == "-: not a setting of this model"


def test_text_is_escaped_shortened_between_words_and_intervals_kept_whole():
    text = "<b>great</b> strings " * 30
    frame = pd.DataFrame({"text": [text], "rmse": ["0.912 [0.880, 0.940]"]})
    _, body, soup = cells(frame, chars=60)
    shown = body[0][0]
    assert shown.endswith(" …") and len(shown) <= 60 and text.startswith(shown[:-2] + " ")
    assert not soup.find("b") and soup.find("td", class_="ci").get_text() == body[0][1]
    style = soup.find("style").get_text()
    assert "text-align: left" in style and "white-space: nowrap" in style


def test_multiindex_columns_become_one_header_row():
    frame = pd.DataFrame(
        [[1.5, 2.5]], columns=pd.MultiIndex.from_tuples([("rmse", "x"), ("mae", "y")])
    )
    header, body, _ = cells(frame)
    assert header == ["RMSE x", "MAE y"] and body == [["1.500", "2.500"]]


def entry(values: dict[str, float]) -> dict[str, dict[str, float]]:
    """A model's ``test`` metrics with CI bounds 0.1 either side."""
    test = {}
    for metric, value in values.items():
        test |= {metric: value, f"{metric}_low": value - 0.1, f"{metric}_high": value + 0.1}
    return {"test": test}


PAYLOAD = {
    "models": {
        name: entry({"rmse": v, "mae": v / 2, "accuracy": 0.5, "macro_f1": 0.3})
        for name, v in (("mean_majority", 1.1), ("lightgbm", 0.9))
    }
}


def test_four_metrics_are_drawn_at_the_width_shown_with_their_values_as_alt_text():
    fig = results.plot_comparison(PAYLOAD, ("rmse", "mae", "accuracy", "macro_f1"))
    assert fig.get_size_inches()[0] * DPI <= MAX_WIDTH
    assert min(ax.get_position().width for ax in fig.axes) * fig.get_size_inches()[0] >= 3
    assert min(t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels()) >= 8
    drawn = draw(fig)
    data, metadata = drawn._repr_mimebundle_()
    assert data["image/png"].startswith(b"\x89PNG") and metadata["image/png"]["alt"] == drawn.alt
    assert drawn.alt.startswith("4 panels. test RMSE (95% CI)")
    assert "lightgbm 0.9 [0.8, 1]" in drawn.alt and "mean_majority 0.55 [0.45, 0.65]" in drawn.alt


def test_confusion_rows_are_labelled_level_and_named_in_the_alt_text():
    predictions = pd.DataFrame(
        {"model": "m", "split": "test", "rating": [1, 2, 5, 5], "predicted_class": [1, 3, 5, 4]}
    )
    fig = results.plot_confusion(predictions, "m")
    assert {t.get_rotation() for t in fig.axes[0].get_yticklabels()} == {0.0}
    assert "5 (n=2): 0 0 0 1 1" in describe(fig)


def test_box_plots_name_each_median_and_its_quartiles():
    predictions = pd.DataFrame({"rating": [1] * 5 + [5] * 5, "prediction": [*range(1, 6)] * 2})
    text = describe(analysis.plot_calibration(predictions))
    assert "1 median 3 (quartiles 2 to 4), 5 median 3 (quartiles 2 to 4)" in text


def test_length_buckets_stay_in_length_order():
    words = pd.Series([1, 5, 40, 200, 900, 31, 60, 120])
    predictions = pd.DataFrame(
        {"prediction": 3.0, "rating": 3, "predicted_class": 3}, index=range(10, 18)
    )
    table = analysis.errors_by(predictions, analysis.length_buckets(words), "words")
    starts = [int(label.split("-")[0]) for label in table.index]
    assert starts == sorted(starts) and table["n"].sum() == len(words)


@pytest.mark.parametrize("alt", [None, "given"])
def test_draw_closes_the_figure(alt):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["a", "b"], [3, 5])
    drawn = draw(fig, alt)
    assert fig.number not in plt.get_fignums()
    assert drawn.alt == (alt or "Chart: a 3, b 5.")
