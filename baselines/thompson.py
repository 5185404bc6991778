"""Linear Thompson sampling: a contextual bandit that samples each user's taste from its posterior.

Agrawal and Goyal, "Thompson sampling for contextual bandits with linear payoffs"
(ICML 2013). The per-row ridge posterior is :class:`baselines.linucb.LinearBandit`'s:
``A = ridge * I + sum x x'``, ``b = sum r x``, mean ``theta = A^-1 b``. Each step every row
draws ``theta~ = theta + v * L^-T z`` with ``A = L L'`` (Cholesky) and ``z`` standard normal,
so ``theta~ ~ N(theta, v^2 A^-1)``, and shows the ``S`` candidates with the highest
``theta~ . x``. The normals come from per-row streams keyed by the seeds given at
``reset`` (:class:`RowStreams`), so an evaluation gives the same numbers whatever its batch
size. Sampling is the algorithm: ``deterministic`` has no effect.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from baselines import TomlConfigured
from baselines.linucb import BanditConfig, LinearBandit
from recsim_bench import rng
from recsim_bench.rng import RowStreams


@dataclasses.dataclass(frozen=True)
class ThompsonConfig(BanditConfig):
    scale: float = 0.1
    """``v``: the posterior's standard deviation multiplier (Agrawal and Goyal's ``v``); 0 is the greedy ridge estimate."""
    seed: int = 0
    """Keys the rows used before any seeded ``reset`` (row ``i`` gets ``seed + i``); evaluations reseed every row."""


def posterior_samples(
    A: NDArray[np.float64], b: NDArray[np.float64], scale: float, normals: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``theta + scale * L^-T z`` per row (``A = L L'``, ``theta = A^-1 b``, ``z = normals`` ``(N, d)``): a draw of ``N(theta, scale^2 A^-1)``."""
    theta = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    lower = np.linalg.cholesky(A)
    return theta + scale * np.linalg.solve(lower.transpose(0, 2, 1), normals[:, :, None])[:, :, 0]


class ThompsonAgent(LinearBandit, TomlConfigured):
    """Linear Thompson sampling over candidate features, one posterior per row."""

    Config = ThompsonConfig
    config_file = "thompson"

    def __init__(self, env_id: str, config: ThompsonConfig | None = None, env_kwargs: dict | None = None) -> None:
        super().__init__(env_id, config or ThompsonConfig(), env_kwargs)
        self.streams = RowStreams(self.config.seed)

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        super().reset(started, seeds)
        self.streams.reset(started, seeds)

    def scores(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        u = self.streams.uniforms(len(x), 2 * self.dim)
        self.streams.advance()
        z = rng.normals(u[:, : self.dim], u[:, self.dim :])
        theta = posterior_samples(self.A, self.b, self.config.scale, z)
        return np.einsum("nkd,nd->nk", x, theta)
