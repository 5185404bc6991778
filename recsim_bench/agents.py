"""The agent protocol, the one rollout loop, the evaluations built on it, and agents by name.

An agent is any object with ``act`` and ``reset`` (:class:`Agent`); nothing from
``baselines/`` is needed to be evaluated. :func:`rollout` is the only loop that steps an
agent through episodes: :func:`evaluate_episodes` (one episode per user) and
:func:`evaluate_sessions` (a trial of several sessions per user) are batching around it.
:func:`evaluate_agent` serves episode
``e`` to user ``e`` of a split (the task ``{"split": split, "user": e}``) in a
vector-env row seeded ``seed + e``, so its numbers do not depend on how many
episodes run in parallel, as long as the agent treats its rows independently and
keys any randomness by the seeds it is given at :meth:`Agent.reset`.

Agents are found by name in the entry-point group :data:`AGENT_ENTRY_POINTS`
(``recsim_bench.agents``): recsim-bench registers its references and the agents of
``baselines/`` there, and an installed third-party package adds its own the same way, e.g. in
its ``pyproject.toml``::

    [project.entry-points."recsim_bench.agents"]
    my-agent = "my_package.agent:MyAgent"

after which ``recsim-bench train/evaluate/run`` and :func:`make_agent` know ``my-agent``. Such a
class has a ``Config`` dataclass of hyperparameters, ``__init__(env_id, config, **kwargs)`` and
optionally a classmethod ``default_config(env_id) -> dict`` (its values for ``env_id``).

This module needs only numpy and gymnasium.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import typing
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from recsim_bench.checks import check_integer
from recsim_bench.rng import SPLITS
from recsim_bench.seeding import SEED_LIMIT

#: Most rows :func:`evaluate_agent` steps at once when ``num_envs`` is not given.
MAX_BATCH = 4096

#: The entry-point group in which packages register agents by name (``name = "module:Class"``).
AGENT_ENTRY_POINTS = "recsim_bench.agents"

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
class Rollout:
    """What :func:`rollout` measured, per row and session: arrays of shape ``(N, sessions)``."""

    returns: NDArray[np.float64]  # undiscounted return of the session
    lengths: NDArray[np.int64]  # steps taken
    terminated: NDArray[np.bool_]  # True where the user left, False where the step limit truncated


def rollout(
    env: Any, agent: Agent, obs: dict[str, np.ndarray], seeds: NDArray[np.integer], sessions: int = 1, deterministic: bool = True
) -> Rollout:
    """Step ``agent`` through ``sessions`` consecutive episodes of every row of ``env``: the one rollout loop.

    ``env`` is a vector env with next-step autoreset, just reset (``obs`` is what the reset
    returned) with the row seeds ``seeds`` ``(N,)``. The agent is bound to ``env.unwrapped``
    (when it has ``bind``) and reset with every row started and ``seeds``. A row whose episode
    ends is autoreset on the next step, whose reward is not counted (its action is ignored),
    after which the agent is told so with ``reset(those rows, seeds=None)``: a row that keeps
    its task serves the same user's next session, and the agent may keep what it learnt of
    the user. The loop ends once every row has finished ``sessions`` episodes.
    """
    n = int(env.num_envs)
    sessions = check_integer(sessions, "sessions", 1)
    if env.metadata.get("autoreset_mode") != AutoresetMode.NEXT_STEP:
        raise ValueError(f"env must autoreset on the next step (autoreset_mode='next_step'), got {env.metadata.get('autoreset_mode')!r}")
    seeds = np.asarray(seeds)
    if seeds.shape != (n,) or seeds.dtype.kind not in "iu":
        raise ValueError(f"seeds must be integers of shape ({n},), one per row of env, got {seeds!r}")
    if hasattr(agent, "bind"):
        agent.bind(env.unwrapped)
    agent.reset(np.ones(n, dtype=bool), seeds)
    returns = np.zeros((n, sessions), dtype=np.float64)
    lengths = np.zeros((n, sessions), dtype=np.int64)
    terminated = np.zeros((n, sessions), dtype=bool)
    rows = np.arange(n)
    session = np.zeros(n, dtype=np.int64)  # the session each row is in
    counting = np.ones(n, dtype=bool)  # rows with a session still to finish
    done = np.zeros(n, dtype=bool)  # rows whose session ended on the last step: autoreset on this one
    while counting.any():
        obs, reward, term, trunc, _ = env.step(agent.act(obs, deterministic=deterministic))
        if done.any():
            agent.reset(done, None)
            session[done] += 1
        live = counting & ~done
        where = rows[live], session[live]
        returns[where] += np.asarray(reward, dtype=np.float64)[live]
        lengths[where] += 1
        terminated[where] = np.asarray(term)[live]
        done = np.asarray(term) | np.asarray(trunc)
        counting &= ~(done & (session >= sessions - 1))
    return Rollout(returns=returns, lengths=lengths, terminated=terminated)


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Per-episode results of :func:`evaluate_episodes`, in episode order."""

    returns: NDArray[np.float64]  # (episodes,) undiscounted return of the episode
    lengths: NDArray[np.int64]  # (episodes,) steps taken
    terminated: NDArray[np.bool_]  # (episodes,) True where the user left, False where the step limit truncated


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


def _evaluate(
    agent: Agent,
    env_id: str,
    first: int,
    count: int,
    sessions: int,
    seed: int,
    split: str,
    num_envs: int | None,
    deterministic: bool,
    fresh_users: bool,
    env_kwargs: dict[str, Any],
) -> Rollout:
    """:func:`rollout` over users ``first .. first + count - 1`` in batches of ``num_envs`` rows (default: all, at most
    :data:`MAX_BATCH`), each batch a fresh vector env; ``count``, ``first`` and ``seed`` are checked by the caller."""
    batch = min(count, MAX_BATCH) if num_envs is None else check_integer(num_envs, "num_envs", 1)
    _check_arguments(agent, env_id, split, deterministic, env_kwargs)
    if seed + first + count - 1 >= SEED_LIMIT:
        raise ValueError(f"seed must leave room for the last row's seed + {first + count - 1} below 2**64, got {seed!r}")
    parts = []
    for start in range(first, first + count, batch):
        index = np.arange(start, min(start + batch, first + count), dtype=np.int64)
        env = gym.make_vec(env_id, num_envs=len(index), autoreset_mode="next_step", split=split, **env_kwargs)
        try:
            tasks = None if fresh_users else {"task": [{"split": split, "user": int(e)} for e in index]}
            seeds = [seed + int(e) for e in index]  # Python ints: a seed may pass 2**63
            obs, _ = env.reset(seed=seeds, options=tasks)
            row_seeds = np.array(seeds, dtype=np.uint64 if seeds[-1] >= 2**63 else np.int64)
            parts.append(rollout(env, agent, obs, row_seeds, sessions, bool(deterministic)))
        finally:
            env.close()
    return Rollout(*(np.concatenate([getattr(part, field.name) for part in parts]) for field in dataclasses.fields(Rollout)))


def evaluate_episodes(
    agent: Agent,
    env_id: str,
    episodes: int,
    seed: int,
    split: str = "test",
    num_envs: int | None = None,
    deterministic: bool = True,
    first_episode: int = 0,
    fresh_users: bool = False,
    **env_kwargs: Any,
) -> Evaluation:
    """Run ``episodes`` episodes of ``agent`` and return their returns, lengths and endings.

    Episode ``e`` (counting from ``first_episode``, so shards of one evaluation can run
    apart) serves user ``e`` of ``split`` in a row seeded ``seed + e``; with ``fresh_users``
    it serves instead the user the row's seed draws from the population of ``split`` (the
    single env reset with seed ``seed + e`` and no task). Episodes run in batches of
    ``num_envs`` rows (default: all, at most :data:`MAX_BATCH`), each a fresh
    ``gym.make_vec(env_id, num_envs=batch, autoreset_mode="next_step", split=split, **env_kwargs)``
    stepped by :func:`rollout`; a row's result is its first episode's, whatever the batch size.
    """
    episodes, seed = check_integer(episodes, "episodes", 1), check_integer(seed, "seed", 0)
    first_episode = check_integer(first_episode, "first_episode", 0)
    if not isinstance(fresh_users, (bool, np.bool_)):
        raise ValueError(f"fresh_users must be a bool, got {fresh_users!r}")
    measured = _evaluate(agent, env_id, first_episode, episodes, 1, seed, split, num_envs, deterministic, bool(fresh_users), env_kwargs)
    return Evaluation(returns=measured.returns[:, 0], lengths=measured.lengths[:, 0], terminated=measured.terminated[:, 0])


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


def evaluate_sessions(
    agent: Agent,
    env_id: str,
    users: int,
    sessions: int,
    seed: int,
    split: str = "test",
    num_envs: int | None = None,
    deterministic: bool = True,
    first_user: int = 0,
    **env_kwargs: Any,
) -> NDArray[np.float64]:
    """Return of each session of a trial per user: ``(users, sessions)`` float64.

    User ``u`` (counting from ``first_user``) is the task ``{"split": split, "user": u}`` of a
    vector-env row seeded ``seed + u``, as in :func:`evaluate_episodes`, so session 0 is
    exactly that function's episode ``u``. A row keeps its task across autoresets, so its next
    episode is the same user's next session; between two sessions the agent gets
    ``reset(row, None)`` and may keep what it learnt about the user, which is what the trial
    measures (:func:`rollout`). Rows run in batches of ``num_envs`` (default: all, at most
    :data:`MAX_BATCH`), which does not change the numbers.
    """
    users, sessions = check_integer(users, "users", 1), check_integer(sessions, "sessions", 1)
    seed, first_user = check_integer(seed, "seed", 0), check_integer(first_user, "first_user", 0)
    return _evaluate(agent, env_id, first_user, users, sessions, seed, split, num_envs, deterministic, False, env_kwargs).returns


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
        low, span = unit_bounds(self.feature_low, self.feature_high)
        return (np.asarray(features, dtype=np.float64) - low) / span


def unit_bounds(low: NDArray[np.floating], high: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(offset, span)`` in float64 such that ``(x - offset) / span`` maps ``[low, high]`` to [0, 1];
    entries with an infinite or empty range get ``(0, 1)``, which keeps them as they are."""
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    finite = np.isfinite(low) & np.isfinite(high) & (high > low)
    return np.where(finite, low, 0.0), np.where(finite, high - low, 1.0)


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


# ----------------------------------------------------------------------------- agents by name
#: Agent names that changed, to the name they have now.
RENAMED = {"greedy": "ridge-greedy"}


def _entry_points() -> dict[str, list[importlib.metadata.EntryPoint]]:
    """Every registered name, with its distinct entry points (more than one: two packages claim the name)."""
    found: dict[str, list[importlib.metadata.EntryPoint]] = {}
    for entry in importlib.metadata.entry_points(group=AGENT_ENTRY_POINTS):
        claims = found.setdefault(entry.name, [])
        if all(entry.value != other.value for other in claims):
            claims.append(entry)
    return found


def agent_names() -> list[str]:
    """The names of the installed agents (:data:`AGENT_ENTRY_POINTS`), sorted."""
    return sorted(_entry_points())


def agent_class(name: str) -> type:
    """The class registered as ``name``; an unknown name, or one whose package is missing a dependency, raises ``ValueError``."""
    entries = _entry_points()
    if name not in entries:
        renamed = f" (renamed {RENAMED[name]!r})" if name in RENAMED else ""
        raise ValueError(f"unknown agent {name!r}{renamed}; allowed: {', '.join(sorted(entries)) or 'none (is recsim-bench installed?)'}")
    if len(entries[name]) > 1:
        raise ValueError(f"agent {name!r} is registered by more than one package: {', '.join(e.value for e in entries[name])}")
    (entry,) = entries[name]
    try:
        cls = entry.load()
    except ImportError as error:
        raise ValueError(f"agent {name!r} needs {error.name} (pip install 'recsim-bench[baselines]')") from None
    if not isinstance(cls, type) or not dataclasses.is_dataclass(getattr(cls, "Config", None)):
        raise ValueError(f"agent {name!r} ({entry.value}) must be a class with a Config dataclass")
    return cls


def learns(cls: type) -> bool:
    """Whether the agent class trains (and so is evaluated from a checkpoint) or acts from its config alone."""
    return callable(getattr(cls, "train", None))


def build_config(config_class: type, values: dict[str, Any], source: str = "config") -> Any:
    """An instance of the dataclass ``config_class`` from ``values``; unknown keys and wrong types raise ``ValueError``."""
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    hints = typing.get_type_hints(config_class)
    checked = {}
    for key, value in values.items():
        expected = hints[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected in (bool, int, float, str) and type(value) is not expected:
            raise ValueError(f"{source}: {key} must be a {expected.__name__}, got {value!r}")
        checked[key] = value
    return config_class(**checked)


def default_config(cls: type, env_id: str) -> dict[str, Any]:
    """The hyperparameters the agent class gives itself for ``env_id`` (its ``default_config``; none: ``{}``)."""
    own = getattr(cls, "default_config", None)
    return dict(own(env_id)) if callable(own) else {}


def make_agent(name: str, env_id: str, config_overrides: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Agent ``name`` for ``env_id``: its ``Config`` from its :func:`default_config` for ``env_id``, then ``config_overrides``.

    ``kwargs`` go to the agent's constructor (e.g. ``env_kwargs`` for the env's ``gym.make`` arguments).
    """
    cls = agent_class(name)
    values = {**default_config(cls, env_id), **(config_overrides or {})}
    return cls(env_id, build_config(cls.Config, values, source=f"{name} config for {env_id}"), **kwargs)


__all__ = [
    "AGENT_ENTRY_POINTS",
    "MAX_BATCH",
    "RENAMED",
    "Agent",
    "EnvInfo",
    "Evaluation",
    "Rollout",
    "TrainableAgent",
    "agent_class",
    "agent_names",
    "build_config",
    "default_config",
    "env_info",
    "evaluate_agent",
    "evaluate_episodes",
    "evaluate_sessions",
    "learns",
    "make_agent",
    "rollout",
    "unit_bounds",
]
