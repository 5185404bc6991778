"""RecSimBench/InterestExploration-v0: RecSim's correlated interest-exploration environment."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "topic_lognormal_quality"},
    "user_model": {"name": "static_affinity"},
    "choice_model": {"name": "multinomial_logit", "no_click_mass": 5.0},
    "response_model": {"name": "click"},
    "reward": "clicks",
    "num_candidates": 10,
    "slate_size": 2,
    "max_steps": 100,
}


class InterestExplorationEnv(RecEnv):
    """
    ## Description
    Google RecSim 0.2.4's interest-exploration environment (``recsim/environments/interest_exploration.py``).
    Items belong to one of two topics: a mass-appeal topic (80% of items, lower production quality) and a
    niche topic (20%, higher quality). Users are of two types with opposite, hidden topic affinities.
    A user clicks with a multinomial logit over affinity + quality and a strong no-click option.
    A myopic policy learns the population's taste and neglects niche users; a good policy explores
    each user's type.

    ## Action Space
    ``SlateSpace(num_candidates=10, slate_size=2)``.

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (1,): the fraction of ``max_steps`` elapsed (the user's type is hidden);
    - ``candidates`` (10, 3): one-hot topic, then quality;
    - ``response`` (2, 4): per slot: click, then the shown item's one-hot topic and quality.

    ## Rewards
    1 per click.

    ## Starting State
    User type 0 with probability 0.3, else 1; affinity for topic d lognormal(mean[type][d], 0.1) with
    means ((0.1, 0.7), (0.7, 0.1)). Item topic 0 with probability 0.2; quality lognormal((0.8, 0.2)[topic], 0.1).

    ## Episode End
    The user never leaves (never ``terminated``); ``truncated`` after ``max_steps=100``.

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``). Defaults:
    ``item_model="topic_lognormal_quality"``, ``user_model="static_affinity"``,
    ``choice_model={"name": "multinomial_logit", "no_click_mass": 5}``, ``response_model="click"``,
    ``reward="clicks"``, ``num_candidates=10``, ``slate_size=2``, ``max_steps=100``.

    **Differs from RecSim:** RecSim's episode never ends; we truncate after 100 steps so that returns
    are finite and comparable. A longer horizon: ``max_steps=1000``.

    ## Reference returns
    See ``docs/envs/InterestExploration-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/InterestExploration-v0", num_envs=N)`` gives
    :class:`InterestExplorationVectorEnv` (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version, RecSim 0.2.4's equations with a 100-step limit.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class InterestExplorationVectorEnv(RecVectorEnv):
    """N users of :class:`InterestExplorationEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
