"""Free local ports for the servers tests start on 127.0.0.1 (a node's health port, a Ray head, a gateway)."""

from __future__ import annotations

import contextlib
import socket


def free_ports(count: int = 1) -> list[int]:
    """Distinct free ports: every probe stays bound until all are chosen. Probed one after another, two could be the
    same port (seen: Ray refusing to start, 'metrics_export is trying to use a port number ... used by other
    components')."""
    with contextlib.ExitStack() as probes:
        sockets = [probes.enter_context(socket.socket()) for _ in range(count)]
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
