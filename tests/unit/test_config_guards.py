"""Config that cannot disarm a guard, and scenario lines that cannot hang a replay: every value the issue named is a
one-line error, and a fuzz over config values and scenario lines finds only exit 2 with one line, or success."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actors.cli import EXIT_BAD_INPUT, main
from actors.config import DEFAULT_CONFIG, load_config
from actors.config_section import DEFAULT_MAX, ConfigError
from actors.replay.scenario import ScenarioError, load_scenario

DISARMING = [
    "[risk]\nmax_daily_loss_usd = nan", "[exits]\nstop_loss_multiple = nan", "[risk]\nmax_daily_loss_usd = inf",
    "[risk]\nmax_positions = 12345678901234567890123", "[risk]\nmax_contracts_per_order = 0",
    "[persistence]\nbatch_max = 0", "[persistence]\nmax_buffer = 0", "[execution]\ndeadline_s = 0",
    "[service]\nhealth_port = 70000", "[entry]\nvix_min = 50\nvix_max = 10", '[node]\nlake_uri = ""',
    "[exits]\ntake_profit_pct = -inf", "[sim]\nstart = 2150-01-01T00:00:00Z",
    '[entry]\nsizing = "kelly"', "[entry]\nrisk_per_trade_pct = 0", "[risk]\nmax_margin_utilisation = 1.5",
    "[risk]\nmax_loss_exposure_pct = -0.1", "[sim]\nstarting_cash_usd = 0",
]


@pytest.mark.parametrize("text", DISARMING)
def test_a_value_that_would_disarm_a_guard_is_a_one_line_error(tmp_path, text, capsys):
    path = tmp_path / "node.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError):
        load_config(path)
    assert main(["demo", "--config", str(path)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith(f"thetanode: error: {path}: ") and error.count("\n") == 1


def test_a_directory_or_a_binary_file_is_not_a_config(tmp_path, capsys):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01 not text")
    for path, text in ((tmp_path, "is a directory"), (binary, "not a text file")):
        assert main(["demo", "--config", str(path)]) == EXIT_BAD_INPUT
        error = capsys.readouterr().err
        assert text in error and error.count("\n") == 1


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10**25, max_value=10**25),
                    st.sampled_from([0, 1, -1, 0.5, 1e9, 1e-9]))
SECTIONS = {name: [field for field in getattr(DEFAULT_CONFIG, name).__struct_fields__
                   if isinstance(getattr(getattr(DEFAULT_CONFIG, name), field), (int, float))
                   and not isinstance(getattr(getattr(DEFAULT_CONFIG, name), field), bool)]
            for name in DEFAULT_CONFIG.__struct_fields__}
FIELDS = st.sampled_from([(section, field) for section, fields in SECTIONS.items() for field in fields])


def _toml(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return repr(value)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(FIELDS, NUMBERS), min_size=1, max_size=4))
def test_fuzzed_config_values_exit_2_in_one_line_or_load_finite_and_in_range(tmp_path, capsys, changes):
    overrides: dict[str, dict] = {}
    for (section, field), value in changes:
        overrides.setdefault(section, {})[field] = value
    path = tmp_path / "fuzz.toml"
    lines = {section: [f"{k} = {_toml(v)}" for k, v in fields.items()] for section, fields in overrides.items()}
    lines.setdefault("service", []).append(f'control_dir = "{tmp_path / "control"}"')
    path.write_text("".join(f"[{section}]\n" + "".join(f"{line}\n" for line in body)
                            for section, body in lines.items()))
    code = main(["halt", "--config", str(path)])  # loads the whole config, then only drops a control file
    error = capsys.readouterr().err
    if code != 0:
        assert code == EXIT_BAD_INPUT and error.startswith(f"thetanode: error: {path}: ") and error.count("\n") == 1
        return
    config = load_config(path)
    for section, fields in SECTIONS.items():
        for field in fields:
            settings = getattr(config, section)
            value = getattr(settings, field)
            low, high = type(settings).LIMITS.get(field, (0, DEFAULT_MAX))  # each field's documented range
            assert math.isfinite(value) and low <= value <= high, (section, field, value)


HEADER = {"scenario": {"name": "fuzz", "start": "2026-03-02T14:30:00Z"}}
AT = st.one_of(st.from_regex(r"\A\+[0-9]{1,25}(\.[0-9]{1,3})?(ms|s|m|h|d)\Z"), st.text(max_size=30),
               st.datetimes().map(lambda d: d.isoformat() + "Z"), st.integers(), st.none())
LINE = st.one_of(
    st.fixed_dictionaries({"at": AT, "send": st.fixed_dictionaries(
        {"type": st.sampled_from(["Halt", "UnderlyingQuote", "IndexQuote", "Nope"]),
         "reason": st.text(max_size=10)})}),
    st.fixed_dictionaries({"at": AT, "expect": st.fixed_dictionaries({"type": st.sampled_from(["Halt", "Alert"])})}),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(LINE, min_size=1, max_size=4))
@example(lines=[{"\n": 0}])  # found by this fuzz: the error echoed a field named by a line break
def test_fuzzed_scenario_lines_exit_2_in_one_line_or_load_within_the_window(tmp_path: Path, capsys, lines):
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in [HEADER, *lines]) + "\n")
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        assert main(["replay", str(path), "--quiet"]) == EXIT_BAD_INPUT
        error = capsys.readouterr().err
        assert error.startswith(f"thetanode: error: {path}") and error.count("\n") == 1
        return
    assert scenario.end_ns - scenario.start_ns < 120 * 365 * 86_400 * 10**9  # no century-long replay to hang on
    if scenario.end_ns - scenario.start_ns <= 86_400 * 10**9:  # a short one replays to a verdict, never a traceback
        out = tmp_path / "fuzz.journal"
        assert main(["replay", str(path), "--quiet", "--journal-out", str(out)]) in (0, 1)
