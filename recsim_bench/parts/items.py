"""Item models: the catalogue of each step's candidates and what the platform observes of them.

An item model draws the attributes of ``K`` fresh candidates per row from
uniforms (shape ``(N, uniforms_per_item, K)``) and turns the attributes into
observed features (shape ``(N, K, num_features)``). Attributes are a dict of
``(N, K)`` arrays; user and response models read them by name.
"""

from __future__ import annotations

import dataclasses
import functools
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
    unit_rows,
)

Items = dict[str, NDArray]

#: The observation's bound for lognormal quality (RecSim's documents leave it unbounded).
MAX_OBSERVED_QUALITY = 100.0


@dataclasses.dataclass(frozen=True)
class ItemModel(Part):
    """Base of item models."""

    kind: ClassVar[str] = "item_model"
    attributes: ClassVar[tuple[str, ...]] = ()
    uniforms_per_item: ClassVar[int] = 1

    @property
    def num_features(self) -> int:
        return len(self.feature_bounds()[0])

    def memory_bytes(self, num_candidates: int) -> int:
        """Bytes the model itself holds (tables built once) when it offers ``num_candidates`` per row."""
        return 0

    def check_num_candidates(self, num_candidates: int) -> None:
        """Refuse a number of candidates per row that the model cannot offer (any number by default)."""

    def feature_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Lower and upper bounds of the observed features, each of shape ``(num_features,)``."""
        raise NotImplementedError

    def attribute_ranges(self) -> dict[str, tuple[float, float]]:
        """``(smallest, largest)`` value of each scalar attribute an item can have, where the model bounds it: every
        integer attribute (a resume file's candidates are checked against them before they are restored) and those
        that response models build the bounds of their behaviours, hence of the return, on."""
        return {}

    def sample(self, u: NDArray[np.float64]) -> Items:
        """Candidates from uniforms of shape ``(N, uniforms_per_item, K)``: their attributes, or a compact
        form of them that :meth:`expand` completes."""
        raise NotImplementedError

    def expand(self, items: Items) -> Items:
        """Every attribute of ``items`` (as :meth:`sample` or a selection of its rows and columns made them).

        The simulator expands only what it reads (the shown slate), so an item model whose
        attributes are looked up (a catalogue) can keep its candidates as ids.
        """
        return items

    def features(self, items: Items, lead: int = 0, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """Observed features, shape ``(N, K, lead + num_features)``, float32, in a new array or in ``out``.

        The first ``lead`` columns are zeros for the caller to fill (the simulator puts the
        behaviours there): one allocation instead of a concatenation.
        """
        raise NotImplementedError


@functools.lru_cache(maxsize=None)
def _one_hot_table(num_topics: int, lead: int, extra: int) -> NDArray[np.float32]:
    return np.eye(num_topics, lead + num_topics + extra, k=lead, dtype=np.float32)


def _one_hot(
    topic: NDArray[np.int64], num_topics: int, lead: int = 0, extra: int = 0, out: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """``lead`` zero columns, the one-hot topic, ``extra`` zero columns: shape ``topic.shape + (lead + num_topics + extra,)``.

    Topics are in range by construction; ``mode="clip"`` spares numpy's bounds check and,
    with ``out``, its intermediate buffer.
    """
    return _one_hot_table(num_topics, lead, extra).take(topic, axis=0, out=out, mode="clip")


@dataclasses.dataclass(frozen=True)
class TopicQualityItems(ItemModel):
    """RecSim's interest-evolution videos (``UtilityModelVideoSampler``).

    A video's topic is uniform over ``num_topics``; its quality is normal with a
    topic mean and standard deviation ``quality_stddev``. The first
    ``int(num_topics * trashy_fraction)`` topics have means spaced evenly from
    ``min_quality`` to 0 ("trashy"), the rest from 0 to ``max_quality``
    ("nutritious"). Every video lasts ``video_length`` minutes. Observed
    features: the one-hot topic (RecSim does not show quality before a click).
    """

    name: ClassVar[str] = "topic_quality"
    attributes: ClassVar[tuple[str, ...]] = ("topic", "quality", "length")
    uniforms_per_item: ClassVar[int] = 3

    num_topics: int = 20
    trashy_fraction: float = 0.7
    min_quality: float = -3.0
    max_quality: float = 3.0
    quality_stddev: float = 0.1
    video_length: float = 4.0

    def __post_init__(self) -> None:
        check_integer(self, "num_topics", 2)
        check_range(self, "trashy_fraction", 0.0, 1.0)
        check_finite(self, "min_quality")
        check_finite(self, "max_quality")
        if not self.min_quality <= 0.0 <= self.max_quality:  # the trashy means run up to 0, the nutritious ones on from 0
            raise ValueError(
                f"item_model {self.name!r}: need min_quality <= 0 <= max_quality, "
                f"got min_quality={self.min_quality!r}, max_quality={self.max_quality!r}"
            )
        check_positive(self, "quality_stddev", strict=False)
        check_range(self, "video_length", 1e-9, 100.0)  # RecSim's MAX_VIDEO_LENGTH is 100

    @functools.cached_property
    def topic_means(self) -> NDArray[np.float64]:
        """Mean quality of each topic, shape ``(num_topics,)``."""
        num_trashy = int(self.num_topics * self.trashy_fraction)
        trashy = np.linspace(self.min_quality, 0.0, num_trashy)
        nutritious = np.linspace(0.0, self.max_quality, self.num_topics - num_trashy)
        return np.concatenate([trashy, nutritious])

    def feature_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        return np.zeros(self.num_topics, np.float32), np.ones(self.num_topics, np.float32)

    def attribute_ranges(self) -> dict[str, tuple[float, float]]:
        return {"topic": (0, self.num_topics - 1), "length": (float(self.video_length), float(self.video_length))}

    def sample(self, u: NDArray[np.float64]) -> Items:
        topic = np.minimum((u[:, 0] * self.num_topics).astype(np.int64), self.num_topics - 1)
        quality = self.topic_means[topic] + self.quality_stddev * rng.normals(u[:, 1], u[:, 2])
        return {"topic": topic, "quality": quality, "length": np.full(topic.shape, self.video_length)}

    def features(self, items: Items, lead: int = 0, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        return _one_hot(items["topic"], self.num_topics, lead, out=out)


@dataclasses.dataclass(frozen=True)
class ClickbaitItems(ItemModel):
    """RecSim's choc/kale documents: a clickbait score uniform on [0, 1], observed as the only feature."""

    name: ClassVar[str] = "clickbait"
    attributes: ClassVar[tuple[str, ...]] = ("clickbait",)
    uniforms_per_item: ClassVar[int] = 1

    def feature_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        return np.zeros(1, np.float32), np.ones(1, np.float32)

    def attribute_ranges(self) -> dict[str, tuple[float, float]]:
        return {"clickbait": (0.0, 1.0)}

    def sample(self, u: NDArray[np.float64]) -> Items:
        return {"clickbait": u[:, 0].copy()}

    def features(self, items: Items, lead: int = 0, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        if out is None:
            out = np.zeros(items["clickbait"].shape + (lead + 1,), dtype=np.float32)
        else:
            out[..., :lead] = 0.0
        out[..., lead] = items["clickbait"]
        return out


@dataclasses.dataclass(frozen=True)
class TopicLognormalQualityItems(ItemModel):
    """RecSim's interest-exploration documents (``IETopicDocumentSampler``).

    The topic is drawn from ``topic_probs``; quality is lognormal with the
    topic's ``quality_mean`` and ``quality_stddev`` (of the underlying normal).
    Observed features: the one-hot topic followed by the quality (capped at
    :data:`MAX_OBSERVED_QUALITY` in the observation only).
    """

    name: ClassVar[str] = "topic_lognormal_quality"
    attributes: ClassVar[tuple[str, ...]] = ("topic", "quality")
    uniforms_per_item: ClassVar[int] = 3

    topic_probs: tuple[float, ...] = (0.2, 0.8)
    quality_mean: tuple[float, ...] = (0.8, 0.2)
    quality_stddev: tuple[float, ...] = (0.1, 0.1)

    def __post_init__(self) -> None:
        probs = check_probabilities(self, "topic_probs")
        check_shape(self, "quality_mean", probs.shape)
        check_shape(self, "quality_stddev", probs.shape)
        check_finite(self, "quality_mean")
        check_nonnegative(self, "quality_stddev")

    @property
    def num_topics(self) -> int:
        return len(self.topic_probs)

    def feature_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        low = np.zeros(self.num_topics + 1, np.float32)
        high = np.ones(self.num_topics + 1, np.float32)
        high[-1] = MAX_OBSERVED_QUALITY
        return low, high

    def attribute_ranges(self) -> dict[str, tuple[float, float]]:
        return {"topic": (0, self.num_topics - 1)}

    def sample(self, u: NDArray[np.float64]) -> Items:
        topic = categorical(u[:, 0], np.asarray(self.topic_probs))
        mean = np.asarray(self.quality_mean)[topic]
        stddev = np.asarray(self.quality_stddev)[topic]
        return {"topic": topic, "quality": exact_math.exp(mean + stddev * rng.normals(u[:, 1], u[:, 2]))}

    def features(self, items: Items, lead: int = 0, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        out = _one_hot(items["topic"], self.num_topics, lead, extra=1, out=out)
        out[..., -1] = np.minimum(items["quality"], MAX_OBSERVED_QUALITY)
        return out


#: Attributes of a catalogue item that can be observed, in feature order.
CATALOGUE_OBSERVABLE = ("topic", "embedding", "quality", "price", "clickbait")


@dataclasses.dataclass(frozen=True)
class CatalogueItems(ItemModel):
    """A fixed catalogue of ``num_items`` items, generated once from ``catalogue_seed``.

    Item ``j`` has a topic (uniform over ``num_topics``), an embedding in R^``embedding_dim``
    (its topic's centre, a random unit vector, plus Gaussian noise of scale ``topic_spread``,
    normalised to unit length), a quality ``N(0, 1)`` clipped to [-3, 3], a price
    ``exp(N(price_log_mean, price_log_stddev))`` and a clickbait score uniform on [0, 1].
    The catalogue is part of the environment's version: the same parameters give the same items.

    Candidates are kept as ``item_id`` only; :meth:`expand` looks their attributes up.
    When ``K < num_items``, they are ``K`` distinct items ``(a + b * j) mod num_items``,
    ``j = 0..K-1``, with ``a`` uniform and the stride ``b`` uniform over the integers coprime
    to ``num_items`` (so no item repeats); the catalogue's order is random, so such a set is as
    good as a uniform one for every attribute. ``K == num_items`` shows the whole catalogue in
    id order. Observed features: the attributes in ``observed``, in the order of
    :data:`CATALOGUE_OBSERVABLE` (topic one-hot, embedding, quality, price, clickbait).
    """

    name: ClassVar[str] = "catalogue"
    attributes: ClassVar[tuple[str, ...]] = ("item_id", "topic", "embedding", "quality", "price", "clickbait")
    uniforms_per_item: ClassVar[int] = 1

    num_items: int = 1000
    num_topics: int = 10
    embedding_dim: int = 8
    topic_spread: float = 0.5
    price_log_mean: float = 3.0
    price_log_stddev: float = 0.5
    catalogue_seed: int = 0
    observed: tuple[str, ...] = ("topic", "embedding")

    def __post_init__(self) -> None:
        check_integer(self, "num_items", 2)
        check_integer(self, "num_topics", 1)
        check_integer(self, "embedding_dim", 1)
        check_nonnegative(self, "topic_spread")
        check_finite(self, "price_log_mean")
        check_nonnegative(self, "price_log_stddev")
        check_integer(self, "catalogue_seed", 0)
        unknown = [a for a in self.observed if a not in CATALOGUE_OBSERVABLE]
        if unknown or len(set(self.observed)) != len(self.observed) or not self.observed:
            raise ValueError(
                f"item_model {self.name!r}: observed must list distinct attributes from {list(CATALOGUE_OBSERVABLE)}, "
                f"got {self.observed!r}"
            )

    @functools.cached_property
    def catalogue(self) -> dict[str, NDArray]:
        """Every item's attributes, each of shape ``(num_items, ...)``; embeddings are float32."""
        seed, d = self.catalogue_seed, self.embedding_dim
        centres = unit_rows(rng.table_normals(seed, 0, self.num_topics, d))
        u = rng.table_uniforms(seed, 1, self.num_items, 2 + 2 * (d + 2))  # topic, clickbait, then d + 2 normals' pairs
        topic = np.minimum((u[:, 0] * self.num_topics).astype(np.int64), self.num_topics - 1)
        noise = rng.normals(u[:, 2 : 4 + d], u[:, 4 + d :])
        embedding = unit_rows(centres[topic] + self.topic_spread * noise[:, :d])
        return {
            "item_id": np.arange(self.num_items),
            "topic": topic,
            "embedding": embedding.astype(np.float32),
            "quality": np.clip(noise[:, d], -3.0, 3.0),
            "price": exact_math.exp(self.price_log_mean + self.price_log_stddev * noise[:, d + 1]),
            "clickbait": u[:, 1],
        }

    def attribute_ranges(self) -> dict[str, tuple[float, float]]:
        """The ids, and the extremes of the fixed catalogue itself (prices are lognormal, but this catalogue's dearest item is known)."""
        extremes = {name: (float(self.catalogue[name].min()), float(self.catalogue[name].max())) for name in ("quality", "price", "clickbait")}
        return {"item_id": (0, self.num_items - 1), **extremes}

    @functools.cached_property
    def _strides(self) -> NDArray[np.int64]:
        steps = np.arange(1, self.num_items)
        return steps[np.gcd(steps, self.num_items) == 1]

    @functools.lru_cache(maxsize=4)
    def _offsets(self, k: int) -> NDArray[np.int64]:
        """``(stride * j) mod num_items`` for every stride and ``j < k``: a table, so sampling divides nothing."""
        return (self._strides[:, None] * np.arange(k)) % self.num_items

    def _observed_columns(self) -> list[NDArray[np.float32]]:
        items = self.catalogue
        columns = {
            "topic": np.eye(self.num_topics, dtype=np.float32)[items["topic"]],
            "embedding": items["embedding"],
            "quality": items["quality"][:, None],
            "price": items["price"][:, None],
            "clickbait": items["clickbait"][:, None],
        }
        return [columns[a].astype(np.float32) for a in CATALOGUE_OBSERVABLE if a in self.observed]

    @property
    def num_features(self) -> int:
        """From the parameters alone, without building the catalogue (memory is estimated before it is built)."""
        widths = {"topic": self.num_topics, "embedding": self.embedding_dim}
        return sum(widths.get(attribute, 1) for attribute in self.observed)

    def check_num_candidates(self, num_candidates: int) -> None:
        if num_candidates > self.num_items:
            raise ValueError(f"num_candidates must be <= the catalogue's num_items ({self.num_items}), got {num_candidates}")

    def memory_bytes(self, num_candidates: int) -> int:
        # The attributes (embeddings drawn in float64), the two cached feature tables, and the stride offsets table.
        n, k = self.num_items, num_candidates
        attributes = n * (8 * 5 + 4 * self.embedding_dim + 2 * 8 * self.embedding_dim)
        tables = 3 * 4 * n * (self.num_features + self.num_topics + 8)
        offsets = 8 * n * (k + 1) if k < n else 0
        return attributes + tables + offsets

    def feature_bounds(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        # Finite parameters can still overflow: a price is exp(price_log_mean + price_log_stddev * z), float32 when observed.
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, naming the parameters
            columns = self._observed_columns()
        observed = [a for a in CATALOGUE_OBSERVABLE if a in self.observed]
        overflowed = [name for name, values in self.catalogue.items() if not np.all(np.isfinite(values))]
        overflowed += [name for name, values in zip(observed, columns) if name not in overflowed and not np.all(np.isfinite(values))]
        if overflowed:
            raise ValueError(
                f"item_model {self.name!r}: price_log_mean={self.price_log_mean!r}, price_log_stddev={self.price_log_stddev!r}, "
                f"topic_spread={self.topic_spread!r} give non-finite {overflowed} "
                "(an observed price is float32: keep log prices below 88)"
            )
        table = np.concatenate(columns, axis=1)
        low, high = table.min(axis=0), table.max(axis=0)
        if "topic" in self.observed:  # a one-hot column of a topic that no item has is still a 0/1 column
            low[: self.num_topics], high[: self.num_topics] = 0.0, 1.0
        return low, high

    @functools.lru_cache(maxsize=4)
    def _feature_table(self, lead: int) -> NDArray[np.float32]:
        table = np.concatenate(self._observed_columns(), axis=1)
        return np.concatenate([np.zeros((self.num_items, lead), np.float32), table], axis=1)

    def sample(self, u: NDArray[np.float64]) -> Items:
        n, k = u.shape[0], u.shape[2]
        if k > self.num_items:
            raise ValueError(f"item_model {self.name!r}: {k} candidates requested from {self.num_items} items")
        if k == self.num_items:
            ids = np.tile(np.arange(self.num_items), (n, 1))
        else:
            start = (u[:, 0, 0] * self.num_items).astype(np.int64)
            stride = (u[:, 0, -1] * len(self._strides)).astype(np.int64)
            ids = self._offsets(k).take(stride, axis=0, mode="clip") + start[:, None]
            ids -= self.num_items * (ids >= self.num_items)  # both terms are below num_items
        return {"item_id": ids}

    def expand(self, items: Items) -> Items:
        # take with mode="clip" (ids are in range by construction) skips numpy's bounds check and fancy-index path.
        ids = items["item_id"]
        return {name: values.take(ids, axis=0, mode="clip") for name, values in self.catalogue.items()}

    def features(self, items: Items, lead: int = 0, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        return self._feature_table(lead).take(items["item_id"], axis=0, out=out, mode="clip")
