"""Choice models: from the user's scores of the slate's items to the probability of each pick.

``probabilities(scores)`` takes scores of shape ``(N, S)`` in slate order and
returns ``(N, S + 1)`` probabilities of single picks; the last column is the
no-click option. ``choose(scores, u)`` draws which slots are clicked
(``(N, S)`` booleans) from ``uniforms(S)`` uniforms per row; models where a
user may click several items override it and ``click_probabilities``.
The equations are RecSim's (``recsim/choice_model.py``); where RecSim asserts
that a score is a valid probability, these models clip it into [0, 1].
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench import exact_math
from recsim_bench.parts.base import Part, check_finite, check_positive, check_range, sum_last


@dataclasses.dataclass(frozen=True)
class ChoiceModel(Part):
    """Base of choice models."""

    kind: ClassVar[str] = "choice_model"

    def probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Pick probabilities ``(N, S + 1)``, the last column being no click."""
        raise NotImplementedError

    def uniforms(self, slate_size: int) -> int:
        """Uniforms per row that :meth:`choose` consumes for a slate of ``slate_size``."""
        return 1

    def max_clicks(self, slate_size: int) -> int:
        """The most slots :meth:`choose` can click in one slate of ``slate_size``."""
        return 1

    def click_probabilities(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Marginal probability that each slot is clicked, ``(N, S)``."""
        return self.probabilities(scores)[:, :-1]

    def choose(self, scores: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which slots are clicked, ``(N, S)``: at most one, by the inverse CDF of one uniform per row over
        the ``S + 1`` options (option ``S`` is no click)."""
        probs = self.probabilities(scores)
        draw, cumulative = u[:, 0], probs[:, 0].copy()
        pick = (draw >= cumulative).astype(np.int64)
        for option in range(1, probs.shape[1] - 1):
            cumulative += probs[:, option]
            pick += draw >= cumulative
        return pick[:, None] == np.arange(probs.shape[1] - 1)


def _normalise(weights: NDArray[np.float64], no_click: NDArray[np.float64] | float) -> NDArray[np.float64]:
    all_weights = np.empty((weights.shape[0], weights.shape[1] + 1))
    all_weights[:, :-1] = weights
    all_weights[:, -1:] = no_click
    all_weights /= sum_last(all_weights)[:, None]
    return all_weights


@dataclasses.dataclass(frozen=True)
class MultinomialLogit(ChoiceModel):
    """``p(i) = exp(s_i) / (sum_j exp(s_j) + exp(no_click_mass))``."""

    name: ClassVar[str] = "multinomial_logit"
    no_click_mass: float = 0.0

    def __post_init__(self) -> None:
        check_finite(self, "no_click_mass")

    def probabilities(self, scores):
        shift = np.maximum(scores.max(axis=1, keepdims=True), self.no_click_mass)
        return _normalise(exact_math.exp(scores - shift), exact_math.exp(self.no_click_mass - shift))


@dataclasses.dataclass(frozen=True)
class MultinomialProportional(ChoiceModel):
    """``p(i) = (s_i - m) / (sum_j (s_j - m) + no_click_mass - m)`` with ``m = min_normalizer``.

    Shifted scores below 0 are clipped to 0.
    """

    name: ClassVar[str] = "multinomial_proportional"
    min_normalizer: float = -1.0
    no_click_mass: float = 1.0

    def __post_init__(self) -> None:
        check_finite(self, "min_normalizer")
        check_finite(self, "no_click_mass")
        if self.no_click_mass <= self.min_normalizer:
            raise ValueError(
                f"choice_model {self.name!r}: no_click_mass must be > min_normalizer (so that every "
                f"slate has a well-defined distribution), got {self.no_click_mass!r} <= {self.min_normalizer!r}"
            )

    def probabilities(self, scores):
        return _normalise(np.maximum(scores - self.min_normalizer, 0.0), self.no_click_mass - self.min_normalizer)


def _cascade(click_given_examined: NDArray[np.float64]) -> NDArray[np.float64]:
    """A user examines the slate in order and stops at the first click."""
    not_clicked = np.cumprod(1.0 - click_given_examined, axis=1)
    reached = np.concatenate([np.ones((len(not_clicked), 1)), not_clicked[:, :-1]], axis=1)
    return np.concatenate([reached * click_given_examined, not_clicked[:, -1:]], axis=1)


@dataclasses.dataclass(frozen=True)
class ExponentialCascade(ChoiceModel):
    """Cascade: item ``i``, once examined, is clicked with ``attention_prob * min(1, score_scaling * exp(s_i))``."""

    name: ClassVar[str] = "exponential_cascade"
    attention_prob: float = 0.65
    score_scaling: float = 0.05

    def __post_init__(self) -> None:
        check_range(self, "attention_prob", 0.0, 1.0)
        check_positive(self, "score_scaling")

    def probabilities(self, scores):
        return _cascade(self.attention_prob * np.minimum(self.score_scaling * exact_math.exp(scores), 1.0))


@dataclasses.dataclass(frozen=True)
class ProportionalCascade(ChoiceModel):
    """Cascade with ``attention_prob * clip(score_scaling * (s_i - min_normalizer), 0, 1)``."""

    name: ClassVar[str] = "proportional_cascade"
    attention_prob: float = 0.65
    score_scaling: float = 0.05
    min_normalizer: float = -1.0

    def __post_init__(self) -> None:
        check_range(self, "attention_prob", 0.0, 1.0)
        check_positive(self, "score_scaling", strict=False)
        check_finite(self, "min_normalizer")

    def probabilities(self, scores):
        return _cascade(self.attention_prob * np.clip(self.score_scaling * (scores - self.min_normalizer), 0.0, 1.0))


@dataclasses.dataclass(frozen=True)
class AlwaysFirst(ChoiceModel):
    """The user always clicks the first slate item (RecSim's choc/kale user)."""

    name: ClassVar[str] = "always_first"

    def probabilities(self, scores):
        probs = np.zeros((scores.shape[0], scores.shape[1] + 1))
        probs[:, 0] = 1.0
        return probs


@dataclasses.dataclass(frozen=True)
class PositionBased(ChoiceModel):
    """Position-based click model (Craswell et al., WSDM 2008): several clicks per slate, or none.

    Slot ``i`` (0 = top) is examined with probability ``examination_decay ** i``; an examined item
    is clicked with its attractiveness ``sigmoid(attraction_scale * (s - attraction_offset))``.
    Slots are independent: ``P(click_i) = examination_decay ** i * attractiveness(s_i)``, one uniform per slot.
    """

    name: ClassVar[str] = "position_based"
    examination_decay: float = 0.8
    attraction_scale: float = 4.0
    attraction_offset: float = 0.5

    def __post_init__(self) -> None:
        check_range(self, "examination_decay", 0.0, 1.0)
        check_positive(self, "attraction_scale", strict=False)
        check_finite(self, "attraction_offset")

    def probabilities(self, scores):
        raise NotImplementedError("position_based allows several clicks: use click_probabilities or choose")

    def uniforms(self, slate_size: int) -> int:
        return slate_size

    def max_clicks(self, slate_size: int) -> int:
        return slate_size

    def click_probabilities(self, scores):
        examination = exact_math.power(self.examination_decay, np.arange(scores.shape[1]))
        return examination * exact_math.expit(self.attraction_scale * (scores - self.attraction_offset))

    def choose(self, scores, u):
        return u < self.click_probabilities(scores)
