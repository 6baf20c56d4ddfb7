"""Task `forecasting`: a window of past values predicts the next `horizon` values of a target.

Windows are stored relative to their last time step (`x`), with the future values of the
target as changes from its last value (`y`) and that value (`last_value`): a forecast in the
data's units is `last_value + prediction`. The baseline is the last value (no change).
"""

import functools

import numpy as np

import rnnkeras.pipeline.data.spec as spec_lib
from rnnkeras.pipeline.data.arrays import make_windows, parsed_sequences, safe_variance
from rnnkeras.pipeline.tasks.base import Task


class Forecasting(Task):
    """Many-to-one forecasting of a series (e.g. weekly CO2), against the last-value baseline.

    Example:

    >>> from rnnkeras.pipeline.data import bundled_spec, prepare_table
    >>> spec = bundled_spec("co2")
    >>> prepare = {"window": 52, "horizon": 13, "val_fraction": 0.15, "test_fraction": 0.15}
    >>> arrays, meta = Forecasting().table_to_arrays(prepare_table(spec, prepare), spec, prepare)
    >>> arrays["train"]["x"].shape, arrays["train"]["y"].shape, meta["target"]
    ((1534, 52, 1), (1534, 13), 'co2_ppm')
    """

    name = "forecasting"
    loss = "mse"
    metrics = ("mae",)
    parity = "regression"

    def table_to_arrays(self, table, spec, prepare):
        """Windows of `prepare.window` steps and the next `prepare.horizon` target changes.

        Each split's arrays: `x` `(n, window, features)` relative to the window's last step,
        `y` `(n, horizon)` changes from `last_value` `(n,)`, and `time_step` `(n,)` of the
        first predicted step. A window belongs to the split of its last predicted step.

        Raises:
            ValueError: when no training window fits (`window + horizon` too long).
        """
        window = int(prepare.get("window", 52))
        horizon = int(prepare.get("horizon", 1))
        target_index = list(spec.feature_columns).index(spec.target_column)
        parts = {split: [] for split in spec_lib.SPLITS}
        for group in parsed_sequences(table, spec):
            values = group[list(spec.feature_columns)].to_numpy(np.float32)
            x, y, end = make_windows(values, window, horizon, target_index)
            last_target_split = group[spec_lib.SPLIT].to_numpy()[end + horizon - 1]
            time_step = group[spec_lib.TIME].to_numpy()[end]
            for split in spec_lib.SPLITS:
                keep = last_target_split == split
                parts[split].append((x[keep], y[keep], time_step[keep]))
        arrays = {}
        for split, pieces in parts.items():
            x = np.concatenate([p[0] for p in pieces])
            y = np.concatenate([p[1] for p in pieces])
            last = x[:, -1, :]
            # Windows relative to their last step and targets as changes from the last target
            # value: the model never sees the level of a trending series, so it works (and
            # quantizes to int8) outside the range of the training years too.
            arrays[split] = {
                "x": x - last[:, None, :],
                "y": y - last[:, target_index : target_index + 1],
                "last_value": last[:, target_index],
                "time_step": np.concatenate([p[2] for p in pieces]).astype(np.int64),
            }
        train = arrays["train"]
        if not len(train["x"]):
            raise ValueError(
                f"Dataset '{spec.name}': no training window fits; each series needs more than "
                f"window + horizon steps in the train split. Received: window={window}, "
                f"horizon={horizon}"
            )
        meta = {
            "features": list(spec.feature_columns),
            "target": spec.target_column,
            "target_index": target_index,
            "window": window,
            "horizon": horizon,
            "input_variance": safe_variance(train["x"].reshape(-1, train["x"].shape[-1])),
            "target_scale": float(np.sqrt(safe_variance(train["y"].reshape(-1, 1))[0])),
        }
        return arrays, meta

    def build_model(self, meta, train):
        """`rnnkeras.pipeline.builders.build_forecaster` for these windows."""
        from rnnkeras.pipeline import builders

        return builders.build_forecaster(
            window=meta["window"],
            features=len(meta["features"]),
            horizon=meta["horizon"],
            input_variance=meta["input_variance"],
            target_scale=meta["target_scale"],
            **builders.core_params(train),
        )

    def score(self, meta, test, predicted, train):
        """MAE/RMSE of the forecasts in the data's units against the last-value baseline;
        predictions table `time_step,step,actual,predicted,baseline`; plot of forecasts."""
        from rnnkeras.pipeline import evaluation

        last_value = test["last_value"]
        actual = last_value[:, None] + test["y"]
        predicted = last_value[:, None] + np.asarray(predicted)
        rows = (
            (
                int(time_step + step),
                step + 1,
                float(truth[step]),
                float(forecast[step]),
                float(last),
            )
            for time_step, truth, forecast, last in zip(
                test["time_step"], actual, predicted, last_value, strict=True
            )
            for step in range(len(truth))
        )
        return evaluation.Evaluation(
            metrics=evaluation.forecasting_metrics(actual, predicted, last_value),
            predictions_csv=evaluation.csv_text(
                ("time_step", "step", "actual", "predicted", "baseline"), rows
            ),
            headline="mae",
            greater_is_better=False,
            plot_name="predicted_vs_actual.png",
            plot=functools.partial(
                evaluation.write_forecast_plot,
                test["time_step"],
                actual,
                predicted,
                unit=meta["target"],
            ),
        )


TASK = Forecasting()
