"""The agent protocol and the evaluation of an agent on a registered environment.

An agent is any object with ``act`` and ``reset`` (:class:`Agent`); nothing from
``baselines/`` is needed to be evaluated. :func:`evaluate_agent` serves episode
``e`` to user ``e`` of a split (the task ``{"split": split, "user": e}``) in a
vector-env row seeded ``seed + e``, so its numbers do not depend on how many
episodes run in parallel, as long as the agent treats its rows independently and
keys any randomness by the seeds it is given at :meth:`Agent.reset`.

This module needs only numpy and gymnasium.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from recsim_bench import rng
from recsim_bench.rng import SPLITS

#: Most rows :func:`evaluate_agent` steps at once when ``num_envs`` is not given.
MAX_BATCH = 4096

#: Vector-env arguments that the evaluation sets itself.
_EVALUATION_ARGUMENTS = ("num_envs", "autoreset_mode", "split")


@runtime_checkable
class Agent(Protocol):
    """Acts on a batch of observations; one row per user.

    ``act`` returns an ``(N, S)`` int64 array of distinct candidate indices, one slate per row.
    ``reset`` is told which rows (a bool mask ``(N,)``) just started an episode and, when the
    rows were (re)seeded, an ``(N,)`` integer array of seeds (entries of other rows are
    ignored); ``seeds=None`` means the rows continue their own streams (an autoreset).
    A stochastic agent keys its randomness of a row by that row's seed alone, so that its
    numbers do not depend on the batch size. Optionally an agent has ``bind(env)``, called
    with the unwrapped vector env before the first ``act``; only privileged references use it.
    """

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray: ...

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None: ...


@runtime_checkable
class TrainableAgent(Agent, Protocol):
    """An agent that learns from environment steps and saves its weights without pickling."""

    def train(
        self,
        env_id: str,
        steps: int,
        seed: int,
        device: str = "auto",
        env_kwargs: dict | None = None,
        log_dir: str | None = None,
    ) -> dict:
        """Train for ``steps`` environment steps; return a summary (steps, wall time, steps/s, recent return).

        Writes a CSV learning curve to ``log_dir`` when given.
        """
        ...

    def save(self, path: str) -> None:
        """Write a directory: weights (``.npz`` without pickles, or a torch state dict) and a JSON config."""
        ...

    @classmethod
    def load(cls, path: str, device: str = "auto") -> "TrainableAgent":
        """Read what :meth:`save` wrote; a tampered or foreign file raises ``ValueError``."""
        ...


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Per-episode results of :func:`evaluate_episodes`, in episode order."""

    returns: NDArray[np.float64]  # (episodes,) undiscounted return of the episode
    lengths: NDArray[np.int64]  # (episodes,) steps taken
    terminated: NDArray[np.bool_]  # (episodes,) True where the user left, False where the step limit truncated


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_arguments(
    agent: Any, env_id: Any, split: Any, deterministic: Any, env_kwargs: dict[str, Any]
) -> None:
    if not isinstance(agent, Agent):
        raise ValueError(f"agent must have act(obs, deterministic) and reset(started, seeds), got {type(agent).__name__}")
    if not isinstance(env_id, str) or env_id not in gym.registry:
        raise ValueError(f"env_id must be a registered Gymnasium id (import recsim_bench first), got {env_id!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if not isinstance(deterministic, (bool, np.bool_)):
        raise ValueError(f"deterministic must be a bool, got {deterministic!r}")
    reserved = sorted(set(env_kwargs) & set(_EVALUATION_ARGUMENTS))
    if reserved:
        raise ValueError(f"env_kwargs must not set {reserved}: the evaluation sets {list(_EVALUATION_ARGUMENTS)} itself")


def evaluate_episodes(
    agent: Agent,
    env_id: str,
    episodes: int,
    seed: int,
    split: str = "test",
    num_envs: int | None = None,
    deterministic: bool = True,
    first_episode: int = 0,
    **env_kwargs: Any,
) -> Evaluation:
    """Run ``episodes`` episodes of ``agent`` and return their returns, lengths and endings.

    Episode ``e`` (counting from ``first_episode``, so shards of one evaluation can run
    apart) serves user ``e`` of ``split`` in a row seeded ``seed + e``. Episodes run in
    batches of ``num_envs`` rows (default: all, at most :data:`MAX_BATCH`); each batch is a
    fresh ``gym.make_vec(env_id, num_envs=batch, autoreset_mode="next_step", split=split,
    **env_kwargs)`` reset with its rows' seeds and tasks. Before the first step the agent
    is bound to the unwrapped env (when it has ``bind``) and reset with every row started
    and the rows' seeds; a row that finishes is autoreset on the next step, after which
    the agent is told so with ``reset(those rows, seeds=None)``. Each row's result is its
    first episode's.
    """
    episodes = _check_int(episodes, "episodes", 1)
    seed = _check_int(seed, "seed", 0)
    first_episode = _check_int(first_episode, "first_episode", 0)
    batch = min(episodes, MAX_BATCH) if num_envs is None else _check_int(num_envs, "num_envs", 1)
    _check_arguments(agent, env_id, split, deterministic, env_kwargs)

    returns = np.zeros(episodes, dtype=np.float64)
    lengths = np.zeros(episodes, dtype=np.int64)
    terminated = np.zeros(episodes, dtype=bool)
    for start in range(0, episodes, batch):
        stop = min(start + batch, episodes)
        index = np.arange(first_episode + start, first_episode + stop, dtype=np.int64)
        result = _run_batch(agent, env_id, index, seed, split, bool(deterministic), env_kwargs)
        returns[start:stop], lengths[start:stop], terminated[start:stop] = result
    return Evaluation(returns=returns, lengths=lengths, terminated=terminated)


def _run_batch(
    agent: Agent,
    env_id: str,
    index: NDArray[np.int64],
    seed: int,
    split: str,
    deterministic: bool,
    env_kwargs: dict[str, Any],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """The first-episode return, length and ending of each row of one batch (episodes ``index``)."""
    n = len(index)
    seeds = seed + index
    env = gym.make_vec(env_id, num_envs=n, autoreset_mode="next_step", split=split, **env_kwargs)
    try:
        obs, _ = env.reset(seed=seeds.tolist(), options={"task": [{"split": split, "user": int(e)} for e in index]})
        if hasattr(agent, "bind"):
            agent.bind(env.unwrapped)
        agent.reset(np.ones(n, dtype=bool), seeds)
        returns = np.zeros(n, dtype=np.float64)
        lengths = np.zeros(n, dtype=np.int64)
        left = np.zeros(n, dtype=bool)
        running = np.ones(n, dtype=bool)
        done = np.zeros(n, dtype=bool)  # rows whose episode ended on the last step: autoreset on this one
        while running.any():
            obs, reward, term, trunc, _ = env.step(agent.act(obs, deterministic=deterministic))
            if done.any():
                agent.reset(done, None)
            returns += np.where(running, reward, 0.0)
            lengths += running
            done = np.asarray(term) | np.asarray(trunc)
            left |= running & np.asarray(term)
            running &= ~done
    finally:
        env.close()
    return returns, lengths, left


def evaluate_agent(
    agent: Agent,
    env_id: str,
    episodes: int,
    seed: int,
    split: str = "test",
    num_envs: int | None = None,
    deterministic: bool = True,
    **env_kwargs: Any,
) -> NDArray[np.float64]:
    """Per-episode returns ``(episodes,)`` float64, in episode order: :func:`evaluate_episodes`'s ``returns``."""
    return evaluate_episodes(agent, env_id, episodes, seed, split, num_envs, deterministic, **env_kwargs).returns


@dataclasses.dataclass(frozen=True)
class EnvInfo:
    """What an agent may know of an environment before acting: sizes, feature bounds, the reward's weights.

    Nothing here is privileged: it is the observation space and the public reward function.
    """

    env_id: str
    num_candidates: int  # K
    slate_size: int  # S
    user_dim: int  # D_u, width of obs["user"]
    num_features: int  # F, width of a candidate's features
    feature_low: NDArray[np.float64]  # (F,) bounds of the candidate features
    feature_high: NDArray[np.float64]  # (F,)
    behaviours: tuple[str, ...]  # names of the first B columns of obs["response"]
    reward_weights: NDArray[np.float64]  # (B,) reward = sum over slots of reward_weights @ behaviours

    def scale_features(self, features: NDArray[np.floating]) -> NDArray[np.float64]:
        """Features mapped to [0, 1] by their bounds (features with an infinite or empty range are kept)."""
        finite = np.isfinite(self.feature_low) & np.isfinite(self.feature_high) & (self.feature_high > self.feature_low)
        low = np.where(finite, self.feature_low, 0.0)
        span = np.where(finite, self.feature_high - self.feature_low, 1.0)
        return (np.asarray(features, dtype=np.float64) - low) / span


def env_info(env_id: str, **env_kwargs: Any) -> EnvInfo:
    """The :class:`EnvInfo` of a registered RecSimBench id (with the given ``gym.make`` kwargs)."""
    if not isinstance(env_id, str) or env_id not in gym.registry:
        raise ValueError(f"env_id must be a registered Gymnasium id (import recsim_bench first), got {env_id!r}")
    env = gym.make(env_id, **env_kwargs)
    try:
        sim = env.unwrapped.sim
        space = env.observation_space
        behaviours = tuple(sim.response_model.behaviours)
        weights = dict(sim.reward.weights)
        return EnvInfo(
            env_id=env_id,
            num_candidates=sim.num_candidates,
            slate_size=sim.slate_size,
            user_dim=int(space["user"].shape[0]),
            num_features=int(space["candidates"].shape[1]),
            feature_low=space["candidates"].low[0].astype(np.float64),
            feature_high=space["candidates"].high[0].astype(np.float64),
            behaviours=behaviours,
            reward_weights=np.array([weights.get(b, 0.0) for b in behaviours], dtype=np.float64),
        )
    finally:
        env.close()


class RowStreams:
    """Per-row random streams for stochastic agents, keyed by the seeds given at :meth:`Agent.reset`.

    Row ``i``'s uniforms depend only on its seed, its episode count since seeding and its
    own step counter (:func:`recsim_bench.rng.uniforms`), so an agent drawing from these
    gives the same numbers whatever the batch size. Rows used before any seeded reset are
    keyed by ``seed + i``.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = _check_int(seed, "seed", 0)
        self.keys: NDArray[np.uint64] | None = None
        self.episode = np.zeros(0, dtype=np.int64)
        self.step = np.zeros(0, dtype=np.int64)

    def _ensure(self, num_rows: int) -> None:
        if self.keys is None or len(self.keys) != num_rows:
            self.keys = rng.row_keys(self.seed + np.arange(num_rows))
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
            self.keys[started] = rng.row_keys(seeds[started])
            self.episode[started] = 0
        self.step[started] = 0

    def uniforms(self, num_rows: int, n: int, draw: int = 0) -> NDArray[np.float64]:
        """``(num_rows, n)`` uniforms in (0, 1) for the current step; ``draw`` tells apart several blocks of one step."""
        self._ensure(num_rows)
        return rng.uniforms(self.keys, self.episode, self.step, draw, n)

    def advance(self) -> None:
        """Move every row to its next step."""
        self.step += 1


__all__ = ["MAX_BATCH", "Agent", "EnvInfo", "Evaluation", "RowStreams", "TrainableAgent", "env_info", "evaluate_agent", "evaluate_episodes"]
