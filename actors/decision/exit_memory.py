"""What the exits remember of each held position beyond the portfolio's facts (pure; held by the decision core): its
baseline (`exit_baseline.py`), the conservative marks last reported, when its mark was last published, and the
backoff after its closes were refused."""

from __future__ import annotations

from dataclasses import replace

from actors.decision.config import ExitSection
from actors.decision.exit_baseline import ExitBaseline
from actors.decision.leg_plan import LegsMarked
from actors.market_time import NS_PER_S


class ExitMemory:
    def __init__(self) -> None:
        self.baselines: dict[str, ExitBaseline] = {}
        self._conservative: dict[str, str] = {}  # strategy id -> the conservative marks last reported
        self._marked_at: dict[str, int] = {}  # strategy id -> when its last StrategyMarked was published
        self._close_refusals: dict[str, int] = {}
        self._close_retry_at: dict[str, int] = {}

    def opened(self, strategy_id: str, quantity: int, at_ns: int) -> None:
        self.baselines[strategy_id] = ExitBaseline(opened_quantity=abs(quantity), opened_at=at_ns)

    def resized(self, strategy_id: str, old_quantity: int, new_quantity: int) -> None:
        baseline = self.baselines.get(strategy_id)
        if baseline is not None:
            self.baselines[strategy_id] = baseline.resized(old_quantity, new_quantity)

    def forget(self, strategy_id: str) -> None:
        for kept in (self.baselines, self._conservative, self._marked_at, self._close_refusals, self._close_retry_at):
            kept.pop(strategy_id, None)

    def judged(self, strategy_id: str, marked: LegsMarked, vix: float, pnl_usd: float) -> ExitBaseline:
        """The baseline the rules judge this mark by: set at the first complete quote set after the fill (IV, VIX),
        its peak raised by a better P&L (most quotes bring none: no copy for them)."""
        baseline = self.baselines.get(strategy_id) or ExitBaseline()
        if baseline.entry_iv == 0.0:
            baseline = replace(baseline, entry_iv=marked.iv, entry_vix=vix)
        if pnl_usd > baseline.peak_pnl_usd:
            baseline = replace(baseline, peak_pnl_usd=pnl_usd)
        self.baselines[strategy_id] = baseline
        return baseline

    def conservative_changed(self, strategy_id: str, note: str) -> bool:
        """Whether the legs marked conservatively (and how) changed since last reported: reported once per change."""
        if note == self._conservative.get(strategy_id, ""):
            return False
        self._conservative[strategy_id] = note
        return True

    def mark_due(self, strategy_id: str, now_ns: int, interval_ns: int) -> bool:
        """At most one `StrategyMarked` per strategy per interval: noted as published when due."""
        last = self._marked_at.get(strategy_id)
        if last is not None and now_ns - last < interval_ns:
            return False
        self._marked_at[strategy_id] = now_ns
        return True

    def backing_off(self, strategy_id: str, now_ns: int) -> bool:
        """Its last close was refused: judged again once the backoff is over."""
        return now_ns < self._close_retry_at.get(strategy_id, 0)

    def close_refused(self, strategy_id: str, now_ns: int, exits: ExitSection) -> int:
        """The exit still stands and is tried again after a backoff doubling from `close_retry_initial_s` up to
        `close_retry_max_s`: hammering a refusing broker changes nothing. Returns the refusals so far."""
        refusals = self._close_refusals.get(strategy_id, 0) + 1
        self._close_refusals[strategy_id] = refusals
        delay_s = min(exits.close_retry_initial_s * 2 ** (refusals - 1), exits.close_retry_max_s)
        self._close_retry_at[strategy_id] = now_ns + int(delay_s * NS_PER_S)
        return refusals
