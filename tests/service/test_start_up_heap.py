"""A running node keeps its start-up heap out of the garbage collector's full passes (every thread stops for one),
and gives it back at the stop: judged by what the collector itself tracks while the node runs in this process."""

from __future__ import annotations

import gc
import threading

import pytest

import actors.service.runner as runner
from actors.config import config_from_mapping
from actors.exit_codes import EXIT_OK
from tests.waiting import wait_for


def _tracked(thing: object) -> bool:
    """Whether a full collection would walk `thing` (frozen objects are in none of the collector's generations)."""
    return any(candidate is thing for candidate in gc.get_objects())


@pytest.mark.timeout(300)
def test_a_running_node_has_frozen_its_start_up_heap_and_gives_it_back_at_the_stop(tmp_path):
    config = config_from_mapping({"node": {"lake_uri": str(tmp_path / "lake"), "clock": "virtual"},
                                  "service": {"health_port": 0, "heartbeat_file": str(tmp_path / "hb.json"),
                                              "control_dir": str(tmp_path / "control")}})
    from_before_the_start = [object()]  # as the node's imports and rebuilt cores are: made before it trades
    assert gc.get_freeze_count() == 0 and _tracked(from_before_the_start)
    stop, exit_codes = threading.Event(), []
    node = threading.Thread(target=lambda: exit_codes.append(runner.run_node(config, stop)), name="node")
    node.start()
    try:
        wait_for(lambda: (tmp_path / "hb.json").exists() or not node.is_alive(), timeout=120, what="the node running")
        assert node.is_alive(), f"the node stopped at start: exit {exit_codes}"
        assert not _tracked(from_before_the_start), "a full collection would walk the start-up heap"
        made_while_trading = [object()]
        assert _tracked(made_while_trading)  # only what came after the start is walked
    finally:
        stop.set()
        node.join(timeout=120)
    assert exit_codes == [EXIT_OK]
    assert gc.get_freeze_count() == 0 and _tracked(from_before_the_start)
