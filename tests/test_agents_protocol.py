"""The agent protocol, the rollout loop, agents by entry point, and the ``baselines`` config loader."""

from __future__ import annotations

import numpy as np
import pytest

import recsim_bench
from baselines import CONFIG_DIR, load_config
from recsim_bench import rng
from recsim_bench.agents import (
    Agent,
    TrainableAgent,
    agent_class,
    agent_names,
    build_config,
    evaluate_agent,
    evaluate_episodes,
    make_agent,
)
from recsim_bench.references import OracleReference, RandomReference
from recsim_bench.rng import RowStreams

IX = "RecSimBench/InterestExploration-v0"
LTS = "RecSimBench/LongTermSatisfaction-v0"


class TaskRecorder:
    """Shows candidates 0..S-1 and records the user and seed of each row from the bound env."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], int] = {}  # (split code, user index) -> seed

    def bind(self, env) -> None:
        self.env = env

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        if seeds is not None:
            state = self.env.state
            self.seen.update(zip(zip(state.split.tolist(), state.user_id.tolist()), seeds.tolist()))

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        return np.tile(np.arange(obs["response"].shape[1]), (len(obs["candidates"]), 1))


# ------------------------------------------------------------------------------------- evaluate_agent
def test_episode_e_serves_user_e_with_seed_plus_e():
    agent = TaskRecorder()
    evaluate_agent(agent, IX, episodes=5, seed=10, num_envs=2)
    assert agent.seen == {(1, e): 10 + e for e in range(5)}  # split code 1: test


def test_episode_return_matches_a_single_env_run_by_hand():
    import gymnasium as gym

    returns = evaluate_agent(TaskRecorder(), LTS, episodes=3, seed=4, split="train", num_envs=2)
    env = gym.make(LTS)
    obs, _ = env.reset(seed=4 + 2, options={"task": {"split": "train", "user": 2}})
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(np.array([0]))
        total, done = total + reward, terminated or truncated
    assert returns[2] == total


@pytest.mark.parametrize("name", ["random", "linucb", "thompson", "oracle"])
def test_returns_do_not_depend_on_the_batch_size(name):
    reference = evaluate_episodes(make_agent(name, IX), IX, episodes=7, seed=3, num_envs=7)
    for num_envs in (1, 3):
        other = evaluate_episodes(make_agent(name, IX), IX, episodes=7, seed=3, num_envs=num_envs)
        np.testing.assert_array_equal(other.returns, reference.returns)
        np.testing.assert_array_equal(other.lengths, reference.lengths)
    assert reference.returns.dtype == np.float64 and reference.returns.shape == (7,)
    assert (reference.lengths == 100).all() and not reference.terminated.any()  # IX truncates at 100 steps


def test_first_episode_shards_an_evaluation():
    whole = evaluate_agent(make_agent("random", IX), IX, episodes=6, seed=1)
    tail = evaluate_episodes(make_agent("random", IX), IX, episodes=2, seed=1, first_episode=4).returns
    np.testing.assert_array_equal(tail, whole[4:])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"episodes": 0}, "episodes"),
        ({"episodes": 2.0}, "episodes"),
        ({"seed": -1}, "seed"),
        ({"num_envs": 0}, "num_envs"),
        ({"split": "valid"}, "split"),
        ({"deterministic": "yes"}, "deterministic"),
        ({"env_id": "RecSimBench/Nope-v0"}, "env_id"),
        ({"agent": object()}, "agent"),
        ({"autoreset_mode": "same_step"}, "env_kwargs"),
    ],
)
def test_evaluate_agent_names_a_bad_argument(kwargs, message):
    arguments = {"agent": TaskRecorder(), "env_id": IX, "episodes": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        evaluate_agent(**arguments)


def test_protocols_are_runtime_checkable():
    assert isinstance(TaskRecorder(), Agent)
    assert isinstance(make_agent("ridge-greedy", IX), TrainableAgent)
    assert not isinstance(make_agent("random", IX), TrainableAgent)


def test_row_streams_are_keyed_by_seed_and_step():
    streams = RowStreams()
    streams.reset(np.array([True, True]), np.array([5, 9]))
    first = streams.uniforms(2, 4)
    streams.advance()
    np.testing.assert_array_equal(first[1], rng.uniforms(rng.row_keys([9]), np.zeros(1, np.int64), np.zeros(1, np.int64), 0, 4)[0])
    streams.reset(np.array([False, True]), None)  # row 1's next episode, step 0
    second = streams.uniforms(2, 4)
    np.testing.assert_array_equal(second[1], rng.uniforms(rng.row_keys([9]), np.ones(1, np.int64), np.zeros(1, np.int64), 0, 4)[0])
    assert not np.array_equal(second[0], first[0])  # row 0 moved to step 1
    with pytest.raises(ValueError, match="seeds"):
        streams.reset(np.array([True, True]), np.array([1, -1]))


def test_random_slates_are_uniform_over_candidates():
    agent = RandomReference(IX)
    agent.reset(np.ones(2000, dtype=bool), np.arange(2000))
    obs = {"candidates": np.zeros((2000, 10, 3), np.float32), "response": np.zeros((2000, 2, 4), np.float32)}
    counts = np.bincount(agent.act(obs).ravel(), minlength=10)
    assert counts.sum() == 4000 and np.all(np.abs(counts - 400) < 80)  # 4 sd of a binomial(4000, 0.1)


def test_oracle_needs_bind():
    with pytest.raises(RuntimeError, match="bind"):
        OracleReference(IX).act({"candidates": np.zeros((1, 10, 3)), "response": np.zeros((1, 2, 4))})


# ------------------------------------------------------------------------------------- configs
def test_config_layers_default_then_env_then_overrides(tmp_path):
    file = tmp_path / "linucb.toml"
    file.write_text('[default]\nalpha = 1.0\nridge = 2\n["RecSimBench/InterestExploration-v0"]\nalpha = 0.5\n')
    assert load_config("linucb", IX, file) == {"alpha": 0.5, "ridge": 2}
    assert load_config("linucb", LTS, file) == {"alpha": 1.0, "ridge": 2}
    agent = make_agent("linucb", IX, {"alpha": 0.25})
    assert agent.config.alpha == 0.25
    config = build_config(type(agent.config), {"ridge": 2})
    assert config.ridge == 2.0 and isinstance(config.ridge, float)


def test_unknown_keys_and_bad_types_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['alpah'\]; allowed: \['alpha', 'keep_across_episodes'"):
        make_agent("linucb", IX, {"alpah": 1.0})
    with pytest.raises(ValueError, match="alpha must be a float"):
        make_agent("linucb", IX, {"alpha": "big"})
    with pytest.raises(ValueError, match="unknown agent 'nope'"):
        make_agent("nope", IX)
    file = tmp_path / "bad.toml"
    file.write_text("[defaults]\nalpha = 1.0\n")
    with pytest.raises(ValueError, match=r"\[defaults\]"):
        load_config("linucb", IX, file)
    with pytest.raises(ValueError, match="no config file"):
        load_config("linucb", IX, tmp_path / "missing.toml")


@pytest.mark.parametrize("name", [name for name in agent_names() if hasattr(agent_class(name), "config_file")])
def test_every_config_section_builds(name):
    import tomllib

    assert agent_class(name).config_file == name  # baselines/configs/<name>.toml, named as the agent
    with open(CONFIG_DIR / f"{name}.toml", "rb") as f:
        sections = tomllib.load(f)
    for section in sections:
        env_id = section if section != "default" else next(iter(recsim_bench.SUITE))
        build_config(agent_class(name).Config, load_config(name, env_id))


# ------------------------------------------------------------------------------------- agents by entry point
def test_the_installed_agents_are_found_by_name():
    assert agent_names() == ["linucb", "oracle", "ppo", "random", "ridge-greedy", "sb3-ppo", "slateq", "thompson"]
    assert agent_class("random") is RandomReference and agent_class("oracle") is OracleReference
    with pytest.raises(ValueError, match=r"unknown agent 'greedy' \(renamed 'ridge-greedy'\); allowed: linucb, oracle, ppo, random, ridge-greedy"):
        agent_class("greedy")


THIRD_PARTY = '''
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class FirstConfig:
    offset: int = 0


class FirstSlates:
    """Shows candidates offset .. offset + S - 1."""

    Config = FirstConfig

    def __init__(self, env_id, config=None, env_kwargs=None):
        self.config = config or FirstConfig()

    @classmethod
    def default_config(cls, env_id):
        return {"offset": 1 if env_id.endswith("InterestExploration-v0") else 0}

    def reset(self, started, seeds=None):
        pass

    def act(self, obs, deterministic=True):
        n, s = len(obs["candidates"]), obs["response"].shape[1]
        return np.tile(np.arange(self.config.offset, self.config.offset + s), (n, 1))
'''


def _install(tmp_path, monkeypatch, entry_points: str) -> None:
    """A third-party distribution on sys.path: its module and a dist-info that declares ``entry_points``."""
    (tmp_path / "third_party_agents.py").write_text(THIRD_PARTY)
    info = tmp_path / "third_party_agents-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: third-party-agents\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[recsim_bench.agents]\n{entry_points}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_third_party_package_adds_its_agent_by_entry_point(tmp_path, monkeypatch, capsys):
    from recsim_bench import cli

    _install(tmp_path, monkeypatch, "first-slates = third_party_agents:FirstSlates")
    assert "first-slates" in agent_names()
    assert make_agent("first-slates", IX).config.offset == 1  # its own default for the env
    assert make_agent("first-slates", LTS).config.offset == 0
    assert make_agent("first-slates", IX, {"offset": 3}).config.offset == 3  # then the caller's overrides
    with pytest.raises(ValueError, match=r"first-slates config for .*: unknown key\(s\) \['width'\]; allowed: \['offset'\]"):
        make_agent("first-slates", IX, {"width": 2})
    assert cli.main(["evaluate", "first-slates", IX, "--episodes", "3", "--seed", "0"]) == 0
    assert "first-slates on RecSimBench/InterestExploration-v0" in capsys.readouterr().out


def test_an_agent_whose_package_lacks_a_dependency_is_named(tmp_path, monkeypatch):
    (tmp_path / "needs_more.py").write_text("import no_such_dependency_xyz\n")
    _install(tmp_path, monkeypatch, "needy = needs_more:Agent")
    with pytest.raises(ValueError, match="agent 'needy' needs no_such_dependency_xyz"):
        make_agent("needy", IX)


# ------------------------------------------------------------------------------------- the rollout loop
class FirstCandidates:
    """Always candidates 0..S-1: no memory, no randomness."""

    def reset(self, started, seeds=None):
        pass

    def act(self, obs, deterministic=True):
        return np.tile(np.arange(obs["response"].shape[1]), (len(obs["candidates"]), 1))


def test_rollout_measures_each_session_of_each_row_as_a_single_env_would():
    import gymnasium as gym

    from recsim_bench.agents import rollout

    env_id, seed, users, sessions = "RecSimBench/Retention-v0", 40, 6, 3
    env = gym.make_vec(env_id, num_envs=users, split="test", max_steps=8)  # short enough that some sessions truncate
    obs, _ = env.reset(seed=[seed + u for u in range(users)], options={"task": [{"split": "test", "user": u} for u in range(users)]})
    measured = rollout(env, FirstCandidates(), obs, seed + np.arange(users), sessions)
    env.close()
    assert measured.returns.shape == measured.lengths.shape == measured.terminated.shape == (users, sessions)
    single = gym.make(env_id, split="test", max_steps=8)
    for user in range(users):
        single.unwrapped.set_task({"split": "test", "user": user})
        for session in range(sessions):
            single.reset(seed=seed + user) if session == 0 else single.reset()
            total, steps, terminated, truncated = 0.0, 0, False, False
            while not (terminated or truncated):
                _, reward, terminated, truncated, _ = single.step(np.arange(3))
                total, steps = total + reward, steps + 1
            assert (measured.returns[user, session], measured.lengths[user, session]) == (total, steps), (user, session)
            assert measured.terminated[user, session] == terminated
    assert measured.terminated.any() and not measured.terminated.all()  # both endings occur: the test can tell them apart


def test_a_name_claimed_by_two_packages_is_refused_not_guessed(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "random = third_party_agents:FirstSlates")
    with pytest.raises(ValueError, match=r"agent 'random' is registered by more than one package: .*(RandomReference.*FirstSlates|FirstSlates.*RandomReference)"):
        make_agent("random", IX)
    assert agent_class("oracle") is OracleReference  # the other names are untouched
