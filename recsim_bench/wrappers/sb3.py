"""A Stable-Baselines3 ``VecEnv`` over a RecSimBench vector env (needs ``stable-baselines3``).

SB3 rejects Gymnasium vector envs and expects its own conventions: ``reset`` returns
only observations, ``step`` returns ``dones`` and a list of per-row info dicts, and a
finished row is reset within the same step, its last observation going to
``info["terminal_observation"]``. :class:`SB3VecEnv` provides them over a
:class:`~recsim_bench.RecVectorEnv` in ``AutoresetMode.SAME_STEP``, without looping
over rows except the finished ones.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from recsim_bench.envs.core import RecVectorEnv
from recsim_bench.wrappers.flatten import FlattenVectorObservation
from recsim_bench.wrappers.score_to_slate import ScoreToSlateVector

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite(space: spaces.Space) -> spaces.Space:
    """``space`` with infinite ``Box`` bounds replaced by the float32 extremes (SB3 refuses infinite bounds).

    SB3 clips actions to these bounds, which changes no finite score.
    """
    if not isinstance(space, spaces.Box) or np.isfinite(space.low).all() and np.isfinite(space.high).all():
        return space
    low = np.clip(space.low, -_FLOAT32_MAX, _FLOAT32_MAX)
    high = np.clip(space.high, -_FLOAT32_MAX, _FLOAT32_MAX)
    return spaces.Box(low=low, high=high, dtype=space.dtype)


class SB3VecEnv(VecEnv):
    """Stable-Baselines3's ``VecEnv`` interface over a RecSimBench vector env in same-step autoreset mode.

    - ``reset()`` returns the observations only (seeds from :meth:`seed` and options from
      :meth:`set_options` apply to that reset; seed ``s`` gives row ``i`` seed ``s + i``).
    - ``step`` returns ``(obs, rewards, dones, infos)``: rewards float32, ``dones = terminated | truncated``,
      ``infos`` a list of N dicts. A finished row's observation is already its next episode's
      first; its info holds ``"terminal_observation"`` (its last observation, a dict of per-key
      arrays for ``Dict`` spaces) and ``"TimeLimit.truncated"`` (``truncated and not terminated``).
      The other rows' infos are empty (SB3 reads ``info.get("TimeLimit.truncated", False)``).
    - The spaces are the vector env's single spaces, except that an infinite ``Box`` action
      space (:class:`~recsim_bench.wrappers.ScoreToSlateVector`'s) is reported with the float32
      extremes as bounds, since SB3 refuses infinite bounds; SB3's clipping then changes no score.
    - The rows are one vector env, not N envs: ``get_attr``, ``set_attr`` and ``env_method`` act on
      that env (the outermost wrapper or env that has the attribute), and ``set_attr`` and
      ``env_method`` must address all rows.

    SB3's stock ``MultiDiscrete`` policies would repeat candidates in a slate; the supported path is
    :class:`~recsim_bench.wrappers.ScoreToSlateVector` and a ``Box`` policy (e.g. PPO), as
    :meth:`make` builds by default.

    Example:
        >>> from stable_baselines3 import PPO
        >>> from recsim_bench.wrappers.sb3 import SB3VecEnv
        >>> envs = SB3VecEnv.make("RecSimBench/InterestEvolution-v0", num_envs=8, seed=0)
        >>> envs.action_space
        Box(-3.4028235e+38, 3.4028235e+38, (10,), float32)
        >>> model = PPO("MultiInputPolicy", envs, n_steps=4, batch_size=32, n_epochs=1).learn(32)

    Args:
        venv: a :class:`~recsim_bench.RecVectorEnv` built with ``autoreset_mode="same_step"``, possibly
            wrapped by :class:`~recsim_bench.wrappers.FlattenVectorObservation` or
            :class:`~recsim_bench.wrappers.ScoreToSlateVector`.
    """

    def __init__(self, venv: VectorEnv) -> None:
        if not isinstance(venv.unwrapped, RecVectorEnv):
            raise TypeError(f"SB3VecEnv needs a RecVectorEnv (possibly wrapped), got {venv.unwrapped}")
        mode = venv.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"SB3VecEnv needs a vector env in same-step autoreset mode (SB3 resets finished rows within the step), "
                f"got autoreset_mode={mode}; build it with SB3VecEnv.make(env_id, num_envs) or "
                "gym.make_vec(env_id, num_envs=N, autoreset_mode='same_step')"
            )
        self.venv = venv
        self._actions: Any = None
        super().__init__(venv.num_envs, venv.single_observation_space, _finite(venv.single_action_space))

    @classmethod
    def make(
        cls,
        env_id: str,
        num_envs: int,
        *,
        seed: int | None = None,
        score_to_slate: bool = True,
        flatten: bool = False,
        **env_kwargs: Any,
    ) -> "SB3VecEnv":
        """A ``SB3VecEnv`` over ``gym.make_vec(env_id, num_envs, **env_kwargs)`` in same-step autoreset mode.

        Args:
            env_id: a registered RecSimBench id.
            num_envs: the number of users (rows).
            seed: seed of the first reset (row ``i`` gets ``seed + i``); ``None`` for a random one.
            score_to_slate: act with one score per candidate (:class:`~recsim_bench.wrappers.ScoreToSlateVector`).
            flatten: observe one flat float32 vector (:class:`~recsim_bench.wrappers.FlattenVectorObservation`).
            **env_kwargs: the environment's arguments (parts, sizes, ``max_steps``, ``num_threads``).
        """
        venv = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode="same_step",
            **env_kwargs,
        )
        if flatten:
            venv = FlattenVectorObservation(venv)
        if score_to_slate:
            venv = ScoreToSlateVector(venv)
        env = cls(venv)
        if seed is not None:
            env.seed(seed)
        return env

    def reset(self) -> VecEnvObs:
        seeds = None if all(seed is None for seed in self._seeds) else list(self._seeds)
        obs, _ = self.venv.reset(seed=seeds, options=self._options[0] or None)
        self._reset_seeds()
        self._reset_options()
        return obs

    def set_options(self, options: list[dict] | dict | None = None) -> None:
        """Options for the next reset, one dict shared by every row (they are one vector env)."""
        if isinstance(options, list):
            raise ValueError("SB3VecEnv.set_options takes one dict for all rows, not a list of per-row options")
        super().set_options(options)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, vector_infos = self.venv.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        finished = np.flatnonzero(dones)
        if finished.size:
            final = vector_infos["final_obs"]
            timeouts = truncated & ~terminated
            for row in finished.tolist():
                infos[row]["terminal_observation"] = (
                    {key: values[row] for key, values in final.items()} if isinstance(final, dict) else final[row]
                )
                infos[row]["TimeLimit.truncated"] = bool(timeouts[row])
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def _chain(self) -> list[VectorEnv]:
        """The wrappers from the outermost in, then the env."""
        envs, env = [], self.venv
        while isinstance(env, VectorWrapper):
            envs.append(env)
            env = env.env
        return [*envs, env]

    def _owner(self, attr_name: str) -> VectorEnv:
        for env in self._chain():
            if hasattr(env, attr_name):
                return env
        raise AttributeError(f"neither {self.venv} nor the envs it wraps have an attribute {attr_name!r}")

    def _all_rows(self, indices: VecEnvIndices, what: str) -> None:
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(f"{what} acts on the one vector env that holds every row; pass indices=None")

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self._owner(attr_name), attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._all_rows(indices, "set_attr")
        try:
            owner = self._owner(attr_name)
        except AttributeError:
            owner = self.venv  # a new attribute goes on the outermost env, as on each env in SB3's DummyVecEnv
        setattr(owner, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Calls the method once on the vector env and returns its result for every row."""
        self._all_rows(indices, "env_method")
        result = getattr(self._owner(method_name), method_name)(*method_args, **method_kwargs)
        return [result for _ in range(self.num_envs)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        wrapped = any(isinstance(env, wrapper_class) for env in self._chain())
        return [wrapped for _ in self._get_indices(indices)]
