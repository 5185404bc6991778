"""Training throughput: native PPO (baselines/ppo.py) against Stable-Baselines3's PPO, in one run.

    python benchmarks/train_throughput.py                      # 65,536 env steps each
    python benchmarks/train_throughput.py --steps 262144 --num-envs 1024

Both train on the same environment for the same number of environment steps and the same
rollout shape (``num_envs`` rows x ``num_steps`` steps); the figure is env + learning steps per
second over the whole ``learn``/``train`` call, setup excluded. SB3 runs through
``SB3VecEnv.make(env_id, num_envs, seed=0, score_to_slate=True)`` with ``MultiInputPolicy``
(a Gaussian over candidate scores): once with the native agent's rollout, minibatch and epoch
settings ("matched"), and once with SB3's own defaults for ``batch_size`` (64) and ``n_epochs``
(10) ("SB3 defaults"). The ratio is native steps/s over each SB3 figure.
"""

from __future__ import annotations

import argparse
import time

import torch

from recsim_bench.agents import make_agent


def native_rate(env_id: str, steps: int, num_envs: int, num_steps: int, device: str) -> float:
    agent = make_agent("ppo", env_id, {"num_envs": num_envs, "num_steps": num_steps, "verbose": False})
    return agent.train(env_id, steps=steps, seed=0, device=device)["steps_per_s"]


def sb3_rate(env_id: str, steps: int, num_envs: int, num_steps: int, batch_size: int, epochs: int, device: str) -> float:
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger

    from recsim_bench.wrappers.sb3 import SB3VecEnv

    envs = SB3VecEnv.make(env_id, num_envs, seed=0, score_to_slate=True)
    model = PPO("MultiInputPolicy", envs, n_steps=num_steps, batch_size=batch_size, n_epochs=epochs, seed=0, device=device)
    model.set_logger(Logger(folder=None, output_formats=[]))  # as baselines/sb3_ppo.py: no /tmp/SB3-<time> directory
    start = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - start
    envs.close()
    return model.num_timesteps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="RecSimBench/InterestEvolution-v0")
    parser.add_argument("--steps", type=int, default=65_536, help="environment steps per agent")
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = make_agent("ppo", args.env).config
    num_steps = max(1, min(config.num_steps, args.steps // args.num_envs))
    minibatch = args.num_envs * num_steps // config.num_minibatches
    print(f"{args.env}: {args.steps:,} env steps per agent, {args.num_envs} envs x {num_steps} steps per rollout, "
          f"device {args.device}, torch threads {torch.get_num_threads()}")
    native = native_rate(args.env, args.steps, args.num_envs, num_steps, args.device)
    print(f"native PPO                  {native:>10,.0f} steps/s", flush=True)
    matched = sb3_rate(args.env, args.steps, args.num_envs, num_steps, minibatch, config.update_epochs, args.device)
    print(f"SB3 PPO (matched: batch {minibatch}, {config.update_epochs} epochs) {matched:>10,.0f} steps/s   ratio {native / matched:5.1f}x", flush=True)
    defaults = sb3_rate(args.env, args.steps, args.num_envs, num_steps, 64, 10, args.device)
    print(f"SB3 PPO (defaults: batch 64, 10 epochs) {defaults:>10,.0f} steps/s   ratio {native / defaults:5.1f}x")


if __name__ == "__main__":
    main()
