"""End to end: `dvc exp run -S prepare.dataset=translation` in a temporary git copy, tiny sizes."""

import json

import pytest
import yaml

from tests.pipeline import projects

pytestmark = pytest.mark.slow


def test_translation_runs_every_stage_serves_text_and_exports_with_parity(tmp_path):
    import mlflow

    from rnnkeras.pipeline import tracking

    root = projects.dvc_project(tmp_path / "project")
    params = yaml.safe_load((root / "params.yaml").read_text())
    # The smallest run that still decodes, plots, registers and exports: 400 dates, 1 epoch.
    params["prepare"]["translation"] = {"pairs": 400, "attention": "luong", "beam_width": 2}
    params["train"].update(epochs=1, units=16)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    projects.git(root, "commit", "-qam", "tiny translation")

    run = projects.dvc(root, "exp", "run", "-S", "prepare.dataset=translation")
    assert run.returncode == 0, run.stdout + run.stderr

    metrics = json.loads((root / "metrics/evaluate.json").read_text())
    assert metrics["task"] == "translation" and metrics["test_size"] == 80
    for name in ("character_error_rate", "greedy_exact_match", "baseline_character_error_rate"):
        assert 0.0 <= metrics[name] <= 1.5, name
    header = (root / "reports/predictions.csv").read_text().splitlines()[0]
    assert header == "locale,source,target,beam,greedy,nearest_neighbour"
    assert {p.name for p in (root / "reports/plots").iterdir()} == {"attention.png", "decoding.png"}
    assert "passed" in (root / "reports/validation.md").read_text()

    export = json.loads((root / "reports/export.json").read_text())
    assert export["passed"], export
    assert export["decode_parity"]["agreement_with_keras"] == {
        "encoder_saved_model+step_tflite": 1.0,
        "translator_saved_model": 1.0,
    }
    assert (root / "export/encoder/1/saved_model.pb").is_file()
    assert (root / "export/step_decoder_float32.tflite").is_file()

    registry = json.loads((root / "reports/registry.json").read_text())
    assert registry["model_uri"].startswith("models:/tests-translation/")
    tracking.configure(root)
    served = mlflow.pyfunc.load_model(registry["model_uri"])
    texts = served.predict(["14 mars 1987", "Saturday, June 2, 2029"])
    assert len(texts) == 2 and all(isinstance(t, str) and len(t) <= 11 for t in texts)
