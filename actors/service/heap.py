"""The node's start-up heap, kept out of the cyclic garbage collector's full passes while the node trades.

When a node starts its actors, its process already holds most of what it will hold for life: the libraries it
imported (numpy, pandas, pyarrow, deltalake, ib_async), the market calendar and the rebuilt cores, about 98,000
objects. A full (generation 2) collection walks all of them with the GIL held, so every thread stops, the one that
would send an exit order included. Measured: 54 and 96 ms for the one full pass of a 30–40 s virtual-clock
`thetanode run`, 52–83 ms for each in `scripts/bench_latency.py` at 10k ticks/s. With the start-up heap frozen
(`gc.freeze`) the same passes took 1.1–1.5 ms and 4–14 ms. Frozen objects are still freed by reference counting;
only garbage cycles among them wait until `gc.unfreeze` at the stop.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> int:
    """Collect what start-up left behind, then freeze what remains; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def unfreeze_heap() -> None:
    """At the stop: the frozen objects join the oldest generation again (a caller that runs the node in its own
    process, as the tests and benchmarks do, collects them as before)."""
    gc.unfreeze()
