"""Training-time tools: gradient clipping chosen at `fit` time and a monitor of
gradient flow through layers and time steps."""

from rnnkeras.callbacks.clipping import AutoClip, GradientClipping

__all__ = ["AutoClip", "GradientClipping"]
