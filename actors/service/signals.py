"""Stop signals caught from the first moment of `thetanode run`: before the heavy imports, the lake and the rebuild.

Only the standard library here, so the CLI installs the handlers before it imports the node: a supervisor's SIGTERM
during start-up is then a clean stop (exit 0), never a death by signal."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """SIGTERM/SIGINT set the yielded event; the previous handlers are restored on exit.

    The handler itself only writes a byte to a pipe: it runs on the main thread between any two bytecodes, and
    setting the event there deadlocks when the main thread is inside that event's own `wait` holding its lock (seen:
    a node that never stopped). A watcher thread reads the pipe and sets the event."""
    requested = threading.Event()
    read_end, write_end = os.pipe()

    def watch() -> None:
        while os.read(read_end, 1) == b"s":
            requested.set()
        os.close(read_end)

    threading.Thread(target=watch, name="stop-signals", daemon=True).start()
    previous = {signum: signal.signal(signum, lambda *_: os.write(write_end, b"s")) for signum in STOP_SIGNALS}
    try:
        yield requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.write(write_end, b"x")  # the watcher leaves
        os.close(write_end)
