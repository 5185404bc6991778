"""LinUCB: a contextual linear bandit that learns each user's taste within the episode.

Li, Chu, Langford and Schapire, "A contextual-bandit approach to personalized news
article recommendation" (WWW 2010), with one parameter vector shared by all items
(the candidates are fresh every step, so a per-item model would never see an item twice).

Each row (user) keeps a ridge-regression posterior over ``theta`` in ``r = theta . x``:
``A = ridge * I + sum x x'`` and ``b = sum r x`` over the items it was shown. A candidate's
context ``x`` is its features scaled to [0, 1] by the observation bounds, plus a constant 1.
A candidate's score is ``theta . x + alpha * sqrt(x' A^-1 x)`` with ``theta = A^-1 b``; the
slate is the ``S`` best scores. Every step, before choosing, the row adds the ``S`` items of
its previous slate, read from ``obs["response"]`` (per-slot behaviours, then the shown items'
features), with target ``r`` = the slot's reward (or one behaviour, see ``target``).

``A`` and ``b`` are cleared when a row starts an episode; with ``keep_across_episodes`` a row
that is autoreset without a new seed (the same user when the row keeps its task) keeps them.
Everything is batched over rows: ``A`` is ``(N, d, d)`` and one ``np.linalg.solve`` per step
serves every row. No training is needed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from baselines import TomlConfigured
from recsim_bench.agents import EnvInfo, env_info
from recsim_bench.references import top_slates


@dataclasses.dataclass(frozen=True)
class BanditConfig:
    """What every linear bandit here shares."""

    ridge: float = 1.0
    """Prior precision: ``A`` starts at ``ridge * I`` (must be > 0)."""
    target: str = "reward"
    """What a shown item earns: ``"reward"`` (the env's reward weights applied to the slot's behaviours) or a behaviour name."""
    keep_across_episodes: bool = False
    """Keep ``A`` and ``b`` when a row is autoreset without a new seed (a trial's next session of the same user)."""


@dataclasses.dataclass(frozen=True)
class LinUCBConfig(BanditConfig):
    alpha: float = 1.0
    """Width of the confidence bonus ``alpha * sqrt(x' A^-1 x)``; 0 is the greedy ridge estimate."""


def contexts(info: EnvInfo, features: NDArray[np.floating]) -> NDArray[np.float64]:
    """Bandit contexts ``(..., F + 1)``: the features scaled to [0, 1] by their bounds, then a constant 1."""
    scaled = info.scale_features(features)
    return np.concatenate([scaled, np.ones(scaled.shape[:-1] + (1,))], axis=-1)


def ridge_update(
    A: NDArray[np.float64], b: NDArray[np.float64], x: NDArray[np.float64], r: NDArray[np.float64], rows: NDArray[np.bool_]
) -> None:
    """Add observations ``x`` ``(N, S, d)`` with targets ``r`` ``(N, S)`` to ``A`` ``(N, d, d)`` and ``b`` ``(N, d)`` in place, for ``rows``."""
    x, r = x[rows], r[rows]
    A[rows] += np.einsum("nsd,nse->nde", x, x)
    b[rows] += np.einsum("nsd,ns->nd", x, r)


def linucb_scores(A: NDArray[np.float64], b: NDArray[np.float64], x: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """``theta . x + alpha * sqrt(x' A^-1 x)`` for contexts ``x`` ``(N, K, d)``, with ``theta = A^-1 b``: shape ``(N, K)``."""
    solved = np.linalg.solve(A, np.concatenate([b[:, :, None], x.transpose(0, 2, 1)], axis=2))  # (N, d, 1 + K)
    theta, a_inv_x = solved[:, :, 0], solved[:, :, 1:]
    mean = np.einsum("nkd,nd->nk", x, theta)
    width = np.sqrt(np.maximum(np.einsum("nkd,ndk->nk", x, a_inv_x), 0.0))
    return mean + alpha * width


class LinearBandit:
    """Per-row ridge posteriors over candidate contexts, updated from the response; subclasses score candidates."""

    def __init__(self, env_id: str, config: BanditConfig, env_kwargs: dict | None = None) -> None:
        if config.ridge <= 0:
            raise ValueError(f"ridge must be > 0, got {config.ridge}")
        self.config = config
        self.info = env_info(env_id, **(env_kwargs or {}))
        if config.target == "reward":
            self.target_weights = self.info.reward_weights
        elif config.target in self.info.behaviours:
            self.target_weights = np.array([b == config.target for b in self.info.behaviours], dtype=np.float64)
        else:
            raise ValueError(f"target must be 'reward' or one of the behaviours {list(self.info.behaviours)}, got {config.target!r}")
        self.dim = self.info.num_features + 1
        self.A = np.zeros((0, self.dim, self.dim))
        self.b = np.zeros((0, self.dim))
        self.pending = np.zeros(0, dtype=bool)  # rows whose obs["response"] answers a slate of ours

    def _resize(self, num_rows: int) -> None:
        if len(self.A) != num_rows:
            self.A = np.broadcast_to(self.config.ridge * np.eye(self.dim), (num_rows, self.dim, self.dim)).copy()
            self.b = np.zeros((num_rows, self.dim))
            self.pending = np.zeros(num_rows, dtype=bool)

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        started = np.asarray(started, dtype=bool)
        if len(self.A) != len(started) and not started.all():
            raise ValueError(f"started has {len(started)} rows but the agent holds {len(self.A)}; reset every row to resize")
        self._resize(len(started))
        self.pending[started] = False
        if seeds is not None or not self.config.keep_across_episodes:
            self.A[started] = self.config.ridge * np.eye(self.dim)
            self.b[started] = 0.0

    def observe(self, response: NDArray[np.floating]) -> None:
        """Add the previous slate's items and targets from ``obs["response"]`` ``(N, S, B + F)`` for the pending rows."""
        num_behaviours = len(self.info.behaviours)
        x = contexts(self.info, response[:, :, num_behaviours:])
        r = response[:, :, :num_behaviours].astype(np.float64) @ self.target_weights
        ridge_update(self.A, self.b, x, r, self.pending)

    def scores(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        self._resize(len(obs["candidates"]))
        if self.pending.any():
            self.observe(obs["response"])
        slates = top_slates(self.scores(contexts(self.info, obs["candidates"])), self.info.slate_size)
        self.pending[:] = True
        return slates


class LinUCBAgent(LinearBandit, TomlConfigured):
    """LinUCB over candidate features, one posterior per row (``deterministic`` has no effect: it is deterministic)."""

    Config = LinUCBConfig
    config_file = "linucb"

    def __init__(self, env_id: str, config: LinUCBConfig | None = None, env_kwargs: dict | None = None) -> None:
        super().__init__(env_id, config or LinUCBConfig(), env_kwargs)

    def scores(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return linucb_scores(self.A, self.b, x, self.config.alpha)
