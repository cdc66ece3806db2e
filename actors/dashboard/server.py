"""Serving the dashboard: loopback by default, a token for any other address, and lower CPU priority than the node."""

from __future__ import annotations

import faulthandler
import ipaddress
import os
import signal
import threading
from collections.abc import Callable

from werkzeug.serving import make_server

from actors.config import NodeConfig
from actors.dashboard.app import build_app
from actors.dashboard.data import LiveBook, NodeLink
from actors.market_time import market_hours
from storage.lake_views import LakeViews

TOKEN_ENV = "THETANODE_DASHBOARD_TOKEN"
NICENESS = 10
"""The dashboard yields the CPU to the node on a small machine: it is the one that may wait."""


class DashboardError(ValueError):
    """Bad dashboard arguments (a bind without a token, a lake without a journal); one line, exit 2."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(config: NodeConfig, host: str, port: int, token: str, announce: Callable[[str], None]) -> int:
    if not is_loopback(host) and not token:
        raise DashboardError(f"binding {host} exposes the kill switch beyond this machine: give a token "
                             f"(--token or ${TOKEN_ENV})")
    views = LakeViews(config.node.lake_uri, dict(config.node.storage_options))
    if not views.exists():
        raise DashboardError(f"{config.node.lake_uri}: no journal table here (is this the node's lake_uri?)")
    faulthandler.enable()  # a crash in a native library leaves its Python stack in the log
    market_hours()  # the calendar is built once, before any request thread asks for it
    app = build_app(LiveBook(views), NodeLink(config), config.node.lake_uri, token)
    try:
        server = make_server(host, port, app.server, threaded=True)
    except OSError as exc:
        raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    shown = f"[{host}]" if ":" in host else host
    announce(f"thetanode dashboard on http://{shown}:{server.server_port}/"
             f"{'?token=…' if token else ''} over {config.node.lake_uri} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
