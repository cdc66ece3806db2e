import datetime as dt
import json

from actors.cli import EXIT_BAD_INPUT, main
from actors.service.control import read_commands, write_command
from messages import Halt, Resume


def test_control_commands_queue_in_order_and_bad_files_are_set_aside(tmp_path):
    write_command(str(tmp_path), "halt", "risk desk")
    write_command(str(tmp_path), "resume", "all clear")
    (tmp_path / "pending" / "0-garbage.json").write_text("{not json")
    commands = [message for _, message in read_commands(str(tmp_path))]
    assert commands == [Halt(reason="risk desk"), Resume(reason="all clear")]
    assert (tmp_path / "pending" / "0-garbage.bad").exists()


def test_run_refuses_a_live_port_unless_the_config_says_live(tmp_path, capsys):
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nbroker = "ib"\nlake_uri = "{tmp_path}/lake"\n[ib]\nport = 4001\n'
                      f'[service]\ncontrol_dir = "{tmp_path}"\n')
    assert main(["run", "--config", str(config)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "`port` 4001 is a live-trading port; set `live = true`" in error and error.count("\n") == 1


def test_halt_command_writes_a_control_file(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text(f'[service]\ncontrol_dir = "{tmp_path / "control"}"\n')
    assert main(["halt", "--config", str(config), "--reason", "test"]) == 0
    (path,) = (tmp_path / "control" / "pending").glob("*.json")
    assert json.loads(path.read_text()) == {"command": "halt", "reason": "test"}


def test_health_document_and_metrics_follow_published_messages():
    from actors.runtime.clock import VirtualClock
    from actors.runtime.threaded import ThreadedRuntime
    from actors.service.health import NodeHealth
    from messages import (
        BadTick,
        BreakerStateChanged,
        BrokerConnectionChanged,
        OptionContract,
        OptionQuote,
        OptionQuotes,
        OrderFilled,
        TradingStateChanged,
    )

    evening = 1_772_490_000_000_000_000  # 2026-03-02 22:20 UTC: market closed, no staleness expected
    runtime = ThreadedRuntime([], VirtualClock(evening))
    health = NodeHealth(runtime, stale_after_s=60)
    assert health.document()["problems"] == ["broker unknown"]
    health.observe(BrokerConnectionChanged(state="connected", reason="sim"))
    assert health.document()["status"] == "ok"
    health.observe(TradingStateChanged(state="HALTED", reason="operator"))
    health.observe(BreakerStateChanged(state="OPEN", reason="rejects"))
    health.observe(OrderFilled(client_order_id="o", exec_id="e", quantity=1, price=-1.0, commission_usd=1.0))
    health.observe(BadTick(symbol="SPY", key="SPY", reason="jump", detail="580 → 638"))
    health.observe(BadTick(symbol="SPY", key="chain SPY", reason="no_quote", detail="12 of 140", count=12))
    quotes = [OptionQuote(ts=evening - n, contract=OptionContract("SPY", dt.date(2026, 4, 17), 500.0 + n, "P"), bid=1.0,
                          ask=1.1, iv=0.2, delta=-0.2, gamma=0.01, vega=0.1, theta=-0.02, underlying_price=580.0)
              for n in range(3)]
    health.observe(quotes[0])
    health.observe(OptionQuotes(ts=evening - 1, quotes=tuple(quotes[1:])))
    document = health.document()
    assert document["status"] == "degraded"
    assert document["problems"] == ["trading HALTED", "circuit breaker OPEN"]
    text = health.metrics_text().decode()
    assert "thetanode_trading_state 2.0" in text and "thetanode_breaker_state 2.0" in text
    assert "thetanode_fills_total 1.0" in text and "thetanode_broker_connected 1.0" in text
    assert 'thetanode_bad_ticks_total{action="rejected",reason="jump",symbol="SPY"} 1.0' in text
    assert 'thetanode_bad_ticks_total{action="rejected",reason="no_quote",symbol="SPY"} 12.0' in text
    assert "thetanode_option_quotes_total 3.0" in text  # one alone, two in a burst
    assert document["quote_age_s"] == 0.0  # the newest: the lone quote, stamped last
