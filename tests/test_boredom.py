"""Known-answer tests of the boredom user model and RecSimBench/Boredom-v0's long-term comparison.

Embeddings are small vectors such as (0.6, 0.8) whose products are worked out by hand; the
affinity is computed in float32, hence the tolerance of 1e-6 there.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray

import recsim_bench  # noqa: F401  (registers the RecSimBench/* ids)
from recsim_bench import rng
from recsim_bench.parts import build_part
from recsim_bench.parts.boredom import BoredomUser
from recsim_bench.agents import evaluate_episodes
from recsim_bench.references import reference_agent
from recsim_bench.scoring.metrics import mean_ci

ENV_ID = "RecSimBench/Boredom-v0"
RTOL = 1e-12


def _user(**params) -> BoredomUser:
    """Three topics in R^2, a window of 3 clicks, bored at 2 of them for 2 steps."""
    defaults = {"num_topics": 3, "embedding_dim": 2, "drift": 0.5, "window": 3, "threshold": 2}
    return BoredomUser(**{**defaults, "boredom_duration": 2, "boredom_penalty": 0.5, **params})


def _state(user: BoredomUser, preference: list[float]) -> dict[str, NDArray]:
    state = user.prior(1)
    state["preference"] = np.array([preference])
    return state


def _slate(topics: list[int], embeddings: list[list[float]] | None = None) -> dict[str, NDArray]:
    if embeddings is None:
        embeddings = [[1.0, 0.0]] * len(topics)
    return {"topic": np.array([topics]), "embedding": np.array([embeddings], dtype=np.float32)}


def _step(user: BoredomUser, state: dict[str, NDArray], topics: list[int], clicked: list[bool]) -> dict[str, NDArray]:
    return user.update(state, _slate(topics), np.array([clicked]), {}, np.zeros((1, 0)))


# ---------------------------------------------------------------- affinity and drift
def test_affinity_is_the_cosine_minus_the_penalty_of_bored_topics() -> None:
    user = _user()
    state = _state(user, [0.6, 0.8])
    items = _slate([0, 1, 2], [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    # p . e = 0.6, 0.8, 0.36 + 0.64 = 1.0
    assert_allclose(user.affinity(state, items), [[0.6, 0.8, 1.0]], atol=1e-6)
    state["boredom_left"] = np.array([[0, 3, 0]])  # topic 1 bored: 0.8 - 0.5
    assert_allclose(user.affinity(state, items), [[0.6, 0.3, 1.0]], atol=1e-6)


def test_one_click_drifts_the_preference_toward_the_item() -> None:
    user = _user(drift=0.5)
    # p + 0.5 (e - p) = (0, 1) + 0.5 ((1, 0) - (0, 1)) = (0.5, 0.5), normalised (1, 1) / sqrt 2.
    state = _step(user, _state(user, [0.0, 1.0]), [0, 1], [True, False])
    assert_allclose(state["preference"], [[2**-0.5, 2**-0.5]], rtol=RTOL)


def test_several_clicks_drift_toward_their_mean_once_per_click() -> None:
    user = _user(drift=0.5)
    state = _state(user, [0.0, 1.0])
    items = _slate([0, 1, 2], [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    # Clicks on (1, 0) and (0.6, 0.8): c = 2, mean m = (0.8, 0.4), (1 - 0.5)^2 = 0.25:
    # 0.25 (0, 1) + 0.75 (0.8, 0.4) = (0.6, 0.55), norm sqrt(0.36 + 0.3025) = sqrt(0.6625).
    state = user.update(state, items, np.array([[True, True, False]]), {}, np.zeros((1, 0)))
    assert_allclose(state["preference"], [[0.6 / 0.6625**0.5, 0.55 / 0.6625**0.5]], rtol=1e-7)


def test_no_click_leaves_the_preference() -> None:
    user = _user()
    state = _step(user, _state(user, [0.6, 0.8]), [0, 1], [False, False])
    assert_allclose(state["preference"], [[0.6, 0.8]], rtol=RTOL)


def test_preferences_are_unit_vectors_and_the_prior_is_zero() -> None:
    user = BoredomUser()
    u = rng.uniforms(rng.row_keys(range(100)), np.zeros(100, np.int64), np.zeros(100, np.int64), rng.TASK, 16)
    state = user.init(u, np.zeros(100, np.int64))
    assert_allclose(np.linalg.norm(state["preference"], axis=1), 1.0, rtol=1e-12)
    assert_array_equal(user.prior(3)["preference"], np.zeros((3, 8)))


# ---------------------------------------------------------------- window and boredom
def test_clicks_fill_the_window_in_slate_order_and_evict_the_oldest() -> None:
    user = _user(threshold=3)
    state = _step(user, user.prior(1), [2, 0, 1], [True, False, True])
    assert_array_equal(state["recent_topics"], [[2, 1, -1]])  # clicks 2 then 1 at slots 0, 1
    assert_array_equal(state["cursor"], [2])
    assert_array_equal(state["window_counts"], [[0, 1, 1]])
    assert_allclose(user.observe(state), [[0.0, 1 / 3, 1 / 3]], rtol=1e-7)
    state = _step(user, state, [0, 0], [True, True])  # slot 2 gets 0, then slot 0 (the 2) is evicted
    assert_array_equal(state["recent_topics"], [[0, 1, 0]])
    assert_array_equal(state["cursor"], [1])
    assert_array_equal(state["window_counts"], [[2, 1, 0]])
    assert_array_equal(state["boredom_left"], [[0, 0, 0]])  # threshold 3 not reached


def test_a_step_with_more_clicks_than_the_window_keeps_its_last_clicks() -> None:
    user = _user(threshold=3)
    state = _step(user, user.prior(1), [0, 1, 2, 2, 1], [True] * 5)
    # Window 3: the last three clicks (2, 2, 1) enter at slots 0, 1, 2; the cursor comes back to 0.
    assert_array_equal(state["recent_topics"], [[2, 2, 1]])
    assert_array_equal(state["cursor"], [0])
    assert_array_equal(state["window_counts"], [[0, 1, 2]])


def test_multi_click_onset_lasts_boredom_duration_steps_then_expires() -> None:
    user = _user(threshold=2, boredom_duration=2, boredom_penalty=0.5)
    items = _slate([0, 1], [[0.6, 0.8], [1.0, 0.0]])
    state = _state(user, [1.0, 0.0])
    state = _step(user, state, [0, 0, 1], [True, True, True])  # embeddings (1, 0): p stays (1, 0)
    # Two clicks on topic 0 in one step: 2 >= threshold, so topic 0 is bored for the next 2 steps;
    # topic 1 (1 entry) is not.
    assert_array_equal(state["window_counts"], [[2, 1, 0]])
    assert_array_equal(state["boredom_left"], [[2, 0, 0]])
    # The preference is (1, 0) after drifting toward (1, 0): p . e = 0.6 and 1.0, topic 0 penalised by 0.5.
    assert_allclose(user.affinity(state, items), [[0.1, 1.0]], atol=1e-6)
    state = _step(user, state, [1], [False])
    assert_array_equal(state["boredom_left"], [[1, 0, 0]])
    assert_allclose(user.affinity(state, items), [[0.1, 1.0]], atol=1e-6)
    state = _step(user, state, [1], [False])
    assert_array_equal(state["boredom_left"], [[0, 0, 0]])  # expired after 2 steps
    assert_allclose(user.affinity(state, items), [[0.6, 1.0]], atol=1e-6)


def test_only_topics_clicked_this_step_start_boredom_and_a_new_click_restarts_it() -> None:
    user = _user(threshold=2, boredom_duration=3)
    state = _step(user, user.prior(1), [0, 0], [True, True])
    assert_array_equal(state["boredom_left"], [[3, 0, 0]])
    state = _step(user, state, [1], [True])  # topic 0 still has 2 entries but was not clicked: it counts down
    assert_array_equal(state["window_counts"], [[2, 1, 0]])
    assert_array_equal(state["boredom_left"], [[2, 0, 0]])
    state = _step(user, state, [0], [True])  # evicts a 0 and adds a 0: still 2 entries, clicked: back to 3
    assert_array_equal(state["window_counts"], [[2, 1, 0]])
    assert_array_equal(state["boredom_left"], [[3, 0, 0]])


def test_update_does_not_write_into_its_input() -> None:
    user = _user()
    state = _state(user, [0.6, 0.8])
    before = {name: values.copy() for name, values in state.items()}
    _step(user, state, [0, 0, 1], [True, True, True])
    for name, values in state.items():
        assert_array_equal(values, before[name])


# ---------------------------------------------------------------- parameters and bounds
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"threshold": 11, "window": 10}, "threshold must be <= window"),
        ({"drift": 1.5}, r"drift must be in \[0.0, 1.0\]"),
        ({"window": 0}, "window must be an integer >= 1"),
        ({"boredom_penalty": -1.0}, "boredom_penalty must be a finite number >= 0"),
    ],
)
def test_bad_parameters_are_refused(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"user_model 'boredom': {message}"):
        build_part("user_model", {"name": "boredom", **params})


def test_an_embedding_size_mismatch_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="embedding_dim=4 but item_model 'catalogue' has embedding_dim=8"):
        gym.make(ENV_ID, user_model={"name": "boredom", "embedding_dim": 4})


def test_observations_stay_in_bounds_when_one_topic_fills_the_window() -> None:
    # A window of 2 fills with one topic whenever two clicks of it come in a row: shares reach 1.
    env = gym.make_vec(ENV_ID, num_envs=64, user_model={"name": "boredom", "window": 2, "threshold": 2})
    space = env.unwrapped.single_observation_space
    obs, _ = env.reset(seed=0)
    oracle = reference_agent(ENV_ID, "oracle")
    oracle.bind(env.unwrapped)
    seen = 0.0
    for _ in range(30):
        obs, *_ = env.step(oracle.act(obs))
        assert all(space.contains({key: values[row] for key, values in obs.items()}) for row in range(64))
        seen = max(seen, float(obs["user"][:, :10].max()))
    assert seen == 1.0


# ---------------------------------------------------------------- the long-term comparison
def _first_steps_return(reference: str, steps: int, episodes: int) -> NDArray[np.float64]:
    env = gym.make_vec(ENV_ID, num_envs=episodes)
    obs, _ = env.reset(seed=0)
    agent = reference_agent(ENV_ID, reference)
    if hasattr(agent, "bind"):
        agent.bind(env.unwrapped)
    agent.reset(np.ones(episodes, dtype=bool), np.arange(episodes))
    total = np.zeros(episodes)
    for _ in range(steps):
        obs, reward, *_ = env.step(agent.act(obs))
        total += reward
    return total


def _returns(reference: str, episodes: int) -> NDArray[np.float64]:
    agent = reference_agent(ENV_ID, reference)
    return evaluate_episodes(agent, ENV_ID, episodes, 0, split="train", fresh_users=True).returns


def test_the_myopic_oracle_wins_the_first_steps_and_loses_the_episode() -> None:
    random_now, oracle_now, diverse_fresh_now = (
        mean_ci(_first_steps_return(reference, 5, 200)) for reference in ("random", "oracle", "diverse_fresh")
    )
    assert random_now[2] < diverse_fresh_now[1] and diverse_fresh_now[0] < oracle_now[0]
    oracle = mean_ci(_returns("oracle", 200))
    for name in ("fresh", "diverse_fresh"):
        other = mean_ci(_returns(name, 200))
        assert oracle[2] < other[1], (name, oracle, other)
