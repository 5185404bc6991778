"""The layering of ../shared/DESIGN.md holds: import-linter's contracts (.importlinter), and what ``import recsim_bench`` loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    pytest.importorskip("importlinter")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_import_recsim_bench_loads_neither_scipy_stats_nor_the_baselines():
    code = "import sys, recsim_bench; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout.split())
    assert "recsim_bench.envs" in loaded  # the suite is registered
    for heavy in ("scipy.stats", "torch", "stable_baselines3", "baselines", "recsim_bench.references", "recsim_bench.scoring"):
        assert heavy not in loaded, heavy
