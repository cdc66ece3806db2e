"""The writer's lease of an object-store lake, exercised through the same deltalake calls on a local path: one holder,
refused to others until it expires, taken over after, and the old holder finds out."""

from __future__ import annotations

import pytest

from actors.service.lease import LakeLease, LeaseHeld

NS = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000 * NS

    def __call__(self) -> int:
        return self.now


def test_a_lease_admits_one_holder_until_it_expires_then_the_next_takes_over(tmp_path):
    clock = Clock()
    lake = str(tmp_path / "lake")
    first = LakeLease(lake, None, lease_s=30, clock=clock)
    first.acquire()
    second = LakeLease(f"{lake}/", None, lease_s=30, clock=clock)
    with pytest.raises(LeaseHeld, match=r"holds this lake's lease for 30s more"):
        second.acquire()
    clock.now += 20 * NS
    assert first.renew() is None  # renewed: another 30 s from now
    clock.now += 25 * NS
    with pytest.raises(LeaseHeld):
        second.acquire()
    clock.now += 10 * NS  # the first node stopped renewing (crashed): its lease runs out
    second.acquire()
    assert "taken over by" in first.renew()
    second.release()
    third = LakeLease(lake, None, lease_s=30, clock=clock)
    third.acquire()  # released: free at once


def test_two_nodes_racing_for_a_free_lease_get_one_winner(tmp_path):
    clock = Clock()
    lake = str(tmp_path / "lake")
    a, b = LakeLease(lake, None, 30, clock), LakeLease(lake, None, 30, clock)
    table_a, table_b = a._table(), b._table()  # both read the free lease
    a._commit(table_a, a.holder, clock.now + 30 * NS)
    from deltalake.exceptions import CommitFailedError

    with pytest.raises(CommitFailedError):
        b._commit(table_b, b.holder, clock.now + 30 * NS)
    with pytest.raises(LeaseHeld):
        b.acquire()
