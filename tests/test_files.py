"""Atomic writes: the new content or the old, never a mix, and no temporary files left behind."""

from __future__ import annotations

import json
import os

import pytest

from recsim_bench.files import write_json_atomic, write_text_atomic


def test_text_replaces_the_file_and_keeps_its_mode(tmp_path) -> None:
    path = tmp_path / "card.md"
    path.write_text("old", encoding="utf-8")
    os.chmod(path, 0o640)
    write_text_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "new" and path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.md"]


def test_unserialisable_or_nan_json_leaves_the_old_file_intact(tmp_path) -> None:
    path = tmp_path / "result.json"
    write_json_atomic(path, {"returns": [1.0]})
    for bad in ({"returns": [float("nan")]}, {"returns": object()}):
        with pytest.raises((ValueError, TypeError)):
            write_json_atomic(path, bad)
        assert json.loads(path.read_text(encoding="utf-8")) == {"returns": [1.0]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
