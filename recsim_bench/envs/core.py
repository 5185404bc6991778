"""The Gymnasium shells: :class:`RecEnv` (one user) and :class:`RecVectorEnv` (N users) over one simulator.

Both hold a :class:`~recsim_bench.simulator.SimState` and delegate all
dynamics to :class:`~recsim_bench.simulator.Simulator`; a single env is the
simulator with one row. Row ``i`` of a vector env reset with seed ``s`` is the
single env reset with seed ``s + i``, bit for bit, across episode boundaries.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from recsim_bench import rng, tasks
from recsim_bench.checks import check_integer, is_integer
from recsim_bench.envs.spaces import SlateSpace, stacked_dict_space
from recsim_bench.parts import build_part, build_reward
from recsim_bench.seeding import check_seed, draw_seed, row_seeds
from recsim_bench.simulator import SimState, Simulator, StepDraws, StepResult, concatenate_states

ENV_ARGUMENTS = (
    "item_model",
    "user_model",
    "choice_model",
    "response_model",
    "reward",
    "num_candidates",
    "slate_size",
    "max_steps",
)


def build_simulator(
    defaults: dict[str, Any],
    kwargs: dict[str, Any],
    shell_arguments: tuple[str, ...],
    rows: int = 1,
    memory_limit: int | None = None,
) -> Simulator:
    """A simulator from an environment's defaults overridden by ``gym.make`` kwargs.

    ``shell_arguments`` are the env class's own arguments, named in the error for an unknown one;
    ``rows`` and ``memory_limit`` are the :class:`~recsim_bench.simulator.Simulator`'s.
    """
    unknown = sorted(set(kwargs) - set(ENV_ARGUMENTS))
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown}; allowed: {[*shell_arguments, *ENV_ARGUMENTS]}")
    config = {**defaults, **kwargs}
    response_model = build_part("response_model", config["response_model"])
    user_model = build_part("user_model", config["user_model"])
    return Simulator(
        item_model=build_part("item_model", config["item_model"]),
        user_model=user_model,
        choice_model=build_part("choice_model", config["choice_model"]),
        response_model=response_model,
        reward=build_reward(config["reward"], response_model.behaviours + user_model.step_behaviours),
        num_candidates=config["num_candidates"],
        slate_size=config["slate_size"],
        max_steps=config["max_steps"],
        rows=rows,
        memory_limit=memory_limit,
    )


#: Steps of randomness a single env draws at once.
LOOKAHEAD = 32


class TaskSampling:
    """Meta-RL's task sampler, the same in both shells: draws from the shell's ``np_random`` unless given a seed."""

    np_random: np.random.Generator

    def sample_tasks(self, n: int, split: str = "train", seed: int | None = None) -> list[tasks.Task]:
        """``n`` distinct users of ``split`` as task records, from ``seed`` (or the env's ``np_random``)."""
        generator = self.np_random if seed is None else np.random.default_rng(check_seed(seed))
        return tasks.sample_tasks(n, split, generator)


class RecEnv(TaskSampling, gym.Env):
    """One user at a time over the batched simulator (see the registered subclasses for the cards).

    Args:
        split: the users of episodes reset without a task: ``"train"`` (default) or ``"test"``.
        memory_limit: bytes above which a configuration's estimated memory is refused at once, with the
            estimate in the message (``None``: the machine's available memory; see :class:`Simulator`).
        **kwargs: the environment's parts and sizes.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, split: str = "train", memory_limit: int | None = None, **kwargs: Any) -> None:
        self._split = tasks.split_code(split)
        self.sim = build_simulator(self.defaults, kwargs, ("split", "memory_limit"), rows=LOOKAHEAD, memory_limit=memory_limit)
        self.observation_space = self.sim.observation_space
        self.action_space = SlateSpace(self.sim.num_candidates, self.sim.slate_size)
        self._task: tuple[int, int] | None = None  # (split code, user index) of a set task
        self._key: NDArray[np.uint64] | None = None
        self._episode = 0
        self._state: SimState | None = None
        self._lookahead: tuple[int, StepDraws] | None = None  # (first step, draws of LOOKAHEAD steps)
        self._episode_over = False

    @property
    def state(self) -> SimState:
        """The simulator state (one row); privileged, for references and tests. Assign to set it."""
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before using the environment")
        return self._state

    @state.setter
    def state(self, state: SimState) -> None:
        if len(state) != 1:
            raise ValueError(f"state must have 1 row, got {len(state)}")
        self._state, self._key, self._episode = state, state.key, int(state.episode[0])
        self._lookahead, self._episode_over = None, False

    def set_task(self, task: tasks.Task | None) -> None:
        """Serve ``task``'s user from the next reset on; ``None`` returns to a fresh user per episode."""
        self._task = None if task is None else tasks.check_task(task)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; ``options={"task": task}`` is :meth:`set_task` then reset."""
        seed = None if seed is None else check_seed(seed)  # checked before anything changes, as is the task
        if options is not None:
            self.set_task(tasks.task_from_options(options))
        super().reset(seed=seed)
        if seed is not None:
            self._key, self._episode = rng.row_keys([seed]), 0
        elif self._key is None:
            self._key, self._episode = rng.row_keys([draw_seed(self.np_random)]), 0
        else:
            self._episode += 1
        split, user = self._task or (self._split, -1)
        self._state = self.sim.reset(self._key, np.array([self._episode]), np.array([split]), np.array([user]))
        self._lookahead = None
        self._episode_over = False
        return self._observation(), {"task": self._task_record()}

    def _task_record(self) -> tasks.Task:
        return {"split": rng.SPLITS[int(self.state.split[0])], "user": int(self.state.user_id[0])}

    def _draws(self) -> StepDraws:
        """This step's randomness, drawn :data:`LOOKAHEAD` steps at a time (numpy's per-call cost dominates one row)."""
        step = int(self.state.step[0])
        if self._lookahead is None or not 0 <= step - self._lookahead[0] < LOOKAHEAD:
            steps = np.arange(step, step + LOOKAHEAD, dtype=np.int64)
            episode = np.full(LOOKAHEAD, self._episode, dtype=np.int64)
            self._lookahead = (step, self.sim.draws(np.repeat(self._key, LOOKAHEAD), episode, steps))
        offset = step - self._lookahead[0]
        return self._lookahead[1].rows(offset, offset + 1)

    def step(self, action: Any):
        if self._episode_over:
            raise gym.error.ResetNeeded("the episode has ended (terminated or truncated): call reset() before step()")
        slate = self.sim.validate_slates(action, num_rows=None)
        self._state, result = self.sim.step(self.state, slate, self._draws())
        self._episode_over = bool(result.terminated[0] or result.truncated[0])
        info = {name: values[0] for name, values in result.behaviours.items()}
        info["task"] = self._task_record()
        return (
            self._observation(),
            float(result.reward[0]),
            bool(result.terminated[0]),
            bool(result.truncated[0]),
            info,
        )

    def _observation(self) -> dict[str, NDArray[np.float32]]:
        return {name: values[0] for name, values in self.sim.observe(self.state).items()}

    def expected_rewards(self, prior: bool = False) -> NDArray[np.float64]:
        """Privileged: expected immediate reward of each candidate, ``(K,)`` (see :meth:`Simulator.expected_rewards`)."""
        return self.sim.expected_rewards(self.state, prior=prior)[0]


#: Fewest rows a thread steps when a vector env chooses its own thread count (numpy's per-call cost dominates below).
MIN_ROWS_PER_THREAD = 1024


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _thread_count(num_threads: Any, num_envs: int) -> int:
    if num_threads is None:
        return max(1, min(_available_cores(), num_envs // MIN_ROWS_PER_THREAD))
    if not (is_integer(num_threads) and num_threads >= 1):
        raise ValueError(f"num_threads must be an integer >= 1 or None (automatic), got {num_threads!r}")
    return int(min(num_threads, num_envs))


def _autoreset_mode(mode: Any) -> AutoresetMode:
    """``AutoresetMode.NEXT_STEP`` / ``SAME_STEP``, from the member, its value (``"SameStep"``) or its name (``"same_step"``)."""
    for allowed in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        if mode is allowed or mode in (allowed.value, allowed.name.lower()):
            return allowed
    raise ValueError(
        f"autoreset_mode must be one of ['next_step', 'same_step'] (or the AutoresetMode members), got {mode!r}"
    )


class RecVectorEnv(TaskSampling, VectorEnv):
    """N users stepped together by the batched simulator.

    Args:
        num_envs: N, the number of users (rows).
        autoreset_mode: ``"next_step"`` (default; a finished row resets on the next ``step``, whose
            action for it is ignored) or ``"same_step"`` (a finished row resets at once: ``step``
            returns its new episode's first observation, and its last one in ``infos["final_obs"]``,
            a dict of ``(N, ...)`` arrays valid where ``infos["_final_obs"]`` is True).
        split: the users of rows reset without a task: ``"train"`` (default) or ``"test"``.
        num_threads: threads that step disjoint blocks of rows (numpy releases the GIL); ``None``
            uses every available core, with at least :data:`MIN_ROWS_PER_THREAD` rows each. Rows
            never interact, so the numbers do not depend on it.
        memory_limit: bytes above which a configuration's estimated memory (``num_envs`` rows) is refused
            at once, with the estimate in the message (``None``: the machine's available memory).
        **kwargs: the environment's parts and sizes (see the single env's card).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        num_envs: int = 1,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        split: str = "train",
        num_threads: int | None = None,
        memory_limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        num_envs = check_integer(num_envs, "num_envs", 1)
        mode = _autoreset_mode(autoreset_mode)
        default_split = tasks.split_code(split)
        threads = _thread_count(num_threads, num_envs)
        self.sim = build_simulator(
            self.defaults, kwargs, ("num_envs", "autoreset_mode", "split", "num_threads", "memory_limit"),
            rows=num_envs, memory_limit=memory_limit,
        )
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.num_envs = num_envs
        self.single_observation_space = self.sim.observation_space
        self.single_action_space = SlateSpace(self.sim.num_candidates, self.sim.slate_size)
        self.observation_space = stacked_dict_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        bounds = np.linspace(0, self.num_envs, threads + 1).astype(int)
        self._blocks = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="RecVectorEnv") if threads > 1 else None
        self._states: list[SimState] | None = None  # one per block of rows
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._split = default_split
        # Each row's task: split code and user index, -1 for a fresh user every episode.
        self._task_split, self._task_user = tasks.task_rows(None, self.num_envs, default_split)

    @property
    def state(self) -> SimState:
        """The simulator state (N rows); privileged, for references and tests. Assign to set it."""
        if self._states is None:
            raise gym.error.ResetNeeded("call reset() before using the environment")
        return concatenate_states(self._states)

    @state.setter
    def state(self, state: SimState) -> None:
        if len(state) != self.num_envs:
            raise ValueError(f"state must have {self.num_envs} rows (num_envs), got {len(state)}")
        self._states = [state.rows(block) for block in self._blocks]

    def _map(self, function: Callable[[int], Any]) -> list[Any]:
        """``function(b)`` for every block ``b``, on the thread pool when there is one."""
        if self._pool is None:
            return [function(b) for b in range(len(self._blocks))]
        return list(self._pool.map(function, range(len(self._blocks))))

    def set_task(
        self, task: tasks.Task | list[tasks.Task | None] | None, rows: NDArray[np.integer] | None = None
    ) -> None:
        """Tasks of the rows from their next reset (or autoreset) on: one for every row, a list of one
        per row (``None`` for a fresh user per episode), or ``None`` for fresh users everywhere.
        With ``rows`` (integer indices in ``[-N, N)``, or a boolean mask of the N rows), only those
        rows change and a list gives one task per listed row.
        A row keeps its task across autoresets: the same user starts a new session."""
        if rows is None:
            self._task_split, self._task_user = tasks.task_rows(task, self.num_envs, self._split)
            return
        rows = _row_indices(rows, self.num_envs)
        split, user = tasks.task_rows(task, len(rows), self._split)
        self._task_split[rows], self._task_user[rows] = split, user

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """Start an episode in every row; ``options={"task": ...}`` is :meth:`set_task` then reset."""
        seeds = row_seeds(seed, self.num_envs)  # checked before anything changes, as is the task
        if options is not None:
            self.set_task(tasks.task_from_options(options))
        super().reset(seed=None if seeds is None else seeds[0])
        if seeds is not None:
            key, episode = rng.row_keys(seeds), np.zeros(self.num_envs, dtype=np.int64)
        elif self._states is None:
            key = rng.row_keys(row_seeds(draw_seed(self.np_random), self.num_envs))
            episode = np.zeros(self.num_envs, dtype=np.int64)
        else:
            key = np.concatenate([state.key for state in self._states])
            episode = np.concatenate([state.episode for state in self._states]) + 1
        observation = self.sim.empty_observation(self.num_envs)

        def reset_block(b: int) -> SimState:
            rows = self._blocks[b]
            state = self.sim.reset(key[rows], episode[rows], self._task_split[rows], self._task_user[rows])
            self.sim.observe(state, out={name: values[rows] for name, values in observation.items()})
            return state

        self._states = self._map(reset_block)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        return observation, self._task_info()

    def _task_info(self) -> dict[str, Any]:
        split = np.concatenate([state.split for state in self._states])
        user = np.concatenate([state.user_id for state in self._states])
        return {"task": tasks.task_records(split, user), "_task": np.ones(self.num_envs, dtype=bool)}

    def step(self, actions: Any):
        slates = self.sim.validate_slates(actions, num_rows=self.num_envs)
        if self._states is None:
            raise gym.error.ResetNeeded("call reset() before using the environment")
        same_step = self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        observation = self.sim.empty_observation(self.num_envs)
        final_observation = self.sim.empty_observation(self.num_envs) if same_step else None
        final = np.zeros(self.num_envs, dtype=bool)

        def step_block(b: int) -> tuple[SimState, StepResult, NDArray[np.bool_]]:
            rows = self._blocks[b]
            previous = self._states[b]
            state, result = self.sim.step(previous, slates[rows])
            if same_step:
                live = np.ones(len(previous), dtype=bool)
                done = result.terminated | result.truncated
                if done.any():
                    final[rows] = done
                    for name, values in self.sim.observe(state.rows(done)).items():
                        final_observation[name][rows][done] = values
                    state = self._reset_rows(previous, state, done, rows)
            else:
                live = ~self._autoreset[rows]
                if not live.all():
                    state = self._reset_rows(previous, state, ~live, rows)
                    result = _mask_finished_rows(result, live)
            self.sim.observe(state, out={name: values[rows] for name, values in observation.items()})
            return state, result, live

        blocks = self._map(step_block)
        self._states = [state for state, _, _ in blocks]
        results = [result for _, result, _ in blocks]
        live = np.concatenate([block_live for _, _, block_live in blocks])
        reward = np.concatenate([result.reward for result in results])
        terminated = np.concatenate([result.terminated for result in results])
        truncated = np.concatenate([result.truncated for result in results])
        self._autoreset = (terminated | truncated) & (not same_step)
        infos = self._task_info()
        for name in results[0].behaviours:
            infos[name] = np.concatenate([result.behaviours[name] for result in results])
            infos[f"_{name}"] = live.copy()
        if same_step and final.any():
            infos["final_obs"], infos["_final_obs"] = final_observation, final
        return observation, reward, terminated, truncated, infos

    def _reset_rows(self, previous: SimState, stepped: SimState, rows: NDArray[np.bool_], block: slice) -> SimState:
        """``stepped`` (the rows ``block`` of the env) with the masked rows starting their next episode.

        Arrays that the step made are written in place; arrays it passed through
        unchanged from ``previous`` are copied first, so ``previous`` stays intact.
        """
        fresh = self.sim.reset(
            stepped.key[rows], stepped.episode[rows] + 1, self._task_split[block][rows], self._task_user[block][rows]
        )
        kept = {id(values) for values in (previous.episode, previous.split, previous.user_id, previous.step, previous.response)}
        kept.update(id(values) for values in previous.user.values())
        kept.update(id(values) for values in previous.items.values())

        def merge(stepped_values: NDArray, fresh_values: NDArray) -> NDArray:
            out = stepped_values.copy() if id(stepped_values) in kept else stepped_values
            out[rows] = fresh_values
            return out

        return SimState(
            key=stepped.key,
            episode=merge(stepped.episode, fresh.episode),
            split=merge(stepped.split, fresh.split),
            user_id=merge(stepped.user_id, fresh.user_id),
            step=merge(stepped.step, fresh.step),
            user={name: merge(values, fresh.user[name]) for name, values in stepped.user.items()},
            items={name: merge(values, fresh.items[name]) for name, values in stepped.items.items()},
            response=merge(stepped.response, fresh.response),
        )

    def expected_rewards(self, prior: bool = False) -> NDArray[np.float64]:
        """Privileged: expected immediate reward of each candidate, ``(N, K)``."""
        if self._states is None:
            raise gym.error.ResetNeeded("call reset() before using the environment")
        return np.concatenate(self._map(lambda b: self.sim.expected_rewards(self._states[b], prior=prior)))

    def close_extras(self, **kwargs: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _row_indices(rows: Any, num_rows: int) -> NDArray[np.int64]:
    """``rows`` as int64 indices: integers in ``[-num_rows, num_rows)`` or a boolean mask of ``num_rows`` entries."""
    array = np.asarray(rows)
    if array.dtype == bool:
        if array.shape != (num_rows,):
            raise ValueError(f"rows: a boolean mask must have shape ({num_rows},), got {array.shape}")
        return np.flatnonzero(array)
    mixed = isinstance(rows, (list, tuple)) and any(isinstance(row, (bool, np.bool_)) for row in rows)  # [True, 1] -> [1, 1]
    if mixed or array.ndim > 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"rows must be a list of integer row indices or a boolean mask of {num_rows} rows, got {rows!r}")
    if array.size and (array.min() < -num_rows or array.max() >= num_rows):
        raise ValueError(f"rows must be row indices in [-{num_rows}, {num_rows - 1}], got {array.tolist()}")
    return array.astype(np.int64).ravel()


def _mask_finished_rows(result: StepResult, live: NDArray[np.bool_]) -> StepResult:
    """``result`` with the rows that only reset (``~live``) reporting nothing."""
    return dataclasses.replace(
        result,
        reward=np.where(live, result.reward, 0.0),
        terminated=result.terminated & live,
        truncated=result.truncated & live,
        behaviours={name: np.where(live[:, None], values, 0.0) for name, values in result.behaviours.items()},
    )
