"""Atomic file writes (a crash never leaves a half-written result, reference table, card, figure or checkpoint), and a bounded JSON read."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over ``path``.

    An existing file keeps its permission bits (a new one gets 0o644). On any failure the old
    file is intact and the temporary file is removed.
    """
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_text_atomic(path: Path | str, text: str) -> None:
    """:func:`write_bytes_atomic` of ``text`` in UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path | str, payload: Any, indent: int | None = 2) -> None:
    """Write ``payload`` as strict JSON (no NaN or infinity) with :func:`write_text_atomic`.

    The payload is serialised before anything is written, so a payload that cannot be
    serialised leaves the old file untouched.
    """
    write_text_atomic(path, json.dumps(payload, indent=indent, allow_nan=False, ensure_ascii=False) + "\n")

#: The most bytes a ``config.json`` of a checkpoint may have (it is a few kB).
MAX_CONFIG_BYTES = 1 << 20


def read_json(path: Path | str, max_bytes: int) -> Any:
    """The parsed JSON of ``path``; a missing, unreadable or invalid file, or one over ``max_bytes``, raises ``ValueError`` naming it."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(f"larger than {max_bytes:,} bytes")
        return json.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"{path}: not a readable JSON file ({error})") from None
