"""Tasks: a task fixes the user of an episode, in the single and the vector env, across episodes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench import rng
from recsim_bench.tasks import check_task, make_task, task_id, task_rows

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("RecSimBench/"))


def _user(env: gym.Env) -> dict[str, np.ndarray]:
    return {name: values.copy() for name, values in env.unwrapped.state.user.items()}


def _same_user(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[name], b[name]) for name in a)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_task_serves_the_same_user_every_episode(env_id: str) -> None:
    env = gym.make(env_id)
    task = env.unwrapped.sample_tasks(1, split="test", seed=4)[0]
    _, info = env.reset(seed=0, options={"task": task})
    assert info["task"] == task
    first_user, first_candidates = _user(env), env.unwrapped.state.items
    env.reset()  # the task persists: same user, new session (other candidates)
    assert _same_user(first_user, _user(env))
    assert not all(np.array_equal(first_candidates[name], env.unwrapped.state.items[name]) for name in first_candidates)
    assert env.step(env.action_space.sample())[4]["task"] == task
    env.unwrapped.set_task(None)  # back to a fresh user each episode
    _, info = env.reset()
    assert info["task"]["split"] == "train" and info["task"]["user"] != task["user"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_same_index_in_train_and_test_is_two_different_users(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0, options={"task": make_task("train", 7)})
    train_user = _user(env)
    env.reset(seed=0, options={"task": make_task("test", 7)})
    assert not _same_user(train_user, _user(env))


def test_without_a_task_each_episode_draws_a_fresh_user_of_the_env_split() -> None:
    env = gym.make(ENV_IDS[0], split="test")
    _, info = env.reset(seed=3)
    key = rng.row_keys([3])
    assert info["task"] == {"split": "test", "user": int(rng.user_indices(key, np.array([0]))[0])}
    _, info2 = env.reset()
    assert info2["task"]["user"] == int(rng.user_indices(key, np.array([1]))[0])


def _row(user: dict[str, np.ndarray], row: int) -> dict[str, np.ndarray]:
    return {name: values[row] for name, values in user.items()}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_rows_hold_their_own_tasks_across_autoresets(env_id: str) -> None:
    """Row i with task t is the single env with task t; rows keep their task when they autoreset."""
    venv = gym.make_vec(env_id, num_envs=3, max_steps=2)
    tasks = venv.unwrapped.sample_tasks(2, split="train", seed=0)
    _, info = venv.reset(seed=10, options={"task": [tasks[0], None, tasks[1]]})
    assert list(info["task"]["split"]) == ["train"] * 3
    assert info["task"]["user"][0] == tasks[0]["user"] and info["task"]["user"][2] == tasks[1]["user"]
    start = _user(venv)
    single = gym.make(env_id)
    for row, task in ((0, tasks[0]), (2, tasks[1])):
        single.reset(seed=99, options={"task": task})
        assert _same_user(_row(_user(single), 0), _row(start, row))
    venv.action_space.seed(0)
    for _ in range(3):  # the episodes end at step 2; every row resets on step 3
        venv.step(venv.action_space.sample())
    assert (venv.unwrapped.state.episode == 1).all()
    again = _user(venv)
    for row in (0, 2):  # same user, new session
        assert _same_user(_row(again, row), _row(start, row))
    assert not _same_user(_row(again, 1), _row(start, 1))  # a fresh user


def test_sample_tasks_is_seeded_distinct_and_checked() -> None:
    env = gym.make(ENV_IDS[0])
    first = env.unwrapped.sample_tasks(50, split="test", seed=1)
    assert first == env.unwrapped.sample_tasks(50, split="test", seed=1)
    assert len({task_id(t) for t in first}) == 50 and all(t["split"] == "test" for t in first)
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'test'\], got 'valid'"):
        env.unwrapped.sample_tasks(2, split="valid")
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        env.unwrapped.sample_tasks(0)


@pytest.mark.parametrize(
    "task, message",
    [
        ({"split": "train"}, "task must be a dict"),
        ({"split": "dev", "user": 1}, r"task\['split'\] must be one of \['train', 'test'\]"),
        ({"split": "train", "user": -1}, r"task\['user'\] must be an integer in \[0, 2\*\*62\)"),
        ({"split": "train", "user": 1.5}, r"task\['user'\] must be an integer"),
    ],
)
def test_bad_tasks_are_refused_with_the_allowed_values(task, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_task(task)
    env = gym.make(ENV_IDS[0])
    with pytest.raises(ValueError, match=message):
        env.reset(options={"task": task})


def test_task_rows_and_reset_options_are_checked() -> None:
    split, user = task_rows([None, {"split": "test", "user": 5}], 2, default_split=0)
    np.testing.assert_array_equal(split, [0, 1])
    np.testing.assert_array_equal(user, [-1, 5])
    with pytest.raises(ValueError, match=r"task\[1\]\['user'\]"):
        task_rows([None, {"split": "test", "user": -5}], 2, default_split=0)
    with pytest.raises(ValueError, match="a list of 3 tasks"):
        task_rows([None], 3, default_split=0)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['reset_mask'\]; allowed: \['task'\]"):
        gym.make(ENV_IDS[0]).reset(options={"reset_mask": None})
    with pytest.raises(ValueError, match="split must be one of"):
        gym.make(ENV_IDS[0], split="all")


def test_set_task_on_some_rows_changes_only_those() -> None:
    venv = gym.make_vec(ENV_IDS[0], num_envs=4)
    first, second = make_task("test", 1), make_task("test", 2)
    venv.unwrapped.set_task(first)
    venv.unwrapped.set_task([second, None], rows=[1, 3])
    _, info = venv.reset(seed=0)
    users = info["task"]["user"]
    assert users[0] == users[2] == 1 and users[1] == 2 and users[3] not in (1, 2)
    assert list(info["task"]["split"][:3]) == ["test"] * 3 and info["task"]["split"][3] == "train"
    with pytest.raises(ValueError, match=r"rows must be row indices in \[-4, 3\]"):
        venv.unwrapped.set_task(first, rows=[4])
