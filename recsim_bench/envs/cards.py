"""Environment cards: ``docs/envs/<Name>-vN.md``, rendered from one source each.

    python -m recsim_bench.envs.cards --write   # rewrite every card
    python -m recsim_bench.envs.cards --check   # exit 1, listing the stale cards

A card is the env class docstring (Markdown, in Gymnasium's sections: Description, Action Space, ...,
Version History), the sole source of its prose, under a title and a table of the spaces read from the
env itself. The ``## Reference returns`` section of the docstring names no number: the card opens it
with the table of :data:`REFERENCE_RETURNS_PATH` (``benchmarks/reference_returns.py`` measures it),
the sole source of those numbers. Doctest blocks (``>>>`` lines and their output) become Python code blocks.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym

from recsim_bench.envs import SUITE
from recsim_bench.files import write_text_atomic

#: Where ``benchmarks/reference_returns.py`` writes the measured reference returns.
REFERENCE_RETURNS_PATH = Path(__file__).resolve().parent / "reference_returns.json"
#: The cards of a source checkout.
DOCS = Path(__file__).resolve().parents[2] / "docs" / "envs"
#: The docstring section that the reference-returns table opens.
RETURNS_HEADING = "## Reference returns"


def load_reference_returns(path: Path | str = REFERENCE_RETURNS_PATH) -> dict[str, Any]:
    """The measured reference returns: ``{env_id: {policy: {"mean", "low", "high", "episodes", "seed", ...}}, "command": ...}``."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def returns_table(env_returns: dict[str, dict[str, Any]]) -> str:
    """The Markdown table of one environment's reference returns, a row per policy in the given order."""
    rows = [f"| {policy} | {r['mean']:.2f} | [{r['low']:.2f}, {r['high']:.2f}] |" for policy, r in env_returns.items()]
    return "\n".join(["| policy | mean return | 95% CI |", "|---|---|---|", *rows])


def returns_section(env_id: str, env_returns: dict[str, dict[str, Any]], command: str) -> str:
    """The opening of a card's reference-returns section: how the numbers were measured, then their table."""
    protocols = {(r["episodes"], r["seed"]) for r in env_returns.values()}
    if len(protocols) != 1:
        raise ValueError(f"{env_id}: the reference returns mix (episodes, seed) protocols {sorted(protocols)}")
    ((episodes, seed),) = protocols
    return (
        f"Mean return per episode with its 95% Student-t interval over {episodes:,} episodes (rows of one vector env reset\n"
        f"with seed {seed}), measured by `{command}`:\n\n{returns_table(env_returns)}"
    )


def card_path(env_id: str, docs: Path = DOCS) -> Path:
    """``docs/<Name>-vN.md`` of a registered id ``Namespace/<Name>-vN``."""
    return docs / f"{env_id.split('/')[-1]}.md"


def _spaces_table(env: gym.Env, env_id: str) -> str:
    k, s = env.action_space.num_candidates, env.action_space.slate_size
    boxes = ", ".join(f"`{key}` {box.shape}" for key, box in env.observation_space.spaces.items())
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            f"| Action Space | `SlateSpace(num_candidates={k}, slate_size={s})`, a `MultiDiscrete({[k] * s})` of distinct candidate indices |",
            f"| Observation Space | a `Dict` of float32 `Box`es: {boxes} |",
            f'| import | `import recsim_bench; gym.make("{env_id}")` |',
        ]
    )


def _fence_doctests(text: str) -> str:
    """Each run of ``>>>`` / ``...`` lines with its expected output (up to a blank line) as a ```` ```python ```` block."""
    return re.sub(r"(?m)^>>> .*(?:\n(?!\s*$).*)*", lambda block: f"```python\n{block.group(0)}\n```", text)


def card(env_id: str, returns: dict[str, Any] | None = None) -> str:
    """The card of a registered id, from its class docstring and ``returns`` (the package's measured file by default)."""
    returns = load_reference_returns() if returns is None else returns
    if env_id not in returns:
        measured = sorted(key for key in returns if key != "command")
        raise ValueError(f"env_id {env_id!r} has no reference returns; measured: {measured}")
    env = gym.make(env_id)
    env.close()
    cls = type(env.unwrapped)
    docstring = inspect.cleandoc(cls.__doc__ or "")
    if docstring.count(f"\n{RETURNS_HEADING}\n") != 1 or not docstring.startswith("## "):
        raise ValueError(f"{cls.__name__}'s docstring must be Markdown sections ('## ...') with one '{RETURNS_HEADING}'")
    before, after = docstring.split(f"\n{RETURNS_HEADING}\n")
    section = returns_section(env_id, returns[env_id], returns["command"])
    body = f"{before}\n{RETURNS_HEADING}\n\n{section}\n\n{after.lstrip()}"
    return f"# {env_id}\n\n{_spaces_table(env, env_id)}\n\n{_fence_doctests(body)}\n"


def write_cards(docs: Path = DOCS) -> list[Path]:
    """Write the card of every id of the suite under ``docs`` (atomically); return the files written."""
    returns = load_reference_returns()
    written = []
    for env_id in SUITE:
        write_text_atomic(card_path(env_id, docs), card(env_id, returns))
        written.append(card_path(env_id, docs))
    return written


def stale_cards(docs: Path = DOCS) -> list[Path]:
    """The cards of the suite under ``docs`` that are missing or differ from what :func:`card` renders."""
    returns = load_reference_returns()
    stale = []
    for env_id in SUITE:
        path = card_path(env_id, docs)
        if not path.exists() or path.read_text(encoding="utf-8") != card(env_id, returns):
            stale.append(path)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsim_bench.envs.cards", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite every card")
    action.add_argument("--check", action="store_true", help="exit 1, listing the cards that --write would change")
    parser.add_argument("--docs", type=Path, default=DOCS, help=f"the cards' folder (default {DOCS})")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_cards(args.docs):
            print(f"wrote {path}")
        return 0
    stale = stale_cards(args.docs)
    for path in stale:
        print(f"stale: {path} (python -m recsim_bench.envs.cards --write)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
