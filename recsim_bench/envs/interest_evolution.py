"""RecSimBench/InterestEvolution-v0: RecSim's interest-evolution video environment."""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench.envs.core import RecEnv, RecVectorEnv

if TYPE_CHECKING:
    from recsim_bench.references import Policy

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "topic_quality"},
    "user_model": {"name": "interest_evolution"},
    "choice_model": {"name": "multinomial_proportional", "min_normalizer": -1.0, "no_click_mass": 1.0},
    "response_model": {"name": "watch_time"},
    "reward": "watch_time",
    "num_candidates": 10,
    "slate_size": 2,
    "max_steps": 500,
}

#: The ``quality`` reference's price of a minute of time budget, in minutes watched (see :func:`quality_policy`).
BUDGET_VALUE = 1.5


@functools.lru_cache(maxsize=8)
def _all_slates(num_candidates: int, slate_size: int) -> NDArray[np.int64]:
    """Every set of ``slate_size`` distinct candidates, ``(C(K, S), S)``, each in increasing order."""
    return np.array(list(itertools.combinations(range(num_candidates), slate_size)), dtype=np.int64)


def quality_policy(env: Any, obs: dict[str, NDArray[np.float32]], rng: np.random.Generator) -> NDArray[np.int64]:
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


#: References beyond random, greedy and oracle, measured by ``benchmarks/reference_returns.py``.
EXTRA_POLICIES: dict[str, Policy] = {"quality": quality_policy}


class InterestEvolutionEnv(RecEnv):
    """
    ## Description
    Google RecSim 0.2.4's interest-evolution environment (``recsim/environments/interest_evolution.py``,
    the ``UtilityModelVideoSampler`` / ``UtilityModelUserSampler`` configuration used in the SlateQ paper,
    Ie et al. 2019). Each step the platform sees 10 fresh videos, each from one of 20 topics, and shows a
    slate of 2. Trashy topics (the first 14) have low quality, nutritious ones (the last 6) high quality.
    The user picks at most one video with a proportional choice model; a click moves the user's interest
    in the topic, and high-quality videos lengthen the session while low-quality ones shorten it. A myopic
    policy chases the topics the user likes now; a far-sighted one also serves quality to keep the user:
    the privileged ``quality`` reference (:func:`quality_policy`, in ``EXTRA_POLICIES``) prices the budget
    a click spends or gives back and watches about 1.8 times as long as the myopic oracle.

    ## Action Space
    ``SlateSpace(num_candidates=10, slate_size=2)``: a ``MultiDiscrete([10, 10])`` of distinct candidate
    indices (the first is the top slot).

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (21,): the user's interest in each topic in [-1, 1] (observed, as in RecSim), then the
      fraction of ``max_steps`` elapsed;
    - ``candidates`` (10, 20): each candidate's one-hot topic;
    - ``response`` (2, 22): per slot of the last slate: click, watch time, then the shown video's one-hot topic.

    ## Rewards
    Minutes watched: the clicked video's length (4) capped by the remaining time budget.
    ``reward="clicks"`` or a dict such as ``{"click": 1.0, "watch_time": 0.1}`` changes it.

    ## Starting State
    Interests uniform on [-1, 1] per topic; time budget 200 minutes.

    ## Episode End
    ``terminated`` when the time budget is spent: a click spends the watch time and gives back
    ``0.9 / 3.4 * watch_time * quality``; a slate without a click costs 0.5. ``truncated`` after
    ``max_steps=500`` steps, which the budget makes practically unreachable with the defaults (a step
    costs at least 0.5 minutes unless a video's quality exceeds 3.31, over 3 standard deviations above the
    best topic's mean).

    ## Arguments
    ``item_model``, ``user_model``, ``choice_model``, ``response_model``: a part name or a dict
    ``{"name": ..., **parameters}``; ``reward``: a name or a dict of behaviour weights;
    ``num_candidates``, ``slate_size``, ``max_steps``. Defaults:
    ``item_model={"name": "topic_quality"}`` (20 topics, quality N(topic mean, 0.1), length 4),
    ``user_model={"name": "interest_evolution"}``,
    ``choice_model={"name": "multinomial_proportional", "min_normalizer": -1, "no_click_mass": 1}``,
    ``response_model="watch_time"``, ``reward="watch_time"``, ``num_candidates=10``, ``slate_size=2``.
    These are RecSim's values; nothing differs.

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 153.90 [153.19, 154.62], greedy 153.85 [153.13, 154.57], oracle 164.87 [163.31, 166.43], quality 296.48 [292.70, 300.25].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/InterestEvolution-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/InterestEvolution-v0", num_envs=N)`` gives :class:`InterestEvolutionVectorEnv`,
    the same simulator over N users (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version, RecSim 0.2.4's equations.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class InterestEvolutionVectorEnv(RecVectorEnv):
    """N users of :class:`InterestEvolutionEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
