"""Uniformly random slates: the lower reference of the normalised score.

Each step, every row ranks its candidates by fresh uniforms and shows the first
``S``: a uniformly random slate of distinct candidates. The uniforms come from
per-row streams keyed by the seeds given at ``reset`` (:class:`RowStreams`), so
an evaluation gives the same numbers whatever its batch size.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from recsim_bench.agents import RowStreams, env_info


@dataclasses.dataclass(frozen=True)
class RandomConfig:
    seed: int = 0
    """Keys the rows used before any seeded ``reset`` (row ``i`` gets ``seed + i``)."""


class RandomAgent:
    """A uniformly random slate of distinct candidates per row (``deterministic`` has no effect)."""

    Config = RandomConfig

    def __init__(self, env_id: str, config: RandomConfig | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or RandomConfig()
        self.info = env_info(env_id, **(env_kwargs or {}))
        self.streams = RowStreams(self.config.seed)

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        self.streams.reset(started, seeds)

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        n = len(obs["candidates"])
        keys = self.streams.uniforms(n, self.info.num_candidates)
        self.streams.advance()
        return np.argsort(keys, axis=1, kind="stable")[:, : self.info.slate_size].astype(np.int64)
