"""Reference policies, their evaluation and confidence intervals, and the ``recsim-bench`` command."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import recsim_bench
from recsim_bench import cli
from recsim_bench.agents import evaluate_episodes
from recsim_bench.envs.cards import load_reference_returns
from recsim_bench.references import (
    LONG_RUN_POLICIES,
    PolicyReference,
    RandomReference,
    kale_policy,
    quality_policy,
    reference_agent,
    reference_names,
    top_slates,
)
from recsim_bench.scoring.metrics import mean_ci

IE = "RecSimBench/InterestEvolution-v0"
LTS = "RecSimBench/LongTermSatisfaction-v0"
IX = "RecSimBench/InterestExploration-v0"


def _vector_env(env_id: str, num_envs: int, seed: int = 0):
    env = gym.make_vec(env_id, num_envs=num_envs)
    obs, _ = env.reset(seed=seed)
    return env.unwrapped, obs


def _slates(env_id: str, name: str, env, obs) -> np.ndarray:
    """The slates of reference ``name`` of ``env_id``, bound to ``env`` and freshly reset (rows seeded 0..N-1)."""
    agent = reference_agent(env_id, name)
    if hasattr(agent, "bind"):
        agent.bind(env)
    agent.reset(np.ones(env.num_envs, dtype=bool), np.arange(env.num_envs))
    return agent.act(obs)


def evaluate(env_id: str, name: str, episodes: int, seed: int, **env_kwargs) -> np.ndarray:
    """Reference ``name``'s returns over fresh users of the train population, as reference_returns.json measures them."""
    agent = reference_agent(env_id, name)
    return evaluate_episodes(agent, env_id, episodes, seed, split="train", fresh_users=True, **env_kwargs).returns


# ---------------------------------------------------------------------------------------------- policies
def test_top_slates_breaks_ties_by_index():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(top_slates(scores, 3), [[1, 2, 4], [0, 1, 2]])
    assert top_slates(scores, 3).dtype == np.int64


def test_oracle_is_true_top_s_on_a_hand_checked_state():
    env, obs = _vector_env(IE, num_envs=2)
    state = env.state
    # Row 0: candidate k has topic k; interests of topics 0..9 set by hand, 10..19 at -1.
    interests = np.full((2, 20), -1.0)
    interests[0, :10] = [0.1, 0.5, -0.2, 0.5, 0.9, -1.0, 0.0, 0.3, 0.5, -0.5]
    interests[1] = state.user["interests"][1]
    topic = state.items["topic"].copy()
    topic[0] = np.arange(10)
    env.state = dataclasses.replace(
        state,
        user={**state.user, "interests": interests},
        items={**state.items, "topic": topic},
    )
    # Proportional choice, min_normalizer -1, no-click mass 1, shown alone: p = (u + 1) / ((u + 1) + 2);
    # watch time = length 4 (the budget is 200). So the expected reward of candidate k is 4 (u_k + 1) / (u_k + 3).
    u = interests[0, :10]
    np.testing.assert_allclose(env.expected_rewards()[0], 4.0 * (u + 1.0) / (u + 3.0))
    assert env.expected_rewards()[0, 4] == pytest.approx(4 * 1.9 / 3.9)
    slates = _slates(IE, "oracle", env, obs)
    assert slates.shape == (2, 2) and slates.dtype == np.int64
    # 0.9 (candidate 4) first, then the tie at 0.5 between candidates 1, 3 and 8 goes to the lowest index.
    np.testing.assert_array_equal(slates[0], [4, 1])
    # Row 1 is untouched: its oracle slate is the top 2 by its true interests in its candidates' topics.
    row1 = state.user["interests"][1][state.items["topic"][1]]
    np.testing.assert_array_equal(slates[1], np.argsort(-row1, kind="stable")[:2])


def test_oracle_serves_most_clickbait_in_long_term_satisfaction():
    env, obs = _vector_env(LTS, num_envs=4)
    slates = _slates(LTS, "oracle", env, obs)
    np.testing.assert_array_equal(slates[:, 0], np.argmax(env.state.items["clickbait"], axis=1))


def test_greedy_is_index_order_in_interest_evolution():
    env, obs = _vector_env(IE, num_envs=8)
    for _ in range(3):  # prior interests are all 0: every candidate ties, whatever the candidates
        slates = _slates(IE, "greedy", env, obs)
        np.testing.assert_array_equal(slates, np.tile([0, 1], (8, 1)))
        obs, *_ = env.step(slates)


def test_greedy_is_not_personalised_in_interest_exploration():
    env, obs = _vector_env(IX, num_envs=64)
    slates = _slates(IX, "greedy", env, obs)
    topic = np.take_along_axis(env.state.items["topic"], slates, axis=1)
    has_topic0 = (env.state.items["topic"] == 0).sum(axis=1)
    # The population prefers topic 0 (higher quality, liked by 70% of users): it fills the slate first.
    np.testing.assert_array_equal((topic == 0).sum(axis=1), np.minimum(has_topic0, 2))


def test_random_gives_distinct_valid_slates_keyed_by_each_rows_seed():
    env, obs = _vector_env(IX, num_envs=256)
    a = _slates(IX, "random", env, obs)
    np.testing.assert_array_equal(a, _slates(IX, "random", env, obs))
    assert a.shape == (256, 2) and a.dtype == np.int64
    assert env.action_space.contains(a)
    assert len(np.unique(a[:, 0])) == 10  # every candidate shows up in the top slot of some row
    alone = RandomReference()  # row 5 alone, seeded 5, draws what row 5 of the batch drew
    alone.reset(np.ones(1, dtype=bool), np.array([5]))
    np.testing.assert_array_equal(alone.act({name: value[5:6] for name, value in obs.items()}), a[5:6])


def test_reference_agents_by_name():
    assert reference_names(IX) == ["random", "greedy", "oracle"]
    assert reference_names(LTS) == ["random", "greedy", "oracle", "kale"]
    assert reference_agent(LTS, "kale").policy is kale_policy
    assert reference_agent(LTS, "greedy").config.prior and not reference_agent(LTS, "oracle").config.prior
    assert isinstance(reference_agent(IE, "quality"), PolicyReference)
    with pytest.raises(ValueError, match=r"reference must be one of \['random', 'greedy', 'oracle'\] for .*, got 'kale'"):
        reference_agent(IX, "kale")


# ---------------------------------------------------------------------------------------------- mean_ci
def test_mean_ci_against_a_hand_computed_t_interval():
    # mean 2.5, s = sqrt(5/3), s / sqrt(4) = 0.6454972, t_{0.975, 3} = 3.1824463 (table value 3.182)
    mean, low, high = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = 3.182446305284263 * np.sqrt(5.0 / 3.0) / 2.0
    assert mean == pytest.approx(2.5)
    assert low == pytest.approx(2.5 - half, abs=1e-9) and low == pytest.approx(0.445740, abs=1e-6)
    assert high == pytest.approx(2.5 + half, abs=1e-9) and high == pytest.approx(4.554260, abs=1e-6)
    # 90%: t_{0.95, 3} = 2.3533634
    _, low90, high90 = mean_ci([1.0, 2.0, 3.0, 4.0], confidence=0.9)
    assert high90 - 2.5 == pytest.approx(2.353363434801823 * np.sqrt(5.0 / 3.0) / 2.0, abs=1e-9)
    assert low90 == pytest.approx(5.0 - high90)


def test_mean_ci_constant_and_invalid():
    assert mean_ci([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
    with pytest.raises(ValueError, match="at least 2"):
        mean_ci([1.0])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=1.5)


# ---------------------------------------------------------------------------------------------- evaluate
def test_evaluate_returns_one_return_per_episode_and_is_deterministic():
    first = evaluate(IX, "random", episodes=7, seed=3)
    assert first.shape == (7,) and first.dtype == np.float64
    np.testing.assert_array_equal(first, evaluate(IX, "random", episodes=7, seed=3))
    assert not np.array_equal(first, evaluate(IX, "random", episodes=7, seed=4))
    # InterestExploration: one click at most per step over 100 steps.
    assert np.all((first >= 0) & (first <= 100) & (first == np.round(first)))


def test_evaluate_records_each_row_once_at_its_first_episode_end():
    # InterestEvolution episodes have different lengths: rows that finish early are autoreset and keep
    # being stepped; their later rewards must not count. Row i must equal a single env seeded seed + i.
    seed, episodes = 11, 3
    returns = evaluate(IE, "oracle", episodes=episodes, seed=seed)
    for i in range(episodes):
        env = gym.make(IE)
        env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            slate = top_slates(env.unwrapped.expected_rewards()[None], 2)[0]
            _, reward, terminated, truncated, _ = env.step(slate)
            total += reward
            done = terminated or truncated
        assert returns[i] == pytest.approx(total, rel=1e-12)


def test_evaluate_passes_env_kwargs():
    short = evaluate(IX, "random", episodes=3, seed=0, max_steps=5)
    assert np.all(short <= 5)
    with pytest.raises(ValueError, match="episodes"):
        evaluate(IX, "random", episodes=0, seed=0)


# ---------------------------------------------------------------------------------------------- reference file
def test_reference_returns_file_covers_the_suite():
    references = load_reference_returns()
    assert references is not None, "run python benchmarks/reference_returns.py"
    assert references["command"] == "python benchmarks/reference_returns.py"
    for env_id in recsim_bench.SUITE:
        for policy in reference_names(env_id):
            result = references[env_id][policy]
            assert result["episodes"] == 1000 and result["seed"] == 0
            assert result["low"] <= result["mean"] <= result["high"]


def test_each_env_has_the_three_references_and_its_own_long_run_policies():
    assert sorted(LONG_RUN_POLICIES) == sorted(recsim_bench.SUITE)
    assert LONG_RUN_POLICIES[LTS] == {"kale": kale_policy} and LONG_RUN_POLICIES[IE] == {"quality": quality_policy}
    assert LONG_RUN_POLICIES[IX] == {}
    with pytest.raises(ValueError, match="env_id must be one of"):
        reference_names("RecSimBench/Nope-v0")


@pytest.mark.parametrize("env_id", sorted(recsim_bench.SUITE))
def test_reference_returns_are_those_of_the_current_dynamics(env_id):
    """Rows of a vector env do not depend on the batch size, and no reference draws from a generator
    shared by the rows, so the first episodes of the 1,000 are reproduced exactly by a run of 8. If this
    fails, the dynamics or the random streams changed: run python benchmarks/reference_returns.py --extra --docs."""
    references = load_reference_returns()
    for policy in reference_names(env_id):
        stored = references[env_id][policy]["first_returns"]
        assert len(stored) == 8
        np.testing.assert_array_equal(evaluate(env_id, policy, episodes=8, seed=0), stored)


# ---------------------------------------------------------------------------------------------- cli
def test_cli_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id, entry in recsim_bench.SUITE.items():
        assert f"{env_id}  " in out and entry.description in out


@pytest.mark.parametrize("env_id", list(recsim_bench.SUITE))
def test_cli_describe(env_id, capsys):
    assert cli.main(["describe", env_id]) == 0
    out = capsys.readouterr().out
    assert out.startswith(env_id)
    for key in ("user", "candidates", "response", "SlateSpace", "item_model", "choice_model", "max_steps"):
        assert key in out
    assert "Reference returns" in out and "oracle" in out


def test_cli_describe_accepts_the_short_name(capsys):
    assert cli.main(["describe", "LongTermSatisfaction-v0"]) == 0
    assert '"sensitivity": 0.2' in capsys.readouterr().out


def test_cli_unknown_id_exits_2_and_lists_the_ids(capsys):
    assert cli.main(["describe", "RecSimBench/NoSuchEnv-v0"]) == 2
    err = capsys.readouterr().err
    assert "NoSuchEnv-v0" in err
    for env_id in recsim_bench.SUITE:
        assert env_id in err


def test_cli_demo(capsys):
    assert cli.main(["demo", "--episodes", "2", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "random" in out and "greedy" in out
    for env_id in recsim_bench.SUITE:
        line = next(line for line in out.splitlines() if line.startswith(env_id))
        assert len(line.split()) >= 3  # id, then a number per policy


def test_cli_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2


def test_python_dash_m_recsim_bench():
    result = subprocess.run(
        [sys.executable, "-m", "recsim_bench", "list"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert all(env_id in result.stdout for env_id in recsim_bench.SUITE)
