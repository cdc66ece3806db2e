"""Every scenario in this directory replays green, in both runtimes, and deterministically."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.replay.runner import replay_deterministic, replay_threaded
from actors.replay.scenario import load_scenario

SCENARIOS = sorted(Path(__file__).parent.glob("*.jsonl"))


def _failures(result) -> list[str]:
    failed = [e.describe(result.scenario) for e in result.expectations if not e.passed]
    if result.stopped_reason:
        failed.append(f"node stopped: {result.stopped_reason}")
    return failed


def test_the_lifecycle_scenarios_exist():
    names = {path.stem for path in SCENARIOS}
    assert {"take_profit", "stop_loss"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_passes_deterministically(path: Path, tmp_path: Path):
    result = replay_deterministic(load_scenario(path), tmp_path / "journal")
    assert result.expectations, "a scenario without expectations proves nothing"
    assert _failures(result) == []


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_journal_is_byte_identical_across_replays(path: Path, tmp_path: Path):
    scenario = load_scenario(path)
    replay_deterministic(scenario, tmp_path / "first")
    replay_deterministic(scenario, tmp_path / "second")
    assert (tmp_path / "first").read_bytes() == (tmp_path / "second").read_bytes()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_passes_on_real_pykka_actors(path: Path, tmp_path: Path):
    result = replay_threaded(load_scenario(path), tmp_path / "journal")
    assert _failures(result) == []
