"""A learned myopic recommender: ridge regression of an item's immediate reward, then top-S.

Training collects interactions with uniformly random slates on ``train`` users and fits,
by ridge regression, a bilinear model of what one shown item earns:

    r(u, x) ~ [1, u]' W [1, x]  =  w . kron([1, u], [1, x])

with ``u`` the user observation and ``x`` the candidate's features scaled to [0, 1] by
their bounds. The constant 1s make it contain a global bias, a per-feature item effect
(e.g. a topic's popularity), a per-user-feature effect and every user-feature x
item-feature interaction (e.g. interest in topic i x item of topic i, or budget x price),
without assuming that user and item features are aligned. Each slot of each step is one
sample; its target is the slot's reward (the env's reward weights applied to the slot's
behaviours from ``infos``), or one behaviour (``target``). The fit keeps only the
sufficient statistics ``sum phi phi'`` and ``sum phi r``, so memory does not grow with steps.

Acting ranks the candidates by predicted reward and shows the ``S`` best (ties to the lower
index): myopic, and blind to how items compete within a slate. It is personalised only as
far as the user observation tells (a user observation that is just the elapsed time, as in
ColdStart, leaves it a popularity ranking).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
import zipfile
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from baselines import TomlConfigured, check_steps
from recsim_bench.agents import EnvInfo, env_info
from recsim_bench.files import write_bytes_atomic, write_json_atomic
from recsim_bench.envs.spaces import random_slates
from recsim_bench.references import top_slates

#: Written to and checked in ``config.json``.
FORMAT = "recsim-bench/ridge-greedy/1"


@dataclasses.dataclass(frozen=True)
class RidgeGreedyConfig:
    ridge: float = 1.0
    """Ridge penalty on the weights (> 0); the fit solves ``(ridge * I + sum phi phi') w = sum phi r``."""
    target: str = "reward"
    """What a shown item earns: ``"reward"`` (the env's reward weights on the slot's behaviours) or a behaviour name."""
    num_envs: int = 256
    """Rows of the vector env that collects the training data."""
    log_every: int = 10_000
    """Environment steps between two rows of the learning curve (``log_dir/progress.csv``)."""
    train_steps: int = 50_000
    """The agent's own training budget for ``recsim-bench run`` (capped by the protocol's): the regression has
    converged long before v1's 2M steps (see docs/agents.md), and more steps would only cost time."""


def user_item_features(info: EnvInfo, user: NDArray[np.floating], features: NDArray[np.floating]) -> NDArray[np.float64]:
    """``kron([1, u], [1, x])`` for users ``(N, D_u)`` and items ``(N, M, F)``: shape ``(N, M, (D_u + 1) (F + 1))``."""
    u = np.concatenate([np.ones((len(user), 1)), np.asarray(user, dtype=np.float64)], axis=1)
    scaled = info.scale_features(features)
    x = np.concatenate([np.ones(scaled.shape[:-1] + (1,)), scaled], axis=-1)
    return (u[:, None, :, None] * x[:, :, None, :]).reshape(*x.shape[:2], u.shape[1] * x.shape[2])


def fit_ridge(gram: NDArray[np.float64], moment: NDArray[np.float64], ridge: float) -> NDArray[np.float64]:
    """``w`` solving ``(ridge * I + gram) w = moment``."""
    return np.linalg.solve(ridge * np.eye(len(gram)) + gram, moment)


class RidgeGreedyAgent(TomlConfigured):
    """Top-S by a ridge-regression model of an item's immediate reward, trained on random slates."""

    Config = RidgeGreedyConfig
    config_file = "ridge-greedy"

    def __init__(self, env_id: str, config: RidgeGreedyConfig | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or RidgeGreedyConfig()
        if self.config.ridge <= 0:
            raise ValueError(f"ridge must be > 0, got {self.config.ridge}")
        if self.config.num_envs < 1 or self.config.log_every < 1:
            raise ValueError("num_envs and log_every must be >= 1")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.info = env_info(env_id, **self.env_kwargs)
        if self.config.target == "reward":
            self.target_weights = self.info.reward_weights
        elif self.config.target in self.info.behaviours:
            self.target_weights = np.array([b == self.config.target for b in self.info.behaviours], dtype=np.float64)
        else:
            raise ValueError(
                f"target must be 'reward' or one of the behaviours {list(self.info.behaviours)}, got {self.config.target!r}"
            )
        self.weights = np.zeros((self.info.user_dim + 1) * (self.info.num_features + 1))

    # ------------------------------------------------------------------ acting
    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Nothing to forget: the model is fixed while acting."""

    def predict(self, obs: dict[str, np.ndarray]) -> NDArray[np.float64]:
        """Predicted immediate reward of each candidate shown alone, ``(N, K)``."""
        return user_item_features(self.info, obs["user"], obs["candidates"]) @ self.weights

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        return top_slates(self.predict(obs), self.info.slate_size)

    # ------------------------------------------------------------------ training
    def train(
        self,
        env_id: str,
        steps: int,
        seed: int,
        device: str = "auto",
        env_kwargs: dict | None = None,
        log_dir: str | None = None,
    ) -> dict:
        """Fit on ``steps`` environment steps of random slates on train users (numpy: ``device`` is unused)."""
        if env_id != self.env_id:
            raise ValueError(f"env_id must be the agent's own {self.env_id!r}, got {env_id!r}")
        steps = check_steps(steps)
        env_kwargs = self.env_kwargs if env_kwargs is None else dict(env_kwargs)
        n, k, s = self.config.num_envs, self.info.num_candidates, self.info.slate_size
        env = gym.make_vec(env_id, num_envs=n, autoreset_mode="next_step", split="train", **env_kwargs)
        generator = np.random.default_rng(seed)
        dim = len(self.weights)
        gram, moment = np.zeros((dim, dim)), np.zeros(dim)
        returns, recent = np.zeros(n), deque(maxlen=100)
        resetting = np.zeros(n, dtype=bool)  # rows whose step only resets them (next-step autoreset)
        curve, done_steps, next_log, start = [], 0, self.config.log_every, time.perf_counter()
        try:
            obs, _ = env.reset(seed=int(seed))
            while done_steps < steps:
                slates = random_slates(generator, (n,), k, s)
                next_obs, reward, terminated, truncated, infos = env.step(slates)
                live = ~resetting
                shown = np.take_along_axis(obs["candidates"], slates[:, :, None], axis=1)[live]
                phi = user_item_features(self.info, obs["user"][live], shown).reshape(-1, dim)
                target = sum(w * infos[b][live] for b, w in zip(self.info.behaviours, self.target_weights)).reshape(-1)
                gram += phi.T @ phi
                moment += phi.T @ target
                returns += reward
                resetting = np.asarray(terminated) | np.asarray(truncated)
                recent.extend(returns[resetting].tolist())
                returns[resetting] = 0.0
                obs, done_steps = next_obs, done_steps + n
                if done_steps >= next_log or done_steps >= steps:
                    next_log += self.config.log_every
                    curve.append((done_steps, time.perf_counter() - start, _mean(recent)))
        finally:
            env.close()
        self.weights = fit_ridge(gram, moment, self.config.ridge)
        wall = time.perf_counter() - start
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            with open(Path(log_dir) / "progress.csv", "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["steps", "wall_time", "recent_return"])
                writer.writerows(curve)
        return {
            "steps": done_steps,
            "wall_time": wall,
            "steps_per_s": done_steps / max(wall, 1e-9),
            "recent_return": _mean(recent),
            "samples": int(gram[0, 0]),
        }

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """Write ``path/weights.npz`` (plain arrays) and ``path/config.json``."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights)
        write_bytes_atomic(directory / "weights.npz", buffer.getvalue())
        record = {"format": FORMAT, "env_id": self.env_id, "env_kwargs": self.env_kwargs, "config": dataclasses.asdict(self.config)}
        write_json_atomic(directory / "config.json", record)

    @classmethod
    def load(cls, path: str, device: str = "auto") -> "RidgeGreedyAgent":
        """Read what :meth:`save` wrote; anything malformed raises ``ValueError``."""
        from baselines import build_config, checked_env, read_config

        directory = Path(path)
        record = read_config(directory, "RidgeGreedyAgent.load", None)
        if record.get("format") != FORMAT or set(record) != {"format", "env_id", "env_kwargs", "config"}:
            raise ValueError(f"{directory / 'config.json'}: not a {FORMAT} config")
        env_id, env_kwargs = checked_env(record, "RidgeGreedyAgent.load", directory / "config.json")
        if not isinstance(record["config"], dict):
            raise ValueError(f"{directory / 'config.json'}: 'config' must be an object")
        agent = cls(env_id, build_config(RidgeGreedyConfig, record["config"], "ridge-greedy config.json"), env_kwargs)
        try:
            with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
                names = sorted(arrays.files)
                weights = arrays["weights"] if names == ["weights"] else None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"{directory / 'weights.npz'}: not a readable .npz ({error})") from None
        if weights is None:
            raise ValueError(f"{directory / 'weights.npz'}: expected one array 'weights', got {names}")
        if weights.dtype != np.float64 or weights.shape != agent.weights.shape or not np.all(np.isfinite(weights)):
            raise ValueError(
                f"{directory / 'weights.npz'}: 'weights' must be finite float64 of shape {agent.weights.shape}, "
                f"got {weights.dtype} {weights.shape}"
            )
        agent.weights = weights
        return agent


def _mean(values: Any) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
