"""DVC stage `evaluate` (see rnnkeras/pipeline/stages/evaluate.py and dvc.yaml)."""

from rnnkeras.pipeline.stages.evaluate import main

raise SystemExit(main())
