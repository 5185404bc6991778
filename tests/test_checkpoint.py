"""Checkpoints are data, never code: weights files round-trip, and every field of a checkpoint is checked before use
(foreign files refused before unpickling, env ids before ``gym.make``, sizes before allocating, weights finite)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import PurePosixPath

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import baselines.checkpoint as checkpoint  # noqa: E402
from baselines import MAX_ENV_INTEGER, checked_env  # noqa: E402
from baselines.checkpoint import load_state_dict, torch_bytes  # noqa: E402
from recsim_bench.agents import agent_class, make_agent  # noqa: E402
from recsim_bench.scoring.results import load_policy  # noqa: E402


def test_a_state_dict_round_trips_through_bytes(tmp_path) -> None:
    state = {"layer.weight": torch.arange(6.0).reshape(2, 3), "layer.bias": torch.tensor([0.5, -1.0])}
    path = tmp_path / "weights.pt"
    path.write_bytes(torch_bytes(state))
    loaded = load_state_dict(path, "Test.load")
    assert list(loaded) == ["layer.weight", "layer.bias"]
    for name, tensor in state.items():
        assert torch.equal(loaded[name], tensor)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint", "is not a torch.save archive"),
        (torch_bytes({"weight": [1.0, 2.0]}), "does not hold a state dict"),
        (torch_bytes([torch.zeros(2)]), "does not hold a state dict"),
    ],
)
def test_a_foreign_file_raises_a_value_error_naming_the_owner_and_path(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^Test.load: .*weights.pt {message}"):
        load_state_dict(path, "Test.load")


def test_a_missing_file_raises_a_value_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="is not a torch.save archive"):
        load_state_dict(tmp_path / "absent.pt", "Test.load")


# ----------------------------------------------------------------------------- checkpoints are data, never code
RECSIM_IDS = sorted(name for name in gym.registry if name.startswith("RecSimBench/"))
BOREDOM = "RecSimBench/Boredom-v0"


def _refusal(call, match: str) -> str:
    """The one-line ``ValueError`` message that ``call()`` raises, matching ``match``."""
    with pytest.raises(ValueError, match=match) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


@settings(max_examples=60, deadline=None)
@given(env_id=st.one_of(st.text(max_size=30), st.sampled_from(["evil:X-v0", "CartPole-v1", "recsimbench/Boredom-v0", " RecSimBench/Boredom-v0"])))
def test_only_a_registered_recsimbench_id_passes(env_id: str) -> None:
    if env_id in RECSIM_IDS:
        assert checked_env({"env_id": env_id, "env_kwargs": {}}, "Test.load", "config.json") == (env_id, {})
    else:
        _refusal(lambda: checked_env({"env_id": env_id, "env_kwargs": {}}, "Test.load", "config.json"), "env_id must be a registered RecSimBench/ id")


@settings(max_examples=60, deadline=None)
@given(size=st.integers(), nested=st.booleans())
def test_env_kwargs_integers_are_bounded_wherever_they_are(size: int, nested: bool) -> None:
    kwargs = {"item_model": {"name": "topics", "num_features": [1, size]}} if nested else {"num_candidates": size}
    record = {"env_id": BOREDOM, "env_kwargs": kwargs}
    if abs(size) <= MAX_ENV_INTEGER:
        assert checked_env(record, "Test.load", "config.json")[1] == kwargs
    else:
        _refusal(lambda: checked_env(record, "Test.load", "config.json"), "integers at most 100,000")


def test_env_kwargs_must_be_an_object_of_finite_numbers() -> None:
    _refusal(lambda: checked_env({"env_id": BOREDOM, "env_kwargs": [1]}, "T", "c"), "env_kwargs must be an object")
    _refusal(lambda: checked_env({"env_id": BOREDOM, "env_kwargs": {"reward": {"click": math.nan}}}, "T", "c"), "numbers must be finite")


@pytest.mark.parametrize("agent", ["slateq", "sb3-ppo", "ridge-greedy"])
def test_a_checkpoint_naming_a_module_in_env_id_is_refused_before_importing_it(tmp_path, monkeypatch, agent: str) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    marker = tmp_path / "imported"
    (modules / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    directory = tmp_path / "checkpoint"
    directory.mkdir()
    record = {"env_id": "evil:X-v0", "env_kwargs": {}, "config": {}}
    record.update({"format": "recsim-bench/ridge-greedy/1"} if agent == "ridge-greedy" else {"agent": agent})
    (directory / "config.json").write_text(json.dumps(record), encoding="utf-8")
    _refusal(lambda: agent_class(agent).load(str(directory), device="cpu"), r"env_id must be a registered RecSimBench/ id, got 'evil:X-v0'")
    _refusal(lambda: load_policy(str(directory)), "env_id must be a registered")  # validate --rerun DIR
    assert not marker.exists()


def test_an_oversized_or_deeply_nested_config_is_refused_unparsed(tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"agent": "slateq", "padding": "x" * (1 << 20)}), encoding="utf-8")
    _refusal(lambda: agent_class("slateq").load(str(tmp_path)), "larger than 1,048,576 bytes")
    _refusal(lambda: load_policy(str(tmp_path)), "larger than 1,048,576 bytes")
    (tmp_path / "config.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _refusal(lambda: agent_class("ppo").load(str(tmp_path)), "nested more than 32 deep")


def _ppo_config(tmp_path, **changes) -> None:
    from baselines.ppo import PPOConfig

    record = {
        "agent": "ppo", "config": PPOConfig().to_dict(), "slate_size": 2, "steps_done": 0,
        "dims": {"user_dim": 4, "response_dim": 8, "candidate_dim": 3, "history_dim": 0},
    }
    for key, value in changes.items():
        if key in record["dims"]:
            record["dims"][key] = value
        elif key in record["config"]:
            record["config"][key] = value
        else:
            record[key] = value
    (tmp_path / "config.json").write_text(json.dumps(record), encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user_dim": 10**9}, "describes a network of 64,000,[0-9,]+ parameters; at most 50,000,000"),
        ({"context_hidden": [10**6, 10**6]}, "describes a network of"),
        ({"user_dim": "4"}, "user_dim must be an integer >= 1, got '4'"),
        ({"slate_size": True}, "slate_size must be an integer >= 1, got True"),
        ({"steps_done": -1}, "steps_done must be an integer >= 0"),
        ({"score_hidden": []}, "score_hidden must be a non-empty list of integers >= 1"),
        ({"learning_rate": "fast"}, "learning_rate must be a float"),
        ({"num_envs": 0}, "num_envs must be an integer >= 1"),
    ],
)
def test_ppo_config_fields_are_checked_before_anything_is_built(tmp_path, changes: dict, message: str) -> None:
    _ppo_config(tmp_path, **changes)
    _refusal(lambda: agent_class("ppo").load(str(tmp_path), device="cpu"), f"^PPOAgent.load: .*{message}")


def test_slateq_network_size_is_checked_before_the_network_is_built(tmp_path) -> None:
    record = {"agent": "slateq", "env_id": BOREDOM, "env_kwargs": {}, "config": {"hidden_size": 100_000}}
    (tmp_path / "config.json").write_text(json.dumps(record), encoding="utf-8")
    _refusal(lambda: agent_class("slateq").load(str(tmp_path)), "describes a network of [0-9,]+ parameters; at most 50,000,000")
    (tmp_path / "config.json").write_text(json.dumps({**record, "config": {"hidden_size": "64"}}), encoding="utf-8")
    _refusal(lambda: agent_class("slateq").load(str(tmp_path)), "hidden_size must be a int")


def test_sb3_ppo_config_sizes_are_bounded(tmp_path) -> None:
    from baselines.sb3_ppo import SB3PPOConfig

    for changes, message in [({"n_steps": 10**9}, "num_envs \\* n_steps must be at most 1,048,576"), ({"hidden": 0}, "hidden must be an integer >= 1")]:
        record = {"agent": "sb3-ppo", "env_id": BOREDOM, "env_kwargs": {}, "config": {**dataclasses.asdict(SB3PPOConfig()), **changes}}
        (tmp_path / "config.json").write_text(json.dumps(record), encoding="utf-8")
        _refusal(lambda: agent_class("sb3-ppo").load(str(tmp_path)), message)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused(tmp_path, value: float) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(torch_bytes({"layer.weight": torch.tensor([[0.0, value]]), "steps": torch.tensor([3])}))
    _refusal(lambda: load_state_dict(path, "Test.load"), "^Test.load: .*entry 'layer.weight' holds non-finite values$")


def test_an_archive_declaring_more_than_the_limit_is_refused_before_loading(tmp_path, monkeypatch) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(torch_bytes({"layer.weight": torch.zeros(1000)}))
    monkeypatch.setattr(checkpoint, "MAX_ARCHIVE_BYTES", 1000)
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("torch.load ran"))
    _refusal(lambda: load_state_dict(path, "Test.load"), r"declares [0-9,]+ bytes; at most 1,000$")


def test_a_pickled_object_is_refused_in_one_line(tmp_path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"payload": PurePosixPath("x")}, path)  # an arbitrary object: weights_only unpickles nothing of the kind
    _refusal(lambda: load_state_dict(path, "Test.load"), r"could not be read as a state dict of tensors \(torch.load with weights_only=True: UnpicklingError\)")


# ----------------------------------------------------------------------------- a resume file's simulator state
def _rollout_states(env_id: str, steps: int) -> tuple[gym.vector.VectorEnv, list]:
    """A vector env of 8 rows and its states over ``steps`` steps of random slates, reset in the step that ends
    an episode as PPO's are (so a state's step counter is always below ``max_steps``)."""
    env = gym.make_vec(env_id, num_envs=8, vectorization_mode="vector_entry_point", autoreset_mode="same_step")
    env.reset(seed=3)
    env.action_space.seed(3)
    states = [env.state]
    for _ in range(steps):
        env.step(env.action_space.sample())
        states.append(env.state)
    return env, states


@pytest.mark.parametrize("env_id", RECSIM_IDS)
def test_every_integer_state_field_declares_a_range_that_honest_states_keep(env_id: str) -> None:
    env, states = _rollout_states(env_id, 60)
    user_ranges, item_ranges = env.sim.user_model.state_ranges(), env.sim.item_model.attribute_ranges()
    for state in states:
        assert {n for n, v in state.user.items() if v.dtype.kind in "iu"} <= set(user_ranges)
        assert {n for n, v in state.items.items() if v.dtype.kind in "iu"} <= set(item_ranges)
        restored = checkpoint.sim_state_from_tensors(checkpoint.sim_state_tensors(state), env.sim, "Test.resume", "resume.pt")
        for name, values in restored.user.items():
            np.testing.assert_array_equal(values, state.user[name])
    env.close()


@pytest.mark.parametrize(
    ("env_id", "entry", "value", "message"),
    [
        (BOREDOM, "user.cursor", 10, r"'env.user.cursor' holds values outside \[0, 9\], e.g. 10$"),
        (BOREDOM, "user.window_counts", 11, r"'env.user.window_counts' holds values outside \[0, 10\], e.g. 11$"),
        (BOREDOM, "user.recent_topics", -2, r"'env.user.recent_topics' holds values outside \[-1, 9\], e.g. -2$"),
        (BOREDOM, "user.boredom_left", 21, r"'env.user.boredom_left' holds values outside \[0, 20\], e.g. 21$"),
        ("RecSimBench/Ecommerce-v0", "items.item_id", 1000, r"'env.items.item_id' holds values outside \[0, 999\], e.g. 1000$"),
        ("RecSimBench/InterestEvolution-v0", "items.topic", -1, r"'env.items.topic' holds values outside \[0, 19\], e.g. -1$"),
        (BOREDOM, "user_id", -5, r"'env.user_id' holds values outside \[0, 4611686018427387903\], e.g. -5$"),
    ],
)
def test_a_resume_state_value_outside_its_range_is_refused_in_one_line(env_id: str, entry: str, value: int, message: str) -> None:
    env, states = _rollout_states(env_id, 3)
    tensors = {name: tensor.clone() for name, tensor in checkpoint.sim_state_tensors(states[-1]).items()}
    tensors[entry].view(-1)[5] = value
    _refusal(lambda: checkpoint.sim_state_from_tensors(tensors, env.sim, "Test.resume", "resume.pt"), f"^Test.resume: resume.pt entry {message}")
    env.close()


def test_a_tampered_boredom_cursor_in_resume_pt_is_refused_before_anything_is_restored(tmp_path) -> None:
    overrides = {"num_envs": 8, "num_steps": 4, "num_minibatches": 1, "update_epochs": 1, "checkpoint_every": 1, "verbose": False}
    make_agent("ppo", BOREDOM, overrides).train(BOREDOM, steps=64, seed=0, device="cpu", log_dir=str(tmp_path))
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    state["env.user.cursor"][2] = 10  # the window has slots 0..9: an IndexError mid-training before the check
    torch.save(state, tmp_path / "resume.pt")
    agent = make_agent("ppo", BOREDOM, overrides)
    resume = lambda: agent.train(BOREDOM, steps=96, seed=0, device="cpu", resume_from=str(tmp_path))  # noqa: E731
    _refusal(resume, r"^PPOAgent.train\(resume_from\): .*resume.pt entry 'env.user.cursor' holds values outside \[0, 9\], e.g. 10$")
    assert agent.steps_done == 0
    saved = {name[4:]: value for name, value in state.items() if name.startswith("net.")}
    assert any(not torch.equal(value, saved[name]) for name, value in agent.net.state_dict().items())  # the weights were not restored
