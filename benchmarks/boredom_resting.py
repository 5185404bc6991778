"""Boredom-v0: how often a policy bores its users, and what resting topics near the threshold is worth.

    python benchmarks/boredom_resting.py                               # oracle and fresh only
    python benchmarks/boredom_resting.py --ppo runs/ppo-boredom        # and a trained PPO, with and without the rest rule
    python benchmarks/boredom_resting.py --ppo runs/ppo-boredom --deviations --users 4000   # and what resting is worth to it
    python benchmarks/boredom_resting.py --ppo runs/ppo-boredom --advantages --users 4000   # and what its training advantages say

For each policy, over test users 0..USERS-1 (evaluation seed 10,000, as in docs/agents.md), it prints
the mean return, the boredom onsets per episode, the bored topics per step and the shown items per
step whose topic already holds ``threshold - 1`` of the user's last ``window`` clicks (one click from
boredom). The onsets and bored topics are read from the hidden state; the last figure is observable.

``PPO + rest`` ranks by the PPO agent's own scores but puts last every candidate whose topic is one click
from boredom, read from the observation (``user[:num_topics]`` is each topic's share of the window):
it separates what the agent knows of the user's taste from whether it has learned to rest topics.
``PPO, sampled`` draws the agent's slates from its Plackett-Luce distribution (as in training) instead of
taking the top scores.

``--deviations`` asks what resting is worth to the PPO agent itself. Two copies of the same users (same
seeds, so the same random numbers row by row and step by step) follow the agent; from step ``t0`` the
second copy applies the rest rule for ``k`` steps (1, 5 or 20), then follows the agent again. Over the rows where the
rule changed the slate at ``t0``, it prints the mean difference of the return from ``t0`` on (95% CI) and
the rest decisions (changed slates) per row.

``--advantages`` asks whether PPO's own update sees that resting pays. It follows the agent's sampled
slates for one episode of USERS train users (seed 123) and computes the GAE advantages of every step from
the agent's value (gamma 0.99, the episode truncated after its last step). Over the steps where some
candidate was one click from boredom, per third of the episode and per lambda, it prints the mean advantage
of the slates that showed such a candidate minus that of the slates that did not, in clicks (95% CI).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench.references import fresh_policy, top_slates
from recsim_bench.scoring.metrics import mean_ci

ENV_ID = "RecSimBench/Boredom-v0"
EVAL_SEED = 10_000
REST_STEPS = (1, 5, 20)  # how long --deviations keeps resting
Act = Callable[[Any, dict[str, NDArray[np.float32]]], NDArray[np.int64]]


def near_threshold(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.bool_]:
    """(N, K): whether each candidate's topic is one click from boredom, from the observation alone."""
    model = env.sim.user_model
    counts = np.rint(obs["user"][:, : model.num_topics] * model.window)
    topic = obs["candidates"][:, :, : model.num_topics].argmax(-1)
    return np.take_along_axis(counts, topic, axis=1) >= model.threshold - 1


def test_users(users: int) -> tuple[Any, dict[str, NDArray[np.float32]]]:
    """A vector env of test users 0..users-1, each in a row seeded ``EVAL_SEED + user`` (as ``recsim_bench.agents.evaluate_agent``), and its first observation."""
    env = gym.make_vec(ENV_ID, num_envs=users, split="test")
    obs, _ = env.reset(seed=(EVAL_SEED + np.arange(users)).tolist(), options={"task": [{"split": "test", "user": u} for u in range(users)]})
    return env, obs


def measure(act: Act, users: int, reset: Callable[[int], None] | None = None) -> dict[str, float]:
    """The figures of one policy over :func:`test_users`."""
    env, obs = test_users(users)
    base = env.unwrapped
    duration = base.sim.user_model.boredom_duration
    if reset is not None:
        reset(users)
    returns = np.zeros(users)
    onsets = bored = near_shown = 0.0
    steps = base.sim.max_steps
    for _ in range(steps):
        slates = act(base, obs)
        near_shown += np.take_along_axis(near_threshold(base, obs), slates, axis=1).sum() / users
        obs, reward, _, _, _ = env.step(slates)
        boredom_left = base.state.user["boredom_left"]
        onsets += (boredom_left == duration).sum() / users
        bored += (boredom_left > 0).sum() / users
        returns += reward
    env.close()
    mean, low, high = mean_ci(returns)
    return {"return": mean, "low": low, "high": high, "onsets": onsets, "bored": bored / steps, "near": near_shown / steps}


def rest_slates(agent: Any, env: Any, obs: dict[str, NDArray[np.float32]]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """The agent's slates with every candidate one click from boredom put last, and whether that changed the slate (as a set)."""
    scores = agent.scores(obs).cpu().numpy()
    rested = top_slates(scores - 1e3 * near_threshold(env, obs), agent.slate_size)
    plain = top_slates(scores, agent.slate_size)
    return rested, (np.sort(rested, axis=1) != np.sort(plain, axis=1)).any(axis=1)


def advantage_gaps(path: str, users: int) -> list[dict[str, float]]:
    """The advantage gap of showing an item one click from boredom, for the PPO agent at ``path`` (see the module docstring)."""
    import torch

    from baselines.ppo import PPOAgent, compute_gae, gumbel_top_slates

    agent = PPOAgent.load(path, device="cpu")
    agent.reset(np.ones(users, dtype=bool))
    env = gym.make_vec(ENV_ID, num_envs=users)
    obs, _ = env.reset(seed=123)
    base = env.unwrapped
    steps, slate_size = base.sim.max_steps, agent.slate_size
    sampler = torch.Generator().manual_seed(0)
    values, rewards = torch.zeros(steps, users), torch.zeros(steps, users)
    available, showed = np.zeros((steps, users), dtype=bool), np.zeros((steps, users), dtype=bool)
    for t in range(steps):
        scores, values[t] = agent.scores_and_values(obs)
        slates = gumbel_top_slates(scores, slate_size, torch.rand(scores.shape, generator=sampler).clamp_(min=1e-20)).numpy()
        near = near_threshold(base, obs)
        available[t], showed[t] = near.any(1), np.take_along_axis(near, slates, axis=1).any(1)
        obs, reward, _, _, _ = env.step(slates)
        rewards[t] = torch.as_tensor(reward, dtype=torch.float32)
    final_values = torch.zeros(steps, users)
    final_values[-1] = agent.scores_and_values(obs)[1]  # every row is truncated after its last step; obs is its last observation
    env.close()
    scale = agent.config.reward_scale
    terminated, truncated = torch.zeros(steps, users, dtype=torch.bool), torch.zeros(steps, users, dtype=torch.bool)
    truncated[-1] = True
    rows = []
    for lam in (0.0, 0.9, 0.99, 1.0):
        advantages, _ = compute_gae(rewards * scale, values, terminated, truncated, final_values, torch.zeros(users), 0.99, lam)
        advantages = advantages.numpy() / scale
        for begin, end in ((0, steps // 3), (steps // 3, 2 * steps // 3), (2 * steps // 3, steps)):
            in_window = np.zeros_like(available)
            in_window[begin:end] = available[begin:end]
            shown, rested = advantages[in_window & showed], advantages[in_window & ~showed]
            gap = shown.mean() - rested.mean()
            half = 1.96 * np.sqrt(shown.var(ddof=1) / len(shown) + rested.var(ddof=1) / len(rested))
            rows.append({"lambda": lam, "steps": f"{begin}-{end - 1}", "shown": len(shown), "rested": len(rested), "gap": gap, "half": half})
    return rows


def deviation_gain(path: str, users: int, start: int, steps: int) -> dict[str, float]:
    """The return gain from step ``start`` on of resting for ``steps`` steps, against the PPO agent at ``path`` (see the module docstring)."""
    from baselines.ppo import PPOAgent

    copies = []
    for _ in range(2):
        env, obs = test_users(users)
        agent = PPOAgent.load(path, device="cpu")
        agent.reset(np.ones(users, dtype=bool))
        copies.append([env, obs, agent])
    gain = np.zeros(users)
    rests = np.zeros(users)
    changed_at_start = np.zeros(users, dtype=bool)
    for t in range(copies[0][0].unwrapped.sim.max_steps):
        for index, (env, obs, agent) in enumerate(copies):
            if index == 1 and start <= t < start + steps:
                slates, changed = rest_slates(agent, env.unwrapped, obs)
                rests += changed
                changed_at_start |= changed & (t == start)
            else:
                slates = agent.act(obs)
            copies[index][1], reward, _, _, _ = env.step(slates)
            if t >= start:
                gain += reward if index == 1 else -reward
    for env, _, _ in copies:
        env.close()
    mean, low, high = mean_ci(gain[changed_at_start])
    return {"rows": int(changed_at_start.sum()), "gain": mean, "low": low, "high": high, "rests": float(rests[changed_at_start].mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--ppo", action="append", default=[], help="a PPO checkpoint directory (repeatable)")
    parser.add_argument("--deviations", action="store_true", help="also the gain of resting from step 20 and 50, for 1, 5 and 20 steps")
    parser.add_argument("--advantages", action="store_true", help="also the GAE advantage gap of showing an item one click from boredom")
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {
        "oracle (privileged)": measure(lambda env, obs: top_slates(env.expected_rewards(), env.sim.slate_size), args.users),
        "fresh (privileged)": measure(fresh_policy, args.users),
    }
    if args.ppo:
        from baselines.ppo import PPOAgent

        for path in args.ppo:
            agent = PPOAgent.load(path, device="cpu")

            def start(users: int, agent: PPOAgent = agent) -> None:  # every row starts an episode: empty memories, keyed sampling
                agent.reset(np.ones(users, dtype=bool), EVAL_SEED + np.arange(users))

            rows[f"PPO {path}"] = measure(lambda env, obs, agent=agent: agent.act(obs), args.users, start)
            rows[f"PPO, sampled {path}"] = measure(lambda env, obs, agent=agent: agent.act(obs, deterministic=False), args.users, start)
            rows[f"PPO + rest {path}"] = measure(lambda env, obs, agent=agent: rest_slates(agent, env, obs)[0], args.users, start)
    print(f"{ENV_ID}, test users 0..{args.users - 1}, evaluation seed {EVAL_SEED}\n")
    print("| policy | mean return [95% CI] | boredom onsets per episode | bored topics per step | shown items one click from boredom, per step |")
    print("|---|---|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['return']:.2f} [{row['low']:.2f}, {row['high']:.2f}] | {row['onsets']:.2f} | {row['bored']:.2f} | {row['near']:.2f} |")
    if args.advantages:
        print("\n| PPO checkpoint | lambda | steps | slates showing / not showing such an item | advantage gap in clicks [95% CI] |")
        print("|---|---:|---|---:|---|")
        for path in args.ppo:
            for row in advantage_gaps(path, args.users):
                print(f"| {path} | {row['lambda']} | {row['steps']} | {row['shown']:,} / {row['rested']:,} | {row['gap']:+.2f} [{row['gap'] - row['half']:+.2f}, {row['gap'] + row['half']:+.2f}] |", flush=True)
    if args.deviations:
        print("\n| PPO checkpoint | rest from step | for steps | rows changed at that step | return gain from that step on [95% CI] | rest decisions per row |")
        print("|---|---:|---:|---:|---|---:|")
        for path in args.ppo:
            for steps in REST_STEPS:
                for start in (20, 50):
                    row = deviation_gain(path, args.users, start, steps)
                    print(f"| {path} | {start} | {steps} | {row['rows']} | {row['gain']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}] | {row['rests']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
