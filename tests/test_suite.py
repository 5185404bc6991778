"""Checks over every registered RecSimBench id, so that later environments are covered automatically."""

from __future__ import annotations

import dataclasses
import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode

import recsim_bench
from recsim_bench.envs import RecEnv, RecVectorEnv

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("RecSimBench/"))


def test_suite_is_registered() -> None:
    assert ENV_IDS == sorted(recsim_bench.SUITE)
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point is not None and spec.vector_entry_point is not None


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure
        gym_check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_stable_baselines3_check_env(env_id: str) -> None:
    sb3_env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Candidates are a (K, F) matrix by design; SB3 only recommends flattening it.
        warnings.filterwarnings("ignore", message=".*unconventional shape.*")
        sb3_env_checker.check_env(gym.make(env_id).unwrapped, warn=True)


def _rollout(env: gym.Env, seed: int, steps: int, action_seed: int) -> list:
    """Observations, rewards and flags of ``steps`` steps with seeded random slates, resetting at episode ends."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            trace.append(env.reset()[0])
    return trace


def _assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id: str) -> None:
    _assert_same(_rollout(gym.make(env_id), 3, 150, 1), _rollout(gym.make(env_id), 3, 150, 1))
    other = _rollout(gym.make(env_id), 4, 150, 1)
    assert not np.array_equal(other[0]["candidates"], _rollout(gym.make(env_id), 3, 1, 1)[0]["candidates"])


def _episode_ends(env_id: str, steps: int, slates: np.ndarray, seed: int) -> int:
    env = gym.make(env_id)
    env.reset(seed=seed)
    ends = 0
    for t in range(steps):
        *_, terminated, truncated, _ = env.step(slates[t])
        if terminated or truncated:
            ends += 1
            env.reset()
    return ends


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("num_envs", [1, 7, 64])
def test_vector_row_is_single_env_seeded_s_plus_i(env_id: str, num_envs: int) -> None:
    """Row i of make_vec(num_envs=N) reset with seed s is, bit for bit, make(id) reset with seed s + i,
    under the same slates, across episode boundaries (next-step autoreset on the vector side)."""
    seed, steps = 11, 260
    venv = gym.make_vec(env_id, num_envs=num_envs)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    venv.action_space.seed(5)
    vobs, _ = venv.reset(seed=seed)
    slates = [venv.action_space.sample() for _ in range(steps)]
    vtrace = [(vobs, None)]
    for slate in slates:
        vtrace.append(venv.step(slate))
    rows = range(num_envs) if num_envs <= 7 else (0, 1, 31, 63)
    for i in rows:
        env = gym.make(env_id)
        obs, _ = env.reset(seed=seed + i)
        _assert_same(obs, {k: v[i] for k, v in vobs.items()})
        reset_next = False
        for t, slate in enumerate(slates):
            vstep_obs, vreward, vterminated, vtruncated, vinfo = vtrace[t + 1]
            if reset_next:
                obs, _ = env.reset()
                assert vreward[i] == 0.0 and not vterminated[i] and not vtruncated[i] and not vinfo["_click"][i]
                reset_next = False
            else:
                obs, reward, terminated, truncated, info = env.step(slate[i])
                assert (reward, terminated, truncated) == (vreward[i], vterminated[i], vtruncated[i])
                np.testing.assert_array_equal(info["click"], vinfo["click"][i])
                reset_next = terminated or truncated
            _assert_same(obs, {k: v[i] for k, v in vstep_obs.items()})
    # The test is only meaningful if episodes actually ended within the horizon.
    assert _episode_ends(env_id, steps, np.stack(slates)[:, 0], seed) >= 1


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_are_fresh_float32_arrays(env_id: str) -> None:
    env = gym.make(env_id)
    first, _ = env.reset(seed=0)
    second, *_ = env.step(env.action_space.sample())
    for key in first:
        assert first[key].dtype == np.float32 and first[key] is not second[key]
        assert not np.shares_memory(first[key], second[key])
        assert env.observation_space[key].contains(second[key])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_spaces_and_info(env_id: str) -> None:
    venv = gym.make_vec(env_id, num_envs=5)
    assert isinstance(venv.unwrapped, RecVectorEnv)
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)
    slates = venv.action_space.sample()
    assert slates.shape == (5, venv.single_action_space.shape[0])
    obs, reward, terminated, truncated, info = venv.step(slates)
    assert reward.shape == terminated.shape == truncated.shape == (5,)
    assert info["click"].shape == slates.shape and info["_click"].all()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_round_trips_through_json(env_id: str) -> None:
    kwargs = {"num_candidates": 12, "reward": {"click": 1.0}}
    env = gym.make(env_id, **kwargs)
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert rebuilt.unwrapped.sim.describe() == env.unwrapped.sim.describe()
    _assert_same(_rollout(env, 2, 30, 0), _rollout(rebuilt, 2, 30, 0))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_terminated_means_user_left_and_truncated_means_step_limit(env_id: str) -> None:
    env = gym.make(env_id, max_steps=3)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(3)]
    assert flags[:2] == [(False, False), (False, False)]
    terminated, truncated = flags[2]
    assert truncated != terminated  # exactly one of them at step 3 (a user may also leave then)
    user_left = bool(env.unwrapped.sim.user_model.terminated(env.unwrapped.state.user)[0])
    assert terminated == user_left


def test_single_env_is_the_simulator_with_one_row() -> None:
    env = gym.make(ENV_IDS[0])
    assert isinstance(env.unwrapped, RecEnv)
    env.reset(seed=0)
    assert len(env.unwrapped.state) == 1


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
    """The vector env's space shares its bounds across rows but must behave as Gymnasium's batched Box."""
    venv = gym.make_vec(env_id, num_envs=6)
    reference = gym.vector.utils.batch_space(venv.single_observation_space, 6)
    assert venv.observation_space == reference
    for key, box in venv.observation_space.spaces.items():
        assert box.shape == reference[key].shape and box.is_bounded() == reference[key].is_bounded()
        box.seed(0)
        assert box.contains(box.sample()) and reference[key].contains(box.sample())
        outside = reference[key].high + 1.0
        assert not box.contains(outside.astype(np.float32))
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_same_seed_same_trajectory(env_id: str) -> None:
    def rollout() -> list:
        venv = gym.make_vec(env_id, num_envs=4)
        venv.action_space.seed(0)
        trace = [venv.reset(seed=9)[0]]
        trace += [venv.step(venv.action_space.sample())[:4] for _ in range(120)]
        return trace

    _assert_same(rollout(), rollout())


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
    """Blocks of rows stepped on three threads give exactly the one-thread trajectory, resets included."""

    def rollout(num_threads: int) -> list:
        venv = gym.make_vec(env_id, num_envs=64, num_threads=num_threads, max_steps=4)
        venv.action_space.seed(0)
        trace = [venv.reset(seed=2)[0]]
        trace += [venv.step(venv.action_space.sample()) for _ in range(11)]
        trace.append(venv.unwrapped.expected_rewards())
        return trace

    _assert_same(rollout(1), rollout(3))


# Arguments under which no user of these ids leaves within a few steps, whatever the random streams.
NEVER_TERMINATE = {"RecSimBench/Retention-v0": {"user_model": {"name": "retention", "churn_after": 1e9}}}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_step_autoreset_is_next_step_autoreset_one_step_sooner(env_id: str) -> None:
    """With max_steps=3 every row truncates at step 3. Same-step mode returns the last observation in
    ``final_obs`` and the next episode's first one at once; next-step mode returns them one step apart."""
    kwargs = {"num_envs": 5, "max_steps": 3, "num_threads": 2, **NEVER_TERMINATE.get(env_id, {})}
    same = gym.make_vec(env_id, autoreset_mode="same_step", **kwargs)
    same_next = gym.make_vec(env_id, autoreset_mode=AutoresetMode.NEXT_STEP, **kwargs)
    assert same.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    same.action_space.seed(3)
    slates = [same.action_space.sample() for _ in range(5)]
    _assert_same(same.reset(seed=1)[0], same_next.reset(seed=1)[0])
    for slate in slates[:2]:
        a, b = same.step(slate), same_next.step(slate)
        _assert_same(a[:4], b[:4])
        assert "final_obs" not in a[4]
    obs, reward, terminated, truncated, info = same.step(slates[2])
    last, next_reward, _, next_truncated, _ = same_next.step(slates[2])
    assert truncated.all() and next_truncated.all() and not terminated.any()
    np.testing.assert_array_equal(reward, next_reward)
    assert info["_final_obs"].all()
    _assert_same(info["final_obs"], last)
    first, *_ = same_next.step(slates[3])  # next-step mode resets here and ignores the slate
    _assert_same(obs, first)
    _assert_same(same.step(slates[4])[:4], same_next.step(slates[4])[:4])


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
    _assert_same(dataclasses.asdict(venv.unwrapped.state), dataclasses.asdict(swapped))
    with pytest.raises(ValueError, match="state must have 6 rows"):
        venv.unwrapped.state = state.rows(slice(0, 2))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_slates_are_refused_without_changing_the_state(env_id: str) -> None:
    env, twin = gym.make_vec(env_id, num_envs=3), gym.make_vec(env_id, num_envs=3)
    space = env.single_action_space
    k, s = space.num_candidates, space.slate_size
    env.action_space.seed(0)
    first, second = env.action_space.sample(), env.action_space.sample()
    for e in (env, twin):
        e.reset(seed=4)
        e.step(first)
    bad = [np.full((3, s), k), np.zeros((3, s + 1), dtype=np.int64), first.astype(np.float64) + 0.5]
    if s > 1:
        duplicated = first.copy()
        duplicated[1, 1] = duplicated[1, 0]
        bad.append(duplicated)
    for slate in bad:
        with pytest.raises(ValueError, match="action"):
            env.step(slate)
    _assert_same(env.step(second)[:4], twin.step(second)[:4])


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
    from recsim_bench.parts import NAMED_REWARDS

    behaviours = gym.make(env_id).unwrapped.sim.response_model.behaviours
    for name, weights in NAMED_REWARDS.items():
        if set(weights) <= set(behaviours):
            assert gym.make(env_id, reward=name).unwrapped.sim.reward.spec() == weights
        else:
            with pytest.raises(ValueError, match=r"are not produced by the response model; allowed: \["):
                gym.make(env_id, reward=name)
    weights = {behaviour: float(i + 1) for i, behaviour in enumerate(behaviours)}
    assert gym.make(env_id, reward=weights).unwrapped.sim.reward.spec() == weights
