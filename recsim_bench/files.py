"""Atomic file writes (a crash never leaves a half-written result, reference table, card, figure or
checkpoint) and a strict, bounded JSON reader for files that cannot be trusted."""

from __future__ import annotations

import collections
import json
import math
import os
import stat
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


#: Limits on a checkpoint's ``config.json`` (it is a few kB), read with :func:`read_json_strict`.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_DEPTH = 32


def read_json_strict(path: Path | str, max_bytes: int, max_depth: int = 64) -> Any:
    """The JSON value in the regular file ``path``, read as untrusted input; anything else raises ``ValueError``.

    Refused: anything but a regular file (a device such as ``/dev/zero``, a FIFO, a directory; a
    symbolic link counts as what it points to), more than ``max_bytes`` bytes, text that is not
    UTF-8, ``NaN`` or ``Infinity``, numbers too large for a float64 or an int64, a key repeated
    within one object, and arrays or objects nested more than ``max_depth`` deep.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    except OSError as error:
        raise ValueError(f"cannot open ({error.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"larger than {max_bytes:,} bytes")
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_int=_int64,
            parse_float=_finite_float,
        )
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except RecursionError:
        raise ValueError(f"nested more than {max_depth} deep") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if _depth(value) > max_depth:
        raise ValueError(f"nested more than {max_depth} deep")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    counts = collections.Counter(key for key, _ in pairs)  # linear: an object may have 400,000 keys
    if len(counts) != len(pairs):
        repeated = sorted(key for key, count in counts.items() if count > 1)
        raise ValueError(f"duplicate key(s) {repeated[:10]} in one object")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _int64(text: str) -> int:
    if len(text.lstrip("-")) > 20 or not -(2**63) <= int(text) < 2**64:  # int64, or a uint64 such as a seed
        raise ValueError(f"integer {text[:24]}{'...' if len(text) > 24 else ''} does not fit in 64 bits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:24]} is too large for a float64")
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest
