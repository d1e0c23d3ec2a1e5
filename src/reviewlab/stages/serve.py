"""Scoring new reviews with saved models (``reviewlab predict --ensemble <dataset>``): not a
stage, a reader of what stages ``baselines``, ``finetune`` and ``ensemble`` saved."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.data.features import HISTORY_KEYS, FeatureSet, featurize
from reviewlab.models.classical import Scorer
from reviewlab.models.encoder.predict import predict_frame
from reviewlab.models.stacking import StackModel


def predict(
    reviews: pd.DataFrame, dataset: str, batch_size: int = 64, catalogue: Catalogue | None = None
) -> pd.DataFrame:
    """``reviews`` (``text``; optional ``title``, ``user_id``, ``item_id``, ``helpful_votes``,
    ``total_votes``) with the stacked ensemble's ``prediction`` and ``predicted_class``, and each
    member's prediction (``<member>_prediction``): the fitted baselines and the fine-tuned
    encoder of ``dataset``, history features from its training split (none for a newcomer)."""
    catalogue = catalogue or Catalogue()
    _check_saved(catalogue, dataset)
    reviews = _checked_input(reviews.reset_index(drop=True))
    trained = FeatureSet.load(catalogue.features(dataset))
    for column in HISTORY_KEYS.values():  # the training split's id type: ids match as text
        if column in reviews:
            reviews[column] = reviews[column].astype(trained.table[column].dtype)
    fs = featurize(reviews, trained, FeatureSet.load_vectorizers(catalogue.features(dataset)))
    model: StackModel = joblib.load(catalogue.scorers(catalogue.ensemble(dataset)))
    scorers: dict[str, Scorer] = joblib.load(catalogue.scorers(catalogue.baseline_models(dataset)))
    encoder = catalogue.read_metric(dataset, "finetune")["best_on_valid"]
    rows, members = np.arange(len(fs.table)), pd.DataFrame(index=fs.table.index)
    for name in model.members:
        if name in scorers:
            members[name] = scorers[name].predict(fs, rows)[0]
        elif name == encoder:  # text and title as given, history as featurised
            text = fs.table.drop(columns="doc").assign(text=reviews["text"], title=reviews["title"])
            scored = predict_frame(catalogue.finetune_model(dataset), text, batch_size=batch_size)
            members[name] = scored["prediction"].to_numpy()
        else:
            raise ValueError(f"ensemble member {name} is neither a baseline nor the fine-tune")
    estimate, classes = model.predict(members, fs.table)
    out = reviews.assign(prediction=estimate, predicted_class=classes)
    return out.join(members.add_suffix("_prediction"))


def _check_saved(catalogue: Catalogue, dataset: str) -> None:
    """Every saved model the ensemble needs is there, else one line naming what to run."""
    needed = [
        catalogue.features(dataset),
        catalogue.scorers(catalogue.baseline_models(dataset)),
        catalogue.finetune_model(dataset),
        catalogue.metric(dataset, "finetune"),
        catalogue.scorers(catalogue.ensemble(dataset)),
    ]
    missing = [str(p.relative_to(catalogue.root)) for p in needed if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"no saved ensemble of '{dataset}' (missing {', '.join(missing)}): run "
            f"`dvc repro ensemble@{dataset}` (or `dvc pull` its outputs), or name a dataset "
            "of params.yaml"
        )


def _checked_input(reviews: pd.DataFrame) -> pd.DataFrame:
    """Text and title as strings; a review without text is refused by row (ingest would
    quarantine it)."""
    if "text" not in reviews:
        raise KeyError(f"no text column in the input (columns: {list(reviews)}): --text-column")
    text = reviews["text"].astype("string").str.strip()
    empty = np.flatnonzero(text.isna() | (text == "")) + 1
    if len(empty):
        raise ValueError(
            f"input rows {', '.join(map(str, empty[:10]))}: no review text; remove them "
            f"({len(empty)} rows)"
        )
    title = reviews["title"] if "title" in reviews else pd.Series("", index=reviews.index)
    return reviews.assign(text=text.astype(str), title=title.fillna("").astype(str))
