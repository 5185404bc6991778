"""Native PPO (baselines/ppo.py): known answers for GAE, Plackett-Luce and the clipped loss; smoke, save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from recsim_bench.agents import make_agent  # noqa: E402
from baselines.ppo import (  # noqa: E402
    PPOAgent,
    PPOConfig,
    SlateActorCritic,
    category_counts,
    clipped_policy_loss,
    compute_gae,
    gumbel_top_slates,
    history_step_features,
    minibatch_starts,
    plackett_luce_log_prob,
    update_history,
    update_recent_clicks,
)

ENV_ID = "RecSimBench/InterestEvolution-v0"
SMALL = {
    "num_envs": 64, "num_steps": 8, "num_minibatches": 2, "update_epochs": 2, "verbose": False, "log_every": 1,
    "history_decays": [0.5, 0.9], "cross_history": True, "category_features": 10, "recent_clicks": 4,
}


def test_gae_bootstraps_truncation_not_termination() -> None:
    # Two rows, four steps, gamma = lambda = 0.5, every reward 1, V = 1 except values[3, 1] = 5:
    # row 0 terminates at t=1, row 1 is truncated at t=2 (its final observation has value 1) and
    # its next observation (t=3, value 5) starts a new episode, which t=2 must not see.
    values = torch.ones(4, 2)
    values[3, 1] = 5.0
    terminated = torch.zeros(4, 2, dtype=torch.bool)
    truncated = torch.zeros(4, 2, dtype=torch.bool)
    terminated[1, 0] = True
    truncated[2, 1] = True
    advantages, returns = compute_gae(
        torch.ones(4, 2), values, terminated, truncated, torch.ones(4, 2), torch.ones(2), gamma=0.5, gae_lambda=0.5
    )
    # Row 0: deltas 0.5, 0 (terminal: 1 - 1), 0.5, 0.5; A3 = 0.5, A2 = 0.5 + 0.25 * 0.5, A1 = 0, A0 = 0.5.
    # Row 1: delta3 = 1 + 0.5 - 5 = -3.5; delta2 = 1 + 0.5 * 1 (final obs) - 1 = 0.5, cut; A1 = 0.5 + 0.25 * 0.5,
    # A0 = 0.5 + 0.25 * 0.625.
    expected = torch.tensor([[0.5, 0.65625], [0.0, 0.625], [0.625, 0.5], [0.5, -3.5]])
    torch.testing.assert_close(advantages, expected)
    torch.testing.assert_close(returns, expected + values)


def test_gae_terminated_and_truncated_is_not_bootstrapped() -> None:
    both = torch.ones(1, 1, dtype=torch.bool)
    advantages, _ = compute_gae(
        torch.ones(1, 1), torch.zeros(1, 1), both, both, torch.full((1, 1), 10.0), torch.full((1,), 10.0), 0.9, 0.9
    )
    torch.testing.assert_close(advantages, torch.ones(1, 1))


def test_plackett_luce_log_prob_and_entropy_by_hand() -> None:
    # exp(scores) = 1, 2, 3: slate (2, 0) has probability 3/6 * 1/(1 + 2) = 1/6.
    scores = torch.log(torch.tensor([[1.0, 2.0, 3.0]]))
    log_prob, entropy = plackett_luce_log_prob(scores, torch.tensor([[2, 0]]))
    torch.testing.assert_close(log_prob, torch.tensor([-math.log(6.0)]))
    first = -sum(p * math.log(p) for p in (1 / 6, 2 / 6, 3 / 6))
    second = -sum(p * math.log(p) for p in (1 / 3, 2 / 3))
    torch.testing.assert_close(entropy, torch.tensor([first + second]))


def test_gumbel_top_slates_match_plackett_luce_first_slot() -> None:
    n = 20_000
    scores = torch.log(torch.tensor([1.0, 2.0, 3.0])).expand(n, 3)
    generator = torch.Generator().manual_seed(0)
    slates = gumbel_top_slates(scores, 2, torch.rand(n, 3, generator=generator))
    assert slates.shape == (n, 2) and bool((slates[:, 0] != slates[:, 1]).all())
    frequencies = torch.bincount(slates[:, 0], minlength=3).float() / n
    torch.testing.assert_close(frequencies, torch.tensor([1 / 6, 2 / 6, 3 / 6]), atol=0.015, rtol=0.0)
    # Given candidate 2 first, candidate 1 follows with probability 2 / 3.
    after_two = slates[slates[:, 0] == 2, 1]
    assert abs(float((after_two == 1).float().mean()) - 2 / 3) < 0.02


def test_clipped_policy_loss_by_hand() -> None:
    # Ratios 1.5, 0.5, 1.1 with advantages 1, 1, -1 and clip 0.2:
    # max(-1.5, -1.2) = -1.2; max(-0.5, -0.8) = -0.5; max(1.1, 1.1) = 1.1; mean = -0.2.
    ratios = torch.tensor([1.5, 0.5, 1.1])
    loss = clipped_policy_loss(torch.log(ratios), torch.zeros(3), torch.tensor([1.0, 1.0, -1.0]), 0.2)
    torch.testing.assert_close(loss, torch.tensor(-0.2))


def test_history_step_features_by_hand() -> None:
    # One row, two slots, one behaviour (click) then two item features: slot 0 clicked (1, 2), slot 1 shown (3, 4).
    response = torch.tensor([[[1.0, 1.0, 2.0], [0.0, 3.0, 4.0]]])
    # [click-weighted features (1, 2), shown features summed (4, 6), clicks summed 1]
    torch.testing.assert_close(history_step_features(response, candidate_dim=2), torch.tensor([[1.0, 2.0, 4.0, 6.0, 1.0]]))


def test_update_history_is_a_moving_average_per_decay() -> None:
    decays = torch.tensor([0.5, 0.0])
    history = update_history(torch.zeros(1, 2, 1), torch.tensor([[2.0]]), decays)
    torch.testing.assert_close(history, torch.tensor([[[1.0], [2.0]]]))  # 0.5 * 0 + 0.5 * 2; 0 * 0 + 1 * 2
    history = update_history(history, torch.tensor([[4.0]]), decays)
    torch.testing.assert_close(history, torch.tensor([[[2.5], [4.0]]]))  # 0.5 * 1 + 0.5 * 4; 4


def test_history_feature_blocks_line_up_with_candidate_features() -> None:
    from baselines.ppo import _feature_blocks

    # Two decays of the step features above: blocks (1, 2) (clicked) and (4, 6) (shown) per decay.
    history = history_step_features(torch.tensor([[[1.0, 1.0, 2.0], [0.0, 3.0, 4.0]]]), 2)[:, None, :].repeat(1, 2, 1)
    torch.testing.assert_close(_feature_blocks(history, 2), torch.tensor([[[1.0, 2.0], [4.0, 6.0], [1.0, 2.0], [4.0, 6.0]]]))


def test_recent_clicks_enter_in_slate_order_and_push_the_oldest_out() -> None:
    # Three categories; a slot is [click, one-hot category (3), one embedding value]; rows remember 3 clicks.
    def slot(click: float, category: int) -> list[float]:
        return [click, *(1.0 if c == category else 0.0 for c in range(3)), 0.5]

    recent = torch.tensor([[-1, -1, 2], [-1, -1, 2], [0, 0, 0]])
    response = torch.tensor(
        [
            [slot(1, 1), slot(0, 0), slot(1, 0)],  # clicks on categories 1 then 0 enter after the 2
            [slot(0, 1), slot(0, 0), slot(0, 0)],  # no click: nothing moves
            [slot(1, 1), slot(1, 2), slot(1, 1)],  # three clicks fill the memory
        ]
    )
    moved = update_recent_clicks(recent, response, candidate_dim=4, categories=3)
    torch.testing.assert_close(moved, torch.tensor([[2, 1, 0], [-1, -1, 2], [1, 2, 1]]))
    torch.testing.assert_close(category_counts(moved, 3), torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 2.0, 1.0]]))


def test_recent_click_counts_match_boredoms_window() -> None:
    # Boredom-v0 shows each topic's share of the user's last 10 clicks; the agent's own memory of the
    # clicked items' topics must give the same counts, step after step, including steps of several clicks.
    import gymnasium as gym

    env = gym.make_vec("RecSimBench/Boredom-v0", num_envs=32)
    obs, _ = env.reset(seed=0)
    recent = torch.full((32, 10), -1)
    generator = np.random.default_rng(0)
    for _ in range(40):
        slates = np.argsort(generator.random((32, 10)), axis=1)[:, :5]
        obs, _, _, _, _ = env.step(slates)
        recent = update_recent_clicks(recent, torch.as_tensor(obs["response"]), candidate_dim=18, categories=10)
        torch.testing.assert_close(category_counts(recent, 10), torch.as_tensor(np.rint(obs["user"][:, :10] * 10)))
    env.close()


def test_each_candidate_is_scored_on_its_categorys_recent_count_one_hot() -> None:
    # Two categories, up to 3 recent clicks; only the wide term's weight on "count == 2" is non-zero.
    config = PPOConfig(context_hidden=(4,), score_hidden=(2,), category_features=2, recent_clicks=3)
    net = SlateActorCritic(user_dim=1, response_dim=4, candidate_dim=3, history_dim=0, config=config)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.zero_()
        net.score_wide.weight[0, 3 + 2] = 1.0  # scored features: the candidate's 3, then counts 0..3 one-hot
    candidates = torch.tensor([[[1.0, 0.0, 0.3], [0.0, 1.0, 0.3], [1.0, 0.0, -0.9]]])
    obs = {
        "user": torch.zeros(1, 1), "candidates": candidates, "response": torch.zeros(1, 1, 4), "history": torch.zeros(1, 0, 0),
        "category_counts": torch.tensor([[2.0, 1.0]]),  # category 0 twice, category 1 once
    }
    scores, _ = net(obs)
    torch.testing.assert_close(scores, torch.tensor([[1.0, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="category_features"):
        SlateActorCritic(user_dim=1, response_dim=4, candidate_dim=3, history_dim=0, config=PPOConfig(category_features=4))


def test_history_decays_are_checked() -> None:
    with pytest.raises(ValueError, match="history_decays"):
        PPOConfig(history_decays=(1.0,))


def test_config_file_defaults_and_unknown_field() -> None:
    config = make_agent("ppo", ENV_ID, {"num_envs": 8}).config
    assert config.num_envs == 8 and isinstance(config.context_hidden, tuple)
    assert make_agent("ppo", "RecSimBench/Boredom-v0").config.history_decays == (0.8, 0.95)  # the TOML's list, as a tuple
    with pytest.raises(ValueError, match="unknown key"):
        make_agent("ppo", ENV_ID, {"nonsense": 1})


def test_minibatches_are_as_many_as_fit_whole() -> None:
    assert list(minibatch_starts(8192, 8)) == [0, 1024, 2048, 3072, 4096, 5120, 6144, 7168]
    assert list(minibatch_starts(10, 4)) == [0, 2, 4, 6, 8]  # minibatches of 10 // 4 = 2: five of them, not four
    assert list(minibatch_starts(10, 3)) == [0, 3, 6]  # the tenth transition sits out this pass


def test_more_minibatches_than_transitions_are_refused() -> None:
    with pytest.raises(ValueError, match="num_minibatches must be at most num_envs \\* num_steps = 4"):
        PPOConfig(num_envs=2, num_steps=2, num_minibatches=5)


def test_update_means_are_over_the_minibatches_the_pass_runs() -> None:
    # With a learning rate of 0 the policy stays uniform (its last layers start at zero), so every minibatch's
    # entropy is that of a uniform Plackett-Luce slate, sum_s log(K - s); 10 transitions in minibatches of
    # 10 // 4 = 2 make five minibatches, and their mean entropy is that value (dividing by 4 would give 5/4 of it).
    overrides = {"num_envs": 5, "num_steps": 2, "num_minibatches": 4, "update_epochs": 1, "learning_rate": 0.0, "verbose": False}
    agent = make_agent("ppo", ENV_ID, overrides)
    summary = agent.train(ENV_ID, steps=10, seed=0, device="cpu")
    k = _observations(0, n=1)["candidates"].shape[1]
    uniform = sum(math.log(k - slot) for slot in range(agent.slate_size))
    assert summary["entropy"] == pytest.approx(uniform, rel=1e-6)
    assert summary["approx_kl"] == 0.0 and summary["clip_fraction"] == 0.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[PPOAgent, dict, str]:
    log_dir = str(tmp_path_factory.mktemp("ppo"))
    agent = make_agent("ppo", ENV_ID, SMALL)
    summary = agent.train(ENV_ID, steps=64 * 8 * 3, seed=0, device="cpu", log_dir=log_dir)
    return agent, summary, log_dir


def test_smoke_train_changes_weights_and_logs(trained: tuple[PPOAgent, dict, str]) -> None:
    agent, summary, log_dir = trained
    assert summary["steps"] == 64 * 8 * 3
    assert all(math.isfinite(summary[key]) for key in ("policy_loss", "value_loss", "entropy", "steps_per_s"))
    torch.manual_seed(0)  # train() seeds torch before building the network
    initial = SlateActorCritic(**agent.dims, config=agent.config).state_dict()
    for name, value in agent.net.state_dict().items():
        assert not torch.equal(value, initial[name]), f"{name} did not change"
    with open(f"{log_dir}/progress.csv", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("steps,wall_time,steps_per_s,recent_return") and len(lines) == 4


def _observations(seed: int, n: int = 16) -> dict[str, np.ndarray]:
    import gymnasium as gym

    env = gym.make_vec(ENV_ID, num_envs=n)
    obs, _ = env.reset(seed=seed)
    env.close()
    return obs


def test_save_load_round_trip_gives_identical_actions(trained: tuple[PPOAgent, dict, str], tmp_path) -> None:
    agent, _, _ = trained
    agent.save(str(tmp_path))
    loaded = PPOAgent.load(str(tmp_path), device="cpu")
    obs = _observations(1)
    np.testing.assert_array_equal(loaded.act(obs), agent.act(obs))
    scores = PPOAgent.load(str(tmp_path), device="cpu").scores(obs).numpy()
    assert scores.shape == (16, obs["candidates"].shape[1])
    slates = PPOAgent.load(str(tmp_path), device="cpu").act(obs)  # the top-S scores, best first
    np.testing.assert_array_equal(np.take_along_axis(scores, slates, axis=1), -np.sort(-scores, axis=1)[:, : agent.slate_size])
    seeds = np.arange(16)
    agent.reset(np.ones(16, dtype=bool), seeds)
    loaded.reset(np.ones(16, dtype=bool), seeds)
    sampled = agent.act(obs, deterministic=False)
    np.testing.assert_array_equal(loaded.act(obs, deterministic=False), sampled)
    assert sampled.dtype == np.int64 and (sampled[:, 0] != sampled[:, 1]).all()


def test_reset_refuses_seeds_of_another_length_than_started_and_keeps_its_keys(trained: tuple[PPOAgent, dict, str]) -> None:
    agent, _, _ = trained
    obs = _observations(3, n=4)
    agent.reset(np.ones(4, dtype=bool), np.arange(4))
    first = agent.act(obs, deterministic=False)
    agent.reset(np.ones(4, dtype=bool), np.arange(4))
    with pytest.raises(ValueError, match="seeds must hold one seed per row of started \\(4\\), got 2"):
        agent.reset(np.array([True, False, True, False]), np.array([7, 8]))
    np.testing.assert_array_equal(agent.act(obs, deterministic=False), first)  # the refused reset changed nothing


def test_sampling_is_keyed_per_row_whatever_the_batch(trained: tuple[PPOAgent, dict, str]) -> None:
    agent, _, _ = trained
    obs = _observations(2)
    agent.reset(np.ones(16, dtype=bool), np.arange(16))
    whole = agent.act(obs, deterministic=False)
    agent.reset(np.ones(4, dtype=bool), np.arange(12, 16))
    part = agent.act({key: value[12:] for key, value in obs.items()}, deterministic=False)
    np.testing.assert_array_equal(part, whole[12:])


def test_history_is_kept_per_row_and_cleared_when_an_episode_starts(trained: tuple[PPOAgent, dict, str], tmp_path) -> None:
    agent, _, _ = trained
    agent.save(str(tmp_path))
    fresh = PPOAgent.load(str(tmp_path), device="cpu")
    first, later = _observations(3), _observations(4)
    later["response"][:, :, 0] = 1.0  # every slot clicked: the summary moves off zero
    agent.reset(np.ones(16, dtype=bool), np.arange(16))
    agent.act(later)
    agent.act(later)
    history, recent = agent._memory["history"], agent._memory["recent"]
    assert history.abs().sum() > 0 and (recent >= 0).all()  # 2 steps of 3 clicks fill the 4 recent clicks
    restarted = np.arange(16) < 8
    agent.reset(restarted, None)  # rows 0-7 start an episode; rows 8-15 keep what they saw
    assert history[:8].abs().sum() == 0 and history[8:].abs().sum() > 0
    assert (recent[:8] == -1).all() and (recent[8:] >= 0).all()
    np.testing.assert_array_equal(agent.act(first)[:8], fresh.act(first)[:8])


RESUMED = {**SMALL, "num_envs": 16, "checkpoint_every": 2}
SHORT_EPISODES = {"max_steps": 6}  # episodes end inside the rollouts of 8 steps: truncations, cleared memory, recent returns


def _train_interrupted(log_dir, monkeypatch, interruptions: int) -> tuple[PPOAgent, dict]:
    """Train for 5 rollouts with checkpoints every 2, interrupted after each of the first ``interruptions``
    checkpoints and resumed each time by a new agent, as a killed and restarted runner does."""
    original = PPOAgent._checkpoint

    def checkpoint_then_die(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.steps_done < 16 * 8 * 5 and interrupted[0] < interruptions:
            interrupted[0] += 1
            raise KeyboardInterrupt

    interrupted = [0]
    monkeypatch.setattr(PPOAgent, "_checkpoint", checkpoint_then_die)
    for attempt in range(interruptions + 1):
        agent = make_agent("ppo", ENV_ID, RESUMED, env_kwargs=SHORT_EPISODES)
        resume = {"resume_from": str(log_dir)} if attempt else {}
        try:
            return agent, agent.train(ENV_ID, steps=16 * 8 * 5, seed=0, device="cpu", log_dir=str(log_dir), **resume)
        except KeyboardInterrupt:
            assert agent.steps_done == 16 * 8 * 2 * (attempt + 1)
    raise AssertionError("the last attempt was interrupted too")


def _progress_without_timings(log_dir) -> list[list[str]]:
    with open(f"{log_dir}/progress.csv", encoding="utf-8") as f:
        return [row[:1] + row[3:] for row in (line.split(",") for line in f.read().splitlines())]


def test_a_run_interrupted_at_checkpoints_resumes_bit_identically(tmp_path, monkeypatch) -> None:
    whole, whole_summary = _train_interrupted(tmp_path / "whole", monkeypatch, interruptions=0)
    resumed, resumed_summary = _train_interrupted(tmp_path / "resumed", monkeypatch, interruptions=2)
    for name, value in whole.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[name], value), name
    for key in ("steps", "recent_return", "episodes", "policy_loss", "value_loss", "entropy", "approx_kl"):
        assert resumed_summary[key] == whole_summary[key], key
    assert whole_summary["episodes"] > 0 and math.isfinite(whole_summary["recent_return"])
    assert _progress_without_timings(tmp_path / "resumed") == _progress_without_timings(tmp_path / "whole")  # 5 rows, none twice
    obs = _observations(5)
    np.testing.assert_array_equal(resumed.act(obs), whole.act(obs))


def test_resume_refuses_a_directory_without_resume_state_or_of_another_seed(trained: tuple[PPOAgent, dict, str], tmp_path) -> None:
    agent, _, log_dir = trained
    agent.save(str(tmp_path))  # weights and config only
    with pytest.raises(ValueError, match=r"resume\.pt is missing"):
        make_agent("ppo", ENV_ID, SMALL).train(ENV_ID, steps=64 * 8 * 4, seed=0, device="cpu", resume_from=str(tmp_path))
    with pytest.raises(ValueError, match="seed 0, not 1"):
        make_agent("ppo", ENV_ID, SMALL).train(ENV_ID, steps=64 * 8 * 4, seed=1, device="cpu", resume_from=log_dir)
    other = make_agent("ppo", ENV_ID, {**SMALL, "num_envs": 32})  # the env state has 64 rows
    with pytest.raises(ValueError, match=r"is torch\.\w+ \(64, \d+\), expected torch\.\w+ \(32, \d+\)"):
        other.train(ENV_ID, steps=64 * 8 * 4, seed=0, device="cpu", resume_from=log_dir)


@pytest.mark.parametrize("tamper", ["nan", "shape", "unknown", "step", "recent", "sampler", "counters"])
def test_a_tampered_resume_state_raises_value_error(trained: tuple[PPOAgent, dict, str], tmp_path, tamper: str) -> None:
    import shutil

    _, _, log_dir = trained
    shutil.copytree(log_dir, tmp_path, dirs_exist_ok=True)
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    name = next(key for key in state if key.startswith("adam."))
    if tamper == "nan":
        state[name] = torch.full_like(state[name], math.nan)
    elif tamper == "shape":
        state[name] = torch.zeros(2, 2)
    elif tamper == "unknown":
        state["adam.999.exp_avg"] = torch.zeros(1)
    elif tamper == "step":
        state["env.step"][3] = 10_000  # beyond the episode's max_steps
    elif tamper == "sampler":
        state["sampler"] = torch.zeros_like(state["sampler"])  # not a mt19937 state
    elif tamper == "counters":
        state["counters"][0] = 64 * 8 * 8  # more steps done than the resumed run asks for
    else:
        state["memory.recent"][0, 0] = SMALL["category_features"]
    torch.save(state, tmp_path / "resume.pt")
    message = {
        "nan": "non-finite", "shape": "expected torch.float32", "unknown": "1 unknown entries",
        "step": r"'env.step' holds values outside \[0, \d+\]", "recent": r"'memory.recent' holds categories outside \[-1, 9\]",
        "sampler": "entry 'sampler' is not a random generator's state", "counters": "has trained 4096 steps, more than the 2048 asked for",
    }[tamper]
    with pytest.raises(ValueError, match=message):
        make_agent("ppo", ENV_ID, SMALL).train(ENV_ID, steps=64 * 8 * 4, seed=0, device="cpu", resume_from=str(tmp_path))


@pytest.mark.parametrize("tamper", ["garbage", "missing_key", "extra_key", "shape", "pickle", "config"])
def test_tampered_files_raise_value_error(trained: tuple[PPOAgent, dict, str], tmp_path, tamper: str) -> None:
    agent, _, _ = trained
    agent.save(str(tmp_path))
    weights = tmp_path / "weights.pt"
    state = torch.load(weights, weights_only=True)
    if tamper == "garbage":
        weights.write_bytes(b"not a torch archive")
    elif tamper == "missing_key":
        state.pop(next(iter(state)))
        torch.save(state, weights)
    elif tamper == "extra_key":
        torch.save({**state, "intruder": torch.zeros(1)}, weights)
    elif tamper == "shape":
        name = next(iter(state))
        torch.save({**state, name: torch.zeros(3, 3)}, weights)
    elif tamper == "pickle":
        torch.save({"payload": PPOConfig()}, weights)  # an arbitrary object: weights_only refuses to unpickle it
    else:
        (tmp_path / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="PPOAgent.load"):
        PPOAgent.load(str(tmp_path), device="cpu")
