"""The boredom user model: an embedding preference that drifts toward what is clicked, and
per-topic boredom when a topic is consumed too often within a moving window."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math, rng
from recsim_bench.parts.base import (
    check_integer,
    check_positive,
    check_range,
    sum_last,
    take_rows,
    unit_rows,
)
from recsim_bench.parts.items import Items
from recsim_bench.parts.users import UserModel, UserState


@dataclasses.dataclass(frozen=True)
class BoredomUser(UserModel):
    """A user whose taste drifts toward what they click and who tires of a topic consumed too often.

    State of each user:

    - ``preference`` ``p``, a unit vector in the catalogue's embedding space, drawn isotropically
      (standard normal, normalised) from the user's task;
    - ``recent_topics``, a ring buffer of the topics of the last ``window`` clicked items
      (``-1`` for an empty slot), ``cursor``, the buffer slot the next click is written to, and
      ``window_counts``, how many entries of each topic the buffer holds;
    - ``boredom_left``, per topic, the steps of boredom still to come (0: not bored).

    Affinity of an item with unit embedding ``e`` and topic ``c``:
    ``a = p . e - boredom_penalty * [boredom_left_c > 0]``.

    Update after a step with ``c`` clicks (several under a multi-click choice model) on items of
    mean embedding ``m``:

    1. drift: ``p <- normalise((1 - drift)^c p + (1 - (1 - drift)^c) m)``: ``c`` steps
       ``p <- p + drift (m - p)``, normalised once. One click on ``e`` gives ``normalise(p + drift (e - p))``;
       the clicks' order does not matter; without a click ``p`` stays;
    2. each clicked item's topic enters the window in slate order, oldest entries leaving first (if a
       step has more clicks than ``window``, only its last ``window`` enter);
    3. ``boredom_left <- max(boredom_left - 1, 0)``; then every topic that entered the window this step and
       now has at least ``threshold`` entries in the window gets ``boredom_left = boredom_duration``.
       A topic is therefore bored during exactly the ``boredom_duration`` steps after the onset step,
       and clicking it again while it is still over the threshold starts the count afresh.

    The user never leaves. The platform observes each topic's share of the window (its count divided
    by ``window``): the consumption history is the platform's own log. The preference and the boredom
    timers stay hidden: the user's taste is what a recommender must learn, and boredom, though a
    deterministic function of the click history, must be inferred from it (a recurrent agent can;
    a memoryless one sees only how close each topic is to the threshold).
    """

    name: ClassVar[str] = "boredom"
    state_fields: ClassVar[tuple[str, ...]] = ("preference", "recent_topics", "cursor", "window_counts", "boredom_left")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("topic", "embedding")

    num_topics: int = 10
    embedding_dim: int = 8
    drift: float = 0.1
    window: int = 10
    threshold: int = 5
    boredom_duration: int = 20
    boredom_penalty: float = 1.0

    def __post_init__(self) -> None:
        check_integer(self, "num_topics", 1)
        check_integer(self, "embedding_dim", 1)
        check_range(self, "drift", 0.0, 1.0)
        check_integer(self, "window", 1)
        check_integer(self, "threshold", 1)
        if self.threshold > self.window:
            raise ValueError(
                f"user_model {self.name!r}: threshold must be <= window ({self.window}), got {self.threshold!r}"
            )
        check_integer(self, "boredom_duration", 0)
        check_positive(self, "boredom_penalty", strict=False)

    @property
    def init_uniforms(self) -> int:
        return 2 * self.embedding_dim

    def _state(self, preference: NDArray[np.float64]) -> UserState:
        n = len(preference)
        return {
            "preference": preference,
            "recent_topics": np.full((n, self.window), -1, dtype=np.int64),
            "cursor": np.zeros(n, dtype=np.int64),
            "window_counts": np.zeros((n, self.num_topics), dtype=np.int64),
            "boredom_left": np.zeros((n, self.num_topics), dtype=np.int64),
        }

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        d = self.embedding_dim
        return self._state(unit_rows(rng.normals(u[:, :d], u[:, d:])))

    def prior(self, n: int) -> UserState:
        """The population's mean preference is the zero vector: every unbored item scores 0."""
        return self._state(np.zeros((n, self.embedding_dim)))

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        # In float32, the embeddings' precision: a product of float64 and float32 arrays costs twice as much.
        similarity = sum_last(items["embedding"] * state["preference"].astype(np.float32)[:, None, :])
        bored = take_rows(state["boredom_left"], self._flat_topics(items["topic"])) > 0
        return similarity - self.boredom_penalty * bored

    def _flat_topics(self, topic: NDArray[np.int64]) -> NDArray[np.int64]:
        """Flat indices of each row's topics into an ``(N, num_topics)`` array."""
        return topic + np.arange(0, len(topic) * self.num_topics, self.num_topics)[:, None]

    def update(self, state, slate, clicked, behaviours, u):
        n, s = clicked.shape
        embedding, topic = slate["embedding"], slate["topic"]
        rank = np.cumsum(clicked, axis=1) - 1  # each click's rank among the step's clicks
        clicks = rank[:, -1] + 1

        # c clicks: c unnormalised steps p <- p + drift (m - p) toward their mean m, then one normalisation.
        keep = exact_math.power(1.0 - self.drift, clicks)
        weights = clicked * ((1.0 - keep) / np.maximum(clicks, 1))[:, None]
        moved = state["preference"] * keep[:, None]
        for slot in range(s):
            moved += weights[:, slot, None] * embedding[:, slot]
        preference = unit_rows(moved)

        # Window: the k-th click of the step (k = 0, 1, ...) goes to slot (cursor + k) mod window,
        # evicting the topic there; counts follow by adding the entering and removing the evicted topics.
        if s > self.window:  # only the step's last `window` clicks enter
            rank = rank - np.maximum(clicks - self.window, 0)[:, None]
            enters = clicked & (rank >= 0)
        else:
            enters = clicked
        row = np.broadcast_to(np.arange(n)[:, None], clicked.shape)[enters]
        position = (state["cursor"][:, None] + rank)[enters]
        position -= self.window * (position >= self.window)  # both terms are below window: one wrap (% costs more)
        flat = row * self.window + position
        recent = state["recent_topics"].copy()
        evicted = recent.ravel()[flat]
        entering = topic[enters]
        recent.ravel()[flat] = entering
        cursor = state["cursor"] + np.minimum(clicks, self.window)
        cursor -= self.window * (cursor >= self.window)

        row_start = row * self.num_topics
        added = np.bincount(row_start + entering, minlength=n * self.num_topics).reshape(n, self.num_topics)
        was_full = evicted >= 0
        removed = np.bincount(row_start[was_full] + evicted[was_full], minlength=n * self.num_topics)
        counts = state["window_counts"] + added - removed.reshape(n, self.num_topics)

        onset = (added > 0) & (counts >= self.threshold)
        boredom_left = np.where(onset, self.boredom_duration, np.maximum(state["boredom_left"] - 1, 0))
        return {
            "preference": preference,
            "recent_topics": recent,
            "cursor": cursor,
            "window_counts": counts,
            "boredom_left": boredom_left,
        }

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        return {
            "recent_topics": (-1, self.num_topics - 1),
            "cursor": (0, self.window - 1),
            "window_counts": (0, self.window),
            "boredom_left": (0, self.boredom_duration),
        }

    def observation_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        return np.zeros(self.num_topics, np.float32), np.ones(self.num_topics, np.float32)

    def observe(self, state: UserState) -> NDArray[np.float32]:
        return (state["window_counts"] / self.window).astype(np.float32)
