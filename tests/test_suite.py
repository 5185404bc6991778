"""Checks over every registered RecSimBench id, so that later environments are covered automatically.

The checks themselves are :mod:`recsim_bench.testing`'s, public so that a third party's new part or env
runs the same ones in one call; this file runs each for every id, plus what is specific to the suite.
"""

from __future__ import annotations

import dataclasses
import doctest
import json
import warnings

import gymnasium as gym
import numpy as np
import pytest

import recsim_bench
from recsim_bench import testing
from recsim_bench.envs import RecEnv, RecVectorEnv
from recsim_bench.envs.interest_exploration import InterestExplorationEnv, InterestExplorationVectorEnv

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("RecSimBench/"))


def test_suite_is_registered() -> None:
    assert ENV_IDS == sorted(recsim_bench.SUITE)
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point is not None and spec.vector_entry_point is not None


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    testing.check_gymnasium_env(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_stable_baselines3_check_env(env_id: str) -> None:
    sb3_env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Candidates are a (K, F) matrix by design; SB3 only recommends flattening it.
        warnings.filterwarnings("ignore", message=".*unconventional shape.*")
        sb3_env_checker.check_env(gym.make(env_id).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id: str) -> None:
    testing.check_determinism(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("num_envs", [1, 7, 64])
def test_vector_row_is_single_env_seeded_s_plus_i(env_id: str, num_envs: int) -> None:
    testing.check_vector_rows(env_id, num_envs=num_envs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_are_fresh_float32_arrays(env_id: str) -> None:
    testing.check_fresh_observations(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_spaces_and_info(env_id: str) -> None:
    testing.check_vector_step(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_round_trips_through_json(env_id: str) -> None:
    testing.check_spec_round_trip(env_id, num_candidates=12, reward={"click": 1.0})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_terminated_means_user_left_and_truncated_means_step_limit(env_id: str) -> None:
    testing.check_episode_end_flags(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_env_is_the_simulator_with_one_row(env_id: str) -> None:
    testing.check_shells(env_id)


@pytest.mark.parametrize("mode", ["sync", "vector_entry_point"])
def test_batched_action_space_samples_valid_slates(mode: str) -> None:
    venv = gym.make_vec(ENV_IDS[0], num_envs=4, vectorization_mode=mode)
    venv.action_space.seed(0)
    venv.reset(seed=0)
    for _ in range(20):
        slates = venv.action_space.sample()
        assert slates.shape == (4, venv.single_action_space.shape[0])
        assert all(len(set(row)) == len(row) for row in slates.tolist())
        venv.step(slates)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_observation_space_equals_gymnasium_batch_space(env_id: str) -> None:
    testing.check_vector_observation_space(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_same_seed_same_trajectory(env_id: str) -> None:
    testing.check_vector_determinism(env_id)


def test_module_prefixed_ids_work() -> None:
    """Gymnasium 1.x loads no plugins by itself; 'recsim_bench:RecSimBench/...' imports the package first."""
    env = gym.make(f"recsim_bench:{ENV_IDS[0]}")
    venv = gym.make_vec(f"recsim_bench:{ENV_IDS[0]}", num_envs=2)
    assert isinstance(env.unwrapped, RecEnv) and isinstance(venv.unwrapped, RecVectorEnv)


def test_single_env_refuses_to_step_past_the_end_of_an_episode() -> None:
    env = gym.make(ENV_IDS[0], max_steps=2)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert env.step(env.action_space.sample())[3]  # truncated at the step limit
    with pytest.raises(gym.error.ResetNeeded, match="call reset"):
        env.step(env.action_space.sample())
    env.reset()
    env.step(env.action_space.sample())  # a new episode steps again


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_threads_do_not_change_the_numbers(env_id: str) -> None:
    testing.check_threads(env_id)


# Arguments under which no user of these ids leaves within a few steps, whatever the random streams.
NEVER_TERMINATE = {"RecSimBench/Retention-v0": {"user_model": {"name": "retention", "churn_after": 1e9}}}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_step_autoreset_is_next_step_autoreset_one_step_sooner(env_id: str) -> None:
    testing.check_same_step_autoreset(env_id, **NEVER_TERMINATE.get(env_id, {}))


def test_vector_env_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=r"autoreset_mode must be one of \['next_step', 'same_step'\]"):
        gym.make_vec(ENV_IDS[0], num_envs=2, autoreset_mode="disabled")
    with pytest.raises(ValueError, match="num_threads must be an integer >= 1 or None"):
        gym.make_vec(ENV_IDS[0], num_envs=2, num_threads=0)


def test_vector_state_can_be_set_across_threads() -> None:
    venv = gym.make_vec(ENV_IDS[0], num_envs=6, num_threads=2)
    venv.reset(seed=0)
    state = venv.unwrapped.state
    swapped = state.rows(np.array([5, 4, 3, 2, 1, 0]))
    venv.unwrapped.state = swapped
    testing.assert_same(dataclasses.asdict(venv.unwrapped.state), dataclasses.asdict(swapped))
    with pytest.raises(ValueError, match="state must have 6 rows"):
        venv.unwrapped.state = state.rows(slice(0, 2))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_slates_are_refused_without_changing_the_state(env_id: str) -> None:
    testing.check_bad_slates(env_id)


def test_every_named_part_builds_with_its_defaults_and_rebuilds_from_its_spec() -> None:
    from recsim_bench.parts.base import _REGISTRY, build_part

    assert {"item_model", "user_model", "choice_model", "response_model"} <= set(_REGISTRY)
    for kind, parts in _REGISTRY.items():
        for name in parts:
            part = build_part(kind, name)
            assert build_part(kind, json.loads(json.dumps(part.spec()))) == part
            with pytest.raises(ValueError, match=rf"{kind} {name!r}: unknown parameter\(s\) \['colour'\]; allowed: \["):
                build_part(kind, {"name": name, "colour": 1})
        with pytest.raises(ValueError, match=rf"{kind}: unknown name 'nope'; allowed: \["):
            build_part(kind, "nope")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_named_reward_is_accepted_where_its_behaviours_exist(env_id: str) -> None:
    testing.check_named_rewards(env_id)


# ------------------------------------------------------------------------- recsim_bench.testing, on broken envs
def test_testing_module_doctest_runs_check_all() -> None:
    assert doctest.testmod(testing, raise_on_error=True).attempted > 0


class SeedIgnoringEnv(InterestExplorationEnv):
    """Broken on purpose: every reset is seed 0, whatever the seed asked for."""

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=0, options=options)


class SameSeedEveryRowVectorEnv(InterestExplorationVectorEnv):
    """Broken on purpose: every row gets the seed itself instead of seed + i."""

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=None if seed is None else [seed] * self.num_envs, options=options)


class StepsOnBadSlateVectorEnv(InterestExplorationVectorEnv):
    """Broken on purpose: a refused slate still moves every user on by one random slate."""

    def step(self, actions):
        try:
            return super().step(actions)
        except ValueError:
            super().step(self.action_space.sample())
            raise


BROKEN_ID = "RecSimBenchTest/Broken-v0"


@pytest.fixture
def register_broken():
    def register(single=InterestExplorationEnv, vector=InterestExplorationVectorEnv) -> str:
        gym.register(id=BROKEN_ID, entry_point=single, vector_entry_point=vector)
        return BROKEN_ID

    yield register
    gym.registry.pop(BROKEN_ID, None)


def test_an_env_that_ignores_the_seed_fails_the_determinism_check(register_broken) -> None:
    env_id = register_broken(single=SeedIgnoringEnv)
    with pytest.raises(AssertionError, match=r"Broken-v0: another seed, another trajectory: seeds 3 and 4 give the same"):
        testing.check_determinism(env_id)
    with pytest.raises(AssertionError, match=r"Broken-v0: gymnasium check_env: .* different seeds are passed"):
        testing.check_all(env_id)  # Gymnasium's own checker, which check_all runs first, sees it too


def test_a_vector_env_that_gives_every_row_one_seed_fails_the_row_check(register_broken) -> None:
    env_id = register_broken(vector=SameSeedEveryRowVectorEnv)
    with pytest.raises(AssertionError, match=r"seeded s \+ i: differs at row 1, reset obs\["):
        testing.check_vector_rows(env_id)


def test_a_vector_env_that_steps_on_a_refused_slate_fails_the_bad_slate_check(register_broken) -> None:
    env_id = register_broken(vector=StepsOnBadSlateVectorEnv)
    with pytest.raises(AssertionError, match=r"bad slates are refused with the state unchanged: differs at the step after"):
        testing.check_bad_slates(env_id)
    testing.check_vector_rows(env_id)  # valid slates step as before: only the bad-slate check can tell
