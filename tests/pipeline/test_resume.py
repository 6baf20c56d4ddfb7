"""A train stage killed mid-training continues from its last checkpoint when started again."""

import json
import os
import signal
import time

import pandas as pd
import pytest
import yaml

from rnnkeras.pipeline.stages import paths, prepare, validate
from tests.pipeline import projects
from tests.pipeline.tiny_params import classification_params


@pytest.mark.slow
def test_a_killed_train_stage_resumes_where_it_stopped(project, tiny_vowels_csv):
    params = classification_params(tiny_vowels_csv, epochs=40)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    prepare.run(params, project)
    assert validate.run(params, project) == 0
    state_path = project / paths.CHECKPOINTS / "state.json"

    first = projects.train_process(project)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and first.poll() is None:
        if state_path.exists() and json.loads(state_path.read_text())["epoch"] >= 3:
            break
        time.sleep(0.05)
    assert first.poll() is None, "training ended before it could be killed"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    stopped_at = json.loads(state_path.read_text())["epoch"]
    assert 3 <= stopped_at < 40 and not (project / paths.MODEL).exists()

    second = projects.train_process(project)
    output, _ = second.communicate(timeout=600)
    assert second.returncode == 0, output
    assert f"Resuming training from the checkpoint after epoch {stopped_at} of 40" in output
    assert f"Epoch {stopped_at + 1}/40" in output and "Epoch 1/40" not in output
    history = pd.read_csv(project / paths.HISTORY)
    assert history["epoch"].tolist() == list(range(1, 41))
    assert json.loads(state_path.read_text())["complete"]
    assert (project / paths.MODEL).exists()
