"""The registered model over HTTP: start `mlflow models serve`, call it, measure it.

`mlflow models serve -m models:/<name>@champion --env-manager local` runs the model in the
current environment; it starts `uvicorn` from `PATH`, so the Python environment's `bin`
folder must come first there (`server_environment` sees to it). The server answers
`GET /ping` and `POST /invocations` with `{"inputs": [[[...], ...], ...]}` (a batch of
windows) and replies `{"predictions": [...]}`; a malformed body, or a batch that is empty,
wrongly shaped or holds `null`, `NaN` or `1e309`, gets a 400 whose JSON `message` starts
with the expected shape and dtype (`rnnkeras/pipeline/tracking/served_model.py` checks each batch).

Only the standard library talks HTTP here, and nothing is imported beyond NumPy.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now.

    Example:

    >>> 1024 <= free_port() < 65536
    True
    """
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def serve_command(
    model_uri: str, port: int, host: str = "127.0.0.1", workers: int = 1
) -> list[str]:
    """The `mlflow models serve` command line for `model_uri` with the current environment.

    Example:

    >>> serve_command("models:/rnnkeras@champion", 5001)[1:5]
    ['models', 'serve', '-m', 'models:/rnnkeras@champion']
    """
    mlflow = str(Path(sys.executable).parent / "mlflow")
    return [
        mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local",
        "-h", host, "-p", str(port), "-w", str(workers),
    ]  # fmt: skip


def server_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """`os.environ` with this Python's `bin` first on `PATH` (where `uvicorn` is).

    Example:

    >>> import sys, pathlib
    >>> server_environment()["PATH"].startswith(str(pathlib.Path(sys.executable).parent))
    True
    """
    env = {**os.environ, **(extra or {})}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def request(url: str, body: bytes | None = None, timeout: float = 60.0) -> tuple[int, Any]:
    """One HTTP request (POST when `body` is given); returns the status and the parsed JSON.

    A 4xx or 5xx reply is returned, not raised; a body that is not JSON comes back as text.

    Example:

    >>> request("http://127.0.0.1:5001/ping")  # doctest: +SKIP
    (200, '\\n')
    """
    headers = {"Content-Type": "application/json"}
    call = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(call, timeout=timeout) as reply:
            status, text = reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# Put first on PYTHONPATH, this makes `import rnnkeras` fail in every process of the server,
# the editable install notwithstanding: sitecustomize runs after site-packages are set up.
_HIDE_RNNKERAS = """
import sys


class HideRnnkeras:
    def find_spec(self, name, path=None, target=None):
        if name == "rnnkeras" or name.startswith("rnnkeras."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the serving test)")
        return None


sys.meta_path.insert(0, HideRnnkeras())
"""


def rnnkeras_hidden(folder: str | Path) -> Path:
    """`folder/hide_rnnkeras`, holding a `sitecustomize.py` that makes `import rnnkeras` fail.

    Put it first on `PYTHONPATH` of a server (or any process) that must run without rnnkeras;
    the error names the serving test, so a probe can tell it from a missing install.
    """
    hidden = Path(folder) / "hide_rnnkeras"
    hidden.mkdir(parents=True, exist_ok=True)
    (hidden / "sitecustomize.py").write_text(_HIDE_RNNKERAS)
    return hidden


def inputs_body(windows: Any) -> bytes:
    """The `/invocations` body for a batch of windows: `{"inputs": [...]}`.

    Example:

    >>> inputs_body(np.zeros((1, 2, 1)))
    b'{"inputs": [[[0.0], [0.0]]]}'
    """
    return json.dumps({"inputs": np.asarray(windows, dtype="float64").tolist()}).encode()


class ModelServer:
    """`mlflow models serve` in its own process group, stopped by its PID.

    Args:
        model_uri: e.g. `"models:/rnnkeras@champion"`.
        port: Port on `host`; by default a free one.
        host: Interface to listen on; loopback by default.
        env: Extra environment variables (e.g. `MLFLOW_TRACKING_URI`).
        cwd: Folder to start the server in.
        log_path: File for the server's output; by default it is discarded.
        workers: uvicorn worker processes.

    Example:

    >>> with ModelServer("models:/rnnkeras@champion") as server:  # doctest: +SKIP
    ...     server.predict(windows)
    """

    def __init__(
        self,
        model_uri: str,
        port: int | None = None,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: str | Path | None = None,
        workers: int = 1,
    ) -> None:
        self.model_uri = model_uri
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.command = serve_command(model_uri, self.port, host, workers)
        self.env = server_environment(env)
        self.cwd = cwd
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 150.0) -> "ModelServer":
        """Starts the server and waits until `/ping` answers 200.

        Raises:
            RuntimeError: If the server exits or does not answer within `timeout` seconds;
                the message ends with the server's last output when `log_path` is set.
        """
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if self.log_path:
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"The model server exited with code {self.process.returncode}.{self._tail()}"
                )
            try:
                if request(f"{self.url}/ping", timeout=2.0)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"The model server did not answer /ping within {timeout:.0f} s.{self._tail()}"
        )

    def _tail(self) -> str:
        if not self.log_path or not Path(self.log_path).exists():
            return ""
        return "\nServer output (end):\n" + Path(self.log_path).read_text()[-3000:]

    def stop(self, timeout: float = 20.0) -> None:
        """Stops the server's whole process group: SIGTERM, then SIGKILL after `timeout` s.

        Returns once no process of the group is left (uvicorn workers included).
        """
        if self.process is None:
            return
        for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while self._group_alive() and time.monotonic() < deadline:
                self.process.poll()
                time.sleep(0.1)
            if not self._group_alive():
                break
        self.process.poll()

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def predict(self, windows: Any) -> np.ndarray:
        """POSTs a batch of windows and returns the predictions.

        Raises:
            RuntimeError: For any reply but 200, with the server's message.
        """
        status, reply = request(f"{self.url}/invocations", inputs_body(windows))
        if status != 200:
            raise RuntimeError(f"The model server answered {status}: {reply}")
        return np.asarray(reply["predictions"], dtype="float32")

    def __enter__(self) -> "ModelServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def measure_throughput(
    url: str, bodies: Sequence[bytes], requests: int = 200, concurrency: int = 8
) -> dict[str, float]:
    """Sends a bounded burst of POSTs to `url` from `concurrency` threads; times each one.

    Request `i` sends `bodies[i % len(bodies)]`. The burst is exactly `requests` long,
    so it ends by itself.

    Args:
        url: The `/invocations` URL.
        bodies: Request bodies to cycle through.
        requests: Number of requests in the burst.
        concurrency: Requests in flight at once.

    Returns:
        `requests`, `concurrency`, `errors` (replies other than 200), `seconds` (wall
        time of the burst), `requests_per_second` and latency percentiles in milliseconds
        (`p50_ms`, `p90_ms`, `p99_ms`, `max_ms`).

    Example:

    >>> measure_throughput("http://127.0.0.1:5001/invocations", [body])  # doctest: +SKIP
    {'requests': 200, 'concurrency': 8, 'errors': 0, ...}
    """
    if requests < 1 or concurrency < 1 or not bodies:
        raise ValueError(
            "measure_throughput expects requests >= 1, concurrency >= 1 and at least one body. "
            f"Received: requests={requests}, concurrency={concurrency}, bodies={len(bodies)}"
        )

    def one(index: int) -> tuple[int, float]:
        started = time.perf_counter()
        status, _ = request(url, bodies[index % len(bodies)])
        return status, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(requests)))
    seconds = time.perf_counter() - started
    latencies = np.array([latency for _, latency in results]) * 1000.0
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": sum(status != 200 for status, _ in results),
        "seconds": round(seconds, 3),
        "requests_per_second": round(requests / seconds, 1),
        "p50_ms": round(float(p50), 1),
        "p90_ms": round(float(p90), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(latencies.max()), 1),
    }
