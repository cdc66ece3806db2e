"""A core restored from its snapshot is the core replay-from-zero builds: for every core, on every scenario; and it
takes its settings from the config of now, not of the run that wrote it."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import msgspec
import pytest

from actors.broker.ib.config import IbSection
from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.orders import IbOrder
from actors.broker.ib.session import IbSessionCore
from actors.config import DEFAULT_CONFIG, NodeConfig, config_from_mapping
from actors.config_section import ConfigError, Section
from actors.execution.core import ExecutionCore
from actors.node import core_factories
from actors.replay.runner import replay_deterministic
from actors.replay.scenario import load_scenario
from actors.runtime.core import ActorCore, MutedContext
from actors.runtime.rebuild import replay_quietly
from actors.runtime.routing import RoutingTable
from actors.runtime.snapshot_codec import SnapshotError, encode_state, restore_state
from actors.runtime.snapshots import restart_point, write_snapshots
from messages import Message, OptionContract

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.jsonl"))
STATE_FROM_CONFIG = {
    "sim.seed": "the simulated market's random state is the exchange's world, drawn on since",
    "sim.starting_cash_usd": "the opening balance, changed by every fill since",
}
"""Settings that only start a piece of state: a restore rightly keeps the state they grew into."""
_CONTRACT = OptionContract(symbol="SPY", expiry=dt.date(2026, 3, 20), strike=560.0, right="P")
START_NS = int(dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC).timestamp() * 1e9)


def _cores(config: NodeConfig, start_ns: int = START_NS) -> dict:
    cores = {core.name: core for core in (factory() for factory in core_factories(config, "s", None, start_ns))}
    return {name: core for name, core in cores.items() if core.replay_on_restart}


def _whole(core: ActorCore, now_ns: int) -> bytes:
    """Everything the core holds once it starts (rebuilding's own bookkeeping ends there), what a restore leaves
    fresh included: two cores compared this way are equal."""
    core.on_start(MutedContext(now_ns))
    return encode_state(core, keep_fresh=True)[0]


def _state(written: bytes) -> object:
    """A snapshot's tree without what it keeps of the values a restore leaves fresh."""
    def strip(tree: object) -> object:
        if isinstance(tree, list):
            return [strip(item) for item in tree]
        if isinstance(tree, dict):
            return None if tree.get("$") == "fresh" else {key: strip(value) for key, value in tree.items()}
        return tree
    return strip(msgspec.msgpack.decode(written))


def _restored_at(history: list[Message], cut: int, config: NodeConfig, start_ns: int,
                 round_trip: bool = True) -> tuple[dict, dict]:
    """Cores replayed from zero through the whole history, and cores restored from a snapshot at `cut` and replayed
    from there on: what a restart at `cut` would have."""
    from_zero, restored = _cores(config, start_ns), _cores(config, start_ns)
    routes = RoutingTable({name: core.subscriptions for name, core in from_zero.items()})
    replay_quietly(from_zero, routes, history[:cut])
    for snapshot in write_snapshots(from_zero, history[cut - 1].seq):
        restore_state(restored[snapshot.core], snapshot.state)
        if round_trip:
            assert _state(encode_state(restored[snapshot.core])[0]) == _state(snapshot.state)  # read back as written
    replay_quietly(from_zero, routes, history[cut:])
    replay_quietly(restored, routes, history[cut:])
    return from_zero, restored


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_restored_core_is_the_core_replay_from_zero_builds(path):
    scenario = load_scenario(path)
    history = replay_deterministic(scenario).history
    for cut in (len(history) // 3, 2 * len(history) // 3):
        from_zero, restored = _restored_at(history, cut, scenario.config, scenario.start_ns)
        for name in from_zero:
            now = history[-1].ts
            assert _whole(restored[name], now) == _whole(from_zero[name], now), f"{name} restored at {cut} differs"


def test_state_a_snapshot_leaves_out_is_caught(monkeypatch):
    """The check above can fail: execution told to leave its order book fresh no longer equals replay-from-zero."""
    scenario = load_scenario(next(p for p in SCENARIOS if p.stem == "take_profit"))
    history = replay_deterministic(scenario).history
    monkeypatch.setattr(ExecutionCore, "SNAPSHOT_FRESH", ("_orders", "_order_count"), raising=False)
    from_zero, restored = _restored_at(history, len(history) // 2, scenario.config, scenario.start_ns, False)
    now = history[-1].ts
    assert _whole(restored["execution"], now) != _whole(from_zero["execution"], now)


def _changed_settings() -> list[tuple[str, NodeConfig]]:
    """The default config with one numeric or boolean setting changed, for every setting that can be."""
    changed = []
    for section_name in NodeConfig.__struct_fields__:
        section = getattr(DEFAULT_CONFIG, section_name)
        for field in section.__struct_fields__:
            value = getattr(section, field)
            if isinstance(value, bool):
                new = not value
            elif isinstance(value, (int, float)):
                low, high = type(section).LIMITS.get(field, (0, 1e9))
                new = type(value)(value + 1 if value + 1 <= high else max(low, value - 1))
            else:
                continue
            try:
                changed.append((f"{section_name}.{field}", config_from_mapping({section_name: {field: new}})))
            except (ConfigError, ValueError, msgspec.ValidationError):
                continue
    return changed


@pytest.mark.parametrize("broker", ["sim", "ib"])
def test_a_restored_core_takes_its_settings_from_the_config_of_now(broker):
    """A snapshot of a fresh core (no state at all) restored into a core built from another config must change
    nothing: whatever would change is a setting the snapshot carried over from the config it was written under."""
    base = config_from_mapping({"node": {"broker": broker}})
    written = {name: encode_state(core)[0] for name, core in _cores(base).items()}
    leaked = []
    for setting, config in _changed_settings():
        config = msgspec.structs.replace(config, node=base.node)
        for name, core in _cores(config).items():
            expected = encode_state(core, keep_fresh=True)[0]
            restore_state(core, written[name])
            if encode_state(core, keep_fresh=True)[0] != expected and setting not in STATE_FROM_CONFIG:
                leaked.append(f"{name} keeps the old {setting}")
    assert not leaked


def test_a_snapshot_names_only_the_projects_classes():
    core = _cores(DEFAULT_CONFIG)["execution"]
    forged = msgspec.msgpack.encode({"$": "obj", "c": "actors.execution.core:ExecutionCore",
                                     "a": [["_orders", {"$": "obj", "c": "subprocess:Popen", "a": []}]]})
    with pytest.raises(SnapshotError, match="outside the project's packages"):
        restore_state(core, forged)
    with pytest.raises(SnapshotError, match="is not of a ExecutionCore"):
        restore_state(core, encode_state(_cores(DEFAULT_CONFIG)["risk"])[0])


def test_a_restart_point_is_the_newest_whole_set_this_code_wrote():
    cores = _cores(DEFAULT_CONFIG)
    older, newer = write_snapshots(cores, 10), write_snapshots(cores, 20)
    point = restart_point("s", [*older, *newer])
    assert point is not None and point.through_seq == 20 and set(point.snapshots) == set(cores)
    cut_short = restart_point("s", [*older, *newer[:-1]])  # the crash came while the newer set was journaled
    assert cut_short is not None and cut_short.through_seq == 10
    other_code = [msgspec.structs.replace(s, schema="0" * 32) for s in newer]
    assert restart_point("s", [*older, *other_code]) is None  # never restored, never an older set either


def test_config_sections_are_recognised_by_class():
    assert all(isinstance(getattr(DEFAULT_CONFIG, name), Section) for name in NodeConfig.__struct_fields__)


def test_an_ib_broker_core_holding_orders_is_snapshotted():
    """A stock order names its symbol, a combo order leaves it unset (msgspec.UNSET): both must survive a snapshot,
    or an IB node holding any order could never write one and replayed its whole history at every start."""
    core = IbBrokerCore(IbSection())
    core._orders["combo"] = IbOrder("combo", (), 1, -1.2)
    core._orders["shares"] = IbOrder("shares", (), -100, 580.0, stock="SPY")
    state, _ = encode_state(core)
    restored = IbBrokerCore(IbSection())
    restore_state(restored, state)
    assert restored._orders["combo"].stock is msgspec.UNSET and restored._orders["shares"].stock == "SPY"
    assert encode_state(restored)[0] == state


def test_a_cores_live_connection_is_never_walked_into_its_snapshot():
    """The IB session core names its link fresh: a started link holds its thread, ib_async and the runtime's context,
    none of it state. Walking it failed every snapshot of an IB node (`itertools.count ... has no snapshot form`), so
    an IB node never wrote the snapshots that make its restarts fast."""
    core = IbSessionCore(IbSection(), 7, ("SPY",))
    core._held[_CONTRACT] = 1
    core._link = threading.Thread()  # stands for the live link: a running object that is not the project's
    state, _ = encode_state(core)
    restored = IbSessionCore(IbSection(), 7, ("SPY",))
    restore_state(restored, state)
    assert restored._link is None and restored._held == core._held
