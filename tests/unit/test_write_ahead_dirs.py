"""Where the write-ahead logs go, and every directory a start folds (storage/write_ahead_dirs.py)."""

from __future__ import annotations

import pytest

from actors.config import config_from_mapping
from actors.config_section import ConfigError
from storage.lake_access import LakeUnusable
from storage.write_ahead_dirs import directories_to_fold, log_directory, record

LOCAL = "unused-for-a-local-lake"


def test_by_default_the_log_lives_with_the_lake(tmp_path):
    lake = str(tmp_path / "lake")
    assert log_directory(lake, LOCAL, "") == (tmp_path / "lake" / "_thetanode" / "wal").resolve()


def test_lakes_sharing_a_device_never_share_a_directory_however_their_uris_are_spelt(tmp_path):
    device = str(tmp_path / "device")
    one, other = log_directory(str(tmp_path / "a"), LOCAL, device), log_directory(str(tmp_path / "b"), LOCAL, device)
    assert one.parent == other.parent == (tmp_path / "device").resolve() and one != other
    assert log_directory(f"file://{tmp_path}/a/", LOCAL, device) == one


def test_a_start_folds_the_default_directory_and_every_one_recorded_each_once(tmp_path):
    lake = str(tmp_path / "lake")
    first, second = (log_directory(lake, LOCAL, str(tmp_path / name)) for name in ("first", "second"))
    default = log_directory(lake, LOCAL, "")
    assert directories_to_fold(lake, LOCAL, first) == [default, first]
    record(lake, LOCAL, first)
    record(lake, LOCAL, first)  # a later session with the same setting
    record(lake, LOCAL, default)
    assert directories_to_fold(lake, LOCAL, default) == [default, first]  # the setting removed: still folded
    record(lake, LOCAL, second)
    assert directories_to_fold(lake, LOCAL, second) == [default, first, second]
    assert (tmp_path / "lake" / "_thetanode" / "write_ahead_dirs").read_text().splitlines() == [str(first),
                                                                                                str(second)]


def test_a_recorded_directory_gone_missing_stops_the_start_with_one_line_naming_it(tmp_path):
    lake = str(tmp_path / "lake")
    gone = log_directory(lake, LOCAL, str(tmp_path / "device"))
    record(lake, LOCAL, gone)
    gone.rmdir()
    with pytest.raises(LakeUnusable) as refused:
        directories_to_fold(lake, LOCAL, log_directory(lake, LOCAL, ""))
    assert str(gone) in str(refused.value) and "write_ahead_dirs" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_directory_the_node_cannot_make_is_refused_with_one_line(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    lake = str(tmp_path / "lake")
    with pytest.raises(LakeUnusable, match="Not a directory") as refused:
        record(lake, LOCAL, log_directory(lake, LOCAL, str(tmp_path / "a-file" / "device")))
    assert "\n" not in str(refused.value)


def test_a_setting_that_is_not_a_path_is_a_config_error():
    with pytest.raises(ConfigError, match="write_ahead_dir"):
        config_from_mapping({"persistence": {"write_ahead_dir": "wal\nrm -rf"}})
