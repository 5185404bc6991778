"""Stable-Baselines3 PPO on a RecSimBench environment: the reference everyone knows.

SB3's stock ``MultiDiscrete`` policy samples each slot independently and would repeat
candidates, so this agent acts through :class:`~recsim_bench.wrappers.ScoreToSlateVector`:
SB3's Gaussian PPO policy (``MultiInputPolicy`` over the Dict observation) outputs one
score per candidate and the top-S distinct candidates become the slate. The rows run on
the native vector env through :class:`~recsim_bench.wrappers.sb3.SB3VecEnv`
(same-step autoreset, ``terminal_observation``, ``TimeLimit.truncated``), so SB3
bootstraps truncated episodes as it should.

Weights are saved as the SB3 policy's torch state dict (``weights.pt``, read back with
``torch.load(weights_only=True)``) plus ``config.json``; SB3's own ``model.save`` zip is
avoided because loading it unpickles parts of its ``data`` entry.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger

from baselines import TomlConfigured, build_config, check_steps, checked_env, read_config
from baselines.checkpoint import check_like, load_state_dict, torch_bytes
from baselines.common import ProgressLog, ReturnTracker, resolve_device
from recsim_bench.files import write_bytes_atomic, write_json_atomic
from recsim_bench.wrappers.sb3 import SB3VecEnv
from recsim_bench.wrappers.score_to_slate import top_candidates


MAX_ROLLOUT = 1 << 20  # transitions in SB3's rollout buffer, allocated when the model is built
MAX_HIDDEN = 4096


@dataclasses.dataclass
class SB3PPOConfig:
    """Hyperparameters (``baselines/configs/sb3-ppo.toml``)."""

    num_envs: int = 64
    """Users stepped together (rows of the vector env)."""
    n_steps: int = 64
    """Rollout length per row between updates."""
    batch_size: int = 512
    """Minibatch size of the PPO update."""
    n_epochs: int = 4
    """Passes over each rollout."""
    learning_rate: float = 3e-4
    """Adam step size."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda."""
    clip_range: float = 0.2
    """PPO's ratio clipping."""
    ent_coef: float = 0.0
    """Entropy bonus weight."""
    hidden: int = 64
    """Width of the two hidden layers of the policy and value networks."""

    def __post_init__(self) -> None:
        for name in ("num_envs", "n_steps", "batch_size", "n_epochs", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SB3PPOConfig: {name} must be an integer >= 1, got {value!r}")
        if self.num_envs * self.n_steps > MAX_ROLLOUT or self.hidden > MAX_HIDDEN:
            raise ValueError(
                f"SB3PPOConfig: num_envs * n_steps must be at most {MAX_ROLLOUT:,} and hidden at most {MAX_HIDDEN:,}, "
                f"got {self.num_envs} * {self.n_steps} and {self.hidden}"
            )


class SB3PPOAgent(TomlConfigured):
    """Stable-Baselines3 PPO through the score-to-slate wrapper (see the module docstring)."""

    Config = SB3PPOConfig
    config_file = "sb3-ppo"

    def __init__(self, env_id: str, config: SB3PPOConfig | None = None, env_kwargs: dict | None = None) -> None:
        self.env_id = env_id
        self.config = config or SB3PPOConfig()
        self.env_kwargs = dict(env_kwargs or {})
        self.model: PPO | None = None

    def _build(self, venv: SB3VecEnv, seed: int, device: str) -> PPO:
        c = self.config
        model = PPO(
            "MultiInputPolicy",
            venv,
            n_steps=c.n_steps,
            batch_size=c.batch_size,
            n_epochs=c.n_epochs,
            learning_rate=c.learning_rate,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda,
            clip_range=c.clip_range,
            ent_coef=c.ent_coef,
            policy_kwargs={"net_arch": [c.hidden, c.hidden]},
            seed=seed,
            device=resolve_device(device),
            verbose=0,
        )
        model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's own would make an empty /tmp/SB3-<time> per learn()
        return model

    # ------------------------------------------------------------------ protocol
    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("SB3PPOAgent: train() or load() before act()")
        scores, _ = self.model.predict(obs, deterministic=deterministic)
        num_rows, num_candidates = obs["candidates"].shape[:2]
        slate_size = obs["response"].shape[1]
        return top_candidates(scores, (num_rows, num_candidates), slate_size, "scores").astype(np.int64)

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Nothing to forget: the policy has no memory."""

    def train(
        self,
        env_id: str,
        steps: int,
        seed: int,
        device: str = "auto",
        env_kwargs: dict | None = None,
        log_dir: str | None = None,
    ) -> dict:
        """Run SB3's ``learn`` for ``steps`` user-steps on the train split; log episodes to ``log_dir/progress.csv``."""
        check_steps(steps)
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs or self.env_kwargs)
        venv = SB3VecEnv.make(env_id, self.config.num_envs, seed=seed, score_to_slate=True, **self.env_kwargs)
        self.model = self._build(venv, seed, device)
        logger = _EpisodeLog(self.config.num_envs, log_dir)
        start = time.perf_counter()
        self.model.learn(total_timesteps=int(steps), callback=logger)
        seconds = time.perf_counter() - start
        venv.close()
        done = int(self.model.num_timesteps)
        return {
            "steps": done,
            "wall_time": seconds,
            "steps_per_s": done / seconds,
            "recent_return": logger.returns.mean(),
            "device": str(self.model.device),
        }

    def save(self, path: str) -> None:
        if self.model is None:
            raise RuntimeError("SB3PPOAgent: nothing to save before train() or load()")
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(directory / "weights.pt", torch_bytes(self.model.policy.state_dict()))
        meta = {"agent": "sb3-ppo", "env_id": self.env_id, "env_kwargs": self.env_kwargs, "config": dataclasses.asdict(self.config)}
        write_json_atomic(directory / "config.json", meta)

    @classmethod
    def load(cls, path: str, device: str = "auto") -> "SB3PPOAgent":
        """An agent from a directory written by :meth:`save`; a tampered or foreign file raises ``ValueError``.

        ``config.json``'s env id and kwargs are checked before the env is made (:func:`baselines.checked_env`),
        then its config's fields, types and sizes; ``weights.pt`` must hold exactly the policy's tensors, each
        of its shape and dtype, all finite.
        """
        directory, owner = Path(path), "SB3PPOAgent.load"
        meta = read_config(directory, owner, "sb3-ppo")
        env_id, env_kwargs = checked_env(meta, owner, directory / "config.json")
        if not isinstance(meta.get("config"), dict):
            raise ValueError(f"{owner}: {directory / 'config.json'} config must be an object, got {meta.get('config')!r}")
        agent = cls(env_id, build_config(SB3PPOConfig, meta["config"], f"{owner}: {directory / 'config.json'} config"), env_kwargs)
        venv = SB3VecEnv.make(agent.env_id, agent.config.num_envs, score_to_slate=True, **agent.env_kwargs)
        try:
            agent.model = agent._build(venv, seed=0, device=device)
        finally:
            venv.close()
        state = load_state_dict(directory / "weights.pt", owner)
        check_like(state, agent.model.policy.state_dict(), owner, directory / "weights.pt")
        agent.model.policy.load_state_dict(state)
        return agent


class _EpisodeLog(BaseCallback):
    """Tracks the training episodes' returns and writes one CSV row per rollout: steps, wall time, steps/s and the
    mean return of the last 100 finished episodes."""

    def __init__(self, num_envs: int, log_dir: str | None) -> None:
        super().__init__()
        self.returns = ReturnTracker(num_envs, window=100)
        self._start = time.perf_counter()
        self._log = ProgressLog(log_dir, ["steps", "wall_time", "steps_per_s", "recent_return"])

    def _on_step(self) -> bool:
        self.returns.add(self.locals["rewards"], self.locals["dones"])
        return True

    def _on_rollout_end(self) -> None:
        seconds = time.perf_counter() - self._start
        steps = self.model.num_timesteps
        self._log.write([steps, f"{seconds:.3f}", f"{steps / seconds:.1f}", f"{self.returns.mean():.4f}"])

    def _on_training_end(self) -> None:
        self._log.close()
