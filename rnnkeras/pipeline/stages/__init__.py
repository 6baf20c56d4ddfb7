"""The pipeline's stages, one module each: `prepare`, `validate`, `train`, `evaluate`, `export`.

Each module has `run(params, root=".")`, which does the stage's work with paths relative to
`root`, and `main(argv=None) -> int`, the entry point of `pipelines/<stage>.py`, of
`rnnkeras <stage>` and of the MLflow Project. The files they read and write are listed in
`rnnkeras.pipeline.stages.paths` and declared in `dvc.yaml`.
"""

STAGES = ("prepare", "validate", "train", "evaluate", "export")
