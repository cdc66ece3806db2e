import datetime as dt
import gc
from pathlib import Path

import pytest

from actors.config import config_from_mapping, load_config
from actors.config_section import ConfigError
from messages import MESSAGE_TYPES, Leg, OpenStrategy, OptionContract, OrderFilled
from messages.codec import MessageDecodeError, from_builtins, from_json, from_msgpack, to_json, to_msgpack

SPY_PUT = OptionContract("SPY", dt.date(2026, 4, 17), 560.0, "P")


def _intent() -> OpenStrategy:
    return OpenStrategy(
        ts=5,
        seq=9,
        strategy_id="IC-SPY-1",
        kind="iron_condor",
        symbol="SPY",
        legs=(Leg(SPY_PUT, -1),),
        quantity=1,
        mid_price=-1.2,
        natural_price=-1.0,
        max_profit_usd=120.0,
        max_loss_usd=380.0,
        reason="test",
    )


def test_json_and_msgpack_round_trip_keep_type_and_fields():
    intent = _intent()
    assert from_json(to_json(intent)) == intent
    assert from_msgpack(to_msgpack(intent)) == intent
    assert b'"type":"OpenStrategy"' in to_json(intent)


def test_every_message_type_is_frozen_and_tagged():
    assert len(MESSAGE_TYPES) > 30
    for cls in MESSAGE_TYPES:
        assert cls.__struct_config__.frozen, cls
        assert cls.__struct_config__.tag == cls.__name__, cls


def test_no_message_is_tracked_by_the_garbage_collector_built_or_decoded():
    """Ten thousand quotes a second must not set off the cyclic collector (messages/base.py says why it is safe)."""
    for cls in MESSAGE_TYPES:
        assert cls.__struct_config__.gc is False, cls
    intent = _intent()
    assert not gc.is_tracked(intent)
    assert not gc.is_tracked(from_msgpack(to_msgpack(intent)))
    assert not gc.is_tracked(intent.legs[0])


def test_unknown_field_is_rejected_with_its_path():
    with pytest.raises(MessageDecodeError, match="bogus"):
        from_builtins({"type": "OrderFilled", "client_order_id": "a", "exec_id": "e", "quantity": 1,
                       "price": 1.0, "commission_usd": 0.0, "bogus": 1})


def test_wrong_type_names_the_field():
    with pytest.raises(MessageDecodeError, match=r"\$\.quantity"):
        from_builtins({"type": "OrderFilled", "client_order_id": "a", "exec_id": "e", "quantity": "one",
                       "price": 1.0, "commission_usd": 0.0})


def test_unknown_message_type_is_rejected():
    with pytest.raises(MessageDecodeError):
        from_json(b'{"type": "NoSuchMessage"}')


def test_messages_are_immutable():
    fill = OrderFilled(client_order_id="a", exec_id="e", quantity=1, price=1.0, commission_usd=0.0)
    with pytest.raises(AttributeError):
        fill.price = 2.0  # type: ignore[misc]


def test_config_defaults_and_overrides_merge():
    config = config_from_mapping({"exits": {"take_profit_pct": 0.4}})
    assert config.exits.take_profit_pct == 0.4
    assert config.exits.stop_loss_multiple == config_from_mapping({}).exits.stop_loss_multiple


def test_config_rejects_unknown_key_naming_section(tmp_path: Path):
    path = tmp_path / "node.toml"
    path.write_text("[risk]\nmax_position = 3\n")
    with pytest.raises(ConfigError, match=r"node.toml: .*max_position.*\$\.risk"):
        load_config(path)


def test_config_rejects_bad_values(tmp_path: Path):
    path = tmp_path / "node.toml"
    path.write_text("[entry]\ndte_min = 50\ndte_max = 40\n")
    with pytest.raises(ConfigError, match="dte_min"):
        load_config(path)
    path.write_text("[risk]\nmax_positions = -1\n")
    with pytest.raises(ConfigError, match=r"`max_positions` must be within \[0, 1000\], got -1"):
        load_config(path)


def test_config_missing_file_and_bad_toml(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
