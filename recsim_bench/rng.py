"""Counter-based random streams keyed by (seed, episode, step, draw).

Every random number the simulator uses is a pure function of the row's key, the
episode index, the step index, a draw tag and the element's position in the
block. Nothing is carried from one call to the next, so a row gives the same
numbers whether it is simulated alone or in a batch of any size, and in any
order.

The generator is SplitMix64 (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014) used in counter mode: the
counter of draw ``j`` is ``base + (j + 1) * GAMMA`` and the output is the
SplitMix64 finaliser of that counter. All arithmetic is on ``uint64`` arrays,
where numpy wraps modulo 2**64 without warnings.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_EPISODE_SALT = np.uint64(0xD1B54A32D192ED03)
_STEP_SALT = np.uint64(0x8CB92BA72F3D8DD7)
_DRAW_SALT = np.uint64(0xABC98388FB8FAC03)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0**-53

# Draw tags: which block of a step a stream feeds.
RESET = 0
STEP = 1


def _finalise(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's output function (a bijection on uint64)."""
    x = (x ^ (x >> _S30)) * _MUL1
    x = (x ^ (x >> _S27)) * _MUL2
    return x ^ (x >> _S31)


def row_keys(seeds: NDArray[np.integer] | list[int]) -> NDArray[np.uint64]:
    """Keys for rows seeded with non-negative integers ``seeds`` (taken modulo 2**64)."""
    seeds = np.asarray([int(s) % 2**64 for s in np.ravel(seeds)], dtype=np.uint64)
    return _finalise(seeds * _GAMMA + _GAMMA)


def uniforms(
    keys: NDArray[np.uint64],
    episode: NDArray[np.integer],
    step: NDArray[np.integer],
    draw: int,
    n: int,
) -> NDArray[np.float64]:
    """``n`` uniforms in the open interval (0, 1) for every row: shape ``(len(keys), n)``.

    Rows are independent; row i depends only on ``keys[i]``, ``episode[i]``,
    ``step[i]``, ``draw`` and ``n``'s positions, never on the other rows.
    """
    episode = np.asarray(episode).astype(np.uint64)
    step = np.asarray(step).astype(np.uint64)
    base = _finalise(keys ^ (episode * _EPISODE_SALT))
    base = _finalise(base ^ (step * _STEP_SALT + np.uint64(draw) * _DRAW_SALT))
    counters = base[:, None] + np.arange(1, n + 1, dtype=np.uint64) * _GAMMA
    return ((_finalise(counters) >> _S11).astype(np.float64) + 0.5) * _TO_UNIT
