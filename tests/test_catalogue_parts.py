"""Known-answer tests of the parts shared by the catalogue environments: the catalogue item model,
the position-based choice model and the multi-behaviour response."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

import recsim_bench  # noqa: F401  (registers the RecSimBench/* ids)
from recsim_bench.parts import build_part
from recsim_bench.parts.choice import PositionBased
from recsim_bench.parts.items import CatalogueItems
from recsim_bench.parts.response import MultiBehaviourResponse


def test_catalogue_is_fixed_by_its_parameters() -> None:
    a, b = CatalogueItems(num_items=50), CatalogueItems(num_items=50)
    for name in a.catalogue:
        assert_array_equal(a.catalogue[name], b.catalogue[name])
    assert not np.array_equal(a.catalogue["topic"], CatalogueItems(num_items=50, catalogue_seed=1).catalogue["topic"])
    assert_allclose(np.linalg.norm(a.catalogue["embedding"], axis=1), 1.0, rtol=1e-6)
    assert a.catalogue["embedding"].dtype == np.float32
    assert np.all((a.catalogue["quality"] >= -3) & (a.catalogue["quality"] <= 3))
    assert np.all(a.catalogue["price"] > 0)


def test_catalogue_candidates_are_an_arithmetic_progression_with_a_coprime_stride() -> None:
    # 10 items: the strides coprime to 10 are [1, 3, 7, 9]. u = 0.35 starts at item 3; the last
    # uniform 0.6 picks stride index floor(0.6 * 4) = 2, i.e. 7: items 3, 10 % 10 = 0, 17 % 10 = 7, 24 % 10 = 4.
    model = CatalogueItems(num_items=10)
    u = np.array([[[0.35, 0.9, 0.1, 0.6]]])
    assert model.sample(u).keys() == {"item_id"}  # candidates are ids; expand looks their attributes up
    items = model.expand(model.sample(u))
    assert_array_equal(items["item_id"], [[3, 0, 7, 4]])
    assert_array_equal(items["topic"], model.catalogue["topic"][[[3, 0, 7, 4]]])
    assert items["embedding"].shape == (1, 4, model.embedding_dim)
    assert_array_equal(items["embedding"][0, 1], model.catalogue["embedding"][0])


def test_catalogue_candidates_are_distinct_and_the_whole_catalogue_when_k_equals_the_size() -> None:
    model = CatalogueItems(num_items=12)
    u = np.random.default_rng(0).random((500, 1, 12))
    assert_array_equal(model.sample(u)["item_id"], np.tile(np.arange(12), (500, 1)))
    ids = model.sample(u[:, :, :7])["item_id"]
    assert all(len(set(row)) == 7 for row in ids.tolist()) and ids.min() >= 0 and ids.max() < 12
    with pytest.raises(ValueError, match="13 candidates requested from 12 items"):
        model.sample(np.zeros((1, 1, 13)))


def test_catalogue_features_follow_observed_order_and_stay_in_bounds() -> None:
    model = CatalogueItems(num_items=30, num_topics=4, embedding_dim=3, observed=("price", "topic"))
    items = model.expand(model.sample(np.random.default_rng(1).random((5, 1, 6))))
    features = model.features(items, lead=2)
    # Two lead zeros, then the one-hot topic (4), then the price: CATALOGUE_OBSERVABLE's order, not observed's.
    assert features.shape == (5, 6, 2 + 4 + 1)
    assert_array_equal(features[..., :2], 0.0)
    assert_array_equal(features[..., 2:6], np.eye(4)[items["topic"]])
    assert_allclose(features[..., 6], items["price"], rtol=1e-6)
    low, high = model.feature_bounds()
    assert np.all(features[..., 2:] >= low) and np.all(features[..., 2:] <= high)
    assert high[-1] == np.float32(model.catalogue["price"].max())


@pytest.mark.parametrize(
    "params, message",
    [
        ({"observed": ["colour"]}, r"observed must list distinct attributes from \['topic', 'embedding'"),
        ({"observed": []}, "observed must list"),
        ({"num_items": 1}, "num_items"),
        ({"topic_spread": -1.0}, "topic_spread"),
    ],
)
def test_catalogue_refuses_bad_parameters(params, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_part("item_model", {"name": "catalogue", **params})


def test_position_based_click_probabilities_and_choice() -> None:
    # Examination 1, 0.8, 0.64; attractiveness sigmoid(4 (s - 0.5)): 0.5, 0.5, sigmoid(2) = 0.880797.
    model = PositionBased(examination_decay=0.8, attraction_scale=4.0, attraction_offset=0.5)
    scores = np.array([[0.5, 0.5, 1.0]])
    assert_allclose(model.click_probabilities(scores), [[0.5, 0.4, 0.64 * 0.8807970779778823]], rtol=1e-12)
    assert model.uniforms(3) == 3
    # Two clicks: slot 0 (0.49 < 0.5) and slot 2 (0.5 < 0.5637), not slot 1 (0.41 >= 0.4).
    assert_array_equal(model.choose(scores, np.array([[0.49, 0.41, 0.5]])), [[True, False, True]])


def test_multi_behaviour_probabilities_and_response() -> None:
    model = MultiBehaviourResponse(scale=6.0, long_view_offset=0.3, like_offset=0.6, hate_offset=-0.2)
    scores = np.array([[0.3, -0.5]])
    # s = 0.3: long view sigmoid(0) = 0.5, like sigmoid(-1.8), hate sigmoid(-3).
    # s = -0.5: long view sigmoid(-4.8), like sigmoid(-6.6), hate sigmoid(1.8).
    expected = model.expected_given_click({}, {}, scores)
    assert_allclose(expected["long_view"], [[0.5, expit(-4.8)]], rtol=1e-12)
    assert_allclose(expected["like"], [[expit(-1.8), expit(-6.6)]], rtol=1e-12)
    assert_allclose(expected["hate"], [[expit(-3.0), expit(1.8)]], rtol=1e-12)
    clicked = np.array([[True, True]])
    u = np.array([[[0.4, 0.2, 0.01], [0.9, 0.9, 0.5]]])  # slot 0: long view, no like (0.2 >= 0.142), hate (0.01 < 0.047)
    behaviours = model.respond({}, {}, scores, clicked, u)
    assert_array_equal(behaviours["long_view"], [[1.0, 0.0]])
    assert_array_equal(behaviours["like"], [[0.0, 0.0]])
    assert_array_equal(behaviours["hate"], [[1.0, 1.0]])  # slot 1: 0.5 < sigmoid(1.8) = 0.858
    nothing = model.respond({}, {}, scores, np.zeros((1, 2), bool), u)
    assert all(not values.any() for values in nothing.values())


MULTI_CLICK_ENV = {
    "item_model": {"name": "catalogue", "num_items": 60, "num_topics": 2},
    "user_model": "static_affinity",
    "choice_model": {"name": "position_based", "examination_decay": 0.9, "attraction_scale": 3.0, "attraction_offset": 0.0},
    "response_model": "multi_behaviour",
    "reward": {"click": 1.0, "like": 2.0, "hate": -1.0},
    "num_candidates": 8,
    "slate_size": 4,
    "max_steps": 20,
}


def test_the_catalogue_parts_compose_into_a_multi_click_environment() -> None:
    env = gym.make("RecSimBench/InterestExploration-v0", **MULTI_CLICK_ENV)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    clicks = []
    for _ in range(20):
        _, reward, *_, info = env.step(env.action_space.sample())
        clicks.append(info["click"].sum())
        assert reward == info["click"].sum() + 2 * info["like"].sum() - info["hate"].sum()
    assert max(clicks) >= 2  # several clicks on one slate happen


def test_the_oracle_of_a_position_based_env_uses_the_top_slot_click_probability() -> None:
    venv = gym.make_vec("RecSimBench/InterestExploration-v0", num_envs=3, **MULTI_CLICK_ENV)
    venv.reset(seed=1)
    state = venv.unwrapped.state
    candidates = venv.unwrapped.sim.candidates(state)
    topic_affinity = state.user["affinity"][np.arange(3)[:, None], candidates["topic"]]
    interest = topic_affinity + candidates["quality"]  # static_affinity's score
    # Shown alone in the top slot (examination 1): click = sigmoid(3 s); reward given a click
    # = 1 + 2 P(like) - P(hate) with the multi-behaviour defaults.
    click = expit(3.0 * interest)
    given_click = 1.0 + 2.0 * expit(6.0 * (interest - 0.6)) - expit(-6.0 * (interest + 0.2))
    assert_allclose(venv.unwrapped.expected_rewards(), click * given_click, rtol=1e-12)


def test_an_embedding_size_mismatch_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="has embedding_dim=8 but item_model 'catalogue' has embedding_dim=4"):
        gym.make("RecSimBench/ColdStart-v0", item_model={"name": "catalogue", "num_items": 200, "embedding_dim": 4})
