"""Stable-Baselines3 PPO through score-to-slate: a smoke run, its slates, and weights that load without unpickling."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import recsim_bench  # noqa: F401  (registers the suite)
from baselines.sb3_ppo import SB3PPOAgent, SB3PPOConfig

ENV_ID = "RecSimBench/InterestEvolution-v0"
SMALL = SB3PPOConfig(num_envs=8, n_steps=16, batch_size=64, n_epochs=2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[SB3PPOAgent, dict, dict[str, torch.Tensor], str]:
    agent = SB3PPOAgent(ENV_ID, SMALL)
    agent.model = agent._build(_venv(), seed=0, device="cpu")
    before = {k: v.clone() for k, v in agent.model.policy.state_dict().items()}
    log_dir = str(tmp_path_factory.mktemp("sb3"))
    summary = agent.train(ENV_ID, 384, seed=0, device="cpu", log_dir=log_dir)
    return agent, summary, before, log_dir


def _venv():
    from recsim_bench.wrappers.sb3 import SB3VecEnv

    return SB3VecEnv.make(ENV_ID, SMALL.num_envs, seed=0)


def _observation(num_envs: int = 5) -> dict[str, np.ndarray]:
    return gym.make_vec(ENV_ID, num_envs=num_envs).reset(seed=3)[0]


def test_training_runs_logs_and_changes_the_weights(trained) -> None:
    agent, summary, _, log_dir = trained
    assert summary["steps"] == 384 and summary["steps_per_s"] > 0
    rows = open(f"{log_dir}/progress.csv", encoding="utf-8").read().splitlines()
    assert rows[0] == "steps,wall_time,steps_per_s,recent_return" and rows[-1].startswith("384,")
    # Built with the same seed, the untrained policy differs from the trained one.
    untrained = SB3PPOAgent(ENV_ID, SMALL)
    untrained.model = untrained._build(_venv(), seed=0, device="cpu")
    changed = [not torch.equal(v, agent.model.policy.state_dict()[k]) for k, v in untrained.model.policy.state_dict().items()]
    assert any(changed)
    assert all(torch.isfinite(v).all() for v in agent.model.policy.state_dict().values())


def test_slates_are_the_top_scores_of_the_deterministic_policy(trained) -> None:
    agent = trained[0]
    obs = _observation()
    scores, _ = agent.model.predict(obs, deterministic=True)
    slates = agent.act(obs)
    assert slates.shape == (5, 2) and slates.dtype == np.int64
    np.testing.assert_array_equal(slates, np.argsort(-scores, axis=1, kind="stable")[:, :2])
    assert (slates[:, 0] != slates[:, 1]).all()


def test_save_and_load_give_identical_actions_and_refuse_a_tampered_file(trained, tmp_path) -> None:
    agent = trained[0]
    agent.save(str(tmp_path))
    obs = _observation()
    np.testing.assert_array_equal(SB3PPOAgent.load(str(tmp_path), device="cpu").act(obs), agent.act(obs))
    (tmp_path / "weights.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights.pt is not a torch.save archive"):
        SB3PPOAgent.load(str(tmp_path), device="cpu")
    (tmp_path / "config.json").write_text('{"agent": "ppo"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"is not a checkpoint of agent 'sb3-ppo' \(it names agent 'ppo'\)"):
        SB3PPOAgent.load(str(tmp_path), device="cpu")
