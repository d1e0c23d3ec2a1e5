"""Typed ``params.yaml`` (pydantic): loaded and checked before any stage does work.

An unknown key, a wrong type or an out-of-range value fails at once with a message that names
the key and the allowed values, e.g. ``finetune.adversarial.epsilon: Input should be greater
than or equal to 0 (got -1.0)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reviewlab.core.artifacts import project_root
from reviewlab.core.columns import MAPPABLE_COLUMNS
from reviewlab.core.errors import Problem, ReviewlabError

#: A number as written in params.yaml: ints stay ints (``C: 10`` is reported as ``10``).
Real = int | float
Fraction = Annotated[Real, Field(gt=0, lt=1)]
NonNegative = Annotated[Real, Field(ge=0)]
Positive = Annotated[int, Field(gt=0)]
Metric = Literal["rmse", "mae", "accuracy", "macro_f1", "qwk"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class Block(BaseModel):
    """A params.yaml block: unknown keys and values of the wrong type (``"32"`` for a number,
    ``true`` for a rating) are errors, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RatingScale(Block):
    """The scale a dataset's ratings are on (``{min: 0, max: 10}``); each rating ``r`` in
    ``[min, max]`` becomes ``1 + 4 * (r - min) / (max - min)`` rounded to the nearest star
    (halves up), so ``min`` is 1 star and ``max`` is 5."""

    min: Real
    max: Real

    @model_validator(mode="after")
    def _ordered(self) -> RatingScale:
        if not self.min < self.max:
            raise ValueError(f"rating_scale: min ({self.min}) must be below max ({self.max})")
        return self


SplitStrategy = Literal["stratified", "temporal", "cold_start_user", "cold_start_item"]
#: Canonical columns that together identify a repeated review (``dedupe``)
DedupeKey = Annotated[list[Literal[MAPPABLE_COLUMNS]], Field(min_length=1)]  # type: ignore[valid-type]


class SplitOverride(Block):
    """A dataset's own split settings, merged over the global ``split`` block."""

    strategy: SplitStrategy | None = None
    valid_frac: Fraction | None = None
    test_frac: Fraction | None = None


class DatasetParams(Block):
    """A ``datasets.<name>`` block: see :mod:`reviewlab.data.loaders` and docs/data.md."""

    adapter: Literal["amazon_jsonl", "clothing_csv", "generic"]
    path: str
    max_rows: Positive | None = None
    format: Literal["jsonl", "csv"] | None = None
    columns: dict[str, str] | None = None
    keep: dict[str, str] | None = None
    #: ingest fails (naming the top reasons) when a larger share of the rows is quarantined
    max_quarantine_rate: Annotated[Real, Field(ge=0, le=1)] = 0.2
    #: the ratings' own scale, mapped linearly onto 1-5 (default: the ratings are 1-5 stars)
    rating_scale: RatingScale | None = None
    #: explicit ratings: source value (as text, e.g. "A" or "10") -> stars 1-5
    rating_map: dict[str, Annotated[int, Field(ge=1, le=5)]] | None = None
    #: true: an optional field (timestamp, votes) that does not parse quarantines its row
    #: (``bad_value``); false: the value becomes null and is counted in data_quality.json
    strict_optional: bool = False
    #: the columns that identify a repeated review here (default: the global ``dedupe``)
    dedupe: DedupeKey | None = None
    #: this dataset's split settings, merged over the global ``split`` block
    split: SplitOverride | None = None
    #: this dataset's fine-tune: a partial ``finetune`` block merged over ``finetune``
    finetune: dict[str, Any] = {}

    @model_validator(mode="after")
    def _generic_needs_columns(self) -> DatasetParams:
        if self.adapter == "generic" and not self.columns:
            raise ValueError(
                "the generic adapter needs `columns` (canonical name -> source field), "
                "e.g. columns: {text: body, rating: stars}"
            )
        if self.adapter == "generic":
            missing = [c for c in ("text", "rating") if c not in (self.columns or {})]
            if missing:
                raise ValueError(
                    f"adapter 'generic' maps no source field to required column(s) {missing}: "
                    f"add them to `columns`, e.g. {{{missing[0]}: <field of your file>}}"
                )
        unknown = sorted(set(self.columns or {}) - set(MAPPABLE_COLUMNS))
        if unknown:
            raise ValueError(
                f"columns: {unknown} are not canonical columns "
                f"(allowed: {', '.join(MAPPABLE_COLUMNS)}); "
                "carry other fields along with `keep`"
            )
        clash = sorted(set(self.keep or {}) & {*MAPPABLE_COLUMNS, "source_row"})
        if clash:
            raise ValueError(f"keep: {clash} are canonical columns: map them under `columns`")
        if self.rating_scale is not None and self.rating_map is not None:
            raise ValueError("give either rating_scale or rating_map, not both")
        return self


class EdaParams(Block):
    tokenizer: str | None = None
    examples: Annotated[int, Field(ge=0)] = 5


class SplitParams(Block):
    strategy: SplitStrategy
    valid_frac: Fraction
    test_frac: Fraction

    @model_validator(mode="after")
    def _room_for_training(self) -> SplitParams:
        if self.valid_frac + self.test_frac >= 1:
            raise ValueError("valid_frac + test_frac must leave rows for training (< 1)")
        return self


class TfidfParams(Block):
    max_features: Positive
    ngram_min: Positive = 1
    ngram_max: Positive
    min_df: Positive

    @model_validator(mode="after")
    def _ngram_order(self) -> TfidfParams:
        if self.ngram_min > self.ngram_max:
            raise ValueError("ngram_min must be <= ngram_max")
        return self


class FeatureParams(Block):
    tfidf_word: TfidfParams
    tfidf_char: TfidfParams


class AuditParams(Block):
    min_words: Annotated[int, Field(ge=1)]
    near_duplicate_cosine: Annotated[Real, Field(gt=0, le=1)]
    max_same_user_duplicate_share: Annotated[Real, Field(ge=0, le=1)]


class LightgbmParams(Block):
    n_estimators: Positive
    learning_rate: Annotated[Real, Field(gt=0, le=1)]
    num_leaves: Annotated[int, Field(ge=2)]
    min_child_samples: Positive
    colsample_bytree: Annotated[Real, Field(gt=0, le=1)]
    early_stopping_rounds: Positive


class BaselineParams(Block):
    models: list[
        Literal["mean_majority", "user_item_bias", "tfidf_ridge", "tfidf_logreg", "lightgbm"]
    ]
    selection_metric: Metric
    bias_reg: list[NonNegative]
    ridge_alpha: list[Annotated[Real, Field(gt=0)]]
    logreg_C: list[Annotated[Real, Field(gt=0)]]
    lightgbm: LightgbmParams


class FailureParams(Block):
    collapse_share: Fraction  # one predicted class on at least this share of rows ...
    base_rate_gap: Fraction  # ... and this much above its training share: collapsed


class EvaluationParams(Block):
    n_bootstrap: Positive
    ci_level: Fraction
    power: Fraction
    correction: Literal["holm", "none"]
    margins: dict[str, Annotated[Real, Field(gt=0)]]
    failure: FailureParams

    def ci(self, seed: int) -> dict[str, Any]:
        """Keyword arguments of the bootstrap CI functions (:mod:`reviewlab.core.evaluation`)."""
        return {"n_resamples": self.n_bootstrap, "level": self.ci_level, "seed": seed}

    def design(self, seed: int = 0) -> Any:
        """How comparisons are decided: a :class:`reviewlab.core.evaluation.inference.Design`
        (imported here: validating params must not import the scientific stack)."""
        from reviewlab.core.evaluation.inference import Design

        return Design(self.n_bootstrap, self.ci_level, self.power, self.correction, seed)

    def margin(self, metric: str) -> float:
        """The equivalence margin of ``metric`` (params ``evaluation.margins``)."""
        if metric not in self.margins:
            raise KeyError(f"evaluation.margins: no margin for '{metric}' (have {self.margins})")
        return float(self.margins[metric])


class InputParams(Block):
    max_length: Annotated[int, Field(ge=8, le=8192)]
    head_tokens: Annotated[int, Field(ge=0)]
    title_max_tokens: Annotated[int, Field(ge=0)]
    pad_to_multiple_of: Positive | None = 8


class DropoutParams(Block):
    hidden: Annotated[Real, Field(ge=0, lt=1)]
    attention: Annotated[Real, Field(ge=0, lt=1)]
    head: Annotated[Real, Field(ge=0, lt=1)]


class TrainParams(Block):
    epochs: Annotated[Real, Field(gt=0)]
    max_steps: Positive | None = None
    batch_size: Positive
    eval_batch_size: Positive
    grad_accum: Positive
    lr: Annotated[Real, Field(gt=0, le=1)]
    head_lr: Annotated[Real, Field(gt=0, le=1)] | None = None
    weight_decay: NonNegative
    warmup_ratio: Annotated[Real, Field(ge=0, lt=1)]
    scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup", "polynomial"]
    bf16: Literal["auto", True, False]
    group_by_length: bool
    eval_every: Annotated[Real, Field(gt=0)] | None
    log_every: Positive
    early_stopping_patience: Positive
    threads: Positive | None = None


class AdversarialParams(Block):
    method: Literal["none", "fgm", "pgd", "freelb"]
    epsilon: NonNegative
    alpha: NonNegative
    steps: Positive
    init_mag: NonNegative

    @model_validator(mode="after")
    def _ascent_needs_a_step(self) -> AdversarialParams:
        if self.method in ("pgd", "freelb") and self.alpha <= 0:
            raise ValueError(
                f"adversarial.alpha must be > 0 for method {self.method} (the size of each "
                f"ascent step; got {self.alpha})"
            )
        return self


class AugmentParams(Block):
    method: Literal["none", "delete", "swap", "substitute", "typo"]
    p: Annotated[Real, Field(ge=0, le=1)]
    copies: Annotated[int, Field(ge=0)]


class LoraParams(Block):
    enabled: bool
    r: Positive
    alpha: Annotated[Real, Field(gt=0)]
    dropout: Annotated[Real, Field(ge=0, lt=1)]
    target_modules: list[str]


class RegularizationParams(Block):
    rdrop_alpha: NonNegative
    label_smoothing: Annotated[Real, Field(ge=0, lt=1)]
    llrd_decay: Annotated[Real, Field(gt=0, le=1)]


class FinetuneParams(Block):
    #: the dataset trained on: set by the stage composing the config, never in params.yaml
    dataset: str | None = None
    name: str
    model_name_or_path: str | None
    attn_implementation: Literal["sdpa", "eager"]
    label_column: str
    head: Literal["regression", "classification", "binary"]
    selection_metric: Metric | Literal["loss", "f1", "roc_auc"]
    behaviour_features: bool
    freeze_encoder: bool = False
    max_train_rows: Positive | None
    max_valid_rows: Positive | None = None  # fixed seeded subset of validation (null: all)
    #: a dataset's fine-tune trains once per seed and reports the mean (null: the global seed)
    seeds: Annotated[list[int], Field(min_length=1)] | None = None
    class_weights: Literal["none", "balanced"] = "none"  # balanced: rare classes weigh more
    input: InputParams
    dropout: DropoutParams
    train: TrainParams
    adversarial: AdversarialParams
    augment: AugmentParams
    lora: LoraParams
    regularization: RegularizationParams

    @field_validator("model_name_or_path")
    @classmethod
    def _model_exists(cls, name: str | None) -> str | None:
        check_model_path(name)
        return name


class RobustnessParams(Block):
    seed: int
    rows: Positive | None
    levels: dict[str, Annotated[Real, Field(gt=0, le=1)]]


class TuningParams(Block):
    """Equal tuning of the grid's variants (stage ``tune``): every variant in ``variants`` has
    one candidate (a partial ``finetune`` block over the budget) per trial."""

    variants: list[str]
    trials: Annotated[list[str], Field(min_length=1)]
    seeds: Annotated[list[int], Field(min_length=1)]
    space: dict[str, dict[str, dict[str, Any]]]

    @model_validator(mode="after")
    def _same_trials_everywhere(self) -> TuningParams:
        for variant in self.variants:
            given = sorted(self.space.get(variant, {}))
            if given != sorted(self.trials):
                raise ValueError(
                    f"tuning.space.{variant}: needs one candidate per trial {self.trials} "
                    f"(the same budget for every variant), got {given}"
                )
        return self


class AblationParams(Block):
    dataset: str
    seeds: Annotated[list[int], Field(min_length=1)]
    reference: str
    compare: dict[str, str] = {}
    valid_rows: Annotated[int, Field(ge=0)] | None
    test_rows: Positive | None
    train_rows: Annotated[int, Field(ge=0)]  # training rows scored after training (0: none)
    budget: dict[str, Any]
    robustness: RobustnessParams
    variants: dict[str, dict[str, Any] | None]  # every defined variant (the catalogue)
    grid: Annotated[list[str], Field(min_length=1)]  # the variants this profile runs
    tuning: TuningParams

    @model_validator(mode="after")
    def _names_exist(self) -> AblationParams:
        names = set(self.variants)
        if self.reference not in self.grid:
            raise ValueError(f"the reference '{self.reference}' must be in the grid {self.grid}")
        tuned = self.tuning.variants
        for name in [*self.grid, self.reference, *self.compare, *self.compare.values(), *tuned]:
            if name not in names:
                raise ValueError(f"variant '{name}' is not defined (known: {sorted(names)})")
        return self


class LabelMap(Block):
    from_: str = Field(alias="from")
    map: dict[int | float | str, int]


class LabelBins(Block):
    from_: str = Field(alias="from")
    bins: Annotated[list[Real], Field(min_length=3)]

    @field_validator("bins")
    @classmethod
    def _increasing(cls, edges: list[Real]) -> list[Real]:
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ValueError("bins must be strictly increasing")
        return edges


class TaskParams(Block):
    dataset: str
    label: str | LabelMap | LabelBins
    head: Literal["binary", "classification"]
    lexicon: bool = False


class TaskBudget(Block):
    test_rows: Positive | None
    valid_rows: Positive | None
    logreg_C: Annotated[list[Annotated[Real, Field(gt=0)]], Field(min_length=1)]
    finetune: dict[str, Any]


class EmbedParams(Block):
    dataset: str
    model_name_or_path: str | None
    max_length: Positive
    batch_size: Positive


class OpinionParams(Block):
    dataset: str
    category: str
    per_category: Positive
    candidates: Positive
    max_docs: Positive
    products: Positive
    min_mentions: Positive
    con_share: Annotated[Real, Field(gt=0, le=1)]
    exclude: list[str] = []


class SegmentParams(Block):
    ks: Annotated[list[Annotated[int, Field(ge=2)]], Field(min_length=1)]
    pca_components: Positive
    terms: Positive


class RecommendParams(Block):
    als_factors: Annotated[list[Positive], Field(min_length=1)]
    als_regularization: Annotated[list[NonNegative], Field(min_length=1)]
    hybrid_alpha: Annotated[list[Annotated[Real, Field(ge=0, le=1)]], Field(min_length=1)]


class LongtailParams(Block):
    shares: Annotated[list[Fraction], Field(min_length=2, max_length=2)]
    recommend: RecommendParams


class EnsembleParams(Block):
    """The stacked ensemble (stage ``ensemble``): :mod:`reviewlab.models.stacking`."""

    members: Annotated[list[str], Field(min_length=2)]  # rating models of the dataset
    behaviour: list[str] = []  # features-table columns of training history, as log(1 + n)
    alphas: Annotated[list[Annotated[Real, Field(gt=0)]], Field(min_length=1)]
    folds: Annotated[int, Field(ge=2)]


class TransferPair(Block):
    """A store's models scored on another store's test split (stage ``transfer``)."""

    source: str  # the dataset whose fine-tune and best baseline are borrowed
    target: str  # the dataset whose test split they score


class LearningCurveParams(Block):
    """Learning curve (stages ``learn`` and ``learning_curve``): variants of
    ``ablations.variants`` trained on ``sizes`` training rows, paired by seed; the candidate (a
    variant but the reference) best on validation is compared with the reference."""

    datasets: list[str]  # one curve per dataset; empty: no stages (the cpu profile)
    sizes: Annotated[list[Positive], Field(min_length=2)]  # training rows, increasing
    seeds: Annotated[list[int], Field(min_length=1)]
    reference: str
    variants: Annotated[list[str], Field(min_length=2)]  # the reference and the candidates

    @model_validator(mode="after")
    def _increasing_with_reference(self) -> LearningCurveParams:
        if any(b <= a for a, b in zip(self.sizes, self.sizes[1:], strict=False)):
            raise ValueError(f"learning_curve.sizes must increase, got {self.sizes}")
        if self.reference not in self.variants:
            raise ValueError(f"learning_curve.reference '{self.reference}' is not in its variants")
        return self

    @property
    def candidates(self) -> list[str]:
        """The variants compared with the reference (the one best on validation is)."""
        return [v for v in self.variants if v != self.reference]


class Params(Block):
    profile: str  # the conf/profile/<name>.yaml these params were composed with
    seed: int
    datasets: dict[str, DatasetParams]
    eda: EdaParams
    dedupe: DedupeKey
    split: SplitParams
    features: FeatureParams
    audit: AuditParams
    baselines: BaselineParams
    evaluation: EvaluationParams
    finetune: FinetuneParams
    ablations: AblationParams
    tasks: dict[str, TaskParams]
    task_budget: TaskBudget
    embed: EmbedParams
    opinions: OpinionParams
    segments: SegmentParams
    longtail: LongtailParams
    ensemble: EnsembleParams
    transfer: dict[str, TransferPair]
    learning_curve: LearningCurveParams

    @model_validator(mode="after")
    def _datasets_exist(self) -> Params:
        if self.finetune.dataset is not None:
            raise ValueError(
                "finetune.dataset: the finetune stage runs on every dataset in `datasets`; "
                "remove the key (a dataset's own settings go in datasets.<name>.finetune)"
            )
        for where, name in (
            ("ablations.dataset", self.ablations.dataset),
            ("embed.dataset", self.embed.dataset),
            ("opinions.dataset", self.opinions.dataset),
            *((f"tasks.{k}.dataset", t.dataset) for k, t in self.tasks.items()),
            *((f"transfer.{k}.source", t.source) for k, t in self.transfer.items()),
            *((f"transfer.{k}.target", t.target) for k, t in self.transfer.items()),
            *(("learning_curve.datasets", d) for d in self.learning_curve.datasets),
        ):
            if name not in self.datasets:
                raise ValueError(f"{where} '{name}' is not in datasets ({sorted(self.datasets)})")
        for key, pair in self.transfer.items():
            if pair.source == pair.target:
                raise ValueError(f"transfer.{key}: source and target are both '{pair.source}'")
        for name in self.learning_curve.variants:
            if name not in self.ablations.variants:
                raise ValueError(
                    f"learning_curve: variant '{name}' is not in ablations.variants "
                    f"(known: {sorted(self.ablations.variants)})"
                )
        return self


def check_model_path(name: str | None) -> None:
    """A local path (absolute, ``./``, ``../``, ``~``) must exist; anything else must look like
    a Hugging Face hub id (``name`` or ``org/name``). ``None`` is the packaged default."""
    if name is None or Path(name).expanduser().exists():
        return
    if name.startswith(("/", "./", "../", "~")) or not _HUB_ID.match(name):
        raise ValueError(f"model path '{name}' does not exist (and is not a hub id like org/name)")


class ParamsError(ReviewlabError, ValueError):
    """``params.yaml`` does not match the schema; the message lists every offending key."""


def read_params(path: str | Path | None = None) -> dict[str, Any]:
    """The raw mapping of ``params.yaml`` (default: the project's), unvalidated."""
    file = Path(path) if path else project_root() / "params.yaml"
    try:
        with open(file, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ParamsError(f"{file}: no such params file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        column = f" (column {mark.column + 1})" if mark else ""
        line = mark.line + 1 if mark else None
        raise ParamsError(Problem(f"not valid YAML: {problem}{column}", str(file), line)) from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{file}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def lookup(raw: dict[str, Any], dotted: str) -> Any:
    """``lookup(p, "a.b")`` is ``p["a"]["b"]``, with an error naming the missing key."""
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ParamsError(f"params.yaml: key '{dotted}' is not defined (missing '{part}')")
        node = node[part]
    return node


def partial(values: dict[str, Any]) -> Params:
    """A typed :class:`Params` holding only ``values`` (dotted params.yaml keys -> raw values,
    as a stage's dvc.yaml ``params:`` declares them), each validated against its schema type.

    Reading a key the stage did not declare raises ``AttributeError`` (or ``KeyError`` inside
    a mapping such as ``datasets``): a stage cannot depend on a param DVC does not track.
    """
    tree: dict[str, Any] = {}
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = _Leaf(_validated(dotted, value))
    return _construct(Params, tree)


class _Leaf:
    def __init__(self, value: Any) -> None:
        self.value = value


def _annotation(dotted: str) -> Any:
    """The schema type of a dotted key (``dict[str, X]`` levels are walked by key)."""
    import typing

    node: Any = Params
    for part in dotted.split("."):
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            fields = {f.alias or n: f for n, f in node.model_fields.items()}
            if part not in fields:
                raise ParamsError(f"params.yaml: '{dotted}' is not a key of the schema")
            node = fields[part].annotation
        else:  # dict[str, X]
            node = typing.get_args(node)[-1]
    return node


def _unwrap(node: Any) -> Any:
    """``X | None`` -> ``X`` (the one non-None member of a union of two)."""
    import typing

    args = [a for a in typing.get_args(node) if a is not type(None)]
    if typing.get_origin(node) is not dict and len(args) == 1:
        return args[0]
    return node


def _validated(dotted: str, value: Any) -> Any:
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(_annotation(dotted)).validate_python(value, strict=True)
    except ValidationError as err:
        raise ParamsError(*problems(err, "params.yaml", dotted, lines=False)) from None


def _construct(model: Any, tree: dict[str, Any]) -> Any:
    """``model`` built from ``tree`` without defaults for what is absent (partial view)."""
    model = _unwrap(model)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):  # a mapping level
        import typing

        inner = typing.get_args(model)[-1]
        return {
            k: v.value if isinstance(v, _Leaf) else _construct(inner, v) for k, v in tree.items()
        }
    fields = {f.alias or n: (n, f) for n, f in model.model_fields.items()}
    values = {}
    for key, sub in tree.items():
        name, info = fields[key]
        values[name] = sub.value if isinstance(sub, _Leaf) else _construct(info.annotation, sub)
    view = model.model_construct(**values)
    for name in set(model.model_fields) - set(values):  # no silent defaults in a partial view
        view.__dict__.pop(name, None)
    return view


def dataset_config(params: Params, dataset: str) -> DatasetParams:
    """The ``datasets.<name>`` block, with a clear error naming the known datasets."""
    if dataset not in params.datasets:
        raise ParamsError(
            f"params.yaml: datasets.{dataset} is not defined (known: {sorted(params.datasets)})"
        )
    return params.datasets[dataset]


_NOT_KEYS = ("function-after", "literal")
_TYPES = {"int", "float", "str", "bool"}


def problems(
    err: ValidationError, file: str, within: str | None = None, lines: bool = True
) -> list[Problem]:
    """One :class:`Problem` per offending key of ``err``, with its line in ``file``.

    ``within``: the dotted key the validated value sits at (a partial view's key), or a
    phrase naming a composed block (no line: the block is merged from several). ``lines``:
    look the keys up in ``file`` (not for values handed over without their file).
    """
    by_key: dict[str, Problem] = {}
    for e in err.errors():  # a union (int | float) reports once per member: keep the last
        loc = [str(p) for p in e["loc"] if not str(p).startswith(_NOT_KEYS) and p not in _TYPES]
        key = ".".join(loc)
        if e["type"] == "extra_forbidden":
            known = ", ".join(_known_keys(err.title, loc[:-1]))
            what, expected, fix = "unknown key", f"one of: {known}", None
        elif e["type"] == "missing":
            fix = "add it (the project's params.yaml has every key)"
            what, expected = "missing", None
        else:
            value = e.get("input")
            what = e["msg"] + ("" if isinstance(value, dict) else f" (got {value!r})")
            quoted = isinstance(value, str) and _NUMBER.fullmatch(value)
            expected, fix = None, f"write {value} without quotes" if quoted else None
        field = f"{within}.{key}" if within and _DOTTED.fullmatch(within) else key
        composed = within and not _DOTTED.fullmatch(within)
        line = yaml_line(Path(file), field) if lines and not composed else None
        field = f"{within}: {key}" if composed else field
        by_key[key] = Problem(what, file, line, field, expected, fix)
    return list(by_key.values())


_NUMBER = re.compile(r"[-+]?[\d.]+(?:e[-+]?\d+)?")
_DOTTED = re.compile(r"[A-Za-z_][\w.-]*")


def yaml_line(file: Path, dotted: str) -> int | None:
    """1-based line of the deepest existing part of ``dotted`` in a YAML file (None: unknown)."""
    try:
        node = yaml.compose(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in dotted.split("."):
        if isinstance(node, yaml.MappingNode):
            hit = [(k, v) for k, v in node.value if k.value == part]
            if not hit:
                break
            line, node = hit[0][0].start_mark.line + 1, hit[0][1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _known_keys(title: str, parents: list[str]) -> list[str]:
    """Field names of the schema block at ``parents`` (dict levels are skipped by key)."""
    import typing

    node: Any = {"Params": Params, "FinetuneParams": FinetuneParams}.get(title, Params)
    for part in parents:
        if isinstance(node, type) and issubclass(node, BaseModel):
            node = node.model_fields[part].annotation
        else:  # dict[str, X]: the part is a key
            node = typing.get_args(node)[-1]
        args = [a for a in typing.get_args(node) if a is not type(None)]
        if typing.get_origin(node) is not dict and len(args) == 1:  # X | None
            node = args[0]
    return (
        sorted(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []
    )
