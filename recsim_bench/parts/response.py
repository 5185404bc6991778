"""Response models turn the choice into behaviours; reward functions turn behaviours into a scalar.

Behaviours are a dict of ``(N, S)`` float arrays, one value per slate slot. A user model may add
behaviours of the whole step (``UserModel.step_behaviours``, e.g. Retention's ``leave``); the
simulator reports them in slot 0, so rewards and infos treat every behaviour alike.
``expected_given_click`` gives, for any items of shape ``(N, M)``, each
behaviour's expectation if the user clicked that item: the privileged oracle
multiplies it by the click probability.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math, rng
from recsim_bench.checks import is_number
from recsim_bench.parts.base import Part, check_finite, check_positive, sum_last
from recsim_bench.parts.items import Items
from recsim_bench.parts.users import UserState

Behaviours = dict[str, NDArray[np.float64]]
Ranges = Mapping[str, tuple[float, float]]  # name -> (smallest, largest value)

#: Observed behaviours (not rewards) are capped here, as RecSim caps observed engagement and video length.
OBSERVED_CAP = 100.0

#: Behaviours that happen or not (0 or 1 per slot); the others are amounts (watch time, engagement, revenue).
BINARY_BEHAVIOURS = frozenset({"click", "long_view", "like", "hate", "add_to_cart", "purchase", "leave"})


@dataclasses.dataclass(frozen=True)
class ResponseModel(Part):
    """Base of response models."""

    kind: ClassVar[str] = "response_model"
    behaviours: ClassVar[tuple[str, ...]] = ("click",)
    required_item_attributes: ClassVar[tuple[str, ...]] = ()
    required_user_fields: ClassVar[tuple[str, ...]] = ()
    uniforms_per_slot: ClassVar[int] = 0

    def slot_maxima(self, item_ranges: Ranges, user_ranges: Ranges) -> dict[str, float]:
        """The largest value of each behaviour in one slot, true (not observed-capped) values.

        Every behaviour is >= 0, and 0 in a slot that was not clicked. ``item_ranges`` and
        ``user_ranges`` are the item model's :meth:`~recsim_bench.parts.items.ItemModel.attribute_ranges`
        and the user model's :meth:`~recsim_bench.parts.users.UserModel.state_ranges`, for models whose
        amounts depend on them. A behaviour of :data:`BINARY_BEHAVIOURS` is at most 1; a model with
        another behaviour overrides this.
        """
        amounts = [b for b in self.behaviours if b not in BINARY_BEHAVIOURS]
        if amounts:
            raise ValueError(f"response_model {self.name!r}: no bound declared for behaviour(s) {amounts}")
        return {behaviour: 1.0 for behaviour in self.behaviours}

    def behaviour_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Bounds of the observed behaviours, in the order of ``behaviours``.

        Behaviours in :data:`BINARY_BEHAVIOURS` are 0 or 1; others are observed capped at :data:`OBSERVED_CAP`.
        """
        low = np.zeros(len(self.behaviours), np.float32)
        high = np.array([1.0 if b in BINARY_BEHAVIOURS else OBSERVED_CAP for b in self.behaviours], np.float32)
        return low, high

    def respond(
        self,
        user: UserState,
        slate: Items,
        scores: NDArray[np.float64],
        clicked: NDArray[np.bool_],
        u: NDArray[np.float64],
    ) -> Behaviours:
        """Behaviours of shape ``(N, S)``; ``scores`` are the user model's affinities for the slate's
        items, ``(N, S)``, and ``u`` has shape ``(N, S, uniforms_per_slot)``."""
        return {"click": clicked.astype(np.float64)}

    def expected_given_click(self, user: UserState, items: Items, scores: NDArray[np.float64]) -> Behaviours:
        """Each behaviour's expectation given a click on the item, shape ``(N, M)`` (``scores`` as in :meth:`respond`)."""
        return {"click": np.ones(next(iter(items.values())).shape)}


@dataclasses.dataclass(frozen=True)
class ClickResponse(ResponseModel):
    """The only behaviour is the click."""

    name: ClassVar[str] = "click"


@dataclasses.dataclass(frozen=True)
class WatchTimeResponse(ResponseModel):
    """RecSim's interest-evolution response: a click watches ``min(length, time_budget)`` minutes."""

    name: ClassVar[str] = "watch_time"
    behaviours: ClassVar[tuple[str, ...]] = ("click", "watch_time")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("length",)
    required_user_fields: ClassVar[tuple[str, ...]] = ("time_budget",)

    def _watch_time(self, user: UserState, items: Items) -> NDArray[np.float64]:
        return np.minimum(items["length"], user["time_budget"][:, None])

    def slot_maxima(self, item_ranges: Ranges, user_ranges: Ranges) -> dict[str, float]:
        return {"click": 1.0, "watch_time": max(0.0, needed_range(self, item_ranges, "length", "item attribute")[1])}

    def respond(self, user, slate, scores, clicked, u):
        return {"click": clicked.astype(np.float64), "watch_time": np.where(clicked, self._watch_time(user, slate), 0.0)}

    def expected_given_click(self, user, items, scores):
        watch = self._watch_time(user, items)
        return {"click": np.ones(watch.shape), "watch_time": watch}


@dataclasses.dataclass(frozen=True)
class EngagementResponse(ResponseModel):
    """RecSim's choc/kale response: a click engages for a lognormal time.

    For clickbait score ``c`` and satisfaction ``sat``, the log engagement is
    normal with mean ``(c * choc_mean + (1 - c) * kale_mean) * sat`` and
    standard deviation ``c * choc_stddev + (1 - c) * kale_stddev``.
    """

    name: ClassVar[str] = "engagement"
    behaviours: ClassVar[tuple[str, ...]] = ("click", "engagement")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("clickbait",)
    required_user_fields: ClassVar[tuple[str, ...]] = ("satisfaction",)
    uniforms_per_slot: ClassVar[int] = 2

    choc_mean: float = 5.0
    choc_stddev: float = 1.0
    kale_mean: float = 4.0
    kale_stddev: float = 1.0

    def __post_init__(self) -> None:
        check_finite(self, "choc_mean")
        check_finite(self, "kale_mean")
        check_positive(self, "choc_stddev", strict=False)
        check_positive(self, "kale_stddev", strict=False)

    def _log_normal(self, user: UserState, items: Items) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        clickbait = items["clickbait"]
        loc = (clickbait * self.choc_mean + (1.0 - clickbait) * self.kale_mean) * user["satisfaction"][:, None]
        scale = clickbait * self.choc_stddev + (1.0 - clickbait) * self.kale_stddev
        return loc, scale

    def slot_maxima(self, item_ranges: Ranges, user_ranges: Ranges) -> dict[str, float]:
        """Engagement is lognormal, unbounded in principle; but its normal comes from :func:`rng.normals`,
        whose values are at most :func:`rng.normal_bound` (6.76) in size, and its log mean and scale are
        linear in the clickbait score and in the satisfaction: the largest is at a corner of their ranges."""
        clickbait = needed_range(self, item_ranges, "clickbait", "item attribute")
        satisfaction = needed_range(self, user_ranges, "satisfaction", "user state field")
        loc, scale = self._log_normal({"satisfaction": np.array(satisfaction)}, {"clickbait": np.array([clickbait, clickbait])})
        return {"click": 1.0, "engagement": float(exact_math.exp(loc + scale * rng.normal_bound()).max())}

    def respond(self, user, slate, scores, clicked, u):
        loc, scale = self._log_normal(user, slate)
        engagement = exact_math.exp(loc + scale * rng.normals(u[..., 0], u[..., 1]))
        return {"click": clicked.astype(np.float64), "engagement": np.where(clicked, engagement, 0.0)}

    def expected_given_click(self, user, items, scores):
        loc, scale = self._log_normal(user, items)
        return {"click": np.ones(loc.shape), "engagement": exact_math.exp(loc + scale * scale / 2.0)}


@dataclasses.dataclass(frozen=True)
class MultiBehaviourResponse(ResponseModel):
    """Independent behaviours after a click, each more likely the more the user likes the item.

    Given a click on an item of score ``s``: ``long_view`` with probability
    ``sigmoid(scale * (s - long_view_offset))``, ``like`` with ``sigmoid(scale * (s - like_offset))``
    and ``hate`` with ``sigmoid(-scale * (s - hate_offset))``, each from its own uniform.
    """

    name: ClassVar[str] = "multi_behaviour"
    behaviours: ClassVar[tuple[str, ...]] = ("click", "long_view", "like", "hate")
    uniforms_per_slot: ClassVar[int] = 3

    scale: float = 6.0
    long_view_offset: float = 0.3
    like_offset: float = 0.6
    hate_offset: float = -0.2

    def __post_init__(self) -> None:
        check_positive(self, "scale", strict=False)
        check_finite(self, "long_view_offset")
        check_finite(self, "like_offset")
        check_finite(self, "hate_offset")

    def expected_given_click(self, user, items, scores):
        return {
            "click": np.ones(scores.shape),
            "long_view": exact_math.expit(self.scale * (scores - self.long_view_offset)),
            "like": exact_math.expit(self.scale * (scores - self.like_offset)),
            "hate": exact_math.expit(-self.scale * (scores - self.hate_offset)),
        }

    def respond(self, user, slate, scores, clicked, u):
        probabilities = self.expected_given_click(user, slate, scores)
        behaviours = {"click": clicked.astype(np.float64)}
        for column, name in enumerate(self.behaviours[1:]):
            behaviours[name] = (clicked & (u[..., column] < probabilities[name])).astype(np.float64)
        return behaviours


def needed_range(part: Part, ranges: Ranges, name: str, what: str) -> tuple[float, float]:
    """``ranges[name]``; a clear error when the model that should bound it does not."""
    if name not in ranges:
        raise ValueError(f"{part.kind} {part.name!r}: no range declared for the {what} {name!r}, so its behaviours have no bound")
    return ranges[name]


NAMED_REWARDS: dict[str, dict[str, float]] = {
    "clicks": {"click": 1.0},
    "watch_time": {"watch_time": 1.0},
    "engagement": {"engagement": 1.0},
    "purchases": {"purchase": 1.0},
    "revenue": {"revenue": 1.0},
}

RewardSpec = str | Mapping[str, float]


@dataclasses.dataclass(frozen=True)
class Reward:
    """A weighted sum of behaviours over the slate: ``r = sum_b weight_b * sum_slots behaviour_b``."""

    weights: tuple[tuple[str, float], ...]

    def __call__(self, behaviours: Behaviours) -> NDArray[np.float64]:
        total = 0.0
        for behaviour, weight in self.weights:
            total = total + weight * sum_last(behaviours[behaviour])
        return total

    def bounds(self, maxima: Mapping[str, float]) -> tuple[float, float]:
        """The smallest and largest reward of a step in which each behaviour ``b`` sums to between 0 and ``maxima[b]``."""
        terms = [weight * maxima[behaviour] for behaviour, weight in self.weights]
        return sum(min(term, 0.0) for term in terms), sum(max(term, 0.0) for term in terms)

    def over(self, behaviours: Behaviours) -> NDArray[np.float64] | float:
        """The reward counting only the behaviours present in ``behaviours`` (the oracle's per-item part)."""
        return Reward(tuple((b, w) for b, w in self.weights if b in behaviours))(behaviours)

    def spec(self) -> dict[str, Any]:
        return dict(self.weights)


def build_reward(spec: RewardSpec, behaviours: tuple[str, ...]) -> Reward:
    """A reward from a name in :data:`NAMED_REWARDS` or a ``{behaviour: weight}`` dict.

    Refuses behaviours that the response model does not produce.
    """
    if isinstance(spec, str):
        if spec not in NAMED_REWARDS:
            raise ValueError(f"reward: unknown name {spec!r}; allowed: {sorted(NAMED_REWARDS)} or a dict of weights")
        weights = NAMED_REWARDS[spec]
    elif isinstance(spec, Mapping) and spec:
        weights = dict(spec)
    else:
        raise ValueError(f"reward: expected a name {sorted(NAMED_REWARDS)} or a non-empty dict of weights, got {spec!r}")
    missing = sorted(set(weights) - set(behaviours))
    if missing:
        raise ValueError(f"reward: behaviour(s) {missing} are not produced by the response model; allowed: {list(behaviours)}")
    for behaviour, weight in weights.items():
        if not (is_number(weight) and np.isfinite(weight)):
            raise ValueError(f"reward: the weight of {behaviour!r} must be a finite number, got {weight!r}")
    return Reward(tuple((b, float(w)) for b, w in weights.items()))
