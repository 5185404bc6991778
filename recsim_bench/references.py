"""Reference policies: what the suite reads an agent's score against.

Every reference is an agent of the protocol in :mod:`recsim_bench.agents` (``act``, ``reset``,
and ``bind`` for the privileged ones, which read the bound vector env's hidden state):

- :class:`RandomReference`: a uniformly random slate of distinct candidates, from per-row
  streams keyed by the rows' seeds (the normalised score's 0);
- :class:`OracleReference`: myopic with privileged access: the ``S`` candidates with the
  highest expected immediate reward under the row's true hidden user state
  (``env.expected_rewards()``); with ``prior=True`` it is the ``greedy`` reference, myopic and
  not personalised: the same ranking for the population's mean user. The oracle is not the
  optimal policy: it ignores what a recommendation does to the user's future;
- the long-run policies of each environment (:data:`LONG_RUN_POLICIES`), functions
  ``(env, obs) -> slates`` run as agents by :class:`PolicyReference`. They are what beats the
  myopic oracle where the future matters (LongTermSatisfaction's ``kale``, Boredom's ``fresh``,
  Retention's ``satisfying``, ...); the protocol's upper reference ``best`` is the best of the
  oracle and these.

:func:`reference_names` lists the references of an environment and :func:`reference_agent` builds one. Ties are broken by
candidate index (a stable sort of the negated scores). Nothing here draws from a shared
generator, so a reference scores the same in any batch size.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from recsim_bench.envs import NAMESPACE, SUITE
from recsim_bench.rng import RowStreams

Policy = Callable[[Any, dict[str, NDArray[np.float32]]], NDArray[np.int64]]
"""A reference policy: ``(env, obs) -> slates``, with ``env`` the unwrapped vector env, ``obs`` its batched
observation and ``slates`` an ``(N, S)`` int64 array of distinct candidate indices."""


def top_slates(scores: NDArray[np.floating], slate_size: int) -> NDArray[np.int64]:
    """The ``slate_size`` highest-scoring candidates of each row of ``scores`` ``(N, K)``, best first.

    Ties go to the lower candidate index.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), axis=1, kind="stable")
    return order[:, :slate_size].astype(np.int64)


# ----------------------------------------------------------------------------- random and oracle
@dataclasses.dataclass(frozen=True)
class RandomConfig:
    seed: int = 0
    """Keys the rows used before any seeded ``reset`` (row ``i`` gets ``seed + i``); evaluations reseed every row."""


class RandomReference:
    """Uniformly random distinct slates (``deterministic`` has no effect).

    Each step every row ranks its candidates by fresh uniforms of its own stream
    (:class:`~recsim_bench.rng.RowStreams`, keyed by the seeds given at :meth:`reset`) and
    shows the first ``S``, so an evaluation gives the same numbers whatever its batch size.
    ``env_id`` and ``env_kwargs`` are accepted for the agents' common constructor and not needed.
    """

    Config = RandomConfig

    def __init__(self, env_id: str | None = None, config: RandomConfig | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or RandomConfig()
        self.streams = RowStreams(self.config.seed)

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        self.streams.reset(started, seeds)

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        num_rows, num_candidates = obs["candidates"].shape[:2]
        keys = self.streams.uniforms(num_rows, num_candidates)
        self.streams.advance()
        return np.argsort(keys, axis=1, kind="stable")[:, : obs["response"].shape[1]].astype(np.int64)


@dataclasses.dataclass(frozen=True)
class OracleConfig:
    prior: bool = False
    """Rank for the population's mean user instead of the row's own: the ``greedy`` reference."""


class OracleReference:
    """Top-S by the bound env's ``expected_rewards(prior)`` (ties to the lower index); needs :meth:`bind`.

    Myopic: it is the best policy for one step, not for an episode. Where a recommendation
    changes the user's future it can be beaten: on LongTermSatisfaction it feeds the user
    clickbait that erodes satisfaction; on Boredom it repeats the favourite topic until the
    user tires of it; on Retention it ignores how a session's satisfaction decides whether and
    when the user returns. It also ranks each item as if shown alone.
    """

    Config = OracleConfig

    def __init__(self, env_id: str | None = None, config: OracleConfig | None = None, env_kwargs: dict | None = None) -> None:
        self.config = config or OracleConfig()
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
            raise RuntimeError("OracleReference.act: call bind(env.unwrapped) first (the evaluations do)")
        scores = self.env.expected_rewards(prior=self.config.prior)
        if len(scores) != len(obs["candidates"]):
            raise ValueError(f"the bound env has {len(scores)} rows but obs has {len(obs['candidates'])}")
        return top_slates(scores, obs["response"].shape[1])


class PolicyReference:
    """A :data:`Policy` as an agent: bound to the vector env, whose hidden state privileged policies read."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.env: Any = None

    def bind(self, env: Any) -> None:
        self.env = env

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Nothing to clear: a policy keeps no memory."""

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        return self.policy(self.env, obs)


# ----------------------------------------------------------------------------- InterestEvolution
#: The ``quality`` reference's price of a minute of time budget, in minutes watched (see :func:`quality_policy`).
BUDGET_VALUE = 1.5


@functools.lru_cache(maxsize=8)
def _all_slates(num_candidates: int, slate_size: int) -> NDArray[np.int64]:
    """Every set of ``slate_size`` distinct candidates, ``(C(K, S), S)``, each in increasing order (read-only: cached)."""
    slates = np.array(list(itertools.combinations(range(num_candidates), slate_size)), dtype=np.int64)
    slates.flags.writeable = False
    return slates


def quality_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """Budget-aware, privileged: the slate of the highest expected watch time plus value of the budget change.

    A click on video ``i`` watches ``w_i = min(4, budget)`` minutes (the reward) and changes the budget by
    ``db_i = -w_i + budget_utility_scale * w_i * q_i`` (hidden quality ``q_i``); a slate without a click
    costs ``step_penalty = 0.5``. Pricing a minute of budget at ``lam`` minutes watched (the Lagrange
    multiplier of the budget), a slate ``A`` is worth ``sum_{i in A} P(click i | A) * v_i - 0.5 lam`` with

        ``v_i = w_i + lam * (db_i + step_penalty)``,

    ``P(click i | A)`` the choice model's under the true interests. Every slate of ``S`` of the ``K``
    candidates is scored (45 for the defaults) and the best shown, highest ``v_i`` first. With ``lam = 0``
    this is the myopic oracle. ``lam = 1.5`` (:data:`BUDGET_VALUE`) is about what the policy itself earns
    per minute of budget (~296 minutes watched from 200), the self-consistent price: a nutritious click
    (quality up to 3) costs under a minute of budget, a trashy one up to 7, so a click on a liked trashy
    video can be worth less than a likely no-click on a good one. Interest changes are ignored.
    """
    state, sim = env.state, env.sim
    candidates, user_model = sim.candidates(state), sim.user_model
    watch = np.minimum(candidates["length"], state.user["time_budget"][:, None])  # (N, K)
    budget_change = -watch + user_model.budget_utility_scale * watch * candidates["quality"]
    value = watch + BUDGET_VALUE * (budget_change + user_model.step_penalty)  # (N, K)

    slates = _all_slates(sim.num_candidates, sim.slate_size)  # (C, S)
    n, c, s = len(value), len(slates), sim.slate_size
    interest = user_model.affinity(state.user, candidates)[:, slates]  # (N, C, S)
    click = sim.choice_model.click_probabilities(interest.reshape(n * c, s)).reshape(n, c, s)
    best = slates[np.argmax((click * value[:, slates]).sum(axis=2), axis=1)]  # (N, S)
    order = np.argsort(-np.take_along_axis(value, best, axis=1), axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1)


# ----------------------------------------------------------------------------- LongTermSatisfaction
def kale_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """Always the least clickbait candidates (the observed feature), lowest first: the long-run choice."""
    clickbait = obs["candidates"][:, :, 0]
    return np.argsort(clickbait, axis=1, kind="stable")[:, : env.single_action_space.slate_size].astype(np.int64)


# ----------------------------------------------------------------------------- Boredom
def _ranked(scores: NDArray[np.float64], topic: NDArray[np.int64], slate_size: int, one_per_topic: bool) -> NDArray[np.int64]:
    """The ``slate_size`` best candidates by ``scores`` (ties to the lower index), best first; with
    ``one_per_topic`` the best candidate of each topic comes before any second one of a topic."""
    order = np.argsort(-scores, axis=1, kind="stable")
    if not one_per_topic:
        return order[:, :slate_size].astype(np.int64)
    ranked = np.take_along_axis(topic, order, axis=1)
    k = ranked.shape[1]
    above = np.tri(k, k, -1, dtype=bool)  # above[i, j]: rank j is better than rank i
    repeat = ((ranked[:, :, None] == ranked[:, None, :]) & above).any(axis=2)
    pick = np.argsort(repeat, axis=1, kind="stable")[:, :slate_size]
    return np.take_along_axis(order, pick, axis=1).astype(np.int64)


def _fresh_scores(env: Any) -> NDArray[np.float64]:
    """The oracle's expected rewards (in [0, 1]) minus 2 for candidates whose topic already has
    ``threshold - 1`` entries in the user's window, so that they rank below every other candidate."""
    state = env.state
    counts = np.take_along_axis(state.user["window_counts"], env.sim.candidates(state)["topic"], axis=1)
    near = counts >= env.sim.user_model.threshold - 1
    return env.expected_rewards() - 2.0 * near


def diverse_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """The myopic oracle's ranking with at most one candidate per topic (while the candidates allow)."""
    return _ranked(env.expected_rewards(), env.sim.candidates(env.state)["topic"], env.single_action_space.slate_size, True)


def fresh_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """The myopic oracle's ranking, candidates of topics one click from boredom last."""
    return _ranked(_fresh_scores(env), env.sim.candidates(env.state)["topic"], env.single_action_space.slate_size, False)


def diverse_fresh_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """Both: one candidate per topic, and topics one click from boredom last."""
    return _ranked(_fresh_scores(env), env.sim.candidates(env.state)["topic"], env.single_action_space.slate_size, True)


# ----------------------------------------------------------------------------- Retention
def satisfying_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """Retention-aware, privileged: the S candidates whose click would satisfy the user most,
    ``p . e - clickbait_cost * c`` under the true hidden preference, best first."""
    state = env.state
    satisfaction = env.sim.user_model.click_satisfaction(state.user, env.sim.candidates(state))
    return top_slates(satisfaction, env.single_action_space.slate_size)


# ----------------------------------------------------------------------------- Ecommerce
def history_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """Personalised from the observation only: top-S candidates by how often their category is in the
    user's browsing history (the observed histogram); ties to the lower index (the candidates are a
    random draw, so that is a random choice among equals)."""
    topics = env.sim.user_model.num_topics
    score = np.einsum("nkt,nt->nk", obs["candidates"][:, :, :topics], obs["user"][:, :topics])
    return top_slates(score, env.single_action_space.slate_size)


# ----------------------------------------------------------------------------- ColdStart
#: Train users drawn (from a fixed seed) to estimate each catalogue item's popularity.
POPULARITY_USERS = 20_000


@functools.lru_cache(maxsize=8)
def item_popularity(item_model: Any, user_model: Any, choice_model: Any) -> NDArray[np.float64]:
    """Each catalogue item's click probability in the top slot, averaged over train users: ``(num_items,)``.

    A Monte Carlo estimate over :data:`POPULARITY_USERS` train users drawn with ``numpy.random.default_rng(0)``;
    read-only, since every caller of the same parts shares it (cached).
    """
    generator = np.random.default_rng(0)
    users = user_model.init(generator.random((POPULARITY_USERS, user_model.init_uniforms)), np.zeros(POPULARITY_USERS, np.int64))
    catalogue = item_model.catalogue
    every_item = {name: np.broadcast_to(values, (1, *values.shape)) for name, values in catalogue.items()}
    total = np.zeros(len(catalogue["item_id"]))
    for start in range(0, POPULARITY_USERS, 1000):
        block = {name: values[start : start + 1000] for name, values in users.items()}
        items = {name: np.broadcast_to(values, (len(block["segment"]), *values.shape[1:])) for name, values in every_item.items()}
        affinity = user_model.affinity(block, items)
        total += choice_model.click_probabilities(affinity.reshape(-1, 1)).reshape(affinity.shape).sum(axis=0)
    popularity = total / POPULARITY_USERS
    popularity.flags.writeable = False
    return popularity


def popularity_policy(env: Any, obs: dict[str, NDArray[np.float32]]) -> NDArray[np.int64]:
    """Non-adaptive: the candidates most clicked by the train population (:func:`item_popularity`), best first."""
    sim = env.sim
    popularity = item_popularity(sim.item_model, sim.user_model, sim.choice_model)
    return top_slates(popularity[env.state.items["item_id"]], sim.slate_size)


# ----------------------------------------------------------------------------- the table
#: Each environment's long-run references beyond random, greedy and oracle, by name.
LONG_RUN_POLICIES: dict[str, dict[str, Policy]] = {
    f"{NAMESPACE}/InterestEvolution-v0": {"quality": quality_policy},
    f"{NAMESPACE}/LongTermSatisfaction-v0": {"kale": kale_policy},
    f"{NAMESPACE}/InterestExploration-v0": {},
    f"{NAMESPACE}/Boredom-v0": {"diverse": diverse_policy, "fresh": fresh_policy, "diverse_fresh": diverse_fresh_policy},
    f"{NAMESPACE}/Retention-v0": {"satisfying": satisfying_policy},
    f"{NAMESPACE}/Ecommerce-v0": {"history": history_policy},
    f"{NAMESPACE}/ColdStart-v0": {"popularity": popularity_policy},
}

#: The references every environment has.
COMMON_REFERENCES = ("random", "greedy", "oracle")


def reference_agent(env_id: str, name: str) -> Any:
    """A fresh agent of the reference ``name`` of ``env_id`` (one of :func:`reference_names`)."""
    names = reference_names(env_id)
    if name not in names:
        raise ValueError(f"reference must be one of {names} for {env_id}, got {name!r}")
    if name == "random":
        return RandomReference()
    if name in ("greedy", "oracle"):
        return OracleReference(config=OracleConfig(prior=name == "greedy"))
    return PolicyReference(LONG_RUN_POLICIES[env_id][name])


def reference_names(env_id: str) -> list[str]:
    """The references of ``env_id``: :data:`COMMON_REFERENCES`, then its :data:`LONG_RUN_POLICIES`."""
    if env_id not in SUITE:
        raise ValueError(f"env_id must be one of {sorted(SUITE)}, got {env_id!r}")
    return [*COMMON_REFERENCES, *LONG_RUN_POLICIES[env_id]]


__all__ = [
    "BUDGET_VALUE",
    "COMMON_REFERENCES",
    "LONG_RUN_POLICIES",
    "POPULARITY_USERS",
    "OracleConfig",
    "OracleReference",
    "Policy",
    "PolicyReference",
    "RandomConfig",
    "RandomReference",
    "diverse_fresh_policy",
    "diverse_policy",
    "fresh_policy",
    "history_policy",
    "item_popularity",
    "kale_policy",
    "popularity_policy",
    "quality_policy",
    "reference_agent",
    "reference_names",
    "satisfying_policy",
    "top_slates",
]
