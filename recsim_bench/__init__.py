"""recsim-bench: Gymnasium environments for reinforcement learning in recommender systems.

``import recsim_bench`` registers the ``RecSimBench/*`` ids with Gymnasium.
"""

from recsim_bench.envs import SUITE, RecEnv, RecVectorEnv, SlateSpace, register_suite
from recsim_bench.simulator import SimState, Simulator

__version__ = "0.1.0"

register_suite()

__all__ = ["SUITE", "RecEnv", "RecVectorEnv", "SimState", "Simulator", "SlateSpace", "__version__", "register_suite"]
