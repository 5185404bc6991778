"""baselines/common.py: the device, the return tracking and the progress log that the learners share."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from baselines.common import ProgressLog, ReturnTracker, resolve_device  # noqa: E402


def test_resolve_device_names_the_device_and_auto_picks_cuda_only_when_available(monkeypatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_return_tracker_keeps_running_returns_and_the_last_window_of_finished_ones() -> None:
    tracker = ReturnTracker(num_rows=3, window=2)
    assert np.isnan(tracker.mean())
    tracker.add(np.array([1.0, 2.0, 3.0]), np.array([False, True, False]))  # row 1 finishes with 2
    tracker.add(np.array([1.0, 5.0, 3.0]), np.array([True, False, True]))  # rows 0 and 2 finish with 2 and 6
    assert list(tracker.recent) == [2.0, 6.0] and tracker.episodes == 3  # the window of 2 dropped row 1's 2
    assert tracker.mean() == 4.0
    np.testing.assert_array_equal(tracker.running, [0.0, 5.0, 0.0])


def _rows(path) -> list[str]:
    return (path / "progress.csv").read_text(encoding="utf-8").splitlines()


def test_progress_log_writes_a_header_then_rows_and_a_resumed_run_keeps_the_rows_up_to_its_checkpoint(tmp_path) -> None:
    with ProgressLog(tmp_path, ["steps", "loss"]) as log:
        for steps in (10, 20, 30):
            log.write([steps, f"{steps / 10:.1f}"])
    assert _rows(tmp_path) == ["steps,loss", "10,1.0", "20,2.0", "30,3.0"]
    with ProgressLog(tmp_path, ["steps", "loss"], resumed_at=20) as log:  # row 30 came after the checkpoint at 20
        log.write([30, "3.5"])
    assert _rows(tmp_path) == ["steps,loss", "10,1.0", "20,2.0", "30,3.5"]
    with ProgressLog(tmp_path, ["steps", "loss"]) as log:  # a fresh run starts the file again
        log.write([10, "0.5"])
    assert _rows(tmp_path) == ["steps,loss", "10,0.5"]


def test_progress_log_without_a_directory_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ProgressLog(None, ["steps"]) as log:
        log.write([1])
    assert list(tmp_path.iterdir()) == []
