"""DVC stage `prepare` (see rnnkeras/stages/prepare.py and dvc.yaml)."""

from rnnkeras.stages.prepare import main

raise SystemExit(main())
