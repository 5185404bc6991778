"""Checks that every RecSimBench environment passes, for a new part or env in one call.

    >>> import recsim_bench
    >>> from recsim_bench.testing import check_all
    >>> check_all("RecSimBench/InterestExploration-v0", num_candidates=6)  # silent when every check passes

:func:`check_all` runs every check below on a registered id, with ``gym.make`` kwargs such as a new part
(``user_model={"name": "mine", ...}``); each check is also a public function of its own. A failed
check raises ``AssertionError`` naming the id, the check and what differed (explicit raises, so the
checks also run under ``python -O``). The suite's own tests (``tests/test_suite.py``) call these
functions for every registered id; ``docs/testing.md`` says what each one asserts.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from recsim_bench.envs.core import RecEnv, RecVectorEnv
from recsim_bench.parts import NAMED_REWARDS

#: Rows of the vector env that :func:`check_vector_rows` compares with single envs by default.
DEFAULT_NUM_ENVS = 7
#: Rows compared one by one when a vector env is larger than this (the first two, a middle one and the last).
ROWS_COMPARED_IN_FULL = 7


def _fail(env_id: str, check: str, message: str) -> None:
    raise AssertionError(f"{env_id}: {check}: {message}")


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Raise ``AssertionError`` naming the first place (``where`` plus keys and indices) where ``a`` and ``b`` differ.

    Dicts, tuples and lists are compared entry by entry, anything else as arrays, bit for bit.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise AssertionError(f"{where}: keys {sorted(a)} != {sorted(b)}")
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        if len(a) != len(b):
            raise AssertionError(f"{where}: lengths {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif not np.array_equal(np.asarray(a), np.asarray(b)):
        raise AssertionError(f"{where}: {a!r} != {b!r}")


def _same(env_id: str, check: str, a: Any, b: Any, what: str) -> None:
    try:
        assert_same(a, b, what)
    except AssertionError as error:
        _fail(env_id, check, f"differs at {error}")


def _rollout(env: gym.Env, seed: int, steps: int, action_seed: int) -> list[Any]:
    """Observations, rewards, flags and infos of ``steps`` seeded random slates, resetting at episode ends."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    trace: list[Any] = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            trace.append(env.reset()[0])
    return trace


def _behaviours(info: dict[str, Any]) -> list[str]:
    """The behaviour names of a step's info (every key but the task and Gymnasium's ``_`` masks)."""
    return [name for name in info if name != "task" and not name.startswith("_")]


def check_gymnasium_env(env_id: str, **kwargs: Any) -> None:
    """Gymnasium's own ``check_env`` on the single env, with any checker warning counted as a failure."""
    env = gym.make(env_id, **kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gymnasium_check_env(env.unwrapped)
    except (AssertionError, UserWarning) as error:
        _fail(env_id, "gymnasium check_env", str(error))
    finally:
        env.close()


def check_determinism(env_id: str, **kwargs: Any) -> None:
    """Two envs reset with the same seed give the same 150 steps under the same slates; another seed differs."""
    first = _rollout(gym.make(env_id, **kwargs), 3, 150, 1)
    _same(env_id, "same seed, same trajectory", first, _rollout(gym.make(env_id, **kwargs), 3, 150, 1), "trajectory")
    other = _rollout(gym.make(env_id, **kwargs), 4, 1, 1)
    if np.array_equal(other[0]["candidates"], first[0]["candidates"]):
        _fail(env_id, "another seed, another trajectory", "seeds 3 and 4 give the same first candidates: is the seed used?")


def check_vector_determinism(env_id: str, **kwargs: Any) -> None:
    """Two vector envs of 4 rows reset with the same seed give the same 120 steps under the same slates."""

    def rollout() -> list[Any]:
        venv = gym.make_vec(env_id, num_envs=4, **kwargs)
        venv.action_space.seed(0)
        trace = [venv.reset(seed=9)[0]]
        trace += [venv.step(venv.action_space.sample())[:4] for _ in range(120)]
        return trace

    _same(env_id, "vector env: same seed, same trajectory", rollout(), rollout(), "trajectory")


def check_vector_rows(env_id: str, num_envs: int = DEFAULT_NUM_ENVS, **kwargs: Any) -> None:
    """Row ``i`` of ``make_vec(num_envs=N)`` reset with seed ``s`` is, bit for bit, ``make`` reset with seed ``s + i``.

    Under the same 260 slates and across episode boundaries (next-step autoreset on the vector side:
    the step after a row's episode ended reports reward 0, no flags and no behaviours for it). Fails
    too when no episode ended within the 260 steps, where the comparison would say nothing of resets.
    """
    check, seed, steps = f"row i of a vector env of {num_envs} seeded s is the single env seeded s + i", 11, 260
    venv = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    if venv.metadata.get("autoreset_mode") != AutoresetMode.NEXT_STEP:
        _fail(env_id, check, f"metadata['autoreset_mode'] is {venv.metadata.get('autoreset_mode')!r}, not NEXT_STEP")
    venv.action_space.seed(5)
    first_obs, _ = venv.reset(seed=seed)
    slates = [venv.action_space.sample() for _ in range(steps)]
    vector_steps = [venv.step(slate) for slate in slates]
    venv.close()
    rows = range(num_envs) if num_envs <= ROWS_COMPARED_IN_FULL else (0, 1, num_envs // 2, num_envs - 1)
    episode_ends = 0
    for i in rows:
        env = gym.make(env_id, **kwargs)
        obs, _ = env.reset(seed=seed + i)
        _same(env_id, check, obs, {key: values[i] for key, values in first_obs.items()}, f"row {i}, reset obs")
        reset_next = False
        for t, (slate, (vobs, vreward, vterminated, vtruncated, vinfo)) in enumerate(zip(slates, vector_steps)):
            where = f"row {i}, step {t + 1}"
            if reset_next:
                obs, _ = env.reset()
                stepped = [name for name in _behaviours(vinfo) if vinfo[f"_{name}"][i]]
                if vreward[i] != 0.0 or vterminated[i] or vtruncated[i] or stepped:
                    _fail(env_id, check, f"{where}: the autoreset step reports a reward, a flag or behaviours {stepped}")
                reset_next = False
            else:
                obs, reward, terminated, truncated, info = env.step(slate[i])
                single = (reward, terminated, truncated, {name: info[name] for name in _behaviours(info)})
                vector = (vreward[i], vterminated[i], vtruncated[i], {name: vinfo[name][i] for name in _behaviours(vinfo)})
                _same(env_id, check, single, vector, f"{where}, (reward, terminated, truncated, behaviours)")
                reset_next = terminated or truncated
                episode_ends += reset_next
            _same(env_id, check, obs, {key: values[i] for key, values in vobs.items()}, f"{where}, obs")
        env.close()
    if episode_ends == 0:
        _fail(env_id, check, f"no episode ended within {steps} steps, so resets were not compared (lower max_steps)")


def check_fresh_observations(env_id: str, **kwargs: Any) -> None:
    """Each step returns new float32 arrays (sharing no memory with the last ones) inside the observation space."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(0)
    first, _ = env.reset(seed=0)
    second, *_ = env.step(env.action_space.sample())
    for key in first:
        if first[key].dtype != np.float32:
            _fail(env_id, "fresh float32 observations", f"obs[{key!r}] is {first[key].dtype}, not float32")
        if np.shares_memory(first[key], second[key]):
            _fail(env_id, "fresh float32 observations", f"obs[{key!r}] of two steps share memory")
        if not env.observation_space[key].contains(second[key]):
            _fail(env_id, "fresh float32 observations", f"obs[{key!r}] is outside its space")
    env.close()


def check_vector_observation_space(env_id: str, **kwargs: Any) -> None:
    """The vector env's observation space behaves as Gymnasium's ``batch_space`` of the single one (it shares
    its bounds across rows): equal to it, its samples inside it, a point above the bounds outside."""
    check, n = "vector observation space is the batched single space", 6
    venv = gym.make_vec(env_id, num_envs=n, **kwargs)
    reference = batch_space(venv.single_observation_space, n)
    if venv.observation_space != reference:
        _fail(env_id, check, "observation_space is not batch_space(single_observation_space, num_envs)")
    for key, box in venv.observation_space.spaces.items():
        box.seed(0)
        if not (box.contains(box.sample()) and reference[key].contains(box.sample())):
            _fail(env_id, check, f"observation_space[{key!r}] samples fall outside the batched space")
        if box.contains((reference[key].high + 1.0).astype(np.float32)):
            _fail(env_id, check, f"observation_space[{key!r}] contains a point above its bounds")
    obs, _ = venv.reset(seed=0)
    if not venv.observation_space.contains(obs):
        _fail(env_id, check, "the reset observation is outside observation_space")
    venv.close()


def check_vector_step(env_id: str, **kwargs: Any) -> None:
    """A vector env of 5 rows samples ``(5, S)`` slates and returns ``(5,)`` rewards and flags, and an info
    of Gymnasium's dict of arrays: each behaviour ``(5, S)``, its ``_`` mask marking every row."""
    check, n = "vector env step shapes and info", 5
    venv = gym.make_vec(env_id, num_envs=n, **kwargs)
    venv.reset(seed=0)
    venv.action_space.seed(0)
    slates = venv.action_space.sample()
    if slates.shape != (n, venv.single_action_space.shape[0]):
        _fail(env_id, check, f"action_space samples have shape {slates.shape}")
    _, reward, terminated, truncated, info = venv.step(slates)
    if not reward.shape == terminated.shape == truncated.shape == (n,):
        _fail(env_id, check, f"reward, terminated, truncated shapes {reward.shape}, {terminated.shape}, {truncated.shape}")
    for name in _behaviours(info):
        if info[name].shape != slates.shape or not info[f"_{name}"].all():
            _fail(env_id, check, f"info[{name!r}] has shape {info[name].shape} (not {slates.shape}) or rows unmarked")
    venv.close()


def check_spec_round_trip(env_id: str, **kwargs: Any) -> None:
    """``gym.make`` from ``env.spec.to_json()`` builds the same simulator and gives the same trajectory."""
    env = gym.make(env_id, **kwargs)
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    if rebuilt.unwrapped.sim.describe() != env.unwrapped.sim.describe():
        _fail(env_id, "spec round trip", "the env rebuilt from its JSON spec has other parts or parameters")
    _same(env_id, "spec round trip", _rollout(env, 2, 30, 0), _rollout(rebuilt, 2, 30, 0), "trajectory")


def check_episode_end_flags(env_id: str, **kwargs: Any) -> None:
    """With ``max_steps=3``, step 3 is ``truncated`` unless the user left then (``terminated``), never both."""
    check = "terminated means the user left, truncated the step limit"
    env = gym.make(env_id, **{**kwargs, "max_steps": 3})
    env.action_space.seed(0)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(3)]
    terminated, truncated = flags[2]
    if flags[:2] != [(False, False), (False, False)]:
        _fail(env_id, check, f"an episode ended before max_steps=3: (terminated, truncated) per step {flags}")
    user_left = bool(env.unwrapped.sim.user_model.terminated(env.unwrapped.state.user)[0])
    if terminated == truncated or terminated != user_left:
        _fail(env_id, check, f"step 3 gives terminated={terminated}, truncated={truncated} with the user left: {user_left}")
    env.close()


def check_threads(env_id: str, **kwargs: Any) -> None:
    """Blocks of rows stepped on three threads give exactly the one-thread trajectory, resets included."""

    def rollout(num_threads: int) -> list[Any]:
        venv = gym.make_vec(env_id, num_envs=64, num_threads=num_threads, **{**kwargs, "max_steps": 4})
        venv.action_space.seed(0)
        trace = [venv.reset(seed=2)[0]]
        trace += [venv.step(venv.action_space.sample()) for _ in range(11)]
        trace.append(venv.unwrapped.expected_rewards())
        venv.close()
        return trace

    _same(env_id, "three threads give the one-thread numbers", rollout(1), rollout(3), "trajectory")


def check_same_step_autoreset(env_id: str, **kwargs: Any) -> None:
    """Same-step autoreset is next-step autoreset one step sooner, with the last observation in ``final_obs``.

    Every row truncates at step 3 (``max_steps=3``); pass kwargs under which no user leaves within 3
    steps (e.g. Retention's ``user_model={"name": "retention", "churn_after": 1e9}``).
    """
    check = "same-step autoreset is next-step autoreset one step sooner"
    options = {"num_envs": 5, "num_threads": 2, **kwargs, "max_steps": 3}
    same = gym.make_vec(env_id, autoreset_mode="same_step", **options)
    following = gym.make_vec(env_id, autoreset_mode=AutoresetMode.NEXT_STEP, **options)
    if same.metadata["autoreset_mode"] != AutoresetMode.SAME_STEP:
        _fail(env_id, check, "autoreset_mode='same_step' is not declared in metadata")
    same.action_space.seed(3)
    slates = [same.action_space.sample() for _ in range(5)]
    _same(env_id, check, same.reset(seed=1)[0], following.reset(seed=1)[0], "reset obs")
    for t, slate in enumerate(slates[:2]):
        a, b = same.step(slate), following.step(slate)
        _same(env_id, check, a[:4], b[:4], f"step {t + 1}")
        if "final_obs" in a[4]:
            _fail(env_id, check, f"step {t + 1} reports final_obs before any episode ended")
    obs, reward, terminated, truncated, info = same.step(slates[2])
    last, next_reward, _, next_truncated, _ = following.step(slates[2])
    if not (truncated.all() and next_truncated.all()) or terminated.any():
        _fail(env_id, check, f"step 3 with max_steps=3: truncated {truncated}, terminated {terminated} (did a user leave?)")
    _same(env_id, check, reward, next_reward, "step 3 reward")
    if not info.get("_final_obs", np.zeros(1, bool)).all():
        _fail(env_id, check, "step 3 does not mark every row's final_obs")
    _same(env_id, check, info["final_obs"], last, "step 3 final_obs")
    first, *_ = following.step(slates[3])  # next-step mode resets here and ignores the slate
    _same(env_id, check, obs, first, "first obs of the next episode")
    _same(env_id, check, same.step(slates[4])[:4], following.step(slates[4])[:4], "step 5")
    same.close()
    following.close()


def check_bad_slates(env_id: str, **kwargs: Any) -> None:
    """Malformed slates (out of range, wrong length, non-integer, repeated) raise ``ValueError`` naming the
    action, and leave the state as it was: the next valid step equals that of a twin never given them."""
    check = "bad slates are refused with the state unchanged"
    env, twin = gym.make_vec(env_id, num_envs=3, **kwargs), gym.make_vec(env_id, num_envs=3, **kwargs)
    space = env.single_action_space
    k, s = space.num_candidates, space.slate_size
    env.action_space.seed(0)
    first, second = env.action_space.sample(), env.action_space.sample()
    for e in (env, twin):
        e.reset(seed=4)
        e.step(first)
    bad = {
        "out of range": np.full((3, s), k),
        "too long": np.zeros((3, s + 1), dtype=np.int64),
        "not integers": first.astype(np.float64) + 0.5,
    }
    if s > 1:
        bad["a repeated candidate"] = first.copy()
        bad["a repeated candidate"][1, 1] = bad["a repeated candidate"][1, 0]
    for problem, slate in bad.items():
        try:
            env.step(slate)
        except ValueError as error:
            if "action" not in str(error):
                _fail(env_id, check, f"the ValueError for a slate {problem} does not name the action: {error}")
        else:
            _fail(env_id, check, f"a slate {problem} was accepted: {slate.tolist()}")
    _same(env_id, check, env.step(second)[:4], twin.step(second)[:4], "the step after the refused slates")
    env.close()
    twin.close()


def check_named_rewards(env_id: str, **kwargs: Any) -> None:
    """Every named reward builds where the response model produces its behaviours and is refused where it
    does not; a dict of weights over the env's behaviours is taken as given."""
    check = "named rewards"
    behaviours = gym.make(env_id, **kwargs).unwrapped.sim.response_model.behaviours
    for name, weights in NAMED_REWARDS.items():
        if set(weights) <= set(behaviours):
            built = gym.make(env_id, **{**kwargs, "reward": name}).unwrapped.sim.reward.spec()
            if built != weights:
                _fail(env_id, check, f"reward={name!r} builds {built}, not {weights}")
            continue
        try:
            gym.make(env_id, **{**kwargs, "reward": name})
        except ValueError as error:
            if "are not produced by the response model; allowed: [" not in str(error):
                _fail(env_id, check, f"reward={name!r} is refused without naming the allowed behaviours: {error}")
        else:
            _fail(env_id, check, f"reward={name!r} needs {sorted(weights)} but builds over behaviours {list(behaviours)}")
    weights = {behaviour: float(i + 1) for i, behaviour in enumerate(behaviours)}
    built = gym.make(env_id, **{**kwargs, "reward": weights}).unwrapped.sim.reward.spec()
    if built != weights:
        _fail(env_id, check, f"reward={weights} builds {built}")


def check_shells(env_id: str, **kwargs: Any) -> None:
    """``make`` gives a :class:`RecEnv` of one row and ``make_vec`` a :class:`RecVectorEnv` (``vector_entry_point``)."""
    env, venv = gym.make(env_id, **kwargs), gym.make_vec(env_id, num_envs=2, **kwargs)
    if not isinstance(env.unwrapped, RecEnv) or not isinstance(venv.unwrapped, RecVectorEnv):
        _fail(env_id, "shells", f"make gives {type(env.unwrapped).__name__}, make_vec {type(venv.unwrapped).__name__}")
    env.reset(seed=0)
    if len(env.unwrapped.state) != 1:
        _fail(env_id, "shells", f"the single env's state has {len(env.unwrapped.state)} rows, not 1")
    venv.close()


#: Every check, in the order :func:`check_all` runs them.
CHECKS = (
    check_shells,
    check_gymnasium_env,
    check_fresh_observations,
    check_determinism,
    check_vector_determinism,
    check_vector_rows,
    check_vector_observation_space,
    check_vector_step,
    check_spec_round_trip,
    check_episode_end_flags,
    check_threads,
    check_same_step_autoreset,
    check_bad_slates,
    check_named_rewards,
)


def check_all(env_id: str, **kwargs: Any) -> None:
    """Run every check of :data:`CHECKS` on ``env_id`` made with ``kwargs``; the first failure raises ``AssertionError``."""
    for check in CHECKS:
        check(env_id, **kwargs)


__all__ = [
    "CHECKS",
    "DEFAULT_NUM_ENVS",
    "assert_same",
    "check_all",
    "check_bad_slates",
    "check_determinism",
    "check_episode_end_flags",
    "check_fresh_observations",
    "check_gymnasium_env",
    "check_named_rewards",
    "check_same_step_autoreset",
    "check_shells",
    "check_spec_round_trip",
    "check_threads",
    "check_vector_determinism",
    "check_vector_rows",
    "check_vector_observation_space",
    "check_vector_step",
]
