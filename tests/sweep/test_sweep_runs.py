"""Sweeps that really run: a local process pool and a real Ray head on 127.0.0.1 (started here, not a mock) give the
same rows as the same runs in this process; the rows are in the lake's `sweeps` table; a resumed or grown sweep runs
only what the lake lacks; the report ranks what is there."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from actors.cli import main
from actors.sweep.run import execute
from actors.sweep.spec import load_sweep
from storage.sweeps import SweepTable
from tests.ports import free_ports

SWEEP = """
[sweep]
id = "{sweep_id}"
[parameters]
"entry.short_delta" = {deltas}
[[paths]]
regime = "vol_spike"
seeds = [1]
sessions = 8
"""
COMPARED = ["pnl_usd", "realized_pnl_usd", "max_drawdown_usd", "trades", "opened", "exits_json", "pnl_by_rule_json",
            "messages", "sessions", "error"]


def _write(tmp_path: Path, sweep_id: str, deltas: str) -> Path:
    file = tmp_path / f"{sweep_id}.toml"
    file.write_text(SWEEP.format(sweep_id=sweep_id, deltas=deltas))
    return file


def _same_as_in_process(file: Path, lake: Path) -> None:
    sweep = load_sweep(file)
    rows = SweepTable(str(lake)).rows(sweep.id).set_index("run_key")
    assert sorted(rows.index) == sorted(run.key for run in sweep.runs)
    for run in sweep.runs:
        expected = execute(run)
        got = rows.loc[run.key]
        assert {c: got[c] for c in COMPARED} == {c: expected[c] for c in COMPARED}, run.params


@pytest.mark.timeout(900)
def test_the_local_pool_writes_one_row_per_run_and_a_resume_runs_only_what_is_missing(tmp_path: Path, capsys):
    lake = tmp_path / "lake"
    file = _write(tmp_path, "pool", "[0.12, 0.20]")
    assert main(["sweep", str(file), "--lake", str(lake), "--workers", "2"]) == 0
    _same_as_in_process(file, lake)
    first = SweepTable(str(lake)).rows("pool").set_index("run_key")["finished_ns"]
    # the same file again: nothing to do; grown by one value: one new run, the others untouched
    assert main(["sweep", str(file), "--lake", str(lake), "--workers", "2"]) == 0
    assert "0 runs done now, 2 were already" in capsys.readouterr().out
    _write(tmp_path, "pool", "[0.12, 0.16, 0.20]")
    assert main(["sweep", str(file), "--lake", str(lake), "--workers", "2"]) == 0
    assert "1 runs done now, 2 were already" in capsys.readouterr().out
    after = SweepTable(str(lake)).rows("pool").set_index("run_key")["finished_ns"]
    assert len(after) == 3 and after.loc[first.index].tolist() == first.tolist()
    report = tmp_path / "report.html"
    assert main(["sweep-report", "pool", "--lake", str(lake), "--out", str(report), "--objective", "p5_pnl"]) == 0
    page = report.read_text()
    assert "class='robust'" in page and page.count("short_delta=") >= 3 and "chart-regimes" in page


def _ray_ready(address: str, env: dict[str, str]) -> bool:
    status = subprocess.run([_ray_cli(), "status", "--address", address], capture_output=True, env=env, timeout=120,
                            check=False)
    return status.returncode == 0


def _ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_agent_register_timeout_ms": "300000"}
"""A busy machine starts Ray's agents slowly: the raylet gives them minutes, not seconds, to register."""


def ray_head_ports() -> tuple[int, list[str]]:
    """A Ray head's port and the `ray start` options fixing its agents' ports, all distinct. Left dynamic, the raylet
    waits for each agent's port file and aborts after ~30 s on a busy machine (seen: 'Timed out waiting for file
    .../metrics_agent_port_...' with a load average of 11 on 2 cores)."""
    options = ("--dashboard-agent-grpc-port", "--dashboard-agent-listen-port", "--metrics-export-port",
               "--runtime-env-agent-port")
    port, *agents = free_ports(1 + len(options))
    return port, [arg for option, agent in zip(options, agents, strict=True) for arg in (option, str(agent))]


@pytest.fixture
def ray_head():
    """A real Ray head on 127.0.0.1 in its own process group, with its own temp dir; always taken down."""
    pytest.importorskip("ray")
    port, agent_options = ray_head_ports()
    address = f"127.0.0.1:{port}"
    temp = tempfile.mkdtemp(prefix="rt21-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, **RAY_ENV}
    head = subprocess.Popen(
        [_ray_cli(), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp,
         *agent_options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not _ray_ready(address, env):
            assert head.poll() is None, f"ray start exited: {head.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the Ray head did not come up within 300 s"
            time.sleep(1)
        yield address, env
    finally:
        # a throwaway head holds nothing worth a graceful stop (which took 35 s on a busy machine): kill its group
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.timeout(900)
def test_ray_tasks_on_a_local_head_land_the_same_rows_in_the_lake(tmp_path: Path, ray_head):
    address, env = ray_head
    lake = tmp_path / "lake"
    file = _write(tmp_path, "rayed", "[0.12, 0.20]")
    done = subprocess.run([sys.executable, "-m", "actors.cli", "sweep", str(file), "--lake", str(lake),
                           "--ray", address], capture_output=True, text=True, env=env, timeout=800, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 runs done now, 0 were already" in done.stdout
    _same_as_in_process(file, lake)

