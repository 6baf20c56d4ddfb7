"""DVC stage `export` (see rnnkeras/pipeline/stages/export.py and dvc.yaml)."""

from rnnkeras.pipeline.stages.export import main

raise SystemExit(main())
