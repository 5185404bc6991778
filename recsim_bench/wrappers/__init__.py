"""Wrappers over the RecSimBench envs: observation flattening and score-to-slate actions, single and vector.

The Stable-Baselines3 adapter is :class:`recsim_bench.wrappers.sb3.SB3VecEnv`; import that module
explicitly (it needs ``stable-baselines3``, which ``recsim_bench`` itself does not).
"""

from recsim_bench.wrappers.flatten import FlattenObservation, FlattenVectorObservation
from recsim_bench.wrappers.score_to_slate import ScoreToSlate, ScoreToSlateVector

__all__ = ["FlattenObservation", "FlattenVectorObservation", "ScoreToSlate", "ScoreToSlateVector"]
