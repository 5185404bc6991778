"""Aggregate metrics over ``scores[run, env]`` and their bootstrap intervals.

One array convention serves every function here: ``scores`` is a float array
of shape ``(num_runs, num_envs)``. A row is one run (a training seed of one
agent); a column is one environment of the suite. Scores are normalised
(:func:`normalise`: 0 is the random reference, 1 the upper reference; the
protocol's upper reference is each env's best privileged policy, see
:mod:`recsim_bench.scoring.protocol`) unless a function says otherwise. Every function is pure: it reads its arguments, returns new
arrays and keeps nothing between calls.

The metrics and the interval method follow Agarwal, Schwarzer, Castro,
Courville and Bellemare, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS 2021 (the rliable library):

- :func:`mean_score`, :func:`median_score`, :func:`iqm` and
  :func:`optimality_gap` are point estimates of the suite's performance;
- :func:`probability_of_improvement` compares two agents env by env;
- :func:`stratified_bootstrap_ci` gives a percentile interval for any of them
  (or any other function of score arrays) by resampling runs within each env;
- :func:`performance_profile` is the run-score distribution: the fraction of
  all run x env scores above each threshold, with an optional band.

Example:
    >>> import numpy as np
    >>> scores = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> float(mean_score(scores)), float(median_score(scores)), float(optimality_gap(scores))
    (1.5, 1.5, 0.25)
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Metric = Callable[..., Any]
"""A function of one or more ``scores[run, env]`` arrays returning a float or an array of floats."""

__all__ = [
    "Interval",
    "check_scores",
    "iqm",
    "mean_ci",
    "mean_score",
    "median_score",
    "normalise",
    "optimality_gap",
    "performance_profile",
    "probability_of_improvement",
    "stratified_bootstrap_ci",
]


class Interval(NamedTuple):
    """A point estimate and its confidence interval ``[low, high]``.

    Each field is a float for a scalar metric, or an array of the metric's
    shape for an array-valued one (e.g. a performance profile over ``taus``).
    """

    point: Any
    low: Any
    high: Any


# --------------------------------------------------------------------------- validation


def _as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers: {error}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; it holds NaN or inf")
    return array


def check_scores(scores: ArrayLike, name: str = "scores") -> NDArray[np.float64]:
    """``scores`` as a float64 array of shape ``(num_runs, num_envs)``, or ValueError naming ``name``."""
    array = _as_float_array(scores, name)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (num_runs, num_envs); got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} needs at least one run and one env; got shape {array.shape}")
    return array


def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a number in (0, 1); got {confidence!r}")
    return float(confidence)


def _check_reps(reps: int) -> int:
    if isinstance(reps, bool) or not isinstance(reps, numbers.Integral) or reps < 1:
        raise ValueError(f"reps must be a positive integer; got {reps!r}")
    return int(reps)


def _generator(random_state: int | np.random.Generator) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return np.random.default_rng(int(random_state))
    raise ValueError(
        f"random_state must be a non-negative int or a numpy.random.Generator; got {random_state!r}"
    )


# --------------------------------------------------------------------------- normalisation


def normalise(returns: ArrayLike, random_return: ArrayLike, oracle_return: ArrayLike) -> NDArray[np.float64]:
    """Normalised scores ``(R - R_random) / (R_oracle - R_random)``, elementwise.

    Args:
        returns: raw returns ``R`` whose last axis is the env axis, usually
            ``(num_runs, num_envs)``; a 1-D array is one run.
        random_return: the random reference's return, a scalar or one per env
            (length ``num_envs``).
        oracle_return: the oracle reference's return, a scalar or one per env.

    Returns:
        A new float64 array of the shape of ``returns``: 0 where ``R`` equals
        the random reference, 1 where it equals the oracle. Scores above 1 or
        below 0 are kept (an agent may beat the myopic oracle).

    Raises:
        ValueError: on non-finite input, on references that are neither scalars
            nor one value per env, or where ``R_oracle == R_random`` (the
            message names the env index).
    """
    values = _as_float_array(returns, "returns")
    if values.ndim not in (1, 2) or values.size == 0:
        raise ValueError(
            f"returns must be 1-D (num_envs,) or 2-D (num_runs, num_envs), non-empty; got shape {values.shape}"
        )
    num_envs = values.shape[-1]
    references = {}
    for name, reference in (("random_return", random_return), ("oracle_return", oracle_return)):
        array = _as_float_array(reference, name)
        if array.shape not in ((), (num_envs,)):
            raise ValueError(f"{name} must be a scalar or have length num_envs={num_envs}; got shape {array.shape}")
        references[name] = np.broadcast_to(array, (num_envs,))
    low, high = references["random_return"], references["oracle_return"]
    span = high - low
    degenerate = np.flatnonzero(span == 0.0)
    if degenerate.size:
        env = int(degenerate[0])
        raise ValueError(
            f"cannot normalise env index {env}: oracle_return equals random_return ({high[env]!r}); "
            f"envs with a zero denominator: {degenerate.tolist()}"
        )
    return (values - low) / span


# --------------------------------------------------------------------------- point estimates


def mean_score(scores: ArrayLike) -> float:
    """Mean of all run x env scores (equal to the mean over envs of the per-env mean)."""
    return float(np.mean(check_scores(scores)))


def median_score(scores: ArrayLike) -> float:
    """Median over envs of the per-env mean over runs (rliable's aggregate median)."""
    return float(np.median(np.mean(check_scores(scores), axis=0)))


def iqm(scores: ArrayLike) -> float:
    """Interquartile mean: the mean of the middle half of all run x env scores.

    It is ``scipy.stats.trim_mean(flat, 0.25)``: ``floor(0.25 * n)`` scores are
    cut from each end of the ``n`` sorted scores, so when ``n`` is not a
    multiple of 4 slightly more than half is kept (no fractional weights).
    """
    return float(stats.trim_mean(check_scores(scores), 0.25, axis=None))


def optimality_gap(scores: ArrayLike, gamma: float = 1.0) -> float:
    """Mean of ``max(gamma - score, 0)`` over all run x env scores.

    How far the agent falls short of the target ``gamma`` (1 = the oracle),
    with scores above the target counting as exactly reaching it. Lower is better.
    """
    array = check_scores(scores)
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not np.isfinite(gamma):
        raise ValueError(f"gamma must be a finite number; got {gamma!r}")
    return float(np.mean(np.maximum(float(gamma) - array, 0.0)))


def probability_of_improvement(scores_x: ArrayLike, scores_y: ArrayLike) -> float:
    """P(X > Y): the chance that a run of agent X beats a run of agent Y on an env, averaged over envs.

    For env ``j`` with ``n`` runs of X and ``m`` runs of Y this is the
    Mann-Whitney U statistic of X divided by ``n * m``: the fraction of the
    ``n * m`` pairs ``(x, y)`` with ``x > y``, ties counting 1/2 (rliable's
    definition). The result is the plain mean over envs. ``n`` and ``m`` may
    differ; the env counts must match.
    """
    x = check_scores(scores_x, "scores_x")
    y = check_scores(scores_y, "scores_y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"scores_x and scores_y must have the same number of envs; got {x.shape[1]} and {y.shape[1]}")
    # pairs[a, b, j] compares run a of X with run b of Y on env j.
    greater = x[:, None, :] > y[None, :, :]
    ties = x[:, None, :] == y[None, :, :]
    per_env = np.mean(greater + 0.5 * ties, axis=(0, 1))
    return float(np.mean(per_env))


# --------------------------------------------------------------------------- intervals


def _stratified_resample(scores: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
    """Draw ``num_runs`` runs with replacement independently in each env column."""
    runs = rng.integers(0, scores.shape[0], size=scores.shape)
    return np.take_along_axis(scores, runs, axis=0)


def stratified_bootstrap_ci(
    metric: Metric,
    *score_arrays: ArrayLike,
    random_state: int | np.random.Generator,
    reps: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """Percentile confidence interval of ``metric(*score_arrays)`` by a stratified bootstrap.

    Each replicate resamples, for every array and every env column
    separately, ``num_runs`` runs with replacement from that column's own runs
    (the env is the stratum: a resampled column only ever holds scores of its
    own env), and recomputes ``metric`` on the resampled arrays. The arrays are
    resampled independently of each other, so two agents with different
    numbers of runs can be compared (e.g. ``probability_of_improvement``).
    The interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    percentiles of the ``reps`` replicates.

    Only the percentile interval is offered (rliable's default). BCa is not:
    its acceleration comes from a jackknife that deletes one run from one env
    column at a time, which leaves a ragged array that a ``scores[run, env]``
    metric does not accept, so ``scipy.stats.bootstrap(method="BCa")`` does
    not apply here.

    Args:
        metric: a function of as many ``(num_runs, num_envs)`` arrays as are
            given, returning a float or an array of floats of fixed shape.
        *score_arrays: one or more ``scores[run, env]`` arrays.
        random_state: required; a non-negative int seed or a
            ``numpy.random.Generator`` (which is advanced). The same seed gives
            the same interval.
        reps: number of bootstrap replicates.
        confidence: coverage of the interval, in (0, 1).

    Returns:
        ``Interval(point, low, high)`` where ``point = metric(*score_arrays)``;
        floats for a scalar metric, arrays of the metric's shape otherwise.
        An array whose columns each hold a single repeated value resamples to
        itself, giving a zero-width interval.
    """
    if not callable(metric):
        raise ValueError(f"metric must be callable; got {metric!r}")
    if not score_arrays:
        raise ValueError("stratified_bootstrap_ci needs at least one scores array")
    arrays = [check_scores(array, f"score_arrays[{i}]") for i, array in enumerate(score_arrays)]
    rng = _generator(random_state)
    reps = _check_reps(reps)
    confidence = _check_confidence(confidence)

    point = np.asarray(metric(*arrays), dtype=np.float64)
    replicates = np.empty((reps, *point.shape), dtype=np.float64)
    for rep in range(reps):
        replicates[rep] = metric(*(_stratified_resample(array, rng) for array in arrays))
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail], axis=0)
    if point.ndim == 0:
        return Interval(float(point), float(low), float(high))
    return Interval(point, low, high)


# --------------------------------------------------------------------------- performance profiles


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean of ``values``: ``(mean, low, high)``.

    ``mean +- t_{(1 + confidence) / 2, n - 1} * s / sqrt(n)`` with ``s`` the sample standard
    deviation (``ddof=1``): the interval of one agent's returns on one environment (a reference's
    episodes, a result file's users). Needs at least two finite values.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size < 2:
        raise ValueError(f"mean_ci needs at least 2 values, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("mean_ci: values must be finite")
    _check_confidence(confidence)
    n = values.size
    mean = float(values.mean())
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def _profile(scores: NDArray[np.float64], taus: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.mean(scores.reshape(-1)[None, :] > taus[:, None], axis=1)


def performance_profile(
    scores: ArrayLike,
    taus: ArrayLike,
    *,
    ci: bool = False,
    random_state: int | np.random.Generator | None = None,
    reps: int = 2000,
    confidence: float = 0.95,
) -> NDArray[np.float64] | Interval:
    """Run-score distribution: for each threshold ``tau``, the fraction of all run x env scores strictly above it.

    Args:
        scores: ``scores[run, env]``.
        taus: 1-D array of thresholds (any order; the result follows it).
        ci: also compute a stratified bootstrap band (:func:`stratified_bootstrap_ci`).
        random_state: required when ``ci`` is true, and rejected when it is
            false, so a seed is never silently unused.
        reps, confidence: as in :func:`stratified_bootstrap_ci`.

    Returns:
        Without ``ci``: a float64 array of the shape of ``taus``, values in
        [0, 1], non-increasing in ``tau``. With ``ci``:
        ``Interval(point, low, high)``, three such arrays.
    """
    array = check_scores(scores)
    thresholds = _as_float_array(taus, "taus")
    if thresholds.ndim != 1 or thresholds.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array; got shape {thresholds.shape}")
    if not ci:
        if random_state is not None:
            raise ValueError("random_state is only used with ci=True; pass ci=True for a bootstrap band")
        return _profile(array, thresholds)
    if random_state is None:
        raise ValueError("performance_profile(ci=True) needs an explicit random_state")
    return stratified_bootstrap_ci(
        lambda resampled: _profile(resampled, thresholds),
        array,
        random_state=random_state,
        reps=reps,
        confidence=confidence,
    )
