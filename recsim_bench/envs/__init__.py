"""The registered suite: every id gets both an ``entry_point`` and a ``vector_entry_point``."""

from __future__ import annotations

import dataclasses

import gymnasium as gym

from recsim_bench.envs.boredom import BoredomEnv, BoredomVectorEnv
from recsim_bench.envs.cold_start import ColdStartEnv, ColdStartVectorEnv
from recsim_bench.envs.core import RecEnv, RecVectorEnv
from recsim_bench.envs.ecommerce import EcommerceEnv, EcommerceVectorEnv
from recsim_bench.envs.interest_evolution import InterestEvolutionEnv, InterestEvolutionVectorEnv
from recsim_bench.envs.interest_exploration import InterestExplorationEnv, InterestExplorationVectorEnv
from recsim_bench.envs.long_term_satisfaction import LongTermSatisfactionEnv, LongTermSatisfactionVectorEnv
from recsim_bench.envs.retention import RetentionEnv, RetentionVectorEnv
from recsim_bench.envs.spaces import SlateSpace

NAMESPACE = "RecSimBench"


@dataclasses.dataclass(frozen=True)
class SuiteEntry:
    """Where a registered id's classes live, and what it is about in one line."""

    module: str
    single_class: str  # the gymnasium.Env subclass, the id's entry_point
    vector_class: str  # the gymnasium.vector.VectorEnv subclass, its vector_entry_point
    description: str


#: Every registered id, in the order the suite lists them.
SUITE: dict[str, SuiteEntry] = {
    f"{NAMESPACE}/InterestEvolution-v0": SuiteEntry(
        "recsim_bench.envs.interest_evolution",
        "InterestEvolutionEnv",
        "InterestEvolutionVectorEnv",
        "RecSim interest evolution: topic interests drift with clicks; video quality extends the session.",
    ),
    f"{NAMESPACE}/LongTermSatisfaction-v0": SuiteEntry(
        "recsim_bench.envs.long_term_satisfaction",
        "LongTermSatisfactionEnv",
        "LongTermSatisfactionVectorEnv",
        "RecSim choc/kale: clickbait engages now, lowers hidden satisfaction later.",
    ),
    f"{NAMESPACE}/InterestExploration-v0": SuiteEntry(
        "recsim_bench.envs.interest_exploration",
        "InterestExplorationEnv",
        "InterestExplorationVectorEnv",
        "RecSim interest exploration: hidden user types; myopic policies neglect niche interests.",
    ),
    f"{NAMESPACE}/Boredom-v0": SuiteEntry(
        "recsim_bench.envs.boredom",
        "BoredomEnv",
        "BoredomVectorEnv",
        "Taste drifts toward clicks; a topic clicked too often bores the user for a while: diversity pays.",
    ),
    f"{NAMESPACE}/Retention-v0": SuiteEntry(
        "recsim_bench.envs.retention",
        "RetentionEnv",
        "RetentionVectorEnv",
        "Sessions of one user: bad slates end a session, unsatisfying sessions delay the return or lose the user.",
    ),
    f"{NAMESPACE}/Ecommerce-v0": SuiteEntry(
        "recsim_bench.envs.ecommerce",
        "EcommerceEnv",
        "EcommerceVectorEnv",
        "A shopping session: click, add-to-cart, purchase funnel; price vs willingness to pay; reward revenue.",
    ),
    f"{NAMESPACE}/ColdStart-v0": SuiteEntry(
        "recsim_bench.envs.cold_start",
        "ColdStartEnv",
        "ColdStartVectorEnv",
        "Meta-RL cold start: infer a new user's hidden taste from clicks; test users come from held-out segments.",
    ),
}


def register_suite() -> None:
    """Register every id of :data:`SUITE` with Gymnasium (idempotent)."""
    for env_id, entry in SUITE.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=f"{entry.module}:{entry.single_class}",
                vector_entry_point=f"{entry.module}:{entry.vector_class}",
            )


__all__ = [
    "SUITE",
    "SuiteEntry",
    "BoredomEnv",
    "BoredomVectorEnv",
    "ColdStartEnv",
    "ColdStartVectorEnv",
    "EcommerceEnv",
    "EcommerceVectorEnv",
    "InterestEvolutionEnv",
    "InterestEvolutionVectorEnv",
    "InterestExplorationEnv",
    "InterestExplorationVectorEnv",
    "LongTermSatisfactionEnv",
    "LongTermSatisfactionVectorEnv",
    "RecEnv",
    "RecVectorEnv",
    "RetentionEnv",
    "RetentionVectorEnv",
    "SlateSpace",
    "register_suite",
]
