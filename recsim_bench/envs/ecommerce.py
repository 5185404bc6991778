"""RecSimBench/Ecommerce-v0: a shopping session over a product catalogue, rewarded by revenue."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

NUM_CATEGORIES = 20

DEFAULTS: dict[str, Any] = {
    "item_model": {
        "name": "catalogue",
        "num_items": 1000,
        "num_topics": NUM_CATEGORIES,
        "observed": ["topic", "price"],
    },
    "user_model": {"name": "shopper", "num_topics": NUM_CATEGORIES},
    "choice_model": {"name": "multinomial_logit", "no_click_mass": 2.0},
    "response_model": {"name": "funnel"},
    "reward": "revenue",
    "num_candidates": 20,
    "slate_size": 5,
    "max_steps": 50,
}


class EcommerceEnv(RecEnv):
    """
    ## Description
    A shopping session on an e-commerce site. The catalogue holds 1,000 products, each of one of
    20 categories, with a description embedding in R^8 and a lognormal price (median 20). Each step the
    platform is offered 20 products and shows a slate of 5. The shopper has hidden category interests,
    a price sensitivity and a willingness to pay; they click at most one product (multinomial logit with a
    no-click option), and a click goes down a funnel: add to cart, then purchase. Cheap products attract
    clicks, relevant products at or below the shopper's willingness to pay earn purchases, and revenue
    rewards the dearest of those: clicks, purchases and revenue pull a policy different ways.

    ## Action Space
    ``SlateSpace(num_candidates=20, slate_size=5)``: a ``MultiDiscrete([20] * 5)`` of distinct candidate indices.

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (26,): the category histogram of the last 10 clicked products (counts / 10), cart items / 10,
      purchases / 10, cart value / 200, spend / 200 (each capped at 1), patience left (fraction), then the
      fraction of ``max_steps`` elapsed;
    - ``candidates`` (20, 21): each candidate's one-hot category and price (the description embedding is
      not observed: in this model it tells nothing the category does not);
    - ``response`` (5, 25): per slot of the last slate: click, add-to-cart, purchase, revenue (capped at 100),
      then the shown product's features.

    ## Rewards
    Revenue: the price of each product bought. ``reward="purchases"``, ``reward="clicks"`` or a dict of
    behaviour weights over ``click``, ``add_to_cart``, ``purchase`` and ``revenue`` (e.g.
    ``{"click": 1, "purchase": 5}``) change it; the card gives the reference returns under each.

    ## Starting State
    Category interests ``u ** 3`` (``u`` uniform per category), price sensitivity uniform on [0.5, 2],
    willingness to pay lognormal (``log w ~ N(3, 0.5)``); an empty history and cart; patience 5.
    Affinity ``3 * interest[category] - sensitivity * log(price / wtp)``; given a click, add-to-cart with
    ``f * sigmoid(6 (interest - 0.5))`` and purchase with ``f * 0.6``, ``f = exp(-sensitivity * max(log(price / wtp), 0))``.
    A purchase halves the interest in its category.

    ## Episode End
    ``terminated`` when the shopper leaves: after 5 slates in a row without a click, or at random with
    probability 0.02 per step. ``truncated`` after ``max_steps=50``.

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``). Defaults:
    ``item_model={"name": "catalogue", "num_items": 1000, "num_topics": 20, "observed": ["topic", "price"]}``,
    ``user_model={"name": "shopper", "num_topics": 20}``, ``choice_model={"name": "multinomial_logit", "no_click_mass": 2.0}``,
    ``response_model="funnel"``, ``reward="revenue"``, ``num_candidates=20``, ``slate_size=5``, ``max_steps=50``.

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 54.96 [51.75, 58.16], greedy 59.31 [56.19, 62.43], oracle 86.99 [82.97, 91.02], history 55.56 [52.43, 58.69].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/Ecommerce-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/Ecommerce-v0", num_envs=N)`` gives :class:`EcommerceVectorEnv`,
    the same simulator over N shoppers (``AutoresetMode.NEXT_STEP``).

    ## Version History
    - v0: initial version.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class EcommerceVectorEnv(RecVectorEnv):
    """N shoppers of :class:`EcommerceEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
