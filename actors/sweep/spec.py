"""A sweep file: which parameters vary, over which market paths, and the runs that makes.

```toml
[sweep]
id = "condor-2018"          # the sweep's name in the lake (default: the file's stem)
mode = "grid"               # "grid": every combination; "random": `samples` draws (seeded, so a resume draws the same)
samples = 20
seed = 7

[base]                      # node config laid over the backtest defaults for every run (optional)
exits = { dte_exit = 21 }

[parameters]                # "section.field" = [values]; in random mode also { low = .., high = .. }
"entry.short_delta" = [0.12, 0.16, 0.20]
"exits.take_profit_pct" = [0.5, 0.75]

[[paths]]                   # generated: a seeded regime (calm, trending, crash, vol_spike) of `sessions` days
regime = "crash"
seeds = [1, 2]
sessions = 40

[[paths]]                   # history: a window of the history market ("arch" or a bars file)
history = "arch"
from = 2018-01-02
to = 2018-03-29
```

Every parameter set is checked against the node's config (a misspelt field or a value out of range is refused before
anything runs); anything wrong is one `SweepError` line naming the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actors.backtest import backtest_config
from actors.config_section import ConfigError, read_toml
from actors.sweep.paths import REGIMES, MarketPath

MODES = ("grid", "random")
MAX_RUNS = 1_000_000


class SweepError(ValueError):
    """A sweep file that cannot run; one line naming the file and the problem."""


@dataclass(frozen=True)
class Run:
    """One backtest of a sweep: a parameter set on a market path. `key` names it in the lake (resume skips it)."""

    sweep_id: str
    params: dict[str, Any]
    path: MarketPath
    base: dict[str, Any]

    @property
    def params_id(self) -> str:
        return json.dumps(self.params, sort_keys=True, default=str)

    @property
    def key(self) -> str:
        text = json.dumps([self.params_id, self.path.name, self.base], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def overrides(self) -> dict[str, Any]:
        """The node config of this run: base, then the path's market, then the parameters."""
        merged = json.loads(json.dumps(self.base, default=str))
        for layer in (self.path.overrides(), _nested(self.params)):
            for section, fields in layer.items():
                merged.setdefault(section, {}).update(fields)
        return merged


@dataclass(frozen=True)
class Sweep:
    id: str
    mode: str
    runs: list[Run]
    parameter_names: list[str]


def load_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    raw = read_toml(path, "sweep file", SweepError)
    try:
        return sweep_from_mapping(raw, default_id=path.stem)
    except SweepError as exc:
        raise SweepError(f"{path}: {exc}") from None


def sweep_from_mapping(raw: dict[str, Any], default_id: str) -> Sweep:
    unknown = set(raw) - {"sweep", "base", "parameters", "paths"}
    if unknown:
        raise SweepError(f"unknown table {sorted(unknown)[0]!r} (expected sweep, base, parameters, paths)")
    head = _table(raw, "sweep")
    extra = set(head) - {"id", "mode", "samples", "seed"}
    if extra:
        raise SweepError(f"[sweep] has an unknown key {sorted(extra)[0]!r} (expected id, mode, samples, seed)")
    sweep_id = str(head.get("id", default_id)).strip()
    if not sweep_id or not all(c.isalnum() or c in "-_." for c in sweep_id):
        raise SweepError(f"[sweep] id {sweep_id!r} must be letters, digits, '-', '_' or '.'")
    mode = head.get("mode", "grid")
    if mode not in MODES:
        raise SweepError(f"[sweep] mode {mode!r} must be one of {', '.join(MODES)}")
    base = _table(raw, "base")
    parameters = _table(raw, "parameters")
    paths = _paths(raw.get("paths"))
    if mode == "grid":
        param_sets = _grid(parameters)
    else:
        samples, seed = head.get("samples"), head.get("seed", 0)
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise SweepError("[sweep] mode 'random' needs samples = a whole number ≥ 1")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise SweepError("[sweep] seed must be a whole number")
        param_sets = _random(parameters, samples, seed)
    if len(param_sets) * len(paths) > MAX_RUNS:
        raise SweepError(f"{len(param_sets) * len(paths):,} runs is more than {MAX_RUNS:,}")
    runs = [Run(sweep_id, params, market, base) for params in param_sets for market in paths]
    for params in param_sets:  # each distinct parameter set once, on the first path: the config checks do not vary
        _check_config(Run(sweep_id, params, paths[0], base))
    return Sweep(sweep_id, mode, runs, sorted(parameters))


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise SweepError(f"[{name}] must be a table")
    return value


def _nested(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for name, value in params.items():
        section, _, field = name.partition(".")
        nested.setdefault(section, {})[field] = value
    return nested


def _check_name(name: str) -> None:
    section, dot, field = name.partition(".")
    if not dot or not section or not field or "." in field:
        raise SweepError(f"parameter {name!r} must be 'section.field' (e.g. 'entry.short_delta')")


def _grid(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    names = sorted(parameters)
    for name in names:
        _check_name(name)
        values = parameters[name]
        if not isinstance(values, list) or not values:
            raise SweepError(f"parameter {name!r} needs a non-empty list of values in grid mode")
    total = int(np.prod([len(parameters[n]) for n in names])) if names else 1
    if total > MAX_RUNS:
        raise SweepError(f"the grid has {total:,} parameter sets, more than {MAX_RUNS:,}")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(parameters[n] for n in names))]


def _random(parameters: dict[str, Any], samples: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    names = sorted(parameters)
    for name in names:
        _check_name(name)
    draws: list[dict[str, Any]] = []
    for _ in range(samples):
        draw = {}
        for name in names:
            draw[name] = _draw(name, parameters[name], rng)
        draws.append(draw)
    unique = {json.dumps(d, sort_keys=True): d for d in draws}  # a repeated draw is one parameter set
    return list(unique.values())


def _draw(name: str, spec: Any, rng: np.random.Generator) -> Any:
    if isinstance(spec, list) and spec:
        return spec[int(rng.integers(len(spec)))]
    if isinstance(spec, dict) and set(spec) == {"low", "high"}:
        low, high = spec["low"], spec["high"]
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
        if not numbers or high < low:
            raise SweepError(f"parameter {name!r}: low and high must be numbers with low ≤ high")
        if isinstance(low, int) and isinstance(high, int):
            return int(rng.integers(low, high + 1))
        return round(float(rng.uniform(low, high)), 6)
    raise SweepError(f"parameter {name!r} needs a non-empty list or {{ low = .., high = .. }}")


def _paths(raw: Any) -> list[MarketPath]:
    if not isinstance(raw, list) or not raw:
        raise SweepError("no [[paths]]: name at least one market path (a regime or a history window)")
    paths: list[MarketPath] = []
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise SweepError(f"[[paths]] #{number} must be a table")
        paths.extend(_path(entry, number))
    names = [p.name for p in paths]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise SweepError(f"the market path {duplicate} is named twice")
    return paths


def _path(entry: dict[str, Any], number: int) -> list[MarketPath]:
    where = f"[[paths]] #{number}"
    if ("regime" in entry) == ("history" in entry):
        raise SweepError(f"{where} needs either regime = one of {', '.join(REGIMES)} or history = 'arch' or a file")
    if "regime" in entry:
        extra = set(entry) - {"regime", "seeds", "sessions", "start"}
        if extra:
            raise SweepError(f"{where} has an unknown key {sorted(extra)[0]!r} (regime, seeds, sessions, start)")
        regime, seeds = entry["regime"], entry.get("seeds", [1])
        sessions, start = entry.get("sessions", 60), entry.get("start", dt.date(2021, 1, 4))
        if regime not in REGIMES:
            raise SweepError(f"{where}: regime {regime!r} must be one of {', '.join(REGIMES)}")
        if not isinstance(seeds, list) or not seeds or not all(_whole(s) for s in seeds):
            raise SweepError(f"{where}: seeds must be a non-empty list of whole numbers")
        if not _whole(sessions) or not 5 <= sessions <= 2_500:
            raise SweepError(f"{where}: sessions must be a whole number from 5 to 2500")
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise SweepError(f"{where}: start must be a date (YYYY-MM-DD, unquoted)")
        return [MarketPath.generated(regime, seed, sessions, start) for seed in seeds]
    extra = set(entry) - {"history", "from", "to", "vix"}
    if extra:
        raise SweepError(f"{where} has an unknown key {sorted(extra)[0]!r} (history, from, to, vix)")
    first, last = entry.get("from"), entry.get("to")
    for key, value in (("from", first), ("to", last)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise SweepError(f"{where}: {key} must be a date (YYYY-MM-DD, unquoted)")
    if last < first:
        raise SweepError(f"{where}: to {last} is before from {first}")
    return [MarketPath.window(str(entry["history"]), first, last, str(entry.get("vix", "")))]


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_config(run: Run) -> None:
    try:
        backtest_config(run.overrides(), source="parameters")
    except ConfigError as exc:
        params = ", ".join(f"{k}={v}" for k, v in run.params.items()) or "[base]"
        raise SweepError(f"{params}: {str(exc).removeprefix('parameters: ')}") from None
