"""`dvc.yaml` declares exactly what each stage runs and the paths the stages write.

A module a stage imports but does not declare lets DVC keep old outputs after the code that
made them changed (and a resumed checkpoint or a cached model passes for the new code's
result). A declared path that no import reaches reruns a stage for nothing, and a path
written twice in one stage is one more place to forget on the next move.
"""

import functools
import subprocess
from pathlib import Path

import pytest
import yaml

from rnnkeras.pipeline.stages import STAGES, paths
from tests import import_graph

REPO = import_graph.REPO
PIPELINE = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
GRAPH = import_graph.package_graph()
# Imported by every module below them; they hold the version, the layer registration hook,
# the package docstring and the stage names, none of which changes what a stage computes.
PACKAGE_INITS = {
    "rnnkeras/__init__.py",
    "rnnkeras/pipeline/__init__.py",
    "rnnkeras/pipeline/stages/__init__.py",
}
# Imported but never run by the stage: `tracking` imports the SavedModel builder only inside
# `log_and_register_model`, which evaluate calls, not train. A task kind's module
# (`rnnkeras/pipeline/tasks/`) holds its part of every stage, each part importing what it
# needs inside its method; a stage runs only its own part: prepare and validate the data side,
# train `build_model`, evaluate `evaluate`/`register`, export `export`.
MODEL_SIDE = {
    "rnnkeras/export",
    "rnnkeras/figures.py",
    "rnnkeras/layers",
    "rnnkeras/models",
    "rnnkeras/pipeline/builders.py",
    "rnnkeras/pipeline/evaluation.py",
    "rnnkeras/pipeline/text_metrics.py",
    "rnnkeras/pipeline/tracking",
    "rnnkeras/saving.py",
}
NOT_RUN = {
    "prepare": MODEL_SIDE | {"rnnkeras/pipeline/validation"},
    "validate": MODEL_SIDE,
    "train": {
        "rnnkeras/export",
        "rnnkeras/pipeline/evaluation.py",
        "rnnkeras/pipeline/text_metrics.py",
        "rnnkeras/pipeline/validation",
    },
    "evaluate": {"rnnkeras/pipeline/builders.py", "rnnkeras/pipeline/validation"},
    "export": {
        "rnnkeras/figures.py",
        "rnnkeras/pipeline/builders.py",
        "rnnkeras/pipeline/evaluation.py",
        "rnnkeras/pipeline/text_metrics.py",
        "rnnkeras/pipeline/validation",
    },
}


@functools.cache
def stage_sources(stage: str) -> frozenset[str]:
    """The files of every `rnnkeras` module `pipelines/<stage>.py` imports, transitively."""
    script = REPO / "pipelines" / f"{stage}.py"
    modules = set()
    for name in import_graph.imported_modules(script):
        if name in GRAPH:
            modules |= {name} | import_graph.reachable(GRAPH, name)
    files = {import_graph.module_file(name).relative_to(REPO).as_posix() for name in modules}
    return frozenset({script.relative_to(REPO).as_posix()} | files - PACKAGE_INITS)


def covers(dep: str, source: str) -> bool:
    return source == dep or source.startswith(f"{dep.rstrip('/')}/")


def code_deps(stage: str) -> list[str]:
    """The declared deps that are code (the rest are data and `${...}` parameters)."""
    deps = PIPELINE[stage]["deps"]
    return [dep for dep in deps if dep.startswith(("rnnkeras/", "pipelines/"))]


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_depends_on_all_the_code_it_runs(stage):
    covered = code_deps(stage) + sorted(NOT_RUN.get(stage, ()))
    missing = sorted(
        source for source in stage_sources(stage) if not any(covers(dep, source) for dep in covered)
    )
    assert not missing, f"dvc.yaml stage {stage!r} lacks deps {missing}"


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_declares_each_path_once_and_only_code_it_runs(stage):
    deps = [dep for dep in PIPELINE[stage]["deps"] if not dep.startswith("${")]
    nested = sorted(
        (inner, outer)
        for inner in deps
        for outer in deps
        if inner != outer and covers(outer, inner)
    )
    assert len(deps) == len(set(deps)) and not nested, f"{stage}: declared twice: {nested}"
    sources = stage_sources(stage)
    unused = [dep for dep in code_deps(stage) if not any(covers(dep, s) for s in sources)]
    assert not unused, f"dvc.yaml stage {stage!r} declares code it never imports: {unused}"


def stage_outputs() -> set[str]:
    """Every path a stage of `dvc.yaml` declares as an output, metric or plot."""
    written = set()
    for stage in PIPELINE.values():
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                written |= set(entry) if isinstance(entry, dict) else {entry}
    return written


def test_the_stages_write_the_paths_of_stages_paths():
    declared = {
        value.as_posix()
        for name, value in vars(paths).items()
        if isinstance(value, Path) and value not in (paths.PARAMS, paths.CHECKPOINTS)
    }
    assert stage_outputs() == declared


def test_the_training_checkpoint_is_ignored_by_git_and_dvc_alike():
    """An output that `dvc pull` cannot bring makes a fresh clone's `dvc repro` train again;
    one that git tracked would put a half-trained model into commits."""
    checkpoints = paths.CHECKPOINTS.as_posix()
    assert not any(covers(checkpoints, out) or covers(out, checkpoints) for out in stage_outputs())
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", f"{checkpoints}/state.json"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ignored.returncode == 0, f".gitignore does not ignore {checkpoints}/: {ignored}"
