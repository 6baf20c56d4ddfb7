"""DVC stage `evaluate` (see rnnkeras/stages/evaluate.py and dvc.yaml)."""

from rnnkeras.stages.evaluate import main

raise SystemExit(main())
