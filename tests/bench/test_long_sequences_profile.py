"""bench/long_sequences_profile.py: the scan formulations it times compute the same states, and it runs."""

import numpy as np
import pytest

from tests import bench_scripts


def numpy_recurrence(a, b):
    """`h_t = a_t * h_{t-1} + b_t` from `h_0 = 0`, one step at a time."""
    h, states = np.zeros_like(a[:, 0]), []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return np.stack(states, axis=1)


@pytest.mark.parametrize("formulation", ["heinsen", "sequential"])
def test_each_scan_formulation_equals_the_step_loop(formulation):
    profile = bench_scripts.load("long_sequences_profile")
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 1.0, (2, 37, 3)).astype("float32")
    b = rng.uniform(0.0, 1.0, (2, 37, 3)).astype("float32")
    states = np.asarray(getattr(profile, formulation)(a, b))
    np.testing.assert_allclose(states, numpy_recurrence(a, b), rtol=1e-4)


@pytest.mark.slow
def test_profile_prints_and_writes_every_piece(tmp_path, capsys):
    profile = bench_scripts.load("long_sequences_profile")
    output = tmp_path / "profile.md"
    profile.main(["--steps", "16", "--rounds", "1", "--output", str(output)])
    text = output.read_text()
    assert text.startswith("Command: `python bench/long_sequences_profile.py --steps 16")
    rows = [
        line for line in text.splitlines() if line.startswith("| layer") or "scan alone" in line
    ]
    assert len(rows) == 7
    assert rows[0] in capsys.readouterr().out
