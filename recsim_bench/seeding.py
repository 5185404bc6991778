"""Seeds: the rule for a reset's seed, the seeds of a vector env's rows, and the seed drawn when none is given.

A seed is a Python or numpy integer in ``[0, SEED_LIMIT)`` (not a bool): a row's key is its
seed as a ``uint64`` (:func:`recsim_bench.rng.row_keys`), so a larger seed would alias a smaller
one. Row ``i`` of N rows reset with seed ``s`` gets seed ``s + i`` (Gymnasium's convention for
vector seeding), or ``seeds[i]`` from a list of one per row. Every shell (the single and the
vector env, both trial wrappers) follows these rules through this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recsim_bench.checks import is_integer

#: Seeds are below this: a row's key is its seed as a uint64, so a larger one would alias a smaller one.
SEED_LIMIT = 2**64

#: A seed drawn for a first reset without one is below this, so that the row seeds ``base + i`` of a
#: vector env stay far below :data:`SEED_LIMIT`; the single env draws from the same range, so row 0
#: of a vector env draws the seed a single env with the same ``np_random`` draws.
DRAWN_SEED_LIMIT = 2**62


def check_seed(seed: Any, argument: str = "seed") -> int:
    """``seed`` as an int in ``[0, SEED_LIMIT)``; anything else raises ``ValueError`` naming ``argument``."""
    if not (is_integer(seed) and 0 <= seed < SEED_LIMIT):
        raise ValueError(f"{argument} must be an integer in [0, 2**64) or None, got {seed!r}")
    return int(seed)


def row_seeds(seed: Any, num_rows: int) -> list[int] | None:
    """The seeds of ``num_rows`` rows: ``seed + i`` from one seed, a list of one per row as given, or ``None``.

    Every seed is checked (:func:`check_seed`), and one seed must leave room for the last row's
    ``seed + num_rows - 1`` below :data:`SEED_LIMIT`.
    """
    if seed is None:
        return None
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != num_rows:
            raise ValueError(f"seed must be an int or a list of {num_rows} ints, got {len(seed)} seeds")
        return [check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]
    base = check_seed(seed)
    if base + num_rows > SEED_LIMIT:
        raise ValueError(
            f"seed must be an integer in [0, 2**64 - {num_rows}] so that row {num_rows - 1}'s "
            f"seed + {num_rows - 1} stays below 2**64, got {seed!r}"
        )
    return [base + i for i in range(num_rows)]


def draw_seed(generator: np.random.Generator) -> int:
    """The seed of a first reset given none: uniform in ``[0, DRAWN_SEED_LIMIT)`` from the env's ``generator``."""
    return int(generator.integers(DRAWN_SEED_LIMIT))
