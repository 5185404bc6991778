"""Fingerprints of a short trajectory of every registered id, for the cross-machine determinism tests.

Run as a script it prints ``{env_id: sha256}`` as JSON; ``--write`` stores them as the golden hashes
that ``tests/test_determinism.py`` pins. Regenerate the goldens only for a deliberate change of the
dynamics or of the random streams, and record that change in ``CHANGELOG.md``.

Each fingerprint covers, step by step, the observations, rewards, terminations, truncations, the
behaviours in ``info`` and the privileged expected rewards of a vector env of :data:`ROWS` users, on both
splits, under fixed slates built from integer arithmetic alone (so that the slates cannot differ
between machines either).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import recsim_bench

GOLDEN = Path(__file__).with_name("golden_trajectories.json")
ROWS = 6
STEPS = 40
SEED = 2024


def fixed_slates(step: int, rows: int, num_candidates: int, slate_size: int) -> np.ndarray:
    """Distinct candidates per row, from an integer hash of (row, step, candidate)."""
    row = np.arange(rows)[:, None]
    keys = (row * 7919 + step * 104729 + np.arange(num_candidates)[None, :] * 15485863) % 1000003
    return np.argsort(keys, axis=1, kind="stable")[:, :slate_size].astype(np.int64)


def _update(digest: Any, value: Any) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            digest.update(key.encode())
            _update(digest, value[key])
    else:
        array = np.ascontiguousarray(value)
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)  # the same bytes on a big-endian machine
        digest.update(array.dtype.str.encode() + str(array.shape).encode())
        digest.update(array.tobytes())


def trajectory_hash(env_id: str, steps: int = STEPS) -> str:
    """The sha256 of ``steps`` steps on each split of ``env_id`` under :func:`fixed_slates`."""
    digest = hashlib.sha256()
    for split in ("train", "test"):
        env = gym.make_vec(env_id, num_envs=ROWS, split=split, num_threads=1)
        obs, _ = env.reset(seed=SEED)
        _update(digest, obs)
        space = env.single_action_space
        for step in range(steps):
            _update(digest, env.unwrapped.expected_rewards())
            slates = fixed_slates(step, ROWS, int(space.nvec[0]), len(space.nvec))
            obs, reward, terminated, truncated, info = env.step(slates)
            _update(digest, {"obs": obs, "reward": reward, "terminated": terminated, "truncated": truncated})
            _update(digest, {key: value for key, value in info.items() if isinstance(value, np.ndarray)})
        env.close()
    return digest.hexdigest()


def all_hashes() -> dict[str, str]:
    return {env_id: trajectory_hash(env_id) for env_id in sorted(recsim_bench.SUITE)}


if __name__ == "__main__":
    hashes = all_hashes()
    if sys.argv[1:] == ["--write"]:
        GOLDEN.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(hashes, sort_keys=True))
