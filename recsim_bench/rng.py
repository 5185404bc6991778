"""Counter-based random streams keyed by (seed, episode, step, draw).

Every random number the simulator uses is a pure function of the row's key, the
episode index, the step index, a draw tag and the element's position in the
block. Nothing is carried from one call to the next, so a row gives the same
numbers whether it is simulated alone or in a batch of any size, and in any
order.

The generator is SplitMix64 (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014) used in counter mode. A row's
stream for one (episode, step, draw) starts at ``base``, the SplitMix64
finaliser of ``key + episode * A + step * B + draw * C`` for fixed odd
constants; word ``j`` is the finaliser of ``base + (j + 1) * GAMMA``, and
each 64-bit word gives two uniforms of 32 bits. All arithmetic is on
``uint64`` arrays, where numpy wraps modulo 2**64 without warnings.

The same bits on every machine: the integer arithmetic is exact by nature, a
uniform is ``(bits + 0.5) * 2**-32`` (exact in float64), and a normal is
Box-Muller over two uniforms with the logarithm and cosine of
:mod:`recsim_bench.exact_math`, which uses only operations IEEE 754 defines
exactly. numpy's own ``log`` and ``cos`` would not do: their SIMD kernels are
chosen by the CPU and differ in the last bit between machines (measured on
x86-64 with and without AVX2). Box-Muller rather than a ziggurat keeps the
number of uniforms per normal fixed, which a counter-based stream needs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math
from recsim_bench.checks import check_integer

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_EPISODE_SALT = np.uint64(0xD1B54A32D192ED03)
_STEP_SALT = np.uint64(0x8CB92BA72F3D8DD7)
_DRAW_SALT = 0xABC98388FB8FAC03
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)

# Draw tags: which block of a step a stream feeds.
RESET = 0
STEP = 1
TASK = 2
TABLE = 3

#: Task splits by code; a task's user is keyed by its split and index, so the splits never share a user.
SPLITS = ("train", "test")
_SPLIT_SALTS = np.array([0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1], dtype=np.uint64)
_USER_SALT = np.uint64(0x510E527FADE682D1)
#: User indices are below this (62 bits), so they fit int64 and JSON readers that use doubles see them rounded only above 2**53.
MAX_USERS = 2**62

_offsets: dict[int, NDArray[np.uint64]] = {}

#: The smallest value :func:`uniforms` gives, ``0.5 / 2**32`` (the largest is ``1 - UNIFORM_LOW``).
UNIFORM_LOW = 2.0**-33


def normal_bound() -> float:
    """The largest ``|z|`` that :func:`normals` can give: its Box-Muller radius at the smallest uniform.

    Bounds of rewards built on normals (lognormal engagement) rest on it.
    """
    return float(normals(np.array([UNIFORM_LOW]), np.zeros(1))[0])


def _finalise(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's output function (a bijection on uint64); overwrites nothing it was given."""
    y = x >> _S30
    y ^= x
    y *= _MUL1
    x = y >> _S27
    x ^= y
    x *= _MUL2
    y = x >> _S31
    y ^= x
    return y


def row_keys(seeds: NDArray[np.integer] | list[int]) -> NDArray[np.uint64]:
    """Keys for rows seeded with non-negative integers ``seeds`` (taken modulo 2**64)."""
    seeds = np.asarray([int(s) % 2**64 for s in np.ravel(seeds)], dtype=np.uint64)
    return _finalise(seeds * _GAMMA + _GAMMA)


def task_keys(split: NDArray[np.integer], user: NDArray[np.integer]) -> NDArray[np.uint64]:
    """Keys of the users with indices ``user`` in the splits with codes ``split`` (see :data:`SPLITS`)."""
    salted = np.asarray(user, dtype=np.int64).view(np.uint64) * _GAMMA + _SPLIT_SALTS[np.asarray(split)]
    return _finalise(_finalise(salted))


def user_indices(keys: NDArray[np.uint64], episode: NDArray[np.int64]) -> NDArray[np.int64]:
    """A user index in ``[0, MAX_USERS)`` for each row's episode: the user of an episode given no task."""
    mixed = _finalise(keys + episode.view(np.uint64) * _EPISODE_SALT + _USER_SALT)
    return (mixed >> np.uint64(2)).astype(np.int64)


def uniforms(
    keys: NDArray[np.uint64],
    episode: NDArray[np.int64],
    step: NDArray[np.int64],
    draw: int,
    n: int,
) -> NDArray[np.float64]:
    """``n`` uniforms in the open interval (0, 1) for every row: shape ``(len(keys), n)``.

    Row i depends only on ``keys[i]``, ``episode[i]``, ``step[i]``, ``draw`` and
    ``n``, never on the other rows. Each 64-bit output gives two uniforms of 32
    bits (its low and high halves, in little-endian order).
    """
    counter = keys + episode.view(np.uint64) * _EPISODE_SALT
    counter += step.view(np.uint64) * _STEP_SALT
    counter += np.uint64(draw * _DRAW_SALT % 2**64)
    count = (n + 1) // 2
    if count not in _offsets:
        _offsets[count] = np.arange(1, count + 1, dtype=np.uint64) * _GAMMA
    words = _finalise(_finalise(counter)[:, None] + _offsets[count])
    bits = words.astype("<u8", copy=False).view("<u4")[:, :n]  # little-endian halves on any machine
    out = bits + 0.5
    out *= 2.0**-32
    return out


def normals(u1: NDArray[np.float64], u2: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normals from two arrays of uniforms by the Box-Muller transform ``sqrt(-2 log u1) cos(2 pi u2)``.

    ``log`` and ``cos`` are :mod:`recsim_bench.exact_math`'s, so a normal is the same bits on every machine.
    ``u1`` must lie in ``(0, 1)``, as :func:`uniforms` gives, so that its log needs no special cases.
    """
    radius = -2.0 * exact_math.log_ordinary(u1)
    return np.sqrt(radius, out=radius) * exact_math.cos_turns(u2)


def table_uniforms(seed: int, table: int, rows: int, n: int) -> NDArray[np.float64]:
    """``(rows, n)`` uniforms for a fixed table built once from ``seed`` (a catalogue, segment centres).

    ``table`` tells apart the tables one seed builds; row ``i`` is the stream of episode ``i``.
    """
    episode = np.arange(rows, dtype=np.int64)
    return uniforms(np.repeat(row_keys([seed]), rows), episode, np.full(rows, table, dtype=np.int64), TABLE, n)


def table_normals(seed: int, table: int, rows: int, n: int) -> NDArray[np.float64]:
    """``(rows, n)`` standard normals for a fixed table, from :func:`table_uniforms`."""
    u = table_uniforms(seed, table, rows, 2 * n)
    return normals(u[:, :n], u[:, n:])


class RowStreams:
    """Per-row random streams for stochastic agents, keyed by the seeds given at the agent's ``reset``.

    Row ``i``'s uniforms depend only on its seed, its episode count since seeding and its
    own step counter (:func:`uniforms`), so an agent drawing from these
    gives the same numbers whatever the batch size. Rows used before any seeded reset are
    keyed by ``seed + i``.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = check_integer(seed, "seed", 0)
        self.keys: NDArray[np.uint64] | None = None
        self.episode = np.zeros(0, dtype=np.int64)
        self.step = np.zeros(0, dtype=np.int64)

    def _ensure(self, num_rows: int) -> None:
        if self.keys is None or len(self.keys) != num_rows:
            self.keys = row_keys(self.seed + np.arange(num_rows))
            self.episode = np.zeros(num_rows, dtype=np.int64)
            self.step = np.zeros(num_rows, dtype=np.int64)

    def reset(self, started: NDArray[np.bool_], seeds: NDArray[np.integer] | None = None) -> None:
        """Restart the streams of the ``started`` rows: from ``seeds`` when given, else their next episode."""
        started = np.asarray(started, dtype=bool)
        if started.ndim != 1:
            raise ValueError(f"started must be a bool mask of shape (N,), got shape {started.shape}")
        if seeds is not None:
            seeds = np.asarray(seeds)
            if seeds.shape != started.shape or seeds.dtype.kind not in "iu" or (seeds[started] < 0).any():
                raise ValueError(f"seeds must be non-negative integers of shape {started.shape}, got {seeds!r}")
        if self.keys is not None and len(self.keys) != len(started) and not started.all():
            raise ValueError(f"started has {len(started)} rows but the agent holds {len(self.keys)}; reset every row to resize")
        self._ensure(len(started))
        if seeds is None:
            self.episode[started] += 1
        else:
            self.keys[started] = row_keys(seeds[started])
            self.episode[started] = 0
        self.step[started] = 0

    def uniforms(self, num_rows: int, n: int, draw: int = 0) -> NDArray[np.float64]:
        """``(num_rows, n)`` uniforms in (0, 1) for the current step; ``draw`` tells apart several blocks of one step."""
        self._ensure(num_rows)
        return uniforms(self.keys, self.episode, self.step, draw, n)

    def advance(self) -> None:
        """Move every row to its next step."""
        self.step += 1
