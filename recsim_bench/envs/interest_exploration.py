"""RecSimBench/InterestExploration-v0: RecSim's correlated interest-exploration environment."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "topic_lognormal_quality"},
    "user_model": {"name": "static_affinity", "affinity_mean": [[0.1, 1.5], [1.5, 0.1]]},
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
    Items belong to one of two topics. Topic 0 is the mass-appeal topic: 70% of users (type 1) prefer it
    and its items have the higher production quality, though only 20% of the candidates belong to it.
    Topic 1 (80% of the candidates, lower quality) is the niche interest of the other 30% (type 0).
    The type is hidden. A user clicks with a multinomial logit over affinity + quality and a strong
    no-click option. A policy tuned to the population serves topic 0 and neglects niche users; a good
    policy infers each user's type from the clicks and serves it.

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
    means ((0.1, 1.5), (1.5, 0.1)). Item topic 0 with probability 0.2; quality lognormal((0.8, 0.2)[topic], 0.1).

    ## Episode End
    The user never leaves (never ``terminated``); ``truncated`` after ``max_steps=100``.

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``). Defaults:
    ``item_model="topic_lognormal_quality"``,
    ``user_model={"name": "static_affinity", "affinity_mean": [[0.1, 1.5], [1.5, 0.1]]}``,
    ``choice_model={"name": "multinomial_logit", "no_click_mass": 5}``, ``response_model="click"``,
    ``reward="clicks"``, ``num_candidates=10``, ``slate_size=2``, ``max_steps=100``.

    **Differs from RecSim**, for a better benchmark:
    - RecSim's episode never ends; we truncate after 100 steps so that returns are finite and comparable.
      A longer horizon: ``max_steps=1000``.
    - RecSim's affinity means ((0.1, 0.7), (0.7, 0.1)) let topic 0's quality outweigh the niche users'
      affinity for topic 1, so every user prefers topic 0 and personalisation is worth almost nothing
      (the myopic oracle beats the population-greedy policy by about 0.5 clicks in 100 steps). With
      ((0.1, 1.5), (1.5, 0.1)) niche users prefer their topic and the gap is about 10 clicks.
    RecSim's values: ``gym.make("RecSimBench/InterestExploration-v0", max_steps=..., user_model={"name":
    "static_affinity"})`` (the part's own defaults are RecSim's).

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 49.54 [48.44, 50.64], greedy 70.13 [69.05, 71.22], oracle 81.48 [81.10, 81.85].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/InterestExploration-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/InterestExploration-v0", num_envs=N)`` gives
    :class:`InterestExplorationVectorEnv` (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version, RecSim 0.2.4's equations with a 100-step limit and stronger niche affinities.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class InterestExplorationVectorEnv(RecVectorEnv):
    """N users of :class:`InterestExplorationEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
