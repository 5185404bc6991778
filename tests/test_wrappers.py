"""The wrappers: flattening, score-to-slate and the Stable-Baselines3 adapter, over the whole suite."""

from __future__ import annotations

import doctest
import subprocess
import sys
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import VectorObservationWrapper, VectorWrapper
from numpy.testing import assert_array_equal

import recsim_bench
from recsim_bench.envs.spaces import SlateSpace, stacked_box, stacked_dict_space
from recsim_bench.wrappers import FlattenObservation, FlattenVectorObservation, ScoreToSlate, ScoreToSlateVector
from recsim_bench.wrappers import flatten, score_to_slate
from recsim_bench.wrappers.flatten import flat_box
from recsim_bench.wrappers.score_to_slate import top_candidates

ENV_IDS = sorted(recsim_bench.SUITE)
ORDER = ("candidates", "response", "user")  # sorted keys: the Dict space's order, hence the flat layout
# InterestEvolution users with a 1.6-minute budget: a click (4 minutes) nearly always ends it (terminated),
# while three steps without a click cost only 1.5, so those users are truncated at max_steps=3.
SHORT_EPISODES = {"user_model": {"name": "interest_evolution", "time_budget": 1.6}, "max_steps": 3}


def _flat(obs: dict[str, np.ndarray], rows: int | None = None) -> np.ndarray:
    """The documented layout, written out: each key's values in ``ORDER``, row by row when batched."""
    if rows is None:
        return np.concatenate([obs[key].ravel() for key in ORDER])
    return np.concatenate([obs[key].reshape(rows, -1) for key in ORDER], axis=1)


# ---------------------------------------------------------------- flatten
def test_flat_box_concatenates_bounds_in_sorted_key_order() -> None:
    space = spaces.Dict(
        {
            "b": spaces.Box(low=np.float32([0, 1]), high=np.float32([2, 3]), dtype=np.float32),
            "a": spaces.Box(low=-1.0, high=np.float32([[1, 2], [3, 4]]), dtype=np.float32),
        }
    )
    box = flat_box(space)
    assert box.dtype == np.float32 and box.shape == (6,)
    assert_array_equal(box.low, [-1, -1, -1, -1, 0, 1])
    assert_array_equal(box.high, [1, 2, 3, 4, 2, 3])
    with pytest.raises(TypeError, match="Dict of Box"):
        flat_box(spaces.Dict({"a": spaces.Discrete(3)}))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_flatten_observation_concatenates_the_dict_in_key_order(env_id: str) -> None:
    env, flat_env = gym.make(env_id), FlattenObservation(gym.make(env_id))
    dict_space = env.observation_space
    assert tuple(dict_space) == ORDER
    assert_array_equal(flat_env.observation_space.low, _flat({key: dict_space[key].low for key in ORDER}))
    assert_array_equal(flat_env.observation_space.high, _flat({key: dict_space[key].high for key in ORDER}))
    obs, flat_obs = env.reset(seed=3)[0], flat_env.reset(seed=3)[0]
    env.action_space.seed(0)
    for _ in range(5):
        assert flat_obs.dtype == np.float32 and flat_env.observation_space.contains(flat_obs)
        assert_array_equal(flat_obs, _flat(obs))
        k, f = dict_space["candidates"].shape
        assert_array_equal(flat_obs[: k * f].reshape(k, f), obs["candidates"])  # the first block, by hand
        assert_array_equal(flat_obs[-dict_space["user"].shape[0] :], obs["user"])  # the last block
        slate = env.action_space.sample()
        obs, flat_obs = env.step(slate)[0], flat_env.step(slate)[0]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_flatten_observation_passes_the_checkers(env_id: str) -> None:
    sb3_env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version.*")
        gym_check_env(FlattenObservation(gym.make(env_id)))
        sb3_env_checker.check_env(FlattenObservation(gym.make(env_id)), warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_flatten_row_is_single_flatten_seeded_s_plus_i(env_id: str) -> None:
    n, seed, steps = 5, 7, 12
    venv = FlattenVectorObservation(gym.make_vec(env_id, num_envs=n))
    assert isinstance(venv, VectorObservationWrapper)
    single = FlattenObservation(gym.make(env_id))
    assert venv.single_observation_space == single.observation_space
    assert venv.observation_space == gym.vector.utils.batch_space(single.observation_space, n)
    assert venv.observation_space.low.strides[0] == 0  # the rows share the single bounds
    venv.action_space.seed(1)
    slates = [venv.action_space.sample() for _ in range(steps)]
    trace = [venv.reset(seed=seed)[0]] + [venv.step(slate)[0] for slate in slates]
    for obs in trace:
        assert obs.shape == (n, single.observation_space.shape[0]) and venv.observation_space.contains(obs)
    for i in range(n):  # up to the row's first episode end (the vector row then autoresets)
        assert_array_equal(trace[0][i], single.reset(seed=seed + i)[0])
        for obs, slate in zip(trace[1:], slates):
            row, _, terminated, truncated, _ = single.step(slate[i])
            assert_array_equal(obs[i], row)
            if terminated or truncated:
                break


def test_vector_flatten_also_flattens_same_step_final_observations() -> None:
    env_id, n = "RecSimBench/InterestEvolution-v0", 8
    venv = gym.make_vec(env_id, num_envs=n, autoreset_mode="same_step", **SHORT_EPISODES)
    flat_venv = FlattenVectorObservation(gym.make_vec(env_id, num_envs=n, autoreset_mode="same_step", **SHORT_EPISODES))
    venv.reset(seed=0)
    flat_venv.reset(seed=0)
    venv.action_space.seed(0)
    finished = 0
    for _ in range(6):
        slates = venv.action_space.sample()
        obs, *_, infos = venv.step(slates)
        flat_obs, *_, flat_infos = flat_venv.step(slates)
        assert_array_equal(flat_obs, _flat(obs, n))
        assert ("final_obs" in infos) == ("final_obs" in flat_infos)
        if "final_obs" in infos:
            rows = infos["_final_obs"]
            assert flat_infos["final_obs"].shape == flat_obs.shape
            assert_array_equal(flat_infos["final_obs"][rows], _flat(infos["final_obs"], n)[rows])
            finished += rows.sum()
    assert finished > 0


# ---------------------------------------------------------------- score to slate
def test_top_candidates_known_answers() -> None:
    scores = np.array([0.5, 2.0, 2.0, -1.0, 2.0, 0.5])
    assert_array_equal(top_candidates(scores, (6,), 3, "action"), [1, 2, 4])  # a three-way tie, in index order
    assert_array_equal(top_candidates(scores, (6,), 5, "action"), [1, 2, 4, 0, 5])
    assert_array_equal(top_candidates([-np.inf, 3.0, np.inf, 3.0], (4,), 2, "action"), [2, 1])
    assert_array_equal(top_candidates([0.0, -0.0, 1.0], (3,), 3, "action"), [2, 0, 1])  # -0.0 ties with 0.0
    batch = np.array([[1, 5, 5, 0], [7, 7, 7, 9]], dtype=np.uint8)  # unsigned scores must not wrap when negated
    assert_array_equal(top_candidates(batch, (2, 4), 2, "actions"), [[1, 2], [3, 0]])


def test_top_candidates_refuses_bad_scores_naming_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^action contains NaN scores;"):
        top_candidates([0.1, np.nan, 0.3], (3,), 2, "action")
    with pytest.raises(ValueError, match=r"^actions contains NaN scores \(row 1\)"):
        top_candidates([[0.1, 0.2, 0.3], [0.1, 0.2, np.nan]], (2, 3), 2, "actions")
    with pytest.raises(ValueError, match=r"^action must have shape \(3,\) \(one score per candidate\), got \(2,\)"):
        top_candidates([0.1, 0.2], (3,), 2, "action")
    with pytest.raises(ValueError, match=r"^action must hold real-valued scores"):
        top_candidates(np.array([True, False, True]), (3,), 2, "action")


def _scores_for(slates: np.ndarray, num_candidates: int) -> np.ndarray:
    """Scores whose top slate is ``slates`` (the last axis): S, S - 1, ..., 1 on it, every other candidate tied at 0."""
    scores = np.zeros(slates.shape[:-1] + (num_candidates,), dtype=np.float32)
    np.put_along_axis(scores, slates, np.arange(slates.shape[-1], 0, -1, dtype=np.float32), axis=-1)
    return scores


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_score_to_slate_sends_the_top_slate(env_id: str) -> None:
    env, scored = gym.make(env_id), ScoreToSlate(gym.make(env_id))
    k = env.action_space.num_candidates
    assert scored.action_space == spaces.Box(-np.inf, np.inf, (k,), np.float32)
    env.action_space.seed(0)
    first, scored_first = env.reset(seed=2)[0], scored.reset(seed=2)[0]
    assert_array_equal(first["candidates"], scored_first["candidates"])
    for _ in range(10):
        slate = env.action_space.sample()
        scores = _scores_for(slate, k)
        assert_array_equal(scored.action(scores), slate)
        step, scored_step = env.step(slate), scored.step(scores)
        assert_array_equal(step[0]["response"], scored_step[0]["response"])
        assert step[1:4] == scored_step[1:4]
    with pytest.raises(ValueError, match="^action contains NaN"):
        scored.step(np.full(k, np.nan, dtype=np.float32))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_score_to_slate_passes_gymnasium_check_env(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version.*")
        # The scores' Box(-inf, inf) is by design: Gymnasium only recommends bounded, normalised actions.
        warnings.filterwarnings("ignore", message=".*(minimum|maximum) value is -?infinity.*")
        warnings.filterwarnings("ignore", message=".*symmetric and normalized space.*")
        gym_check_env(ScoreToSlate(gym.make(env_id)))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_score_to_slate_sends_each_row_its_top_slate(env_id: str) -> None:
    n = 4
    venv, scored = gym.make_vec(env_id, num_envs=n), ScoreToSlateVector(gym.make_vec(env_id, num_envs=n))
    k = venv.single_action_space.num_candidates
    assert scored.single_action_space == spaces.Box(-np.inf, np.inf, (k,), np.float32)
    assert scored.action_space == spaces.Box(-np.inf, np.inf, (n, k), np.float32)
    rng = np.random.default_rng(1)
    venv.action_space.seed(1)
    venv.reset(seed=5)
    scored.reset(seed=5)
    for _ in range(10):
        slates = venv.action_space.sample()
        scores = _scores_for(slates, k)
        assert_array_equal(scored.actions(scores), slates)
        step, scored_step = venv.step(slates), scored.step(scores)
        for key in ORDER:
            assert_array_equal(step[0][key], scored_step[0][key])
        for expected, actual in zip(step[1:4], scored_step[1:4]):
            assert_array_equal(expected, actual)
    scores = rng.random((n, k)).astype(np.float32)
    scores[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"^actions contains NaN scores \(row 2\)"):
        scored.step(scores)


def test_wrapper_docstring_examples_run() -> None:
    for module in (flatten, score_to_slate):
        assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------- the spaces they build on
def test_equal_slate_spaces_hash_equal_and_serve_as_set_and_dict_keys() -> None:
    single, same, batched = SlateSpace(10, 2, seed=1), SlateSpace(10, 2, seed=2), SlateSpace(10, 2, batch=3)
    assert single == same and hash(single) == hash(same)  # the seed is no part of the space
    assert single != batched and single != SlateSpace(11, 2) and single != SlateSpace(10, 3)
    assert len({single, same, batched, SlateSpace(11, 2)}) == 3
    assert {single: "slates"}[same] == "slates"
    assert batched == gym.vector.utils.batch_space(single, 3) and hash(batched) == hash(gym.vector.utils.batch_space(single, 3))


def test_stacked_spaces_share_the_bounds_of_the_single_space() -> None:
    box = spaces.Box(low=np.array([0.0, -1.0], dtype=np.float32), high=np.float32(2.0), dtype=np.float32)
    stacked = stacked_dict_space(spaces.Dict({"user": box}), 1000)["user"]
    assert stacked.shape == (1000, 2) and stacked.low.strides == (0, 4)  # one copy of the bounds, not 1000
    assert_array_equal(stacked.low[999], [0.0, -1.0])
    assert stacked.contains(np.tile(np.array([1.0, 0.5], dtype=np.float32), (1000, 1)))
    assert not stacked.contains(np.full((1000, 2), -0.5, dtype=np.float32))  # below the first bound
    assert stacked_box(box, 1000) == stacked


# ---------------------------------------------------------------- Stable-Baselines3 adapter
def test_core_package_does_not_import_stable_baselines3() -> None:
    code = "import sys, recsim_bench, recsim_bench.wrappers; sys.exit('stable_baselines3' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


CASES = [("RecSimBench/InterestEvolution-v0", SHORT_EPISODES)] + [(env_id, {"max_steps": 3}) for env_id in ENV_IDS]


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize(("env_id", "kwargs"), CASES)
def test_sb3_adapter_rows_are_single_envs_reset_within_the_step(env_id: str, kwargs: dict, flat: bool) -> None:
    """Row i of the adapter seeded s is the single env seeded s + i, reset by hand when its episode ends."""
    sb3 = pytest.importorskip("recsim_bench.wrappers.sb3")
    n, seed, steps = 6, 4, 10
    envs = sb3.SB3VecEnv.make(env_id, n, seed=seed, flatten=flat, **kwargs)
    singles = [ScoreToSlate(gym.make(env_id, **kwargs)) for _ in range(n)]
    if flat:
        singles = [ScoreToSlate(FlattenObservation(gym.make(env_id, **kwargs))) for _ in range(n)]
    assert envs.observation_space == singles[0].observation_space
    obs = envs.reset()
    expected = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    rng = np.random.default_rng(0)
    ends = {"terminated": 0, "truncated": 0}
    for _ in range(steps):
        _assert_rows_equal(obs, expected)
        scores = rng.standard_normal((n, envs.action_space.shape[0])).astype(np.float32)
        obs, rewards, dones, infos = envs.step(scores)
        assert rewards.dtype == np.float32 and dones.dtype == np.bool_ and rewards.shape == dones.shape == (n,)
        assert isinstance(infos, list) and len(infos) == n
        for i, env in enumerate(singles):
            expected[i], reward, terminated, truncated, _ = env.step(scores[i])
            assert rewards[i] == np.float32(reward) and dones[i] == (terminated or truncated)
            if terminated or truncated:
                assert infos[i].keys() == {"terminal_observation", "TimeLimit.truncated"}
                assert infos[i]["TimeLimit.truncated"] == (truncated and not terminated)
                _assert_rows_equal(_stack(infos[i]["terminal_observation"]), [expected[i]])
                expected[i] = env.reset()[0]
                ends["terminated" if terminated else "truncated"] += 1
            else:
                assert infos[i] == {}
        assert envs.observation_space.contains(_row(obs, 0))
    assert ends["truncated"] > 0 and (ends["terminated"] > 0 or kwargs == {"max_steps": 3})


def _row(obs: Any, i: int) -> Any:
    return {key: values[i] for key, values in obs.items()} if isinstance(obs, dict) else obs[i]


def _stack(row: Any) -> Any:
    return {key: values[None] for key, values in row.items()} if isinstance(row, dict) else row[None]


def _assert_rows_equal(batch: Any, rows: list) -> None:
    for i, row in enumerate(rows):
        got = _row(batch, i)
        if isinstance(row, dict):
            assert got.keys() == row.keys()
            for key in row:
                assert_array_equal(got[key], row[key])
        else:
            assert_array_equal(got, row)


def test_sb3_adapter_refuses_what_it_cannot_serve() -> None:
    sb3 = pytest.importorskip("recsim_bench.wrappers.sb3")
    env_id = ENV_IDS[0]
    with pytest.raises(ValueError, match="same-step autoreset mode"):
        sb3.SB3VecEnv(gym.make_vec(env_id, num_envs=2))
    with pytest.raises(TypeError, match="needs a RecVectorEnv"):
        sb3.SB3VecEnv(gym.make_vec(env_id, num_envs=2, vectorization_mode="sync"))
    envs = sb3.SB3VecEnv.make(env_id, 3, score_to_slate=False)
    assert envs.action_space == envs.venv.single_action_space  # the slates themselves, for custom policies
    with pytest.raises(ValueError, match="one dict for all rows"):
        envs.set_options([{}, {}, {}])


def test_sb3_adapter_attributes_and_methods_act_on_the_one_vector_env() -> None:
    sb3 = pytest.importorskip("recsim_bench.wrappers.sb3")
    envs = sb3.SB3VecEnv.make(ENV_IDS[0], 3, seed=0)
    envs.reset()
    sim = envs.venv.unwrapped.sim
    assert envs.get_attr("sim") == [sim, sim, sim] and envs.get_attr("sim", indices=[1]) == [sim]
    assert envs.get_attr("render_mode") == [None, None, None]
    assert envs.has_attr("sim") and not envs.has_attr("no_such_attribute")
    rewards = envs.env_method("expected_rewards")
    assert len(rewards) == 3 and rewards[0].shape == (3, sim.num_candidates)
    assert envs.env_is_wrapped(ScoreToSlateVector) == [True] * 3
    assert envs.env_is_wrapped(FlattenVectorObservation, indices=[0]) == [False]
    envs.set_attr("marker", 1)
    assert envs.get_attr("marker") == [1, 1, 1]
    with pytest.raises(ValueError, match="pass indices=None"):
        envs.env_method("expected_rewards", indices=[0])
    envs.seed(10)
    first = envs.reset()
    assert_array_equal(first["candidates"][1], gym.make(ENV_IDS[0]).reset(seed=11)[0]["candidates"])
    envs.close()


def test_sb3_adapter_docstring_example_runs(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    sb3 = pytest.importorskip("recsim_bench.wrappers.sb3")
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path))  # SB3's default logger makes this directory (else /tmp/SB3-<time>)
    assert doctest.testmod(sb3).failed == 0


class _SlateAudit(VectorWrapper):
    """Counts the steps and the invalid slates that reach the vector env."""

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        super().__init__(env)
        self.steps = self.invalid = 0

    def step(self, actions: Any) -> Any:
        self.steps += 1
        self.invalid += not self.env.action_space.contains(actions)
        return self.env.step(actions)


@pytest.mark.parametrize("flat", [False, True])
def test_ppo_trains_through_the_adapter_without_an_invalid_slate(flat: bool) -> None:
    sb3 = pytest.importorskip("recsim_bench.wrappers.sb3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger

    n, n_steps = 64, 32
    venv = gym.make_vec("RecSimBench/InterestEvolution-v0", num_envs=n, autoreset_mode="same_step", **SHORT_EPISODES)
    audit = _SlateAudit(venv)
    inner = FlattenVectorObservation(audit) if flat else audit
    envs = sb3.SB3VecEnv(ScoreToSlateVector(inner))
    policy = "MlpPolicy" if flat else "MultiInputPolicy"
    model = PPO(policy, envs, n_steps=n_steps, batch_size=512, n_epochs=1, seed=0, device="cpu")
    model.set_logger(Logger(folder=None, output_formats=[]))  # no /tmp/SB3-<time> directory
    model.learn(total_timesteps=2 * n * n_steps)
    assert model.num_timesteps == 2 * n * n_steps
    assert (audit.steps, audit.invalid) == (2 * n_steps, 0)
