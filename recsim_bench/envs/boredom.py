"""RecSimBench/Boredom-v0: a drifting taste and per-topic boredom; diversity pays in the long run."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "catalogue", "num_items": 500, "num_topics": 10, "embedding_dim": 8, "topic_spread": 0.3},
    "user_model": {"name": "boredom"},
    "choice_model": {"name": "position_based"},
    "response_model": {"name": "click"},
    "reward": "clicks",
    "num_candidates": 10,
    "slate_size": 5,
    "max_steps": 100,
}


class BoredomEnv(RecEnv):
    """
    ## Description
    A user whose taste drifts toward what they click and who tires of a topic consumed too often.
    Each step the platform is offered 10 items of a fixed catalogue of 500 (10 topics, unit embeddings
    in R^8) and shows a slate of 5. The user's hidden preference is a unit vector; the affinity for an
    item is the cosine ``p . e`` between them, minus 1 while the item's topic bores the user. The user
    clicks each slot independently (position-based model), so a step can bring several clicks. Each
    click pulls the preference 10% of the way toward the clicked item. The topics of the last 10 clicks
    form a window; a click that brings a topic to 5 of them bores the user with that topic for the next
    20 steps. A myopic policy serves the closest topics, wins the first steps and then bores the user;
    resting a topic before it reaches the threshold earns less now and more over the episode.

    ## Action Space
    ``SlateSpace(num_candidates=10, slate_size=5)``: a ``MultiDiscrete([10] * 5)`` of distinct candidate
    indices (the first is the top slot).

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (11,): each topic's share of the window (its count among the last 10 clicks, divided by
      10), then the fraction of ``max_steps`` elapsed. The preference and the boredom timers are hidden;
    - ``candidates`` (10, 18): each candidate's one-hot topic, then its embedding;
    - ``response`` (5, 19): per slot of the last slate: click, then the shown item's features.

    ## Rewards
    Clicks: the number of clicked slots, 0 to 5 per step. Slot ``i`` (0 = top) is clicked with probability
    ``0.8^i * sigmoid(4 (a - 0.5))`` for affinity ``a``.

    ## Starting State
    A preference drawn uniformly on the unit sphere (a normalised standard normal), from the user's task;
    an empty window and no boredom.

    ## Episode End
    The user never leaves: never ``terminated``. ``truncated`` after ``max_steps=100`` steps.

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``). Defaults:
    ``item_model={"name": "catalogue", "num_items": 500, "num_topics": 10, "embedding_dim": 8,
    "topic_spread": 0.3}``, ``user_model={"name": "boredom"}`` (drift 0.1, window 10, threshold 5,
    boredom duration 20, boredom penalty 1), ``choice_model={"name": "position_based"}`` (examination
    decay 0.8, attractiveness ``sigmoid(4 (a - 0.5))``), ``response_model="click"``, ``reward="clicks"``,
    ``num_candidates=10``, ``slate_size=5``.

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 74.08 [73.31, 74.84], greedy 74.37 [73.61, 75.13], oracle 126.07 [125.05, 127.09], diverse 124.17 [123.09, 125.24], fresh 139.59 [138.57, 140.60], diverse_fresh 133.15 [132.19, 134.12].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/Boredom-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/Boredom-v0", num_envs=N)`` gives :class:`BoredomVectorEnv`, the same
    simulator over N users (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class BoredomVectorEnv(RecVectorEnv):
    """N users of :class:`BoredomEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
