"""The non-deep reference agents: LinUCB, Thompson sampling, the learned greedy recommender, and valid slates everywhere."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import recsim_bench
from recsim_bench.agents import make_agent
from baselines.ridge_greedy import RidgeGreedyAgent, fit_ridge, user_item_features
from baselines.linucb import LinUCBAgent, linucb_scores, ridge_update
from baselines.thompson import posterior_samples
from recsim_bench.agents import env_info, evaluate_agent

IX = "RecSimBench/InterestExploration-v0"  # features (3,): bounds [0, 1], [0, 1], [0, 100]; user (1,); S = 2


# ------------------------------------------------------------------------------------- LinUCB
def test_linucb_score_and_update_by_hand():
    A, b = np.eye(2)[None].copy(), np.zeros((1, 2))
    # One row shown (1, 1) with reward 2: A = [[2, 1], [1, 2]], b = (2, 2), A^-1 = [[2, -1], [-1, 2]] / 3.
    ridge_update(A, b, np.array([[[1.0, 1.0]]]), np.array([[2.0]]), np.array([True]))
    np.testing.assert_array_equal(A[0], [[2.0, 1.0], [1.0, 2.0]])
    np.testing.assert_array_equal(b[0], [2.0, 2.0])
    # theta = A^-1 b = (2/3, 2/3). x = (1, 0): mean 2/3, x' A^-1 x = 2/3. x = (1, -1): mean 0, x' A^-1 x = 2.
    scores = linucb_scores(A, b, np.array([[[1.0, 0.0], [1.0, -1.0]]]), alpha=0.5)
    np.testing.assert_allclose(scores[0], [2 / 3 + 0.5 * np.sqrt(2 / 3), 0.5 * np.sqrt(2.0)], rtol=1e-12)


def test_ridge_update_skips_masked_rows():
    A, b = np.stack([np.eye(2)] * 2), np.zeros((2, 2))
    ridge_update(A, b, np.ones((2, 1, 2)), np.ones((2, 1)), np.array([False, True]))
    np.testing.assert_array_equal(A[0], np.eye(2))
    np.testing.assert_array_equal(b, [[0.0, 0.0], [1.0, 1.0]])


def test_linucb_agent_learns_from_the_previous_slate_response():
    agent = LinUCBAgent(IX)
    agent.reset(np.array([True]), np.array([0]))
    obs = {"candidates": np.zeros((1, 10, 3), np.float32), "response": np.zeros((1, 2, 4), np.float32)}
    agent.act(obs)  # the first response answers no slate of ours: nothing learned
    np.testing.assert_array_equal(agent.A[0], np.eye(4))
    # Slot 0 clicked, features (1, 0, 50); slot 1 not, features (0, 1, 100). Contexts: scaled features, then 1.
    obs["response"] = np.array([[[1, 1, 0, 50], [0, 0, 1, 100]]], np.float32)
    agent.act(obs)
    x0, x1 = np.array([1.0, 0.0, 0.5, 1.0]), np.array([0.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(agent.A[0], np.eye(4) + np.outer(x0, x0) + np.outer(x1, x1))
    np.testing.assert_allclose(agent.b[0], x0)
    agent.reset(np.array([True]))  # a new episode forgets, unless keep_across_episodes
    np.testing.assert_array_equal(agent.A[0], np.eye(4))


def test_keep_across_episodes_keeps_memory_until_reseeded():
    agent = make_agent("linucb", IX, {"keep_across_episodes": True})
    agent.reset(np.array([True]), np.array([0]))
    agent.b[:] = 1.0
    agent.reset(np.array([True]))  # autoreset of the same user: kept
    assert (agent.b == 1.0).all()
    agent.reset(np.array([True]), np.array([1]))  # reseeded: a new user
    assert (agent.b == 0.0).all()


# ------------------------------------------------------------------------------------- Thompson
def test_thompson_mean_is_the_ridge_solution_and_its_spread_is_the_posterior():
    generator = np.random.default_rng(0)
    X, r, ridge = generator.normal(size=(30, 3)), generator.normal(size=30), 2.0
    A, b = ridge * np.eye(3) + X.T @ X, X.T @ r
    ridge_solution = np.linalg.solve(X.T @ X + ridge * np.eye(3), X.T @ r)
    np.testing.assert_allclose(posterior_samples(A[None], b[None], 0.7, np.zeros((1, 3)))[0], ridge_solution, rtol=1e-10)
    n = 20_000
    draws = posterior_samples(np.broadcast_to(A, (n, 3, 3)), np.broadcast_to(b, (n, 3)), 0.7, generator.normal(size=(n, 3)))
    np.testing.assert_allclose(draws.mean(axis=0), ridge_solution, atol=0.01)
    np.testing.assert_allclose(np.cov(draws.T), 0.49 * np.linalg.inv(A), atol=0.003)


def test_thompson_with_zero_scale_acts_like_linucb_with_zero_alpha():
    ts = evaluate_agent(make_agent("thompson", IX, {"scale": 0.0}), IX, episodes=3, seed=0)
    ucb = evaluate_agent(make_agent("linucb", IX, {"alpha": 0.0}), IX, episodes=3, seed=0)
    np.testing.assert_array_equal(ts, ucb)


# ------------------------------------------------------------------------------------- greedy
def test_user_item_features_are_the_kronecker_product():
    info = env_info(IX)
    phi = user_item_features(info, np.array([[2.0]]), np.array([[[0.5, 1.0, 50.0]]]))
    # kron([1, u], [1, scaled x]) with scaled x = (0.5, 1, 0.5)
    np.testing.assert_allclose(phi[0, 0], [1, 0.5, 1, 0.5, 2, 1, 2, 1])


def test_greedy_fit_recovers_known_weights():
    info = env_info(IX)
    generator = np.random.default_rng(1)
    user = generator.uniform(size=(500, 1))
    items = generator.uniform([0, 0, 0], [1, 1, 100], size=(500, 4, 3))
    phi = user_item_features(info, user, items).reshape(-1, 8)
    weights = generator.normal(size=8)
    target = phi @ weights + 0.001 * generator.normal(size=len(phi))
    np.testing.assert_allclose(fit_ridge(phi.T @ phi, phi.T @ target, ridge=1e-6), weights, atol=0.01)


@pytest.fixture(scope="module")
def trained_greedy(tmp_path_factory):
    agent = make_agent("ridge-greedy", IX, {"num_envs": 64, "log_every": 640})
    log_dir = tmp_path_factory.mktemp("greedy_log")
    summary = agent.train(IX, steps=6400, seed=0, log_dir=str(log_dir))
    return agent, summary, log_dir


def test_greedy_training_summary_curve_and_gain(trained_greedy):
    agent, summary, log_dir = trained_greedy
    # 64 rows x 100 steps end exactly at the rows' first truncation: every step is live, 2 slots each
    assert summary["steps"] == 6400 and summary["samples"] == 2 * 6400
    assert {"wall_time", "steps_per_s", "recent_return"} <= set(summary)
    lines = (log_dir / "progress.csv").read_text().splitlines()
    assert lines[0] == "steps,wall_time,recent_return" and len(lines) == 11
    greedy = evaluate_agent(agent, IX, episodes=20, seed=0).mean()
    random = evaluate_agent(make_agent("random", IX), IX, episodes=20, seed=0).mean()
    assert greedy > random + 5


def test_greedy_save_load_round_trip(trained_greedy, tmp_path):
    agent = trained_greedy[0]
    agent.save(str(tmp_path))
    loaded = RidgeGreedyAgent.load(str(tmp_path))
    env = gym.make_vec(IX, num_envs=4)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(loaded.act(obs), agent.act(obs))
    np.testing.assert_array_equal(loaded.weights, agent.weights)


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda d: (d / "weights.npz").write_bytes(b"not a zip file"), "weights.npz"),
        (lambda d: np.savez(d / "weights.npz", weights=np.zeros(3)), "shape"),
        (lambda d: np.savez(d / "weights.npz", weights=np.array([object()] * 8)), "weights.npz"),
        (lambda d: np.savez(d / "weights.npz", w=np.zeros(8)), "one array 'weights'"),
        (lambda d: (d / "config.json").write_text("{"), "config.json"),
        (lambda d: (d / "config.json").write_text(json.dumps({"format": "other"})), "config"),
    ],
)
def test_greedy_load_refuses_tampered_files(trained_greedy, tmp_path, tamper, message):
    trained_greedy[0].save(str(tmp_path))
    tamper(tmp_path)
    with pytest.raises(ValueError, match=message):
        RidgeGreedyAgent.load(str(tmp_path))


def test_greedy_load_refuses_unknown_config_keys(trained_greedy, tmp_path):
    trained_greedy[0].save(str(tmp_path))
    record = json.loads((tmp_path / "config.json").read_text())
    record["config"]["learning_rate"] = 0.1
    (tmp_path / "config.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['learning_rate'\]"):
        RidgeGreedyAgent.load(str(tmp_path))


# ------------------------------------------------------------------------------------- every env
@pytest.mark.parametrize("env_id", sorted(recsim_bench.SUITE))
@pytest.mark.parametrize("name", ["random", "oracle", "ridge-greedy", "linucb", "thompson"])
def test_agents_give_valid_distinct_slates(name, env_id):
    agent = make_agent(name, env_id)
    env = gym.make_vec(env_id, num_envs=3, split="test")
    obs, _ = env.reset(seed=0)
    if hasattr(agent, "bind"):
        agent.bind(env.unwrapped)
    agent.reset(np.ones(3, dtype=bool), np.arange(3))
    for _ in range(4):
        slates = agent.act(obs)
        assert slates.dtype == np.int64 and env.action_space.contains(slates)
        obs, *_ = env.step(slates)
    env.close()
