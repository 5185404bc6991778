"""User models: the hidden user state, its affinity for items and how it changes.

State is a dict of arrays with the user (row) axis first. Methods are pure:
``update`` returns a new dict and never writes into the one it was given.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math, rng
from recsim_bench.parts.base import (
    Part,
    categorical,
    check_finite,
    check_integer,
    check_nonnegative,
    check_positive,
    check_probabilities,
    check_range,
    check_shape,
    take_rows,
)
from recsim_bench.parts.items import Items

UserState = dict[str, NDArray]


@dataclasses.dataclass(frozen=True)
class UserModel(Part):
    """Base of user models."""

    kind: ClassVar[str] = "user_model"
    state_fields: ClassVar[tuple[str, ...]] = ()
    required_item_attributes: ClassVar[tuple[str, ...]] = ()
    required_behaviours: ClassVar[tuple[str, ...]] = ()
    #: Behaviours of the user rather than of a slot (e.g. ``leave``), reported by :meth:`report`.
    step_behaviours: ClassVar[tuple[str, ...]] = ()
    update_uniforms: ClassVar[int] = 0

    @property
    def init_uniforms(self) -> int:
        """Uniforms per row that :meth:`init` consumes."""
        raise NotImplementedError

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        """Fresh users from uniforms of shape ``(N, init_uniforms)``; ``split`` is each user's split code
        (an index into :data:`recsim_bench.rng.SPLITS`), for populations whose splits differ."""
        raise NotImplementedError

    def prior(self, n: int) -> UserState:
        """``n`` copies of the population's mean user (for non-personalised references)."""
        raise NotImplementedError

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        """The choice model's score of each item for each user: ``(N, M)`` for items of shape ``(N, M)``."""
        raise NotImplementedError

    def update(
        self,
        state: UserState,
        slate: Items,
        clicked: NDArray[np.bool_],
        behaviours: dict[str, NDArray[np.float64]],
        u: NDArray[np.float64],
    ) -> UserState:
        """The state after the response ``behaviours`` to ``slate``; ``clicked`` is ``(N, S)``."""
        return state

    def report(self, before: UserState, after: UserState) -> dict[str, NDArray[np.float64]]:
        """The step's :attr:`step_behaviours`, each ``(N,)``, from the states before and after :meth:`update`."""
        return {}

    def terminated(self, state: UserState) -> NDArray[np.bool_]:
        """Whether each user has left."""
        return np.zeros(len(next(iter(state.values()))), dtype=bool)

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        """``(smallest, largest)`` value of the elements of each state field, where the model bounds it: every integer
        field (a resume file's state is checked against them before it is restored) and the fields that response
        models build their behaviours' bounds on."""
        return {}

    def observation_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Bounds of what the platform observes of the user; empty by default."""
        return np.zeros(0, np.float32), np.zeros(0, np.float32)

    def observe(self, state: UserState) -> NDArray[np.float32]:
        """What the platform observes of each user: ``(N, D)`` float32."""
        return np.zeros((len(next(iter(state.values()))), 0), dtype=np.float32)


def _clicked_item(slate: dict[str, NDArray], clicked: NDArray[np.bool_], *attributes: str) -> tuple[NDArray, ...]:
    """Whether each row clicked, then the given attributes of its clicked slate item
    (of the first slot where nothing was clicked)."""
    flat = np.argmax(clicked, axis=1) + np.arange(0, clicked.size, clicked.shape[1])
    return (clicked.take(flat), *(take_rows(slate[name], flat) for name in attributes))


@dataclasses.dataclass(frozen=True)
class InterestEvolutionUser(UserModel):
    """RecSim's interest-evolution user (``IEvUserModel`` with ``UtilityModelUserSampler``).

    Interests ``u`` are uniform on [-1, 1] per topic; the affinity for an item
    is the interest in its topic. After a click on an item of topic ``c``:

    - interest: ``alpha = y - (y / x) * |u_c|``, ``delta = alpha * (1 - u_c)``;
      with probability ``(u_c + 1) / 2`` then ``u_c += delta``, else
      ``u_c -= delta``; clipped to [-1, 1];
    - budget: ``b -= w`` then ``b += budget_utility_scale * w * utility`` with
      ``w`` the watch time and ``utility = user_quality_factor * affinity +
      document_quality_factor * quality``.

    Without a click the budget falls by ``step_penalty``. The user leaves when
    the budget reaches 0. The platform observes the interests (as in RecSim).
    RecSim's utility reads the choice model's normalised score of the clicked
    video where this reads the affinity; with the default
    ``user_quality_factor=0`` the two agree.
    """

    name: ClassVar[str] = "interest_evolution"
    state_fields: ClassVar[tuple[str, ...]] = ("interests", "time_budget")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("topic", "quality")
    required_behaviours: ClassVar[tuple[str, ...]] = ("watch_time",)  # read from the clicked slot
    update_uniforms: ClassVar[int] = 1

    num_topics: int = 20
    time_budget: float = 200.0
    step_penalty: float = 0.5
    alpha_x_intercept: float = 1.0
    alpha_y_intercept: float = 0.3
    budget_utility_scale: float = 0.9 / 3.4
    user_quality_factor: float = 0.0
    document_quality_factor: float = 1.0

    def __post_init__(self) -> None:
        check_integer(self, "num_topics", 1)
        check_positive(self, "time_budget")
        check_positive(self, "step_penalty", strict=False)
        check_positive(self, "alpha_x_intercept")
        check_range(self, "alpha_y_intercept", 0.0, 1.0)
        check_positive(self, "budget_utility_scale", strict=False)
        check_finite(self, "user_quality_factor")
        check_finite(self, "document_quality_factor")

    @property
    def init_uniforms(self) -> int:
        return self.num_topics

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        return {"interests": 2.0 * u - 1.0, "time_budget": np.full(len(u), float(self.time_budget))}

    def prior(self, n: int) -> UserState:
        return {"interests": np.zeros((n, self.num_topics)), "time_budget": np.full(n, float(self.time_budget))}

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        return state["interests"][np.arange(len(items["topic"]))[:, None], items["topic"]]

    def update(self, state, slate, clicked, behaviours, u):
        any_click, topic, quality, watch = _clicked_item(slate | behaviours, clicked, "topic", "quality", "watch_time")
        rows = np.arange(len(topic))
        interest = state["interests"][rows, topic]

        alpha = self.alpha_y_intercept - (self.alpha_y_intercept / self.alpha_x_intercept) * np.abs(interest)
        delta = alpha * (1.0 - interest)
        toward = u[:, 0] < (interest + 1.0) / 2.0
        moved = np.clip(np.where(toward, interest + delta, interest - delta), -1.0, 1.0)
        interests = state["interests"].copy()
        interests[rows, topic] = np.where(any_click, moved, interest)

        utility = self.user_quality_factor * interest + self.document_quality_factor * quality
        watched = state["time_budget"] - watch + self.budget_utility_scale * watch * utility
        budget = np.where(any_click, watched, state["time_budget"] - self.step_penalty)
        return {"interests": interests, "time_budget": budget}

    def terminated(self, state: UserState) -> NDArray[np.bool_]:
        return state["time_budget"] <= 0.0

    def observation_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        return -np.ones(self.num_topics, np.float32), np.ones(self.num_topics, np.float32)

    def observe(self, state: UserState) -> NDArray[np.float32]:
        return state["interests"].astype(np.float32)


@dataclasses.dataclass(frozen=True)
class LongTermSatisfactionUser(UserModel):
    """RecSim's choc/kale user (``LTSUserModel``), a controlled hidden Markov model.

    The net positive exposure starts at ``(v - 0.5) / (1 - memory_discount)``
    with ``v`` uniform on [0, 1]. After a click on an item of clickbait score
    ``c``: ``npe = memory_discount * npe - 2 (c - 0.5) + N(0, innovation_stddev)``
    and ``satisfaction = sigmoid(sensitivity * npe)``. Every item scores 1 for
    the choice model. Each step spends one unit of ``time_budget`` (RecSim
    spends it per click, which is the same under its always-first choice); the
    user leaves when the budget reaches 0. Nothing of the user is observed.
    """

    name: ClassVar[str] = "long_term_satisfaction"
    state_fields: ClassVar[tuple[str, ...]] = ("net_positive_exposure", "satisfaction", "time_budget")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("clickbait",)
    update_uniforms: ClassVar[int] = 2

    memory_discount: float = 0.7
    sensitivity: float = 0.01
    innovation_stddev: float = 0.05
    time_budget: int = 60

    def __post_init__(self) -> None:
        if not 0.0 <= self.memory_discount < 1.0:
            raise ValueError(f"user_model {self.name!r}: memory_discount must be in [0, 1), got {self.memory_discount!r}")
        check_positive(self, "sensitivity", strict=False)
        check_positive(self, "innovation_stddev", strict=False)
        check_integer(self, "time_budget", 1)

    @property
    def init_uniforms(self) -> int:
        return 1

    def _state(self, npe: NDArray[np.float64]) -> UserState:
        return {
            "net_positive_exposure": npe,
            "satisfaction": exact_math.expit(self.sensitivity * npe),
            "time_budget": np.full(len(npe), float(self.time_budget)),
        }

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        return self._state((u[:, 0] - 0.5) / (1.0 - self.memory_discount))

    def prior(self, n: int) -> UserState:
        return self._state(np.zeros(n))

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        return np.ones(next(iter(items.values())).shape)

    def update(self, state, slate, clicked, behaviours, u):
        any_click, clickbait = _clicked_item(slate, clicked, "clickbait")
        npe = state["net_positive_exposure"]
        noise = self.innovation_stddev * rng.normals(u[:, 0], u[:, 1])
        npe = np.where(any_click, self.memory_discount * npe - 2.0 * (clickbait - 0.5) + noise, npe)
        return {
            "net_positive_exposure": npe,
            "satisfaction": exact_math.expit(self.sensitivity * npe),
            "time_budget": state["time_budget"] - 1.0,
        }

    def terminated(self, state: UserState) -> NDArray[np.bool_]:
        return state["time_budget"] <= 0.0

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        return {"satisfaction": (0.0, 1.0)}  # a sigmoid


@dataclasses.dataclass(frozen=True)
class StaticAffinityUser(UserModel):
    """RecSim's interest-exploration user (``IEUserModel`` with ``IEClusterUserSampler``).

    A user's type is drawn from ``user_type_probs``; the affinity for topic
    ``d`` is lognormal with the type's ``affinity_mean[type][d]`` and
    ``affinity_stddev[type][d]``. The score of an item is its topic's affinity
    plus its quality. The user never changes and never leaves; nothing of the
    user is observed.
    """

    name: ClassVar[str] = "static_affinity"
    state_fields: ClassVar[tuple[str, ...]] = ("affinity", "user_type")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("topic", "quality")

    user_type_probs: tuple[float, ...] = (0.3, 0.7)
    affinity_mean: tuple[tuple[float, ...], ...] = ((0.1, 0.7), (0.7, 0.1))
    affinity_stddev: tuple[tuple[float, ...], ...] = ((0.1, 0.1), (0.1, 0.1))

    def __post_init__(self) -> None:
        probs = check_probabilities(self, "user_type_probs")
        mean = np.asarray(self.affinity_mean, dtype=float)
        if mean.ndim != 2 or mean.shape[0] != probs.size:
            raise ValueError(
                f"user_model {self.name!r}: affinity_mean must be a list of {probs.size} lists "
                f"(one per user type), got {self.affinity_mean!r}"
            )
        check_shape(self, "affinity_stddev", mean.shape)
        check_nonnegative(self, "affinity_stddev")

    @property
    def num_topics(self) -> int:
        return len(self.affinity_mean[0])

    @property
    def init_uniforms(self) -> int:
        return 1 + 2 * self.num_topics

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        user_type = categorical(u[:, 0], np.asarray(self.user_type_probs))
        mean = np.asarray(self.affinity_mean)[user_type]
        stddev = np.asarray(self.affinity_stddev)[user_type]
        noise = rng.normals(u[:, 1 : 1 + self.num_topics], u[:, 1 + self.num_topics :])
        return {"affinity": exact_math.exp(mean + stddev * noise), "user_type": user_type}

    def prior(self, n: int) -> UserState:
        stddev = np.asarray(self.affinity_stddev)
        lognormal_means = exact_math.exp(np.asarray(self.affinity_mean) + stddev * stddev / 2)
        mean_affinity = np.sum(np.asarray(self.user_type_probs)[:, None] * lognormal_means, axis=0)  # not BLAS: no FMA
        return {"affinity": np.tile(mean_affinity, (n, 1)), "user_type": np.full(n, -1)}

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        return state["affinity"][np.arange(len(items["topic"]))[:, None], items["topic"]] + items["quality"]

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        return {"user_type": (0, len(self.user_type_probs) - 1)}  # -1 only in the prior, never in a simulator's state
