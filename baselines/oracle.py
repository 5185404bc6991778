"""The privileged myopic reference: the upper reference of the normalised score.

Each step, every row shows the ``S`` candidates with the highest expected
immediate reward under the row's true hidden user state, read from the bound
env's ``expected_rewards()`` (ties to the lower index). No ordinary agent can see
that state.

It is the best policy for one step, not for an episode. Where a recommendation
changes the user's future it can be beaten: on LongTermSatisfaction it feeds the
user clickbait that erodes satisfaction; on Boredom it repeats the favourite topic
until the user tires of it; on Retention it ignores how a session's satisfaction
decides whether and when the user returns. It also ignores how items compete within
a slate (it ranks each item as if shown alone).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsim_bench.references import top_slates


@dataclasses.dataclass(frozen=True)
class OracleConfig:
    prior: bool = False
    """Rank for the population's mean user instead of the row's own (a non-personalised oracle)."""


class OracleAgent:
    """Top-S by ``env.expected_rewards()``; needs ``bind(env)`` before acting."""

    Config = OracleConfig

    def __init__(self, env_id: str, config: OracleConfig | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or OracleConfig()
        self.env_id = env_id
        self.env: Any = None

    def bind(self, env: Any) -> None:
        """Read the expected rewards of ``env`` (the unwrapped vector env whose observations ``act`` gets)."""
        if not hasattr(env, "expected_rewards"):
            raise ValueError(f"the oracle needs an env with expected_rewards(), got {type(env).__name__}")
        self.env = env

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Nothing to forget: the oracle has no memory."""

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        if self.env is None:
            raise RuntimeError("OracleAgent.act: call bind(env.unwrapped) first (evaluate_agent does)")
        scores = self.env.expected_rewards(prior=self.config.prior)
        if len(scores) != len(obs["candidates"]):
            raise ValueError(f"the bound env has {len(scores)} rows but obs has {len(obs['candidates'])}")
        return top_slates(scores, obs["response"].shape[1])
