"""DVC stage `validate` (see rnnkeras/stages/validate.py and dvc.yaml)."""

from rnnkeras.stages.validate import main

raise SystemExit(main())
