"""DVC stage `export` (see rnnkeras/stages/export.py and dvc.yaml)."""

from rnnkeras.stages.export import main

raise SystemExit(main())
