"""Running a sweep's unfinished runs: a local process pool over the machine's cores (default) or Ray tasks on a cluster
(`--ray ADDRESS`). Either way each run is `actors.sweep.run.execute` in a worker, and only this driver writes the
lake: rows are committed in batches as runs finish, so an interruption loses at most the last batch."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from actors.sweep.run import execute
from actors.sweep.spec import Run, Sweep
from storage.sweeps import SweepTable

COMMIT_EVERY_ROWS = 50
COMMIT_EVERY_S = 10.0
"""A Delta commit costs tens of milliseconds: a batch at most this large or this old."""


class SweepRunError(RuntimeError):
    """A run that raised in its worker (not a node stop: those are rows with an error); one line."""


@dataclass
class SweepProgress:
    total: int
    skipped: int
    done: int = 0
    failed: list[str] = field(default_factory=list)


def unfinished(sweep: Sweep, table: SweepTable) -> tuple[list[Run], int]:
    """The runs still to do, and how many the lake already has."""
    finished = table.finished(sweep.id)
    todo = [run for run in sweep.runs if run.key not in finished]
    return todo, len(sweep.runs) - len(todo)


class _Batcher:
    def __init__(self, table: SweepTable) -> None:
        self._table = table
        self._rows: list[dict[str, Any]] = []
        self._since = time.monotonic()

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append({**row, "finished_ns": time.time_ns()})
        if len(self._rows) >= COMMIT_EVERY_ROWS or time.monotonic() - self._since >= COMMIT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._table.append(self._rows)
        self._rows = []
        self._since = time.monotonic()


def run_sweep(sweep: Sweep, table: SweepTable, workers: int | None = None, ray_address: str | None = None,
              on_progress: Callable[[SweepProgress], None] | None = None) -> SweepProgress:
    """Run what the lake does not have yet; `on_progress` after each finished run (the progress bar)."""
    todo, skipped = unfinished(sweep, table)
    progress = SweepProgress(total=len(sweep.runs), skipped=skipped)
    if on_progress is not None:
        on_progress(progress)
    if not todo:
        return progress
    batcher = _Batcher(table)
    results = _ray_results(todo, ray_address) if ray_address else _pool_results(todo, workers)
    try:
        for run, row, error in results:
            if error is None:
                batcher.add(row)
            else:
                progress.failed.append(f"{run.params_id} on {run.path.name}: {error}")
            progress.done += 1
            if on_progress is not None:
                on_progress(progress)
    finally:
        batcher.flush()  # also on Ctrl-C: every finished run reaches the lake
    return progress


def _error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _pool_results(todo: list[Run], workers: int | None) -> Iterator[tuple[Run, dict | None, str | None]]:
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    # spawn: the driver holds deltalake's and loguru's threads, which a forked child would inherit half-way
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: dict[Future, Run] = {}
        queue = iter(todo)
        try:
            for run in queue:  # keep twice the workers in flight: results stream while the rest wait in order
                pending[pool.submit(execute, run)] = run
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    run = pending.pop(future)
                    exc = future.exception()
                    yield (run, None, _error(exc)) if exc else (run, future.result(), None)
                    following = next(queue, None)
                    if following is not None:
                        pending[pool.submit(execute, following)] = following
        finally:
            for future in pending:
                future.cancel()


def _ray_results(todo: list[Run], address: str) -> Iterator[tuple[Run, dict | None, str | None]]:
    """Whole runs as Ray tasks; the cluster's nodes need thetanode installed (same version) in their Python."""
    if address.rsplit(":", 1)[0] in ("127.0.0.1", "localhost", "[::1]"):
        # Ray rewrites a loopback address to this machine's outward IP, where a head started with
        # `--node-ip-address 127.0.0.1` does not listen; this switch (read when ray is imported) keeps it loopback
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1, max_retries=2)(execute)
        pending = {remote.remote(run): run for run in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=None)
            for ref in done:
                run = pending.pop(ref)
                try:
                    yield run, ray.get(ref), None
                except Exception as exc:  # noqa: BLE001 - a task's error (RayTaskError wraps the worker's)
                    yield run, None, _error(exc)
    finally:
        if started_here:
            ray.shutdown()
