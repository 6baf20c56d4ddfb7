"""DVC stage `validate` (see rnnkeras/pipeline/stages/validate.py and dvc.yaml)."""

from rnnkeras.pipeline.stages.validate import main

raise SystemExit(main())
