"""Sweep throughput, side by side in one run: the same sweep (parameter sets x generated regimes, short paths) run
  1. in this process, one run after another (the cores' speed alone),
  2. on a local pool of 1 worker and of 2 workers (spawned processes; speed-up = 1-worker wall / 2-worker wall),
  3. as Ray tasks on a local head started here on 127.0.0.1 with 2 CPUs (overhead per task = (Ray wall - 2-worker
     pool wall) / runs; both include their workers' start).
Each variant writes its rows to its own temporary lake. Wall times on a shared machine include waiting for a core.
Usage: uv run python scripts/bench_sweep.py [--sessions 20] [--deltas 3] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.sweep.run import execute  # noqa: E402
from actors.sweep.runner import run_sweep  # noqa: E402
from actors.sweep.spec import sweep_from_mapping  # noqa: E402
from storage.sweeps import SweepTable  # noqa: E402
from tests.sweep.test_sweep_runs import RAY_ENV, ray_head_ports  # noqa: E402


def _sweep(name: str, sessions: int, deltas: int):  # noqa: ANN202 - Sweep
    values = [round(0.10 + 0.04 * i, 2) for i in range(deltas)]
    paths = [{"regime": r, "seeds": [1], "sessions": sessions} for r in ("calm", "trending", "crash", "vol_spike")]
    return sweep_from_mapping({"sweep": {"id": name}, "parameters": {"entry.short_delta": values}, "paths": paths},
                              name)


def _timed(label: str, fn) -> float:  # noqa: ANN001
    wall = time.perf_counter()
    fn()
    wall = time.perf_counter() - wall
    print(f"  {label}: {wall:.1f} s", flush=True)
    return wall


def _ray(sweep, lake: str) -> float:  # noqa: ANN001
    (port, agent_options), temp = ray_head_ports(), tempfile.mkdtemp(prefix="rb21-", dir="/tmp")
    env = {**os.environ, **RAY_ENV}
    ray_cli = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
                             str(port), "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats",
                             "--temp-dir", temp, *agent_options], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        while subprocess.run([ray_cli, "status", "--address", f"127.0.0.1:{port}"], capture_output=True, env=env,
                             check=False).returncode != 0:
            time.sleep(1)
        return _timed(f"Ray, 2 CPUs ({len(sweep.runs)} runs)",
                      lambda: run_sweep(sweep, SweepTable(lake), ray_address=f"127.0.0.1:{port}"))
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--deltas", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    print(f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; python {platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory() as root:
        sweep = _sweep("bench", args.sessions, args.deltas)
        runs = len(sweep.runs)
        print(f"{runs} runs of {args.sessions} sessions", flush=True)
        execute(sweep.runs[0])  # the calendar and the regime files, once, outside the timings
        cpu = time.process_time()
        serial = _timed("in process, serial", lambda: [execute(run) for run in sweep.runs])
        cpu = time.process_time() - cpu
        one = _timed("pool, 1 worker", lambda: run_sweep(sweep, SweepTable(f"{root}/one"), workers=1))
        two = _timed("pool, 2 workers", lambda: run_sweep(sweep, SweepTable(f"{root}/two"), workers=2))
        ray = None if args.no_ray else _ray(sweep, f"{root}/ray")
    print(f"runs/s on one core (in process): {runs / serial:.2f} (CPU {cpu / runs:.2f} s per run)")
    print(f"runs/s, pool of 1: {runs / one:.2f}; pool of 2: {runs / two:.2f}; speed-up {one / two:.2f}x")
    if ray is not None:
        print(f"runs/s, Ray 2 CPUs: {runs / ray:.2f}; overhead per task vs the 2-worker pool: "
              f"{(ray - two) / runs * 1000:+.0f} ms")


if __name__ == "__main__":
    main()
