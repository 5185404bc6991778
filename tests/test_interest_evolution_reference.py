"""The InterestEvolution-v0 ``quality`` reference: valid slates, the myopic oracle at zero budget value, and
far more watch time than the oracle by serving quality."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench import references
from recsim_bench.agents import evaluate_episodes
from recsim_bench.references import LONG_RUN_POLICIES, quality_policy, reference_agent, top_slates
from recsim_bench.scoring.metrics import mean_ci

ENV_ID = "RecSimBench/InterestEvolution-v0"


def test_quality_is_a_long_run_reference() -> None:
    assert LONG_RUN_POLICIES[ENV_ID] == {"quality": quality_policy}
    assert reference_agent(ENV_ID, "quality").policy is quality_policy


def _returns(reference: str, episodes: int) -> np.ndarray:
    return evaluate_episodes(reference_agent(ENV_ID, reference), ENV_ID, episodes, 0, split="train", fresh_users=True).returns


@pytest.mark.parametrize("slate_size", [2, 3])
def test_quality_returns_valid_slates(slate_size: int) -> None:
    env = gym.make_vec(ENV_ID, num_envs=64, slate_size=slate_size)
    obs, _ = env.reset(seed=3)
    for _ in range(30):
        slates = quality_policy(env.unwrapped, obs)
        assert slates.shape == (64, slate_size) and slates.dtype == np.int64
        assert env.single_action_space.contains(slates[0])
        np.testing.assert_array_equal(env.unwrapped.sim.validate_slates(slates, 64), slates)
        obs, *_ = env.step(slates)
    env.close()


def test_zero_budget_value_is_the_myopic_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a free budget the slate's value is its expected watch time: the oracle's two most liked videos."""
    env = gym.make_vec(ENV_ID, num_envs=200)
    obs, _ = env.reset(seed=0)
    monkeypatch.setattr(references, "BUDGET_VALUE", 0.0)
    zero = np.sort(quality_policy(env.unwrapped, obs), axis=1)
    np.testing.assert_array_equal(zero, np.sort(top_slates(env.unwrapped.expected_rewards(), 2), axis=1))
    monkeypatch.undo()
    # With the default price it trades clicks on liked trashy videos for nutritious ones in most rows.
    quality = np.sort(quality_policy(env.unwrapped, obs), axis=1)
    assert (quality != zero).any(axis=1).mean() > 0.5
    env.close()


def test_quality_beats_the_myopic_oracle() -> None:
    """Same users (seed 0), paired: serving quality keeps users far longer than the oracle's
    ~165 minutes (~296 over 1,000 episodes)."""
    quality = _returns("quality", 100)
    oracle = _returns("oracle", 100)
    gain, low, _ = mean_ci(quality - oracle)
    assert low > 80.0, (gain, low)
    assert np.mean(quality > oracle) > 0.8
