"""Known-answer tests of the simulator's parts, the oracle and the keyed random stream.

Every expected value is worked out by hand from RecSim 0.2.4's equations, with
the arithmetic written out in literal numbers. Where a part adds Gaussian noise,
the formula is pinned with the noise's standard deviation set to 0 and the noise
itself is checked by its first two moments, so the tests do not depend on how
the normals are made from uniforms.
"""

from __future__ import annotations

import copy
import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray

import recsim_bench  # noqa: F401  (registers the RecSimBench/* ids)
from recsim_bench import exact_math, rng
from recsim_bench.parts import build_reward
from recsim_bench.parts.base import categorical
from recsim_bench.parts.choice import (
    AlwaysFirst,
    ExponentialCascade,
    MultinomialLogit,
    MultinomialProportional,
    ProportionalCascade,
)
from recsim_bench.parts.items import TopicQualityItems
from recsim_bench.parts.response import EngagementResponse, WatchTimeResponse
from recsim_bench.parts.users import InterestEvolutionUser, LongTermSatisfactionUser, StaticAffinityUser

RTOL = 1e-12
TRAIN = np.zeros(8, dtype=np.int64)  # split codes of train users
SCORES = np.array([[0.5, -0.2]])


def _keyed_uniforms(rows: int, n: int) -> NDArray[np.float64]:
    """``n`` uniforms for each of ``rows`` rows seeded 0, 1, ... (episode 0, step 0)."""
    zeros = np.zeros(rows, np.int64)
    return rng.uniforms(rng.row_keys(range(rows)), zeros, zeros, rng.STEP, n)


# ---------------------------------------------------------------- choice models
def test_multinomial_logit_with_no_click_mass() -> None:
    probs = MultinomialLogit(no_click_mass=1.0).probabilities(SCORES)
    total = np.exp(0.5) + np.exp(-0.2) + np.exp(1.0)
    assert_allclose(probs, [[np.exp(0.5) / total, np.exp(-0.2) / total, np.exp(1.0) / total]], rtol=RTOL)


def test_multinomial_logit_is_stable_for_large_scores() -> None:
    # exp(1000) overflows, but the ratio is that of scores (1000, 999, no click 0): 1 : e^-1 : ~0.
    probs = MultinomialLogit(no_click_mass=0.0).probabilities(np.array([[1000.0, 999.0]]))
    total = 1.0 + np.exp(-1.0)
    assert_allclose(probs, [[1.0 / total, np.exp(-1.0) / total, 0.0]], rtol=RTOL, atol=1e-300)


def test_multinomial_proportional() -> None:
    # Weights s + 1 = (1.5, 0.8), no click 1 - (-1) = 2, total 4.3.
    probs = MultinomialProportional(min_normalizer=-1.0, no_click_mass=1.0).probabilities(SCORES)
    assert_allclose(probs, [[1.5 / 4.3, 0.8 / 4.3, 2.0 / 4.3]], rtol=RTOL)


def test_multinomial_proportional_clips_scores_below_min_normalizer() -> None:
    # -1.5 - (-1) < 0 is clipped to 0; weights (0, 1.5) and no click 2, total 3.5.
    probs = MultinomialProportional(min_normalizer=-1.0, no_click_mass=1.0).probabilities(np.array([[-1.5, 0.5]]))
    assert_allclose(probs, [[0.0, 1.5 / 3.5, 2.0 / 3.5]], rtol=RTOL)


def test_exponential_cascade() -> None:
    probs = ExponentialCascade(attention_prob=0.65, score_scaling=0.05).probabilities(SCORES)
    c0 = 0.65 * 0.05 * np.exp(0.5)  # click probability of slot 0 once examined
    c1 = 0.65 * 0.05 * np.exp(-0.2)
    assert_allclose(probs, [[c0, (1 - c0) * c1, (1 - c0) * (1 - c1)]], rtol=RTOL)
    assert_allclose(probs.sum(axis=1), [1.0], rtol=RTOL)


def test_exponential_cascade_caps_the_scaled_score_at_one() -> None:
    # 0.05 * exp(4) = 2.73 > 1 is capped at 1, so slot 0 is clicked with 0.65; slot 1: 0.65 * 0.05 * exp(0).
    probs = ExponentialCascade(attention_prob=0.65, score_scaling=0.05).probabilities(np.array([[4.0, 0.0]]))
    assert_allclose(probs, [[0.65, 0.35 * 0.0325, 0.35 * 0.9675]], rtol=RTOL)


def test_proportional_cascade() -> None:
    # Slot 0: 0.65 * 0.05 * (0.5 + 1) = 0.04875; slot 1: 0.65 * 0.05 * (-0.2 + 1) = 0.026.
    probs = ProportionalCascade(attention_prob=0.65, score_scaling=0.05, min_normalizer=-1.0).probabilities(SCORES)
    assert_allclose(probs, [[0.04875, 0.95125 * 0.026, 0.95125 * 0.974]], rtol=RTOL)
    assert_allclose(probs.sum(axis=1), [1.0], rtol=RTOL)


def test_proportional_cascade_clips_into_zero_one() -> None:
    # -3 + 1 < 0 gives 0; 0.05 * (30 + 1) = 1.55 > 1 gives 1, so slot 1 is clicked with 0.65 once reached.
    probs = ProportionalCascade(attention_prob=0.65, score_scaling=0.05, min_normalizer=-1.0).probabilities(
        np.array([[-3.0, 30.0]])
    )
    assert_allclose(probs, [[0.0, 0.65, 0.35]], rtol=RTOL)


def test_always_first() -> None:
    probs = AlwaysFirst().probabilities(np.array([[0.5, -0.2, 3.0], [-1.0, 2.0, 0.0]]))
    assert_array_equal(probs, [[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    "model",
    [
        MultinomialLogit(no_click_mass=1.0),
        MultinomialProportional(min_normalizer=-1.0, no_click_mass=1.0),
        ExponentialCascade(attention_prob=0.65, score_scaling=0.05),
        ProportionalCascade(attention_prob=0.65, score_scaling=0.05, min_normalizer=-1.0),
        AlwaysFirst(),
    ],
    ids=lambda model: model.name,
)
def test_choice_rows_are_independent_distributions(model) -> None:
    scores = np.array([[0.5, -0.2, 0.9], [-1.0, 1.0, 0.0], [0.3, 0.3, 0.3]])
    probs = model.probabilities(scores)
    assert probs.shape == (3, 4)
    assert np.all(probs >= 0.0)
    assert_allclose(probs.sum(axis=1), np.ones(3), rtol=RTOL)
    assert_allclose(model.probabilities(scores[1:2]), probs[1:2], rtol=RTOL)


# ---------------------------------------------------------------- interest-evolution user
def _watch_slate() -> dict[str, np.ndarray]:
    """Two videos: topic 0 of quality 1.2 and topic 2 of quality -0.3, both 4 minutes long."""
    return {"topic": np.array([[0, 2]]), "quality": np.array([[1.2, -0.3]]), "length": np.array([[4.0, 4.0]])}


def _ie_state(interest: float) -> dict[str, np.ndarray]:
    return {"interests": np.array([[interest, -0.5, 0.9]]), "time_budget": np.array([200.0])}


def _click_first(state, user: InterestEvolutionUser, u: float) -> dict[str, np.ndarray]:
    clicked = np.array([[True, False]])
    behaviours = {"click": np.array([[1.0, 0.0]]), "watch_time": np.array([[4.0, 0.0]])}
    return user.update(state, _watch_slate(), clicked, behaviours, np.array([[u]]))


@pytest.mark.parametrize(
    "u, expected_interest",
    [
        # alpha = 0.3 - 0.3 * |0.4| = 0.18, delta = 0.18 * (1 - 0.4) = 0.108; toward iff u < (0.4 + 1) / 2 = 0.7.
        (0.69, 0.4 + 0.108),
        (0.71, 0.4 - 0.108),
    ],
    ids=["toward", "away"],
)
def test_interest_evolution_click_moves_interest(u: float, expected_interest: float) -> None:
    state = _ie_state(0.4)
    before = copy.deepcopy(state)
    new = _click_first(state, InterestEvolutionUser(num_topics=3), u)
    assert_allclose(new["interests"], [[expected_interest, -0.5, 0.9]], rtol=RTOL)
    # Budget: 200 - 4 + (0.9 / 3.4) * 4 * 1.2 (user_quality_factor 0, document_quality_factor 1).
    assert_allclose(new["time_budget"], [200.0 - 4.0 + (0.9 / 3.4) * 4.0 * 1.2], rtol=RTOL)
    for name in before:
        assert_array_equal(state[name], before[name])


@pytest.mark.parametrize(
    "u, expected_interest",
    [
        # alpha = 0.3 - (0.3 / 0.1) * 0.5 = -1.2, delta = -1.2 * (1 + 0.5) = -1.8; toward iff u < (1 - 0.5) / 2 = 0.25.
        (0.2, -1.0),  # -0.5 + (-1.8) = -2.3, clipped to -1
        (0.3, 1.0),  # -0.5 - (-1.8) = 1.3, clipped to +1
    ],
    ids=["clip-at-minus-one", "clip-at-plus-one"],
)
def test_interest_evolution_interest_is_clipped(u: float, expected_interest: float) -> None:
    user = InterestEvolutionUser(num_topics=3, alpha_x_intercept=0.1)
    new = _click_first(_ie_state(-0.5), user, u)
    assert_allclose(new["interests"], [[expected_interest, -0.5, 0.9]], rtol=RTOL)


def test_interest_evolution_budget_uses_the_clicked_item() -> None:
    # Click on slot 1 (topic 2, quality -0.3) with interest 0.9 and user_quality_factor 0.5:
    # utility = 0.5 * 0.9 + 1 * (-0.3) = 0.15; budget 200 - 4 + (0.9 / 3.4) * 4 * 0.15.
    # Interest: alpha = 0.3 - 0.3 * 0.9 = 0.03, delta = 0.03 * 0.1 = 0.003, u = 0.1 < 0.95 moves toward.
    user = InterestEvolutionUser(num_topics=3, user_quality_factor=0.5)
    behaviours = {"click": np.array([[0.0, 1.0]]), "watch_time": np.array([[0.0, 4.0]])}
    new = user.update(_ie_state(0.4), _watch_slate(), np.array([[False, True]]), behaviours, np.array([[0.1]]))
    assert_allclose(new["interests"], [[0.4, -0.5, 0.903]], rtol=RTOL)
    assert_allclose(new["time_budget"], [200.0 - 4.0 + (0.9 / 3.4) * 4.0 * 0.15], rtol=RTOL)


def test_interest_evolution_no_click_costs_step_penalty() -> None:
    state = _ie_state(0.4)
    behaviours = {"click": np.zeros((1, 2)), "watch_time": np.zeros((1, 2))}
    new = InterestEvolutionUser(num_topics=3).update(
        state, _watch_slate(), np.zeros((1, 2), dtype=bool), behaviours, np.array([[0.1]])
    )
    assert_array_equal(new["interests"], [[0.4, -0.5, 0.9]])
    assert_allclose(new["time_budget"], [200.0 - 0.5], rtol=RTOL)


def test_interest_evolution_terminates_when_budget_is_spent() -> None:
    user = InterestEvolutionUser(num_topics=3)
    state = {"interests": np.zeros((3, 3)), "time_budget": np.array([0.5, 0.0, -1.0])}
    assert_array_equal(user.terminated(state), [False, True, True])


def test_interest_evolution_init() -> None:
    # Interests 2u - 1 per topic; budget 200.
    state = InterestEvolutionUser(num_topics=3).init(np.array([[0.25, 0.5, 0.9]]), TRAIN[:1])
    assert_allclose(state["interests"], [[-0.5, 0.0, 0.8]], rtol=RTOL)
    assert_array_equal(state["time_budget"], [200.0])


# ---------------------------------------------------------------- long-term satisfaction user
def _lts_state(npe: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    n = len(npe)
    return {"net_positive_exposure": npe, "satisfaction": np.full(n, 0.5), "time_budget": np.full(n, 60.0)}


def test_long_term_satisfaction_click() -> None:
    # innovation_stddev = 0 removes the noise: npe' = 0.7 * 1.0 - 2 * (0.8 - 0.5) = 0.1.
    user = LongTermSatisfactionUser(sensitivity=0.2, innovation_stddev=0.0)
    state = _lts_state(np.array([1.0]))
    before = copy.deepcopy(state)
    slate = {"clickbait": np.array([[0.8]])}
    new = user.update(state, slate, np.array([[True]]), {}, np.full((1, user.update_uniforms), 0.5))
    assert_allclose(new["net_positive_exposure"], [0.1], rtol=RTOL)
    assert_allclose(new["satisfaction"], [1.0 / (1.0 + np.exp(-0.2 * 0.1))], rtol=RTOL)
    assert_array_equal(new["time_budget"], [59.0])
    for name in before:
        assert_array_equal(state[name], before[name])


def test_long_term_satisfaction_innovation_is_normal_with_its_stddev() -> None:
    # npe' = 0.1 + 0.05 * z with z standard normal: z = (npe' - 0.1) / 0.05 over n = 1e5 users.
    n = 100_000
    user = LongTermSatisfactionUser(sensitivity=0.2, innovation_stddev=0.05)
    u = _keyed_uniforms(n, user.update_uniforms)
    slate = {"clickbait": np.full((n, 1), 0.8)}
    new = user.update(_lts_state(np.ones(n)), slate, np.ones((n, 1), dtype=bool), {}, u)
    z = (new["net_positive_exposure"] - 0.1) / 0.05
    # Standard errors: 1 / sqrt(n) = 3.2e-3 for the mean, 1 / sqrt(2 n) = 2.2e-3 for the standard deviation.
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.std() - 1.0) < 5 / np.sqrt(2 * n)


def test_long_term_satisfaction_without_click_keeps_exposure_but_spends_budget() -> None:
    user = LongTermSatisfactionUser(sensitivity=0.2)
    u = np.full((1, user.update_uniforms), 0.5)
    new = user.update(_lts_state(np.array([1.0])), {"clickbait": np.array([[0.8]])}, np.array([[False]]), {}, u)
    assert_array_equal(new["net_positive_exposure"], [1.0])
    assert_allclose(new["satisfaction"], [1.0 / (1.0 + np.exp(-0.2))], rtol=RTOL)
    assert_array_equal(new["time_budget"], [59.0])


def test_long_term_satisfaction_init() -> None:
    # npe = (v - 0.5) / (1 - 0.7): v = 0.8 gives 1.0, v = 0.2 gives -1.0.
    state = LongTermSatisfactionUser(sensitivity=0.2).init(np.array([[0.8], [0.2]]), TRAIN[:2])
    assert_allclose(state["net_positive_exposure"], [1.0, -1.0], rtol=RTOL)
    assert_allclose(state["satisfaction"], [1.0 / (1.0 + np.exp(-0.2)), 1.0 / (1.0 + np.exp(0.2))], rtol=RTOL)
    assert_array_equal(state["time_budget"], [60.0, 60.0])


# ---------------------------------------------------------------- static-affinity user
def test_static_affinity_score_is_topic_affinity_plus_quality() -> None:
    state = {"affinity": np.array([[1.1, 2.0]]), "user_type": np.array([0])}
    items = {"topic": np.array([[1, 0, 1]]), "quality": np.array([[0.5, 0.25, -0.1]])}
    # (2.0 + 0.5, 1.1 + 0.25, 2.0 - 0.1)
    assert_allclose(StaticAffinityUser().affinity(state, items), [[2.5, 1.35, 1.9]], rtol=RTOL)


def test_static_affinity_init_type_and_affinity() -> None:
    # Type 0 iff u0 < 0.3; with affinity_stddev 0 the lognormal affinity is exp(mean[type][d]).
    user = StaticAffinityUser(affinity_stddev=((0.0, 0.0), (0.0, 0.0)))
    u = np.full((3, user.init_uniforms), 0.5)
    u[:, 0] = [0.2, 0.31, 0.9]
    state = user.init(u, np.zeros(len(u), dtype=np.int64))
    assert_array_equal(state["user_type"], [0, 1, 1])
    expected = [[np.exp(0.1), np.exp(0.7)], [np.exp(0.7), np.exp(0.1)], [np.exp(0.7), np.exp(0.1)]]
    assert_allclose(state["affinity"], expected, rtol=RTOL)


def test_static_affinity_init_is_lognormal() -> None:
    # log(affinity) = mean[type][d] + sd[type][d] * z: with sd = 0.1 and 0.2, z = (log a - mean) / sd is standard
    # normal over n = 5e4 users of each type (u0 = 0.2 gives type 0, u0 = 0.9 type 1).
    n = 50_000
    user = StaticAffinityUser(affinity_stddev=((0.1, 0.2), (0.2, 0.1)))
    u = _keyed_uniforms(2 * n, user.init_uniforms)
    u[:n, 0], u[n:, 0] = 0.2, 0.9
    state = user.init(u, np.zeros(len(u), dtype=np.int64))
    assert_array_equal(state["user_type"], [0] * n + [1] * n)
    mean = np.array([[0.1, 0.7]] * n + [[0.7, 0.1]] * n)
    sd = np.array([[0.1, 0.2]] * n + [[0.2, 0.1]] * n)
    z = (np.log(state["affinity"]) - mean) / sd
    # Per column: standard errors 1 / sqrt(2 n) = 3.2e-3 (mean) and 1 / sqrt(4 n) = 2.2e-3 (standard deviation).
    assert np.all(np.abs(z.mean(axis=0)) < 5 / np.sqrt(2 * n))
    assert np.all(np.abs(z.std(axis=0) - 1.0) < 5 / np.sqrt(4 * n))


# ---------------------------------------------------------------- items
def test_topic_means_split_like_recsim() -> None:
    # int(20 * 0.7) = 14 trashy topics: linspace(-3, 0, 14) has step 3/13; 6 nutritious: linspace(0, 3, 6), step 0.6.
    expected = [-3.0 + 3.0 * i / 13.0 for i in range(14)] + [0.0, 0.6, 1.2, 1.8, 2.4, 3.0]
    assert_allclose(TopicQualityItems().topic_means, expected, rtol=RTOL, atol=1e-15)


def test_topic_quality_sample() -> None:
    # Topic floor(20 * u0): 0.07 -> 1, 0.5 -> 10, 0.71 -> 14, 0.999 -> 19. With quality_stddev 0 the quality is
    # the topic mean: -3 + 3 * topic / 13 for the 14 trashy topics, 0.6 * (topic - 14) for the nutritious ones.
    model = TopicQualityItems(quality_stddev=0.0)
    u = np.full((1, model.uniforms_per_item, 4), 0.5)
    u[0, 0, :] = [0.07, 0.5, 0.71, 0.999]
    items = model.sample(u)
    assert_array_equal(items["topic"], [[1, 10, 14, 19]])
    assert_allclose(items["quality"], [[-3.0 + 3.0 / 13.0, -3.0 + 30.0 / 13.0, 0.0, 3.0]], rtol=RTOL, atol=1e-15)
    assert_array_equal(items["length"], [[4.0, 4.0, 4.0, 4.0]])
    features = model.features(items)
    assert features.shape == (1, 4, 20) and features.dtype == np.float32
    assert_array_equal(np.argmax(features, axis=-1), [[1, 10, 14, 19]])
    assert_array_equal(features.sum(axis=-1), np.ones((1, 4)))


def test_topic_quality_noise_is_normal_with_its_stddev() -> None:
    # Every topic 19 (u0 = 0.999, mean 3): z = (quality - 3) / 0.1 is standard normal over n = 1e5 items.
    n = 100_000
    model = TopicQualityItems()
    u = _keyed_uniforms(n, model.uniforms_per_item).reshape(n, model.uniforms_per_item, 1)
    u[:, 0] = 0.999
    z = (model.sample(u)["quality"] - 3.0) / 0.1
    # Standard errors: 1 / sqrt(n) = 3.2e-3 for the mean, 1 / sqrt(2 n) = 2.2e-3 for the standard deviation.
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.std() - 1.0) < 5 / np.sqrt(2 * n)


# ---------------------------------------------------------------- responses
def test_engagement_expected_given_click() -> None:
    response = EngagementResponse(choc_stddev=2.0, kale_stddev=0.5)
    user = {"satisfaction": np.array([0.6])}
    items = {"clickbait": np.array([[0.25, 1.0]])}
    # loc = (c * 5 + (1 - c) * 4) * 0.6: (1.25 + 3) * 0.6 = 2.55 and 5 * 0.6 = 3.0.
    # scale = c * 2 + (1 - c) * 0.5: 0.5 + 0.375 = 0.875 and 2.0. Lognormal mean exp(loc + scale^2 / 2).
    expected = response.expected_given_click(user, items, np.zeros((1, 2)))
    assert_allclose(expected["engagement"], [[np.exp(2.55 + 0.875**2 / 2), np.exp(3.0 + 2.0)]], rtol=RTOL)
    assert_array_equal(expected["click"], [[1.0, 1.0]])


def test_engagement_respond() -> None:
    # With both standard deviations 0 the engagement is exp(loc); unclicked slots engage 0.
    response = EngagementResponse(choc_stddev=0.0, kale_stddev=0.0)
    user = {"satisfaction": np.array([0.6])}
    slate = {"clickbait": np.array([[0.25, 1.0]])}
    u = np.full((1, 2, response.uniforms_per_slot), 0.5)
    behaviours = response.respond(user, slate, np.zeros((1, 2)), np.array([[True, False]]), u)
    assert_allclose(behaviours["engagement"], [[np.exp(2.55), 0.0]], rtol=RTOL)
    assert_array_equal(behaviours["click"], [[1.0, 0.0]])


def test_watch_time_response() -> None:
    response = WatchTimeResponse()
    user = {"time_budget": np.array([10.0, 2.5])}
    slate = {"length": np.array([[4.0, 4.0], [4.0, 4.0]])}
    behaviours = response.respond(user, slate, np.zeros((2, 2)), np.array([[False, True], [True, False]]), np.zeros((2, 2, 0)))
    # min(4, 10) = 4 for row 0's click, min(4, 2.5) = 2.5 for row 1's.
    assert_array_equal(behaviours["watch_time"], [[0.0, 4.0], [2.5, 0.0]])
    assert_array_equal(behaviours["click"], [[0.0, 1.0], [1.0, 0.0]])
    expected = response.expected_given_click(user, slate, np.zeros((2, 2)))
    assert_array_equal(expected["watch_time"], [[4.0, 4.0], [2.5, 2.5]])


# ---------------------------------------------------------------- rewards
BEHAVIOURS = {"click": np.array([[1.0, 0.0], [0.0, 1.0]]), "watch_time": np.array([[4.0, 0.0], [0.0, 2.5]])}
WATCH_BEHAVIOURS = ("click", "watch_time")


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("clicks", [1.0, 1.0]),
        ("watch_time", [4.0, 2.5]),
        ({"click": 1, "watch_time": 0.1}, [1.0 + 0.1 * 4.0, 1.0 + 0.1 * 2.5]),
        ({"watch_time": -2.0}, [-8.0, -5.0]),
    ],
    ids=["clicks", "watch_time", "weighted", "negative-weight"],
)
def test_reward(spec, expected: list[float]) -> None:
    assert_allclose(build_reward(spec, WATCH_BEHAVIOURS)(BEHAVIOURS), expected, rtol=RTOL)


def test_reward_refuses_a_behaviour_the_response_model_does_not_produce() -> None:
    with pytest.raises(ValueError) as error:
        build_reward({"click": 1.0, "engagement": 1.0}, WATCH_BEHAVIOURS)
    assert "['engagement']" in str(error.value)
    assert "allowed: ['click', 'watch_time']" in str(error.value)


@pytest.mark.parametrize("spec", ["dwell_time", {}, None])
def test_reward_refuses_unknown_names(spec) -> None:
    with pytest.raises(ValueError) as error:
        build_reward(spec, WATCH_BEHAVIOURS)
    for name in ("clicks", "engagement", "watch_time"):
        assert repr(name) in str(error.value)


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), "1", True])
def test_reward_refuses_bad_weights(weight) -> None:
    with pytest.raises(ValueError, match="the weight of 'click' must be a finite number"):
        build_reward({"click": weight}, WATCH_BEHAVIOURS)


def test_reward_takes_numpy_weights_as_floats() -> None:
    reward = build_reward({"click": np.float32(0.5), "watch_time": np.int64(2)}, WATCH_BEHAVIOURS)
    assert reward.weights == (("click", 0.5), ("watch_time", 2.0))
    assert all(type(weight) is float for _, weight in reward.weights)


# ---------------------------------------------------------------- the oracle
def _proportional_watch_reward(interest: float, budget: float) -> float:
    """Click probability (u + 1) / ((u + 1) + 2) of a video shown alone times the watch time min(4, budget)."""
    return (interest + 1.0) / ((interest + 1.0) + 2.0) * min(4.0, budget)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_rewards_interest_evolution(seed: int) -> None:
    env = gym.make("RecSimBench/InterestEvolution-v0")
    env.reset(seed=seed)
    state = env.unwrapped.state
    interests, topics, budget = state.user["interests"][0], state.items["topic"][0], state.user["time_budget"][0]
    expected = [_proportional_watch_reward(interests[topic], budget) for topic in topics]
    assert_allclose(env.unwrapped.expected_rewards(), expected, rtol=RTOL)
    # The population's mean user has interest 0 everywhere: 1/3 * 4 for every candidate.
    assert_allclose(env.unwrapped.expected_rewards(prior=True), np.full(10, 4.0 / 3.0), rtol=RTOL)


def test_expected_rewards_caps_watch_time_by_budget() -> None:
    env = gym.make("RecSimBench/InterestEvolution-v0")
    env.reset(seed=3)
    sim = env.unwrapped.sim
    state = env.unwrapped.state
    low_budget = dataclasses.replace(state, user={**state.user, "time_budget": np.array([2.5])})
    interests, topics = state.user["interests"][0], state.items["topic"][0]
    expected = [_proportional_watch_reward(interests[topic], 2.5) for topic in topics]
    assert_allclose(sim.expected_rewards(low_budget), [expected], rtol=RTOL)


# ---------------------------------------------------------------- keyed random stream
def test_uniforms_are_a_pure_function_of_their_inputs() -> None:
    keys = rng.row_keys([7, 8])
    first = rng.uniforms(keys, np.array([0, 3]), np.array([5, 0]), rng.STEP, 6)
    again = rng.uniforms(rng.row_keys([7, 8]), np.array([0, 3]), np.array([5, 0]), rng.STEP, 6)
    assert first.shape == (2, 6)
    assert_array_equal(first, again)


def test_row_keys_take_seeds_modulo_two_to_the_64() -> None:
    assert_array_equal(rng.row_keys([2**64 + 5]), rng.row_keys([5]))


def test_a_row_is_the_same_alone_or_in_a_batch() -> None:
    keys = rng.row_keys([3, 4, 5])
    episode, step = np.array([0, 2, 1]), np.array([5, 0, 9])
    batch = rng.uniforms(keys, episode, step, rng.RESET, 4)
    for i in range(3):
        alone = rng.uniforms(keys[i : i + 1], episode[i : i + 1], step[i : i + 1], rng.RESET, 4)
        assert_array_equal(alone[0], batch[i])


def test_a_shorter_block_is_a_prefix_of_a_longer_one() -> None:
    keys = rng.row_keys([11])
    short = rng.uniforms(keys, np.array([1]), np.array([2]), rng.STEP, 3)
    long = rng.uniforms(keys, np.array([1]), np.array([2]), rng.STEP, 10)
    assert_array_equal(short, long[:, :3])


@pytest.mark.parametrize(
    "seed, episode, step, draw",
    [(1, 0, 0, rng.STEP), (0, 1, 0, rng.STEP), (0, 0, 1, rng.STEP), (0, 0, 0, rng.RESET)],
    ids=["seed", "episode", "step", "draw"],
)
def test_changing_any_key_part_changes_every_number(seed: int, episode: int, step: int, draw: int) -> None:
    base = rng.uniforms(rng.row_keys([0]), np.array([0]), np.array([0]), rng.STEP, 8)
    other = rng.uniforms(rng.row_keys([seed]), np.array([episode]), np.array([step]), draw, 8)
    assert np.all(base != other)


def test_uniforms_are_in_the_open_unit_interval_with_uniform_moments() -> None:
    n_rows, n_cols = 1000, 100
    episode, step = np.zeros(n_rows, np.int64), np.arange(n_rows, dtype=np.int64)
    u = rng.uniforms(rng.row_keys(range(n_rows)), episode, step, rng.STEP, n_cols)
    assert u.shape == (n_rows, n_cols)
    assert u.min() > 0.0 and u.max() < 1.0
    n = n_rows * n_cols
    # Uniform(0, 1): mean 1/2, variance 1/12. The standard error of the sample mean is sqrt(1/12 / n) = 9.1e-4;
    # that of the sample variance is sqrt((E(U - 1/2)^4 - (1/12)^2) / n) = sqrt((1/80 - 1/144) / n) = 2.4e-4.
    # Five standard errors: a false alarm has probability below 1e-6.
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt((1 / 80 - 1 / 144) / n)


def test_categorical_draws_by_the_inverse_cdf() -> None:
    """probs (0.5, 0.25, 0.25): cumulative bounds 0.5 and 0.75; a uniform on a bound goes to the next category."""
    u = np.array([0.0, 0.49, 0.5, 0.74, 0.75, 0.999])
    assert_array_equal(categorical(u, np.array([0.5, 0.25, 0.25])), [0, 0, 1, 1, 2, 2])
    assert_array_equal(categorical(u, np.array([1.0])), np.zeros(6))


def test_log_ordinary_is_log_bit_for_bit_on_ordinary_inputs() -> None:
    """The normals' log skips the special values, so it must agree with exact_math.log wherever those cannot occur."""
    uniforms = _keyed_uniforms(64, 50)[:, ::3]  # a strided view, as the parts pass their uniforms
    edges = np.array([2.0**-1022, rng.UNIFORM_LOW, 0.5, 1.0 - rng.UNIFORM_LOW, 1.0, 3.0, np.finfo(np.float64).max])
    for x in (uniforms, edges):
        assert_array_equal(exact_math.log_ordinary(x).view(np.int64), exact_math.log(x).view(np.int64))
    assert exact_math.log_ordinary(1.0) == 0.0 and exact_math.log_ordinary(0.5) == -exact_math.log_ordinary(2.0)  # m = 1: e ln 2
