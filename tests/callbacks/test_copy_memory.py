"""bench/copy_memory.py: the task's layout, its trivial loss, and a tiny run with a fixed number of updates."""

import math

import numpy as np
import pytest

from tests import bench_scripts


def test_copy_memory_data_follows_bai_et_al():
    bench = bench_scripts.load("copy_memory")
    x, y = bench.copy_memory(200, 30, np.random.default_rng(0))
    assert x.shape == y.shape == (200, 50)
    digits = x[:, :10]
    assert digits.min() >= 1 and digits.max() <= 8
    assert np.all(x[:, 10:39] == 0) and np.all(x[:, 39] == 9) and np.all(x[:, 40:] == 0)
    assert np.all(y[:, :40] == 0)
    np.testing.assert_array_equal(y[:, 40:], digits)


def test_trivial_loss_is_blanks_then_a_uniform_guess():
    bench = bench_scripts.load("copy_memory")
    assert bench.trivial_loss(1000) == pytest.approx(0.0204, abs=5e-5)
    # The same figure from its definition: cross-entropy of the trivial predictor.
    steps = 30
    _, y = bench.copy_memory(50, steps, np.random.default_rng(1))
    probabilities = np.where(y[:, :, None] == 0, 1.0, 1 / 8)
    probabilities[:, -10:] = 1 / 8
    assert -np.log(probabilities).mean() == pytest.approx(bench.trivial_loss(steps))
    assert bench.trivial_loss(steps) == pytest.approx(10 * math.log(8) / 50)


def test_fresh_batches_are_new_sequences_reproducible_by_index():
    bench = bench_scripts.load("copy_memory")
    batches = bench.FreshBatches(updates=3, batch_size=4, steps=5, seed=1)
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[1][0], batches[1][0])
    assert not np.array_equal(batches[0][0], batches[1][0])


@pytest.mark.slow
def test_main_trains_every_cell_for_the_same_updates_and_writes_the_table(tmp_path, capsys):
    bench = bench_scripts.load("copy_memory")
    out = tmp_path / "copy"
    bench.main(
        ["--cells", "MinGRU", "--steps", "5", "--units", "4", "--updates", "3"]
        + ["--out", str(out)]
    )
    text = out.with_suffix(".md").read_text()
    assert "`python bench/copy_memory.py --cells MinGRU --steps 5" in text
    assert "3 updates on fresh batches of 32" in text
    row = next(line for line in text.splitlines() if line.startswith("| MinGRU"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["5", "3"]
    assert float(cells[4]) > 0  # seconds per update
    assert row in capsys.readouterr().out
