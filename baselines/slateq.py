"""SlateQ (Ie et al., IJCAI 2019): item-wise Q values combined through a choice model into slate values.

One readable file in the manner of CleanRL's ``dqn.py``:

- **Decomposition.** Under the paper's single-choice assumption (the user consumes at most one
  item of the slate, and the reward and next state depend only on that item), the value of a
  slate is ``Q(s, A) = sum_{i in A} P(i | s, A) Qbar(s, i) + P(none | s, A) Qbar(s, none)``: the
  item-wise long-term values ``Qbar`` weighted by the choice probabilities. As in the paper the
  no-click outcome is an item that is always on the slate; unlike RecSim's agent, which treats
  its value as 0, its value ``Qbar(s, none)`` is learned from the no-click steps (a no-click step
  costs the user time without ending the session, so 0 is not its value).
- **Networks.** Two :class:`ItemScorer` towers of the same shape: each encodes the user context
  (``user`` and the flattened last ``response``, scaled by their bounds) and scores every
  candidate by one MLP over ``[context, candidate features]`` shared across candidates, plus a
  score of the no-click outcome from the context alone. The *Q tower* gives ``Qbar(s, i)`` and
  ``Qbar(s, none)``; its Polyak-averaged copy is the target network.
- **Choice model.** The agent does not see the true choice model. The *choice tower* gives
  logits ``u(s, i)`` and ``u(s, none)`` of a conditional (multinomial) logit:
  ``P(i | s, A) = exp u(s, i) / (exp u(s, none) + sum_{j in A} exp u(s, j))``, fitted by maximum
  likelihood to which slots were clicked (the click column of the next ``response``); the
  no-click logit is learned and depends on the state, so no no-click mass needs configuring. A
  step with several clicks (position-based models break single choice) adds one log-likelihood
  term per clicked slot.
- **Slate optimisation: exact.** With ``v = exp u``, ``Q(s, A)`` is the ratio
  ``(v_none Qbar_none + sum_A v_i Qbar_i) / (v_none + sum_A v_i)``. The paper maximises it by a
  linear program (exact) or the top-K / greedy heuristics. For slates of exactly ``S`` distinct
  items, Dinkelbach's method (1967) is exact and cheap: for a guess ``lam`` of the optimum,
  the best slate of ``sum_A v_i (Qbar_i - lam)`` is its top-``S`` items; set ``lam`` to that
  slate's value and repeat until it stops improving. Each step strictly increases ``lam`` until
  it equals the optimum, which takes a handful of batched top-k's (:func:`optimal_slates`).
  The slate lists its items by decreasing ``v_i (Qbar_i - lam)``.
- **Targets: Q-learning, on the next state.** For a clicked item ``i`` with reward ``r_i`` (the
  reward function's weights applied to the slot's observed behaviours),
  ``y_i = r_i + gamma * (1 - terminated) * max_A' Q_target(s', A')``, and for a no-click step
  ``y_none = r + gamma * (1 - terminated) * max_A' Q_target(s', A')``, where ``s'`` is the *next*
  observation (RecSim 0.2.4's ``slate_decomp_q_agent`` bootstraps from the current one, a known
  bug) and the maximum is exact (above), with the target Q tower and the current choice tower.
  A truncated step bootstraps from its episode's last observation (``infos["final_obs"]`` of the
  same-step autoreset vector env); a terminated one does not. Only the consumed outcome of each
  step (the clicked items, or no click) gets a target. Q-learning rather than the paper's SARSA
  variant: it learns the greedy policy's value from a replay buffer of epsilon-greedy data.
- **Collection.** ``num_envs`` users step together; each row shows a uniformly random slate with
  probability ``epsilon`` (linearly decayed) and the optimal slate otherwise. Every step goes into
  a replay buffer on the device; after ``learning_starts`` transitions each vector step makes
  ``updates_per_step`` gradient steps on minibatches of Huber (Q) plus cross-entropy (choice) loss.

``act(deterministic=True)`` shows the optimal slate; ``deterministic=False`` is epsilon-greedy with
``epsilon_end``, its coins keyed per row by the seeds given at :meth:`SlateQAgent.reset`.

Example:
    >>> from baselines.slateq import SlateQAgent, SlateQConfig
    >>> config = SlateQConfig(num_envs=16, buffer_size=1024, batch_size=64, learning_starts=64)
    >>> agent = SlateQAgent("RecSimBench/InterestEvolution-v0", config)
    >>> summary = agent.train("RecSimBench/InterestEvolution-v0", steps=320, seed=0, device="cpu")
    >>> summary["steps"]
    320
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional as F

import recsim_bench  # noqa: F401  (registers the environments)
from baselines import TomlConfigured, build_config, check_steps, checked_env, read_config
from baselines.checkpoint import check_like, check_network_size, load_state_dict, torch_bytes
from baselines.common import ProgressLog, ReturnTracker, resolve_device
from recsim_bench.agents import EnvInfo, env_info, unit_bounds
from recsim_bench.rng import RowStreams
from recsim_bench.files import write_bytes_atomic, write_json_atomic

WEIGHTS_FILE, CONFIG_FILE = "weights.pt", "config.json"
OBSERVATION_KEYS = ("user", "candidates", "response")
STATS = ("q_loss", "choice_loss", "mean_q")  # what the updates report, in progress.csv's order


@dataclasses.dataclass(frozen=True)
class SlateQConfig:
    """SlateQ hyperparameters; the defaults are ``baselines/configs/slateq.toml``'s ``[default]``."""

    num_envs: int = 128
    """Users stepped together (rows of the vector env)."""
    buffer_size: int = 50_000
    """Transitions the replay buffer holds (the oldest are overwritten)."""
    batch_size: int = 256
    """Transitions per gradient step."""
    learning_starts: int = 4_000
    """Transitions collected before the first gradient step."""
    updates_per_step: int = 1
    """Gradient steps per vector-env step (of ``num_envs`` transitions) once learning has started."""
    gamma: float = 0.99
    """Discount factor."""
    learning_rate: float = 1e-3
    """Adam's step size."""
    tau: float = 0.01
    """Polyak coefficient of the target Q tower per gradient step."""
    epsilon_start: float = 1.0
    """Probability of a uniformly random slate at the start of training."""
    epsilon_end: float = 0.05
    """Probability of a random slate after the decay, and in ``act(deterministic=False)``."""
    epsilon_fraction: float = 0.2
    """Fraction of the training budget over which epsilon decays linearly."""
    reward_scale: float = 0.1
    """Rewards are multiplied by this for learning (Q values of order 1-10); logs are unscaled."""
    choice_coef: float = 1.0
    """Weight of the choice model's negative log-likelihood in the loss."""
    hidden_size: int = 64
    """Width of the two hidden layers of the context encoder and of the per-candidate MLP."""
    max_grad_norm: float = 10.0
    """Global gradient-norm clip."""
    optimiser_iterations: int = 10
    """Most Dinkelbach iterations of the slate optimiser (it stops earlier once no row improves)."""
    seed: int = 0
    """Seeds the initial weights, and keys the rows used before any seeded ``reset``."""
    log_every: int = 50
    """Vector-env steps between rows of ``progress.csv`` (and progress lines)."""
    verbose: bool = False
    """Print a progress line with every CSV row."""
    train_steps: int = 300_000
    """The agent's own training budget for ``recsim-bench run`` (capped by the protocol's): one gradient
    step per 128 transitions costs ~6,000 steps/s on a CPU core, so v1's 2M steps would take ~6 minutes a run."""

    def __post_init__(self) -> None:
        for name in ("num_envs", "buffer_size", "batch_size", "hidden_size", "optimiser_iterations", "log_every", "train_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"SlateQConfig: {name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("gamma", "tau", "epsilon_start", "epsilon_end", "epsilon_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SlateQConfig: {name} must be in [0, 1], got {getattr(self, name)!r}")


# ----------------------------------------------------------------------------------------------
# Slate values, the exact slate optimiser and the targets (pure functions, tested by hand)


def choice_probabilities(logits: torch.Tensor, none_logit: torch.Tensor, slates: torch.Tensor) -> torch.Tensor:
    """Conditional-logit probabilities ``(B, S + 1)`` of each slot of ``slates`` (B, S) being chosen, then of no click.

    ``logits`` (B, K) score the candidates, ``none_logit`` (B,) the no-click outcome.
    """
    chosen = torch.cat([logits.gather(1, slates), none_logit.unsqueeze(1)], dim=1)
    return torch.softmax(chosen, dim=1)


def slate_values(
    item_q: torch.Tensor, none_q: torch.Tensor, logits: torch.Tensor, none_logit: torch.Tensor, slates: torch.Tensor
) -> torch.Tensor:
    """``Q(s, A) = sum_{i in A} P(i | s, A) Qbar(s, i) + P(none | s, A) Qbar(s, none)``, shape (B,)."""
    probs = choice_probabilities(logits, none_logit, slates)
    outcome_q = torch.cat([item_q.gather(1, slates), none_q.unsqueeze(1)], dim=1)
    return (probs * outcome_q).sum(1)


def optimal_slates(
    item_q: torch.Tensor,
    none_q: torch.Tensor,
    logits: torch.Tensor,
    none_logit: torch.Tensor,
    slate_size: int,
    iterations: int = 10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The slates (B, S) of ``slate_size`` distinct candidates that maximise :func:`slate_values`, and their values (B,).

    Dinkelbach's method on the ratio ``(v_0 q_0 + sum_A v_i q_i) / (v_0 + sum_A v_i)``, ``v = exp(logit)``:
    ``lam`` starts at ``q_0`` and becomes the value of the top-``S`` slate of ``v_i (q_i - lam)`` until no
    row improves (or ``iterations`` rounds). Each round cannot decrease a row's value, and a round that
    leaves it unchanged has found the optimum.
    """
    shift = torch.maximum(logits.max(1).values, none_logit).unsqueeze(1)
    weights, none_weight = torch.exp(logits - shift), torch.exp(none_logit.unsqueeze(1) - shift).squeeze(1)

    def best_for(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        slates = torch.topk(weights * (item_q - lam.unsqueeze(1)), slate_size, dim=1).indices
        numerator = none_weight * none_q + (weights * item_q).gather(1, slates).sum(1)
        return slates, numerator / (none_weight + weights.gather(1, slates).sum(1))

    slates, value = best_for(none_q)
    for _ in range(iterations):
        candidate, candidate_value = best_for(value)
        improved = candidate_value > value + 1e-6 * (1.0 + value.abs())
        if not bool(improved.any()):
            break
        slates = torch.where(improved.unsqueeze(1), candidate, slates)
        value = torch.where(improved, candidate_value, value)
    # List the items by decreasing contribution at the optimum (matters for position-biased users).
    order = torch.argsort((weights * (item_q - value.unsqueeze(1))).gather(1, slates), dim=1, descending=True)
    return slates.gather(1, order), value


def td_targets(
    slot_rewards: torch.Tensor, none_reward: torch.Tensor, next_value: torch.Tensor, terminated: torch.Tensor, gamma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Q-learning targets of the slots (B, S) and of the no-click outcome (B,).

    ``y = r + gamma * (1 - terminated) * next_value``: ``slot_rewards`` (B, S) are each slot's reward
    if clicked, ``none_reward`` (B,) the step's reward, ``next_value`` (B,) ``max_A' Q_target(s', A')``
    of the next observation (the episode's last one for a truncated row). Which of them a step
    trains (the clicked slots, or no click) is the loss's business.
    """
    bootstrap = gamma * (1.0 - terminated.float()) * next_value
    return slot_rewards + bootstrap.unsqueeze(1), none_reward + bootstrap


# ----------------------------------------------------------------------------------------------
# Networks


class ItemScorer(nn.Module):
    """Scores (B, K) of the candidates and a score (B,) of the no-click outcome from one observation batch.

    The ``user`` and flattened ``response`` observations are scaled by their bounds and encoded
    into a context; each candidate (scaled likewise) is scored by one MLP over ``[context,
    features]`` shared across candidates, and the no-click outcome by a linear head on the context.
    """

    def __init__(self, spaces: dict[str, gym.spaces.Box], hidden: int) -> None:
        super().__init__()
        for key in OBSERVATION_KEYS:
            low, span = _bounds(spaces[key])
            self.register_buffer(f"{key}_low", low)
            self.register_buffer(f"{key}_span", span)
        context_dim = int(np.prod(spaces["user"].shape)) + int(np.prod(spaces["response"].shape))
        feature_dim = int(spaces["candidates"].shape[-1])
        self.context = nn.Sequential(nn.Linear(context_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.item = nn.Sequential(nn.Linear(hidden + feature_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.none = nn.Linear(hidden, 1)

    def _scaled(self, obs: dict[str, torch.Tensor], key: str) -> torch.Tensor:
        return (obs[key] - getattr(self, f"{key}_low")) / getattr(self, f"{key}_span")

    def forward(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        candidates = self._scaled(obs, "candidates")
        context = self.context(torch.cat([self._scaled(obs, "user"), self._scaled(obs, "response").flatten(1)], dim=1))
        expanded = context.unsqueeze(1).expand(-1, candidates.shape[1], -1)
        item = self.item(torch.cat([expanded, candidates], dim=2)).squeeze(2)
        return item, self.none(context).squeeze(1)


def _bounds(box: gym.spaces.Box) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets and spans that map a Box's finite bounds to [0, 1] (:func:`recsim_bench.agents.unit_bounds`), as
    float32 tensors: the network scales in float32."""
    low, span = unit_bounds(box.low, box.high)
    return torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(span, dtype=torch.float32)


class SlateQNetwork(nn.Module):
    """The Q tower (item-wise long-term values) and the choice tower (conditional-logit scores)."""

    def __init__(self, spaces: dict[str, gym.spaces.Box], hidden: int) -> None:
        super().__init__()
        self.q = ItemScorer(spaces, hidden)
        self.choice = ItemScorer(spaces, hidden)


# ----------------------------------------------------------------------------------------------
# Replay buffer


class ReplayBuffer:
    """A ring of transitions on the device: observation, slate, per-slot clicks and rewards, reward, next observation, ending."""

    def __init__(self, capacity: int, spaces: dict[str, gym.spaces.Box], slate_size: int, device: torch.device) -> None:
        self.capacity, self.size, self.position = capacity, 0, 0
        self.data: dict[str, torch.Tensor] = {}
        for key in OBSERVATION_KEYS:
            self.data[key] = torch.zeros((capacity, *spaces[key].shape), device=device)
            self.data[f"next_{key}"] = torch.zeros((capacity, *spaces[key].shape), device=device)
        self.data["slate"] = torch.zeros((capacity, slate_size), dtype=torch.int64, device=device)
        self.data["clicked"] = torch.zeros((capacity, slate_size), dtype=torch.bool, device=device)
        self.data["slot_reward"] = torch.zeros((capacity, slate_size), device=device)
        self.data["reward"] = torch.zeros(capacity, device=device)
        self.data["terminated"] = torch.zeros(capacity, dtype=torch.bool, device=device)

    def add(self, batch: dict[str, torch.Tensor]) -> None:
        """Append a batch of transitions (every key of :attr:`data`, leading axis ``n <= capacity``)."""
        n = len(batch["reward"])
        index = (self.position + torch.arange(n, device=batch["reward"].device)) % self.capacity
        for key, values in self.data.items():
            values[index] = batch[key]
        self.position = (self.position + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        index = torch.randint(self.size, (n,), generator=generator, device=generator.device)
        return {key: values[index] for key, values in self.data.items()}


@dataclasses.dataclass
class _TrainingRun:
    """What a training run carries from one vector step to the next."""

    env: gym.vector.VectorEnv
    coins: np.random.Generator  # the epsilon-greedy coins and random slates
    sampler: torch.Generator  # the replayed minibatches
    optimizer: torch.optim.Adam
    buffer: ReplayBuffer
    click_column: int  # of the behaviours in a response slot
    reward_weights: torch.Tensor  # (B,) a slot's reward = reward_weights @ its behaviours
    obs: dict[str, np.ndarray]  # the current observations
    returns: ReturnTracker


# ----------------------------------------------------------------------------------------------
# The agent


class SlateQAgent(TomlConfigured):
    """SlateQ with a learned conditional-logit choice model and exact slate optimisation (see the module docstring).

    Follows ``recsim_bench.agents.TrainableAgent``.

    Args:
        env_id: the registered environment whose observation sizes, slate size and reward the agent fits.
        config: hyperparameters (default :class:`SlateQConfig`).
        env_kwargs: the environment's ``gym.make`` arguments.
    """

    Config = SlateQConfig
    config_file = "slateq"

    def __init__(self, env_id: str, config: SlateQConfig | None = None, env_kwargs: dict[str, Any] | None = None) -> None:
        self.config = config or SlateQConfig()
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs or {})
        info = env_info(env_id, **self.env_kwargs)
        if "click" not in info.behaviours:
            raise ValueError(f"SlateQ needs a 'click' behaviour in the response; {env_id} has {list(info.behaviours)}")
        env = gym.make(env_id, **self.env_kwargs)
        try:
            self.spaces = {key: env.observation_space[key] for key in OBSERVATION_KEYS}
        finally:
            env.close()
        self.slate_size = info.slate_size
        self.device = torch.device("cpu")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            self.net = SlateQNetwork(self.spaces, self.config.hidden_size)
        self.target_q = copy.deepcopy(self.net.q)
        self.streams = RowStreams(self.config.seed)

    # -- acting -----------------------------------------------------------------------------

    def _to_device(self, obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {key: torch.as_tensor(np.asarray(obs[key]), dtype=torch.float32, device=self.device) for key in OBSERVATION_KEYS}

    @torch.no_grad()
    def greedy(self, obs: dict[str, torch.Tensor], q_net: ItemScorer | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Optimal slates (B, S) and their values (B,) under ``q_net`` (the online Q tower by default) and the choice tower."""
        item_q, none_q = (self.net.q if q_net is None else q_net)(obs)
        logits, none_logit = self.net.choice(obs)
        return optimal_slates(item_q, none_q, logits, none_logit, self.slate_size, self.config.optimiser_iterations)

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Key the epsilon-greedy coins of the rows whose episode started (the agent has no memory)."""
        self.streams.reset(started, seeds)

    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> NDArray[np.int64]:
        """Slates (N, S) int64: the optimal slate, or with ``deterministic=False`` an epsilon-greedy one keyed per row."""
        slates = self.greedy(self._to_device(obs))[0].cpu().numpy().astype(np.int64)
        if deterministic:
            return slates
        n, k = len(slates), self.spaces["candidates"].shape[0]
        uniforms = self.streams.uniforms(n, 1 + k)
        self.streams.advance()
        explore = uniforms[:, 0] < self.config.epsilon_end
        random = np.argsort(uniforms[:, 1:], axis=1)[:, : self.slate_size].astype(np.int64)
        return np.where(explore[:, None], random, slates)

    # -- learning ---------------------------------------------------------------------------

    def targets(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Q-learning targets (scaled rewards) of a replay batch's slots (B, S) and no-click outcomes (B,).

        Bootstraps from ``max_A' Q_target(s', A')`` of the *next* observation (``next_*`` keys).
        """
        next_obs = {key: batch[f"next_{key}"] for key in OBSERVATION_KEYS}
        next_value = self.greedy(next_obs, q_net=self.target_q)[1]
        scale = self.config.reward_scale
        return td_targets(
            batch["slot_reward"] * scale, batch["reward"] * scale, next_value, batch["terminated"], self.config.gamma
        )

    def losses(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Huber loss of the consumed outcomes' Q values, and the choice model's mean negative log-likelihood."""
        obs = {key: batch[key] for key in OBSERVATION_KEYS}
        slot_target, none_target = self.targets(batch)
        clicked = batch["clicked"]
        no_click = ~clicked.any(1)
        item_q, none_q = self.net.q(obs)
        q = torch.cat([item_q.gather(1, batch["slate"]), none_q.unsqueeze(1)], dim=1)
        target = torch.cat([slot_target, none_target.unsqueeze(1)], dim=1)
        consumed = torch.cat([clicked, no_click.unsqueeze(1)], dim=1).float()
        q_loss = (F.smooth_l1_loss(q, target, reduction="none") * consumed).sum() / consumed.sum()
        logits, none_logit = self.net.choice(obs)
        log_probs = torch.log(choice_probabilities(logits, none_logit, batch["slate"]).clamp_min(1e-12))
        choice_loss = -(log_probs * consumed).sum() / len(consumed)
        return q_loss, choice_loss

    def _start(self, env: gym.vector.VectorEnv, info: EnvInfo, seed: int) -> _TrainingRun:
        """A fresh run on ``env`` (whose reward and behaviours ``info`` describes): every row reset with ``seed``
        (row ``i`` with ``seed + i``), an empty replay buffer, a new optimiser."""
        torch.manual_seed(seed)
        coins = np.random.default_rng(seed)
        sampler = torch.Generator(device=self.device).manual_seed(seed)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.config.learning_rate)
        buffer = ReplayBuffer(self.config.buffer_size, self.spaces, self.slate_size, self.device)
        reward_weights = torch.as_tensor(info.reward_weights, dtype=torch.float32, device=self.device)
        obs, _ = env.reset(seed=seed)
        returns = ReturnTracker(self.config.num_envs, window=self.config.num_envs)
        return _TrainingRun(env, coins, sampler, optimizer, buffer, info.behaviours.index("click"), reward_weights, obs, returns)

    def _collect(self, run: _TrainingRun, epsilon: float) -> torch.Tensor:
        """One vector step of epsilon-greedy slates into the replay buffer; returns the optimal slates' values (N,)."""
        n, k = self.config.num_envs, self.spaces["candidates"].shape[0]
        obs = self._to_device(run.obs)
        slates, values = self.greedy(obs)
        slates = slates.cpu().numpy().astype(np.int64)
        explore = run.coins.random(n) < epsilon
        random = np.argsort(run.coins.random((n, k)), axis=1)[:, : self.slate_size]
        slates = np.where(explore[:, None], random, slates)
        next_np, reward, terminated, truncated, infos = run.env.step(slates)

        # The transition's next observation is the episode's last one for rows that just finished
        # (copies: next_np, the next step's observation, keeps the new episodes' first ones).
        stored_next = next_np
        if "final_obs" in infos:
            done = infos["_final_obs"]
            stored_next = {key: next_np[key].copy() for key in OBSERVATION_KEYS}
            for key in OBSERVATION_KEYS:
                stored_next[key][done] = infos["final_obs"][key][done]
        next_obs = self._to_device(stored_next)
        behaviours = next_obs["response"][:, :, : len(run.reward_weights)]
        run.buffer.add(
            {
                **obs,
                **{f"next_{key}": value for key, value in next_obs.items()},
                "slate": torch.as_tensor(slates, device=self.device),
                "clicked": behaviours[:, :, run.click_column] > 0.5,
                "slot_reward": behaviours @ run.reward_weights,
                "reward": torch.as_tensor(reward, dtype=torch.float32, device=self.device),
                "terminated": torch.as_tensor(terminated, device=self.device),
            }
        )
        run.returns.add(reward, terminated | truncated)
        run.obs = next_np
        return values

    def _update(self, run: _TrainingRun) -> tuple[torch.Tensor, torch.Tensor]:
        """``updates_per_step`` gradient steps on replayed minibatches, each followed by the target tower's Polyak step;
        returns the last step's Q and choice losses."""
        cfg = self.config
        for _ in range(cfg.updates_per_step):
            q_loss, choice_loss = self.losses(run.buffer.sample(cfg.batch_size, run.sampler))
            run.optimizer.zero_grad(set_to_none=True)
            (q_loss + cfg.choice_coef * choice_loss).backward()
            nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
            run.optimizer.step()
            with torch.no_grad():
                for target, online in zip(self.target_q.parameters(), self.net.q.parameters()):
                    target.lerp_(online, cfg.tau)
        return q_loss, choice_loss

    def train(
        self,
        env_id: str,
        steps: int,
        seed: int,
        device: str = "auto",
        env_kwargs: dict[str, Any] | None = None,
        log_dir: str | None = None,
    ) -> dict[str, Any]:
        """Train for about ``steps`` environment steps (user-steps, all rows counted: whole vector steps).

        Returns ``{"steps", "wall_time", "steps_per_s", "recent_return", "episodes", "q_loss",
        "choice_loss", "mean_q"}``; ``recent_return`` is the mean (epsilon-greedy) training return of
        the last ``num_envs`` finished episodes (``nan`` if none). Writes ``progress.csv`` and the
        final weights (:meth:`save`) to ``log_dir`` when given.
        """
        cfg = self.config
        check_steps(steps)
        env_kwargs = dict(env_kwargs if env_kwargs is not None else self.env_kwargs)
        info = env_info(env_id, **env_kwargs)
        env = gym.make_vec(env_id, num_envs=cfg.num_envs, autoreset_mode="same_step", **env_kwargs)
        try:
            spaces = {key: env.single_observation_space[key] for key in OBSERVATION_KEYS}
            if any(spaces[key].shape != self.spaces[key].shape for key in OBSERVATION_KEYS) or info.slate_size != self.slate_size:
                raise ValueError(f"SlateQAgent.train: {env_id}'s observation or slate sizes differ from the agent's ({self.env_id})")
            self.device = resolve_device(device)
            self.net.to(self.device)
            self.target_q = copy.deepcopy(self.net.q)
            return self._train_loop(self._start(env, info, seed), int(steps), log_dir)
        finally:
            env.close()

    def _train_loop(self, run: _TrainingRun, total_steps: int, log_dir: str | None) -> dict[str, Any]:
        cfg = self.config
        iterations = max(1, total_steps // cfg.num_envs)
        steps_done, start = 0, time.perf_counter()
        stats = dict.fromkeys(STATS, float("nan"))
        with ProgressLog(log_dir, ["steps", "wall_time", "steps_per_s", "recent_return", "epsilon", *STATS]) as log:
            for iteration in range(iterations):
                decayed = min(1.0, iteration / max(1.0, cfg.epsilon_fraction * iterations))
                epsilon = cfg.epsilon_start + decayed * (cfg.epsilon_end - cfg.epsilon_start)
                values = self._collect(run, epsilon)
                steps_done += cfg.num_envs
                if run.buffer.size >= cfg.learning_starts:
                    q_loss, choice_loss = self._update(run)
                    stats = {"q_loss": q_loss.item(), "choice_loss": choice_loss.item(), "mean_q": values.mean().item() / cfg.reward_scale}
                if (iteration + 1) % cfg.log_every == 0 or iteration == iterations - 1:
                    self._report(log, steps_done, time.perf_counter() - start, run.returns.mean(), epsilon, stats)
        if log_dir is not None:
            self.save(log_dir)
        elapsed = time.perf_counter() - start
        return {
            "steps": steps_done,
            "wall_time": elapsed,
            "steps_per_s": steps_done / elapsed if elapsed > 0 else float("nan"),
            "recent_return": run.returns.mean(),
            "episodes": run.returns.episodes,
            **stats,
        }

    def _report(self, log: ProgressLog, steps: int, elapsed: float, mean_return: float, epsilon: float, stats: dict[str, float]) -> None:
        """A row of ``progress.csv`` and, when ``verbose``, a progress line."""
        log.write([steps, f"{elapsed:.2f}", f"{steps / elapsed:.0f}", f"{mean_return:.3f}", f"{epsilon:.3f}", *(f"{stats[key]:.5f}" for key in STATS)])
        if self.config.verbose:
            print(
                f"slateq {steps:>10,d} steps  {steps / elapsed:>7,.0f} steps/s  return {mean_return:7.2f}  "
                f"eps {epsilon:.2f}  q loss {stats['q_loss']:.4f}  choice nll {stats['choice_loss']:.4f}  "
                f"mean Q {stats['mean_q']:.1f}",
                flush=True,
            )

    # -- saving and loading -----------------------------------------------------------------

    def save(self, path: str) -> None:
        """Write ``weights.pt`` (the network's state dict) and ``config.json`` into directory ``path``."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(directory / WEIGHTS_FILE, torch_bytes({key: value.detach().cpu() for key, value in self.net.state_dict().items()}))
        meta = {"agent": "slateq", "env_id": self.env_id, "env_kwargs": self.env_kwargs, "config": dataclasses.asdict(self.config)}
        write_json_atomic(directory / CONFIG_FILE, meta)

    @classmethod
    def load(cls, path: str, device: str = "auto") -> "SlateQAgent":
        """An agent from a directory written by :meth:`save`; a tampered or foreign file raises ``ValueError``.

        ``config.json``'s env id and kwargs are checked before the env is made (:func:`baselines.checked_env`),
        its config's fields and types, and the size of the network it describes; then ``weights.pt`` must hold
        exactly the network's tensors, each of its shape and dtype, all finite.
        """
        directory, owner = Path(path), "SlateQAgent.load"
        meta = read_config(directory, owner, "slateq")
        env_id, env_kwargs = checked_env(meta, owner, directory / CONFIG_FILE)
        try:
            if not isinstance(meta.get("config"), dict):
                raise ValueError(f"config must be an object, got {meta.get('config')!r}")
            config = build_config(SlateQConfig, meta["config"], "config")
            with torch.device("meta"):  # sizes first: the network is built on no memory
                probe = cls(env_id, config, env_kwargs)
        except (KeyError, ValueError, gym.error.Error) as error:
            raise ValueError(f"{owner}: {directory / CONFIG_FILE} is not a config written by SlateQAgent.save: {error}") from None
        check_network_size(lambda: probe.net, owner, directory / CONFIG_FILE)
        agent = cls(env_id, config, env_kwargs)
        state = load_state_dict(directory / WEIGHTS_FILE, owner)
        check_like(state, agent.net.state_dict(), owner, directory / WEIGHTS_FILE)
        agent.net.load_state_dict(state, strict=True)
        agent.device = resolve_device(device)
        agent.net.to(agent.device)
        agent.target_q = copy.deepcopy(agent.net.q)
        return agent


__all__ = [
    "ItemScorer",
    "ReplayBuffer",
    "SlateQAgent",
    "SlateQConfig",
    "SlateQNetwork",
    "choice_probabilities",
    "optimal_slates",
    "slate_values",
    "td_targets",
]
