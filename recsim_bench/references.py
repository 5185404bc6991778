"""Reference policies and their evaluation over a vector environment.

A policy is a function ``(env, obs, rng) -> slates``: ``env`` is the
unwrapped :class:`~recsim_bench.envs.RecVectorEnv`, ``obs`` its batched
observation and ``rng`` a ``numpy.random.Generator``; it returns an
``(N, S)`` int64 array of distinct candidate indices, one slate per row.

The three references bracket what an agent should score:

- ``random``: a uniformly random slate of distinct candidates;
- ``greedy``: myopic and non-personalised: the ``S`` candidates with the
  highest expected immediate reward for the population's mean user
  (``env.expected_rewards(prior=True)``);
- ``oracle``: myopic with privileged access: the ``S`` candidates with the
  highest expected immediate reward under the row's true hidden user state
  (``env.expected_rewards()``). It is not the optimal policy: it ignores what
  a recommendation does to the user's future (see LongTermSatisfaction-v0).

Ties are broken by candidate index (a stable sort of the negated scores).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from scipy import stats

from recsim_bench.envs.core import random_slates

Policy = Callable[[Any, dict[str, NDArray[np.float32]], np.random.Generator], NDArray[np.int64]]

#: Where ``benchmarks/reference_returns.py`` writes the measured reference returns.
REFERENCE_RETURNS_PATH = Path(__file__).resolve().parent / "envs" / "reference_returns.json"


def _slate_shape(env: Any) -> tuple[int, int, int]:
    """``(N, K, S)``: rows, candidates per step, slate size of a vector env."""
    space = env.single_action_space
    return int(env.num_envs), int(space.num_candidates), int(space.slate_size)


def top_slates(scores: NDArray[np.floating], slate_size: int) -> NDArray[np.int64]:
    """The ``slate_size`` highest-scoring candidates of each row of ``scores`` ``(N, K)``, best first.

    Ties go to the lower candidate index.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), axis=1, kind="stable")
    return order[:, :slate_size].astype(np.int64)


def random_policy(env: Any, obs: dict[str, NDArray[np.float32]], rng: np.random.Generator) -> NDArray[np.int64]:
    """A uniformly random slate of distinct candidates per row, drawn from ``rng``."""
    n, k, s = _slate_shape(env)
    return random_slates(rng, (n,), k, s)


def greedy_policy(env: Any, obs: dict[str, NDArray[np.float32]], rng: np.random.Generator) -> NDArray[np.int64]:
    """Myopic, non-personalised: top-S candidates by expected immediate reward for the population's mean user."""
    _, _, s = _slate_shape(env)
    return top_slates(env.expected_rewards(prior=True), s)


def oracle_policy(env: Any, obs: dict[str, NDArray[np.float32]], rng: np.random.Generator) -> NDArray[np.int64]:
    """Myopic with privileged access: top-S candidates by expected immediate reward under the true hidden state."""
    _, _, s = _slate_shape(env)
    return top_slates(env.expected_rewards(), s)


POLICIES: dict[str, Policy] = {"random": random_policy, "greedy": greedy_policy, "oracle": oracle_policy}


def policies_for(env_id: str) -> dict[str, Policy]:
    """The references of ``env_id``: :data:`POLICIES`, then its module's ``EXTRA_POLICIES`` (its long-term comparisons)."""
    from recsim_bench.envs import SUITE

    if env_id not in SUITE:
        raise ValueError(f"env_id must be one of {sorted(SUITE)}, got {env_id!r}")
    module = importlib.import_module(SUITE[env_id][0])
    return {**POLICIES, **getattr(module, "EXTRA_POLICIES", {})}


def evaluate(env_id: str, policy: Policy, episodes: int = 1000, seed: int = 0, **env_kwargs: Any) -> NDArray[np.float64]:
    """Per-episode returns of ``policy``: one episode per row of a vector env with ``episodes`` rows.

    The env is reset with ``seed`` (row ``i`` is the user of a single env seeded
    ``seed + i``) and stepped until every row has finished its first episode;
    each row's return is recorded once, at its first ``terminated`` or
    ``truncated``. The policy's own generator is ``numpy.random.default_rng(seed)``.

    Returns:
        Array of shape ``(episodes,)``, float64, in row order.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    env = gym.make_vec(env_id, num_envs=int(episodes), **env_kwargs)
    try:
        base = env.unwrapped
        rng = np.random.default_rng(seed)
        obs, _ = env.reset(seed=seed)
        returns = np.zeros(int(episodes), dtype=np.float64)
        finished = np.zeros(int(episodes), dtype=bool)
        while not finished.all():
            obs, reward, terminated, truncated, _ = env.step(policy(base, obs, rng))
            returns += np.where(finished, 0.0, reward)
            finished |= np.asarray(terminated) | np.asarray(truncated)
    finally:
        env.close()
    return returns


def mean_ci(returns: Any, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean: ``(mean, low, high)``.

    ``mean +- t_{(1 + confidence) / 2, n - 1} * s / sqrt(n)`` with ``s`` the
    sample standard deviation (``ddof=1``). Needs at least two values.
    """
    values = np.asarray(returns, dtype=np.float64).ravel()
    if values.size < 2:
        raise ValueError(f"mean_ci needs at least 2 values, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("mean_ci: returns must be finite")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    n = values.size
    mean = float(values.mean())
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def load_reference_returns(path: Path | str = REFERENCE_RETURNS_PATH) -> dict[str, Any] | None:
    """The measured reference returns (``{env_id: {policy: {"mean", "low", "high", ...}}, "command": ...}``), or ``None``."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


__all__ = [
    "POLICIES",
    "REFERENCE_RETURNS_PATH",
    "Policy",
    "evaluate",
    "greedy_policy",
    "load_reference_returns",
    "mean_ci",
    "oracle_policy",
    "policies_for",
    "random_policy",
    "top_slates",
]
