"""DVC stage `train` (see rnnkeras/stages/train.py and dvc.yaml)."""

from rnnkeras.stages.train import main

raise SystemExit(main())
