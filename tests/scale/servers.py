"""Helpers of the scale tests (imported by path: `from tests.scale.servers import free_port`)."""

import socket


def free_port() -> int:
    """A TCP port on loopback that no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
