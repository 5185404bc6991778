"""Scoring: the versioned protocol, result files and their validation, and aggregate metrics.

- :mod:`recsim_bench.scoring.protocol`: protocol ``v1`` (users, seeds, budgets, sessions, references).
- :mod:`recsim_bench.scoring.results`: result files (schema, checksum, atomic writes), validation,
  re-runs, and :func:`evaluate`, which scores any agent under a protocol in one call.
- :mod:`recsim_bench.scoring.metrics`: metrics over ``scores[run, env]`` and their stratified
  bootstrap intervals (Agarwal et al., NeurIPS 2021).
"""

from recsim_bench.scoring.metrics import (
    Interval,
    check_scores,
    iqm,
    mean_ci,
    mean_score,
    median_score,
    normalise,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    stratified_bootstrap_ci,
)
from recsim_bench.scoring.protocol import EnvProtocol, Protocol, load_protocol, measure_references
from recsim_bench.scoring.results import (
    SCHEMA_VERSION,
    evaluate,
    load_policy,
    make_result,
    read_result,
    rerun,
    result_errors,
    validate_submission,
    write_result,
)

__all__ = [
    "SCHEMA_VERSION",
    "EnvProtocol",
    "Interval",
    "Protocol",
    "check_scores",
    "evaluate",
    "iqm",
    "mean_ci",
    "load_policy",
    "load_protocol",
    "make_result",
    "mean_score",
    "measure_references",
    "median_score",
    "normalise",
    "optimality_gap",
    "performance_profile",
    "probability_of_improvement",
    "read_result",
    "rerun",
    "stratified_bootstrap_ci",
    "result_errors",
    "validate_submission",
    "write_result",
]
