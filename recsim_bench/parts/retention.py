"""The retention user: a within-session temper that ends sessions, a return gap that ends the user.

An episode is every session of one user. Within a session a hidden temper
falls with unsatisfying recommendations and the user leaves the session when
it is spent; between sessions the user stays away for a random number of
days whose mean grows as the last session's satisfaction falls, and churns
(leaves for good) when the gap exceeds a threshold. Clickbait draws clicks now
and dissatisfies: the long-run trade-off of RecSim's choc/kale user, moved
from the engagement to whether the user comes back (retention).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math, rng
from recsim_bench.parts.base import check_finite, check_integer, check_positive, sum_last, unit_rows
from recsim_bench.parts.items import Items
from recsim_bench.parts.users import UserModel, UserState


def _dot(preference: NDArray[np.float64], embedding: NDArray[np.floating]) -> NDArray[np.float64]:
    """``preference . embedding`` per item: ``(N, D)`` with ``(N, M, D)`` gives ``(N, M)``.

    Summed column by column, so a row's value never depends on the number of rows.
    """
    return sum_last(embedding * preference[:, None, :])


@dataclasses.dataclass(frozen=True)
class RetentionUser(UserModel):
    """A user who comes back, or not, depending on how the last session went.

    Hidden preference ``p = interest_scale * z / |z|`` with ``z`` standard normal in
    R^D (D = ``embedding_dim``, the catalogue's). For an item of unit embedding ``e``
    and clickbait score ``c`` in [0, 1]:

    - affinity (the choice model's score): ``a = p . e + clickbait_boost * c``;
    - satisfaction of a click: ``s = p . e - clickbait_cost * c``.

    A session starts with ``temper = initial_temper`` and ``satisfaction = 0``. Each
    step, with ``C`` the clicked slots (several under a multi-click choice model):
    ``temper += sum_C s - fatigue`` if ``C`` is non-empty, else ``temper -= no_click_penalty``;
    ``satisfaction += sum_C s``. The user leaves the session after the step where
    ``temper <= 0`` or after ``session_length`` steps. The return gap is then
    exponential with mean ``mean_gap * exp(-gap_sensitivity * satisfaction)`` days,
    drawn from the step's uniform ``v`` as ``gap = -mean * log(v)``. The user churns
    (is gone for good) when ``gap > churn_after``; otherwise the next step is the first
    of the next session (temper and satisfaction reset, steps into the session 0). The
    user is gone (``terminated``) on churn or once ``num_sessions`` sessions are done.

    Observed (as the platform's logs would show): sessions done / ``num_sessions``,
    steps into the session / ``session_length``, the gap before the current session /
    ``churn_after`` (0 in the first session; capped at 1 once churned) and whether this
    step starts a session after a return (1) or not (0). Temper and preference are hidden.
    """

    name: ClassVar[str] = "retention"
    state_fields: ClassVar[tuple[str, ...]] = (
        "preference",
        "temper",
        "satisfaction",
        "session_step",
        "sessions_done",
        "gap",
        "churned",
    )
    required_item_attributes: ClassVar[tuple[str, ...]] = ("embedding", "clickbait")
    step_behaviours: ClassVar[tuple[str, ...]] = ("leave",)
    update_uniforms: ClassVar[int] = 1

    embedding_dim: int = 8
    interest_scale: float = 2.0
    clickbait_boost: float = 2.0
    clickbait_cost: float = 1.5
    initial_temper: float = 3.0
    fatigue: float = 0.3
    no_click_penalty: float = 1.0
    session_length: int = 20
    num_sessions: int = 8
    mean_gap: float = 3.0
    gap_sensitivity: float = 0.3
    churn_after: float = 7.0

    def __post_init__(self) -> None:
        check_integer(self, "embedding_dim", 1)
        check_positive(self, "interest_scale", strict=False)
        check_finite(self, "clickbait_boost")
        check_finite(self, "clickbait_cost")
        check_positive(self, "initial_temper")
        check_positive(self, "fatigue", strict=False)
        check_positive(self, "no_click_penalty", strict=False)
        check_integer(self, "session_length", 1)
        check_integer(self, "num_sessions", 1)
        check_positive(self, "mean_gap")
        check_positive(self, "gap_sensitivity", strict=False)
        check_positive(self, "churn_after")

    @property
    def init_uniforms(self) -> int:
        return 2 * self.embedding_dim

    def _fresh(self, preference: NDArray[np.float64]) -> UserState:
        n = len(preference)
        return {
            "preference": preference,
            "temper": np.full(n, float(self.initial_temper)),
            "satisfaction": np.zeros(n),
            "session_step": np.zeros(n, dtype=np.int64),
            "sessions_done": np.zeros(n, dtype=np.int64),
            "gap": np.zeros(n),
            "churned": np.zeros(n, dtype=bool),
        }

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        z = rng.normals(u[:, : self.embedding_dim], u[:, self.embedding_dim :])
        return self._fresh(self.interest_scale * unit_rows(z))

    def prior(self, n: int) -> UserState:
        return self._fresh(np.zeros((n, self.embedding_dim)))  # preferences are isotropic: their mean is 0

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        return _dot(state["preference"], items["embedding"]) + self.clickbait_boost * items["clickbait"]

    def click_satisfaction(self, state: UserState, items: Items) -> NDArray[np.float64]:
        """``s = p . e - clickbait_cost * c`` of each item, ``(N, M)``: what a click on it does to the user."""
        return _dot(state["preference"], items["embedding"]) - self.clickbait_cost * items["clickbait"]

    def return_gap(self, satisfaction: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
        """Days away after a session of ``satisfaction``, from uniforms ``v`` in (0, 1)."""
        return -self.mean_gap * exact_math.exp(-self.gap_sensitivity * satisfaction) * exact_math.log(v)

    def update(self, state, slate, clicked, behaviours, u):
        gained = sum_last(np.where(clicked, self.click_satisfaction(state, slate), 0.0))
        any_click = clicked.any(axis=1)
        temper = state["temper"] + np.where(any_click, gained - self.fatigue, -self.no_click_penalty)
        satisfaction = state["satisfaction"] + gained
        session_step = state["session_step"] + 1
        leaves = (temper <= 0.0) | (session_step >= self.session_length)

        gap = np.where(leaves, self.return_gap(satisfaction, u[:, 0]), state["gap"])
        sessions_done = state["sessions_done"] + leaves
        return {
            "preference": state["preference"],
            "temper": np.where(leaves, float(self.initial_temper), temper),
            "satisfaction": np.where(leaves, 0.0, satisfaction),
            "session_step": np.where(leaves, 0, session_step),
            "sessions_done": sessions_done,
            "gap": gap,
            "churned": state["churned"] | (leaves & (gap > self.churn_after)),
        }

    def report(self, before: UserState, after: UserState) -> dict[str, NDArray[np.float64]]:
        """``leave``: 1 on the step that ended a session (the user left, by temper or session length)."""
        return {"leave": (after["sessions_done"] > before["sessions_done"]).astype(np.float64)}

    def terminated(self, state: UserState) -> NDArray[np.bool_]:
        return state["churned"] | (state["sessions_done"] >= self.num_sessions)

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        return {"session_step": (0, self.session_length - 1), "sessions_done": (0, self.num_sessions)}

    def observation_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        return np.zeros(4, np.float32), np.ones(4, np.float32)

    def observe(self, state: UserState) -> NDArray[np.float32]:
        out = np.empty((len(state["temper"]), 4), dtype=np.float32)
        out[:, 0] = np.minimum(state["sessions_done"] / self.num_sessions, 1.0)
        out[:, 1] = state["session_step"] / self.session_length
        out[:, 2] = np.minimum(state["gap"] / self.churn_after, 1.0)
        out[:, 3] = (state["session_step"] == 0) & (state["sessions_done"] > 0)
        return out
