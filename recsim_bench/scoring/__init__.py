"""Scoring: aggregate metrics over ``scores[run, env]`` and their confidence intervals.

See :mod:`recsim_bench.scoring.metrics` for the array convention and the
references (Agarwal et al., NeurIPS 2021).
"""

from recsim_bench.scoring.metrics import (
    Interval,
    check_scores,
    iqm,
    mean_score,
    median_score,
    normalise,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    stratified_bootstrap_ci,
)

__all__ = [
    "Interval",
    "check_scores",
    "iqm",
    "mean_score",
    "median_score",
    "normalise",
    "optimality_gap",
    "performance_profile",
    "probability_of_improvement",
    "stratified_bootstrap_ci",
]
