"""Trials (RL^2): K sessions of one user form one Gymnasium episode, for one env or a vector env.

Duan et al. 2016 ("RL^2: Fast reinforcement learning via slow reinforcement
learning") train a recurrent agent over *trials*: several episodes of one task in
a row, the agent's memory kept across them, each observation extended with the
previous action, the previous reward and a flag marking the start of an episode.
Here a task is a user (:mod:`recsim_bench.tasks`), an inner episode is one of the
user's sessions, and a trial is ``episodes_per_trial`` sessions of the same user,
so an agent that adapts to a user within a trial is rewarded in the later sessions.

Trial tasks are keyed, like the rest of the suite: trial ``t`` after a reset with
seed ``s`` serves user :func:`recsim_bench.rng.user_indices` of the key of ``s``
(salted) and ``t``. Hence the same seed gives the same users, and row ``i`` of a
:class:`TrialVector` reset with seed ``s`` is a :class:`Trial` reset with seed
``s + i``, bit for bit, trial after trial.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorActionWrapper, VectorEnv, VectorObservationWrapper, VectorWrapper
from numpy.typing import NDArray

from recsim_bench import rng, tasks
from recsim_bench.checks import check_integer
from recsim_bench.envs.spaces import SlateSpace, stacked_dict_space
from recsim_bench.parts.response import BINARY_BEHAVIOURS
from recsim_bench.seeding import check_seed, draw_seed, row_seeds

#: The keys a trial adds to the observation.
TRIAL_KEYS = ("boundary", "episode_in_trial", "prev_reward", "prev_slate")

# Salt of the trial keys, so that trial users are not the inner env's own fresh users (same seed, other stream).
_TRIAL_SALT = np.uint64(0x2545F4914F6CDD1D)

# Wrappers that pass rewards through unchanged; any other between a trial and its env makes the reward unbounded.
_SINGLE_REWARD_KEEPING = (
    gym.ObservationWrapper,
    gym.ActionWrapper,
    gym.wrappers.PassiveEnvChecker,
    gym.wrappers.OrderEnforcing,
    gym.wrappers.TimeLimit,
    gym.wrappers.RecordEpisodeStatistics,
)
_VECTOR_REWARD_KEEPING = (VectorObservationWrapper, VectorActionWrapper)


def reward_bounds(env: gym.Env | VectorEnv) -> tuple[float, float]:
    """Bounds of one step's reward of ``env`` (a RecSimBench env, single or vector, possibly wrapped).

    Finite only when the reward is a weighted sum of behaviours that are 0 or 1 per slot
    (:data:`~recsim_bench.parts.response.BINARY_BEHAVIOURS`, e.g. ``reward="clicks"``):
    then it lies in ``[S * sum(min(w, 0)), S * sum(max(w, 0))]`` for slate size ``S``,
    summed in the reward's own order (rounding is monotone, so the bounds hold exactly).
    Amounts (watch time, engagement, revenue) have no bound, and neither has a reward
    seen through a wrapper that may change it: ``(-inf, inf)``.
    """
    keeping = _VECTOR_REWARD_KEEPING if isinstance(env, VectorEnv) else _SINGLE_REWARD_KEEPING
    while env is not env.unwrapped:
        if not isinstance(env, keeping):
            return -np.inf, np.inf
        env = env.env
    sim = getattr(env, "sim", None)
    if sim is None or any(behaviour not in BINARY_BEHAVIOURS for behaviour, _ in sim.reward.weights):
        return -np.inf, np.inf
    low = high = 0.0
    for _, weight in sim.reward.weights:
        low = low + min(weight, 0.0) * sim.slate_size
        high = high + max(weight, 0.0) * sim.slate_size
    return low, high


def _trial_space(
    inner: spaces.Space, slates: Any, episodes_per_trial: int, rewards: tuple[float, float]
) -> spaces.Dict:
    """The inner ``Dict`` observation space plus the :data:`TRIAL_KEYS` boxes."""
    if not isinstance(inner, spaces.Dict):
        raise TypeError(f"a trial needs a Dict observation space (apply flattening outside the trial), got {inner}")
    if not isinstance(slates, SlateSpace) or len(slates.shape) != 1:
        raise TypeError(
            f"a trial needs a SlateSpace action space (apply ScoreToSlate outside the trial), got {slates}"
        )
    clash = sorted(set(TRIAL_KEYS) & set(inner.spaces))
    if clash:
        raise ValueError(f"the observation already has the trial key(s) {clash}")
    k, s = episodes_per_trial, slates.slate_size

    def box(low: float, high: float, shape: tuple[int, ...]) -> spaces.Box:
        return spaces.Box(np.float32(low), np.float32(high), shape, np.float32)

    return spaces.Dict(
        {
            **inner.spaces,
            "boundary": box(0.0, 1.0, (1,)),
            "episode_in_trial": box(0.0, (k - 1) / k, (1,)),
            "prev_reward": box(*rewards, (1,)),
            "prev_slate": box(-1.0, slates.num_candidates - 1, (s,)),
        }
    )


def _trial_keys(seeds: list[int]) -> NDArray[np.uint64]:
    """The trial keys of rows seeded ``seeds`` (already checked)."""
    return rng.row_keys(seeds) ^ _TRIAL_SALT


def _trial_users(keys: NDArray[np.uint64], trial: NDArray[np.int64]) -> NDArray[np.int64]:
    """The user served in trial ``trial[i]`` of the row keyed ``keys[i]``."""
    return rng.user_indices(keys, trial)


class Trial(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """``episodes_per_trial`` (K) sessions of one user as one Gymnasium episode, RL^2 style.

    ``reset`` starts a trial: its user is ``options["task"]`` if given, else user
    number ``t`` of the wrapper's keyed stream for ``split``, where ``t`` counts the
    trials since the last reset with a seed (so the same seed gives the same users;
    see the module docstring). When a session ends (terminated or truncated) before
    the K-th, the end is hidden: the wrapper resets the inner env with the same user
    and returns the new session's first observation, with that step's reward and
    ``boundary = 1``. When the K-th session ends, the trial ends with the inner flags:

    - ``terminated`` if the user left in the K-th session: nothing follows within the
      trial, so a value of 0 after it is exact;
    - ``truncated`` if the K-th session reached ``max_steps``: the session was cut by a
      time limit, exactly as the inner env reports it, so agents that bootstrap on
      truncation (Stable-Baselines3, our PPO) still do. (The ends of the first K-1
      sessions are not episode ends of the trial at all: the user and the agent's memory
      carry on, which is the point of RL^2.)

    The observation is the inner ``Dict`` plus, as float32 boxes:

    - ``prev_slate`` (S,): the previous step's slate, in ``[-1, num_candidates - 1]``;
      ``-1`` everywhere on a trial's first observation, before any slate;
    - ``prev_reward`` (1,): the previous step's reward, ``0`` on a trial's first observation;
      bounds from :func:`reward_bounds` (``(-inf, inf)`` when the reward has none);
    - ``boundary`` (1,): ``1`` on the first observation of every session, else ``0``;
    - ``episode_in_trial`` (1,): ``k / K`` during session ``k = 0, ..., K - 1``.

    At a hidden session end, ``prev_slate`` and ``prev_reward`` are the last step of the
    session that ended (as in RL^2, where the reward crosses the episode boundary).
    ``info`` is the inner step's info (behaviours, ``task``) plus ``episode_returns``
    (K,) float64, the return of each session of the trial so far (0 for those not yet
    begun), and ``inner_terminated`` / ``inner_truncated``, the inner flags of the step.

    Apply :class:`~recsim_bench.wrappers.ScoreToSlate` or flattening *outside* a trial:
    it needs slates and a ``Dict`` observation.

    Example:
        >>> import gymnasium as gym
        >>> import recsim_bench
        >>> from recsim_bench.wrappers import Trial
        >>> env = Trial(gym.make("RecSimBench/InterestExploration-v0", max_steps=2), episodes_per_trial=3)
        >>> obs, info = env.reset(seed=0)
        >>> obs["boundary"], obs["prev_slate"], obs["prev_reward"]
        (array([1.], dtype=float32), array([-1., -1.], dtype=float32), array([0.], dtype=float32))
        >>> ends = [env.step(env.action_space.sample())[2:4] for _ in range(6)]  # 3 sessions of 2 steps
        >>> ends[-1], any(map(any, ends[:-1]))
        ((False, True), False)

    Args:
        env: a RecSimBench env (possibly wrapped) with a ``Dict`` observation and slate actions.
        episodes_per_trial: K, the sessions of one user in a trial.
        split: the users of trials reset without a task: ``"train"`` (default) or ``"test"``.
    """

    def __init__(self, env: gym.Env, episodes_per_trial: int, split: str = "train") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, episodes_per_trial=episodes_per_trial, split=split)
        gym.Wrapper.__init__(self, env)
        self.episodes_per_trial = check_integer(episodes_per_trial, "episodes_per_trial", 1)
        tasks.split_code(split)
        self.split = split
        self.observation_space = _trial_space(
            env.observation_space, env.action_space, self.episodes_per_trial, reward_bounds(env)
        )
        self._slate_size = env.action_space.slate_size
        self._key: NDArray[np.uint64] | None = None  # the trial key, shape (1,)
        self._trial = 0
        self._task: tasks.Task | None = None
        self._session = 0
        self._returns = np.zeros(self.episodes_per_trial)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start a trial (see the class docstring for its user)."""
        task = tasks.task_from_options(options)  # the seed and the task are checked before anything changes
        if seed is not None:
            seed = check_seed(seed)
        if task is not None:
            tasks.check_task(task)
        if seed is not None:
            self._key, self._trial = _trial_keys([seed]), 0
        elif self._key is None:
            self._key, self._trial = _trial_keys([draw_seed(self.np_random)]), 0
        else:
            self._trial += 1
        if task is None:
            task = tasks.make_task(self.split, int(_trial_users(self._key, np.array([self._trial]))[0]))
        obs, info = self.env.reset(seed=seed, options={"task": task})
        self._task = info["task"]
        self._session = 0
        self._returns = np.zeros(self.episodes_per_trial)
        slate = np.full(self._slate_size, -1.0, dtype=np.float32)
        return self._observation(obs, slate, 0.0, True), {**info, "episode_returns": self._returns.copy()}

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        slate = np.asarray(action, dtype=np.float32).copy()  # valid: the inner env accepted it
        self._returns[self._session] += reward
        info = {
            **info,
            "episode_returns": self._returns.copy(),
            "inner_terminated": terminated,
            "inner_truncated": truncated,
        }
        if not (terminated or truncated):
            return self._observation(obs, slate, reward, False), reward, False, False, info
        if self._session == self.episodes_per_trial - 1:
            return self._observation(obs, slate, reward, False), reward, terminated, truncated, info
        self._session += 1
        obs, _ = self.env.reset(options={"task": self._task})
        return self._observation(obs, slate, reward, True), reward, False, False, info

    def _observation(self, obs: dict[str, NDArray], slate: NDArray[np.float32], reward: float, boundary: bool):
        return {
            **obs,
            "boundary": np.array([boundary], dtype=np.float32),
            "episode_in_trial": np.array([self._session / self.episodes_per_trial], dtype=np.float32),
            "prev_reward": np.array([reward], dtype=np.float32),
            "prev_slate": slate,
        }


class TrialVector(VectorWrapper):
    """:class:`Trial` for every row of a vector env in ``AutoresetMode.SAME_STEP``.

    Each row runs its own trials: per-row session counters hide the ends of the first
    K-1 sessions (the vector env resets the row at once with the same user), and
    ``terminated`` / ``truncated`` are reported only where a trial ends, with the K-th
    session's inner flag as in :class:`Trial`. As a row enters its K-th session the
    wrapper already sets the row's next task (``set_task(task, rows=[i])``), so the
    same-step autoreset at the end of that session starts the next trial with the new
    user. Where a trial ends, ``infos["final_obs"]`` holds its last observation (with the
    trial keys), valid where ``infos["_final_obs"]``; session ends inside a trial are
    not episode ends and have no ``final_obs``.

    Row ``i`` reset with seed ``s`` (or ``seed[i]`` from a list) is :class:`Trial` reset
    with seed ``s + i``: the same users, sessions, observations and rewards, trial after
    trial. ``reset(options={"task": ...})`` takes one task for every row or a list of one
    per row (``None`` for the row's keyed user) for the first trial. ``infos`` adds
    ``episode_returns`` (N, K), the returns of each row's sessions in its trial so far
    (where a trial ended at this step: the finished trial's), and ``inner_terminated`` /
    ``inner_truncated``. As with any same-step autoreset, where a trial ended the inner
    ``infos["task"]`` already names the next trial's user.

    Args:
        env: a RecSimBench vector env created with ``autoreset_mode="same_step"``.
        episodes_per_trial: K, the sessions of one user in a trial.
        split: the users of trials: ``"train"`` (default) or ``"test"``.
    """

    def __init__(self, env: VectorEnv, episodes_per_trial: int, split: str = "train") -> None:
        super().__init__(env)
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError(
                "TrialVector needs a vector env with autoreset_mode='same_step' (so that a trial's next user "
                f"starts in the step its last session ends), got {env.metadata.get('autoreset_mode')}"
            )
        self.episodes_per_trial = check_integer(episodes_per_trial, "episodes_per_trial", 1)
        self._split_code = tasks.split_code(split)
        self.split = split
        self.single_observation_space = _trial_space(
            env.single_observation_space, env.single_action_space, self.episodes_per_trial, reward_bounds(env)
        )
        self.observation_space = stacked_dict_space(self.single_observation_space, self.num_envs)
        self._slate_size = env.single_action_space.slate_size
        n = self.num_envs
        self._keys: NDArray[np.uint64] | None = None
        self._trial = np.zeros(n, dtype=np.int64)
        self._session = np.zeros(n, dtype=np.int64)
        self._returns = np.zeros((n, self.episodes_per_trial))

    def _set_tasks(self, rows: NDArray[np.int64], trial: NDArray[np.int64]) -> None:
        """Set the task of trial ``trial`` for ``rows`` (effective at their next reset)."""
        users = _trial_users(self._keys[rows], trial)
        self.env.unwrapped.set_task([{"split": self.split, "user": int(user)} for user in users], rows=rows)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """Start a trial in every row (see the class docstring for the users)."""
        task = tasks.task_from_options(options)
        n = self.num_envs
        seeds = row_seeds(seed, n)  # the seeds and the tasks are checked before anything changes
        split, user = tasks.task_rows(task, n, self._split_code)
        if seeds is not None:
            self._keys, self._trial = _trial_keys(seeds), np.zeros(n, dtype=np.int64)
        elif self._keys is None:
            self._keys, self._trial = _trial_keys(row_seeds(draw_seed(self.np_random), n)), np.zeros(n, dtype=np.int64)
        else:
            self._trial += 1
        user = np.where(user < 0, _trial_users(self._keys, self._trial), user)
        first = [{"split": rng.SPLITS[s], "user": int(u)} for s, u in zip(split, user)]
        obs, infos = self.env.reset(seed=seed, options={"task": first})
        self._session[:] = 0
        self._returns[:] = 0.0
        if self.episodes_per_trial == 1:
            self._set_tasks(np.arange(n), self._trial + 1)
        slates = np.full((n, self._slate_size), -1.0, dtype=np.float32)
        obs = self._observation(obs, slates, np.zeros(n), np.ones(n, dtype=bool))
        return obs, {**infos, "episode_returns": self._returns.copy(), "_episode_returns": np.ones(n, dtype=bool)}

    def step(self, actions: Any):
        obs, reward, terminated, truncated, infos = self.env.step(actions)
        slates = np.asarray(actions, dtype=np.float32)  # valid: the inner env accepted them
        n, k_last = self.num_envs, self.episodes_per_trial - 1
        done = terminated | truncated
        self._returns[np.arange(n), self._session] += reward
        trial_end = done & (self._session == k_last)
        inner_final = infos.get("final_obs")
        infos = {key: value for key, value in infos.items() if key not in ("final_obs", "_final_obs")}
        infos.update(
            episode_returns=self._returns.copy(),
            _episode_returns=np.ones(n, dtype=bool),
            inner_terminated=terminated.copy(),
            _inner_terminated=np.ones(n, dtype=bool),
            inner_truncated=truncated.copy(),
            _inner_truncated=np.ones(n, dtype=bool),
        )
        if trial_end.any():  # the trials' last observations; session ends inside a trial are no episode ends
            infos["final_obs"] = self._observation(inner_final, slates, reward, np.zeros(n, dtype=bool))
            infos["_final_obs"] = trial_end
        next_session = done & ~trial_end
        self._session[next_session] += 1
        self._session[trial_end] = 0
        self._trial[trial_end] += 1
        self._returns[trial_end] = 0.0
        entering_last = (next_session & (self._session == k_last)) | (trial_end & (k_last == 0))
        if entering_last.any():
            rows = np.flatnonzero(entering_last)
            self._set_tasks(rows, self._trial[rows] + 1)
        slates = np.where(trial_end[:, None], np.float32(-1.0), slates)
        obs = self._observation(obs, slates, np.where(trial_end, 0.0, reward), done)
        return obs, reward, terminated & trial_end, truncated & trial_end, infos

    def _observation(
        self, obs: dict[str, NDArray], slates: NDArray, reward: NDArray[np.float64], boundary: NDArray[np.bool_]
    ) -> dict[str, NDArray]:
        return {
            **obs,
            "boundary": boundary.astype(np.float32)[:, None],
            "episode_in_trial": (self._session / self.episodes_per_trial).astype(np.float32)[:, None],
            "prev_reward": reward.astype(np.float32)[:, None],
            "prev_slate": np.array(slates, dtype=np.float32),
        }


def make_trial_vector(
    env_id: str, num_envs: int, episodes_per_trial: int, split: str = "train", **env_kwargs: Any
) -> TrialVector:
    """``TrialVector(gym.make_vec(env_id, num_envs, autoreset_mode="same_step", **env_kwargs), K, split)``."""
    env = gym.make_vec(env_id, num_envs=num_envs, autoreset_mode="same_step", **env_kwargs)
    return TrialVector(env, episodes_per_trial, split)
