"""The action and batched spaces of the envs and wrappers: slates of distinct candidates, stacked boxes.

:class:`SlateSpace` is a ``MultiDiscrete([K] * S)`` (so Stable-Baselines3 and Gymnasium's checkers
accept it) whose samples and members never repeat a candidate. :func:`stacked_box` and
:func:`stacked_dict_space` batch a ``Box`` (or a ``Dict`` of them) for N rows without storing the
bounds N times.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from recsim_bench.simulator import has_repeats


def random_slates(
    generator: np.random.Generator, batch_shape: tuple[int, ...], num_candidates: int, slate_size: int
) -> NDArray[np.int64]:
    """Uniformly random slates of distinct candidates, shape ``batch_shape + (slate_size,)``."""
    keys = generator.random(batch_shape + (num_candidates,))
    return np.argsort(keys, axis=-1, kind="stable")[..., :slate_size].astype(np.int64)


class SlateSpace(spaces.MultiDiscrete):
    """``MultiDiscrete([K] * S)`` whose samples never repeat a candidate and whose ``contains`` rejects repeats.

    With ``batch=N`` it is the vector env's space of shape ``(N, S)``, one slate per row.
    """

    def __init__(self, num_candidates: int, slate_size: int, batch: int | None = None, seed: Any = None) -> None:
        shape = (slate_size,) if batch is None else (batch, slate_size)
        super().__init__(np.full(shape, num_candidates, dtype=np.int64), dtype=np.int64, seed=seed)
        self.num_candidates = num_candidates
        self.slate_size = slate_size

    def sample(self, mask: Any = None, probability: Any = None) -> NDArray[np.int64]:
        if mask is not None or probability is not None:
            raise ValueError("SlateSpace.sample: mask and probability are not supported; slates are drawn uniformly")
        return random_slates(self.np_random, self.shape[:-1], self.num_candidates, self.slate_size)

    def contains(self, x: Any) -> bool:
        return super().contains(x) and not has_repeats(np.asarray(x))

    def __repr__(self) -> str:
        return f"SlateSpace(num_candidates={self.num_candidates}, slate_size={self.slate_size}, shape={self.shape})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, SlateSpace) and self.shape == other.shape and self.num_candidates == other.num_candidates

    def __hash__(self) -> int:
        return hash((SlateSpace, self.shape, self.num_candidates))  # what __eq__ compares


@batch_space.register(SlateSpace)
def _batch_slate_space(space: SlateSpace, n: int = 1) -> SlateSpace:
    """Gymnasium's ``batch_space`` for slates, so that Sync/AsyncVectorEnv also sample valid slates."""
    if len(space.shape) != 1:
        raise ValueError(f"batch_space: can only batch a single slate space, got shape {space.shape}")
    return SlateSpace(space.num_candidates, space.slate_size, batch=n, seed=copy.deepcopy(space.np_random))


def stacked_box(box: spaces.Box, n: int) -> spaces.Box:
    """``batch_space(box, n)`` whose bounds are read-only broadcast views of ``box``'s.

    Gymnasium's Box holds its bounds (and two boolean masks) in full, which for a
    vector env of a million users costs gigabytes for bounds that are identical per
    row. Here they are zero-stride views: the same values, no memory per row.
    """
    stacked = spaces.Box(low=box.low[None], high=box.high[None], dtype=box.dtype, seed=copy.deepcopy(box.np_random))
    shape = (n, *box.shape)
    stacked._shape = shape
    stacked.low, stacked.high = np.broadcast_to(box.low, shape), np.broadcast_to(box.high, shape)
    stacked.bounded_below = np.broadcast_to(box.bounded_below, shape)
    stacked.bounded_above = np.broadcast_to(box.bounded_above, shape)
    return stacked


def stacked_dict_space(space: spaces.Dict, n: int) -> spaces.Dict:
    """``batch_space(space, n)`` of a ``Dict`` of ``Box``es, each stacked by :func:`stacked_box`."""
    return spaces.Dict({key: stacked_box(box, n) for key, box in space.spaces.items()})
