"""Wrappers over the RecSimBench envs, single and vector: observation flattening, score-to-slate actions,
and trials of K sessions with one user (RL^2).

The Stable-Baselines3 adapter is :class:`recsim_bench.wrappers.sb3.SB3VecEnv`; import that module
explicitly (it needs ``stable-baselines3``, which ``recsim_bench`` itself does not).
"""

from recsim_bench.wrappers.flatten import FlattenObservation, FlattenVectorObservation
from recsim_bench.wrappers.score_to_slate import ScoreToSlate, ScoreToSlateVector
from recsim_bench.wrappers.trial import Trial, TrialVector, make_trial_vector

__all__ = [
    "FlattenObservation",
    "FlattenVectorObservation",
    "ScoreToSlate",
    "ScoreToSlateVector",
    "Trial",
    "TrialVector",
    "make_trial_vector",
]
