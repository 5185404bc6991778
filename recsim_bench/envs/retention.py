"""RecSimBench/Retention-v0: several sessions of one user; clickbait wins clicks now and loses the user."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "catalogue", "observed": ["topic", "embedding", "clickbait"]},
    "user_model": {"name": "retention"},
    "choice_model": {"name": "multinomial_logit", "no_click_mass": 2.0},
    "response_model": {"name": "click"},
    "reward": "clicks",
    "num_candidates": 10,
    "slate_size": 3,
    "max_steps": 160,
}


class RetentionEnv(RecEnv):
    """
    ## Description
    One episode is every session of one user, up to 8 sessions of at most 20 steps. Each step the platform
    is offered 10 items of a fixed catalogue of 1,000 (topic, unit embedding in R^8, clickbait score in
    [0, 1]) and shows a slate of 3; the user clicks at most one (multinomial logit with a no-click option)
    with affinity ``a = p . e + 2 c`` for a hidden preference ``p`` (norm 2). Clickbait draws clicks, but
    a click satisfies the user by ``s = p . e - 1.5 c``. A hidden temper (3 at a session's start) moves by
    ``s - 0.3`` after a click and falls by 1 after a slate without one; the user leaves the session when it
    is spent or after 20 steps. The user then stays away an exponential number of days with mean
    ``3 exp(-0.3 S)``, ``S`` the session's summed satisfaction, and is gone for good (churns) when the gap
    exceeds 7 days. The myopic oracle serves clickbait: more clicks per step, shorter sessions, users that
    churn. A policy that serves what satisfies gets fewer clicks per step and far more sessions.

    ## Action Space
    ``SlateSpace(num_candidates=10, slate_size=3)``: a ``MultiDiscrete([10, 10, 10])`` of distinct candidate
    indices (the first is the top slot).

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (5,): sessions ended / 8, steps into the current session / 20, the gap in days before the
      current session / 7 (0 in the first session), 1 if this step starts a session after a return, then the
      fraction of ``max_steps`` elapsed; temper and preference are hidden;
    - ``candidates`` (10, 19): each candidate's one-hot topic (10), embedding (8) and clickbait score;
    - ``response`` (3, 20): per slot of the last slate: click, then the shown item's features.

    ## Rewards
    Clicks: 1 per click, so 0 or 1 per step. ``reward`` accepts a name or a dict of behaviour weights over
    ``click`` and ``leave`` (1 on the step that ends a session, reported in slot 0 of ``info["leave"]``),
    e.g. ``{"click": 1, "leave": -5}``. Retention is not rewarded by itself: it shows in the return, as
    the clicks of later sessions.

    ## Starting State
    ``p = 2 z / |z|`` with ``z`` standard normal in R^8 (a uniformly random direction); temper 3, session
    satisfaction 0, no session ended.

    ## Episode End
    ``terminated`` when the user is gone: churned (a return gap over 7 days) or 8 sessions ended (the number
    of sessions ended is observed, so this is a terminal state of the MDP). ``truncated`` after
    ``max_steps=160`` steps, which 8 sessions of at most 20 steps never exceed with the defaults.

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``). Defaults:
    ``item_model={"name": "catalogue", "observed": ["topic", "embedding", "clickbait"]}``
    (the ``catalogue``: 1,000 items, 10 topics, embedding dimension 8; its bounds include the zeros of the
    response after a reset), ``user_model={"name": "retention"}`` (interest scale 2, clickbait boost 2 and
    cost 1.5, temper 3, fatigue 0.3, no-click penalty 1, session length 20, 8 sessions, mean gap 3 days,
    gap sensitivity 0.3, churn after 7 days), ``choice_model={"name": "multinomial_logit",
    "no_click_mass": 2.0}``, ``response_model="click"``, ``reward="clicks"``, ``num_candidates=10``,
    ``slate_size=3``, ``max_steps=160``.

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 8.70 [8.31, 9.09], greedy 7.56 [7.22, 7.90], oracle 13.49 [12.87, 14.11], satisfying 31.29 [30.13, 32.44].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/Retention-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/Retention-v0", num_envs=N)`` gives :class:`RetentionVectorEnv`, the same
    simulator over N users (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class RetentionVectorEnv(RecVectorEnv):
    """N users of :class:`RetentionEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
