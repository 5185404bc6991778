"""Simulator throughput and memory, printed as figures and as ratios against references in the same run.

    python benchmarks/env_throughput.py                    # InterestEvolution-v0
    python benchmarks/env_throughput.py --env all          # every registered id
    python benchmarks/env_throughput.py --quick            # shorter timings, no 1M-user memory run

For each environment it prints user-steps per second (observations included) for:
the single env through ``gym.make`` (with Gymnasium's default wrappers), ``RecVectorEnv``
at 1, 256, 4,096 and 65,536 users (threads chosen automatically, and 4,096 users on one
thread), Gymnasium's ``SyncVectorEnv`` over 16 single envs,
and the ratio of the 4,096-user vector env to the sync one. The memory figure is the
peak resident set size of a separate process that resets and steps one vector env of
1,000,000 users. Actions are valid random slates drawn before timing starts.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from typing import Callable

import gymnasium as gym
import numpy as np

import recsim_bench

VECTOR_SIZES = (1, 256, 4096, 65536)
SYNC_ENVS = 16
MEMORY_USERS = 1_000_000


def _slate_pool(space: gym.spaces.Space, size: int, seed: int = 0) -> list[np.ndarray]:
    space.seed(seed)
    return [space.sample() for _ in range(size)]


def _rate(run: Callable[[int], int], seconds: float) -> float:
    """Best-of-three user-steps per second of ``run(calls)``, which returns the user-steps it made."""
    run(1)  # warm up
    calls, start = 1, time.perf_counter()
    while time.perf_counter() - start < seconds / 6:  # find a call count that takes ~seconds/3
        calls *= 2
        start = time.perf_counter()
        run(calls)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        done = run(calls)
        best = max(best, done / (time.perf_counter() - start))
    return best


def single_env_rate(env_id: str, seconds: float) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    pool = _slate_pool(env.action_space, 64)

    def run(calls: int) -> int:
        for t in range(calls):
            _, _, terminated, truncated, _ = env.step(pool[t % len(pool)])
            if terminated or truncated:
                env.reset()
        return calls

    return _rate(run, seconds)


def vector_env_rate(
    env_id: str, num_envs: int, seconds: float, mode: str = "vector_entry_point", **kwargs: object
) -> float:
    """User-steps/s of ``gym.make_vec`` in ``mode``: our ``RecVectorEnv``, or Gymnasium's ``"sync"`` one."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kwargs)
    envs.reset(seed=0)
    pool = _slate_pool(envs.action_space, 8)

    def run(calls: int) -> int:
        for t in range(calls):
            envs.step(pool[t % len(pool)])
        return calls * num_envs

    return _rate(run, seconds)


def memory_child(env_id: str, num_envs: int, steps: int) -> None:
    """Run in a child process: reset and step a vector env of ``num_envs`` users, print peak RSS in MiB."""
    envs = gym.make_vec(env_id, num_envs=num_envs)
    envs.reset(seed=0)
    slates = envs.action_space.sample()
    start = time.perf_counter()
    for _ in range(steps):
        envs.step(slates)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"{peak_mib:.0f} {num_envs * steps / seconds:.0f}")


def peak_rss(env_id: str, num_envs: int, steps: int = 5) -> tuple[float, float]:
    """Peak RSS (MiB) and user-steps/s of a separate process stepping ``num_envs`` users."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", env_id, str(num_envs), str(steps)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def report(env_id: str, seconds: float, memory: bool) -> dict[str, float]:
    """Print one environment's table; return its headline figures for the summary."""
    print(f"\n## {env_id}\n")
    print("| setting | user-steps/s |")
    print("|---|---:|")
    single = single_env_rate(env_id, seconds)
    print(f"| single env via gym.make | {single:,.0f} |")
    rates = {}
    for num_envs in VECTOR_SIZES:
        rates[num_envs] = vector_env_rate(env_id, num_envs, seconds)
        print(f"| RecVectorEnv, {num_envs:,} users | {rates[num_envs]:,.0f} |")
    one_thread = vector_env_rate(env_id, 4096, seconds, num_threads=1)
    print(f"| RecVectorEnv, 4,096 users, num_threads=1 | {one_thread:,.0f} |")
    sync = vector_env_rate(env_id, SYNC_ENVS, seconds, mode="sync")
    print(f"| SyncVectorEnv over {SYNC_ENVS} single envs | {sync:,.0f} |")
    print(f"| ratio: RecVectorEnv 4,096 / SyncVectorEnv {SYNC_ENVS} | {rates[4096] / sync:,.1f}x |")
    if memory:
        mib, rate = peak_rss(env_id, MEMORY_USERS)
        print(f"| RecVectorEnv, {MEMORY_USERS:,} users (separate process) | {rate:,.0f} |")
        print(f"\nPeak RSS stepping {MEMORY_USERS:,} users: {mib:,.0f} MiB ({mib / 1024:.2f} GiB)")
    return {"single": single, "vector": rates[4096], "one_thread": one_thread, "ratio": rates[4096] / sync}


def summary(figures: dict[str, dict[str, float]]) -> None:
    """One table over every measured environment."""
    print("\n## Summary (user-steps/s)\n")
    print("| environment | single env | 4,096 users | 4,096 users, 1 thread | vs SyncVectorEnv 16 |")
    print("|---|---:|---:|---:|---:|")
    for env_id, f in figures.items():
        print(f"| {env_id} | {f['single']:,.0f} | {f['vector']:,.0f} | {f['one_thread']:,.0f} | {f['ratio']:,.0f}x |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="RecSimBench/InterestEvolution-v0", help="an id, or 'all'")
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget of each measurement")
    parser.add_argument("--quick", action="store_true", help="1 s per measurement, no 1M-user memory run")
    parser.add_argument("--memory-child", nargs=3, metavar=("ID", "USERS", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        env_id, users, steps = args.memory_child
        memory_child(env_id, int(users), int(steps))
        return 0
    ids = sorted(recsim_bench.SUITE) if args.env == "all" else [args.env]
    print(f"recsim-bench {recsim_bench.__version__}, numpy {np.__version__}, gymnasium {gym.__version__}")
    figures = {env_id: report(env_id, 1.0 if args.quick else args.seconds, memory=not args.quick) for env_id in ids}
    if len(ids) > 1:
        summary(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
