"""Known-answer tests of the retention user and RecSimBench/Retention-v0.

The user model's equations (see :class:`recsim_bench.parts.retention.RetentionUser`) are
worked out by hand with literal numbers, in embedding dimension 2 and the default
parameters: clickbait boost 2, clickbait cost 1.5, initial temper 3, fatigue 0.3,
no-click penalty 1, session length 20, 8 sessions, mean gap 3 days, gap sensitivity 0.3,
churn after 7 days.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray

import recsim_bench  # noqa: F401  (registers the RecSimBench/* ids)
from recsim_bench.parts.items import CatalogueItems
from recsim_bench.parts.retention import RetentionUser
from recsim_bench.agents import evaluate_episodes
from recsim_bench.references import reference_agent
from recsim_bench.scoring.metrics import mean_ci

ENV_ID = "RecSimBench/Retention-v0"
RTOL = 1e-12
USER = RetentionUser(embedding_dim=2)
P = [1.2, -0.5]
# Three items, the same slate in every row:
#   e = (0.6, 0.8), c = 0.5:  p.e = 0.72 - 0.40 = 0.32;  a = 0.32 + 2 * 0.5 = 1.32;  s = 0.32 - 1.5 * 0.5 = -0.43
#   e = (1.0, 0.0), c = 0.0:  p.e = 1.2;                 a = 1.2;                    s = 1.2
#   e = (0.0, 1.0), c = 1.0:  p.e = -0.5;                a = -0.5 + 2 = 1.5;         s = -0.5 - 1.5 = -2.0
EMBEDDING = [[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]]
CLICKBAIT = [0.5, 0.0, 1.0]


def _slate(rows: int) -> dict[str, NDArray]:
    return {
        "embedding": np.tile(np.array(EMBEDDING, dtype=np.float64), (rows, 1, 1)),
        "clickbait": np.tile(np.array(CLICKBAIT), (rows, 1)),
    }


def _state(temper: list[float], satisfaction: list[float], session_step: list[int], sessions_done: list[int]) -> dict:
    n = len(temper)
    return {
        "preference": np.tile(np.array(P), (n, 1)),
        "temper": np.array(temper, dtype=float),
        "satisfaction": np.array(satisfaction, dtype=float),
        "session_step": np.array(session_step, dtype=np.int64),
        "sessions_done": np.array(sessions_done, dtype=np.int64),
        "gap": np.zeros(n),
        "churned": np.zeros(n, dtype=bool),
    }


def _clicks(*rows: list[int]) -> NDArray[np.bool_]:
    return np.array([[slot in row for slot in range(3)] for row in rows])


def test_affinity_and_click_satisfaction() -> None:
    state = _state([3.0], [0.0], [0], [0])
    assert_allclose(USER.affinity(state, _slate(1)), [[1.32, 1.2, 1.5]], rtol=RTOL)
    assert_allclose(USER.click_satisfaction(state, _slate(1)), [[-0.43, 1.2, -2.0]], rtol=RTOL)


def test_init_draws_a_preference_of_norm_interest_scale() -> None:
    # u1 = (e^-0.5, e^-2): radii sqrt(1) = 1 and sqrt(4) = 2; u2 = (0, 0.5): cos 0 = 1, cos pi = -1.
    # z = (1, -2), |z| = sqrt(5): p = 2 * (1, -2) / sqrt(5) = (0.894427, -1.788854).
    u = np.array([[np.exp(-0.5), np.exp(-2.0), 0.0, 0.5]])
    state = USER.init(u, np.zeros(1, dtype=np.int64))
    assert_allclose(state["preference"], [[0.8944271909999159, -1.7888543819998317]], rtol=1e-6)
    assert_allclose(state["temper"], [3.0])
    assert state["session_step"][0] == state["sessions_done"][0] == 0 and not state["churned"][0]
    assert_array_equal(USER.prior(2)["preference"], np.zeros((2, 2)))


def test_temper_and_satisfaction_within_a_session() -> None:
    state = _state([3.0, 3.0, 3.0], [0.4, 0.4, 0.4], [5, 5, 5], [0, 0, 0])
    before = {name: values.copy() for name, values in state.items()}
    # Row 0 clicks slot 0 (s = -0.43): temper 3 - 0.43 - 0.3 = 2.27, satisfaction 0.4 - 0.43 = -0.03.
    # Row 1 clicks nothing: temper 3 - 1 = 2, satisfaction stays 0.4.
    # Row 2 clicks slots 1 and 2 (a multi-click model): s = 1.2 - 2.0 = -0.8; temper 3 - 0.8 - 0.3 = 1.9,
    # satisfaction 0.4 - 0.8 = -0.4. Nobody leaves: temper > 0 and 6 steps < 20.
    new = USER.update(state, _slate(3), _clicks([0], [], [1, 2]), {}, np.full((3, 1), 0.5))
    assert_allclose(new["temper"], [2.27, 2.0, 1.9], rtol=RTOL)
    assert_allclose(new["satisfaction"], [-0.03, 0.4, -0.4], rtol=RTOL, atol=1e-15)
    assert_array_equal(new["session_step"], [6, 6, 6])
    assert_array_equal(new["sessions_done"], [0, 0, 0])
    assert not USER.terminated(new).any()
    for name, values in before.items():  # update is pure
        assert_array_equal(state[name], values)


def test_leaving_draws_the_return_gap_and_starts_the_next_session() -> None:
    state = _state([0.5, 9.0, 0.2, 0.2, 9.0], [1.0, 0.0, 0.0, 0.0, 0.0], [3, 19, 3, 3, 19], [0, 0, 2, 2, 7])
    clicked = _clicks([], [1], [2], [2], [1])
    v = np.array([[0.5], [np.exp(-1.0)], [0.2], [0.5], [0.5]])
    new = USER.update(state, _slate(5), clicked, {}, v)
    # Row 0: no click, temper 0.5 - 1 = -0.5 <= 0: leaves with satisfaction 1.0;
    #   gap = -3 exp(-0.3 * 1.0) ln 0.5 = 3 * 0.74081822 * 0.69314718 = 1.54048818 days: returns.
    # Row 1: click s = 1.2, temper 9.9 > 0, but step 20 = session_length: leaves with satisfaction 1.2;
    #   gap = -3 exp(-0.36) ln e^-1 = 3 * 0.69767633 = 2.09302898 days: returns.
    # Row 2: click s = -2, temper 0.2 - 2 - 0.3 = -2.1: leaves with satisfaction -2;
    #   mean 3 exp(0.6) = 5.46635640; gap = 5.46635640 * ln 5 = 8.79776123 > 7: churns.
    # Row 3: the same session, v = 0.5: gap = 5.46635640 * 0.69314718 = 3.78898953 <= 7: returns.
    # Row 4: leaves its 8th session (7 done before): gone whatever the gap.
    assert_allclose(new["gap"], [1.5404881829189043, 2.093028978213093, 8.797761234922282, 3.788989527407853,
                                 3 * np.exp(-0.36) * np.log(2)], rtol=1e-12)
    assert_array_equal(new["churned"], [False, False, True, False, False])
    assert_array_equal(new["sessions_done"], [1, 1, 3, 3, 8])
    assert_array_equal(USER.terminated(new), [False, False, True, False, True])
    # A new session resets the per-session state; the preference is kept.
    assert_allclose(new["temper"], [3.0] * 5)
    assert_allclose(new["satisfaction"], [0.0] * 5)
    assert_array_equal(new["session_step"], [0] * 5)
    assert_array_equal(new["preference"], state["preference"])
    # Observed: sessions ended / 8, steps into the session / 20, gap / 7 (capped at 1), returned flag.
    # Row 1: 1/8 = 0.125, 0, 2.09302898 / 7 = 0.29900414, 1. Row 2 churned: gap capped at 1.
    obs = USER.observe(new)
    assert obs.dtype == np.float32
    assert_allclose(obs[1], [0.125, 0.0, 0.2990041428571429, 1.0], rtol=1e-6)
    assert_allclose(obs[2], [3 / 8, 0.0, 1.0, 1.0], rtol=1e-6)
    assert_allclose(obs[4], [1.0, 0.0, 3 * np.exp(-0.36) * np.log(2) / 7, 1.0], rtol=1e-6)
    low, high = USER.observation_bounds()
    assert ((obs >= low) & (obs <= high)).all()


def test_return_gap_for_a_given_uniform() -> None:
    # Satisfaction 0: mean 3 days; v = e^-2 gives 3 * 2 = 6 days.
    assert_allclose(USER.return_gap(np.array([0.0]), np.array([np.exp(-2.0)])), [6.0], rtol=RTOL)


def test_first_session_observation() -> None:
    assert_array_equal(USER.observe(_state([3.0], [0.0], [4], [0])), np.array([[0.0, 0.2, 0.0, 0.0]], dtype=np.float32))


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="user_model 'retention': session_length must be an integer >= 1"):
        RetentionUser(session_length=0)
    with pytest.raises(ValueError, match="user_model 'retention': churn_after must be a finite number > 0"):
        RetentionUser(churn_after=0.0)
    with pytest.raises(ValueError, match="embedding_dim=4 but item_model 'catalogue' has embedding_dim=8"):
        gym.make(ENV_ID, user_model={"name": "retention", "embedding_dim": 4})


def test_the_response_bounds_include_the_zeros_of_the_first_response() -> None:
    env = gym.make(ENV_ID)
    observed = ("topic", "embedding", "clickbait")
    assert CatalogueItems(observed=observed).feature_bounds()[0][-1] > 0.0  # the min clickbait of the catalogue
    response = env.observation_space["response"]
    assert (response.low <= 0.0).all() and (response.high >= 0.0).all()
    assert env.observation_space.contains(env.reset(seed=0)[0])


def test_leaving_in_the_env_shows_in_the_next_observation() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    state = env.unwrapped.state
    user = dict(state.user, temper=np.array([1e-9]), satisfaction=np.array([50.0]))  # any step ends the session
    env.unwrapped.state = dataclasses.replace(state, user=user)
    obs, _, terminated, truncated, _ = env.step(np.array([0, 1, 2]))
    # Satisfaction >= 50 - 3 * 3.5 makes the mean gap <= 3 exp(-11.85) days: the user returns.
    assert not terminated and not truncated
    assert obs["user"][0] == np.float32(1 / 8) and obs["user"][1] == 0.0 and obs["user"][3] == 1.0
    assert env.unwrapped.state.user["temper"][0] == 3.0


def _run(reference: str, episodes: int) -> tuple[NDArray[np.float64], int]:
    """Returns of the first episode of each row, and the steps they took in all."""
    measured = evaluate_episodes(reference_agent(ENV_ID, reference), ENV_ID, episodes, 0, split="train", fresh_users=True)
    return measured.returns, int(measured.lengths.sum())


def test_retention_aware_policy_beats_the_myopic_oracle_in_return_not_per_step() -> None:
    satisfying, satisfying_steps = _run("satisfying", 200)
    oracle, oracle_steps = _run("oracle", 200)
    # Measured with 1,000 episodes: return 32.6 vs 13.0; clicks per step 0.645 vs 0.755.
    # With these 200 (seed 0): 95% CIs [30.4, 35.4] vs [10.8, 13.0]; clicks per step 0.644 vs 0.754.
    assert mean_ci(satisfying)[1] > mean_ci(oracle)[2]
    assert oracle.sum() / oracle_steps > satisfying.sum() / satisfying_steps + 0.05


def test_leave_is_a_behaviour_on_the_step_that_ends_a_session_and_can_be_rewarded() -> None:
    env = gym.make(ENV_ID, reward={"click": 1.0, "leave": -5.0})
    env.reset(seed=0)
    state = env.unwrapped.state
    user = dict(state.user, temper=np.array([1e-9]), satisfaction=np.array([50.0]))  # any step ends the session
    env.unwrapped.state = dataclasses.replace(state, user=user)
    obs, reward, _, _, info = env.step(np.array([0, 1, 2]))
    # The session ended: leave is reported in slot 0 and costs 5; the next observation flags the return.
    np.testing.assert_array_equal(info["leave"], [1.0, 0.0, 0.0])
    assert reward == info["click"].sum() - 5.0 and obs["user"][3] == 1.0
    with pytest.raises(ValueError, match=r"allowed: \['click', 'leave'\]"):
        gym.make(ENV_ID, reward={"purchase": 1.0})
