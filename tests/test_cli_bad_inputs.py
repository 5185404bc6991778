"""The CLI refuses a user's mistake with one line on stderr and a non-zero exit, before it writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsim_bench.agents import make_agent
from recsim_bench import cli

IE = "RecSimBench/InterestEvolution-v0"
SMALL_PPO = ["--set", "num_envs=8", "--set", "num_steps=8", "--set", "num_minibatches=2", "--set", "update_epochs=1", "--set", "verbose=false"]


def _refused(capsys, argv: list[str], status: int = 2) -> str:
    """Run the CLI, check it exits with ``status`` and one line on stderr, and return that line."""
    assert cli.main(argv) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _refused_at_parse(capsys, argv: list[str]) -> str:
    """Argument errors leave through argparse's exit (status 2), also as one line."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"recsim-bench {argv[0]}: error: "), err
    return err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "ppo", IE, "--steps", "0"], "argument --steps: must be an integer >= 1, got '0'"),
        (["train", "slateq", IE, "--steps", "-5"], "argument --steps: must be an integer >= 1, got '-5'"),
        (["train", "sb3-ppo", IE, "--steps", "1e3"], "argument --steps: must be an integer >= 1, got '1e3'"),
        (["train", "ppo", IE, "--steps", "10", "--device", "tpu"], "argument --device: must be one of auto, cpu, cuda, cuda:N, mps; got 'tpu'"),
        (["train", "ridge-greedy", IE, "--steps", "10", "--seed", "-1"], "argument --seed: must be an integer in [0, 2**64), got '-1'"),
        (["train", "ridge-greedy", IE, "--steps", "10", "--env-kwargs", "[1]"], "argument --env-kwargs: must be a JSON object"),
        (["evaluate", "random", IE, "--episodes", "0"], "argument --episodes: must be an integer >= 1, got '0'"),
        (["evaluate", "random", IE, "--device", "gpu"], "argument --device: must be one of"),
        (["demo", "--seed", str(2**64)], "argument --seed: must be an integer in [0, 2**64)"),
    ],
)
def test_bad_arguments_are_one_line_and_nothing_is_written(tmp_path, capsys, argv: list[str], fragment: str) -> None:
    out = tmp_path / "out"
    argv = argv + (["--out", str(out)] if argv[0] == "train" else [])
    assert fragment in _refused_at_parse(capsys, argv)
    assert not out.exists()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # capsys is read out each time
@given(steps=st.integers(max_value=0), seed=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64)))
def test_any_non_positive_steps_or_out_of_range_seed_is_refused(tmp_path_factory, capsys, steps: int, seed: int) -> None:
    out = tmp_path_factory.mktemp("run") / "out"
    assert "--steps" in _refused_at_parse(capsys, ["train", "ppo", IE, "--steps", str(steps), "--out", str(out)])
    assert "--seed" in _refused_at_parse(capsys, ["train", "ppo", IE, "--steps", "64", "--seed", str(seed), "--out", str(out)])
    assert not out.exists()


@pytest.mark.parametrize("learner", ["ppo", "slateq", "sb3-ppo", "ridge-greedy"])
@pytest.mark.parametrize("steps", [0, -1, 2.0, True])
def test_every_learner_refuses_a_training_budget_that_is_not_a_positive_integer(tmp_path, learner: str, steps) -> None:
    agent = make_agent(learner, IE)
    with pytest.raises(ValueError, match="steps must be an integer >= "):
        agent.train(IE, steps, 0, device="cpu", log_dir=str(tmp_path / "log"))
    assert not (tmp_path / "log").exists()


def test_ppo_refuses_fewer_steps_than_one_rollout_and_leaves_no_directory(tmp_path, capsys) -> None:
    out = tmp_path / "ppo"
    err = _refused(capsys, ["train", "ppo", IE, "--steps", "63", "--out", str(out), *SMALL_PPO])
    assert "steps must be an integer >= 64 (one rollout: num_envs * num_steps = 8 * 8), got 63" in err
    assert not out.exists()


@pytest.mark.parametrize("agent", ["random", "oracle", "linucb", "thompson"])
def test_train_of_an_agent_that_does_not_learn_says_how_to_evaluate_it(tmp_path, capsys, agent: str) -> None:
    err = _refused(capsys, ["train", agent, "Boredom-v0", "--steps", "100", "--out", str(tmp_path / "x")])
    assert f"{agent} does not learn, so it needs no training: evaluate it directly with recsim-bench evaluate {agent} Boredom-v0" in err
    assert not (tmp_path / "x").exists()


def test_unwritable_out_is_refused_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    below_a_file = tmp_path / "a_file" / "out"
    err = _refused(capsys, ["train", "ridge-greedy", IE, "--steps", "64", "--out", str(below_a_file)])
    assert f"--out {below_a_file}: cannot write there (Not a directory)" in err
    if Path("/proc/self").exists():
        assert "--out /proc/out: cannot write there" in _refused(capsys, ["train", "ridge-greedy", IE, "--steps", "64", "--out", "/proc/out"])
        assert _refused(capsys, ["leaderboard", "leaderboards/results", "--out", "/proc/out", "--no-figures"], status=1)


def test_a_cuda_device_this_machine_lacks_is_refused_before_training(tmp_path, capsys, monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    err = _refused(capsys, ["train", "ridge-greedy", IE, "--steps", "64", "--device", "cuda:1", "--out", str(tmp_path / "x")])
    assert "--device cuda:1: this machine has 0 CUDA device(s); use --device auto or cpu" in err
    assert not (tmp_path / "x").exists()


def test_evaluate_names_an_unknown_agent_and_refuses_a_checkpoint_for_one_that_does_not_learn(tmp_path, capsys) -> None:
    assert "unknown agent 'nosuch'; allowed: linucb, oracle, ppo, random, ridge-greedy" in _refused(capsys, ["evaluate", "nosuch", IE, "--episodes", "2"])
    err = _refused(capsys, ["evaluate", "random", IE, "--checkpoint", str(tmp_path), "--episodes", "2"])
    assert "--checkpoint: random does not learn, so it has no checkpoint; leave --checkpoint out" in err
    assert "ppo learns: pass --checkpoint DIR" in _refused(capsys, ["evaluate", "ppo", IE, "--episodes", "2"])


def test_a_checkpoint_of_one_environment_is_refused_on_another(tmp_path, capsys) -> None:
    greedy, ppo = tmp_path / "greedy", tmp_path / "ppo"
    assert cli.main(["train", "ridge-greedy", IE, "--steps", "64", "--out", str(greedy)]) == 0
    assert cli.main(["train", "ppo", IE, "--steps", "64", "--out", str(ppo), *SMALL_PPO]) == 0
    capsys.readouterr()
    err = _refused(capsys, ["evaluate", "ridge-greedy", "Boredom-v0", "--checkpoint", str(greedy), "--episodes", "2"])
    assert f"--checkpoint {greedy} was trained on {IE}, not RecSimBench/Boredom-v0" in err
    err = _refused(capsys, ["evaluate", "ppo", "Boredom-v0", "--checkpoint", str(ppo), "--episodes", "2"])
    assert f"--checkpoint {ppo} does not fit RecSimBench/Boredom-v0 (trained on another environment?)" in err
    assert cli.main(["evaluate", "ppo", IE, "--checkpoint", str(ppo), "--episodes", "2"]) == 0  # on its own env it runs
