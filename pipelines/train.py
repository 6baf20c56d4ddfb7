"""DVC stage `train` (see rnnkeras/pipeline/stages/train.py and dvc.yaml)."""

from rnnkeras.pipeline.stages.train import main

raise SystemExit(main())
