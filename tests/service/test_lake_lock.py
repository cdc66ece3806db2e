"""One writer per lake, by the lake's identity: every spelling of one lake meets the same lock, whatever the
control_dir or client_id of the node that asks."""

from __future__ import annotations

import os

import pytest

from actors.cli import EXIT_BAD_INPUT, main
from actors.service.lock import NodeAlreadyRunning, NodeLock


def test_every_spelling_of_a_local_lake_meets_the_same_lock(tmp_path):
    lake = tmp_path / "x" / "lake"
    lake.mkdir(parents=True)
    os.symlink(lake, tmp_path / "alias")
    first = NodeLock(str(lake))
    first.acquire()
    try:
        for spelling in (f"{lake}/", f"{tmp_path}/x/./lake", f"{tmp_path}/x/../x/lake", f"file://{lake}",
                         str(tmp_path / "alias")):
            with pytest.raises(NodeAlreadyRunning, match=f"pid {os.getpid()}"):
                NodeLock(spelling).acquire()
    finally:
        first.release()
    again = NodeLock(f"{lake}/")
    again.acquire()  # released with its holder
    again.release()


def test_a_second_node_with_another_spelling_control_dir_and_client_id_exits_2(tmp_path, capsys):
    lake = tmp_path / "lake"
    holder = NodeLock(str(lake))
    holder.acquire()
    try:
        config = tmp_path / "other.toml"
        config.write_text(f'[node]\nlake_uri = "{lake}/"\n[service]\nclient_id = 9\nhealth_port = 0\n'
                          f'control_dir = "{tmp_path / "elsewhere"}"\n')
        assert main(["run", "--config", str(config)]) == EXIT_BAD_INPUT
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "already writes this lake" in error and f"pid {os.getpid()}" in error
        assert main(["demo", "--lake", f"file://{lake}"]) == EXIT_BAD_INPUT
    finally:
        holder.release()
