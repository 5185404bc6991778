"""The env cards (docs/envs/) are rendered from the class docstrings and reference_returns.json, and kept fresh."""

from __future__ import annotations

import doctest
import importlib
import re
import textwrap

import gymnasium as gym
import pytest

import recsim_bench
from recsim_bench.envs import cards

ENV_IDS = list(recsim_bench.SUITE)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_committed_card_is_the_rendered_card(env_id: str) -> None:
    committed = cards.card_path(env_id).read_text(encoding="utf-8")
    assert committed == cards.card(env_id), f"{cards.card_path(env_id)} is stale: python -m recsim_bench.envs.cards --write"


def test_returns_table_of_a_hand_written_dict() -> None:
    returns = {
        "random": {"mean": 1.005, "low": 0.5, "high": 1.994},
        "oracle": {"mean": 12.3456, "low": 10.0, "high": 14.691},
    }
    assert cards.returns_table(returns) == (
        "| policy | mean return | 95% CI |\n"
        "|---|---|---|\n"
        "| random | 1.00 | [0.50, 1.99] |\n"  # 1.005 is 1.00499... in binary
        "| oracle | 12.35 | [10.00, 14.69] |"
    )


def test_card_puts_the_table_at_the_top_of_the_reference_returns_section() -> None:
    env_id = "RecSimBench/InterestExploration-v0"
    returns = {
        env_id: {"random": {"mean": 2.0, "low": 1.0, "high": 3.0, "episodes": 10, "seed": 7}},
        "command": "python measure.py",
    }
    text = cards.card(env_id, returns)
    section = text.split("\n## Reference returns\n\n", 1)[1]
    assert section.startswith(
        "Mean return per episode with its 95% Student-t interval over 10 episodes (rows of one vector env reset\n"
        "with seed 7), measured by `python measure.py`:\n\n"
        "| policy | mean return | 95% CI |\n|---|---|---|\n| random | 2.00 | [1.00, 3.00] |\n\n- **random**"
    )
    assert text.startswith(f"# {env_id}\n\n| | |\n|---|---|\n| Action Space | `SlateSpace(num_candidates=10, slate_size=2)`")
    assert "\n```python\n>>> import gymnasium as gym\n" in text  # the doctests as a code block


def test_card_refuses_an_id_without_returns_and_returns_of_mixed_protocols() -> None:
    env_id = "RecSimBench/InterestExploration-v0"
    with pytest.raises(ValueError, match="has no reference returns"):
        cards.card(env_id, {"command": "x"})
    mixed = {"a": {"mean": 1.0, "low": 0.0, "high": 2.0, "episodes": 10, "seed": 0}}
    mixed["b"] = {**mixed["a"], "seed": 1}
    with pytest.raises(ValueError, match=r"mix \(episodes, seed\) protocols \[\(10, 0\), \(10, 1\)\]"):
        cards.card(env_id, {env_id: mixed, "command": "x"})


def test_check_lists_stale_cards_and_write_fixes_them(tmp_path, capsys) -> None:
    assert cards.main(["--write", "--docs", str(tmp_path)]) == 0
    assert cards.main(["--check", "--docs", str(tmp_path)]) == 0
    stale = cards.card_path(ENV_IDS[0], tmp_path)
    stale.write_text(stale.read_text(encoding="utf-8").replace("## Description", "## Desc"), encoding="utf-8")
    cards.card_path(ENV_IDS[1], tmp_path).unlink()
    capsys.readouterr()
    assert cards.main(["--check", "--docs", str(tmp_path)]) == 1
    listed = capsys.readouterr().out.splitlines()
    assert listed == [f"stale: {cards.card_path(env_id, tmp_path)} (python -m recsim_bench.envs.cards --write)" for env_id in ENV_IDS[:2]]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_docstrings_hold_no_reference_return(env_id: str) -> None:
    """The numbers live in reference_returns.json only; a docstring quoting one would go stale with it."""
    docstring = type(gym.make(env_id).unwrapped).__doc__
    for policy, result in cards.load_reference_returns()[env_id].items():
        for value in (result["mean"], result["low"], result["high"]):
            for quoted in (f"{value:.2f}", f"{value:.1f}"):
                assert not re.search(rf"(?<![\d.]){re.escape(quoted)}(?!\d)", docstring), f"{policy}: {quoted}"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_docstring_examples_pass(env_id: str) -> None:
    module = importlib.import_module(type(gym.make(env_id).unwrapped).__module__)
    assert doctest.testmod(module, raise_on_error=True).attempted > 0


def _code_blocks(env_id: str) -> list[str]:
    docstring = type(gym.make(env_id).unwrapped).__doc__
    return [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)\n\s*```", docstring, flags=re.DOTALL)]


@pytest.mark.parametrize("env_id", [env_id for env_id in ENV_IDS if _code_blocks(env_id)])
def test_env_docstring_scripts_run(env_id: str, capsys) -> None:
    """The docstrings' code blocks (configurations, measurement scripts) run on today's API."""
    for block in _code_blocks(env_id):  # the configuration blocks assume gym imported, as the Examples do
        exec(compile(block, f"<{env_id} docstring>", "exec"), {"__name__": "__docstring__", "gym": gym})
        if "print(" in block:
            assert capsys.readouterr().out.count("\n") >= 3
