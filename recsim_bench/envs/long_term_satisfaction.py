"""RecSimBench/LongTermSatisfaction-v0: RecSim's choc/kale environment."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

SENSITIVITY = 0.2

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "clickbait"},
    "user_model": {"name": "long_term_satisfaction", "sensitivity": SENSITIVITY},
    "choice_model": {"name": "always_first"},
    "response_model": {"name": "engagement"},
    "reward": "engagement",
    "num_candidates": 10,
    "slate_size": 1,
    "max_steps": 100,
}


class LongTermSatisfactionEnv(RecEnv):
    """
    ## Description
    Google RecSim 0.2.4's long-term satisfaction ("choc/kale") environment
    (``recsim/environments/long_term_satisfaction.py``). Items carry a clickbait score in [0, 1].
    Clickbait ("chocolate") engages more now but lowers the user's hidden satisfaction; wholesome items
    ("kale") engage less now but raise it, and satisfaction scales all later engagement. The user always
    consumes the first item, so the recommendation is a single slot. Myopic policies serve chocolate;
    the long-run optimum serves kale.

    ## Action Space
    ``SlateSpace(num_candidates=10, slate_size=1)``.

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (1,): the fraction of ``max_steps`` elapsed (the user's state is hidden);
    - ``candidates`` (10, 1): each candidate's clickbait score;
    - ``response`` (1, 3): click, engagement, and the shown item's clickbait score.

    ## Rewards
    Engagement, lognormal: ``log e ~ N((c * 5 + (1 - c) * 4) * sat, c * 1 + (1 - c) * 1)`` for clickbait ``c``.

    ## Starting State
    Net positive exposure ``(v - 0.5) / (1 - 0.7)`` with ``v`` uniform on [0, 1]; satisfaction its sigmoid.

    ## Episode End
    ``terminated`` after the user's 60-step session budget. ``truncated`` after ``max_steps=100``,
    which the budget makes unreachable with the defaults.

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``). Defaults:
    ``item_model="clickbait"``, ``user_model={"name": "long_term_satisfaction", "sensitivity": 0.2}``
    (memory discount 0.7, innovation stddev 0.05, budget 60), ``choice_model="always_first"``,
    ``response_model="engagement"`` (choc mean 5, kale mean 4, both stddev 1), ``reward="engagement"``,
    ``num_candidates=10``, ``slate_size=1``.

    **Differs from RecSim:** RecSim's sensitivity is 0.01, which keeps satisfaction within 0.49..0.51, so
    the long-term trade-off the environment is about is nearly absent. We use 0.2 (satisfaction then spans 0.34..0.66 and serving kale earns about twice what serving chocolate does). RecSim's value:
    ``gym.make("RecSimBench/LongTermSatisfaction-v0", user_model={"name": "long_term_satisfaction",
    "sensitivity": 0.01})``.

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 957.18 [946.92, 967.44], greedy 624.82 [618.32, 631.32], oracle 624.82 [618.32, 631.32], kale 1282.17 [1268.76, 1295.58].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/LongTermSatisfaction-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/LongTermSatisfaction-v0", num_envs=N)`` gives
    :class:`LongTermSatisfactionVectorEnv` (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version, RecSim 0.2.4's equations with sensitivity 0.2.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class LongTermSatisfactionVectorEnv(RecVectorEnv):
    """N users of :class:`LongTermSatisfactionEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
