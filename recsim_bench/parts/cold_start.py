"""The cold-start user population: hidden preference vectors drawn from segments split into train and test.

A population of ``num_segments`` segments, each a unit centre in the catalogue's
embedding space. The first ``num_segments - num_test_segments`` segments serve
the ``train`` split, the last ``num_test_segments`` the ``test`` split, so a test
user never comes from a segment that a meta-learner trained on. A user is a unit
preference vector near its segment's centre; the affinity for an item is the
cosine of the preference and the item's embedding. Nothing of the user is
observed: a policy infers the preference from the clicks it gets.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench import rng
from recsim_bench.parts.base import check_integer, check_positive, sum_last, unit_rows
from recsim_bench.parts.items import Items
from recsim_bench.parts.users import UserModel, UserState

#: Draws used once, from a fixed seed, to compute the population's mean user (see ``ColdStartUser.prior``).
_MEAN_DRAWS = 200_000
_MEAN_SEED = 12345


@dataclasses.dataclass(frozen=True)
class ColdStartUser(UserModel):
    """A user with a hidden, fixed preference vector from a segment of the population.

    Segment centres are ``num_segments`` random unit vectors in R^``embedding_dim``, generated
    once from ``segment_seed``; segments ``0 .. num_segments - num_test_segments - 1`` are the
    train segments and the last ``num_test_segments`` the test segments. A user of split ``x``
    takes a segment uniformly among ``x``'s segments, then the preference
    ``p = normalise(centre + within_segment_spread * z)`` with ``z`` standard normal.
    The affinity for an item of unit embedding ``e`` is ``p . e`` in [-1, 1]. The preference
    never changes (within a session or across the sessions of one task) and the user never
    leaves; nothing of the user is observed. State: ``preference`` ``(N, embedding_dim)`` and
    ``segment`` ``(N,)`` (the segment's index; -1 for the population's mean user).
    """

    name: ClassVar[str] = "cold_start"
    state_fields: ClassVar[tuple[str, ...]] = ("preference", "segment")
    required_item_attributes: ClassVar[tuple[str, ...]] = ("embedding",)

    embedding_dim: int = 8
    num_segments: int = 16
    num_test_segments: int = 4
    within_segment_spread: float = 0.25
    segment_seed: int = 0

    def __post_init__(self) -> None:
        check_integer(self, "embedding_dim", 1)
        check_integer(self, "num_segments", 2)
        check_integer(self, "num_test_segments", 1)
        if self.num_test_segments >= self.num_segments:
            raise ValueError(
                f"user_model {self.name!r}: num_test_segments must be in [1, num_segments - 1] "
                f"= [1, {self.num_segments - 1}] (both splits need a segment), got {self.num_test_segments!r}"
            )
        check_positive(self, "within_segment_spread", strict=False)
        check_integer(self, "segment_seed", 0)

    @property
    def num_train_segments(self) -> int:
        return self.num_segments - self.num_test_segments

    @functools.cached_property
    def centres(self) -> NDArray[np.float64]:
        """Unit segment centres, shape ``(num_segments, embedding_dim)``; the test segments are the last rows."""
        return unit_rows(rng.table_normals(self.segment_seed, 0, self.num_segments, self.embedding_dim))

    @functools.cached_property
    def _shrinkage(self) -> float:
        """``E[normalise(c + spread * z)] = shrinkage * c`` for a unit ``c``: by symmetry about ``c`` the mean lies
        along ``c``; its length is estimated once from fixed draws (standard error below 1e-3)."""
        z = rng.table_normals(_MEAN_SEED, 0, _MEAN_DRAWS, self.embedding_dim)
        z *= self.within_segment_spread
        z[:, 0] += 1.0
        return float(unit_rows(z)[:, 0].mean())

    @property
    def init_uniforms(self) -> int:
        return 1 + 2 * self.embedding_dim

    def init(self, u: NDArray[np.float64], split: NDArray[np.int64]) -> UserState:
        test = np.asarray(split) == 1
        counts = np.where(test, self.num_test_segments, self.num_train_segments)
        segment = np.minimum((u[:, 0] * counts).astype(np.int64), counts - 1)
        segment += np.where(test, self.num_train_segments, 0)
        d = self.embedding_dim
        noise = rng.normals(u[:, 1 : 1 + d], u[:, 1 + d :])
        noise *= self.within_segment_spread
        return {"preference": unit_rows(self.centres[segment] + noise), "segment": segment}

    def prior(self, n: int) -> UserState:
        """The train population's mean preference (not a unit vector), ``shrinkage * mean of the train centres``:
        its affinity for an item is the mean affinity of train users, since the affinity is linear."""
        mean = self._shrinkage * self.centres[: self.num_train_segments].mean(axis=0)
        return {"preference": np.tile(mean, (n, 1)), "segment": np.full(n, -1, dtype=np.int64)}

    def state_ranges(self) -> dict[str, tuple[float, float]]:
        return {"segment": (0, self.num_segments - 1)}  # -1 only in the prior, never in a simulator's state

    def affinity(self, state: UserState, items: Items) -> NDArray[np.float64]:
        embedding = items["embedding"]
        if embedding.shape[-1] != self.embedding_dim:
            raise ValueError(
                f"user_model {self.name!r}: embedding_dim is {self.embedding_dim} but the items' embeddings "
                f"have {embedding.shape[-1]} dimensions; set both to agree"
            )
        return sum_last(embedding * state["preference"][:, None, :])
