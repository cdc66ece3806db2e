"""Mutation testing of the pure cores with mutmut, one module at a time, each against only the unit tests that
exercise it.

Each module gets its own scratch copy of the project under `.mutation/<module>/` whose pyproject names that one
file to mutate and its targeted tests; mutmut then forks one child per mutant from a warm process and runs only the
tests that call the mutated function. Prints a per-module table (killed, survived, timeout, score, wall time) and
the total, and exits 1 when any module scores below the threshold (default 90%).

    uv run python scripts/mutation.py [--module PATH ...] [--threshold 90] [--jobs 1] [--show-survivors]

A mutant that times out counts as detected (it made the tests hang, which they would report); "no tests" and
"suspicious" count as not killed. The score is raw: mutants judged equivalent are listed in the README, not excused.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutation"
COPIED = ("actors", "messages", "storage", "tests")
PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider"]

MODULES: dict[str, tuple[str, ...]] = {
    "actors/decision/rules.py": ("tests/unit/test_exit_rules.py", "tests/unit/test_exit_rule_boundaries.py",
                                 "tests/unit/test_core_slices.py"),
    "actors/risk/checks.py": ("tests/unit/test_risk_engine.py", "tests/unit/test_risk_checks.py"),
    "actors/risk/core.py": ("tests/unit/test_risk_engine.py", "tests/unit/test_risk_checks.py",
                            "tests/unit/test_risk_core.py", "tests/unit/test_core_slices.py"),
    "actors/risk/breaker.py": ("tests/unit/test_risk_engine.py", "tests/unit/test_risk_core.py"),
    "actors/execution/order_state.py": ("tests/unit/test_order_lifecycle.py", "tests/unit/test_execution_core.py"),
    "actors/execution/core.py": ("tests/unit/test_order_lifecycle.py", "tests/unit/test_execution_core.py",
                                 "tests/unit/test_core_slices.py", "tests/unit/test_quote_gate.py"),
    "actors/broker/ib/fills.py": ("tests/unit/test_ib_core.py", "tests/unit/test_combo_fills.py"),
    "actors/market_data/pricing.py": ("tests/unit/test_pricing.py", "tests/unit/test_pricing_edges.py"),
}
"""Module to mutate → the unit tests that judge it (a missing file is skipped with a note)."""

DETECTED = ("killed", "timeout", "caught by type check")


@dataclass
class ModuleResult:
    module: str
    counts: Counter
    wall_s: float
    survivors: list[str]

    @property
    def total(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in ("skipped", "not checked"))

    @property
    def detected(self) -> int:
        return sum(self.counts[s] for s in DETECTED)

    @property
    def score(self) -> float:
        return 100.0 * self.detected / self.total if self.total else 100.0


def _config(module: str, tests: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(list(COPIED[:-1]))}\n"
        f"only_mutate = {toml_list([module])}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        f"pytest_add_cli_args = {toml_list(PYTEST_ARGS)}\n"
        "use_git_change_detection = false\n"
    )


def _prepare(module: str, tests: list[str]) -> Path:
    """A fresh scratch copy every run: mutmut's cached results would outlive a change to the tests."""
    workdir = SCRATCH / module.removesuffix(".py").replace("/", ".")
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        shutil.copytree(ROOT / name, workdir / name, ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text()
    (workdir / "pyproject.toml").write_text(pyproject + _config(module, tests))
    return workdir


def _results(workdir: Path) -> tuple[Counter, list[str]]:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=workdir,
                         capture_output=True, text=True, check=True).stdout
    counts: Counter = Counter()
    survivors = []
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if not sep:
            continue
        counts[status] += 1
        if status not in DETECTED:
            survivors.append(f"{name}: {status}")
    return counts, survivors


def run_module(module: str, tests: list[str], jobs: int, log: Path) -> ModuleResult:
    workdir = _prepare(module, tests)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)], cwd=workdir,
                              stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONHASHSEED": "0"})
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"mutmut failed on {module} (exit {proc.returncode}); see {log}")
    counts, survivors = _results(workdir)
    return ModuleResult(module, counts, wall, survivors)


def _show(workdir: Path, name: str) -> str:
    return subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=workdir, capture_output=True,
                          text=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="only this module (repeatable)")
    parser.add_argument("--threshold", type=float, default=90.0, help="minimum score per module, percent")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (the CI machine has 2 cores)")
    parser.add_argument("--show-survivors", action="store_true", help="print the diff of every surviving mutant")
    args = parser.parse_args(argv)

    console = Console(width=max(Console().width, 140))
    SCRATCH.mkdir(exist_ok=True)
    results: list[ModuleResult] = []
    started = time.monotonic()
    for module in args.module or list(MODULES):
        tests = [t for t in MODULES[module] if (ROOT / t).exists()]
        missing = sorted(set(MODULES[module]) - set(tests))
        if missing:
            console.print(f"[yellow]{module}: no {', '.join(missing)}[/]")
        console.print(f"mutating {module} against {', '.join(tests)} …")
        log = SCRATCH / f"{module.removesuffix('.py').replace('/', '.')}.log"
        result = run_module(module, tests, args.jobs, log)
        results.append(result)
        console.print(f"  {result.detected}/{result.total} detected ({result.score:.1f}%) in {result.wall_s:.0f} s")
        if args.show_survivors:
            workdir = SCRATCH / module.removesuffix(".py").replace("/", ".")
            for survivor in result.survivors:
                console.print(_show(workdir, survivor.partition(": ")[0]), markup=False, highlight=False)
    wall = time.monotonic() - started

    table = Table(title=f"mutmut on {platform.node()} ({os.cpu_count()} cores), {time.strftime('%Y-%m-%d')}")
    for column in ("module", "mutants", "killed", "timeout", "survived", "no tests", "score", "wall"):
        table.add_column(column, justify="left" if column == "module" else "right")
    totals: Counter = Counter()
    for r in results:
        totals.update(r.counts)
        style = "" if r.score >= args.threshold else "red"
        table.add_row(r.module, str(r.total), str(r.counts["killed"]), str(r.counts["timeout"]),
                      str(r.counts["survived"]), str(r.counts["no tests"]), f"{r.score:.1f}%", f"{r.wall_s:.0f} s",
                      style=style)
    total = ModuleResult("total", totals, wall, [])
    table.add_row("total", str(total.total), str(totals["killed"]), str(totals["timeout"]), str(totals["survived"]),
                  str(totals["no tests"]), f"{total.score:.1f}%", f"{wall:.0f} s", style="bold")
    console.print(table)
    survivors = [s for r in results for s in r.survivors]
    if survivors:
        console.print("not killed:", *survivors, sep="\n  ", markup=False, highlight=False)
    failing = [r.module for r in results if r.score < args.threshold]
    if failing:
        console.print(f"[red]below {args.threshold:g}%: {', '.join(failing)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
