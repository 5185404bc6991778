"""SlateQ: the slate value decomposition, the exact slate optimiser and the Q-learning targets by hand; a smoke run; safe save/load."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import recsim_bench  # noqa: F401  (registers the suite)
from baselines import slateq
from baselines.slateq import SlateQAgent, SlateQConfig, choice_probabilities, optimal_slates, slate_values, td_targets

ENV_ID = "RecSimBench/InterestEvolution-v0"
SMALL = SlateQConfig(num_envs=16, buffer_size=512, batch_size=32, learning_starts=64, hidden_size=16, log_every=4)


def test_slate_value_is_choice_probabilities_times_item_values() -> None:
    # v = exp(logit) = (1, 2, 3) for the candidates, 1 for no click; the slate shows candidates 1 and 2.
    logits = torch.tensor([[0.0, math.log(2.0), math.log(3.0)]])
    none_logit = torch.tensor([0.0])
    slate = torch.tensor([[1, 2]])
    probs = choice_probabilities(logits, none_logit, slate)
    torch.testing.assert_close(probs, torch.tensor([[2 / 6, 3 / 6, 1 / 6]]))
    item_q, none_q = torch.tensor([[5.0, 1.0, 4.0]]), torch.tensor([2.0])
    # (2 * 1 + 3 * 4 + 1 * 2) / 6
    torch.testing.assert_close(slate_values(item_q, none_q, logits, none_logit, slate), torch.tensor([16 / 6]))


def test_optimiser_finds_the_best_slate_where_top_k_does_not() -> None:
    # Candidates a, b, c with v = (10, 1, 1), Q = (1, 9, 8); no click: v = 1, Q = 0.
    # Ranking by v * Q picks {a, b}: (10 + 9) / 12 = 1.58; the best slate is {b, c}: (9 + 8) / 3 = 5.67.
    logits = torch.log(torch.tensor([[10.0, 1.0, 1.0]]))
    item_q, none_q, none_logit = torch.tensor([[1.0, 9.0, 8.0]]), torch.tensor([0.0]), torch.tensor([0.0])
    slates, values = optimal_slates(item_q, none_q, logits, none_logit, slate_size=2)
    assert slates.tolist() == [[1, 2]]  # b first: it contributes more at the optimum
    torch.testing.assert_close(values, torch.tensor([17 / 3]))


def test_optimiser_matches_brute_force() -> None:
    generator = torch.Generator().manual_seed(0)
    rows, k, s = 200, 6, 3
    item_q, logits = torch.randn(rows, k, generator=generator) * 3, torch.randn(rows, k, generator=generator) * 2
    none_q, none_logit = torch.randn(rows, generator=generator) * 3, torch.randn(rows, generator=generator) * 2
    slates, values = optimal_slates(item_q, none_q, logits, none_logit, slate_size=s)
    every = torch.tensor(list(itertools.combinations(range(k), s)))
    all_values = torch.stack([slate_values(item_q, none_q, logits, none_logit, slate.expand(rows, s)) for slate in every], 1)
    torch.testing.assert_close(values, all_values.max(1).values)
    torch.testing.assert_close(slate_values(item_q, none_q, logits, none_logit, slates), values)
    assert (slates.sort(1).values.diff(dim=1) > 0).all()


def test_td_targets_mask_termination_only() -> None:
    slot_rewards, none_reward = torch.tensor([[1.0, 2.0], [1.0, 2.0]]), torch.tensor([0.5, 0.5])
    next_value, terminated = torch.tensor([4.0, 4.0]), torch.tensor([False, True])
    slot_target, none_target = td_targets(slot_rewards, none_reward, next_value, terminated, gamma=0.5)
    torch.testing.assert_close(slot_target, torch.tensor([[3.0, 4.0], [1.0, 2.0]]))
    torch.testing.assert_close(none_target, torch.tensor([2.5, 0.5]))


class FeatureScorer(nn.Module):
    """A fake tower: candidate ``i`` scores its feature ``column``, the no-click outcome scores ``user[:, column]``."""

    def __init__(self, column: int) -> None:
        super().__init__()
        self.column = column

    def forward(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return obs["candidates"][:, :, self.column], obs["user"][:, self.column]


def _hand_batch(agent: SlateQAgent) -> dict[str, torch.Tensor]:
    """Three steps with 2 candidates and slates of 1: a click, a click that ends the session, no click.

    Current observation: Q = (10, 20), no-click Q = 100, all logits 0.
    Next observation: Q = (2, 6), v = exp(logit) = (3, 1); no click: Q = 1, v = 1.
    Next slate values: {0}: (3 * 2 + 1 * 1) / 4 = 1.75; {1}: (6 + 1) / 2 = 3.5; the max is 3.5.
    """
    n = 3
    shapes = {key: agent.spaces[key].shape for key in slateq.OBSERVATION_KEYS}
    obs = {key: torch.zeros((n, *shape)) for key, shape in shapes.items()}
    next_obs = {key: torch.zeros((n, *shape)) for key, shape in shapes.items()}
    obs["candidates"][:, :, 0] = torch.tensor([10.0, 20.0])
    obs["user"][:, 0] = 100.0
    next_obs["candidates"][:, :, 0] = torch.tensor([2.0, 6.0])
    next_obs["candidates"][:, :, 1] = torch.tensor([math.log(3.0), 0.0])
    next_obs["user"][:, 0] = 1.0
    return {
        **obs,
        **{f"next_{key}": value for key, value in next_obs.items()},
        "slate": torch.tensor([[1], [1], [0]]),
        "clicked": torch.tensor([[True], [True], [False]]),
        "slot_reward": torch.tensor([[1.0], [1.0], [0.0]]),
        "reward": torch.tensor([1.0, 1.0, 0.5]),
        "terminated": torch.tensor([False, True, False]),
    }


@pytest.fixture(scope="module")
def tiny_agent() -> SlateQAgent:
    config = SlateQConfig(gamma=0.5, reward_scale=1.0, hidden_size=8)
    agent = SlateQAgent(ENV_ID, config, env_kwargs={"num_candidates": 2, "slate_size": 1})
    agent.target_q, agent.net.q, agent.net.choice = FeatureScorer(0), FeatureScorer(0), FeatureScorer(1)
    return agent


def test_target_bootstraps_from_the_next_observation(tiny_agent: SlateQAgent) -> None:
    slot_target, none_target = tiny_agent.targets(_hand_batch(tiny_agent))
    # 1 + 0.5 * 3.5; terminated: 1; no click: 0.5 + 0.5 * 3.5. (From the current observation: 1 + 0.5 * 60.)
    torch.testing.assert_close(slot_target[:, 0], torch.tensor([2.75, 1.0, 0.0 + 0.5 * 3.5]))
    torch.testing.assert_close(none_target, torch.tensor([2.75, 1.0, 2.25]))


def test_loss_trains_only_the_consumed_outcomes(tiny_agent: SlateQAgent) -> None:
    q_loss, choice_loss = tiny_agent.losses(_hand_batch(tiny_agent))
    # Consumed: row 0 candidate 1 (Q 20, target 2.75), row 1 candidate 1 (Q 20, target 1), row 2 no click (Q 100, target 2.25).
    huber = [17.25 - 0.5, 19.0 - 0.5, 97.75 - 0.5]
    torch.testing.assert_close(q_loss, torch.tensor(sum(huber) / 3))
    # Current logits are all 0: each consumed outcome has probability 1/2 (one slot and no click).
    torch.testing.assert_close(choice_loss, torch.tensor(math.log(2.0)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[SlateQAgent, dict, dict[str, torch.Tensor], str, list[dict]]:
    agent = SlateQAgent(ENV_ID, SMALL, env_kwargs={"max_steps": 3})
    before = {key: value.clone() for key, value in agent.net.state_dict().items()}
    stored: list[dict[str, torch.Tensor]] = []
    add = slateq.ReplayBuffer.add

    def recording_add(self, batch):
        stored.append({key: value.clone() for key, value in batch.items()})
        add(self, batch)

    log_dir = str(tmp_path_factory.mktemp("slateq"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slateq.ReplayBuffer, "add", recording_add)
        summary = agent.train(ENV_ID, 320, seed=0, device="cpu", log_dir=log_dir)
    return agent, summary, before, log_dir, stored


def test_smoke_training_learns_and_logs(trained) -> None:
    agent, summary, before, log_dir, _ = trained
    assert summary["steps"] == 320 and summary["episodes"] > 0
    assert all(math.isfinite(summary[key]) for key in ("q_loss", "choice_loss", "mean_q", "recent_return"))
    after = agent.net.state_dict()
    assert all(not torch.equal(before[key], after[key]) for key in before if not key.endswith(("_low", "_span")))
    rows = open(f"{log_dir}/progress.csv", encoding="utf-8").read().splitlines()
    assert rows[0].startswith("steps,wall_time,steps_per_s,recent_return") and len(rows) == 1 + 20 // 4


def test_truncated_transitions_store_the_final_observation(trained) -> None:
    _, _, _, _, stored = trained
    # max_steps=3: the third step of each episode is truncated; its next observation must be the episode's
    # last (elapsed fraction 1), not the next episode's first (elapsed 0), and it must not count as terminated.
    third = stored[2]
    torch.testing.assert_close(third["next_user"][:, -1], torch.ones(SMALL.num_envs))
    torch.testing.assert_close(stored[3]["user"][:, -1], torch.zeros(SMALL.num_envs))  # the next step acts on the new episode
    assert not third["terminated"].any()
    clicks = third["clicked"].any(1)
    torch.testing.assert_close(third["reward"][clicks], third["slot_reward"][clicks].sum(1))  # per-slot rewards add up


def _observation(num_envs: int = 6, **env_kwargs) -> dict[str, np.ndarray]:
    import gymnasium as gym

    return gym.make_vec(ENV_ID, num_envs=num_envs, **env_kwargs).reset(seed=3)[0]


def test_save_load_round_trip_gives_identical_actions(trained, tmp_path) -> None:
    agent, *_ = trained
    obs = _observation(max_steps=3)
    agent.save(str(tmp_path))
    loaded = SlateQAgent.load(str(tmp_path), device="cpu")
    slates = agent.act(obs)
    np.testing.assert_array_equal(loaded.act(obs), slates)
    assert slates.dtype == np.int64 and slates.shape == (6, 2) and (slates[:, 0] != slates[:, 1]).all()


def test_exploring_actions_are_keyed_by_the_row_seeds(trained) -> None:
    agent, *_ = trained
    obs = _observation(max_steps=3)
    agent.reset(np.ones(6, dtype=bool), np.arange(100, 106))
    whole = np.stack([agent.act(obs, deterministic=False) for _ in range(20)])
    agent.reset(np.ones(2, dtype=bool), np.array([102, 103]))
    part = np.stack([agent.act({key: value[2:4] for key, value in obs.items()}, deterministic=False) for _ in range(20)])
    np.testing.assert_array_equal(part, whole[:, 2:4])
    assert (whole != agent.act(obs)[None]).any()  # epsilon_end = 0.05 over 120 slates: some exploration


def test_tampered_or_foreign_files_raise_value_error(trained, tmp_path) -> None:
    agent, *_ = trained
    agent.save(str(tmp_path))
    (tmp_path / "weights.pt").write_bytes(b"not a torch archive")
    with pytest.raises(ValueError, match="weights.pt"):
        SlateQAgent.load(str(tmp_path))
    torch.save({"q.none.weight": torch.zeros(3)}, tmp_path / "weights.pt")
    with pytest.raises(ValueError, match="state dict"):
        SlateQAgent.load(str(tmp_path))
    meta = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**meta, "agent": "ppo"}))
    with pytest.raises(ValueError, match=r"is not a checkpoint of agent 'slateq' \(it names agent 'ppo'\)"):
        SlateQAgent.load(str(tmp_path))
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ValueError, match="config.json"):
        SlateQAgent.load(str(tmp_path))
