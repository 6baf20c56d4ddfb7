"""The schema of `params.yaml`: every key, its type, its range and its default.

One pydantic model per section. Unknown keys are refused (`extra="forbid"`) and types are
strict (`batch_size: big` or `bidirectional: "yes"` are errors, not conversions), so a typo or
a wrong value stops the pipeline when `params.yaml` is loaded, before any stage deletes or
writes anything. Defaults are the documented values of docs/pipeline.md, so a section may
leave out any key (`evaluate: {}`). `rnnkeras.pipeline.params.load_params` turns validation errors into
messages that name the key as written in the file.
"""

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

T = TypeVar("T")
PositiveInt = Annotated[int, Field(ge=1)]
Seed = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
Name = Annotated[str, Field(min_length=1)]
# Class labels may be written as numbers (`labels: [1, 2]`); the table holds them as text.
Label = Annotated[
    str, BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
]
# `[min, max]`: YAML gives lists, and strict mode refuses a list where a tuple is declared.
Bounds = Annotated[list[T], Field(min_length=2, max_length=2)]


class Section(BaseModel):
    """A strict section: no unknown keys, no silent type conversions."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CsvParams(Section):
    """`prepare.csv`: the layout of your own CSV (docs/data.md)."""

    path: Name
    task: Literal["classification", "forecasting"]
    time_column: Name
    feature_columns: Annotated[list[Name], Field(min_length=1)]
    sequence_column: Name | None = None
    label_column: Name | None = None
    target_column: Name | None = None
    split_column: Name | None = None
    value_range: Bounds[float] | None = None
    sequence_length: Bounds[PositiveInt] | None = None
    min_rows: PositiveInt = 1
    labels: Annotated[list[Label], Field(min_length=1)] | None = None
    missing: Literal["error", "interpolate"] = "error"

    @model_validator(mode="after")
    def _consistent(self):
        # The dataset spec owns the rules between columns (task needs label or target, ...).
        from rnnkeras.pipeline.data.spec import DatasetSpec

        fields = self.model_dump()
        for key in ("feature_columns", "value_range", "sequence_length", "labels"):
            if fields[key] is not None:
                fields[key] = tuple(fields[key])
        DatasetSpec(name="csv", **fields)
        for key in ("value_range", "sequence_length"):
            bounds = fields[key]
            if bounds is not None and bounds[0] > bounds[1]:
                raise ValueError(
                    f"prepare.csv.{key} must be [min, max] with min <= max. "
                    f"Received: prepare.csv.{key}={list(bounds)}"
                )
        return self


class DigitsParams(Section):
    """`prepare.digits`: how an 8x8 image becomes a sequence (rnnkeras.pipeline.data.digits)."""

    order: Literal["rows", "pixels"] = "rows"


class TranslationParams(Section):
    """`prepare.translation`: the dates task's data size, attention and beam width
    (rnnkeras.pipeline.tasks.translation)."""

    pairs: Annotated[int, Field(ge=100, le=36524)] = 6000
    attention: Literal["luong", "bahdanau"] = "luong"
    beam_width: PositiveInt = 4


class PrepareParams(Section):
    # The keys of rnnkeras.pipeline.data.datasets.DATASETS (a test keeps them equal).
    dataset: Literal[
        "japanese_vowels", "co2", "csv", "digits", "anomaly", "translation", "tagging", "text"
    ] = "japanese_vowels"
    csv: CsvParams | None = None
    translation: TranslationParams = TranslationParams()
    digits: DigitsParams = DigitsParams()
    val_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    test_fraction: Fraction = 0.15
    window: PositiveInt = 52
    horizon: PositiveInt = 13
    seed: Seed = 0

    @model_validator(mode="after")
    def _consistent(self):
        if self.dataset == "csv" and self.csv is None:
            raise ValueError(
                "prepare.csv must describe your file when prepare.dataset is csv. "
                "Received: prepare.csv=None"
            )
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                "prepare.val_fraction + prepare.test_fraction must leave rows for training "
                f"(sum < 1). Received: prepare.val_fraction={self.val_fraction}, "
                f"prepare.test_fraction={self.test_fraction}"
            )
        return self


class ValidateParams(Section):
    max_examples: PositiveInt = 5


class TextTrainParams(Section):
    """`train.text`: the settings that replace the generic `train` ones when
    `prepare.dataset` is `text` (`rnnkeras.pipeline.params.train_settings`): a character
    language model of the reference text needs a wider layer and a larger learning rate than
    the 64-unit default to beat its n-gram, and overfits after 7 epochs (docs/pipeline.md)."""

    units: PositiveInt = 256
    epochs: PositiveInt = 7
    learning_rate: Annotated[float, Field(gt=0.0)] = 0.01


class TrainParams(Section):
    # The Keras backend of the train stage (rnnkeras.pipeline.stages.keras_backend); evaluate and
    # export always run on TensorFlow, which writes the served and exported files.
    backend: Literal["tensorflow", "jax", "torch"] = "tensorflow"
    # The keys of rnnkeras.pipeline.builders.CELLS (a test keeps them equal; this module
    # stays free of Keras so that reading params.yaml is fast).
    cell: Literal[
        "simple",
        "lstm",
        "gru",
        "peephole_lstm",
        "layer_norm_lstm",
        "layer_norm_gru",
        "layer_norm_simple_rnn",
        "indrnn",
        "esn",
        "mingru",
        "minlstm",
    ] = "lstm"
    bidirectional: bool = False
    depth: PositiveInt = 1
    residual: bool = False
    units: PositiveInt = 64
    dropout: Fraction = 0.0
    clipping: Literal["none", "autoclip", "norm", "value", "global_norm"] = "autoclip"
    autoclip_percentile: Annotated[float, Field(gt=0.0, le=100.0)] = 10
    clip_threshold: Annotated[float, Field(gt=0.0)] = 1.0
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 32
    learning_rate: Annotated[float, Field(gt=0.0)] = 0.003
    seed: Seed = 42
    gradient_flow_every: PositiveInt = 10
    # Data-parallel worker processes (rnnkeras.pipeline.distributed): keras.distribution on JAX.
    workers: PositiveInt = 1
    text: TextTrainParams = TextTrainParams()

    @model_validator(mode="after")
    def _workers(self):
        if self.workers > 1 and self.backend != "jax":
            raise ValueError(
                "train.workers > 1 trains data-parallel with keras.distribution, which needs "
                "train.backend: jax (tf.distribute.MultiWorkerMirroredStrategy fails in Keras "
                f"3.15 model.fit: docs/scale.md). Received: train.workers={self.workers}, "
                f"train.backend={self.backend!r}"
            )
        if self.batch_size % self.workers:
            raise ValueError(
                "train.batch_size is the global batch, split evenly over the workers: it must "
                f"be a multiple of train.workers. Received: train.batch_size={self.batch_size}, "
                f"train.workers={self.workers}"
            )
        return self


class EvaluateParams(Section):
    pass


class ExportParams(Section):
    quantize: Annotated[
        list[Literal["none", "float32", "float16", "dynamic", "int8"]], Field(min_length=1)
    ] = ["none", "float16", "dynamic", "int8"]
    batch_size: PositiveInt = 1


class MlflowParams(Section):
    experiment: Name = "rnnkeras"
    registered_model: Name = "rnnkeras"
    alias: Name = "champion"


class Params(Section):
    """The whole `params.yaml`: one section per stage plus `mlflow`."""

    prepare: PrepareParams
    validate_: ValidateParams = Field(alias="validate")
    train: TrainParams
    evaluate: EvaluateParams
    export: ExportParams
    mlflow: MlflowParams = MlflowParams()
