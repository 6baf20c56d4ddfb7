"""Gradient clipping chosen at `fit` time: `GradientClipping` and `AutoClip`.

Keras callbacks never see gradients, so these callbacks reach them through the
optimizer. In `on_train_begin` they install a replacement for the optimizer's
`_clip_gradients`, the method every stock Keras optimizer calls on the final
gradients right before the update (after loss-scale unscaling and gradient
accumulation; the same from Keras 3.12 to 3.15). The replacement clips with a
threshold held in a `tf.Variable`, so a new threshold never retraces the
compiled train step, and it accumulates the pre-clip global norm and the number
of clipped steps in variables that the callback reads between steps to fill
`logs`. `on_train_end` removes the replacement.
"""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf


def _dense(gradient):
    """Sparse gradients (`tf.IndexedSlices`, e.g. from `Embedding`) as dense
    tensors, summing repeated indices, as Keras' own clipping does."""
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


def _norm(gradient) -> tf.Tensor:
    return tf.norm(tf.cast(gradient, tf.float32))


def _global_norm(grads: list) -> tf.Tensor:
    """Global L2 norm (float32) of the non-None gradients."""
    return tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads if g is not None])


def _scale(gradient, factor: tf.Tensor):
    return None if gradient is None else gradient * tf.cast(factor, gradient.dtype)


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
    with TensorFlow ops; it runs inside the compiled train step.
    """

    def __init__(self) -> None:
        super().__init__()
        self._norm_sum = tf.Variable(0.0, trainable=False, dtype=tf.float32)
        self._steps = tf.Variable(0, trainable=False, dtype=tf.int64)
        self._clipped_steps = tf.Variable(0, trainable=False, dtype=tf.int64)
        self._last_threshold = tf.Variable(np.inf, trainable=False, dtype=tf.float32)
        self._patched = None

    def _clip_and_record(self, grads):
        grads = [_dense(g) for g in grads]
        norm = _global_norm(grads)
        grads, threshold, clipped = self._clip(grads, norm)
        self._norm_sum.assign_add(norm)
        self._steps.assign_add(1)
        self._clipped_steps.assign_add(tf.cast(clipped, tf.int64))
        self._last_threshold.assign(tf.cast(threshold, tf.float32))
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
        self._patched = optimizer
        # An earlier `fit` may have traced the train step without this
        # callback; rebuild it so the next trace picks up the clipping.
        self.model.make_train_function(force=True)

    def on_train_end(self, logs=None) -> None:
        if self._patched is not None:
            del self._patched._clip_gradients
            self._patched = None
            self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None) -> None:
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
        steps = int(self._steps.numpy())
        if steps == 0:
            return dict.fromkeys(("grad_norm", "clip_threshold", "clipped_fraction"), math.nan)
        return {
            "grad_norm": float(self._norm_sum.numpy()) / steps,
            "clip_threshold": float(self._last_threshold.numpy()),
            "clipped_fraction": int(self._clipped_steps.numpy()) / steps,
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
        self._threshold = tf.Variable(value, trainable=False, dtype=tf.float32)

    @property
    def threshold(self) -> float:
        """The clipping threshold; assign a new positive value at any time."""
        return float(self._threshold.numpy())

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold.assign(_check_positive("GradientClipping", "threshold", value))

    def _clip(self, grads, norm):
        threshold = self._threshold.read_value()
        if self.mode == "global_clipnorm":
            factor = tf.minimum(1.0, threshold / norm)
            return [_scale(g, factor) for g in grads], threshold, norm > threshold
        present = [g for g in grads if g is not None]
        if self.mode == "clipnorm":
            norms = [None if g is None else _norm(g) for g in grads]
            clipped = [
                None if g is None else _scale(g, tf.minimum(1.0, threshold / n))
                for g, n in zip(grads, norms, strict=True)
            ]
            largest = tf.reduce_max(tf.stack([n for n in norms if n is not None]))
            return clipped, threshold, largest > threshold
        largest = tf.reduce_max(
            tf.stack([tf.reduce_max(tf.abs(tf.cast(g, tf.float32))) for g in present])
        )
        clipped = [
            None
            if g is None
            else tf.clip_by_value(g, -tf.cast(threshold, g.dtype), tf.cast(threshold, g.dtype))
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
        self._norms = tf.Variable(
            tf.zeros([self.history], tf.float32), trainable=False, dtype=tf.float32
        )
        self._observed = tf.Variable(0, trainable=False, dtype=tf.int64)

    @property
    def norm_history(self) -> np.ndarray:
        """The finite pre-clip global norms in the history, oldest first."""
        observed = int(self._observed.numpy())
        norms = self._norms.numpy()
        if observed <= self.history:
            return norms[:observed]
        start = observed % self.history
        return np.concatenate([norms[start:], norms[:start]])

    @property
    def threshold(self) -> float:
        """The threshold applied at the latest step (inf before the first)."""
        return float(self._last_threshold.numpy())

    def _clip(self, grads, norm):
        finite = tf.math.is_finite(norm)
        slot = self._observed % self.history
        kept = tf.where(finite, norm, tf.gather(self._norms, slot))
        self._norms.scatter_nd_update(tf.reshape(slot, [1, 1]), tf.reshape(kept, [1]))
        self._observed.assign_add(tf.cast(finite, tf.int64))
        threshold = self._percentile()
        factor = tf.minimum(1.0, threshold / norm)
        return [_scale(g, factor) for g in grads], threshold, norm > threshold

    def _percentile(self) -> tf.Tensor:
        """`numpy.percentile` of the history with static shapes (XLA-friendly):
        unused slots become +inf and sort after the observed norms."""
        count = tf.minimum(self._observed, self.history)
        slots = tf.range(self.history, dtype=tf.int64)
        ordered = tf.sort(tf.where(slots < count, self._norms, np.inf))
        position = tf.cast(tf.maximum(count - 1, 0), tf.float32) * (self.percentile / 100)
        below = tf.floor(position)
        low = tf.gather(ordered, tf.cast(below, tf.int64))
        high = tf.gather(ordered, tf.cast(tf.math.ceil(position), tf.int64))
        value = low + (high - low) * (position - below)
        return tf.where(count > 0, value, np.inf)
