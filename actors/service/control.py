"""The operator's control path to a running node: `thetanode halt|resume` drop a command file, the node picks it up.

A file survives the node being down (the command applies at the next start) and needs no open port. Commands are
applied once, in the order written, then moved to `done/`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from actors.service.periodic import Periodic
from messages import Halt, Message, Resume

COMMANDS = {"halt": Halt, "resume": Resume}


def write_command(control_dir: str, command: str, reason: str) -> Path:
    if command not in COMMANDS:
        raise ValueError(f"unknown control command {command!r}")
    pending = Path(control_dir) / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    stamp = time.time_ns()
    path = pending / f"{stamp}-{command}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"command": command, "reason": reason}))
    temporary.rename(path)  # atomic: the watcher never sees half a command
    return path


def read_commands(control_dir: str) -> list[tuple[Path, Message]]:
    pending = Path(control_dir) / "pending"
    commands: list[tuple[Path, Message]] = []
    for path in sorted(pending.glob("*.json")) if pending.exists() else []:
        try:
            body = json.loads(path.read_text())
            commands.append((path, COMMANDS[body["command"]](reason=str(body.get("reason", "operator")))))
        except (OSError, ValueError, KeyError) as exc:
            logger.error(f"control file {path} is unreadable ({exc}); moved aside")
            path.rename(path.with_suffix(".bad"))
    return commands


class ControlWatcher:
    """Polls the control directory and publishes each command as a message (journaled like any other)."""

    def __init__(self, control_dir: str, poll_s: float, publish: Callable[[Message], object]) -> None:
        self._dir = control_dir
        self._publish = publish
        self._poller = Periodic("control", poll_s, self.apply_pending)

    def start(self) -> None:
        self.apply_pending()
        self._poller.start()

    def apply_pending(self) -> int:
        commands = read_commands(self._dir)
        done = Path(self._dir) / "done"
        done.mkdir(parents=True, exist_ok=True)
        for path, message in commands:
            logger.warning(f"operator command: {type(message).__name__} ({message.reason})")
            self._publish(message)
            path.rename(done / path.name)
        return len(commands)

    def stop(self) -> None:
        self._poller.stop()
