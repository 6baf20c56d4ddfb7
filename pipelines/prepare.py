"""DVC stage `prepare` (see rnnkeras/pipeline/stages/prepare.py and dvc.yaml)."""

from rnnkeras.pipeline.stages.prepare import main

raise SystemExit(main())
