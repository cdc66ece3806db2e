"""Stop signals caught from the first moment of `thetanode run`: before the heavy imports, the lake and the rebuild.

Only the standard library here, so the CLI installs the handlers before it imports the node: a supervisor's SIGTERM
during start-up is then a clean stop (exit 0), never a death by signal."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """SIGTERM/SIGINT set the yielded event; the previous handlers are restored on exit."""
    requested = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: requested.set()) for signum in STOP_SIGNALS}
    try:
        yield requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
