"""A real supervisord runs the node from scripts/supervisord.conf's program settings: kill -9 → restarted and
healthy again with its state from the lake; stop → graceful exit 0 with the journal flushed."""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from messages.risk import RiskStateSnapshot
from storage.journal import DeltaJournal
from tests.ports import free_ports
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as degraded:
        return json.loads(degraded.read())
    except OSError:
        return None


def _start_supervisord(tmp_path: Path):  # noqa: ANN202 - returns the supervisorctl runner
    """supervisord with the shipped program settings, running the node on tmp_path/node.toml."""
    shipped = configparser.RawConfigParser()
    shipped.read(REPO / "scripts" / "supervisord.conf")
    program = dict(shipped["program:thetanode"])
    program.update(
        directory=str(REPO),
        command=f"{sys.executable} -m actors.cli run --config {tmp_path / 'node.toml'}",
        stdout_logfile=str(tmp_path / "node.out"),
        stderr_logfile=str(tmp_path / "node.err"),
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

    return ctl


def _stop_supervisord(tmp_path: Path, ctl) -> None:  # noqa: ANN001 - the runner above
    ctl("shutdown")
    pid_file = tmp_path / "sd.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _halt_in_lake(lake: Path) -> bool:
    """The risk state a restarted node restores from: a HALTED snapshot committed to the journal."""
    journal = DeltaJournal(str(lake))
    return any(isinstance(m, RiskStateSnapshot) and m.trading_state == "HALTED"
               for session in journal.sessions() for m in journal.read(session))


@pytest.fixture
def supervised(tmp_path: Path):
    [port] = free_ports()
    (tmp_path / "node.toml").write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\n[sim]\ntick_interval_s = 1.0\n'
        f"[persistence]\nflush_interval_ms = 100\n"
        f'[service]\nhealth_port = {port}\nheartbeat_file = "{tmp_path / "heartbeat.json"}"\n'
        f'heartbeat_interval_s = 0.5\ncontrol_dir = "{tmp_path / "control"}"\nshutdown_timeout_s = 10\n'
    )
    ctl = _start_supervisord(tmp_path)
    try:
        yield tmp_path, port, ctl
    finally:
        _stop_supervisord(tmp_path, ctl)


@pytest.mark.timeout(120)
def test_supervisord_restarts_a_killed_node_and_stops_it_gracefully(supervised):
    tmp_path, port, ctl = supervised
    first = wait_for(lambda: _health(port), what="first health answer")
    assert first["trading_state"] == "ACTIVE"
    subprocess.run([sys.executable, "-m", "actors.cli", "halt", "--config", str(tmp_path / "node.toml"),
                    "--reason", "kill-switch test"], check=True, capture_output=True)
    wait_for(lambda: (_health(port) or {}).get("trading_state") == "HALTED", what="halt to apply")
    wait_for(lambda: _halt_in_lake(tmp_path / "lake"), what="the halt committed to the lake")

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


@pytest.mark.timeout(120)
def test_supervisord_does_not_restart_a_node_whose_lake_is_damaged(tmp_path):
    from tests.service.test_start_stop import _small_lake

    _small_lake(tmp_path / "lake")
    (tmp_path / "lake" / "journal" / "_delta_log" / f"{2:020d}.json").unlink()  # a gap in the log
    (tmp_path / "node.toml").write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\n[service]\nhealth_port = 0\n'
        f'heartbeat_file = "{tmp_path / "heartbeat.json"}"\ncontrol_dir = "{tmp_path / "control"}"\n')
    ctl = _start_supervisord(tmp_path)
    try:
        wait_for(lambda: "EXITED" in ctl("status", "thetanode").stdout, 60, "the node to exit")
        errors = (tmp_path / "node.err").read_text().splitlines()
        assert len(errors) == 1 and "cannot be read back" in errors[0], errors
        wait_for(lambda: "exit status 65; expected" in (tmp_path / "supervisord.log").read_text(), 10,
                 "supervisord to log the expected exit")
        assert "EXITED" in ctl("status", "thetanode").stdout  # not restarted: the lake needs a human
    finally:
        _stop_supervisord(tmp_path, ctl)
