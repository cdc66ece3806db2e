"""A real supervisord runs the node from scripts/supervisord.conf's program settings: kill -9 → restarted and
healthy again with its state from the lake; stop → graceful exit 0 with the journal flushed."""

from __future__ import annotations

import configparser
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from storage.journal import DeltaJournal
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as degraded:
        return json.loads(degraded.read())
    except OSError:
        return None


@pytest.fixture
def supervised(tmp_path: Path):
    port = _free_port()
    (tmp_path / "node.toml").write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\n[sim]\ntick_interval_s = 1.0\n'
        f"[persistence]\nflush_interval_ms = 100\n"
        f'[service]\nhealth_port = {port}\nheartbeat_file = "{tmp_path / "heartbeat.json"}"\n'
        f'heartbeat_interval_s = 0.5\ncontrol_dir = "{tmp_path / "control"}"\nshutdown_timeout_s = 10\n'
    )
    shipped = configparser.RawConfigParser()
    shipped.read(REPO / "scripts" / "supervisord.conf")
    program = dict(shipped["program:thetanode"])
    program.update(
        directory=str(REPO),
        command=f"{sys.executable} -m actors.cli run --config {tmp_path / 'node.toml'}",
        stdout_logfile=str(tmp_path / "node.out"),
        stderr_logfile=str(tmp_path / "node.err"),
        startsecs="1",
    )
    conf = configparser.RawConfigParser()
    conf["unix_http_server"] = {"file": str(tmp_path / "supervisor.sock")}
    conf["supervisord"] = {"logfile": str(tmp_path / "supervisord.log"), "pidfile": str(tmp_path / "sd.pid"),
                           "nodaemon": "false"}
    conf["rpcinterface:supervisor"] = dict(shipped["rpcinterface:supervisor"])
    conf["supervisorctl"] = {"serverurl": f"unix://{tmp_path / 'supervisor.sock'}"}
    conf["program:thetanode"] = program
    with (tmp_path / "supervisord.conf").open("w") as out:
        conf.write(out)
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "supervisord", "-c", tmp_path / "supervisord.conf"], check=True)

    def ctl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([bin_dir / "supervisorctl", "-c", tmp_path / "supervisord.conf", *args],
                              capture_output=True, text=True)

    try:
        yield tmp_path, port, ctl
    finally:
        ctl("shutdown")
        pid_file = tmp_path / "sd.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


@pytest.mark.timeout(120)
def test_supervisord_restarts_a_killed_node_and_stops_it_gracefully(supervised):
    tmp_path, port, ctl = supervised
    first = wait_for(lambda: _health(port), what="first health answer")
    assert first["trading_state"] == "ACTIVE"
    subprocess.run([sys.executable, "-m", "actors.cli", "halt", "--config", str(tmp_path / "node.toml"),
                    "--reason", "kill-switch test"], check=True, capture_output=True)
    wait_for(lambda: (_health(port) or {}).get("trading_state") == "HALTED", what="halt to apply")
    time.sleep(0.5)  # let the group commit carry the halt into the lake

    os.kill(first["pid"], signal.SIGKILL)
    second = wait_for(lambda: (h := _health(port)) and h["pid"] != first["pid"] and h, what="restarted node")
    assert second["trading_state"] == "HALTED", "the halt must survive the crash (restored from the lake)"

    assert "RUNNING" in ctl("status", "thetanode").stdout
    stopped = ctl("stop", "thetanode")
    assert "stopped" in stopped.stdout, stopped
    assert "STOPPED" in ctl("status", "thetanode").stdout
    journal = DeltaJournal(str(tmp_path / "lake"))
    sessions = {session: [type(m).__name__ for m in journal.read(session)] for session in journal.sessions()}
    assert len(sessions) == 2, "one session per process"
    killed, stopped_gracefully = sorted(sessions.values(), key=lambda names: "NodeStopping" in names)
    assert "NodeStopping" not in killed and "NodeStopping" in stopped_gracefully  # flushed on the way out
    assert "CancelAllOrders" in stopped_gracefully
    assert json.loads((tmp_path / "heartbeat.json").read_text())["problems"]
