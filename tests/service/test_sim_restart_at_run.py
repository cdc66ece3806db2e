"""A real `thetanode run` restarted on a lake whose last session was killed while the simulated exchange still held
what it had done by itself in its latency outbox — a dividend payment, or the report of an expiry it settled after an
after-hours print — reports what the live exchange had reported, once: read from the lake on disk, not from any
process's memory.

The killed session is the journal of a scripted session (assignment_keep: the short put is assigned at the close),
cut where a kill leaves it: everything stamped before the lost message left the outbox."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actors.node import RUN_MODE
from messages import BrokerAccountValues, BrokerPositionsSnapshot, NodeStarted, StockDividend
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter
from tests.unit.test_sim_restart_settlements import CLOSE_NS, _live_at, _scenario
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
DIVIDEND = {"symbol": "SPY", "ex_date": "2026-03-10", "amount": 2.0}


def _node_toml(tmp_path: Path, scenario_config: dict) -> Path:
    """The scenario's settings as a node config, on the virtual clock (it continues from the lake's last instant)."""
    sections = {section: dict(values) for section, values in scenario_config.items()}
    sections["sim"] = {"market": "scripted", "start": "2026-03-02T14:30:00Z", **sections.get("sim", {})}
    sections["node"] = {"lake_uri": str(tmp_path / "lake"), "clock": "virtual"}
    sections["service"] = {"health_port": 0, "heartbeat_file": str(tmp_path / "hb.json"),
                           "control_dir": str(tmp_path / "control"), "shutdown_timeout_s": 10}

    def value(item: object) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{key} = {value(v)}" for key, v in item.items()) + "}"
        if isinstance(item, list):
            return "[" + ", ".join(value(v) for v in item) + "]"
        if isinstance(item, str) and item[:4].isdigit() and item[4:5] == "-":
            return item  # a TOML date or date-time
        return json.dumps(item)

    lines = [line for name, values in sections.items()
             for line in (f"[{name}]", *(f"{key} = {value(v)}" for key, v in values.items()))]
    config = tmp_path / "node.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


AFTER_CLOSE = {"at": "2026-03-06T22:00:00Z",
               "send": {"type": "UnderlyingQuote", "symbol": "SPY", "bid": 589.95, "ask": 590.05, "last": 590.0}}
CASES = {
    # the expiry leaves +100 SPY, which receive a $2.00 dividend at Tuesday's open: its payment dies in the outbox
    "dividend in the outbox": ({"latency_ms": 500, "dividends": [DIVIDEND]}, [], "2026-03-10T16:00:00Z",
                               lambda m: isinstance(m, StockDividend)),
    # the short put is in the money at the close (568); a print after it (590) makes the exchange settle, and the
    # report of that settlement dies in the outbox
    "expiry settled, report in the outbox": ({"latency_ms": 500}, [AFTER_CLOSE], "2026-03-09T15:00:00Z",
                                             lambda m: isinstance(m, BrokerPositionsSnapshot) and m.ts > CLOSE_NS),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_restarted_node_reports_what_its_killed_exchange_had_done_once(tmp_path, case):
    sim, extra, until, lost = CASES[case]
    scenario, history = _scenario(tmp_path, "assignment_keep", sim, extra, until)
    first_lost = next(m for m in history if m.origin == "broker" and lost(m))
    killed = [m for m in history if m.ts < first_lost.ts]  # everything stamped before it left the outbox
    header = json.loads((tmp_path / "assignment_keep.jsonl").read_text().splitlines()[0])
    config = _node_toml(tmp_path, header["scenario"]["config"])
    journal = DeltaJournal(str(tmp_path / "lake"))
    started = NodeStarted(ts=killed[0].ts, seq=0, origin="runtime", session_id="killed", mode=RUN_MODE)
    LakeWriter(journal).append("killed", [started, *killed], 1)

    log = tmp_path / "node.log"
    process = subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                               stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def restarted() -> list:
        sessions = [s for s in journal.sessions() if s != "killed"] if journal.exists() else []
        return [m for s in sessions for m in journal.read(s, types=(BrokerPositionsSnapshot, BrokerAccountValues,
                                                                      StockDividend))]

    try:
        wait_for(lambda: any(isinstance(m, BrokerAccountValues) for m in restarted()), 200,
                 "the restarted exchange's first report", lambda: log.read_text()[-3000:])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
    after = restarted()
    payments = [(p.symbol, p.ex_date, p.quantity, p.cash_usd) for p in history if isinstance(p, StockDividend)]
    assert [(p.symbol, p.ex_date, p.quantity, p.cash_usd) for p in killed + after
            if isinstance(p, StockDividend)] == payments  # what the live exchange paid, once
    reports = [m for m in after if isinstance(m, BrokerPositionsSnapshot)]
    cash = [v.value for m in after if isinstance(m, BrokerAccountValues) for v in m.values if v.key == "TotalCashValue"]
    live = _live_at(history, first_lost.ts)
    assert (reports[0].positions, reports[0].stock_positions, cash[0]) == live  # its first report, as the live one's
    assert {(r.positions, r.stock_positions) for r in reports} == {live[:2]}  # and never settled again
