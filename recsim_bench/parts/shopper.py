"""The ``shopper`` user model and the ``funnel`` response: an e-commerce shopping session.

A shopper browses a catalogue whose ``topic`` is the product category and whose ``price`` is the
price. For an item of category ``c`` and price ``p`` shown to a user with category interests ``i``,
price sensitivity ``s`` and willingness to pay ``w``:

- relevance ``rho = i_c`` in [0, 1];
- price gap ``g = log(p / w)`` (negative: a bargain; positive: over the user's budget);
- affinity, the choice model's score of the item: ``a = relevance_weight * rho - s * g``;
- over-price factor ``f = exp(-s * max(g, 0))`` (1 at or below ``w``, ``(w / p) ** s`` above it).

Given a click, the ``funnel`` response adds the item to the cart with probability
``P(cart) = f * sigmoid(cart_slope * (rho - cart_offset))``, and buys an item just added with
probability ``P(buy | cart) = f * checkout_prob``; revenue is ``price * purchase``. A purchase is
decided when the item enters the cart (an item not bought then is abandoned in the cart), so the
reward of a step is attributed to the slot that earned it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math, rng
from recsim_bench.parts.base import check_finite, check_integer, check_positive, check_range, sum_last
from recsim_bench.parts.items import Items
from recsim_bench.parts.response import Behaviours, Ranges, ResponseModel, needed_range
from recsim_bench.parts.users import UserModel, UserState


def _relevance_and_gap(user: UserState, items: Items) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Relevance ``rho`` (the interest in each item's category) and price gap ``log(price / wtp)``, each ``(N, M)``."""
    relevance = np.take_along_axis(user["interest"], items["topic"], axis=1)
    gap = exact_math.log(items["price"]) - exact_math.log(user["wtp"])[:, None]
    return relevance, gap


def _over_price(user: UserState, gap: NDArray[np.float64]) -> NDArray[np.float64]:
    """``f = exp(-s * max(g, 0))``: 1 up to the willingness to pay, falling above it."""
    return exact_math.exp(-user["price_sensitivity"][:, None] * np.maximum(gap, 0.0))


@dataclasses.dataclass(frozen=True)
class ShopperUser(UserModel):
    """A shopper with category interests, a price sensitivity, a willingness to pay, a browsing history and a cart.

    Hidden state drawn from the user's task:

    - ``interest`` per category: ``u ** interest_exponent`` with ``u`` uniform on [0, 1] (with the
      default exponent 3 the mean is 1/4 and about one category in five is above 1/2: a few favourites);
    - ``price_sensitivity`` ``s`` uniform on [``min_sensitivity``, ``max_sensitivity``];
    - ``wtp`` (willingness to pay) lognormal: ``log w ~ N(wtp_log_mean, wtp_log_stddev)``; the
      default matches the catalogue's median price ``exp(3)``.

    Affinity: ``a = relevance_weight * interest[category] - s * log(price / wtp)`` (see the module).

    Session state, updated after each step from the clicked slots in slate order:

    - ``history``: the categories of the last ``history_length`` clicked items (a ring buffer,
      ``-1`` for empty), ``views`` the clicks so far (the next write is at ``views % history_length``);
    - ``cart_items`` / ``cart_value``: items added to the cart and their total price;
      ``purchases`` / ``spend``: items bought and their total price;
    - a purchase satisfies the need: the interest in the bought item's category is multiplied by ``satiation``;
    - ``patience``: slates left before the user gives up; a step with a click restores it to ``patience``,
      a step without one costs 1;
    - ``left``: the user leaves at random with probability ``leave_prob`` per step (one update uniform).

    The user has left (``terminated``) when ``patience`` reaches 0 or ``left``. Observed: the category
    histogram of the history (counts / ``history_length``), then ``cart_items``, ``purchases``
    (each / ``count_cap``), ``cart_value``, ``spend`` (each / ``value_cap``), all capped at 1, and the
    patience left as a fraction of ``patience``: ``num_topics + 5`` values in [0, 1].
    """

    name: ClassVar[str] = "shopper"
    state_fields: ClassVar[tuple[str, ...]] = (
        "interest",
        "price_sensitivity",
        "wtp",
        "history",
        "views",
        "cart_items",
        "cart_value",
        "purchases",
        "spend",
        "patience",
        "left",
    )
    required_item_attributes: ClassVar[tuple[str, ...]] = ("topic", "price")
    required_behaviours: ClassVar[tuple[str, ...]] = ("add_to_cart", "purchase", "revenue")
    update_uniforms: ClassVar[int] = 1

    num_topics: int = 20
    interest_exponent: float = 3.0
    relevance_weight: float = 3.0
    min_sensitivity: float = 0.5
    max_sensitivity: float = 2.0
    wtp_log_mean: float = 3.0
    wtp_log_stddev: float = 0.5
    history_length: int = 10
    satiation: float = 0.5
    patience: int = 5
    leave_prob: float = 0.02
    count_cap: float = 10.0
    value_cap: float = 200.0

    def __post_init__(self) -> None:
        check_integer(self, "num_topics", 1)
        check_positive(self, "interest_exponent")
        check_positive(self, "relevance_weight", strict=False)
        check_positive(self, "min_sensitivity", strict=False)
        check_positive(self, "max_sensitivity", strict=False)
        if self.max_sensitivity < self.min_sensitivity:
            raise ValueError(
                f"user_model {self.name!r}: max_sensitivity must be >= min_sensitivity "
                f"({self.min_sensitivity!r}), got {self.max_sensitivity!r}"
            )
        check_finite(self, "wtp_log_mean")
        check_positive(self, "wtp_log_stddev", strict=False)
        check_integer(self, "history_length", 1)
        check_range(self, "satiation", 0.0, 1.0)
        check_integer(self, "patience", 1)
        check_range(self, "leave_prob", 0.0, 1.0)
        check_positive(self, "count_cap")
        check_positive(self, "value_cap")

    @property
    def init_uniforms(self) -> int:
        return self.num_topics + 3

    def _session(self, interest: NDArray[np.float64], sensitivity: NDArray[np.float64], wtp: NDArray[np.float64]) -> UserState:
        n = len(interest)
        return {
            "interest": interest,
            "price_sensitivity": sensitivity,
            "wtp": wtp,
            "history": np.full((n, self.history_length), -1, dtype=np.int64),
            "views": np.zeros(n, dtype=np.int64),
            "cart_items": np.zeros(n),
            "cart_value": np.zeros(n),
            "purchases": np.zeros(n),
            "spend": np.zeros(n),
            "patience": np.full(n, float(self.patience)),
            "left": np.zeros(n, dtype=bool),
        }

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        t = self.num_topics
        interest = exact_math.power(u[:, :t], self.interest_exponent)
        sensitivity = self.min_sensitivity + (self.max_sensitivity - self.min_sensitivity) * u[:, t]
        wtp = exact_math.exp(self.wtp_log_mean + self.wtp_log_stddev * rng.normals(u[:, t + 1], u[:, t + 2]))
        return self._session(interest, sensitivity, wtp)

    def prior(self, n: int) -> UserState:
        """Mean interest ``1 / (1 + interest_exponent)``, mean sensitivity, median willingness to pay."""
        interest = np.full((n, self.num_topics), 1.0 / (1.0 + self.interest_exponent))
        sensitivity = np.full(n, (self.min_sensitivity + self.max_sensitivity) / 2.0)
        return self._session(interest, sensitivity, exact_math.exp(np.full(n, self.wtp_log_mean)))

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        relevance, gap = _relevance_and_gap(state, items)
        return self.relevance_weight * relevance - state["price_sensitivity"][:, None] * gap

    def update(self, state, slate, clicked, behaviours, u):
        slots = clicked.shape[1]
        row, slot = np.nonzero(clicked)  # row-major: a row's clicks in slate order
        clicks = sum_last(clicked.astype(np.int64))
        rank = np.cumsum(clicked, axis=1)[row, slot] - 1  # the click's place among its row's clicks
        last = rank >= clicks[row] - self.history_length  # only a step's last history_length clicks stay
        row, slot, rank = row[last], slot[last], rank[last]
        history = state["history"].copy()
        history[row, (state["views"][row] + rank) % self.history_length] = slate["topic"][row, slot]

        interest = state["interest"].copy()
        bought = np.flatnonzero(behaviours["purchase"] > 0.0)  # flat (row, slot) indices
        bought_topic = slate["topic"].take(bought) + (bought // slots) * self.num_topics
        np.multiply.at(interest.reshape(-1), bought_topic, self.satiation)  # twice for two purchases in a category
        return {
            "interest": interest,
            "price_sensitivity": state["price_sensitivity"],
            "wtp": state["wtp"],
            "history": history,
            "views": state["views"] + clicks,
            "cart_items": state["cart_items"] + sum_last(behaviours["add_to_cart"]),
            "cart_value": state["cart_value"] + sum_last(behaviours["add_to_cart"] * slate["price"]),
            "purchases": state["purchases"] + sum_last(behaviours["purchase"]),
            "spend": state["spend"] + sum_last(behaviours["revenue"]),
            "patience": np.where(clicks > 0, float(self.patience), state["patience"] - 1.0),
            "left": state["left"] | (u[:, 0] < self.leave_prob),
        }

    def category_histogram(self, state: UserState) -> NDArray[np.float64]:
        """How many of the history's entries are of each category, ``(N, num_topics)`` (empty entries count for none)."""
        history = state["history"]
        n, t = len(history), self.num_topics
        flat = np.where(history >= 0, history + (np.arange(n) * t)[:, None], n * t)  # empty entries to a spare bin
        return np.bincount(flat.ravel(), minlength=n * t + 1)[: n * t].reshape(n, t)

    def terminated(self, state: UserState) -> NDArray[np.bool_]:
        return state["left"] | (state["patience"] <= 0.0)

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        return {"history": (-1, self.num_topics - 1), "views": (0, math.inf)}

    def observation_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        size = self.num_topics + 5
        return np.zeros(size, np.float32), np.ones(size, np.float32)

    def observe(self, state: UserState) -> NDArray[np.float32]:
        out = np.empty((len(state["views"]), self.num_topics + 5), dtype=np.float32)
        t = self.num_topics
        np.multiply(self.category_histogram(state), 1.0 / self.history_length, out=out[:, :t], casting="unsafe")
        caps = {"cart_items": self.count_cap, "purchases": self.count_cap, "cart_value": self.value_cap, "spend": self.value_cap}
        for column, (field, cap) in enumerate(caps.items()):
            np.minimum(state[field] / cap, 1.0, out=out[:, t + column], casting="unsafe")
        np.divide(state["patience"], self.patience, out=out[:, t + 4], casting="unsafe")
        return out


@dataclasses.dataclass(frozen=True)
class FunnelResponse(ResponseModel):
    """A click / add-to-cart / purchase funnel over a shopper's relevance and price gap (see the module).

    Given a click on an item with relevance ``rho``, price gap ``g`` and over-price factor ``f``:

    - ``add_to_cart`` with probability ``f * sigmoid(cart_slope * (rho - cart_offset))`` (first uniform);
    - ``purchase`` of the item just added with probability ``f * checkout_prob`` (second uniform);
    - ``revenue = price * purchase`` (an amount, observed capped at 100, rewarded in full).
    """

    name: ClassVar[str] = "funnel"
    behaviours: ClassVar[tuple[str, ...]] = ("click", "add_to_cart", "purchase", "revenue")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("topic", "price")
    required_user_fields: ClassVar[tuple[str, ...]] = ("interest", "price_sensitivity", "wtp")
    uniforms_per_slot: ClassVar[int] = 2

    cart_slope: float = 6.0
    cart_offset: float = 0.5
    checkout_prob: float = 0.6

    def __post_init__(self) -> None:
        check_positive(self, "cart_slope", strict=False)
        check_finite(self, "cart_offset")
        check_range(self, "checkout_prob", 0.0, 1.0)

    def funnel_probabilities(self, user: UserState, items: Items) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``P(add_to_cart | click)`` and ``P(purchase | add_to_cart)``, each ``(N, M)``."""
        relevance, gap = _relevance_and_gap(user, items)
        over = _over_price(user, gap)
        return over * exact_math.expit(self.cart_slope * (relevance - self.cart_offset)), over * self.checkout_prob

    def slot_maxima(self, item_ranges: Ranges, user_ranges: Ranges) -> dict[str, float]:
        price = needed_range(self, item_ranges, "price", "item attribute")[1]
        return {"click": 1.0, "add_to_cart": 1.0, "purchase": 1.0, "revenue": max(0.0, price)}

    def respond(self, user, slate, scores, clicked, u) -> Behaviours:
        cart_prob, buy_prob = self.funnel_probabilities(user, slate)
        cart = clicked & (u[..., 0] < cart_prob)
        purchase = cart & (u[..., 1] < buy_prob)
        return {
            "click": clicked.astype(np.float64),
            "add_to_cart": cart.astype(np.float64),
            "purchase": purchase.astype(np.float64),
            "revenue": np.where(purchase, slate["price"], 0.0),
        }

    def expected_given_click(self, user, items, scores) -> Behaviours:
        cart_prob, buy_prob = self.funnel_probabilities(user, items)
        purchase = cart_prob * buy_prob
        return {
            "click": np.ones(purchase.shape),
            "add_to_cart": cart_prob,
            "purchase": purchase,
            "revenue": purchase * items["price"],
        }
