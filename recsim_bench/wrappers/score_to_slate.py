"""Turn one score per candidate into a slate: the top ``slate_size`` candidates, for one env or a vector env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorActionWrapper, VectorEnv
from numpy.typing import NDArray

from recsim_bench.envs.spaces import SlateSpace, stacked_box


def top_candidates(scores: Any, shape: tuple[int, ...], slate_size: int, argument: str) -> NDArray[np.int64]:
    """The ``slate_size`` highest-scoring candidates of each row of ``scores`` (last axis), highest first.

    Ties go to the lower candidate index (a stable sort of ``-scores``). Raises
    ``ValueError`` naming ``argument`` if ``scores`` does not have ``shape``, is not
    real-valued or holds NaN.
    """
    array = np.asarray(scores)
    if array.shape != shape:
        raise ValueError(f"{argument} must have shape {shape} (one score per candidate), got {array.shape}")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{argument} must hold real-valued scores, got dtype {array.dtype}")
    negated = -array.astype(np.float64)  # float64 holds every float32 and int score without wrapping unsigned ones
    nan = np.isnan(negated)
    if nan.any():
        where = "" if array.ndim == 1 else f" (row {int(np.flatnonzero(nan.any(axis=-1))[0])})"
        raise ValueError(f"{argument} contains NaN scores{where}; every candidate needs a comparable score")
    return np.argsort(negated, axis=-1, kind="stable")[..., :slate_size]


def _score_space(slates: Any) -> SlateSpace:
    if not isinstance(slates, SlateSpace) or len(slates.shape) != 1:
        raise TypeError(f"expected an environment whose (single) action space is a SlateSpace, got {slates}")
    return slates


def _scores_box(num_candidates: int) -> spaces.Box:
    return spaces.Box(-np.inf, np.inf, (num_candidates,), np.float32)


class ScoreToSlate(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Acts with one score per candidate instead of a slate of indices.

    The action space is ``Box(-inf, inf, (K,), float32)``, one score for each of the
    ``K`` candidates. The slate sent to the environment lists the ``S`` candidates
    with the highest scores, highest first (the first is the top slot), so it never
    repeats a candidate. Ties go to the lower candidate index. Only the order of the
    scores matters. A score vector with a NaN, of another shape or not real-valued
    raises ``ValueError`` naming ``action``.

    This is how a continuous-action agent (e.g. Stable-Baselines3's Gaussian PPO
    policy) acts on a slate environment without ever proposing an invalid slate.

    Example:
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> import recsim_bench
        >>> from recsim_bench.wrappers import ScoreToSlate
        >>> env = ScoreToSlate(gym.make("RecSimBench/InterestEvolution-v0"))
        >>> env.action_space
        Box(-inf, inf, (10,), float32)
        >>> scores = np.array([0.1, 0.9, 0.3, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2], dtype=np.float32)
        >>> env.action(scores)  # the tie at 0.9 goes to candidate 1
        array([1, 3])

    Args:
        env: an environment whose action space is a :class:`~recsim_bench.SlateSpace`.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        slates = _score_space(env.action_space)
        self.slate_size = slates.slate_size
        self.action_space = _scores_box(slates.num_candidates)

    def action(self, action: Any) -> NDArray[np.int64]:
        """The slate of the ``slate_size`` highest scores in ``action``, shape ``(S,)``."""
        return top_candidates(action, self.action_space.shape, self.slate_size, "action")


class ScoreToSlateVector(VectorActionWrapper):
    """:class:`ScoreToSlate` for a vector env: actions are scores of shape ``(N, K)``, one row per user.

    Each row becomes the slate of its ``S`` highest scores, highest first, ties to the
    lower index, all rows in one sort. A NaN anywhere raises ``ValueError`` naming
    ``actions`` and the first row concerned.

    Example:
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> import recsim_bench
        >>> from recsim_bench.wrappers import ScoreToSlateVector
        >>> envs = ScoreToSlateVector(gym.make_vec("RecSimBench/InterestEvolution-v0", num_envs=2))
        >>> envs.action_space.shape
        (2, 10)
        >>> scores = np.arange(20, dtype=np.float32).reshape(2, 10) % 7
        >>> scores[1]
        array([3., 4., 5., 6., 0., 1., 2., 3., 4., 5.], dtype=float32)
        >>> envs.actions(scores)  # in row 1, the tie at 5 goes to candidate 2
        array([[6, 5],
               [3, 2]])

    Args:
        env: a vector env whose single action space is a :class:`~recsim_bench.SlateSpace`.
    """

    def __init__(self, env: VectorEnv) -> None:
        super().__init__(env)
        slates = _score_space(env.single_action_space)
        self.slate_size = slates.slate_size
        self.single_action_space = _scores_box(slates.num_candidates)
        self.action_space = stacked_box(self.single_action_space, env.num_envs)

    def actions(self, actions: Any) -> NDArray[np.int64]:
        """The slates of the ``slate_size`` highest scores of each row of ``actions``, shape ``(N, S)``."""
        return top_candidates(actions, self.action_space.shape, self.slate_size, "actions")
