"""Scoring new reviews with saved models (``reviewlab predict --ensemble <dataset>``): not a
stage, a reader of what stages ``baselines``, ``finetune`` and ``ensemble`` saved."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd

from reviewlab.core.artifacts import Catalogue
from reviewlab.data.features import FeatureSet, featurize
from reviewlab.models.classical import Scorer
from reviewlab.models.encoder.predict import predict_frame
from reviewlab.models.stacking import StackModel


def predict(
    reviews: pd.DataFrame, dataset: str, catalogue: Catalogue | None = None
) -> pd.DataFrame:
    """``reviews`` (``text``; optional ``title``, ``user_id``, ``item_id``, votes) with the
    stacked ensemble's ``prediction`` and ``predicted_class``, and each member's prediction
    (``<member>_prediction``): the fitted baselines and the fine-tuned encoder of ``dataset``,
    their history features from its training split."""
    if "text" not in reviews:
        raise KeyError(f"no text column in the input (columns: {list(reviews)}): --text-column")
    catalogue = catalogue or Catalogue()
    trained = FeatureSet.load(catalogue.features(dataset))
    fs = featurize(reviews, trained, FeatureSet.load_vectorizers(catalogue.features(dataset)))
    model: StackModel = joblib.load(catalogue.scorers(catalogue.ensemble(dataset)))
    scorers: dict[str, Scorer] = joblib.load(catalogue.scorers(catalogue.baseline_models(dataset)))
    rows, members = np.arange(len(fs.table)), pd.DataFrame(index=fs.table.index)
    for name in model.members:
        if name in scorers:
            members[name] = scorers[name].predict(fs, rows)[0]
        else:  # the fine-tuned encoder: text and title as given, history as featurised
            title = reviews["title"].to_numpy() if "title" in reviews else ""
            text = fs.table.drop(columns="doc").assign(text=reviews["text"].to_numpy(), title=title)
            scored = predict_frame(catalogue.finetune_model(dataset), text.reset_index(drop=True))
            members[name] = scored["prediction"].to_numpy()
    estimate, classes = model.predict(members, fs.table)
    out = reviews.reset_index(drop=True).assign(prediction=estimate, predicted_class=classes)
    return out.join(members.add_suffix("_prediction"))
