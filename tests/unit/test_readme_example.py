"""The scenario printed in the README is real: it parses and passes."""

from pathlib import Path

from actors.replay.runner import replay_deterministic
from actors.replay.scenario import load_scenario

README = Path(__file__).parents[2] / "README.md"


def test_readme_scenario_example_passes(tmp_path):
    example = README.read_text().split("## Replay scenarios", 1)[1].split("```", 2)[1]
    path = tmp_path / "example.jsonl"
    path.write_text(example.strip() + "\n")
    result = replay_deterministic(load_scenario(path))
    assert result.expectations and result.passed


def test_readme_config_example_loads(tmp_path):
    from actors.config import load_config

    example = README.read_text().split("## Configuration", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "node.toml"
    path.write_text(example)
    config = load_config(path)
    assert config.entry.symbols == ("SPY",) and config.exits.dte_exit == 21


def test_shipped_example_node_config_loads():
    import datetime as dt

    from actors.config import load_config

    config = load_config(Path(__file__).parents[2] / "scripts" / "node.example.toml")
    assert config.entry.blackout_dates == (dt.date(2026, 12, 9),) and config.service.health_port == 8787
    assert (config.node.broker, config.ib.port, config.ib.live) == ("ib", 4002, False)  # paper unless said live
