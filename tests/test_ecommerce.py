"""Known-answer tests of the shopper user model, the funnel response and RecSimBench/Ecommerce-v0.

The running example: a shopper with interests (0.8, 0.2) in two categories, price sensitivity 1.5
and willingness to pay 20, shown item A (category 0, price 10) and item B (category 1, price 40).
Price gaps: A ``log(10 / 20) = -log 2``, B ``+log 2``; ``1.5 * log 2 = 1.0397208``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import recsim_bench  # noqa: F401  (registers the RecSimBench/* ids)
from recsim_bench import rng
from recsim_bench.parts import build_part
from recsim_bench.parts.shopper import FunnelResponse, ShopperUser

RTOL = 1e-12
ENV_ID = "RecSimBench/Ecommerce-v0"
LOG2 = np.log(2.0)
USER = ShopperUser(num_topics=2)  # relevance_weight 3, patience 5, leave_prob 0.02
FUNNEL = FunnelResponse()  # cart_slope 6, cart_offset 0.5, checkout_prob 0.6
ITEMS = {"topic": np.array([[0, 1]]), "price": np.array([[10.0, 40.0]])}


def _user(n: int = 1, **fields: np.ndarray) -> dict[str, np.ndarray]:
    state = USER.prior(n)
    state.update(interest=np.tile([0.8, 0.2], (n, 1)), price_sensitivity=np.full(n, 1.5), wtp=np.full(n, 20.0))
    state.update(fields)
    return state


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def test_affinity_is_relevance_minus_sensitivity_times_log_price_over_wtp() -> None:
    # A: 3 * 0.8 - 1.5 * (-log 2) = 2.4 + 1.0397208; B: 3 * 0.2 - 1.5 * log 2 = 0.6 - 1.0397208.
    assert_allclose(USER.affinity(_user(), ITEMS), [[2.4 + 1.5 * LOG2, 0.6 - 1.5 * LOG2]], rtol=RTOL)


def test_funnel_probabilities() -> None:
    cart, buy = FUNNEL.funnel_probabilities(_user(), ITEMS)
    # A is below the willingness to pay: f = 1; cart sigmoid(6 * (0.8 - 0.5)) = sigmoid(1.8) = 0.858149.
    # B is twice it: f = exp(-1.5 * log 2) = 2 ** -1.5 = 0.353553; cart 0.353553 * sigmoid(-1.8) = 0.050152.
    assert_allclose(cart, [[_sigmoid(1.8), 2.0**-1.5 * _sigmoid(-1.8)]], rtol=RTOL)
    assert_allclose(buy, [[0.6, 0.6 * 2.0**-1.5]], rtol=RTOL)  # 0.6 and 0.212132
    given_click = FUNNEL.expected_given_click(_user(), ITEMS, USER.affinity(_user(), ITEMS))
    assert_allclose(given_click["click"], [[1.0, 1.0]])
    assert_allclose(given_click["add_to_cart"], cart, rtol=RTOL)
    assert_allclose(given_click["purchase"], [[_sigmoid(1.8) * 0.6, 2.0**-3 * _sigmoid(-1.8) * 0.6]], rtol=RTOL)
    # Revenue: 10 * 0.514889 = 5.14889 for A; 40 * 0.0106388 = 0.425553 for B.
    assert_allclose(given_click["revenue"], given_click["purchase"] * [[10.0, 40.0]], rtol=RTOL)


def test_respond_follows_the_funnel_and_revenue_is_price_times_purchase() -> None:
    # Row 0 clicks A with u_cart 0.85 < 0.858149 (added) and u_buy 0.59 < 0.6 (bought): revenue 10.
    # Row 1 clicks A with u_cart 0.86 > 0.858149: not added, so not bought whatever u_buy.
    # Row 2 clicks A with u_cart 0.5 (added) and u_buy 0.61 > 0.6: left in the cart.
    # Row 3 does not click: nothing, whatever the uniforms.
    items = {name: np.tile(values, (4, 1)) for name, values in ITEMS.items()}
    clicked = np.array([[True, False], [True, False], [True, False], [False, False]])
    u = np.full((4, 2, 2), 0.01)
    u[:3, 0] = [[0.85, 0.59], [0.86, 0.01], [0.5, 0.61]]
    behaviours = FUNNEL.respond(_user(4), items, USER.affinity(_user(4), items), clicked, u)
    assert_array_equal(behaviours["click"][:, 0], [1, 1, 1, 0])
    assert_array_equal(behaviours["add_to_cart"][:, 0], [1, 0, 1, 0])
    assert_array_equal(behaviours["purchase"][:, 0], [1, 0, 0, 0])
    assert_array_equal(behaviours["revenue"][:, 0], [10.0, 0, 0, 0])
    for name in FUNNEL.behaviours:
        assert_array_equal(behaviours[name][:, 1], 0.0)  # B was never clicked


def test_expected_given_click_matches_the_mean_over_keyed_draws() -> None:
    n = 200_000
    items = {name: np.tile(values, (n, 1)) for name, values in ITEMS.items()}
    zeros = np.zeros(n, np.int64)
    u = rng.uniforms(rng.row_keys(range(n)), zeros, zeros, rng.STEP, 4).reshape(n, 2, 2)
    user = _user(n)
    behaviours = FUNNEL.respond(user, items, USER.affinity(user, items), np.ones((n, 2), bool), u)
    expected = FUNNEL.expected_given_click(_user(), ITEMS, USER.affinity(_user(), ITEMS))
    for name in FUNNEL.behaviours:
        sample = behaviours[name]
        stderr = sample.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(sample.mean(axis=0) - expected[name][0]) <= 4.0 * stderr + 1e-12), name


def test_init_and_prior() -> None:
    user = ShopperUser(num_topics=2, wtp_log_stddev=0.0)
    # Interests u ** 3: 0.5 ** 3 = 0.125, 0.9 ** 3 = 0.729; sensitivity 0.5 + 1.5 * 0.2 = 0.8; wtp exp(3).
    state = user.init(np.array([[0.5, 0.9, 0.2, 0.3, 0.4]]), np.zeros(1, np.int64))
    assert_allclose(state["interest"], [[0.125, 0.729]], rtol=RTOL)
    assert_allclose(state["price_sensitivity"], [0.8], rtol=RTOL)
    assert_allclose(state["wtp"], [np.exp(3.0)], rtol=RTOL)
    assert_array_equal(state["history"], [[-1] * 10])
    assert_array_equal(state["patience"], [5.0])
    # Mean user: interest 1 / (1 + 3) = 0.25, sensitivity (0.5 + 2) / 2 = 1.25, median wtp exp(3).
    prior = user.prior(2)
    assert_allclose(prior["interest"], 0.25)
    assert_allclose(prior["price_sensitivity"], 1.25)
    assert_allclose(prior["wtp"], np.exp(3.0))


def _step(user: ShopperUser, state, topic, price, clicked, cart, bought, leave_u=0.5):
    slate = {"topic": np.array([topic]), "price": np.array([price], dtype=float)}
    purchase = np.array([bought], dtype=float)
    behaviours = {
        "click": np.array([clicked], dtype=float),
        "add_to_cart": np.array([cart], dtype=float),
        "purchase": purchase,
        "revenue": purchase * slate["price"],
    }
    return user.update(state, slate, np.array([clicked], bool), behaviours, np.array([[leave_u]]))


def test_update_history_cart_purchases_and_satiation() -> None:
    user = ShopperUser(num_topics=2, history_length=3)
    state = user.prior(1)
    state.update(interest=np.array([[0.8, 0.2]]), history=np.array([[1, 0, -1]]), views=np.array([2]))
    before = {name: values.copy() for name, values in state.items()}
    # Clicks on slots 0 (category 0, price 10) and 2 (category 1, price 40), both added, slot 0 bought.
    new = _step(user, state, [0, 1, 1], [10, 25, 40], [True, False, True], [1, 0, 1], [1, 0, 0])
    for name in before:
        assert_array_equal(state[name], before[name])  # pure: the input state is untouched
    # Writes at (2 + 0) % 3 = 2 (category 0), then (2 + 1) % 3 = 0 (category 1): [1, 0, 0]; 4 views.
    assert_array_equal(new["history"], [[1, 0, 0]])
    assert_array_equal(new["views"], [4])
    assert_allclose(user.category_histogram(new), [[2, 1]])
    assert_allclose(new["interest"], [[0.8 * 0.5, 0.2]], rtol=RTOL)  # satiation of the bought category
    assert_allclose([new["cart_items"][0], new["cart_value"][0]], [2.0, 50.0])
    assert_allclose([new["purchases"][0], new["spend"][0]], [1.0, 10.0])
    assert_array_equal(new["patience"], [5.0])
    # Observed: histogram / 3, cart 2 / 10, purchases 1 / 10, value 50 / 200, spend 10 / 200, patience 5 / 5.
    expected = np.array([[2 / 3, 1 / 3, 0.2, 0.1, 0.25, 0.05, 1.0]], np.float32)
    assert_allclose(user.observe(new), expected, rtol=1e-6)


def test_update_keeps_only_the_last_clicks_and_satiates_twice() -> None:
    user = ShopperUser(num_topics=2, history_length=2)
    state = user.prior(1)
    state["interest"] = np.array([[0.8, 0.2]])
    # Three clicks (categories 0, 1, 1): only the last two stay, at (0 + 1) % 2 = 1 and (0 + 2) % 2 = 0.
    # Both category-1 items are bought: 0.2 * 0.5 * 0.5 = 0.05.
    new = _step(user, state, [0, 1, 1], [10, 20, 30], [True, True, True], [0, 1, 1], [0, 1, 1])
    assert_array_equal(new["history"], [[1, 1]])
    assert_array_equal(new["views"], [3])
    assert_allclose(new["interest"], [[0.8, 0.05]], rtol=RTOL)
    assert_allclose(new["spend"], [50.0])


def test_patience_and_leaving() -> None:
    user = ShopperUser(num_topics=2, patience=2, leave_prob=0.02)
    state = user.prior(1)
    nothing = ([0], [10], [False], [0], [0])
    state = _step(user, state, *nothing)  # patience 2 -> 1
    assert_array_equal(state["patience"], [1.0])
    assert not user.terminated(state)[0]
    state = _step(user, state, [1], [10], [True], [0], [0])  # a click restores it to 2
    assert_array_equal(state["patience"], [2.0])
    state = _step(user, _step(user, state, *nothing), *nothing)  # two slates without a click: gone
    assert user.terminated(state)[0]
    left = _step(user, user.prior(1), *nothing, leave_u=0.019)  # 0.019 < leave_prob 0.02: leaves at once
    assert left["left"][0] and user.terminated(left)[0]
    assert not _step(user, user.prior(1), *nothing, leave_u=0.021)["left"][0]
    # Observed patience: 1 / 2 after one slate without a click.
    assert_allclose(user.observe(_step(user, user.prior(1), *nothing))[0, -1], 0.5)


def test_observation_caps_at_one() -> None:
    state = USER.prior(1)
    state.update(cart_items=np.array([12.0]), purchases=np.array([3.0]), cart_value=np.array([500.0]), spend=np.array([100.0]))
    assert_allclose(USER.observe(state)[0, 2:6], [1.0, 0.3, 1.0, 0.5], rtol=1e-6)


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="user_model 'shopper': max_sensitivity must be >= min_sensitivity"):
        ShopperUser(min_sensitivity=1.0, max_sensitivity=0.5)
    with pytest.raises(ValueError, match=r"user_model 'shopper': leave_prob must be in \[0.0, 1.0\]"):
        ShopperUser(leave_prob=1.5)
    with pytest.raises(ValueError, match=r"response_model 'funnel': checkout_prob must be in \[0.0, 1.0\]"):
        build_part("response_model", {"name": "funnel", "checkout_prob": -0.1})


def _rollout(reward, steps: int = 30, num_envs: int = 64):
    env = gym.make_vec(ENV_ID, num_envs=num_envs, reward=reward)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(steps):
        _, r, _, _, info = env.step(env.action_space.sample())
        yield r, info
    env.close()


@pytest.mark.parametrize(
    "reward, weights",
    [
        ("revenue", {"revenue": 1.0}),
        ("purchases", {"purchase": 1.0}),
        ("clicks", {"click": 1.0}),
        ({"click": 1, "purchase": 5}, {"click": 1.0, "purchase": 5.0}),
        ({"add_to_cart": 0.5, "revenue": 0.1}, {"add_to_cart": 0.5, "revenue": 0.1}),
    ],
)
def test_rewards_by_name_and_dict(reward, weights) -> None:
    total = 0.0
    for r, info in _rollout(reward):
        stepped = info["_click"]
        expected = sum(w * np.asarray(info[b]).sum(axis=1) for b, w in weights.items())
        assert_allclose(r[stepped], expected[stepped], rtol=1e-12)
        total += r.sum()
    assert total > 0.0


def test_revenue_is_price_times_purchase_in_the_env() -> None:
    for _, info in _rollout("revenue"):
        stepped = info["_click"]
        purchase, revenue = np.asarray(info["purchase"])[stepped], np.asarray(info["revenue"])[stepped]
        assert np.all((revenue > 0) == (purchase == 1))
        assert np.all(revenue[purchase == 1] >= 3.0)  # the catalogue's cheapest price is about 3.98


def test_unknown_behaviour_in_the_reward_is_refused() -> None:
    allowed = r"allowed: \['click', 'add_to_cart', 'purchase', 'revenue'\]"
    with pytest.raises(ValueError, match=r"\['hate'\] are not produced by the response model; " + allowed):
        gym.make(ENV_ID, reward={"click": 1, "purchase": 5, "hate": -2})


def test_observations_stay_in_bounds_over_long_sessions() -> None:
    env = gym.make_vec(ENV_ID, num_envs=128, max_steps=200, user_model={"name": "shopper", "leave_prob": 0.0})
    obs, _ = env.reset(seed=1)
    # Always show the 5 cheapest candidates: many purchases, so the cart and spend saturate their caps.
    for _ in range(200):
        assert env.observation_space.contains(obs)
        price = obs["candidates"][:, :, -1]
        obs, *_ = env.step(np.argsort(price, axis=1)[:, :5])
    assert obs["user"][:, 20:24].max() == 1.0
    env.close()
