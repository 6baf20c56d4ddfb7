"""Throughput and latency of the model served by `mlflow models serve`, on loopback.

Starts `mlflow models serve -m <model> --env-manager local` on 127.0.0.1 (a free port),
warms it up, then sends bounded bursts of POST /invocations requests (default 200, 8 in
flight at once) from a standard-library client in this process, and prints requests per
second and latency percentiles for each batch size: those of the median burst of
`--rounds` (default 3), which damps the noise of a shared machine. The server is stopped
by its PID at the end.

By default it serves a CO2 forecaster built like the pipeline's (`params.yaml` train
defaults: one LSTM layer of 64 units, 52-week windows relative to their last week, 13-week
horizon), registered in a temporary SQLite store; its weights do not matter for speed, so it
is not trained. Give
`--model-uri models:/rnnkeras@champion` to measure the pipeline's registered champion in
the configured store (`MLFLOW_TRACKING_URI` or ./mlflow.db) instead; its input shape is
read from the model's metadata (`input_shape`).

Run: `python bench/serving.py` (`--requests`, `--concurrency`, `--batch`,
`--workers`, `--rounds`).
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402

from rnnkeras.pipeline import tracking  # noqa: E402

# The HTTP client and server wrapper are test tooling, kept out of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.tracking import model_server  # noqa: E402


def register_demo_forecaster(store: Path) -> str:
    """Registers a pipeline-shaped CO2 forecaster in a new store; returns its model URI."""
    import keras

    from rnnkeras.pipeline.builders import build_forecaster
    from rnnkeras.pipeline.params import load_params

    train = load_params(Path(__file__).resolve().parents[1] / "params.yaml")["train"]
    keras.utils.set_random_seed(0)
    model = build_forecaster(
        52, 1, 13, input_variance=[1.0], target_scale=1.0, cell=train["cell"], units=train["units"]
    )
    tracking.configure(store)
    with tracking.start_training_run({"bench": "serving"}, 0, store / "run.json"):
        tracking.log_and_register_model(
            model, np.zeros((2, 52, 1), "float32"), "bench", "mae", 0.0, False
        )
    return "models:/bench@champion"


def input_shape(model_uri: str) -> tuple[int, ...]:
    """The per-example input shape of a logged model, from its metadata (-1 read as 1)."""
    from mlflow.models import get_model_info

    shape = get_model_info(model_uri).metadata["input_shape"]
    return tuple(1 if size == -1 else size for size in shape[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", default=None, help="default: a demo CO2 forecaster")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per batch size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        if args.model_uri:
            model_uri = args.model_uri
            uri = tracking.configure(".")
        else:
            model_uri = register_demo_forecaster(Path(folder))
            uri = tracking.default_tracking_uri(folder)
        shape = input_shape(model_uri)
        server = model_server.ModelServer(
            model_uri,
            env={"MLFLOW_TRACKING_URI": uri},
            cwd=folder,
            log_path=Path(folder) / "server.log",
            workers=args.workers,
        )
        rng = np.random.default_rng(0)
        print(f"{model_uri}: input {shape}, {args.workers} worker(s), on {os.cpu_count()} cores")
        print(
            f"bursts of {args.requests} requests, {args.concurrency} in flight; "
            f"the median of {args.rounds} bursts by requests/s"
        )
        print("batch  req/s  windows/s  p50 ms  p90 ms  p99 ms  max ms  errors")
        with server:
            for batch in args.batch:
                bodies = [
                    model_server.inputs_body(rng.normal(size=(batch, *shape))) for _ in range(8)
                ]
                model_server.measure_throughput(f"{server.url}/invocations", bodies, 16, 1)
                bursts = [
                    model_server.measure_throughput(
                        f"{server.url}/invocations", bodies, args.requests, args.concurrency
                    )
                    for _ in range(args.rounds)
                ]
                bursts.sort(key=lambda burst: burst["requests_per_second"])
                result = bursts[len(bursts) // 2]
                print(
                    f"{batch:>5}  {result['requests_per_second']:>5.1f}  "
                    f"{result['requests_per_second'] * batch:>9.0f}  {result['p50_ms']:>6.1f}  "
                    f"{result['p90_ms']:>6.1f}  {result['p99_ms']:>6.1f}  "
                    f"{result['max_ms']:>6.1f}  {result['errors']:>6}"
                )


if __name__ == "__main__":
    main()
