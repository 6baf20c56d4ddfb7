"""Gradient clipping chosen at `fit` time: `GradientClipping` and `AutoClip`.

Keras callbacks never see gradients, so these callbacks reach them through the
optimizer. In `on_train_begin` they install a replacement for the optimizer's
`_clip_gradients`, the method every stock Keras optimizer calls on the final
gradients right before the update (after loss-scale unscaling and gradient
accumulation; the same from Keras 3.12 to 3.15, on every backend). The
replacement clips with `keras.ops`, so it runs inside the compiled train step
of TensorFlow, JAX and PyTorch alike.

Its state (the threshold, the AutoClip norm history, the pre-clip global norm
and the number of clipped steps) lives in `keras.Variable`s that the callback
adds to the optimizer's variables for the duration of `fit`. A variable, not a
Python number, so that a new threshold never retraces the compiled step; an
optimizer variable, because on JAX the train step is a pure function whose
only optimizer state is `optimizer.variables`, passed in and returned by
`stateless_apply` at each step (anything else would be baked into the jitted
step as a constant, and its updates lost). While they are there, the
optimizer saves its variables without them, so checkpoints written during
`fit` load into an optimizer that never saw the callback. `on_train_end`
removes the replacement and the variables.
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

import rnnkeras.callbacks.backend_gradients as backend_gradients


def _norm(gradient):
    return ops.sqrt(ops.sum(ops.square(ops.cast(gradient, "float32"))))


def _global_norm(grads: list):
    """Global L2 norm (float32) of the non-None gradients."""
    return ops.sqrt(sum(ops.square(_norm(g)) for g in grads if g is not None))


def _scale(gradient, factor):
    return None if gradient is None else gradient * ops.cast(factor, gradient.dtype)


def _state(value, dtype: str = "float32") -> keras.Variable:
    return keras.Variable(value, dtype=dtype, trainable=False)


def _check_positive(callback_name: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{callback_name} expects `{name}` to be a positive number. Received: {name}={value!r}"
        )
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"{callback_name} expects `{name}` to be a positive finite number. "
            f"Received: {name}={value}"
        )
    return float(value)


def _clipping_optimizer(optimizer, callback_name: str):
    """The optimizer whose `_clip_gradients` receives the final gradients."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    if not isinstance(optimizer, keras.optimizers.Optimizer) or (
        type(optimizer).apply is not keras.optimizers.Optimizer.apply
    ):
        raise ValueError(
            f"{callback_name} needs a stock Keras optimizer (or one wrapped in "
            "`LossScaleOptimizer`) that applies gradients with Keras' own "
            "`apply`, because it clips where Keras optimizers clip. "
            f"Received: optimizer={optimizer!r}"
        )
    for name in ("clipnorm", "clipvalue", "global_clipnorm"):
        if getattr(optimizer, name) is not None:
            raise ValueError(
                f"{callback_name} clips the gradients itself, but the optimizer "
                f"already clips with `{name}`; remove `{name}` from the "
                "optimizer or do not use the callback. "
                f"Received: {name}={getattr(optimizer, name)}"
            )
    return optimizer


class _ClippingCallback(keras.callbacks.Callback):
    """Installs `self._clip` into the model's optimizer for one `fit` call.

    Subclasses implement `_clip(grads, norm) -> (grads, threshold, clipped)`
    with `keras.ops`; it runs inside the compiled train step. Every variable
    it reads or writes must be in `_variables()`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._norm_sum = _state(0.0)
        self._steps = _state(0, "int32")
        self._clipped_steps = _state(0, "int32")
        self._last_threshold = _state(np.inf)
        self._patched = None
        self._saved = None

    def _variables(self) -> list:
        return [self._norm_sum, self._steps, self._clipped_steps, self._last_threshold]

    def _sync(self) -> None:
        """On JAX, `fit` holds the latest variable values outside the
        variables between steps; syncing puts them back and makes the next
        step read them again, so reads here see the latest values and writes
        here reach the next step. No-op on the other backends."""
        sync = getattr(self._model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def _clip_and_record(self, grads):
        grads = [backend_gradients.dense(g) for g in grads]
        norm = _global_norm(grads)
        grads, threshold, clipped = self._clip(grads, norm)
        self._norm_sum.assign_add(norm)
        self._steps.assign_add(1)
        self._clipped_steps.assign_add(ops.cast(clipped, "int32"))
        self._last_threshold.assign(ops.cast(threshold, "float32"))
        return grads

    def on_train_begin(self, logs=None) -> None:
        name = type(self).__name__
        optimizer = _clipping_optimizer(self.model.optimizer, name)
        owner = getattr(optimizer.__dict__.get("_clip_gradients"), "clipping_callback", None)
        if owner is not None and owner is not self and owner._patched is not None:
            raise ValueError(
                f"{name}: the optimizer is already clipped by another clipping "
                f"callback in this `fit`; use only one. Received: other={owner!r}"
            )

        def clip_gradients(grads):
            return self._clip_and_record(grads)

        clip_gradients.clipping_callback = self
        optimizer._clip_gradients = clip_gradients
        for variable in self._variables():
            optimizer._track_variable(variable)
        saved = self.model.optimizer

        def save_own_variables(store):
            # Checkpoints hold the optimizer's own variables only.
            for variable in self._variables():
                optimizer._untrack_variable(variable)
            try:
                type(saved).save_own_variables(saved, store)
            finally:
                for variable in self._variables():
                    optimizer._track_variable(variable)

        saved.save_own_variables = save_own_variables
        self._patched, self._saved = optimizer, saved
        # An earlier `fit` may have traced the train step without this
        # callback (and, on JAX, with fewer optimizer variables); rebuild it
        # so the next trace picks up the clipping.
        self.model.make_train_function(force=True)

    def on_train_end(self, logs=None) -> None:
        if self._patched is not None:
            del self._patched._clip_gradients
            del self._saved.save_own_variables
            for variable in self._variables():
                self._patched._untrack_variable(variable)
            self._patched = self._saved = None
            self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._sync()
        self._norm_sum.assign(0.0)
        self._steps.assign(0)
        self._clipped_steps.assign(0)

    def on_train_batch_end(self, batch, logs=None) -> None:
        if logs is not None:
            logs.update(self._summary())

    def on_epoch_end(self, epoch, logs=None) -> None:
        if logs is not None:
            logs.update(self._summary())

    def _summary(self) -> dict:
        """Means over the optimizer steps of the epoch so far (Keras' `logs`
        convention), NaN before the first step."""
        self._sync()
        steps = int(ops.convert_to_numpy(self._steps))
        if steps == 0:
            return dict.fromkeys(("grad_norm", "clip_threshold", "clipped_fraction"), math.nan)
        return {
            "grad_norm": float(ops.convert_to_numpy(self._norm_sum)) / steps,
            "clip_threshold": float(ops.convert_to_numpy(self._last_threshold)),
            "clipped_fraction": int(ops.convert_to_numpy(self._clipped_steps)) / steps,
        }


class GradientClipping(_ClippingCallback):
    """Clips gradients during `fit`, like the optimizer's own clipping options.

    Exactly one mode is used, with the meaning it has on Keras optimizers:
    `clipnorm` rescales each weight's gradient to an L2 norm of at most the
    threshold, `clipvalue` clips every gradient element to
    `[-threshold, threshold]`, and `global_clipnorm` rescales all gradients
    together so their global L2 norm is at most the threshold. The threshold
    can be changed between steps through `threshold` without retracing.

    Each batch and epoch it adds to `logs`: `grad_norm` (mean pre-clip global
    gradient norm over the epoch so far), `clip_threshold` (the threshold of
    the latest step) and `clipped_fraction` (fraction of the epoch's optimizer
    steps in which clipping changed a gradient). Place it before callbacks
    that read `logs` (`CSVLogger`, MLflow); `History` and the progress bar
    always see the values.

    Args:
        clipnorm: Per-weight L2 norm threshold.
        clipvalue: Per-element absolute value threshold.
        global_clipnorm: Global L2 norm threshold.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> clip = GradientClipping(global_clipnorm=1.0)
    >>> history = model.fit(np.ones((8, 3)), 100 * np.ones((8, 1)),
    ...                     callbacks=[clip], verbose=0)
    >>> history.history["clipped_fraction"]
    [1.0]
    """

    def __init__(
        self,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
    ) -> None:
        super().__init__()
        modes = {
            "clipnorm": clipnorm,
            "clipvalue": clipvalue,
            "global_clipnorm": global_clipnorm,
        }
        chosen = {name: value for name, value in modes.items() if value is not None}
        if len(chosen) != 1:
            raise ValueError(
                "GradientClipping expects exactly one of `clipnorm`, `clipvalue` "
                f"and `global_clipnorm`. Received: clipnorm={clipnorm}, "
                f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        ((self.mode, value),) = chosen.items()
        value = _check_positive("GradientClipping", self.mode, value)
        self._threshold = _state(value)

    def _variables(self) -> list:
        return [*super()._variables(), self._threshold]

    @property
    def threshold(self) -> float:
        """The clipping threshold; assign a new positive value at any time."""
        self._sync()
        return float(ops.convert_to_numpy(self._threshold))

    @threshold.setter
    def threshold(self, value: float) -> None:
        value = _check_positive("GradientClipping", "threshold", value)
        self._sync()
        self._threshold.assign(value)

    def _clip(self, grads, norm):
        threshold = ops.convert_to_tensor(self._threshold)
        if self.mode == "global_clipnorm":
            factor = ops.minimum(1.0, threshold / norm)
            return [_scale(g, factor) for g in grads], threshold, norm > threshold
        present = [g for g in grads if g is not None]
        if self.mode == "clipnorm":
            norms = [None if g is None else _norm(g) for g in grads]
            clipped = [
                None if g is None else _scale(g, ops.minimum(1.0, threshold / n))
                for g, n in zip(grads, norms, strict=True)
            ]
            largest = ops.max(ops.stack([n for n in norms if n is not None]))
            return clipped, threshold, largest > threshold
        largest = ops.max(ops.stack([ops.max(ops.abs(ops.cast(g, "float32"))) for g in present]))
        clipped = [
            None
            if g is None
            else ops.clip(g, -ops.cast(threshold, g.dtype), ops.cast(threshold, g.dtype))
            for g in grads
        ]
        return clipped, threshold, largest > threshold


class AutoClip(_ClippingCallback):
    """Adaptive gradient clipping (AutoClip; Seetharaman et al., 2020).

    Each optimizer step appends the pre-clip global gradient norm to a history
    of the last `history` finite norms, then rescales the gradients so their
    global norm is at most the `percentile`-th percentile of that history
    (linear interpolation, as `numpy.percentile`; the current norm is part of
    the history, as in the paper). It runs inside the compiled train step.
    The history lives in the callback and carries over between `fit` calls.

    It adds `grad_norm`, `clip_threshold` and `clipped_fraction` to `logs`,
    as described for `GradientClipping`.

    Args:
        percentile: Percentile of the norm history used as threshold, in
            (0, 100]. The paper recommends 10.
        history: Number of most recent norms kept.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> autoclip = AutoClip(percentile=10)
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=2,
    ...               callbacks=[autoclip], verbose=0)
    >>> autoclip.norm_history.shape
    (4,)
    """

    def __init__(self, percentile: float = 10, history: int = 10_000) -> None:
        super().__init__()
        if (
            isinstance(percentile, bool)
            or not isinstance(percentile, numbers.Real)
            or not 0 < percentile <= 100
        ):
            raise ValueError(
                f"AutoClip expects `percentile` in (0, 100]. Received: percentile={percentile!r}"
            )
        if isinstance(history, bool) or not isinstance(history, numbers.Integral) or history < 1:
            raise ValueError(
                f"AutoClip expects `history` to be a positive integer. "
                f"Received: history={history!r}"
            )
        self.percentile = float(percentile)
        self.history = int(history)
        self._norms = _state(np.zeros(self.history, "float32"))
        self._observed = _state(0, "int32")

    def _variables(self) -> list:
        return [*super()._variables(), self._norms, self._observed]

    @property
    def norm_history(self) -> np.ndarray:
        """The finite pre-clip global norms in the history, oldest first."""
        self._sync()
        observed = int(ops.convert_to_numpy(self._observed))
        norms = ops.convert_to_numpy(self._norms)
        if observed <= self.history:
            return norms[:observed]
        start = observed % self.history
        return np.concatenate([norms[start:], norms[:start]])

    @property
    def threshold(self) -> float:
        """The threshold applied at the latest step (inf before the first)."""
        self._sync()
        return float(ops.convert_to_numpy(self._last_threshold))

    def _clip(self, grads, norm):
        finite = ops.isfinite(norm)
        slots = ops.arange(self.history, dtype="int32")
        observed = ops.convert_to_tensor(self._observed)
        # A ring buffer written with `where`: static shapes on every backend.
        at_slot = ops.logical_and(slots == observed % self.history, finite)
        self._norms.assign(ops.where(at_slot, norm, ops.convert_to_tensor(self._norms)))
        self._observed.assign_add(ops.cast(finite, "int32"))
        threshold = self._percentile(slots)
        factor = ops.minimum(1.0, threshold / norm)
        return [_scale(g, factor) for g in grads], threshold, norm > threshold

    def _percentile(self, slots):
        """`numpy.percentile` of the history with static shapes (XLA-friendly):
        unused slots become +inf and sort after the observed norms."""
        count = ops.minimum(ops.convert_to_tensor(self._observed), self.history)
        ordered = ops.sort(ops.where(slots < count, ops.convert_to_tensor(self._norms), np.inf))
        position = ops.cast(ops.maximum(count - 1, 0), "float32") * (self.percentile / 100)
        below = ops.floor(position)
        low = ops.take(ordered, ops.cast(below, "int32"))
        high = ops.take(ordered, ops.cast(ops.ceil(position), "int32"))
        value = low + (high - low) * (position - below)
        return ops.where(count > 0, value, np.inf)
