"""Tasks: which user an episode serves, as small JSON records.

A task is ``{"split": "train" | "test", "user": i}``: user ``i`` of a split of
the environment's user population. The user's hidden state is drawn from a
random stream keyed by the split and the index (:func:`recsim_bench.rng.task_keys`),
so a task gives the same user in every episode, in the single and the vector
env, on any machine; the two splits never share a user. Populations with
segments (ColdStart) also keep disjoint segments per split. A meta-RL agent
trains on ``train`` users and is scored on ``test`` users.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsim_bench.checks import check_integer
from recsim_bench.rng import MAX_USERS, SPLITS

Task = dict[str, Any]


def split_code(split: Any, argument: str = "split") -> int:
    """The code of a split name (its index in :data:`~recsim_bench.rng.SPLITS`)."""
    if isinstance(split, str) and split in SPLITS:
        return SPLITS.index(split)
    raise ValueError(f"{argument} must be one of {list(SPLITS)}, got {split!r}")


def check_task(task: Any, argument: str = "task") -> tuple[int, int]:
    """``(split code, user index)`` of a task record; a malformed one raises ``ValueError`` naming ``argument``."""
    if not isinstance(task, dict) or set(task) != {"split", "user"}:
        raise ValueError(f'{argument} must be a dict {{"split": {list(SPLITS)}, "user": int}}, got {task!r}')
    user = check_integer(task["user"], f"{argument}['user']", 0, MAX_USERS)
    return split_code(task["split"], f"{argument}['split']"), user


def make_task(split: str, user: int) -> Task:
    """The task record of user ``user`` of ``split`` (checked)."""
    task = {"split": split, "user": int(user)}
    check_task(task)
    return task


def task_id(task: Task) -> str:
    """A task's short name, ``"split/user"``."""
    return f"{task['split']}/{task['user']}"


def sample_tasks(n: int, split: str, generator: np.random.Generator) -> list[Task]:
    """``n`` distinct users of ``split``, drawn uniformly from the split's 2**62 users with ``generator``."""
    n = check_integer(n, "n", 1)
    split_code(split)
    users = generator.integers(0, MAX_USERS, size=n)
    while len(np.unique(users)) < len(users):  # a repeat among 2**62 users: practically never
        users = generator.integers(0, MAX_USERS, size=n)
    return [{"split": split, "user": int(user)} for user in users]


def task_from_options(options: dict[str, Any] | None) -> Any:
    """The task in a reset's ``options`` (``None`` when absent); any key but ``"task"`` is refused.

    The task itself is not checked here: a single env takes one task, a vector env one or a list.
    """
    if options is None:
        return None
    if not isinstance(options, dict):
        raise ValueError(f"reset options must be a dict with the key 'task', or None; got {options!r}")
    unknown = sorted(set(options) - {"task"})
    if unknown:
        raise ValueError(f"reset options: unknown key(s) {unknown}; allowed: ['task']")
    return options.get("task")


def task_rows(tasks: Any, num_rows: int, default_split: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per-row ``(split codes, user indices)`` from ``None`` (fresh users of ``default_split``),
    one task for every row, or a list of ``num_rows`` tasks or ``None``s; user ``-1`` means a fresh user."""
    split = np.full(num_rows, default_split, dtype=np.int64)
    user = np.full(num_rows, -1, dtype=np.int64)
    if tasks is None:
        return split, user
    if isinstance(tasks, dict):
        split[:], user[:] = check_task(tasks)
        return split, user
    if not isinstance(tasks, (list, tuple)) or len(tasks) != num_rows:
        raise ValueError(f"task must be None, one task dict, or a list of {num_rows} tasks (or None), got {tasks!r}")
    for row, task in enumerate(tasks):
        if task is not None:
            split[row], user[row] = check_task(task, f"task[{row}]")
    return split, user


def task_records(split: NDArray[np.int64], user: NDArray[np.int64]) -> dict[str, NDArray]:
    """The tasks of rows as a dict of arrays, ``{"split": names, "user": indices}``, for vector infos."""
    return {"split": np.asarray(SPLITS)[split], "user": user.copy()}
