"""Scoring metrics: known answers on tiny ``scores[run, env]`` arrays, worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from recsim_bench.scoring import (
    Interval,
    iqm,
    mean_score,
    median_score,
    normalise,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    stratified_bootstrap_ci,
)

# --------------------------------------------------------------------------- normalise


def test_normalise_per_env_references() -> None:
    # env 0: random 0, oracle 10 -> 5 is 0.5, 10 is 1.0
    # env 1: random 10, oracle 20 -> 0 is (0 - 10) / 10 = -1.0, 10 is 0.0
    returns = np.array([[5.0, 0.0], [10.0, 10.0]])
    got = normalise(returns, random_return=[0.0, 10.0], oracle_return=[10.0, 20.0])
    np.testing.assert_array_equal(got, [[0.5, -1.0], [1.0, 0.0]])
    assert got is not returns and returns[0, 0] == 5.0  # a new array; the input is untouched


def test_normalise_scalar_references_and_one_run() -> None:
    # (R - 2) / (6 - 2): 2 -> 0, 4 -> 0.5, 8 -> 1.5
    np.testing.assert_array_equal(normalise([2.0, 4.0, 8.0], 2.0, 6.0), [0.0, 0.5, 1.5])


def test_normalise_zero_denominator_names_the_env() -> None:
    with pytest.raises(ValueError, match="env index 1"):
        normalise([[1.0, 2.0, 3.0]], random_return=[0.0, 5.0, 0.0], oracle_return=[1.0, 5.0, 1.0])


@pytest.mark.parametrize(
    ("returns", "low", "high", "match"),
    [
        ([[1.0, 2.0]], [0.0, 0.0, 0.0], 1.0, "random_return"),
        ([[1.0, 2.0]], 0.0, [[1.0, 1.0]], "oracle_return"),
        ([[np.nan, 2.0]], 0.0, 1.0, "returns must be finite"),
        (np.zeros((2, 2, 2)), 0.0, 1.0, "returns must be 1-D"),
    ],
)
def test_normalise_rejects_bad_input(returns, low, high, match) -> None:
    with pytest.raises(ValueError, match=match):
        normalise(returns, low, high)


# --------------------------------------------------------------------------- point estimates

# 2 runs x 3 envs; per-env means [1, 2, 6].
SCORES = np.array([[0.0, 1.0, 4.0], [2.0, 3.0, 8.0]])


def test_mean_score() -> None:
    # (0 + 1 + 4 + 2 + 3 + 8) / 6 = 18 / 6 = 3
    assert mean_score(SCORES) == 3.0


def test_median_score_is_the_median_of_per_env_means() -> None:
    # per-env means [1, 2, 6] -> median 2 (the median of all six scores would be 2.5)
    assert median_score(SCORES) == 2.0
    # even number of envs: means [0, 2, 4, 10] -> (2 + 4) / 2 = 3
    assert median_score([[0.0, 2.0, 4.0, 10.0]]) == 3.0


def test_iqm_of_eight_scores() -> None:
    # sorted: -50, 1, 2, 3, 7, 8, 9, 100; cut 8 // 4 = 2 from each end -> (2 + 3 + 7 + 8) / 4 = 5
    assert iqm([[1.0, 9.0, 2.0, 8.0], [3.0, 7.0, 100.0, -50.0]]) == 5.0


def test_iqm_of_five_scores_cuts_whole_scores() -> None:
    # floor(0.25 * 5) = 1 cut from each end of 0, 1, 2, 3, 10 -> (1 + 2 + 3) / 3 = 2
    assert iqm([[0.0, 1.0, 2.0, 3.0, 10.0]]) == 2.0


def test_optimality_gap() -> None:
    scores = [[0.5, 1.5], [1.0, -0.5]]
    # gamma 1: max(1 - s, 0) = 0.5, 0, 0, 1.5 -> 2.0 / 4 = 0.5 (the 1.5 above the target counts as 0)
    assert optimality_gap(scores) == 0.5
    # gamma 2: 1.5, 0.5, 1.0, 2.5 -> 5.5 / 4 = 1.375
    assert optimality_gap(scores, gamma=2.0) == 1.375
    with pytest.raises(ValueError, match="gamma"):
        optimality_gap(scores, gamma=np.inf)


def test_probability_of_improvement_with_ties() -> None:
    x = np.array([[1.0, 0.0], [2.0, 0.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    # env 0: x in {1, 2}, y in {1, 0}: (1,1) tie 1/2, (1,0) 1, (2,1) 1, (2,0) 1 -> 3.5 / 4 = 0.875
    # env 1: x in {0, 0}, y in {0, 1}: (0,0) 1/2, (0,1) 0, twice -> 1 / 4 = 0.25
    # mean over envs: (0.875 + 0.25) / 2 = 0.5625
    assert probability_of_improvement(x, y) == 0.5625
    # ties count half both ways, so P(Y > X) = 1 - P(X > Y)
    assert probability_of_improvement(y, x) == 0.4375
    # the same as the Mann-Whitney U statistic of X over n * m, env by env
    u = [stats.mannwhitneyu(x[:, j], y[:, j]).statistic / 4 for j in range(2)]
    assert np.mean(u) == 0.5625


def test_probability_of_improvement_with_different_run_counts() -> None:
    # one env; x in {1, 3}, y in {2, 2, 0}: 1 beats only 0 (1 pair), 3 beats all three -> 4 / 6
    assert probability_of_improvement([[1.0], [3.0]], [[2.0], [2.0], [0.0]]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same number of envs"):
        probability_of_improvement([[1.0, 2.0]], [[1.0]])


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        ([1.0, 2.0], "scores must be 2-D"),
        (np.zeros((0, 3)), "at least one run and one env"),
        (np.zeros((2, 0)), "at least one run and one env"),
        ([[1.0, np.inf]], "scores must be finite"),
        ([["a", "b"]], "scores must be an array of numbers"),
    ],
)
def test_metrics_validate_scores(scores, match) -> None:
    for metric in (mean_score, median_score, iqm, optimality_gap):
        with pytest.raises(ValueError, match=match):
            metric(scores)


def test_probability_of_improvement_names_the_bad_argument() -> None:
    with pytest.raises(ValueError, match="scores_y must be finite"):
        probability_of_improvement([[1.0]], [[np.nan]])


# --------------------------------------------------------------------------- stratified bootstrap

NOISY = np.random.default_rng(0).normal(size=(10, 3))


def test_bootstrap_is_reproducible_with_the_same_state() -> None:
    first = stratified_bootstrap_ci(iqm, NOISY, random_state=7, reps=300)
    assert first == stratified_bootstrap_ci(iqm, NOISY, random_state=7, reps=300)
    from_generators = [
        stratified_bootstrap_ci(iqm, NOISY, random_state=np.random.default_rng(7), reps=300) for _ in range(2)
    ]
    assert from_generators[0] == from_generators[1]
    assert first != stratified_bootstrap_ci(iqm, NOISY, random_state=8, reps=300)


@pytest.mark.parametrize("metric", [mean_score, median_score, iqm, optimality_gap])
def test_bootstrap_interval_contains_the_point_estimate(metric) -> None:
    interval = stratified_bootstrap_ci(metric, NOISY, random_state=0, reps=500)
    assert isinstance(interval, Interval) and isinstance(interval.low, float)
    assert interval.point == metric(NOISY)
    assert interval.low <= interval.point <= interval.high
    assert interval.low < interval.high


def test_bootstrap_of_constant_columns_has_zero_width() -> None:
    # all equal
    interval = stratified_bootstrap_ci(mean_score, np.full((5, 3), 0.7), random_state=0, reps=200)
    assert interval.low == interval.high == interval.point
    # each env constant but the envs differ: resampling within an env reproduces the array exactly,
    # so the interval is still a point (it would not be if runs were drawn across envs)
    interval = stratified_bootstrap_ci(mean_score, np.tile([1.0, 2.0, 6.0], (5, 1)), random_state=0, reps=200)
    assert interval.low == interval.high == interval.point == 3.0


def test_bootstrap_of_one_run_has_zero_width() -> None:
    interval = stratified_bootstrap_ci(iqm, [[0.1, 0.4, 0.9]], random_state=0, reps=50)
    assert interval.low == interval.high == interval.point


def test_bootstrap_resamples_each_env_from_its_own_runs() -> None:
    scores = np.array([[0.0, 1000.0], [1.0, 1001.0], [2.0, 1002.0], [3.0, 1003.0]])
    seen: list[np.ndarray] = []

    def per_env_means(resampled: np.ndarray) -> np.ndarray:
        seen.append(resampled)
        return resampled.mean(axis=0)

    interval = stratified_bootstrap_ci(per_env_means, scores, random_state=1, reps=300)
    assert len(seen) == 301  # the point estimate, then one call per replicate
    for resampled in seen:
        assert resampled.shape == (4, 2)
        assert np.isin(resampled[:, 0], scores[:, 0]).all() and np.isin(resampled[:, 1], scores[:, 1]).all()
    # columns are drawn independently: some replicate takes different run indices in the two envs
    assert any(not np.array_equal(r[:, 0] + 1000.0, r[:, 1]) for r in seen[1:])
    np.testing.assert_array_equal(interval.point, [1.5, 1001.5])
    assert 0.0 <= interval.low[0] <= interval.high[0] <= 3.0
    assert 1000.0 <= interval.low[1] <= interval.high[1] <= 1003.0


def test_bootstrap_percentiles_by_hand() -> None:
    # one env, runs {0, 1}: a resample of 2 runs has mean 0 (prob 1/4), 0.5 (1/2) or 1 (1/4).
    # 95%: the 2.5th and 97.5th percentiles of ~2000 such means are 0 and 1.
    interval = stratified_bootstrap_ci(mean_score, [[0.0], [1.0]], random_state=0, reps=2000)
    assert (interval.low, interval.high) == (0.0, 1.0)
    # 40%: the 30th and 70th percentiles both fall in the middle half, at 0.5.
    interval = stratified_bootstrap_ci(mean_score, [[0.0], [1.0]], random_state=0, reps=2000, confidence=0.4)
    assert (interval.low, interval.high) == (0.5, 0.5)


def test_bootstrap_of_two_agents_with_different_run_counts() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(1.0, 1.0, size=(3, 4)), rng.normal(0.0, 1.0, size=(6, 4))
    interval = stratified_bootstrap_ci(probability_of_improvement, x, y, random_state=2, reps=300)
    assert interval.point == probability_of_improvement(x, y)
    assert 0.0 <= interval.low <= interval.point <= interval.high <= 1.0


def test_bootstrap_validates_its_arguments() -> None:
    with pytest.raises(TypeError):
        stratified_bootstrap_ci(mean_score, NOISY)  # random_state is required
    with pytest.raises(ValueError, match="random_state"):
        stratified_bootstrap_ci(mean_score, NOISY, random_state=None)
    with pytest.raises(ValueError, match="random_state"):
        stratified_bootstrap_ci(mean_score, NOISY, random_state=np.random.RandomState(0))
    with pytest.raises(ValueError, match="confidence"):
        stratified_bootstrap_ci(mean_score, NOISY, random_state=0, confidence=1.0)
    with pytest.raises(ValueError, match="reps"):
        stratified_bootstrap_ci(mean_score, NOISY, random_state=0, reps=0)
    with pytest.raises(ValueError, match=r"score_arrays\[1\] must be 2-D"):
        stratified_bootstrap_ci(probability_of_improvement, NOISY, NOISY[0], random_state=0)
    with pytest.raises(ValueError, match="at least one scores array"):
        stratified_bootstrap_ci(mean_score, random_state=0)


# --------------------------------------------------------------------------- performance profiles


def test_performance_profile_by_hand() -> None:
    scores = [[0.0, 0.5], [1.0, 2.0]]
    # fraction of the 4 scores strictly above tau:
    # -1: all 4 -> 1; 0: 0.5, 1, 2 -> 3/4; 0.5: 1, 2 -> 1/2; 1.5: 2 -> 1/4; 2: none -> 0
    taus = [-1.0, 0.0, 0.5, 1.5, 2.0]
    np.testing.assert_array_equal(performance_profile(scores, taus), [1.0, 0.75, 0.5, 0.25, 0.0])


def test_performance_profile_band() -> None:
    taus = np.array([-10.0, 0.0, 10.0])
    band = performance_profile(NOISY, taus, ci=True, random_state=4, reps=300)
    assert isinstance(band, Interval)
    np.testing.assert_array_equal(band.point, performance_profile(NOISY, taus))
    assert band.low.shape == band.high.shape == (3,)
    # no resample has a score below -10 or above 10: the band is a point at the ends
    assert (band.low[0], band.high[0], band.low[2], band.high[2]) == (1.0, 1.0, 0.0, 0.0)
    assert band.low[1] < band.point[1] < band.high[1]
    again = performance_profile(NOISY, taus, ci=True, random_state=4, reps=300)
    np.testing.assert_array_equal(band.low, again.low)
    np.testing.assert_array_equal(band.high, again.high)


def test_performance_profile_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="explicit random_state"):
        performance_profile(NOISY, [0.0], ci=True)
    with pytest.raises(ValueError, match="only used with ci=True"):
        performance_profile(NOISY, [0.0], random_state=0)
    with pytest.raises(ValueError, match="taus"):
        performance_profile(NOISY, [[0.0]])
