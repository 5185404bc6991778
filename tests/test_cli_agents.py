"""``recsim-bench train`` and ``evaluate`` with the reference agents (a numpy agent keeps it fast)."""

from __future__ import annotations

import json

import numpy as np

from recsim_bench import cli
from recsim_bench.agents import evaluate_agent
from recsim_bench.agents import agent_class, make_agent

IX = "RecSimBench/InterestExploration-v0"


def test_train_writes_weights_config_and_curve_then_evaluate_reads_them(tmp_path, capsys) -> None:
    out = tmp_path / "greedy"
    assert cli.main(["train", "ridge-greedy", "InterestExploration-v0", "--steps", "2048", "--seed", "1", "--out", str(out), "--set", "ridge=2.0"]) == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["agent"] == "ridge-greedy" and run["env_id"] == IX and run["steps"] == 2048 and run["seed"] == 1
    assert run["config"]["ridge"] == 2.0 and run["summary"]["steps"] >= 2048
    assert (out / "progress.csv").exists()
    capsys.readouterr()
    assert cli.main(["evaluate", "ridge-greedy", IX, "--checkpoint", str(out), "--episodes", "20", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    # The same numbers as evaluating the loaded agent directly, whatever the batch size.
    returns = evaluate_agent(agent_class("ridge-greedy").load(str(out)), IX, 20, 3, num_envs=6)
    assert f"mean return {returns.mean():.2f}" in printed and "test users 0..19, seed 3" in printed


def test_evaluate_an_untrained_reference_and_refuse_a_learner_without_checkpoint(capsys) -> None:
    assert cli.main(["evaluate", "random", IX, "--episodes", "10", "--num-envs", "3"]) == 0
    expected = evaluate_agent(make_agent("random", IX), IX, 10, 0)
    assert f"mean return {np.mean(expected):.2f}" in capsys.readouterr().out
    assert cli.main(["evaluate", "ridge-greedy", IX, "--episodes", "10"]) == 2
    assert "pass --checkpoint" in capsys.readouterr().err


def test_bad_agent_and_override_are_usage_errors(tmp_path, capsys) -> None:
    assert cli.main(["train", "nope", IX, "--steps", "10", "--out", str(tmp_path)]) == 2
    assert "unknown agent 'nope'" in capsys.readouterr().err
    assert cli.main(["train", "ridge-greedy", IX, "--steps", "10", "--out", str(tmp_path), "--set", "colour=1"]) == 2
    assert "unknown key(s) ['colour']" in capsys.readouterr().err


def test_train_resumes_ppo_from_its_last_checkpoint(tmp_path) -> None:
    out = str(tmp_path / "ppo")
    small = ["--set", "num_envs=16", "--set", "num_steps=8", "--set", "num_minibatches=2", "--set", "update_epochs=1"]
    assert cli.main(["train", "ppo", IX, "--steps", "256", "--device", "cpu", "--out", out, *small]) == 0
    first = json.loads((tmp_path / "ppo" / "run.json").read_text(encoding="utf-8"))["summary"]["steps"]
    assert cli.main(["train", "ppo", IX, "--steps", "512", "--device", "cpu", "--out", out, "--resume", *small]) == 0
    run = json.loads((tmp_path / "ppo" / "run.json").read_text(encoding="utf-8"))
    rows = (tmp_path / "ppo" / "progress.csv").read_text(encoding="utf-8").splitlines()
    assert first == 256 and run["summary"]["steps"] == 512
    assert int(rows[-1].split(",")[0]) == 512 and sum(row.startswith("steps") for row in rows) == 1  # one curve, continued


def test_validate_accepts_a_fresh_result_and_rejects_a_tampered_one(tmp_path, capsys) -> None:
    from recsim_bench.scoring import evaluate, load_protocol

    protocol = load_protocol("v1")
    result = evaluate(make_agent("random", IX), protocol="v1", agent_name="random", env_ids=[IX], out_dir=str(tmp_path))[0]
    assert len(result["returns"]) == protocol.envs[IX].episodes
    path = next(tmp_path.glob("*.json"))
    assert cli.main(["validate", str(path), "--partial"]) == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    data["returns"][0] += 1.0
    path.write_text(json.dumps(data), encoding="utf-8")
    assert cli.main(["validate", str(path), "--partial"]) == 1
    assert "checksum mismatch" in capsys.readouterr().out
