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

    A shopping session on an e-commerce site. A fixed catalogue holds 1,000 products, each of one of 20
    categories, with a description embedding (a unit vector in R^8 near its category's centre) and a lognormal
    price (median 20, from about 4 to 144). Each step the platform is offered 20 products and shows a slate of 5.
    The shopper has hidden category interests, a price sensitivity and a willingness to pay. They click at most
    one product, and a click goes down a funnel: add to cart, then purchase. A purchase satisfies the need, so the
    shopper's interest in that category halves. The session ends when the shopper gives up after five slates
    without a click, or leaves at random.

    The three objectives pull apart: cheap products draw clicks (the affinity rises as the price falls below the
    willingness to pay), purchases need relevant products the shopper can afford, and revenue wants the dearest
    of those. Nothing of the shopper's tastes is observed directly: the platform sees the categories the shopper
    browsed, the cart and the purchases so far.

    Sizes: 1,000 products in 20 categories give each category about 50 products, so 20 random candidates
    cover most categories each step; a slate of 5 (a results page) leaves room for both a favourite category
    and a bargain; 50 steps is a long browsing session, and most sessions end earlier when the shopper leaves
    (about 28 to 32 steps on average under the reference policies).

    ## Action Space

    `SlateSpace(num_candidates=20, slate_size=5)`: a subclass of `MultiDiscrete([20] * 5)` whose entries are
    distinct candidate indices, the first being the top slot. A malformed slate (shape, dtype, range, duplicates,
    NaN) raises `ValueError` before any state changes.

    ## Observation Space

    A `Dict` of float32 `Box`es (fresh arrays every step):

    | key | shape | content |
    |---|---|---|
    | `user` | (26,) | the category histogram of the last 10 clicked products (count / 10 per category, 20 values); cart items / 10; purchases / 10; cart value / 200; spend / 200 (these four capped at 1); patience left (slates without a click still tolerated, / 5); the fraction of `max_steps` elapsed |
    | `candidates` | (20, 21) | each candidate's one-hot category (20) and price; the description embedding is not observed (in this model it tells nothing the category does not) |
    | `response` | (5, 25) | per slot of the last slate: click, add-to-cart, purchase, revenue (capped at 100 here only), then the shown product's 21 features; zeros after reset |

    ## Rewards

    Revenue: the price of every product bought in the step. `info` carries the step's behaviours, one value per
    slot: `click`, `add_to_cart`, `purchase` (0 or 1) and `revenue` (price x purchase, an amount).

    `reward="purchases"` counts purchases, `reward="clicks"` counts clicks, and a dict of behaviour weights mixes
    them: `gym.make("RecSimBench/Ecommerce-v0", reward={"click": 1, "purchase": 5})`. A behaviour the funnel does
    not produce is refused at construction, naming the allowed ones:
    `reward={"click": 1, "purchase": 5, "hate": -2}` raises
    `ValueError: reward: behaviour(s) ['hate'] are not produced by the response model; allowed: ['click', 'add_to_cart', 'purchase', 'revenue']`.

    ## The shopper and the funnel

    For a product of category `c` and price `p`, a shopper with interests `i`, price sensitivity `s` and
    willingness to pay `w`:

    - relevance `rho = i[c]`, in [0, 1];
    - price gap `g = log(p / w)` (negative for a bargain);
    - affinity, which the multinomial logit choice model scores: `a = 3 rho - s g`; the shopper clicks slot `j`
      with probability `exp(a_j) / (sum_k exp(a_k) + exp(2))` (no-click mass 2);
    - over-price factor `f = exp(-s max(g, 0))`: 1 at or below `w`, `(w / p) ** s` above it.

    Given a click: add to cart with probability `f * sigmoid(6 (rho - 0.5))`; an item just added is bought with
    probability `f * 0.6`, otherwise it stays in the cart (abandoned). Revenue is `p * purchase`. So the expected
    revenue of a click is `p f^2 0.6 sigmoid(6 (rho - 0.5))`, which above `w` falls as `p ** (1 - 2 s)` (with
    `s >= 0.5` the dearest product worth offering costs about the willingness to pay). The oracle's
    `expected_given_click` is exactly these expectations; `tests/test_ecommerce.py` checks them against the mean
    of 200,000 keyed draws.

    After each step: the clicked products' categories enter the 10-entry browsing history (a ring buffer); cart
    items and value, purchases and spend are counted; a purchase multiplies the interest in its category by 0.5;
    a step with a click restores patience to 5, a step without one costs 1.

    ## Starting State

    Interests `u ** 3` with `u` uniform on [0, 1] per category (mean 0.25; about one category in five above 0.5),
    price sensitivity uniform on [0.5, 2], willingness to pay lognormal, `log w ~ N(3, 0.5)` (median 20, the
    catalogue's median price). An empty history and cart, patience 5.

    ## Episode End

    - `terminated` when the shopper leaves: after 5 slates in a row without a click, or at random with
      probability 0.02 per step.
    - `truncated` after `max_steps=50` steps.

    ## Arguments

    ```python
    gym.make(
        "RecSimBench/Ecommerce-v0",
        item_model={"name": "catalogue", "num_items": 1000, "num_topics": 20,
                    "observed": ["topic", "price"]},   # embedding_dim 8 (not observed), log price N(3, 0.5), catalogue_seed 0
        user_model={"name": "shopper", "num_topics": 20},       # interest_exponent 3, relevance_weight 3, sensitivity [0.5, 2],
                                                                # wtp_log_mean 3, wtp_log_stddev 0.5, history_length 10,
                                                                # satiation 0.5, patience 5, leave_prob 0.02,
                                                                # count_cap 10, value_cap 200
        choice_model={"name": "multinomial_logit", "no_click_mass": 2.0},
        response_model="funnel",                                # cart_slope 6, cart_offset 0.5, checkout_prob 0.6
        reward="revenue",
        num_candidates=20,
        slate_size=5,
        max_steps=50,
    )
    ```

    Each part is a name or a dict `{"name": ..., **parameters}`. The shopper's `wtp_log_mean` should follow the catalogue's `price_log_mean` if that is changed.
    `choice_model={"name": "position_based", ...}` lets the shopper click several products per slate; the
    history then takes them in slate order.

    ## Examples

    >>> import gymnasium as gym
    >>> import numpy as np
    >>> import recsim_bench
    >>> env = gym.make("RecSimBench/Ecommerce-v0")
    >>> obs, info = env.reset(seed=0)
    >>> {key: value.shape for key, value in obs.items()}
    {'user': (26,), 'candidates': (20, 21), 'response': (5, 25)}
    >>> obs, reward, terminated, truncated, info = env.step([0, 1, 2, 3, 4])  # candidates 0, 1, 2, 3, 4, top slot first
    >>> round(reward, 2), terminated, truncated
    (0.0, False, False)
    >>> info["click"]
    array([0., 0., 0., 0., 1.])
    >>> sorted(info)
    ['add_to_cart', 'click', 'purchase', 'revenue', 'task']
    >>> info["revenue"]  # the reward: revenue of what was bought, per slot
    array([0., 0., 0., 0., 0.])
    >>> envs = gym.make_vec("RecSimBench/Ecommerce-v0", num_envs=3)
    >>> vector_obs, infos = envs.reset(seed=0)
    >>> vector_obs["candidates"].shape
    (3, 20, 21)
    >>> # row i of a vector env reset with seed s is the single env reset with seed s + i:
    >>> row_1, _ = gym.make("RecSimBench/Ecommerce-v0").reset(seed=1)
    >>> all(np.array_equal(row_1[key], vector_obs[key][1]) for key in row_1)
    True

    ## Reference returns

    - **random**: a uniformly random slate of distinct candidates.
    - **greedy**: myopic and non-personalised: the five candidates with the highest expected immediate reward for
      the population's mean shopper (every interest 0.25, sensitivity 1.25, willingness to pay 20).
    - **oracle**: myopic with privileged access: the five candidates with the highest expected immediate reward
      (click probability alone x expected reward given a click) under the shopper's true hidden state.
    - **history** (a long-run reference of this env): personalised from the observation only: the five candidates
      whose categories appear most often in the browsing history (ties to the lower index, a random choice among
      equals since the candidates are a random draw). It ignores price and satiation and barely beats random:
      reading the shopper from what they browsed is left to the agent.

    The same protocol with the other rewards (`reward=...` passed to the env; the script below):

    | policy | `reward="purchases"` | `reward="clicks"` | `reward={"click": 1, "purchase": 5}` |
    |---|---|---|---|
    | random | 3.26 [3.09, 3.44] | 18.37 [17.56, 19.17] | 34.69 [33.08, 36.29] |
    | greedy | 4.58 [4.38, 4.78] | 23.35 [22.46, 24.23] | 46.25 [44.48, 48.03] |
    | oracle | 5.44 [5.22, 5.66] | 24.61 [23.71, 25.50] | 51.12 [49.25, 53.00] |
    | history | 3.36 [3.19, 3.52] | 19.18 [18.36, 20.00] | 35.96 [34.39, 37.54] |

    **The objective changes what is shown.** Per episode, the oracle of each reward (same seed and users;
    random gets 18.37 clicks and 3.26 purchases):

    | oracle of | clicks | purchases | revenue | steps |
    |---|---|---|---|---|
    | `reward="revenue"` | 23.81 | 5.41 | the `oracle` row above | 31.57 |
    | `reward="purchases"` | 24.37 | 5.44 | 80.53 | 31.66 |
    | `reward="clicks"` | 24.61 | 5.26 | 74.39 | 31.62 |

    Optimising clicks shows bargains and gives up 14% of the revenue oracle's revenue.

    Keeping the shopper browsing does not pay here: a privileged policy that adds `lambda * P(click)` to the
    expected revenue of each candidate (to spend the shopper's patience more slowly) earns less than the myopic
    oracle: 80.11 [76.50, 83.71] at lambda 5, 77.84 [74.39, 81.29] at 10, 76.69 [73.31, 80.08] at 20 (same
    protocol). Ecommerce-v0 is about personalisation and the choice of objective, not a long-term trade-off: an
    agent's room is between random (or history) and the oracle, learning each shopper's categories and price
    range from the browsing history and the responses. Measured by:

    ```python
    import gymnasium as gym, numpy as np, recsim_bench
    from recsim_bench.agents import evaluate_episodes
    from recsim_bench.references import PolicyReference, reference_agent, reference_names, top_slates
    from recsim_bench.scoring.metrics import mean_ci

    ID = "RecSimBench/Ecommerce-v0"
    for name in reference_names(ID):  # the other rewards
        for reward in ("purchases", "clicks", {"click": 1, "purchase": 5}):
            run = evaluate_episodes(reference_agent(ID, name), ID, 1000, seed=0, split="train", fresh_users=True, reward=reward)
            print(name, reward, mean_ci(run.returns))

    for reward in ("revenue", "purchases", "clicks"):  # what the oracle of each reward shows
        env, oracle = gym.make_vec(ID, num_envs=1000, reward=reward), reference_agent(ID, "oracle")
        obs, _ = env.reset(seed=0)
        oracle.bind(env.unwrapped)
        totals, done = {"click": 0.0, "purchase": 0.0, "revenue": 0.0, "steps": 0.0}, np.zeros(1000, bool)
        while not done.all():
            obs, _, terminated, truncated, info = env.step(oracle.act(obs))
            for b in ("click", "purchase", "revenue"):
                totals[b] += np.where(done, 0.0, info[b].sum(axis=1)).sum() / 1000
            totals["steps"] += (~done).sum() / 1000
            done |= terminated | truncated
        print(reward, {b: round(float(v), 2) for b, v in totals.items()})

    def patient(lam):  # privileged: expected revenue plus lam * P(click), to spend the shopper's patience slowly
        def policy(env, obs):
            sim, state = env.sim, env.state
            n, k = len(state), sim.num_candidates
            affinity = sim.user_model.affinity(state.user, sim.candidates(state))
            click = sim.choice_model.click_probabilities(affinity.reshape(n * k, 1)).reshape(n, k)
            return top_slates(env.expected_rewards() + lam * click, 5)
        return policy

    for lam in (5, 10, 20):
        print("lambda", lam, mean_ci(evaluate_episodes(PolicyReference(patient(lam)), ID, 1000, seed=0, split="train", fresh_users=True).returns))
    ```

    ## Vectorized environment

    `gym.make_vec("RecSimBench/Ecommerce-v0", num_envs=N)` gives `EcommerceVectorEnv`: the same simulator over N
    shoppers, stepped together in numpy. Row `i` of a vector env reset with seed `s` behaves bit for bit like a
    single env reset with seed `s + i`. It uses `AutoresetMode.NEXT_STEP`: the step after a row's episode ended
    ignores that row's action, starts its next episode and returns reward 0. `info` is Gymnasium's dict of arrays
    (`info["revenue"]` of shape `(N, 5)`, `info["_revenue"]` marking the rows that were stepped).

    ## Version History

    - v0: initial version.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class EcommerceVectorEnv(RecVectorEnv):
    """N shoppers of :class:`EcommerceEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
