"""The same numbers on every machine: exact elementary functions, and pinned trajectories of every id."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import trajectory_hashes
from recsim_bench import exact_math, rng

# numpy's SIMD dispatch above x86-64-v2 (AVX2, AVX-512), as an older x86 CPU runs it.
NO_SIMD = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}


def _ulps(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(actual - expected) / np.spacing(np.abs(expected))


def test_every_trajectory_matches_its_golden_hash() -> None:
    """A change to the dynamics or the random streams fails here: if it was meant, run
    ``python tests/trajectory_hashes.py --write`` and record the change in CHANGELOG.md."""
    golden = json.loads(trajectory_hashes.GOLDEN.read_text(encoding="utf-8"))
    assert trajectory_hashes.all_hashes() == golden


# The kernel numpy runs for float32 log, in the process that runs this code.
LOG_KERNEL = "from numpy.lib.introspect import opt_func_info as f; print(f('^log$', 'float32')['log']['ff']['current'])"


def test_trajectories_do_not_depend_on_numpys_simd_kernels() -> None:
    env = {**os.environ, **NO_SIMD}
    kernels = [subprocess.run([sys.executable, "-c", LOG_KERNEL], env=e, capture_output=True, text=True, check=True).stdout for e in (os.environ, env)]
    if kernels[0] == kernels[1]:
        pytest.skip(f"numpy runs its baseline kernels on this CPU ({kernels[0].strip()}): nothing to switch off")
    script = Path(trajectory_hashes.__file__)
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout) == trajectory_hashes.all_hashes()


def test_the_floating_point_environment_keeps_subnormals() -> None:
    """exact_math assumes IEEE's default environment: a library built with -ffast-math can switch on
    flush-to-zero when it is imported, and then exp and log of the smallest numbers change."""
    tiny = np.array([5e-324])
    assert (tiny > 0).all() and (tiny * 0.5 == 0).all() and (tiny * 2.0 == 1e-323).all()
    assert exact_math.exp(-745.0) > 0.0 and exact_math.log(tiny)[0] == pytest.approx(-744.44007, rel=1e-7)


def test_exp_and_log_are_within_two_ulps_of_the_correctly_rounded_values() -> None:
    generator = np.random.default_rng(0)
    x = np.concatenate([generator.uniform(-745, 709, 20_000), generator.uniform(-2, 2, 20_000), [0.0, 1e-300, -1e-300]])
    assert _ulps(exact_math.exp(x), np.array([math.exp(v) for v in x])).max() <= 2
    y = np.concatenate([generator.uniform(0, 2, 20_000), exact_math.exp(generator.uniform(-700, 700, 20_000)), [5e-324]])
    reference = np.array([math.log(v) for v in y])
    assert np.all((_ulps(exact_math.log(y), reference) <= 2) | (np.abs(exact_math.log(y) - reference) <= 1e-16))


def test_known_values_and_special_cases() -> None:
    assert exact_math.exp(0.0) == 1.0 and exact_math.log(1.0) == 0.0
    assert abs(exact_math.exp(1.0) - math.e) <= 2 * math.ulp(math.e)
    assert abs(exact_math.log(8.0) - 3 * math.log(2)) <= 2 * math.ulp(3 * math.log(2))
    np.testing.assert_array_equal(exact_math.exp([np.inf, -np.inf, 710.0, -746.0]), [np.inf, 0.0, np.inf, 0.0])
    assert np.isnan(exact_math.exp(np.nan))
    np.testing.assert_array_equal(exact_math.log([0.0, np.inf]), [-np.inf, np.inf])
    assert np.isnan(exact_math.log([-1.0, np.nan])).all()
    np.testing.assert_array_equal(exact_math.cos_turns([0.0, 0.5, 1.0, -0.5, 3.0]), [1.0, -1.0, 1.0, -1.0, 1.0])
    assert abs(exact_math.cos_turns(0.125) - math.sqrt(0.5)) <= 1e-16
    assert abs(exact_math.cos_turns(0.25)) <= 1e-16
    np.testing.assert_array_equal(exact_math.power([0.0, 0.0, 5.0, 1.0], [0.0, 3.0, 0.0, np.inf]), [1.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(exact_math.power(2.0, np.arange(11)), 2.0 ** np.arange(11), rtol=1e-15)
    with pytest.raises(ValueError, match="base must be >= 0"):
        exact_math.power(-1.0, 2.0)
    np.testing.assert_array_equal(exact_math.expit([0.0, -1000.0, 1000.0]), [0.5, 0.0, 1.0])


def test_cos_turns_and_expit_agree_with_the_textbook_formulas() -> None:
    t = np.random.default_rng(1).uniform(-3, 3, 20_000)
    assert np.abs(exact_math.cos_turns(t) - np.cos(2 * np.pi * t)).max() < 1e-14
    x = np.random.default_rng(2).uniform(-30, 30, 20_000)
    np.testing.assert_allclose(exact_math.expit(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(exact_math.expit(-x), 1 - exact_math.expit(x), atol=1e-15)


def test_normals_are_standard_normal() -> None:
    n = 400_000
    u = rng.uniforms(rng.row_keys([7]), np.zeros(1, np.int64), np.zeros(1, np.int64), rng.STEP, 2 * n)[0]
    z = rng.normals(u[:n], u[n:])
    assert abs(z.mean()) < 5 / math.sqrt(n) and abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    for threshold, tail in ((1.0, 0.3173105), (2.0, 0.0455003), (3.0, 0.0026998)):  # P(|Z| > t)
        assert abs(np.mean(np.abs(z) > threshold) - tail) < 5 * math.sqrt(tail * (1 - tail) / n)


def test_table_draws_are_keyed_by_seed_and_table_alone() -> None:
    a = rng.table_uniforms(3, 1, 10, 4)
    np.testing.assert_array_equal(rng.table_uniforms(3, 1, 4, 4), a[:4])
    assert not np.array_equal(rng.table_uniforms(3, 2, 10, 4), a) and not np.array_equal(rng.table_uniforms(4, 1, 10, 4), a)
    assert a.shape == (10, 4) and ((a > 0) & (a < 1)).all()
