"""What the learning agents share: the device they train on, the returns they track and the learning curve they write.

- :func:`resolve_device` turns a ``device`` argument into a :class:`torch.device` (``"auto"``: CUDA when available).
- :class:`ReturnTracker` keeps each row's running episode return and the returns of the last finished episodes.
- :class:`ProgressLog` writes ``progress.csv`` (a header, then one flushed row per call) into a run's ``log_dir``,
  and on a resumed run keeps the rows up to the checkpoint it resumed from.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from recsim_bench.files import write_text_atomic

PROGRESS_FILE = "progress.csv"


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; anything else as :class:`torch.device` reads it."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class ReturnTracker:
    """Each row's return in its running episode (``running``, (N,)), the returns of the last ``window`` finished
    episodes (``recent``, oldest first) and the count of finished episodes (``episodes``)."""

    def __init__(self, num_rows: int, window: int) -> None:
        self.running: NDArray[np.float64] = np.zeros(num_rows)
        self.recent: collections.deque[float] = collections.deque(maxlen=window)
        self.episodes = 0

    def add(self, rewards: NDArray[np.floating], finished: NDArray[np.bool_]) -> None:
        """Add a step's ``rewards`` (N,); the rows ``finished`` (a bool mask) end their episodes with it."""
        self.running += rewards
        if finished.any():
            self.recent.extend(self.running[finished].tolist())
            self.episodes += int(finished.sum())
            self.running[finished] = 0.0

    def mean(self) -> float:
        """The mean of the recent returns (``nan`` before the first finished episode)."""
        return float(np.mean(self.recent)) if self.recent else float("nan")


class ProgressLog:
    """``log_dir/progress.csv``, or nothing when ``log_dir`` is ``None``; a context manager that closes the file.

    A fresh run (``resumed_at`` 0) starts the file with ``header``. A run resumed from a checkpoint at
    ``resumed_at`` steps keeps the rows of an existing file up to those steps (its first column is the
    steps: rows logged after the checkpoint, before the interruption, go) and appends to them.
    """

    def __init__(self, log_dir: str | Path | None, header: list[str], resumed_at: int = 0) -> None:
        self._file = None
        if log_dir is None:
            return
        path = Path(log_dir) / PROGRESS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        append = bool(resumed_at) and path.exists()
        if append:
            _drop_rows_after(path, resumed_at)
        self._file = open(path, "a" if append else "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        if self._file.tell() == 0:
            self._writer.writerow(header)

    def write(self, row: list[Any]) -> None:
        """Append ``row`` (already formatted) and flush it, so that an interrupted run keeps it."""
        if self._file is not None:
            self._writer.writerow(row)
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "ProgressLog":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()


def _drop_rows_after(path: Path, steps: int) -> None:
    """Keep the header and the rows up to ``steps`` of a progress file (whose first column is the steps)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if line.split(",", 1)[0].isdigit() and int(line.split(",", 1)[0]) <= steps]
    write_text_atomic(path, "".join(kept))


__all__ = ["PROGRESS_FILE", "ProgressLog", "ReturnTracker", "resolve_device"]
