"""Argument checks shared by every layer: one rule and one message for each kind of argument.

Each check takes the value and the name to put in the message, returns the value in its
plain Python type, and raises ``ValueError`` naming the argument and what it allows. A
``bool`` is never accepted as a number (``True`` would pass for ``1``), and numpy's scalar
types are accepted wherever their Python counterparts are.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_integer(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy integer and not a ``bool``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy integer or float and not a ``bool``."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _bound_text(bound: int) -> str:
    """``bound`` as a message writes it: a power of two from ``2**32`` up as ``2**k``, else in digits."""
    if bound >= 2**32 and bound & (bound - 1) == 0:
        return f"2**{bound.bit_length() - 1}"
    return str(bound)


def check_integer(value: Any, name: str, low: int, high: int | None = None) -> int:
    """``value`` as an ``int``, if it is an integer (not a bool) ``>= low`` and, with ``high``, ``< high``.

    Else ``ValueError``: ``"NAME must be an integer >= LOW, got VALUE"``, or with ``high``
    ``"NAME must be an integer in [LOW, HIGH), got VALUE"``.
    """
    if high is None:
        if not (is_integer(value) and value >= low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    elif not (is_integer(value) and low <= value < high):
        raise ValueError(f"{name} must be an integer in [{low}, {_bound_text(high)}), got {value!r}")
    return int(value)


def check_number(value: Any, name: str) -> float:
    """``value`` as a ``float``, if it is an integer or a float (not a bool); else ``ValueError`` naming ``name``."""
    if not is_number(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)
