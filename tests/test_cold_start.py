"""ColdStart-v0 and its ``cold_start`` user population: segments, splits, tasks, affinity, prior, adaptation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench.agents import evaluate_sessions, make_agent
from recsim_bench.parts import build_part
from recsim_bench.parts.cold_start import ColdStartUser
from recsim_bench.references import item_popularity, reference_agent

ENV_ID = "RecSimBench/ColdStart-v0"
USER = ColdStartUser()  # the env's default: 16 segments, the last 4 for test
TRAIN_SEGMENTS, TEST_SEGMENTS = set(range(12)), set(range(12, 16))


def _segments(split: str, num_envs: int = 2000, seed: int = 0) -> np.ndarray:
    venv = gym.make_vec(ENV_ID, num_envs=num_envs, split=split)
    venv.reset(seed=seed)
    return venv.unwrapped.state.user["segment"]


def test_train_and_test_users_come_from_disjoint_segments() -> None:
    # 2,000 users per split: every segment of the split appears (a train segment is missed with
    # probability about 12 * (11/12)**2000), and none of the other split's.
    assert set(_segments("train").tolist()) == TRAIN_SEGMENTS
    assert set(_segments("test").tolist()) == TEST_SEGMENTS
    # The same through tasks: test tasks on a train env still draw test users.
    venv = gym.make_vec(ENV_ID, num_envs=500)
    venv.reset(seed=1, options={"task": venv.unwrapped.sample_tasks(500, split="test", seed=2)})
    assert set(venv.unwrapped.state.user["segment"].tolist()) == TEST_SEGMENTS


def test_a_test_env_draws_test_segment_users_every_episode() -> None:
    env = gym.make(ENV_ID, split="test")
    for seed in (0, None, None, None, 7):
        _, info = env.reset(seed=seed)
        assert info["task"]["split"] == "test"
        assert int(env.unwrapped.state.user["segment"][0]) in TEST_SEGMENTS


def test_init_picks_the_segment_within_the_split_and_centres_the_user() -> None:
    # spread 0: the preference is the segment's centre. u0 = 0.5 picks train segment floor(0.5 * 12) = 6
    # and test segment 12 + floor(0.5 * 4) = 14; u0 = 0.99 picks 11 and 12 + 3 = 15.
    user = ColdStartUser(within_segment_spread=0.0)
    u = np.full((4, user.init_uniforms), 0.3)
    u[:, 0] = [0.5, 0.5, 0.99, 0.99]
    state = user.init(u, np.array([0, 1, 0, 1]))
    assert_array_equal(state["segment"], [6, 14, 11, 15])
    assert_allclose(state["preference"], user.centres[[6, 14, 11, 15]], rtol=1e-12)
    assert_allclose(np.linalg.norm(user.centres, axis=1), 1.0, rtol=1e-12)


def test_affinity_is_the_dot_product_of_preference_and_embedding() -> None:
    user = ColdStartUser(embedding_dim=2)
    state = {"preference": np.array([[0.6, 0.8]]), "segment": np.array([0])}
    items = {"embedding": np.array([[[1.0, 0.0], [0.0, 1.0], [0.6, -0.8]]], dtype=np.float32)}
    # 0.6 * 1 + 0.8 * 0 = 0.6;  0.8;  0.6 * 0.6 - 0.8 * 0.8 = 0.36 - 0.64 = -0.28
    assert_allclose(user.affinity(state, items), [[0.6, 0.8, -0.28]], rtol=1e-6)
    with pytest.raises(ValueError, match="embedding_dim is 2 but the items' embeddings have 3"):
        user.affinity(state, {"embedding": np.zeros((1, 3, 3), np.float32)})


def test_the_user_never_changes() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    before = env.unwrapped.state.user["preference"].copy()
    for _ in range(5):
        env.step(env.action_space.sample())
    assert_array_equal(env.unwrapped.state.user["preference"], before)


def test_the_same_task_is_the_same_user_in_two_envs_and_two_episodes() -> None:
    env = gym.make(ENV_ID)
    task = env.unwrapped.sample_tasks(1, split="test", seed=3)[0]
    env.reset(seed=0, options={"task": task})
    first = env.unwrapped.state.user["preference"][0].copy()
    env.reset()
    assert_array_equal(env.unwrapped.state.user["preference"][0], first)
    venv = gym.make_vec(ENV_ID, num_envs=3)
    venv.unwrapped.set_task(task, rows=[1])
    venv.reset(seed=99)
    preference = venv.unwrapped.state.user["preference"]
    assert_array_equal(preference[1], first)
    assert not np.array_equal(preference[0], first)


def test_prior_is_the_mean_train_user() -> None:
    # Without spread every train user is a train centre, so the mean user is the mean of the 12 centres.
    flat = ColdStartUser(within_segment_spread=0.0)
    assert_allclose(flat.prior(2)["preference"], np.tile(flat.centres[:12].mean(axis=0), (2, 1)), rtol=1e-12)
    # With the default spread: the mean of 100,000 train users (per-coordinate standard error about 1e-3).
    generator = np.random.default_rng(5)
    users = USER.init(generator.random((100_000, USER.init_uniforms)), np.zeros(100_000, np.int64))
    prior = USER.prior(3)
    assert_allclose(prior["preference"][0], users["preference"].mean(axis=0), atol=5e-3)
    assert_array_equal(prior["segment"], [-1, -1, -1])


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match=r"num_test_segments must be in \[1, num_segments - 1\]"):
        build_part("user_model", {"name": "cold_start", "num_segments": 4, "num_test_segments": 4})
    with pytest.raises(ValueError, match="within_segment_spread"):
        build_part("user_model", {"name": "cold_start", "within_segment_spread": -0.1})


def test_popularity_is_a_click_probability_per_catalogue_item() -> None:
    sim = gym.make(ENV_ID).unwrapped.sim
    popularity = item_popularity(sim.item_model, sim.user_model, sim.choice_model)
    assert popularity.shape == (200,) and np.all((popularity > 0) & (popularity < 1))


def test_the_adaptive_heuristic_improves_from_session_to_session() -> None:
    # Test users 0..99, 5 sessions. LinUCB that remembers the user gains clicks from session 1 to 5
    # (benchmarks/cold_start_sessions.py); forgetting at each session, it stays flat; random stays flat.
    def sessions(agent, count: int = 5) -> np.ndarray:
        return evaluate_sessions(agent, ENV_ID, 100, count, seed=0, split="test")

    adaptive = sessions(make_agent("linucb", ENV_ID, {"keep_across_episodes": True})).mean(axis=0)
    forgetful = sessions(make_agent("linucb", ENV_ID, {"keep_across_episodes": False})).mean(axis=0)
    assert adaptive[4] > adaptive[0] + 2.0
    assert adaptive[0] == forgetful[0]  # the same first session
    assert abs(forgetful[4] - forgetful[0]) < 2.0
    assert sessions(reference_agent(ENV_ID, "popularity"), 2).shape == (100, 2)
    assert sessions(reference_agent(ENV_ID, "random"), 1).mean() < adaptive[4]
