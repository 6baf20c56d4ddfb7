"""`dvc plots show` draws the plots docs/pipeline.md describes, each with named axes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DVC = Path(sys.executable).parent / "dvc"


def plots_section() -> str:
    text = (REPO / "docs" / "pipeline.md").read_text()
    start = text.index("## What `dvc plots show` draws")
    return text[start : text.index("\n## ", start + 1)]


def run(root: Path, *command: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("evaluation_plot", ["confusion_matrix.png", "predicted_vs_actual.png"])
def test_every_plot_is_described_and_has_named_axes(tmp_path, evaluation_plot):
    """The project's `dvc.yaml` over stand-in outputs: a history with the columns train writes
    (a 0/1 flag last, which a plot without `x`/`y` draws against the row number) and images."""
    shutil.copy(REPO / "dvc.yaml", tmp_path)
    shutil.copy(REPO / "params.yaml", tmp_path)
    run(tmp_path, "git", "init", "-q")
    run(tmp_path, str(DVC), "init", "-q")
    reports = tmp_path / "reports"
    (reports / "plots").mkdir(parents=True)
    (reports / "train_history.csv").write_text(
        "epoch,loss,val_loss,grad_norm,grad_flow_exploding\n1,2.0,2.1,3.0,0\n2,1.0,1.2,2.0,1\n"
    )
    image = (REPO / "bench" / "results" / "adding_problem.png").read_bytes()
    (reports / "train_history.png").write_bytes(image)
    (reports / "plots" / evaluation_plot).write_bytes(image)

    plots = json.loads(run(tmp_path, str(DVC), "plots", "show", "--json"))["data"]

    assert set(plots) == {
        "loss per epoch",
        "reports/train_history.png",
        f"reports/plots/{evaluation_plot}",
    }
    described = plots_section()
    for plot_id, renderings in plots.items():
        assert f"`{plot_id}`" in described, plot_id
        for rendering in renderings:
            if rendering["type"] != "vega":
                continue
            encoding = json.dumps(rendering["content"])
            assert '"field": "epoch", "type": "quantitative", "title": "epoch"' in encoding
            assert '"title": "loss"' in encoding
            assert "grad_flow_exploding" not in json.dumps(rendering["content"]["encoding"])
