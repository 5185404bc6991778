"""What machine-independent numbers cost: the simulator with ``exact_math`` against numpy's own kernels.

    python benchmarks/exact_math_cost.py                 # every id, 4,096 users, one thread
    python benchmarks/exact_math_cost.py --users 256

The dynamics compute ``exp``, ``log``, ``power``, ``expit`` and ``cos(2 pi t)`` with
:mod:`recsim_bench.exact_math`, built from IEEE-exact operations so that every machine gives the same
bits. This script times a vector env's steps with those functions, then with numpy's and scipy's SIMD
kernels patched in their place (which give slightly different numbers on different CPUs), alternating
the two in the same process, and prints user-steps per second for each and their ratio. Check
``uptime`` first: only ratios taken on a quiet machine mean much.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Iterator

import gymnasium as gym
import numpy as np
from scipy import special

import recsim_bench
from recsim_bench import exact_math

NUMPY_KERNELS = {
    "exp": np.exp,
    "log": np.log,
    "power": np.power,
    "expit": special.expit,
    "cos_turns": lambda t: np.cos(2.0 * np.pi * np.asarray(t)),
}


@contextlib.contextmanager
def numpy_kernels() -> Iterator[None]:
    """``exact_math``'s functions replaced by numpy's (the parts look them up on the module at each call)."""
    saved = {name: getattr(exact_math, name) for name in NUMPY_KERNELS}
    for name, function in NUMPY_KERNELS.items():
        setattr(exact_math, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(exact_math, name, function)


def steps_per_second(env: gym.vector.VectorEnv, slates: list[np.ndarray], steps: int) -> float:
    start = time.perf_counter()
    for i in range(steps):
        env.step(slates[i % len(slates)])
    return steps * env.num_envs / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4096, help="rows of the vector env (default 4,096)")
    parser.add_argument("--steps", type=int, default=30, help="steps per timing (default 30)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating timings of each kind; the best counts")
    args = parser.parse_args(argv)
    print("| environment | exact_math user-steps/s | numpy kernels user-steps/s | exact / numpy |")
    print("|---|---:|---:|---:|")
    for env_id in recsim_bench.SUITE:
        env = gym.make_vec(env_id, num_envs=args.users, num_threads=1)
        env.reset(seed=0)
        env.action_space.seed(0)
        slates = [env.action_space.sample() for _ in range(16)]
        steps_per_second(env, slates, 3)  # warm up
        exact, fast = 0.0, 0.0
        for _ in range(args.repeats):
            exact = max(exact, steps_per_second(env, slates, args.steps))
            with numpy_kernels():
                fast = max(fast, steps_per_second(env, slates, args.steps))
        env.close()
        print(f"| {env_id.split('/')[-1]} | {exact:,.0f} | {fast:,.0f} | {exact / fast:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
