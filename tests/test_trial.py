"""Trials (RL^2): K sessions of one user as one episode, single and vector, with known answers."""

from __future__ import annotations

import doctest
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from numpy.testing import assert_array_equal

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench.wrappers import ScoreToSlate
from recsim_bench.wrappers import trial as trial_module
from recsim_bench.wrappers.trial import TRIAL_KEYS, Trial, TrialVector, make_trial_vector, reward_bounds

# InterestExploration: reward = clicks on a slate of 2, so rewards lie in [0, 2]; its users never leave,
# so with max_steps=2 every session is exactly 2 steps, truncated.
CLICKS = "RecSimBench/InterestExploration-v0"
# InterestEvolution users with a 1.6-minute budget: a click (4 minutes) ends the session (terminated),
# three steps without a click cost only 1.5, so those sessions are truncated at max_steps=3. Rewards
# are watch time: no bound.
LEAVING = (
    "RecSimBench/InterestEvolution-v0",
    {"user_model": {"name": "interest_evolution", "time_budget": 1.6}, "max_steps": 3},
)
K = 3


def _trial(env_id: str = CLICKS, episodes_per_trial: int = K, **kwargs: Any) -> Trial:
    return Trial(gym.make(env_id, **({"max_steps": 2} | kwargs)), episodes_per_trial=episodes_per_trial)


def _user(env: gym.Env | gym.vector.VectorEnv) -> dict[str, np.ndarray]:
    return {name: values.copy() for name, values in env.unwrapped.state.user.items()}


def _same_user(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[name], b[name]) for name in a)


# ---------------------------------------------------------------- single env
def test_a_trial_is_k_sessions_and_the_trial_keys_follow_the_steps() -> None:
    env = _trial()
    env.action_space.seed(0)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    # Before any step: no slate (-1), no reward (0), the first session's first observation.
    assert_array_equal(obs["prev_slate"], [-1, -1])
    assert_array_equal(obs["prev_reward"], [0])
    assert_array_equal(obs["boundary"], [1])
    assert_array_equal(obs["episode_in_trial"], [0])
    assert_array_equal(info["episode_returns"], [0, 0, 0])
    boundaries, sessions, rewards, ends = [], [], [], []
    for _ in range(2 * K):  # 3 sessions x 2 steps
        slate = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(slate)
        assert env.observation_space.contains(obs)
        assert_array_equal(obs["prev_slate"], slate)  # the previous step's action ...
        assert obs["prev_reward"][0] == np.float32(reward)  # ... and reward
        boundaries.append(obs["boundary"][0])
        sessions.append(obs["episode_in_trial"][0])
        rewards.append(reward)
        ends.append((terminated, truncated, info["inner_terminated"], info["inner_truncated"]))
    # The ends of sessions 1 and 2 (steps 2 and 4) are hidden; step 6 ends the trial, truncated like the session.
    assert ends == [(False, False, False, False), (False, False, False, True)] * 2 + [
        (False, False, False, False),
        (False, True, False, True),
    ]
    # A new session starts after steps 2 and 4; the trial's last observation (step 6) is no session start.
    assert boundaries == [0, 1, 0, 1, 0, 0]
    third, two_thirds = np.float32(1 / 3), np.float32(2 / 3)
    assert sessions == [0, third, third, two_thirds, two_thirds, two_thirds]
    r = rewards
    assert_array_equal(info["episode_returns"], [r[0] + r[1], r[2] + r[3], r[4] + r[5]])
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.action_space.sample())
    obs, info = env.reset()  # the next trial starts afresh
    assert_array_equal(obs["prev_slate"], [-1, -1])
    assert obs["boundary"][0] == 1 and obs["episode_in_trial"][0] == 0 and obs["prev_reward"][0] == 0


def test_one_user_per_trial_a_new_one_per_trial_the_same_ones_per_seed() -> None:
    env = _trial()
    env.action_space.seed(1)
    trials = []
    for seed in (3, None, None, 3, None):
        obs, info = env.reset(seed=seed)
        task, starts, candidates = info["task"], [_user(env)], [obs["candidates"]]
        for _ in range(2 * K):
            obs, *_, info = env.step(env.action_space.sample())
            assert info["task"] == task  # constant within the trial
            if obs["boundary"][0]:
                starts.append(_user(env))
                candidates.append(obs["candidates"])
        assert len(starts) == K and all(_same_user(starts[0], start) for start in starts)  # the same user ...
        assert not np.array_equal(candidates[0], candidates[1])  # ... in a new session
        trials.append(task["user"])
    assert len(set(trials[:3])) == 3  # a new user every trial
    assert trials[3:] == trials[:2]  # the same seed, the same users
    assert env.reset(seed=0, options={"task": {"split": "test", "user": 7}})[1]["task"] == {"split": "test", "user": 7}
    assert Trial(gym.make(CLICKS), 2, split="test").reset(seed=0)[1]["task"]["split"] == "test"


def test_only_the_last_session_ends_the_trial_terminated_when_the_user_left() -> None:
    env_id, kwargs = LEAVING
    env = Trial(gym.make(env_id, **kwargs), episodes_per_trial=K)
    env.action_space.seed(2)
    seen = set()
    for seed in range(6):
        env.reset(seed=seed)
        sessions, steps = 0, 0
        while True:
            obs, _, terminated, truncated, info = env.step(env.action_space.sample())
            steps += 1
            inner_end = info["inner_terminated"] or info["inner_truncated"]
            sessions += inner_end
            if sessions < K:
                assert not (terminated or truncated) and obs["boundary"][0] == inner_end
                continue
            assert (terminated, truncated) == (info["inner_terminated"], info["inner_truncated"])
            seen.add((terminated, truncated))
            break
        assert K <= steps <= 3 * K
    assert seen == {(True, False), (False, True)}  # both kinds of trial end occurred


def test_check_env_passes_on_the_single_wrapper() -> None:
    for env in (_trial(), Trial(gym.make(LEAVING[0], **LEAVING[1]), episodes_per_trial=2)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any other checker warning is a failure
            warnings.filterwarnings("ignore", message=".*different from the unwrapped version.*")
            # LEAVING's watch-time reward has no bound: prev_reward is Box(-inf, inf), which the checker warns about.
            warnings.filterwarnings("ignore", message=".*observation space (minimum|maximum) value is -?infinity.*")
            gym_check_env(env)


def test_reward_bounds_are_known_for_binary_behaviours_only() -> None:
    assert reward_bounds(gym.make(CLICKS)) == (0.0, 2.0)  # 0 to 2 clicks on a slate of 2
    weights = {"click": 1.0, "like": 0.5, "hate": -2.0}
    env = gym.make(CLICKS, slate_size=3, response_model={"name": "multi_behaviour"}, reward=weights)
    # low = 3 * (0 + 0 - 2) = -6, high = 3 * (1 + 0.5 + 0) = 4.5
    assert reward_bounds(env) == (-6.0, 4.5)
    trial = Trial(env, 2)
    assert trial.observation_space["prev_reward"].high[0] == 4.5
    trial.reset(seed=0)
    trial.action_space.seed(0)
    for _ in range(50):  # the bounds hold on a rollout
        obs, _, terminated, truncated, _ = trial.step(trial.action_space.sample())
        assert trial.observation_space.contains(obs)
        if terminated or truncated:
            trial.reset()
    assert reward_bounds(gym.make(LEAVING[0])) == (-np.inf, np.inf)  # watch time: an amount
    scaled = gym.wrappers.TransformReward(gym.make(CLICKS), lambda r: 10 * r)
    assert reward_bounds(scaled) == (-np.inf, np.inf)  # a wrapper may change rewards
    assert reward_bounds(gym.make_vec(CLICKS, num_envs=2)) == (0.0, 2.0)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="episodes_per_trial must be an integer >= 1, got 0"):
        Trial(gym.make(CLICKS), 0)
    with pytest.raises(ValueError, match="split must be one of"):
        Trial(gym.make(CLICKS), 2, split="valid")
    with pytest.raises(TypeError, match="apply ScoreToSlate outside the trial"):
        Trial(ScoreToSlate(gym.make(CLICKS)), 2)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['user'\]"):
        Trial(gym.make(CLICKS), 2).reset(options={"user": 1})
    with pytest.raises(ValueError, match="autoreset_mode='same_step'"):
        TrialVector(gym.make_vec(CLICKS, num_envs=2), 2)
    score_env = ScoreToSlate(Trial(gym.make(CLICKS), 2))  # the supported order
    assert score_env.reset(seed=0)[0]["boundary"][0] == 1


def test_the_doctests_pass() -> None:
    assert doctest.testmod(trial_module, raise_on_error=True).attempted > 0


# ---------------------------------------------------------------- vector env
def _row(values: dict[str, np.ndarray], row: int) -> dict[str, np.ndarray]:
    return {key: value[row] for key, value in values.items()}


def _assert_same_obs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("env_id, kwargs", [(CLICKS, {"max_steps": 2}), LEAVING])
def test_vector_row_i_is_the_single_trial_with_seed_s_plus_i(env_id: str, kwargs: dict[str, Any]) -> None:
    n, seed = 3, 10
    venv = make_trial_vector(env_id, n, K, **kwargs)
    singles = [Trial(gym.make(env_id, **kwargs), episodes_per_trial=K) for _ in range(n)]
    obs, infos = venv.reset(seed=seed)
    for i, single in enumerate(singles):
        single_obs, single_info = single.reset(seed=seed + i)
        _assert_same_obs(_row(obs, i), single_obs)
        assert infos["task"]["user"][i] == single_info["task"]["user"]
    venv.action_space.seed(0)
    trial_ends = 0
    for _ in range(3 * 3 * K):  # several trials per row
        slates = venv.action_space.sample()
        obs, reward, terminated, truncated, infos = venv.step(slates)
        assert venv.observation_space.contains(obs)
        for i, single in enumerate(singles):
            single_obs, single_reward, single_term, single_trunc, single_info = single.step(slates[i])
            assert (reward[i], terminated[i], truncated[i]) == (single_reward, single_term, single_trunc)
            assert_array_equal(infos["episode_returns"][i], single_info["episode_returns"])
            if single_term or single_trunc:
                trial_ends += 1
                assert infos["_final_obs"][i]
                _assert_same_obs(_row(infos["final_obs"], i), single_obs)
                assert single.observation_space.contains(single_obs)
                single_obs, single_info = single.reset()
                assert infos["task"]["user"][i] == single_info["task"]["user"]  # the next trial's user
            else:
                assert "_final_obs" not in infos or not infos["_final_obs"][i]
            _assert_same_obs(_row(obs, i), single_obs)
    assert trial_ends >= 2 * n


def test_entering_the_last_session_sets_the_next_trial_user_for_the_same_step_autoreset() -> None:
    n = 2
    venv = make_trial_vector(CLICKS, n, K, max_steps=2)
    _, infos = venv.reset(seed=0)
    first = infos["task"]["user"].copy()
    base = venv.unwrapped
    start = _user(venv)
    venv.action_space.seed(0)
    for step in range(1, 2 * K + 1):
        _, _, _, truncated, infos = venv.step(venv.action_space.sample())
        if step < 2 * K:
            # Steps 1-5 serve the first user, also after the next task was set at step 4 (entering session 3).
            assert_array_equal(infos["task"]["user"], first)
            assert not truncated.any()
            if step in (2, 4):
                assert _same_user(_user(venv), start)
    # Step 6 ends every trial; the same-step autoreset already serves the next trial's user.
    assert truncated.all()
    nxt = infos["task"]["user"]
    assert (nxt != first).all()
    assert_array_equal(base.state.user_id, nxt)
    singles = [_trial() for _ in range(n)]
    for i, single in enumerate(singles):  # the users of trials 0 and 1 of the single env seeded 0 + i
        assert single.reset(seed=i)[1]["task"]["user"] == first[i]
        assert single.reset()[1]["task"]["user"] == nxt[i]


def test_one_session_per_trial_changes_the_user_every_session() -> None:
    venv = make_trial_vector(CLICKS, 2, 1, max_steps=2)
    obs, infos = venv.reset(seed=0)
    users = [infos["task"]["user"].copy()]
    assert_array_equal(obs["episode_in_trial"], [[0], [0]])
    for _ in range(3):
        venv.step(venv.action_space.sample())
        obs, _, _, truncated, infos = venv.step(venv.action_space.sample())
        assert truncated.all() and (obs["boundary"] == 1).all() and (obs["prev_slate"] == -1).all()
        users.append(infos["task"]["user"].copy())
    assert len({int(u) for step in users for u in step}) == 8  # 4 trials x 2 rows, all distinct users


def test_vector_spaces_are_the_single_spaces_stacked_and_reset_takes_tasks() -> None:
    n = 4
    venv = make_trial_vector(CLICKS, n, K, split="test", max_steps=2)
    single = _trial()
    assert venv.single_observation_space.keys() == single.observation_space.keys()
    assert set(TRIAL_KEYS) <= set(venv.single_observation_space.keys())
    for key, box in venv.single_observation_space.items():
        assert box == single.observation_space[key]
        stacked = venv.observation_space[key]
        assert stacked.shape == (n, *box.shape)
        assert_array_equal(stacked.low[2], box.low)
        assert_array_equal(stacked.high[2], box.high)
    task = {"split": "train", "user": 5}
    obs, infos = venv.reset(seed=0, options={"task": [None, task, None, None]})
    assert venv.observation_space.contains(obs)
    assert list(infos["task"]["split"]) == ["test", "train", "test", "test"] and infos["task"]["user"][1] == 5
    with pytest.raises(ValueError, match="a list of 3 ints"):
        make_trial_vector(CLICKS, 3, K).reset(seed=[1, 2])


def test_stable_baselines3_steps_the_trial_stack_and_sees_trial_ends_only() -> None:
    pytest.importorskip("stable_baselines3")
    from recsim_bench.wrappers import FlattenVectorObservation, ScoreToSlateVector
    from recsim_bench.wrappers.sb3 import SB3VecEnv

    venv = SB3VecEnv(FlattenVectorObservation(ScoreToSlateVector(make_trial_vector(CLICKS, 2, K, max_steps=2))))
    venv.reset()
    dones = [venv.step(np.random.default_rng(step).random((2, 10), dtype=np.float32))[2] for step in range(2 * K)]
    assert_array_equal(np.array(dones)[:, 0], [False] * (2 * K - 1) + [True])  # one trial: 3 sessions x 2 steps


def test_both_shells_sample_the_same_tasks_from_a_seed_or_from_np_random() -> None:
    """The users numpy's generator draws below 2**62 from the seed (or from the env's ``np_random``)."""
    drawn = np.random.default_rng(5).integers(0, 2**62, size=3)
    expected = [{"split": "test", "user": int(user)} for user in drawn]
    single, vector = gym.make(CLICKS).unwrapped, gym.make_vec(CLICKS, num_envs=2, vectorization_mode="vector_entry_point")
    assert single.sample_tasks(3, split="test", seed=5) == vector.unwrapped.sample_tasks(3, split="test", seed=5) == expected
    single.np_random, vector.unwrapped.np_random = np.random.default_rng(5), np.random.default_rng(5)
    assert single.sample_tasks(3, split="test") == vector.unwrapped.sample_tasks(3, split="test") == expected
