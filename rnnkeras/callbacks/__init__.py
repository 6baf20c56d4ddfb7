"""Training-time tools: gradient clipping chosen at `fit` time and a monitor of
gradient flow through layers and time steps."""

from rnnkeras.callbacks.clipping import AutoClip, GradientClipping
from rnnkeras.callbacks.gradient_flow import GradientFlowMonitor, GradientFlowWarning

__all__ = ["AutoClip", "GradientClipping", "GradientFlowMonitor", "GradientFlowWarning"]
