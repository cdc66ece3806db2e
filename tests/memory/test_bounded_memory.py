"""Short-form soak (CI): the threaded node at 10x the normal quote rate with a slow journal, under memray.

Fails if a mailbox exceeds its bound or overflows, if market data is not conflated, or if the heap keeps growing
after warm-up. The long form is `uv run python scripts/soak_memory.py --hours 8`.
"""

from __future__ import annotations

import pytest

from actors.replay.soak import run_soak, soak_config

LEAK_BYTES_PER_QUOTE = 64
"""Steady state holds no per-quote memory; a few bytes per quote of noise (allocator, interned strings) is allowed."""


@pytest.mark.timeout(300)
def test_ten_times_load_with_a_slow_journal_stays_bounded(tmp_path):
    config = soak_config(block_bound=2_000)
    result = run_soak(tmp_path / "soak.bin", hours=0.5, rate_multiple=10.0, journal_delay_s=0.002, config=config)
    boxes = {m["name"]: m for m in result.mailboxes}
    for name, metrics in boxes.items():
        assert metrics["high_water"] <= config.mailbox.block_bound, (name, metrics)
        assert metrics["overflows"] == 0 and metrics["dropped"] == 0, (name, metrics)
    for consumer in ("market_data", "decision", "risk"):
        assert boxes[consumer]["conflated"] > 0, f"{consumer} saw every quote: market data was not conflated"
    assert boxes["persistence"]["conflated"] == 0, "the journal must see every message"
    assert result.journaled >= result.quotes_offered
    assert result.growth_bytes < LEAK_BYTES_PER_QUOTE * result.quotes_offered, (
        f"heap grew {result.growth_bytes} bytes after warm-up over {result.quotes_offered} quotes"
    )


@pytest.mark.timeout(120)
def test_profile_command_writes_capture_and_flame_graph(tmp_path, capsys):
    from pathlib import Path

    from actors.cli import main

    scenario = Path(__file__).parents[1] / "scenarios" / "halt_resume.jsonl"
    assert main(["profile", str(scenario), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "halt_resume.memray.bin").stat().st_size > 0
    assert (tmp_path / "halt_resume.memray.html").exists()
    assert "peak" in printed and "mailboxes" in printed and "decision" in printed
