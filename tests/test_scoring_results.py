"""The protocol, result files, their validation, re-evaluation and per-session evaluation (fast: few episodes)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

import recsim_bench  # noqa: F401  (registers the suite)
import recsim_bench.files
from recsim_bench.agents import evaluate_agent, evaluate_sessions
from recsim_bench.scoring import protocol as P
from recsim_bench.scoring import results as R

BOREDOM = "RecSimBench/Boredom-v0"
EVOLUTION = "RecSimBench/InterestEvolution-v0"
COLD = "RecSimBench/ColdStart-v0"
LTS = "RecSimBench/LongTermSatisfaction-v0"


@pytest.fixture(autouse=True)
def no_git(monkeypatch):
    """Results record the agent code's git commit; tests never call git."""
    monkeypatch.setattr(R, "git_commit", lambda path: None)


@pytest.fixture(scope="module")
def tiny() -> P.Protocol:
    """v1 cut to two environments of 4 episodes."""
    return P.load_protocol("v1").restrict([BOREDOM, EVOLUTION], episodes=4)


def random_agent(env_id: str):
    from recsim_bench.agents import make_agent

    return make_agent("random", env_id)


class FirstSlate:
    """Deterministic: always the first S candidates."""

    def reset(self, started, seeds=None):
        pass

    def act(self, obs, deterministic=True):
        n, s = len(obs["candidates"]), obs["response"].shape[1]
        return np.tile(np.arange(s, dtype=np.int64), (n, 1))


def reseal(result: dict) -> dict:
    """Recompute the checksum after an edit, so that only the edit itself is judged."""
    result["checksum"] = R.checksum(result)
    return result


def fake_result(protocol: P.Protocol, env_id: str, train_seed: int | None, name: str = "agent") -> dict:
    entry = protocol.env(env_id)
    steps = None if train_seed is None else 1000
    return R.make_result(name, env_id, protocol, np.arange(entry.episodes, dtype=float), train_seed=train_seed, train_steps=steps)


@pytest.fixture
def result(tiny) -> dict:
    return R.evaluate(random_agent, tiny, agent_name="random", env_ids=[BOREDOM], train_seed=0, train_steps=1000)[0]


# ----------------------------------------------------------------------------- protocol
def test_v1_protocol_covers_the_suite_with_references():
    protocol = P.load_protocol("v1")
    assert protocol.version == "v1"
    assert set(protocol.env_ids) == set(recsim_bench.SUITE)
    for env_id, entry in protocol.envs.items():
        assert entry.split == "test" and entry.episodes >= 100 and len(entry.train_seeds) >= P.MIN_TRAIN_SEEDS
        assert entry.references is not None, f"{env_id}: run python -m recsim_bench.scoring.protocol --measure"
        assert np.isfinite(entry.reference("random")) and np.isfinite(entry.reference("oracle"))
        best = entry.references[P.UPPER_REFERENCE]
        assert best["policy"] in P.upper_candidates(env_id) and best["mean"] >= entry.reference("oracle")
        assert best["mean"] > entry.reference("random"), f"{env_id}: the normalised score needs best > random"
    assert protocol.env(COLD).sessions is not None and len(protocol.env(COLD).references["random"]["sessions"]) == protocol.env(COLD).sessions
    with pytest.raises(ValueError, match="unknown protocol version"):
        P.load_protocol("v999")


def test_measured_references_match_the_protocol_file():
    protocol = P.load_protocol("v1")
    measured = P.measure_references(protocol, [BOREDOM])
    assert measured[BOREDOM]["random"]["mean"] == protocol.env(BOREDOM).reference("random")
    assert measured[BOREDOM]["oracle"]["mean"] == protocol.env(BOREDOM).reference("oracle")
    assert measured[BOREDOM]["best"] == protocol.env(BOREDOM).references["best"]


def test_normalised_score_runs_from_random_to_the_best_reference():
    # LongTermSatisfaction: the myopic oracle scores below random, so the upper reference is always-kale.
    protocol = P.load_protocol("v1")
    entry = protocol.env(LTS)
    low, high = entry.reference("random"), entry.reference("best")
    assert entry.references["best"]["policy"] == "kale" and entry.reference("oracle") < low < high
    assert protocol.normalise(LTS, low) == 0.0 and protocol.normalise(LTS, high) == 1.0
    assert protocol.normalise(LTS, (low + high) / 2) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- results and validation
def test_result_file_round_trip_validates(tmp_path, tiny, result):
    path = R.write_result(tmp_path / R.result_filename(result), result)
    assert path.name == "random__Boredom-v0__v1__seed0.json"
    loaded = R.read_result(path)
    assert loaded == result
    assert R.result_errors(loaded, tiny) == []
    assert loaded["env_spec"] == json.loads(__import__("gymnasium").spec(BOREDOM).to_json())
    assert set(loaded["provenance"]) >= {"python", "numpy", "gymnasium", "torch", "recsim_bench", "agent_commit"}


def test_checksum_is_sha256_of_canonical_json(result):
    content = {k: v for k, v in result.items() if k != "checksum"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert result["checksum"] == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_edited_return_fails_the_checksum(tiny, result):
    result["returns"][0] += 1.0
    reasons = R.result_errors(result, tiny)
    assert len(reasons) == 1 and reasons[0].startswith("checksum mismatch")


def test_other_env_spec_is_rejected(tiny, result):
    result["env_spec"]["kwargs"] = {"slate_size": 2}
    reasons = R.result_errors(reseal(result), tiny)
    assert reasons == [f"env spec differs from the registered {BOREDOM} in ['kwargs']"]


def test_wrong_episode_count_is_rejected(tiny, result):
    result["returns"].pop()
    result["episodes"] -= 1
    assert R.result_errors(reseal(result), tiny) == ["protocol: 3 episodes, protocol v1 says 4"]
    result["episodes"] += 1  # now inconsistent with the returns themselves
    assert any("returns has 3 entries" in r for r in R.result_errors(reseal(result), tiny))


def test_published_protocol_rejects_a_cut_down_evaluation(result):
    assert R.result_errors(result) == ["protocol: 4 episodes, protocol v1 says 500"]


def test_unknown_protocol_version_is_rejected(tiny, result):
    result["protocol"] = "v9"
    reseal(result)
    assert any("unknown protocol version 'v9'" in r for r in R.result_errors(result))
    assert any("'v9' (unknown version)" in r for r in R.result_errors(result, tiny))


def test_missing_key_is_a_schema_violation(tiny, result):
    del result["device"]
    assert R.result_errors(reseal(result), tiny) == ["schema: missing key 'device'"]
    result["seeds"]["train"] = "zero"
    assert "schema: seeds.train must be int or null, got str" in R.result_errors(reseal(result), tiny)


def test_seed_outside_the_protocol_is_rejected(tiny, result):
    result["seeds"]["train"] = 99
    result["seeds"]["eval"] = 1
    reasons = R.result_errors(reseal(result), tiny)
    assert "protocol: evaluation seed is 1, protocol v1 says 10000" in reasons
    assert any(r.startswith("protocol: training seed 99 is not one of") for r in reasons)


def test_training_steps_are_recorded_and_held_to_the_budget(tiny, result):
    budget = tiny.env(BOREDOM).train_steps
    assert result["schema_version"] == 2 and result["train_steps"] == 1000
    at_budget = dict(result, train_steps=budget)
    assert R.result_errors(reseal(at_budget), tiny) == []
    over = dict(result, train_steps=budget + 1)
    assert R.result_errors(reseal(over), tiny) == ["protocol: trained on 2,000,001 steps, protocol v1 allows at most 2,000,000"]
    unknown = dict(result, train_steps=None)
    assert R.result_errors(reseal(unknown), tiny) == [
        "protocol: train_steps is null but there is a training seed: the training budget used cannot be checked"
    ]
    untrained = dict(result, seeds={"train": None, "eval": 10_000})
    assert R.result_errors(reseal(untrained), tiny) == [
        "protocol: train_steps is 1000 but the training seed is null (an agent that does not learn trains on no steps)"
    ]
    assert R.result_errors(reseal(dict(result, train_steps=-1)), tiny) == ["schema: train_steps must be null or an integer >= 0, got -1"]
    assert R.result_errors(reseal(dict(result, train_steps=True)), tiny) == ["schema: train_steps must be int or null, got bool"]


def test_make_result_and_evaluate_refuse_training_steps_that_do_not_fit_the_seed(tiny):
    returns = np.zeros(4)
    with pytest.raises(ValueError, match=r"train_steps: with a train_seed, give the environment steps .* got None"):
        R.make_result("a", BOREDOM, tiny, returns, train_seed=0)
    with pytest.raises(ValueError, match=r"train_steps must be None without a train_seed .* got 5"):
        R.make_result("a", BOREDOM, tiny, returns, train_steps=5)
    with pytest.raises(ValueError, match=r"train_steps: .* got -3"):
        R.evaluate(random_agent, tiny, env_ids=[BOREDOM], train_seed=0, train_steps=-3)


def test_a_schema_1_file_still_validates_with_its_training_steps_unknown(tiny, result):
    old = {key: value for key, value in result.items() if key != "train_steps"}
    old["schema_version"] = 1
    assert R.result_errors(reseal(old), tiny) == [] and R.train_steps_of(old) == "unknown"
    assert R.train_steps_of(dict(old, seeds={"train": None, "eval": 10_000})) is None  # no training seed: it does not learn
    assert R.train_steps_of(result) == 1000
    assert R.result_errors(reseal(dict(old, train_steps=1000)), tiny) == ["schema: unexpected key 'train_steps'"]
    assert R.result_errors(reseal(dict(old, schema_version=3)), tiny) == [
        "schema: missing key 'train_steps'",
        "schema: schema_version 3 is not one of [1, 2]",
    ]
    del result["train_steps"]
    assert R.result_errors(reseal(result), tiny) == ["schema: missing key 'train_steps'"]


def test_result_names_hold_the_protocol_so_quick_and_full_results_share_a_directory(tmp_path):
    quick = P.quick_protocol()
    full = P.load_protocol("v1")
    for protocol in (full, quick):
        R.evaluate(FirstSlate(), protocol, agent_name="first", env_ids=[BOREDOM], out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first__Boredom-v0__v1-quick__seed-none.json", "first__Boredom-v0__v1__seed-none.json"]
    assert R.read_result(tmp_path / "first__Boredom-v0__v1__seed-none.json")["episodes"] == full.env(BOREDOM).episodes  # not overwritten
    assert R.read_result(tmp_path / "first__Boredom-v0__v1-quick__seed-none.json")["episodes"] == quick.env(BOREDOM).episodes


def test_submission_reports_missing_environments_and_seeds(tiny):
    complete = {f"{env}/{s}": fake_result(tiny, env, s) for env in tiny.env_ids for s in tiny.env(env).train_seeds}
    assert R.validate_submission(complete, tiny) == []
    partial = {k: v for k, v in complete.items() if not k.startswith(EVOLUTION) and not k.endswith("/4")}
    partial["dup"] = fake_result(tiny, BOREDOM, 0)
    reasons = R.validate_submission(partial, tiny)
    assert f"submission agent: missing environment {EVOLUTION}" in reasons
    assert any(f"{BOREDOM} is missing training seed(s) [4]" in r for r in reasons)
    assert any("duplicate results for training seed(s) 0" in r for r in reasons)
    untrained = [fake_result(tiny, env, None, name="random") for env in tiny.env_ids]
    assert R.validate_submission(untrained, tiny) == []


def test_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, result):
    path = tmp_path / "r.json"
    R.write_result(path, result)
    before = path.read_bytes()
    broken = dict(result, returns=[object()])
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        R.write_result(path, broken)
    with pytest.raises(ValueError):
        R.write_result(path, dict(result, wall_time=float("nan")))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_write_failure_after_the_temporary_file_removes_it(tmp_path, result, monkeypatch):
    path = tmp_path / "r.json"
    R.write_result(path, result)
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(recsim_bench.files.os, "replace", fail)
    with pytest.raises(OSError, match="disk gone"):
        R.write_result(path, dict(result, device="cuda"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_git_failure_is_tolerated(monkeypatch):
    monkeypatch.undo()  # the real git_commit, with a failing subprocess

    def boom(*args, **kwargs):
        raise OSError("no git")

    monkeypatch.setattr(subprocess, "run", boom)
    assert R.git_commit(".") is None and R.git_commit(None) is None


# ----------------------------------------------------------------------------- evaluation and rerun
def test_evaluate_gives_evaluate_agents_numbers(tmp_path, tiny):
    results = R.evaluate(random_agent, tiny, agent_name="random", env_ids=[BOREDOM], out_dir=tmp_path)
    expected = evaluate_agent(random_agent(BOREDOM), BOREDOM, 4, tiny.env(BOREDOM).eval_seed, split="test")
    assert results[0]["returns"] == expected.tolist()
    assert results[0]["seeds"] == {"train": None, "eval": 10_000}
    assert results[0]["agent"]["config"] == {"seed": 0}
    assert R.read_result(tmp_path / "random__Boredom-v0__v1__seed-none.json") == results[0]
    # one agent object for every environment works too, and the batch size does not matter
    again = R.evaluate(FirstSlate(), tiny, agent_name="first", num_envs=1)
    assert [r["env_id"] for r in again] == tiny.env_ids
    assert again[0]["returns"] == R.evaluate(FirstSlate(), tiny, env_ids=[again[0]["env_id"]])[0]["returns"]


def test_rerun_matches_exactly_and_detects_another_policy(tiny, result):
    assert R.rerun(result, random_agent) == []
    reasons = R.rerun(result, FirstSlate())
    assert len(reasons) == 1 and reasons[0].startswith("rerun: returns differ in")


def test_rerun_from_a_checkpoint(tmp_path, tiny):
    from recsim_bench.agents import make_agent

    agent = make_agent("ridge-greedy", BOREDOM)
    agent.weights = np.random.default_rng(0).normal(size=agent.weights.shape)
    agent.save(str(tmp_path / "Boredom-v0" / "seed3"))
    result = R.evaluate(agent, tiny, agent_name="ridge-greedy", env_ids=[BOREDOM], train_seed=3, train_steps=0)[0]
    loaded = R.load_policy(str(tmp_path / "Boredom-v0" / "seed3"))
    assert type(loaded).__name__ == "RidgeGreedyAgent"
    assert R.rerun(result, str(tmp_path / "{env}" / "seed{seed}")) == []
    agent.weights = -agent.weights
    agent.save(str(tmp_path / "Boredom-v0" / "seed3"))
    assert R.rerun(result, str(tmp_path / "{env}" / "seed{seed}")) != []


# ----------------------------------------------------------------------------- sessions
class SessionCounter:
    """Deterministic with memory: shows candidates shifted by how many sessions the row has begun."""

    def __init__(self):
        self.calls = []

    def reset(self, started, seeds=None):
        self.calls.append((started.copy(), None if seeds is None else seeds.copy()))
        if seeds is not None:
            self.session = np.zeros(len(started), dtype=np.int64)
        else:
            self.session[started] += 1

    def act(self, obs, deterministic=True):
        n, k = obs["candidates"].shape[:2]
        s = obs["response"].shape[1]
        return (self.session[:, None] + np.arange(s)[None, :]) % k


def test_sessions_of_a_deterministic_agent_on_cold_start():
    seed = 10_000
    agent = SessionCounter()
    returns = evaluate_sessions(agent, COLD, users=3, sessions=2, seed=seed)
    assert returns.shape == (3, 2) and returns.dtype == np.float64
    assert agent.calls[0][1].tolist() == [seed, seed + 1, seed + 2]
    assert all(seeds is None for _, seeds in agent.calls[1:])  # memory kept between sessions
    # session 0 is evaluate_agent's episode e, user e
    np.testing.assert_array_equal(returns[:, 0], evaluate_agent(SessionCounter(), COLD, 3, seed))
    # batch-size invariant
    np.testing.assert_array_equal(returns, evaluate_sessions(SessionCounter(), COLD, users=3, sessions=2, seed=seed, num_envs=1))
    # the second session is the same user's next episode: a single env with the task, reset once with the seed
    import gymnasium as gym

    env = gym.make(COLD, split="test")
    for user in range(3):
        env.unwrapped.set_task({"split": "test", "user": user})
        for session in range(2):
            obs, _ = env.reset(seed=seed + user) if session == 0 else env.reset()
            total, done = 0.0, False
            while not done:
                slate = (session + np.arange(obs["response"].shape[0])) % obs["candidates"].shape[0]
                obs, reward, term, trunc, _ = env.step(slate)
                total += reward
                done = term or trunc
            assert total == returns[user, session]
    env.close()


def test_session_results_validate(tiny):
    protocol = P.load_protocol("v1").restrict([COLD], episodes=3, sessions=2)
    result = R.evaluate(SessionCounter(), protocol, agent_name="counter")[0]
    assert np.array(result["session_returns"]).shape == (3, 2)
    assert result["returns"] == np.array(result["session_returns"]).mean(axis=1).tolist()
    assert R.result_errors(result, protocol) == []
    assert R.rerun(result, SessionCounter()) == []
    result["session_returns"][0][1] += 1.0
    assert any("mean session return" in r for r in R.result_errors(reseal(result), protocol))


# ----------------------------------------------------------------------------- policies and the command
POLICY_MODULE = textwrap.dedent(
    """
    import numpy as np

    class First:
        def reset(self, started, seeds=None):
            pass

        def act(self, obs, deterministic=True):
            n, s = len(obs["candidates"]), obs["response"].shape[1]
            return np.tile(np.arange(s, dtype=np.int64), (n, 1))

    def make():
        return First()

    def make_for(env_id):
        agent = First()
        agent.env_id = env_id
        return agent

    def load_trained(env_id, train_seed):
        agent = make_for(env_id)
        agent.train_seed = train_seed
        return agent

    not_an_agent = 3
    """
)


@pytest.fixture
def policy_module(tmp_path, monkeypatch):
    (tmp_path / "third_party_policy.py").write_text(POLICY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "third_party_policy"


def test_load_policy_module_callable(policy_module):
    agent = R.load_policy(f"{policy_module}:make")
    assert type(agent).__name__ == "First"
    assert R.load_policy(f"{policy_module}:make_for", env_id=COLD, train_seed=2).env_id == COLD
    trained = R.load_policy(f"{policy_module}:load_trained", env_id=COLD, train_seed=2)
    assert (trained.env_id, trained.train_seed) == (COLD, 2)
    with pytest.raises(ValueError, match="cannot import"):
        R.load_policy("no_such_module_xyz:make")
    with pytest.raises(ValueError, match="no attribute"):
        R.load_policy(f"{policy_module}:missing")
    with pytest.raises(ValueError, match="neither callable nor an agent"):
        R.load_policy(f"{policy_module}:not_an_agent")
    with pytest.raises(ValueError, match="neither a directory"):
        R.load_policy("just-a-name")


def test_validate_main(tmp_path, tiny, policy_module, capsys):
    out = tmp_path / "results"
    R.evaluate(f"{policy_module}:make", tiny, agent_name="first", out_dir=out)
    assert R.validate_main([str(out)], protocol=tiny) == 0
    assert R.validate_main([str(out)], rerun=f"{policy_module}:make", protocol=tiny) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(line.startswith("OK") for line in lines) and "rerun matches" in lines[-1]

    assert R.validate_main([str(out)], rerun="recsim_bench.references:RandomReference", protocol=tiny) == 1
    capsys.readouterr()
    files = sorted(out.glob("*.json"))
    tampered = json.loads(files[0].read_text())
    tampered["returns"][0] += 1
    files[0].write_text(json.dumps(tampered))
    assert R.validate_main([str(files[0])], protocol=tiny, partial=True) == 1
    assert "checksum mismatch" in capsys.readouterr().out
    assert R.validate_main([str(files[1])], protocol=tiny) == 1  # one environment of two: incomplete
    assert "missing environment" in capsys.readouterr().out
    (tmp_path / "junk.json").write_text("{not json")
    assert R.validate_main([str(tmp_path / "junk.json")], partial=True) == 1
    assert "not a readable result file: not valid JSON" in capsys.readouterr().out


# ----------------------------------------------------------------------------- untrusted files and metadata
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 200_000, "nested more than 32 deep"),
        ('{"a": ' * 40 + "1" + "}" * 40, "nested more than 32 deep"),
        ('{"episodes": 1' + "0" * 400 + "}", "integer 1" + "0" * 23 + "... does not fit in 64 bits"),
        ('{"returns": [1e400]}', "number 1e400 is too large for a float64"),
        ('{"returns": [NaN]}', "NaN is not JSON"),
        ('{"episodes": 4, "episodes": 500}', "duplicate key(s) ['episodes'] in one object"),
        # 140,000 keys, every one twice (3.6 MB): counting each key by a pass over all would take hours; ten are named
        ("{" + ",".join([f'"k{i:06d}": 0' for i in range(140_000)] * 2) + "}", "duplicate key(s) ['k000000', 'k000001',"),
        ('{"seed": 18446744073709551616}', "integer 18446744073709551616 does not fit in 64 bits"),  # 2**64
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_hostile_files_give_a_fail_line(tmp_path, capsys, text, fragment):
    path = tmp_path / "hostile.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(ValueError) as error:
        R.read_result(path)
    assert fragment in str(error.value)
    assert R.validate_main([str(path)], partial=True) == 1
    assert capsys.readouterr().out == f"FAIL {path}: {error.value}\n"


def test_a_seed_of_the_uint64_range_reads_back(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"seed": 18446744073709551615}', encoding="utf-8")  # 2**64 - 1: a seed the CLI accepts
    assert R.read_result(path) == {"seed": 2**64 - 1}


def test_only_regular_files_of_a_bounded_size_are_read(tmp_path, capsys, result):
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        R.read_result(tmp_path / "zero.json")
    with pytest.raises(ValueError, match="not a regular file"):
        R.read_result("/dev/zero")
    import os

    os.mkfifo(tmp_path / "fifo.json")  # opening it must not wait for a writer
    with pytest.raises(ValueError, match="not a regular file"):
        R.read_result(tmp_path / "fifo.json")
    big = tmp_path / "big.json"
    big.write_text(json.dumps(dict(result, padding=" " * R.MAX_RESULT_BYTES)), encoding="utf-8")
    with pytest.raises(ValueError, match=r"larger than 4,194,304 bytes"):
        R.read_result(big)
    assert R.validate_main([str(tmp_path / "zero.json"), "/dev/zero"], partial=True) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"FAIL {tmp_path / 'zero.json'}: not a readable result file: not a regular file",
        "FAIL /dev/zero: not a readable result file: not a regular file",
    ]
    real = tmp_path / "real.json"
    R.write_result(real, result)
    (tmp_path / "link.json").symlink_to(real)  # a link to a regular file is read as that file
    assert R.read_result(tmp_path / "link.json") == result


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda r: r["wall_time"].update(evaluate=-1.0), "metadata: wall_time.evaluate must be a finite number of seconds >= 0, got -1.0"),
        (lambda r: r["wall_time"].update(train=-0.5), "metadata: wall_time.train must be a finite number of seconds >= 0, got -0.5"),
        (lambda r: r.update(device="quantum"), "metadata: device 'quantum' is not one of cpu, cuda, cuda:N, mps"),
        (lambda r: r["provenance"].update(created="yesterday"), "metadata: provenance.created 'yesterday' is not an ISO 8601 time with a UTC offset"),
        (lambda r: r["provenance"].update(created="2026-12-04T03:00:00"), "metadata: provenance.created '2026-12-04T03:00:00' is not an ISO 8601 time with a UTC offset"),
        (lambda r: r["agent"].update(name="x\n## Winner"), "metadata: agent name 'x\\n## Winner' must match"),
        (lambda r: r["agent"].update(name="=cmd()"), "metadata: agent name '=cmd()' must match"),
        (lambda r: r["agent"].update(version="1.0|x"), "metadata: agent version '1.0|x' must be null or match"),
    ],
)
def test_malformed_metadata_is_refused(tiny, result, edit, reason):
    edit(result)
    reasons = R.result_errors(reseal(result), tiny)
    assert len(reasons) == 1 and reasons[0].startswith(reason)


def test_make_result_refuses_unsafe_names_and_malformed_metadata(tiny):
    returns = np.zeros(4)
    for kwargs, message in [
        ({"agent_name": "a|b"}, "agent_name must match"),
        ({"agent_name": "-a"}, "agent_name must match"),
        ({"agent_name": "a", "agent_version": "v 1"}, "agent_version must be None or match"),
        ({"agent_name": "a", "device": "gpu"}, "device must be cpu, cuda, cuda:N or mps, got 'gpu'"),
        ({"agent_name": "a", "wall_time": -1.0}, "wall_time must be a finite number of seconds >= 0"),
        ({"agent_name": "a", "train_wall_time": float("nan"), "train_seed": 0, "train_steps": 1}, "train_wall_time must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            R.make_result(env_id=BOREDOM, protocol=tiny, returns=returns, **kwargs)
    ok = R.make_result("ppo-v2.1_b+c", BOREDOM, tiny, returns, agent_version="1.0.2", device="cuda:1")
    assert R.result_errors(ok, tiny) == []


# ----------------------------------------------------------------------------- return bounds
def test_return_bounds_of_every_environment_are_the_hand_computed_ones():
    import gymnasium as gym

    normal = np.sqrt(66 * np.log(2))  # Box-Muller radius at the smallest uniform, 2**-33: sqrt(-2 ln 2**-33)
    ecommerce = gym.make("RecSimBench/Ecommerce-v0").unwrapped.sim.item_model.catalogue["price"].max()
    expected = {
        "RecSimBench/InterestEvolution-v0": 500 * 1 * 4.0,  # steps x one click (multinomial) x a 4-minute video
        "RecSimBench/LongTermSatisfaction-v0": 100 * np.exp(5.0 * 1.0 + 1.0 * normal),  # always-first click, choc mean 5, satisfaction <= 1
        "RecSimBench/InterestExploration-v0": 100 * 1,  # one click a step
        BOREDOM: 100 * 5,  # position-based: every slot of 5 may be clicked
        "RecSimBench/Retention-v0": 160 * 1,
        "RecSimBench/Ecommerce-v0": 50 * ecommerce,  # one purchase a step, of the catalogue's dearest item
        COLD: 20 * 3,
    }
    assert set(expected) == set(recsim_bench.SUITE)
    for env_id, high in expected.items():
        low, bound = R.return_bounds(env_id)
        assert low == 0.0 and bound == pytest.approx(high, rel=1e-6), env_id
    assert P.load_protocol("v1").env(BOREDOM).reference("best") < R.return_bounds(BOREDOM)[1]


def test_negative_weights_and_step_behaviours_give_negative_lower_bounds():
    import gymnasium as gym

    assert gym.make(BOREDOM, reward={"click": -2.0}).unwrapped.sim.return_bounds == (-1000.0, 0.0)
    retention = gym.make("RecSimBench/Retention-v0", reward={"click": 1.0, "leave": -10.0}).unwrapped.sim
    assert retention.reward_bounds == (-10.0, 1.0) and retention.return_bounds == (-1600.0, 160.0)


def test_the_normal_bound_is_what_box_muller_gives_at_the_extreme_uniforms():
    from recsim_bench import rng

    bound = rng.normal_bound()
    assert bound == pytest.approx(np.sqrt(66 * np.log(2)), rel=1e-6)
    extremes = np.array([rng.UNIFORM_LOW, 0.25, 0.5, 1 - rng.UNIFORM_LOW])
    u1, u2 = np.meshgrid(extremes, extremes)
    values = rng.normals(u1.ravel(), u2.ravel())
    assert np.abs(values).max() <= bound and rng.normals(np.array([rng.UNIFORM_LOW]), np.array([0.5]))[0] == -bound
    draws = rng.uniforms(np.arange(64, dtype=np.uint64), np.zeros(64, dtype=np.int64), np.zeros(64, dtype=np.int64), rng.STEP, 1000)
    assert draws.min() >= rng.UNIFORM_LOW and draws.max() <= 1 - rng.UNIFORM_LOW


def test_simulated_returns_lie_within_the_bounds():
    from recsim_bench.agents import evaluate_episodes
    from recsim_bench.references import reference_agent

    for env_id in recsim_bench.SUITE:
        low, high = R.return_bounds(env_id)
        for policy in ("random", "oracle"):
            returns = evaluate_episodes(reference_agent(env_id, policy), env_id, 3, 0, split="train", fresh_users=True).returns
            assert np.all((low <= returns) & (returns <= high)), (env_id, policy)


def test_a_part_without_a_declared_range_gives_no_bound():
    from recsim_bench.parts.response import WatchTimeResponse

    with pytest.raises(ValueError, match=r"response_model 'watch_time': no range declared for the item attribute 'length'"):
        WatchTimeResponse().slot_maxima({}, {})


def test_returns_outside_the_bounds_are_refused(tiny, result):
    forged = dict(result, returns=[1e6, 2.0, -1.0, 3.0])
    assert R.result_errors(reseal(forged), tiny) == [
        f"returns: 2 of 4 returns lie outside [0, 500], the bounds of an episode of {BOREDOM} (first at 0: 1000000.0)"
    ]
    at_the_bound = dict(result, returns=[500.0, 0.0, 0.0, 0.0])
    assert R.result_errors(reseal(at_the_bound), tiny) == []
    protocol = P.load_protocol("v1").restrict([COLD], episodes=2, sessions=2)
    rows = [[61.0, 1.0], [2.0, 2.0]]  # mean 31 is within [0, 60], the first session is not
    cold = R.make_result("a", COLD, protocol, np.mean(rows, axis=1), rows)
    assert R.result_errors(cold, protocol) == [
        f"returns: 1 of 4 session returns lie outside [0, 60], the bounds of an episode of {COLD} (first at (0, 0): 61.0)"
    ]


# ----------------------------------------------------------------------------- verification records
def test_rerun_writes_a_verification_record_exact_within_the_interval_or_not(tmp_path, tiny, policy_module, capsys):

    out = tmp_path / "results"
    R.evaluate(f"{policy_module}:make", tiny, agent_name="first", env_ids=[BOREDOM], out_dir=out)
    path = out / "first__Boredom-v0__v1__seed-none.json"
    result = R.read_result(path)
    assert R.read_verification(path, result) is None  # claimed, not verified

    assert R.validate_main([str(path)], rerun=f"{policy_module}:make", protocol=tiny, partial=True) == 0
    record_path = tmp_path / "verified" / "first" / "first__Boredom-v0__v1__seed-none.verification"  # beside results/, not among them
    assert capsys.readouterr().out == f"OK   {path} (rerun matches exactly; recorded in {record_path})\n"
    assert R.verification_path(path, result) == record_path
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert (record["outcome"], record["episodes"], record["episodes_differing"]) == ("exact", 4, 0)
    assert record["result_checksum"] == result["checksum"] and record["policy"] == f"{policy_module}:make"
    assert record["policy_sha256"] == hashlib.sha256((tmp_path / "third_party_policy.py").read_bytes()).hexdigest()
    assert record["rerun_mean"] == pytest.approx(np.mean(result["returns"])) and record["checksum"] == R.checksum(record)
    assert R.read_verification(path, result) == "exact"
    assert R.result_files([str(out)]) == [path]  # the record is not read as a result

    # the last bits of one episode differ (a torch agent on another machine): inside the 95% CI, recorded as such
    returns = np.array(result["returns"])
    returns[2] = np.nextafter(returns[2], np.inf)
    nudged = reseal(dict(result, returns=returns.tolist()))
    R.write_result(path, nudged)
    assert R.read_verification(path, nudged) is None  # the old record is of another result
    assert R.validate_main([str(path)], rerun=f"{policy_module}:make", protocol=tiny, partial=True) == 0
    line = capsys.readouterr().out
    low, high = mean_ci_of(returns)
    assert line.startswith(f"OK   {path} (rerun not exact: 1 of 4 episodes differ (largest difference {abs(returns[2] - result['returns'][2]):.3g}); the rerun's mean ")
    assert f"lies inside the file's 95% CI [{low:.6g}, {high:.6g}]; rerun - file per user: 95% CI [" in line
    assert line.endswith(f"; recorded as within the interval in {record_path})\n")
    assert R.read_verification(path, nudged) == "within_ci"

    # returns inflated and spread so that the file's own interval holds the rerun's mean: every user differs,
    # and the per-user differences say so
    spread = np.array(result["returns"]) + np.array([30.0, -28.0, 30.0, -28.0])
    widened = reseal(dict(result, returns=spread.tolist()))
    R.write_result(path, widened)
    low, high = mean_ci_of(spread)
    assert low <= np.mean(result["returns"]) <= high
    assert R.validate_main([str(path)], rerun=f"{policy_module}:make", protocol=tiny, partial=True) == 1
    assert "4 of 4 episodes differ" in capsys.readouterr().out and R.read_verification(path, widened) == "mismatch"

    # returns the policy does not give: outside the interval, a failure, recorded as a mismatch
    lowered = reseal(dict(result, returns=(np.array(result["returns"]) + 50.0).tolist()))
    R.write_result(path, lowered)
    assert R.validate_main([str(path)], rerun=f"{policy_module}:make", protocol=tiny, partial=True) == 1
    line = capsys.readouterr().out
    assert line.startswith(f"FAIL {path}: rerun: returns differ in 4 of 4 entries")
    assert "4 of 4 episodes differ (largest difference 50); the rerun's mean" in line and "lies outside the file's 95% CI" in line
    assert R.read_verification(path, lowered) == "mismatch"


def mean_ci_of(values):
    from recsim_bench.scoring.metrics import mean_ci

    return mean_ci(values)[1:]


def test_a_verification_record_that_was_edited_does_not_count(tmp_path, tiny, result):
    path = R.write_result(tmp_path / R.result_filename(result), result)
    outcome = R.RerunOutcome(["rerun: returns differ"], 4, 1, 1e-14, 1.0, (0.0, 2.0), (-1e-14, 1e-14))
    assert outcome.outcome == "within_ci" and R.RerunOutcome([], 4, 0, 0.0, 1.0, (0.0, 2.0), (0.0, 0.0)).outcome == "exact"
    assert R.RerunOutcome(["x"], 4, 4, 1.0, 3.0, (0.0, 2.0), (0.5, 1.5)).outcome == "mismatch"
    assert R.RerunOutcome(["x"], 4, 1, 1.0, 1.0, (0.0, 2.0), (0.5, 1.5)).outcome == "mismatch"  # users moved one way
    assert R.RerunOutcome(["x"], 40, 5, 1.0, 1.0, (0.0, 2.0), (-1.0, 1.0)).outcome == "mismatch"  # 5 of 40 users differ
    record = R.verification_record(result, path, "some_module:make", outcome)
    verified = tmp_path / "maintainers"
    record_path = R.verification_path(path, result, verified)
    assert record_path == verified / "random" / path.with_suffix(".verification").name
    record_path.parent.mkdir(parents=True)
    R.write_result(record_path, record)
    assert R.read_verification(path, result, verified) == "within_ci"
    assert R.read_verification(path, result) is None  # no results/ above the file: no default directory to read
    R.write_result(record_path, dict(record, outcome="exact"))  # checksum no longer matches
    assert R.read_verification(path, result, verified) is None
    R.write_result(record_path, reseal(dict(record, outcome="perfect")))
    assert R.read_verification(path, result, verified) is None
    R.write_result(record_path, reseal(dict(record, result_checksum="0" * 64)))  # a record of another result
    assert R.read_verification(path, result, verified) is None


def test_records_among_the_submitted_results_do_not_count_and_validate_flags_them(tmp_path, tiny, policy_module, capsys):
    results = tmp_path / "leaderboards" / "results"
    R.evaluate(f"{policy_module}:make", tiny, agent_name="first", out_dir=results / "first")
    path = results / "first" / "first__Boredom-v0__v1__seed-none.json"
    result = R.read_result(path)
    forged = R.verification_record(result, path, "anything", R.RerunOutcome([], 4, 0, 0.0, 1.0, (0.0, 2.0), (0.0, 0.0)))
    planted = [path.with_suffix(".verification"), results / "first" / "nested" / "x.verification"]
    for file in planted:
        file.parent.mkdir(exist_ok=True)
        R.write_result(file, forged)  # intact, of this very result: only its place gives it away
    assert R.read_verification(path, result) is None
    assert R.untrusted_records([str(results)]) == sorted(planted)
    assert R.validate_main([str(results)], protocol=tiny) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [f"FAIL {file}: verification records are written by maintainers; remove it (validate --rerun writes them into the verified directory)" for file in sorted(planted)]
    assert [line[:4] for line in lines[2:]] == ["OK  ", "OK  "]

    # the maintainers' rerun writes into leaderboards/verified/, which a check of all of leaderboards/ does not flag
    for file in planted:
        file.unlink()
    assert R.validate_main([str(results)], rerun=f"{policy_module}:make", protocol=tiny) == 0
    capsys.readouterr()
    assert R.read_verification(path, result) == "exact"
    assert (tmp_path / "leaderboards" / "verified" / "first" / "first__Boredom-v0__v1__seed-none.verification").is_file()
    assert R.untrusted_records([str(tmp_path / "leaderboards")]) == []
    assert R.validate_main([str(tmp_path / "leaderboards")], protocol=tiny) == 0
    capsys.readouterr()


def test_a_rerun_of_a_file_outside_any_results_directory_needs_verified(tmp_path, tiny, policy_module, capsys):
    R.evaluate(f"{policy_module}:make", tiny, agent_name="first", env_ids=[BOREDOM], out_dir=tmp_path / "runs")
    path = tmp_path / "runs" / "first__Boredom-v0__v1__seed-none.json"
    assert R.validate_main([str(path)], rerun=f"{policy_module}:make", protocol=tiny, partial=True) == 1
    assert capsys.readouterr().out == (
        f"FAIL {path}: no directory above it is named 'results', so its verification record has no default place: give --verified DIR\n"
    )
    verified = tmp_path / "records"
    assert R.validate_main([str(path)], rerun=f"{policy_module}:make", protocol=tiny, partial=True, verified=str(verified)) == 0
    assert capsys.readouterr().out.endswith(f"recorded in {verified / 'first' / path.with_suffix('.verification').name})\n")
    assert R.read_verification(path, R.read_result(path), verified) == "exact"


def test_the_policy_digest_of_a_checkpoint_changes_with_its_weights(tmp_path):
    from recsim_bench.agents import make_agent

    agent = make_agent("ridge-greedy", BOREDOM)
    agent.save(str(tmp_path / "ckpt"))
    first = R.policy_digest(str(tmp_path / "ckpt"))
    assert first == R.policy_digest(str(tmp_path / "ckpt")) and len(first) == 64
    agent.weights = agent.weights + 1.0
    agent.save(str(tmp_path / "ckpt"))
    assert R.policy_digest(str(tmp_path / "ckpt")) != first
    assert R.policy_digest("no_such_module_xyz:make") is None
    (tmp_path / "ckpt" / "zeros").symlink_to("/dev/zero")  # hashing it would never end
    with pytest.raises(ValueError, match="zeros is not a regular file"):
        R.policy_digest(str(tmp_path / "ckpt"))


def test_a_checkpoint_of_recsim_bench_train_gives_its_training_steps_and_time(tmp_path, tiny, capsys):
    from recsim_bench import cli

    out = tmp_path / "Boredom-v0" / "seed3"
    assert cli.main(["train", "ridge-greedy", BOREDOM, "--steps", "300", "--seed", "3", "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    summary = json.loads((out / "run.json").read_text(encoding="utf-8"))["summary"]
    assert summary["steps"] == 512  # two steps of 256 rows: the most that 300 asks for, rounded up to whole steps
    (result,) = R.evaluate(str(tmp_path / "{env}" / "seed{seed}"), tiny, agent_name="ridge-greedy", env_ids=[BOREDOM], train_seed=3)
    assert result["train_steps"] == 512 and result["wall_time"]["train"] == summary["wall_time"]
    assert R.result_errors(result, tiny) == []
    (given,) = R.evaluate(str(out), tiny, agent_name="ridge-greedy", env_ids=[BOREDOM], train_seed=3, train_steps=600, train_wall_time=1.0)
    assert (given["train_steps"], given["wall_time"]["train"]) == (600, 1.0)  # what the caller says wins
    with pytest.raises(ValueError, match=r"run.json: trained with seed 3, not train_seed 4"):
        R.evaluate(str(out), tiny, agent_name="ridge-greedy", env_ids=[BOREDOM], train_seed=4)
    with pytest.raises(ValueError, match=r"train_steps: with a train_seed, give the environment steps"):
        R.evaluate(random_agent, tiny, env_ids=[BOREDOM], train_seed=0)  # no checkpoint to read them from


def test_a_reference_agent_that_does_not_learn_is_a_policy_by_its_name():
    from recsim_bench.agents import make_agent

    agent = R.load_policy("oracle", BOREDOM)
    assert type(agent) is type(make_agent("oracle", BOREDOM)) and agent.config == make_agent("oracle", BOREDOM).config
    with pytest.raises(ValueError, match="policy 'ppo' learns: give the checkpoint directory"):
        R.load_policy("ppo", BOREDOM)
    digest = R.policy_digest("random")  # the agent's source and its configuration, not the standard library's random
    assert digest is not None and digest != hashlib.sha256(Path(importlib.util.find_spec("random").origin).read_bytes()).hexdigest()
    assert R.policy_digest("oracle") != digest  # two agents of one module are told apart
    # and the configuration is the one the agent gives itself for the result's environment (LinUCB's TOML sections)
    assert R.policy_digest("linucb", BOREDOM) == R.policy_digest("linucb", BOREDOM) != R.policy_digest("random", BOREDOM)
