"""Flatten a ``Dict`` observation of ``Box``es into one float32 ``Box``, for one env or a vector env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorObservationWrapper, VectorWrapper
from numpy.typing import NDArray

from recsim_bench.envs.spaces import stacked_box


def flat_box(space: spaces.Space) -> spaces.Box:
    """The float32 ``Box`` of a ``Dict`` of ``Box``es: each sub-box's bounds flattened, concatenated in key order.

    The key order is the ``Dict`` space's own (sorted by key, as Gymnasium builds it),
    which is also the order of :func:`gymnasium.spaces.flatten`.
    """
    if not isinstance(space, spaces.Dict) or not all(isinstance(box, spaces.Box) for box in space.values()):
        raise TypeError(f"can only flatten a Dict of Box spaces, got {space}")
    low = np.concatenate([box.low.ravel() for box in space.values()], dtype=np.float32)
    high = np.concatenate([box.high.ravel() for box in space.values()], dtype=np.float32)
    return spaces.Box(low=low, high=high, dtype=np.float32)


class FlattenObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Flattens a RecSimBench ``Dict`` observation into one float32 vector.

    The observation is every key's array flattened, concatenated in the ``Dict``
    space's key order (sorted: ``candidates``, ``response``, ``user`` for the suite);
    the bounds are the sub-boxes' bounds concatenated in the same order.

    Example:
        >>> import gymnasium as gym
        >>> import recsim_bench
        >>> from recsim_bench.wrappers import FlattenObservation
        >>> env = FlattenObservation(gym.make("RecSimBench/InterestEvolution-v0"))
        >>> list(env.unwrapped.observation_space)
        ['candidates', 'response', 'user']
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs.dtype  # 10 * 20 + 2 * 22 + 21
        ((265,), dtype('float32'))

    Args:
        env: an environment whose observation space is a ``Dict`` of ``Box``es.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        self._keys = tuple(env.observation_space.keys())
        self.observation_space = flat_box(env.observation_space)

    def observation(self, observation: dict[str, NDArray]) -> NDArray[np.float32]:
        """The flat observation, shape ``(D,)``."""
        return np.concatenate([np.ravel(observation[key]) for key in self._keys], dtype=np.float32)


class FlattenVectorObservation(VectorObservationWrapper):
    """Flattens a vector env's ``Dict`` observations into one float32 array of shape ``(N, D)``.

    Row ``i`` is what :class:`FlattenObservation` gives for row ``i``'s observation,
    built with one ``np.concatenate`` per step. The observation space shares the
    single flat bounds across rows (broadcast views), so it costs no memory per row.

    Unlike Gymnasium's base class this wrapper also accepts ``AutoresetMode.SAME_STEP``:
    it then flattens ``infos["final_obs"]`` (a dict of ``(N, ...)`` arrays) as well.

    Example:
        >>> import gymnasium as gym
        >>> import recsim_bench
        >>> from recsim_bench.wrappers import FlattenVectorObservation
        >>> envs = FlattenVectorObservation(gym.make_vec("RecSimBench/InterestEvolution-v0", num_envs=4))
        >>> obs, infos = envs.reset(seed=0)
        >>> obs.shape, envs.single_observation_space.shape
        ((4, 265), (265,))

    Args:
        env: a vector env whose single observation space is a ``Dict`` of ``Box``es.
    """

    def __init__(self, env: VectorEnv) -> None:
        # VectorObservationWrapper.__init__ refuses SAME_STEP, as it leaves infos["final_obs"] alone; step() does not.
        VectorWrapper.__init__(self, env)
        mode = env.metadata.get("autoreset_mode")
        if mode not in tuple(AutoresetMode):
            raise ValueError(f"the vector env must declare metadata['autoreset_mode'] (an AutoresetMode), got {mode!r}")
        self._same_step = mode == AutoresetMode.SAME_STEP
        self._keys = tuple(env.single_observation_space.keys())
        self.single_observation_space = flat_box(env.single_observation_space)
        self.observation_space = stacked_box(self.single_observation_space, env.num_envs)

    def observations(self, observations: dict[str, NDArray]) -> NDArray[np.float32]:
        """The flat observations, shape ``(N, D)``."""
        n = self.num_envs
        return np.concatenate([observations[key].reshape(n, -1) for key in self._keys], axis=1, dtype=np.float32)

    def step(self, actions: Any) -> tuple[NDArray[np.float32], Any, Any, Any, dict[str, Any]]:
        obs, rewards, terminations, truncations, infos = super().step(actions)
        if self._same_step and "final_obs" in infos:
            infos = {**infos, "final_obs": self._final_observations(infos["final_obs"], infos["_final_obs"])}
        return obs, rewards, terminations, truncations, infos

    def _final_observations(self, final: dict[str, NDArray], finished: NDArray[np.bool_]) -> NDArray[np.float32]:
        """``final`` flattened where ``finished``; like the env's, the other rows are undefined (left empty)."""
        rows = np.flatnonzero(finished)
        flat = np.empty(self.observation_space.shape, dtype=np.float32)
        flat[rows] = np.concatenate([final[key][rows].reshape(len(rows), -1) for key in self._keys], axis=1)
        return flat
