"""The adding problem at a small size: the monitor flags vanishing gradients
for SimpleRNN, which stays near the baseline, while GRU learns the task."""

import numpy as np
import pytest

from tests import bench_scripts


def test_adding_problem_data_has_the_documented_baseline():
    bench = bench_scripts.load("adding_problem")
    x, y = bench.adding_problem(20_000, 30, np.random.default_rng(1))
    markers = x[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :15].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=1))
    assert np.mean((y - 1.0) ** 2) == pytest.approx(bench.BASELINE_MSE, abs=0.01)


@pytest.mark.slow
def test_simple_rnn_vanishes_where_gru_learns():
    bench = bench_scripts.load("adding_problem")
    simple = bench.run("SimpleRNN", steps=50, epochs=3, train_size=3200, test_size=500)
    gru = bench.run("GRU", steps=50, epochs=6, train_size=3200, test_size=500)

    assert simple["status"] == "vanishing"
    assert simple["last_ratio"] < -2.0
    assert simple["test_mse"] > 0.1
    assert gru["test_mse"] < 0.01
    assert gru["status"] == "ok"


def test_updates_train_on_that_many_fresh_batches():
    bench = bench_scripts.load("adding_problem")
    batches = bench.FreshBatches(bench.adding_problem, 4, 8, 10, seed=3)
    assert len(batches) == 4
    x, y = batches[2]
    assert x.shape == (8, 10, 2) and y.shape == (8, 1)
    np.testing.assert_array_equal(batches[2][0], x)
    assert not np.array_equal(batches[3][0], x)

    result = bench.run("MinGRU", steps=10, epochs=0, units=4, test_size=50, updates=3)
    assert result["updates"] == 3
    assert "| 3 |" in bench.table([result])
