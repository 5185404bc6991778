"""Bad inputs to the environments are refused with a ValueError naming the argument, before anything changes."""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench.parts import build_part
from recsim_bench.seeding import row_seeds
from recsim_bench.wrappers import Trial, make_trial_vector

ENV_ID = "RecSimBench/InterestEvolution-v0"
TASK = {"split": "test", "user": 7}
N = 4


def _single() -> gym.Env:
    return gym.make(ENV_ID).unwrapped


def _vector() -> gym.vector.VectorEnv:
    return gym.make_vec(ENV_ID, num_envs=N, vectorization_mode="vector_entry_point")


# ---------------------------------------------------------------- item models


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"name": "catalogue", "price_log_stddev": float("inf")}, "price_log_stddev must be finite and >= 0, got inf"),
        ({"name": "catalogue", "price_log_stddev": float("nan")}, "price_log_stddev must be finite and >= 0, got nan"),
        ({"name": "catalogue", "topic_spread": float("nan")}, "topic_spread must be finite and >= 0"),
        ({"name": "catalogue", "price_log_mean": float("inf")}, "price_log_mean must be finite"),
        ({"name": "topic_lognormal_quality", "quality_stddev": [float("inf"), 0.1]}, "quality_stddev must be finite and >= 0"),
        ({"name": "topic_quality", "min_quality": 3.0, "max_quality": -3.0}, "need min_quality <= 0 <= max_quality"),
        ({"name": "topic_quality", "min_quality": 1.0}, "need min_quality <= 0 <= max_quality"),
        ({"name": "topic_quality", "max_quality": float("nan")}, "max_quality must be finite"),
    ],
)
def test_item_models_refuse_non_finite_and_inverted_parameters(spec: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        build_part("item_model", spec)


def test_a_catalogue_whose_observed_prices_overflow_float32_is_refused_at_make_time() -> None:
    # log price 100 > log(float32 max) = 88.7: finite in float64, infinite as an observed float32 feature.
    item_model = {"name": "catalogue", "num_topics": 20, "price_log_mean": 100.0, "observed": ["topic", "price"]}
    with pytest.raises(ValueError, match=re.escape("give non-finite ['price']")):
        gym.make("RecSimBench/Ecommerce-v0", item_model=item_model)


@settings(max_examples=30, deadline=None)
@given(log_mean=st.floats(-20, 20), log_stddev=st.floats(0, 5), spread=st.floats(0, 10))
def test_every_accepted_catalogue_observes_finite_features(log_mean: float, log_stddev: float, spread: float) -> None:
    model = build_part(
        "item_model",
        {"name": "catalogue", "num_items": 50, "price_log_mean": log_mean, "price_log_stddev": log_stddev,
         "topic_spread": spread, "observed": ["topic", "embedding", "price"]},
    )
    low, high = model.feature_bounds()
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    assert len(low) == model.num_features == 10 + 8 + 1


# ---------------------------------------------------------------- seeds

BAD_SEEDS = [-1, 2**64, 2**70, True, np.bool_(False), 1.0, "0", np.float64(3.0)]


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
@pytest.mark.parametrize("make", [_single, _vector, lambda: Trial(gym.make(ENV_ID), 2)], ids=["single", "vector", "trial"])
def test_both_shells_refuse_the_same_bad_seeds_naming_the_argument(make, seed: Any) -> None:
    with pytest.raises(ValueError, match=re.escape("seed must be an integer in [0, 2**64) or None")):
        make().reset(seed=seed)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**64 - N), numpy_type=st.sampled_from([int, np.uint64]))
def test_a_numpy_seed_is_the_same_python_seed_in_both_shells(seed: int, numpy_type: type) -> None:
    """Row i of the vector env reset with seed s is the single env reset with s + i, whatever the seed's integer type."""
    single, vector = _single(), _vector()
    observation, _ = vector.reset(seed=numpy_type(seed))
    for row in (0, N - 1):
        single_observation, _ = single.reset(seed=numpy_type(seed + row))
        np.testing.assert_array_equal(single_observation["user"], observation["user"][row])
    if seed <= 2**63 - 1:
        np.testing.assert_array_equal(single.reset(seed=np.int64(seed))[0]["user"], single.reset(seed=seed)[0]["user"])


def test_row_seeds_known_answers() -> None:
    assert row_seeds(5, 3) == [5, 6, 7]
    assert row_seeds([9, np.uint64(2)], 2) == [9, 2] and all(type(seed) is int for seed in row_seeds([np.int8(1)], 1))
    assert row_seeds(None, 3) is None
    assert row_seeds(2**64 - 3, 3) == [2**64 - 3, 2**64 - 2, 2**64 - 1]


def test_a_vector_seed_whose_rows_would_pass_2_64_is_refused() -> None:
    vector = _vector()
    vector.reset(seed=2**64 - N)  # the last row's seed is 2**64 - 1
    with pytest.raises(ValueError, match=re.escape(f"seed must be an integer in [0, 2**64 - {N}]")):
        vector.reset(seed=2**64 - N + 1)
    with pytest.raises(ValueError, match=re.escape("seed[2] must be an integer in [0, 2**64)")):
        vector.reset(seed=[0, 1, 2**64, 3])
    with pytest.raises(ValueError, match=re.escape(f"seed must be an int or a list of {N} ints, got 1 seeds")):
        vector.reset(seed=[0])


def test_a_first_reset_without_a_seed_draws_it_below_2_62_from_np_random_in_every_shell() -> None:
    """The seed drawn from ``np_random`` is the same in the single env, row 0 of the vector env and the trial wrappers."""
    drawn = int(np.random.default_rng(11).integers(2**62))  # what every shell draws from this generator
    single, vector = _single(), _vector()
    single.np_random, vector.np_random = np.random.default_rng(11), np.random.default_rng(11)
    unseeded, unseeded_rows = single.reset()[0], vector.reset()[0]
    twin_rows = _vector().reset(seed=drawn)[0]
    for key in ("user", "candidates"):
        np.testing.assert_array_equal(unseeded[key], _single().reset(seed=drawn)[0][key])
        np.testing.assert_array_equal(unseeded_rows[key], twin_rows[key])  # rows drawn + i, as from a seed
    trial, trial_vector = Trial(gym.make(ENV_ID), 2), make_trial_vector(ENV_ID, N, 2)
    trial.np_random, trial_vector.np_random = np.random.default_rng(11), np.random.default_rng(11)
    assert trial.reset()[1]["task"] == Trial(gym.make(ENV_ID), 2).reset(seed=drawn)[1]["task"]
    rows = trial_vector.reset()[1]["task"]["user"]
    np.testing.assert_array_equal(rows, make_trial_vector(ENV_ID, N, 2).reset(seed=drawn)[1]["task"]["user"])


# ---------------------------------------------------------------- a refused reset changes nothing


@pytest.mark.parametrize("make", [_single, _vector], ids=["single", "vector"])
@pytest.mark.parametrize("seed, options", [(-1, {"task": TASK}), (2**64, {"task": TASK}), (0, {"task": TASK, "x": 1})])
def test_a_refused_reset_leaves_the_task_and_the_episode_as_they_were(make, seed: Any, options: dict) -> None:
    env, twin = make(), make()
    env.reset(seed=3)
    twin.reset(seed=3)
    with pytest.raises(ValueError):
        env.reset(seed=seed, options=options)
    slate = np.zeros(env.action_space.shape, dtype=np.int64) + np.arange(env.action_space.shape[-1])
    np.testing.assert_array_equal(env.step(slate)[1], twin.step(slate)[1])
    _, info, _, twin_info = *env.reset(), *twin.reset()
    assert np.all(np.asarray(info["task"]["user"]) == np.asarray(twin_info["task"]["user"]))
    assert np.all(np.asarray(info["task"]["split"]) == "train")  # the refused test task was never set


def test_a_refused_trial_reset_keeps_the_trial_stream() -> None:
    trial, twin = Trial(gym.make(ENV_ID), 2), Trial(gym.make(ENV_ID), 2)
    trial.reset(seed=1)
    twin.reset(seed=1)
    with pytest.raises(ValueError, match=r"task\['split'\]"):
        trial.reset(seed=2, options={"task": {"split": "x", "user": 1}})
    assert trial.reset()[1]["task"] == twin.reset()[1]["task"]
    vector, vector_twin = make_trial_vector(ENV_ID, N, 2), make_trial_vector(ENV_ID, N, 2)
    vector.reset(seed=1)
    vector_twin.reset(seed=1)
    with pytest.raises(ValueError, match="seed must be an integer"):
        vector.reset(seed=-5)
    np.testing.assert_array_equal(vector.reset()[1]["task"]["user"], vector_twin.reset()[1]["task"]["user"])


@pytest.mark.parametrize("make", [_single, _vector], ids=["single", "vector"])
@pytest.mark.parametrize("options", [5, "task", ["task"], ("task", TASK)], ids=repr)
def test_reset_options_that_are_not_a_dict_are_refused(make, options: Any) -> None:
    with pytest.raises(ValueError, match=re.escape("reset options must be a dict with the key 'task', or None; got ")):
        make().reset(options=options)


# ---------------------------------------------------------------- set_task rows


def test_set_task_reads_a_boolean_mask_as_a_mask() -> None:
    vector = _vector()
    vector.unwrapped.set_task(TASK, rows=np.array([False, True, False, True]))
    users = vector.reset(seed=0)[1]["task"]["user"]
    assert users[1] == users[3] == 7 and users[0] != 7 and users[2] != 7


@pytest.mark.parametrize(
    "rows, fragment",
    [
        ([1.5], "rows must be a list of integer row indices or a boolean mask of 4 rows, got [1.5]"),
        (np.array([1.0]), "rows must be a list of integer row indices"),
        ([2**70], "rows must be a list of integer row indices"),
        (["a"], "rows must be a list of integer row indices"),
        ([[0, 1]], "rows must be a list of integer row indices"),
        ([True, False], "rows: a boolean mask must have shape (4,), got (2,)"),
        ([True, 1], "rows must be a list of integer row indices"),  # numpy would read it as [1, 1]
        ([4], "rows must be row indices in [-4, 3], got [4]"),
        ([-5], "rows must be row indices in [-4, 3], got [-5]"),
    ],
)
def test_set_task_refuses_rows_that_are_not_indices_or_a_mask_and_changes_nothing(rows: Any, fragment: str) -> None:
    vector = _vector()
    with pytest.raises(ValueError, match=re.escape(fragment)):
        vector.unwrapped.set_task(TASK, rows=rows)
    assert not np.any(vector.reset(seed=0)[1]["task"]["user"] == 7)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.integers(-N, N - 1), max_size=N, unique=True))
def test_set_task_on_integer_rows_sets_exactly_those_rows(rows: list[int]) -> None:
    vector = _vector()
    vector.unwrapped.set_task(TASK, rows=rows)
    users = vector.reset(seed=0)[1]["task"]["user"]
    expected = {row % N for row in rows}
    assert {row for row in range(N) if users[row] == 7} == expected


# ---------------------------------------------------------------- memory

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("RecSimBench/"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: gym.make(ENV_ID, num_candidates=10**7),
        lambda: gym.make_vec(ENV_ID, num_envs=10**8),
        lambda: gym.make_vec(ENV_ID, num_envs=10**8, vectorization_mode="vector_entry_point"),
    ],
    ids=["single 10**7 candidates", "sync vector 10**8 rows", "vector 10**8 rows"],
)
def test_a_configuration_that_does_not_fit_is_refused_before_it_allocates(monkeypatch, make) -> None:
    import tracemalloc

    from recsim_bench import simulator

    monkeypatch.setattr(simulator, "available_memory", lambda: 64 * 2**30)  # a large machine: still far too little
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"needs about [\d.]+ GiB \([\d,]+ bytes\), more than the available memory \(64 GiB\).*memory_limit"):
            make()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**24  # refused from the sizes alone: nothing of the estimated size was allocated


def test_memory_limit_overrides_the_available_memory_both_ways() -> None:
    with pytest.raises(ValueError, match=r"more than memory_limit \(9.31e-07 GiB\)"):
        gym.make(ENV_ID, memory_limit=1000)
    gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", memory_limit=2**40).reset(seed=0)
    for bad in (0, -1, 1.5, True, "1G"):
        with pytest.raises(ValueError, match=re.escape(f"memory_limit must be a number of bytes >= 1, or None for the available memory; got {bad!r}")):
            gym.make(ENV_ID, memory_limit=bad)


def test_a_catalogue_cannot_offer_more_candidates_than_it_has_items() -> None:
    with pytest.raises(ValueError, match=re.escape("num_candidates must be <= the catalogue's num_items (1000), got 1001")):
        gym.make("RecSimBench/Ecommerce-v0", num_candidates=1001)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_memory_estimate_bounds_what_a_vector_env_allocates_from_above(env_id: str) -> None:
    import tracemalloc

    from recsim_bench.simulator import memory_estimate

    tracemalloc.start()
    try:
        env = gym.make_vec(env_id, num_envs=2000, vectorization_mode="vector_entry_point", autoreset_mode="same_step")
        env.reset(seed=0)
        for _ in range(3):
            env.step(env.action_space.sample())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sim = env.unwrapped.sim
    estimate = memory_estimate(sim.item_model, sim.user_model, sim.response_model, sim.num_candidates, sim.slate_size, 2000)
    assert peak <= estimate <= 4 * peak


def test_available_memory_is_what_proc_meminfo_reports_at_most() -> None:
    from recsim_bench.simulator import available_memory

    memory = available_memory()
    assert memory is not None and memory > 0
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            reported = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        pytest.skip("no /proc/meminfo with MemAvailable here")
    assert memory <= reported * 1.5  # the two reads are moments apart; other processes allocate meanwhile
