"""RecSimBench/InterestEvolution-v0: RecSim's interest-evolution video environment."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

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
