"""Tests of `rnnkeras.layers`; `harness.py` holds what they share."""
