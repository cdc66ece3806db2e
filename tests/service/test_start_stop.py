"""Starts and stops a supervisor can trust: one line and a distinct exit code for every way a start or a stop goes
wrong, a stop signal honoured during the rebuild, and a stop that waits for the broker to confirm its cancels."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import actors.service.runner as runner
from actors.cli import main
from actors.config import config_from_mapping
from actors.exit_codes import EXIT_BAD_INPUT, EXIT_LAKE_DAMAGED, EXIT_OK, EXIT_ORDERS_WORKING, EXIT_UNFLUSHED
from messages import Halt, NodeStarted, OrderTerminated, PlaceOrder
from storage.journal import DeltaJournal
from tests.ib.harness import new_gateway, write_node_toml
from tests.mounts import tmpfs
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _small_lake(path: Path) -> None:
    journal = DeltaJournal(str(path))
    journal.append("run-1", [NodeStarted(ts=10**18, seq=1, session_id="run-1", mode="run")], 1)
    for version in range(2, 5):
        journal.append("run-1", [Halt(ts=10**18 + version, seq=version, reason=str(version))], version)


def _one_line_error(capsys) -> str:  # noqa: ANN001 - pytest fixture
    error = capsys.readouterr().err
    assert error.startswith("thetanode: error: ") and error.count("\n") == 1, error
    return error


def test_an_unwritable_lake_is_refused_at_start_in_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a lake")
    assert main(["demo", "--lake", str(afile)]) == EXIT_BAD_INPUT
    assert "is not a directory" in _one_line_error(capsys)
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nlake_uri = "{afile}"\n[service]\nhealth_port = 0\n')
    assert main(["run", "--config", str(config)]) == EXIT_BAD_INPUT
    assert "is not a directory" in _one_line_error(capsys)
    assert main(["demo", "--lake", "s3://missing-bucket/x"]) == EXIT_BAD_INPUT
    assert "s3://missing-bucket/x is not writable" in _one_line_error(capsys)
    with tmpfs(tmp_path / "ro") as disk:
        disk.read_only()
        assert main(["demo", "--lake", str(tmp_path / "ro" / "lake")]) == EXIT_BAD_INPUT
        assert "Read-only file system" in _one_line_error(capsys)


@pytest.mark.parametrize("damage", ["truncated data file", "gap in the delta log"])
def test_a_damaged_lake_is_one_line_and_do_not_restart_for_run_and_status(tmp_path, capsys, damage):
    lake = tmp_path / "lake"
    _small_lake(lake)
    if damage == "truncated data file":  # every file: a reader such as status opens only the files it needs
        for data_file in (lake / "journal").glob("*/*.parquet"):
            os.truncate(data_file, 50)
    else:
        (lake / "journal" / "_delta_log" / f"{2:020d}.json").unlink()
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nlake_uri = "{lake}"\nclock = "virtual"\n[service]\nhealth_port = 0\n'
                      f'heartbeat_file = "{tmp_path / "hb.json"}"\ncontrol_dir = "{tmp_path / "control"}"\n')
    assert main(["run", "--config", str(config)]) == EXIT_LAKE_DAMAGED
    assert "cannot be read back" in _one_line_error(capsys)
    assert main(["status", "--lake", str(lake)]) == EXIT_LAKE_DAMAGED
    assert "cannot be read back" in _one_line_error(capsys)


def test_a_stop_signal_during_the_rebuild_is_a_clean_stop(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    _small_lake(lake)
    read_history = runner.EarlierSessions.read

    def slow_rebuild(self, types=None):  # noqa: ANN001, ANN202 - the real method's signature
        os.kill(os.getpid(), signal.SIGTERM)  # the supervisor stops us while the lake is being read
        return read_history(self, types)

    monkeypatch.setattr(runner.EarlierSessions, "read", slow_rebuild)
    config = config_from_mapping({"node": {"lake_uri": str(lake), "clock": "virtual"},
                                  "service": {"health_port": 0, "heartbeat_file": str(tmp_path / "hb.json"),
                                              "control_dir": str(tmp_path / "control")}})
    before = signal.getsignal(signal.SIGTERM)
    assert runner.run_node(config) == EXIT_OK
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler is back


def _ib_config(tmp_path: Path, port: int, shutdown_timeout_s: float) -> Path:
    return write_node_toml(
        tmp_path, port, ib={"chain_strike_range_pct": 0.03},
        # the gateway lists short-dated expiries only, inside dte_exit
        entry={"evaluate_interval_s": 0.5, "dte_min": 7, "dte_max": 12, "exit_rules_gate": False},
        execution={"step_interval_s": 0.3, "price_steps": 20, "deadline_s": 120},
        service={"client_id": 31, "shutdown_timeout_s": shutdown_timeout_s})


@pytest.mark.timeout(150)
def test_sigterm_waits_for_the_broker_to_confirm_each_cancel_or_names_what_still_works(tmp_path):
    gateway = new_gateway(vix=10.0)
    gateway.faults.hold_fills = True
    log = tmp_path / "node.log"
    tail = lambda: f"; node log tail:\n{log.read_text()[-2000:]}"  # noqa: E731
    node: subprocess.Popen | None = None
    try:
        for ignore_cancels, expected in ((False, EXIT_OK), (True, EXIT_ORDERS_WORKING)):
            gateway.faults.ignore_cancels = ignore_cancels
            seen = len(gateway.orders_received)
            node = subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config",
                                     str(_ib_config(tmp_path, gateway.port, 3.0))], cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=log.open("ab"))
            wait_for(lambda: len(gateway.orders_received) > seen, 60, "an order working at the gateway", tail)
            order_ref = gateway.orders_received[-1].order_ref
            node.send_signal(signal.SIGTERM)
            assert node.wait(timeout=60) == expected, tail()
            last_line = log.read_text().strip().splitlines()[-1]
            if expected == EXIT_ORDERS_WORKING:
                assert last_line.startswith("thetanode: error: stopped with 1 orders still working") and \
                    order_ref in last_line, last_line
    finally:
        if node is not None and node.poll() is None:
            node.kill()  # a failed assertion must not leave a node running (and trading) after the test
        gateway.stop()
    journal = DeltaJournal(str(tmp_path / "lake"))
    [first, _] = sorted(journal.sessions())
    messages = list(journal.read(first))
    [placed] = [m for m in messages if isinstance(m, PlaceOrder)]
    assert [m.status for m in messages if isinstance(m, OrderTerminated)] == ["cancelled"]  # confirmed before exit
    assert placed.client_order_id in {r.order_ref for r in gateway.orders_received}


@pytest.mark.timeout(120)
def test_a_stop_whose_final_flush_fails_exits_4_in_one_line_and_the_next_start_folds_what_was_held(tmp_path):
    lake = tmp_path / "lake"
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nlake_uri = "{lake}"\nclock = "virtual"\n[persistence]\nflush_interval_ms = 600000\n'
                      f'[service]\nhealth_port = 0\nheartbeat_file = "{tmp_path / "hb.json"}"\n'
                      f'control_dir = "{tmp_path / "control"}"\n')
    log = tmp_path / "node.log"
    with tmpfs(lake / "journal") as disk:
        node = subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=log.open("ab"))
        try:
            wait_for(lambda: (tmp_path / "hb.json").exists(), 60, "the node to run")
            disk.read_only()
            node.send_signal(signal.SIGTERM)
            exit_code = node.wait(timeout=60)
        finally:
            if node.poll() is None:
                node.kill()  # a failed step must not leave a node writing for the rest of the suite
        assert exit_code == EXIT_UNFLUSHED
        last_line = log.read_text().strip().splitlines()[-1]
        assert last_line.startswith("thetanode: error: final journal flush failed") and \
            "kept in the write-ahead log" in last_line, last_line
        disk.writable()
        [wal] = (lake / "_thetanode" / "wal").glob("*.wal")
        session = wal.stem
        held = int(last_line.split("): ")[1].split()[0])
        journaled = len(DeltaJournal(str(lake)).journaled_seqs(session))
        from actors.node import open_write_ahead
        from storage.lake_writer import LakeWriter

        open_write_ahead(config_from_mapping({"node": {"lake_uri": str(lake)}}), LakeWriter(DeltaJournal(str(lake))),
                         "next").close()
        folded = list(DeltaJournal(str(lake)).read(session))
        # every message the stop could not write, once; the log may also hold what was published after the final
        # flush gave up (the failure's own StorageStateChanged and alert), folded in as well
        assert held > 0 and len(folded) >= journaled + held
        assert len({m.seq for m in folded}) == len(folded)
        assert any(isinstance(m, NodeStarted) for m in folded) and not wal.exists()
