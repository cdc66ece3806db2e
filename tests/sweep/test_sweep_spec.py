"""Sweep files, market paths and the ranking, without running a backtest: bad files are one-line errors naming the
problem, grids and seeded samples make the runs they should, regimes have the shape their names promise, and the
robust choice is the best worst regime, not the best average."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actors.cli import main
from actors.sweep.paths import generated_bars_csv
from actors.sweep.report import rank
from actors.sweep.spec import SweepError, load_sweep, sweep_from_mapping

CALM = {"regime": "calm", "seeds": [1, 2], "sessions": 10}


def test_a_grid_is_every_combination_on_every_path_with_stable_distinct_keys():
    sweep = sweep_from_mapping({"parameters": {"entry.short_delta": [0.12, 0.16, 0.20], "exits.take_profit_pct": [0.5, 0.75]},
                                "paths": [CALM, {"history": "arch", "from": dt.date(2018, 1, 2),
                                                 "to": dt.date(2018, 2, 1)}]}, "g")
    assert len(sweep.runs) == 3 * 2 * 3
    assert len({run.key for run in sweep.runs}) == len(sweep.runs)
    again = sweep_from_mapping({"parameters": {"exits.take_profit_pct": [0.5, 0.75], "entry.short_delta": [0.12, 0.16, 0.20]},
                                "paths": [CALM, {"history": "arch", "from": dt.date(2018, 1, 2),
                                                 "to": dt.date(2018, 2, 1)}]}, "g")
    assert {run.key for run in again.runs} == {run.key for run in sweep.runs}  # the order of keys does not matter
    overrides = sweep.runs[0].overrides()
    assert overrides["entry"]["short_delta"] == 0.12 and overrides["sim"]["market"] == "history"


def test_a_random_sample_is_seeded_and_within_its_bounds():
    raw = {"sweep": {"mode": "random", "samples": 25, "seed": 3},
           "parameters": {"entry.short_delta": {"low": 0.10, "high": 0.25}, "exits.dte_exit": {"low": 7, "high": 21},
                          "exits.take_profit_pct": [0.5, 0.75]}, "paths": [CALM]}
    first, second = sweep_from_mapping(raw, "r"), sweep_from_mapping(raw, "r")
    assert [r.key for r in first.runs] == [r.key for r in second.runs]
    params = [r.params for r in first.runs]
    assert all(0.10 <= p["entry.short_delta"] <= 0.25 and 7 <= p["exits.dte_exit"] <= 21 for p in params)
    assert all(isinstance(p["exits.dte_exit"], int) for p in params)
    other = sweep_from_mapping({**raw, "sweep": {**raw["sweep"], "seed": 4}}, "r")
    assert {r.key for r in other.runs} != {r.key for r in first.runs}


@pytest.mark.parametrize(("text", "message"), [
    ("[sweep]\nmode = 'spiral'\n[[paths]]\nregime='calm'\n", "mode 'spiral' must be one of grid, random"),
    ("[parameters]\n'entry.short_delta' = [0.1]\n", "no [[paths]]"),
    ("[parameters]\n'entry.shortdelta' = [0.1]\n[[paths]]\nregime='calm'\n", "shortdelta"),
    ("[parameters]\n'entry.short_delta' = ['x']\n[[paths]]\nregime='calm'\n", "entry.short_delta=x"),
    ("[parameters]\nshort_delta = [0.1]\n[[paths]]\nregime='calm'\n", "must be 'section.field'"),
    ("[parameters]\n'entry.short_delta' = []\n[[paths]]\nregime='calm'\n", "non-empty list"),
    ("[[paths]]\nregime='meltup'\n", "regime 'meltup' must be one of"),
    ("[[paths]]\nregime='calm'\nsessions=2\n", "sessions must be a whole number from 5"),
    ("[[paths]]\nhistory='arch'\nfrom=2018-03-01\nto=2018-01-01\n", "to 2018-01-01 is before from 2018-03-01"),
    ("[[paths]]\nhistory='arch'\nfrom='soon'\nto=2018-01-01\n", "from must be a date"),
    ("[[paths]]\nregime='calm'\nhistory='arch'\n", "either regime"),
    ("[sweep]\nmode='random'\n[[paths]]\nregime='calm'\n", "needs samples"),
    ("[sweep]\nid='a b'\n[[paths]]\nregime='calm'\n", "id 'a b' must be"),
    ("[wrong]\n", "unknown table 'wrong'"),
    ("[[paths]\n", ""),
])
def test_a_bad_sweep_file_is_one_line_naming_the_file(tmp_path: Path, text: str, message: str):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(SweepError) as caught:
        load_sweep(file)
    assert str(caught.value).startswith(str(file)) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_command_refuses_a_bad_sweep_file_on_one_line(tmp_path: Path, capsys):
    file = tmp_path / "bad.toml"
    file.write_text("[parameters]\n'risk.nonsense' = [1]\n[[paths]]\nregime='calm'\n")
    assert main(["sweep", str(file), "--lake", str(tmp_path / "lake")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thetanode: error: ") and err.count("\n") == 1 and "nonsense" in err
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert "no such sweep file" in capsys.readouterr().err
    window = tmp_path / "window.toml"
    window.write_text("[[paths]]\nhistory='arch'\nfrom=2011-01-03\nto=2011-02-01\n")  # before the arch sample
    assert main(["sweep", str(window), "--lake", str(tmp_path / "lake")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "lake" / "sweeps").exists()


def _bars(regime: str, seed: int, sessions: int = 60) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(generated_bars_csv(regime, seed, sessions, dt.date(2021, 1, 4))))


def test_generated_regimes_are_seeded_and_look_like_their_names():
    assert generated_bars_csv("crash", 1, 60, dt.date(2021, 1, 4)) == generated_bars_csv("crash", 1, 60,
                                                                                       dt.date(2021, 1, 4))
    assert generated_bars_csv("crash", 1, 60, dt.date(2021, 1, 4)) != generated_bars_csv("crash", 2, 60,
                                                                                       dt.date(2021, 1, 4))
    for seed in (1, 2, 3):
        calm, trending, crash, spike = (_bars(r, seed) for r in ("calm", "trending", "crash", "vol_spike"))
        assert calm["vix"].max() < 20 and abs(np.log(calm["close"].iloc[-1] / 300)) < 0.15
        assert trending["close"].iloc[-1] > 300 * 1.03
        fall = (crash["close"] / crash["close"].cummax()).min()
        assert fall < 0.85 and crash["vix"].max() > 35
        assert spike["vix"].max() > 28 and spike["vix"].iloc[:20].max() < 20
        for frame in (calm, trending, crash, spike):
            assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
            assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
            assert len(frame) == 60 and frame["date"].is_unique


def _row(params: dict, regime: str, pnl: float, dd: float = 10.0) -> dict:
    return {"params_json": json.dumps(params, sort_keys=True), "regime": regime, "path": f"{regime}/{pnl}",
            "pnl_usd": pnl, "max_drawdown_usd": dd, "trades": 2, "win_rate": 0.5, "error": ""}


def test_the_robust_choice_is_the_best_worst_regime_not_the_best_average():
    bold, steady = {"entry.short_delta": 0.30}, {"entry.short_delta": 0.10}
    rows = pd.DataFrame([_row(bold, "calm", 300), _row(bold, "calm", 280), _row(bold, "crash", -400),
                         _row(steady, "calm", 60), _row(steady, "calm", 50), _row(steady, "crash", -40)])
    by_median = rank(rows, "median_pnl")
    assert by_median.iloc[0]["params"] == "short_delta=0.3"
    assert by_median.loc[by_median["robust"], "params"].tolist() == ["short_delta=0.1"]
    by_loss = rank(rows, "loss_probability")
    assert by_loss["loss_probability"].is_monotonic_increasing
    assert rank(rows, "max_drawdown")["max_drawdown"].is_monotonic_increasing
