"""The GPU check of native PPO: the same training on CUDA and on the CPU, steps/s of each and a sanity check.

    python benchmarks/gpu_check.py                         # 262,144 steps on InterestEvolution-v0, 1,024 and 8,192 users
    python benchmarks/gpu_check.py --steps 1048576 --num-envs 1024 4096 16384

For every ``--num-envs`` value it trains :class:`baselines.ppo.PPOAgent` (the config of ``--env``, seed 0)
for ``--steps`` environment steps on ``cuda`` and on ``cpu`` and prints env + learning steps/s, the
ratio, and the last update's losses. Then each trained agent acts deterministically on
``--eval-users`` test users (:func:`recsim_bench.agents.evaluate_agent`, evaluation seed 10,000):
its mean return shows that the CUDA run (bf16 autocast, TF32 matmuls) learned as the CPU run did;
the two are not equal, as the device's random streams differ. Without CUDA it says so and runs
the CPU side only. It exits non-zero if a loss is not finite; an invalid slate stops it with the env's error.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch

from baselines.ppo import PPOAgent
from recsim_bench.agents import evaluate_agent, make_agent
from recsim_bench.scoring.metrics import mean_ci

EVAL_SEED = 10_000


def train_once(env_id: str, steps: int, num_envs: int, device: str) -> tuple[PPOAgent, dict[str, float]]:
    agent = make_agent("ppo", env_id, {"num_envs": num_envs, "verbose": False, "checkpoint_every": 0})
    summary = agent.train(env_id, steps=steps, seed=0, device=device)
    return agent, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="RecSimBench/InterestEvolution-v0")
    parser.add_argument("--steps", type=int, default=262_144, help="environment steps per training run")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1024, 8192], help="users per rollout, one run per value and device")
    parser.add_argument("--eval-users", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CUDA is not available: CPU only)"
    print(f"{args.env}: {args.steps:,} steps per run; torch {torch.__version__}; GPU: {gpu}; CPU threads {torch.get_num_threads()}\n")
    print("| users per rollout | device | steps/s | wall time (s) | policy loss | value loss | test return [95% CI] |")
    print("|---:|---|---:|---:|---:|---:|---|")
    failures: list[str] = []
    rates: dict[tuple[int, str], float] = {}
    for num_envs in args.num_envs:
        for device in devices:
            start = time.perf_counter()
            agent, summary = train_once(args.env, args.steps, num_envs, device)
            wall = time.perf_counter() - start
            rates[num_envs, device] = summary["steps_per_s"]
            if not all(math.isfinite(summary[key]) for key in ("policy_loss", "value_loss")):
                failures.append(f"{device}, {num_envs} users: a loss is not finite ({summary})")
            returns = evaluate_agent(agent, args.env, args.eval_users, seed=EVAL_SEED, split="test")
            mean, low, high = mean_ci(np.asarray(returns))
            print(
                f"| {num_envs:,} | {device} | {summary['steps_per_s']:,.0f} | {wall:.1f} | {summary['policy_loss']:.4f} | "
                f"{summary['value_loss']:.4f} | {mean:.2f} [{low:.2f}, {high:.2f}] |",
                flush=True,
            )
    if "cuda" in devices:
        print()
        for num_envs in args.num_envs:
            print(f"{num_envs:,} users: CUDA / CPU steps/s = {rates[num_envs, 'cuda'] / rates[num_envs, 'cpu']:.2f}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
