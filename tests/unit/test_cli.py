import subprocess
import sys
from pathlib import Path

from actors.cli import EXIT_BAD_INPUT, main


def test_malformed_scenario_exits_2_with_one_line(tmp_path: Path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"scenario": {"start": "2026-03-02T14:30:00Z"}}\n{"at": "+1m", "send": {"type": "Nope"}}\n')
    assert main(["replay", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("thetanode: error: ") and "bad.jsonl:2" in err[0]


def test_bad_config_exits_2(tmp_path: Path, capsys):
    config = tmp_path / "node.toml"
    config.write_text("[exits]\ntake_profit = 0.5\n")
    assert main(["demo", "--config", str(config)]) == EXIT_BAD_INPUT
    assert "node.toml" in capsys.readouterr().err


def test_bad_arguments_exit_2_without_traceback():
    completed = subprocess.run(
        [sys.executable, "-m", "actors.cli", "demo", "--max-days", "soon"], capture_output=True, text=True
    )
    assert completed.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("\n") == 1 and "--max-days" in completed.stderr


def test_demo_and_scenarios_refuse_the_ib_broker_in_one_line(tmp_path, capsys):
    from pathlib import Path

    example = Path(__file__).parents[2] / "scripts" / "node.example.toml"
    assert main(["demo", "--config", str(example)]) == EXIT_BAD_INPUT
    assert 'the demo trades the simulated exchange; node.broker = "ib"' in capsys.readouterr().err
    scenario = tmp_path / "ib.jsonl"
    scenario.write_text('{"scenario": {"name": "ib", "start": "2026-03-02T14:30:00Z", "config": {"node": {"broker": "ib"}}}}\n')
    assert main(["replay", str(scenario)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "scenarios run against the simulated exchange" in error and error.count("\n") == 1


def test_help_needs_none_of_the_heavy_libraries():
    """`thetanode --help`, and every command before it reaches its own work (a stop signal's handler included), must
    not wait seconds for pandas: the journal's pyarrow.dataset and the sweep report import it."""
    import subprocess
    import sys

    probe = ("import contextlib, io, sys\nfrom actors.cli import main\n"
             "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])\n"
             "print(sorted(m for m in ('pandas', 'pyarrow.dataset', 'plotly') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
