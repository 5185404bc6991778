"""Proximal Policy Optimisation over slates, on a RecSimBench vector env of thousands of users.

One readable file in the manner of CleanRL's ``ppo.py`` (Huang et al. 2022), with the
corrections that recommender episodes need:

- **Policy.** The user observation, the last ``response`` (flattened) and the row's history
  summary (below) are encoded by an MLP into a context; every candidate is scored by one MLP over ``[candidate features, context]``
  shared across candidates, so any number of candidates works, plus a linear term in the
  candidate features (wide and deep). The first layer of that MLP is split as
  ``W_c c + W_h h``: ``W_h h`` is computed once per row, not once per candidate. The
  value is an MLP over ``[context, mean of the candidate features]``.
- **History.** The observation shows only the last response; what a user clicked earlier in the
  episode tells its hidden taste. Each row keeps a summary of its episode, per decay ``d`` of
  ``history_decays``: ``m <- d m + (1 - d) x``, an exponential moving average of the step's
  ``x = [sum over slots of behaviour_b * item features, for each behaviour b; sum of the shown
  items' features; sum of each behaviour]`` (zero when an episode starts). It is a fixed
  function of the observations, so the network stays feed-forward and the rollout stores the
  summary as one more input; with ``history_decays = []`` the policy is memoryless.
- **Recent clicks by category.** With ``category_features = T``, the first ``T`` candidate features
  are a one-hot category (a topic). Each row also remembers the categories of its last
  ``recent_clicks`` clicked items (first behaviour > 0, in slate order), and every candidate is
  scored on the count of its own category among them, one-hot encoded: "the user clicked this
  topic 4 times lately" is a sharp input, as a production recommender's bucketised count feature
  is, rather than a product the scoring MLP must learn (docs/agents.md, "Boredom").
- **Slates.** A slate of ``S`` distinct candidates is drawn from a Plackett-Luce distribution over
  the ``K`` scores: the first slot from ``softmax(scores)``, each next slot from the softmax over
  the candidates left. ``log p(slate) = sum_s (score[a_s] - logsumexp(scores of the candidates
  not yet chosen))``. Samples come from the Gumbel-top-S trick (the S largest of ``scores +
  Gumbel noise``; Kool et al. 2019). The acting-deterministically slate is the top-S scores.
- **Entropy.** The chain rule gives ``H(slate) = sum_s E[H(slot s | slots < s)]``; the bonus is
  its one-sample estimate: the sum over slots of the entropy of each sequential softmax given the
  stored slate's prefix.
- **GAE** (Schulman et al. 2016) stops at every episode end; a *truncated* row is bootstrapped
  from the value of its final observation (``infos["final_obs"]`` of the same-step autoreset
  env), a *terminated* row is not (as Stable-Baselines3 does; CleanRL folds the two together).
  The observation after a finished row is the next episode's first.
- **Update.** Per-minibatch advantage normalisation, the clipped surrogate, a value loss, an
  entropy bonus, one global gradient-norm clip; optional linear learning-rate annealing.

Everything that is a tensor stays on the device; the environment steps on the CPU in numpy, and
each step moves one observation batch to the device and one batch of slates back. On CUDA the
forward passes run under bf16 autocast with TF32 matmuls; log-probabilities are computed in float32.

Example:
    >>> from recsim_bench.agents import make_agent
    >>> agent = make_agent("ppo", "RecSimBench/InterestEvolution-v0", {"num_envs": 64, "num_steps": 8})
    >>> summary = agent.train("RecSimBench/InterestEvolution-v0", steps=1024, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

import recsim_bench  # noqa: F401  (registers the environments)
from baselines import TomlConfigured, build_config, check_steps, read_config
from baselines.checkpoint import (
    adam_reference,
    adam_tensors,
    check_like,
    check_network_size,
    load_adam_tensors,
    load_state_dict,
    sim_state_from_tensors,
    sim_state_tensors,
    torch_bytes,
)
from baselines.common import ProgressLog, ReturnTracker, resolve_device
from recsim_bench import rng
from recsim_bench.files import write_bytes_atomic, write_json_atomic

WEIGHTS_FILE, RESUME_FILE, CONFIG_FILE = "weights.pt", "resume.pt", "config.json"
STATS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")  # what an update reports, in progress.csv's order


@dataclasses.dataclass
class PPOConfig:
    """PPO hyperparameters; ``make_agent("ppo", env_id)`` takes them from ``baselines/configs/ppo.toml``."""

    num_envs: int = 1024
    """Users stepped together (rows of the vector env)."""
    num_steps: int = 32
    """Steps per row in a rollout; a rollout holds ``num_envs * num_steps`` transitions."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda."""
    learning_rate: float = 2e-3
    """Adam's step size (at the start, when annealed)."""
    anneal_lr: bool = True
    """Decrease the learning rate linearly to 0 over the training budget."""
    update_epochs: int = 4
    """Passes over each rollout."""
    num_minibatches: int = 8
    """Minibatches per pass."""
    clip_coef: float = 0.2
    """Clipping range of the probability ratio."""
    ent_coef: float = 0.001
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    norm_adv: bool = True
    """Normalise advantages per minibatch."""
    reward_scale: float = 0.1
    """Rewards are multiplied by this for learning (the value targets stay near 1-10); logs are unscaled."""
    context_hidden: tuple[int, ...] = (64, 64)
    """Hidden sizes of the context MLP (user + last response); its last size is the context width."""
    score_hidden: tuple[int, ...] = (64,)
    """Hidden sizes of the per-candidate scoring MLP."""
    value_hidden: tuple[int, ...] = (64,)
    """Hidden sizes of the value MLP."""
    history_decays: tuple[float, ...] = ()
    """Decays in [0, 1) of the moving averages that summarise a row's episode (empty: no history)."""
    cross_history: bool = False
    """Give each candidate's scorer its features times each history block (``c * m``, elementwise)."""
    category_features: int = 0
    """Leading candidate features that one-hot encode a category; each candidate is then scored on its category's count among the row's recent clicks (0: off)."""
    recent_clicks: int = 10
    """How many of a row's last clicked items those counts cover."""
    num_threads: int | None = None
    """Threads of the vector env (``None``: its automatic choice)."""
    log_every: int = 10
    """Iterations between progress lines and CSV rows."""
    checkpoint_every: int = 50
    """Iterations between checkpoints into ``log_dir`` (0: only at the end)."""
    verbose: bool = True
    """Print progress lines."""

    def __post_init__(self) -> None:
        for name in ("num_envs", "num_steps", "update_epochs", "num_minibatches", "log_every", "recent_clicks"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"PPOConfig: {name} must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("context_hidden", "score_hidden", "value_hidden"):
            sizes = getattr(self, name)
            if not (isinstance(sizes, (tuple, list)) and sizes and all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in sizes)):
                raise ValueError(f"PPOConfig: {name} must be a non-empty list of integers >= 1, got {sizes!r}")
        if not all(isinstance(d, (int, float)) and 0.0 <= d < 1.0 for d in self.history_decays):
            raise ValueError(f"PPOConfig: history_decays must be numbers in [0, 1), got {list(self.history_decays)}")
        if not (isinstance(self.category_features, int) and self.category_features >= 0):
            raise ValueError(f"PPOConfig: category_features must be an integer >= 0, got {self.category_features!r}")
        if self.num_minibatches > self.num_envs * self.num_steps:
            raise ValueError(
                f"PPOConfig: num_minibatches must be at most num_envs * num_steps = {self.num_envs * self.num_steps} "
                f"(a minibatch holds at least one transition), got {self.num_minibatches}"
            )
        for name in ("context_hidden", "score_hidden", "value_hidden", "history_decays"):
            setattr(self, name, tuple(getattr(self, name)))  # a TOML or JSON list (make_agent, a checkpoint) arrives as a list

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "PPOConfig":
        """A config from plain values; unknown keys and wrong types raise ``ValueError``."""
        return build_config(cls, values, "PPOConfig")

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(self).items()}


# ----------------------------------------------------------------------------------------------
# Slate distribution and losses (pure functions, tested by hand)


def plackett_luce_log_prob(scores: torch.Tensor, slates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability of ``slates`` (B, S) under Plackett-Luce over ``scores`` (B, K), and the entropy estimate.

    Returns ``(log_prob, entropy)``, each (B,): ``log_prob = sum_s (scores[a_s] - logsumexp over the
    candidates not in a_1..a_{s-1})`` and ``entropy = sum_s H(softmax over those candidates)``.
    """
    scores = scores.float()
    log_prob = scores.new_zeros(scores.shape[0])
    entropy = scores.new_zeros(scores.shape[0])
    masked = scores
    for slot in range(slates.shape[1]):
        chosen = slates[:, slot : slot + 1]
        log_softmax = torch.log_softmax(masked, dim=-1)
        log_prob = log_prob + log_softmax.gather(1, chosen).squeeze(1)
        probs = log_softmax.exp()
        entropy = entropy - (probs * torch.where(probs > 0, log_softmax, 0.0)).sum(-1)
        masked = masked.scatter(1, chosen, -math.inf)
    return log_prob, entropy


def gumbel_top_slates(scores: torch.Tensor, slate_size: int, uniforms: torch.Tensor) -> torch.Tensor:
    """Plackett-Luce samples of ``slate_size`` distinct candidates: the top of ``scores - log(-log(uniforms))``."""
    gumbel = -torch.log(-torch.log(uniforms))
    return torch.topk(scores.float() + gumbel, slate_size, dim=-1).indices


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    final_values: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns (T, N) of a rollout with same-step autoreset.

    Step ``t`` of row ``n`` saw ``values[t]``, got ``rewards[t]`` and ended its episode if
    ``terminated[t] | truncated[t]`` (bool); the observation after it (value ``values[t + 1]``,
    or ``next_value`` after the last step) then belongs to the next episode and is not used.
    A truncated, not terminated, step is bootstrapped from ``final_values[t]``, the value of
    its episode's last observation; a terminated step is not bootstrapped.
    """
    done = (terminated | truncated).float()
    bootstrap = (truncated & ~terminated).float()
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        following = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        target = rewards[t] + gamma * ((1.0 - done[t]) * following + bootstrap[t] * final_values[t])
        delta = target - values[t]
        last = delta + gamma * gae_lambda * (1.0 - done[t]) * last
        advantages[t] = last
    return advantages, advantages + values


def history_step_features(response: torch.Tensor, candidate_dim: int) -> torch.Tensor:
    """What one step adds to the history, (B, (nb + 1) * F + nb) from a ``response`` (B, S, nb + F).

    A response slot holds ``nb`` behaviours then the shown item's ``F`` features. The result is,
    per behaviour ``b``, ``sum_s behaviour_b[s] * features[s]``; then ``sum_s features[s]``; then
    ``sum_s behaviour_b[s]`` for each ``b``.
    """
    behaviours, features = response[..., :-candidate_dim], response[..., -candidate_dim:]
    weighted = torch.einsum("bsn,bsf->bnf", behaviours, features).flatten(1)
    return torch.cat([weighted, features.sum(1), behaviours.sum(1)], dim=-1)


def update_history(history: torch.Tensor, step_features: torch.Tensor, decays: torch.Tensor) -> torch.Tensor:
    """``d m + (1 - d) x`` for every decay: ``history`` (B, D, M), ``step_features`` (B, M), ``decays`` (D,)."""
    d = decays[:, None]
    return d * history + (1.0 - d) * step_features.unsqueeze(1)


def _feature_blocks(history: torch.Tensor, features: int) -> torch.Tensor:
    """The item-feature blocks of a history (B, D, M), as (B, D * (nb + 1), F): per decay, each
    behaviour's weighted features, then the shown features (see :func:`history_step_features`)."""
    blocks = (history.shape[-1] + 1) // (features + 1)  # M = (nb + 1) F + nb
    return history[..., : blocks * features].reshape(history.shape[0], -1, features)


def update_recent_clicks(recent: torch.Tensor, response: torch.Tensor, candidate_dim: int, categories: int) -> torch.Tensor:
    """The categories (B, N) of each row's last N clicked items, oldest first (-1: none yet), moved on by a step.

    ``response`` (B, S, nb + F) holds per slot the behaviours, the first being the click, then the
    shown item's features, whose first ``categories`` are its one-hot category. The step's clicked
    slots enter in slate order; the oldest entries leave.
    """
    item_categories = response[..., -candidate_dim:][..., :categories].argmax(-1)
    entering = torch.where(response[..., 0] > 0, item_categories, -1)
    merged = torch.cat([recent, entering], dim=1)
    order = torch.sort((merged >= 0).to(torch.int8), dim=1, stable=True).indices  # empty entries first, order kept
    return merged.gather(1, order)[:, -recent.shape[1] :]


def category_counts(recent: torch.Tensor, categories: int) -> torch.Tensor:
    """(B, categories) float: how many of each row's recent clicked items (see :func:`update_recent_clicks`) fall in each category."""
    one_hot = nn.functional.one_hot(recent.clamp(min=0), categories) * (recent >= 0).unsqueeze(-1)
    return one_hot.sum(1).float()


def clipped_policy_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped surrogate, to minimise: ``mean(max(-A r, -A clip(r, 1 - clip, 1 + clip)))``, ``r = exp(log_prob - old)``."""
    ratio = torch.exp(log_prob - old_log_prob)
    return torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)).mean()


def minibatch_starts(batch: int, num_minibatches: int) -> range:
    """Where each minibatch of a pass over ``batch`` shuffled transitions begins: minibatches of
    ``batch // num_minibatches``, as many as fit whole (``num_minibatches`` when it divides ``batch``)."""
    minibatch = batch // num_minibatches
    return range(0, batch - minibatch + 1, minibatch)


# ----------------------------------------------------------------------------------------------
# Network


def _mlp(sizes: list[int], activate_last: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if activate_last or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SlateActorCritic(nn.Module):
    """Per-candidate scores (B, K) and a value (B,) from ``user`` (B, U), ``candidates`` (B, K, F), ``response`` (B, S, R) and ``history`` (B, D, M)."""

    def __init__(self, user_dim: int, response_dim: int, candidate_dim: int, history_dim: int, config: PPOConfig) -> None:
        super().__init__()
        width = config.context_hidden[-1]
        first, *rest = config.score_hidden
        self.context = _mlp([user_dim + response_dim + history_dim, *config.context_hidden], activate_last=True)
        # History blocks crossed with each candidate: (behaviours + 1) blocks of candidate_dim per decay.
        decays = len(config.history_decays)
        per_decay = history_dim // decays if decays else 0
        self.cross_blocks = decays * (per_decay + 1) // (candidate_dim + 1) if config.cross_history and decays else 0
        self.categories, self.recent_clicks = config.category_features, config.recent_clicks
        if self.categories > candidate_dim:
            raise ValueError(f"PPOConfig: category_features must be at most the candidate features ({candidate_dim}), got {self.categories}")
        count_dim = self.recent_clicks + 1 if self.categories else 0
        scored_dim = candidate_dim * (1 + self.cross_blocks) + count_dim
        self.score_candidate = nn.Linear(scored_dim, first)  # W_c c + b
        self.score_context = nn.Linear(width, first, bias=False)  # W_h h, once per row
        self.score_rest = _mlp([first, *rest, 1], activate_last=False)
        self.score_wide = nn.Linear(scored_dim, 1, bias=False)  # a linear term in the features: per-item biases come easy
        self.value = _mlp([width + candidate_dim, *config.value_hidden, 1], activate_last=False)
        nn.init.zeros_(self.score_rest[-1].weight)  # uniform slates at the start (CleanRL scales its last actor layer down)
        nn.init.zeros_(self.score_rest[-1].bias)
        nn.init.zeros_(self.score_wide.weight)

    def forward(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        candidates, history = obs["candidates"], obs["history"]
        context = self.context(torch.cat([obs["user"], obs["response"].flatten(1), history.flatten(1)], dim=-1))
        scored = candidates
        if self.cross_blocks:  # c * m for every history block m of item features: e.g. clicks on the candidate's topic
            rows, _, features = candidates.shape
            blocks = _feature_blocks(history, features).reshape(rows, 1, self.cross_blocks, features)
            scored = torch.cat([candidates, (candidates.unsqueeze(2) * blocks).flatten(2)], dim=-1)
        if self.categories:  # the count of the candidate's category among the recent clicks, one-hot
            own = (candidates[..., : self.categories] * obs["category_counts"].unsqueeze(1)).sum(-1)
            own = nn.functional.one_hot(own.round().long().clamp(0, self.recent_clicks), self.recent_clicks + 1)
            scored = torch.cat([scored, own.to(scored.dtype)], dim=-1)
        hidden = torch.relu(self.score_candidate(scored) + self.score_context(context).unsqueeze(1))
        scores = (self.score_rest(hidden) + self.score_wide(scored)).squeeze(-1)
        value = self.value(torch.cat([context, candidates.mean(1)], dim=-1)).squeeze(-1)
        return scores, value


def _observation_dims(space: gym.spaces.Dict, history_decays: tuple[float, ...]) -> dict[str, int]:
    missing = sorted({"user", "candidates", "response"} - set(space.spaces))
    if missing:
        raise ValueError(f"PPO needs observation keys user, candidates, response; missing {missing}")
    candidate_dim = int(space["candidates"].shape[-1])
    behaviours = int(space["response"].shape[-1]) - candidate_dim
    return {
        "user_dim": int(np.prod(space["user"].shape)),
        "response_dim": int(np.prod(space["response"].shape)),
        "candidate_dim": candidate_dim,
        "history_dim": len(history_decays) * ((behaviours + 1) * candidate_dim + behaviours),
    }


# ----------------------------------------------------------------------------------------------
# Rollout storage and the state of a training run


@dataclasses.dataclass
class RolloutStorage:
    """One rollout of ``T = num_steps`` steps of ``N = num_envs`` rows, on the device."""

    obs: dict[str, torch.Tensor]  # key -> (T, N, ...): what the network saw, each row's memory included
    slates: torch.Tensor  # (T, N, S) int64, sampled
    log_probs: torch.Tensor  # (T, N) of the slates when sampled
    values: torch.Tensor  # (T, N)
    rewards: torch.Tensor  # (T, N), times reward_scale
    final_values: torch.Tensor  # (T, N): the value of a truncated row's last observation (0 elsewhere)
    terminated: torch.Tensor  # (T, N) bool
    truncated: torch.Tensor  # (T, N) bool

    @classmethod
    def empty(cls, obs: dict[str, torch.Tensor], num_steps: int, slate_size: int) -> "RolloutStorage":
        """Zeros for ``num_steps`` steps of observations shaped like ``obs`` (N, ...)."""
        rows, device = len(obs["user"]), obs["user"].device
        return cls(
            obs={key: torch.zeros((num_steps, *value.shape), dtype=value.dtype, device=device) for key, value in obs.items()},
            slates=torch.zeros((num_steps, rows, slate_size), dtype=torch.int64, device=device),
            **{name: torch.zeros((num_steps, rows), device=device) for name in ("log_probs", "values", "rewards", "final_values")},
            **{name: torch.zeros((num_steps, rows), dtype=torch.bool, device=device) for name in ("terminated", "truncated")},
        )


@dataclasses.dataclass
class _TrainingRun:
    """What a training run carries from one rollout to the next (and a checkpoint saves, with the agent's weights)."""

    env: gym.vector.VectorEnv
    sampler: torch.Generator  # draws the slates and the minibatches
    seed: int
    obs: dict[str, torch.Tensor]  # the current observations, each row's memory included
    memory: dict[str, torch.Tensor]  # each row's episode memory (see PPOAgent._empty_memory)
    returns: ReturnTracker


# ----------------------------------------------------------------------------------------------
# The agent


class PPOAgent(TomlConfigured):
    """Native PPO over Plackett-Luce slates (see the module docstring); follows ``recsim_bench.agents.TrainableAgent``.

    Args:
        env_id: the environment it is built for (the agents' common constructor; :meth:`train` names its own).
        config: hyperparameters; ``None`` for :class:`PPOConfig`'s defaults. ``make_agent("ppo", env_id, overrides)``
            builds it from ``baselines/configs/ppo.toml``'s ``[default]`` and ``[env_id]`` sections, then ``overrides``.
        env_kwargs: the environment's ``gym.make`` arguments, used by :meth:`train` unless it is given others.
    """

    Config = PPOConfig
    config_file = "ppo"

    def __init__(
        self,
        env_id: str | None = None,
        config: PPOConfig | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.config = config if config is not None else PPOConfig()
        self.env_kwargs = dict(env_kwargs or {})
        self.device = torch.device("cpu")
        self.net: SlateActorCritic | None = None
        self.dims: dict[str, int] = {}
        self.slate_size = 0
        self.steps_done = 0
        self.optimizer: torch.optim.Adam | None = None
        self._generator = np.random.default_rng()
        self._keys: NDArray[np.uint64] | None = None  # per-row sampling keys for act(deterministic=False)
        self._counters: NDArray[np.int64] | None = None
        self._decays = torch.zeros(0)
        self._memory: dict[str, torch.Tensor] | None = None  # per-row episode memory for act() (see _empty_memory)

    # -- building ---------------------------------------------------------------------------

    def _build(self, dims: dict[str, int], slate_size: int, device: torch.device) -> None:
        net = SlateActorCritic(**dims, config=self.config).to(device)  # checks the config against the sizes first
        self.dims, self.slate_size, self.device = dict(dims), int(slate_size), device
        self._decays = torch.tensor(self.config.history_decays, dtype=torch.float32, device=device)
        self._memory = None
        self.net = net
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.config.learning_rate, eps=1e-5)

    def _autocast(self) -> Any:
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")

    def _to_device(self, obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {key: torch.as_tensor(obs[key], device=self.device) for key in ("user", "candidates", "response")}

    def _empty_memory(self, rows: int) -> dict[str, torch.Tensor]:
        """What ``rows`` rows remember when their episodes start: an empty ``history`` summary (N, D, M) and,
        with ``category_features``, no ``recent`` clicked categories (N, recent_clicks), all -1."""
        decays = len(self.config.history_decays)
        per_decay = self.dims["history_dim"] // decays if decays else 0
        memory = {"history": torch.zeros((rows, decays, per_decay), device=self.device)}
        if self.config.category_features:
            memory["recent"] = torch.full((rows, self.config.recent_clicks), -1, dtype=torch.int64, device=self.device)
        return memory

    def _clear(self, memory: dict[str, torch.Tensor], rows: torch.Tensor) -> None:
        """Empty the memory of the ``rows`` (a bool mask) whose episodes start."""
        for key, empty in self._empty_memory(1).items():
            memory[key][rows] = empty[0]

    def _with_memory(self, obs: dict[str, torch.Tensor], memory: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``obs`` with each row's memory moved on by the step that ``obs`` shows (its ``response``), and that memory."""
        history = memory["history"]
        if len(self._decays):
            history = update_history(history, history_step_features(obs["response"], self.dims["candidate_dim"]), self._decays)
        observed, moved = {**obs, "history": history}, {"history": history}
        if "recent" in memory:
            categories = self.config.category_features
            moved["recent"] = update_recent_clicks(memory["recent"], obs["response"], self.dims["candidate_dim"], categories)
            observed["category_counts"] = category_counts(moved["recent"], categories)
        return observed, moved

    # -- acting -----------------------------------------------------------------------------

    def reset(self, started: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Clear the memory of the rows whose episode started, and key their sampling randomness."""
        started = np.asarray(started, dtype=bool)
        if seeds is not None and len(seeds) != len(started):
            raise ValueError(f"seeds must hold one seed per row of started ({len(started)}), got {len(seeds)}")
        if self._memory is not None and len(self._memory["history"]) == len(started):
            self._clear(self._memory, torch.as_tensor(started, device=self.device))
        else:
            self._memory = None  # a new batch: every row starts empty at the next act
        if self._keys is None or len(self._keys) != len(started):
            self._keys = rng.row_keys(self._generator.integers(2**62, size=len(started)))
            self._counters = np.zeros(len(started), dtype=np.int64)
        if seeds is not None:
            self._keys[started] = rng.row_keys(np.asarray(seeds)[started])
        else:
            self._keys[started] = rng.row_keys(self._generator.integers(2**62, size=int(started.sum())))
        self._counters[started] = 0

    @torch.no_grad()
    def scores_and_values(self, obs: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """The candidates' scores (N, K) and the values (N,) for ``obs``, the step that follows the last one shown; moves each row's memory on."""
        if self.net is None:
            raise RuntimeError("PPOAgent: train() or load() the agent before acting")
        rows = len(obs["user"])
        if self._memory is None or len(self._memory["history"]) != rows:
            self._memory = self._empty_memory(rows)
        observed, self._memory = self._with_memory(self._to_device(obs), self._memory)
        with self._autocast():
            scores, values = self.net(observed)
        return scores.float(), values.float()

    def scores(self, obs: dict[str, np.ndarray]) -> torch.Tensor:
        """The candidates' scores (N, K) of :meth:`scores_and_values`."""
        return self.scores_and_values(obs)[0]

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        """Slates (N, S) int64: the top-S scores, or a Plackett-Luce sample keyed per row (see :meth:`reset`)."""
        scores = self.scores(obs)
        if deterministic:
            return torch.topk(scores, self.slate_size, dim=-1).indices.cpu().numpy().astype(np.int64)
        n, k = scores.shape
        if self._keys is None or len(self._keys) != n:
            self.reset(np.ones(n, dtype=bool))
        uniforms = rng.uniforms(self._keys, np.zeros(n, dtype=np.int64), self._counters, 0, k)
        self._counters += 1
        slates = gumbel_top_slates(scores, self.slate_size, torch.as_tensor(uniforms, dtype=torch.float32, device=self.device))
        return slates.cpu().numpy().astype(np.int64)

    # -- training ---------------------------------------------------------------------------

    def _start(self, env: gym.vector.VectorEnv, seed: int) -> _TrainingRun:
        """A fresh run: the sampler seeded, every row reset with ``seed`` (row ``i`` with ``seed + i``), empty memories."""
        n = self.config.num_envs
        sampler = torch.Generator(device=self.device).manual_seed(seed)
        obs_np, _ = env.reset(seed=seed)
        obs, memory = self._with_memory(self._to_device(obs_np), self._empty_memory(n))
        return _TrainingRun(env, sampler, seed, obs, memory, ReturnTracker(n, window=n))

    def _collect(self, run: _TrainingRun, storage: RolloutStorage) -> None:
        """One rollout into ``storage``: every row steps ``num_steps`` times on slates sampled from the policy."""
        cfg, net, device = self.config, self.net, self.device
        for t in range(cfg.num_steps):
            for key in storage.obs:
                storage.obs[key][t] = run.obs[key]
            with torch.no_grad(), self._autocast():
                scores, value = net(run.obs)
            uniforms = torch.rand(scores.shape, generator=run.sampler, device=device).clamp_(min=1e-20)
            slate = gumbel_top_slates(scores, self.slate_size, uniforms)
            storage.slates[t], storage.values[t] = slate, value.float()
            storage.log_probs[t] = plackett_luce_log_prob(scores, slate)[0]
            obs_np, reward, term, trunc, infos = run.env.step(slate.cpu().numpy())
            storage.rewards[t] = torch.as_tensor(reward * cfg.reward_scale, dtype=torch.float32, device=device)
            storage.terminated[t] = torch.as_tensor(term, device=device)
            storage.truncated[t] = torch.as_tensor(trunc, device=device)
            bootstrap = trunc & ~term
            storage.final_values[t] = 0.0
            if bootstrap.any():  # the value of a truncated episode's last observation (obs_np starts the next one)
                final = self._to_device({key: array[bootstrap] for key, array in infos["final_obs"].items()})
                rows = torch.as_tensor(bootstrap, device=device)
                final, _ = self._with_memory(final, {key: value[rows] for key, value in run.memory.items()})
                with torch.no_grad(), self._autocast():
                    final_value = net(final)[1].float()
                storage.final_values[t, torch.as_tensor(np.flatnonzero(bootstrap), device=device)] = final_value
            finished = term | trunc
            run.returns.add(reward, finished)
            if finished.any():
                self._clear(run.memory, torch.as_tensor(finished, device=device))
            run.obs, run.memory = self._with_memory(self._to_device(obs_np), run.memory)
        self.steps_done += cfg.num_envs * cfg.num_steps

    def _advantages(self, storage: RolloutStorage, next_obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """GAE's advantages and returns (T, N) of the rollout in ``storage``, followed by ``next_obs``."""
        with torch.no_grad(), self._autocast():
            next_value = self.net(next_obs)[1].float()
        s, cfg = storage, self.config
        return compute_gae(s.rewards, s.values, s.terminated, s.truncated, s.final_values, next_value, cfg.gamma, cfg.gae_lambda)

    def _update(self, storage: RolloutStorage, advantages: torch.Tensor, returns: torch.Tensor, sampler: torch.Generator) -> dict[str, float]:
        """The PPO epochs over one rollout; returns the last epoch's means over its minibatches of the losses and diagnostics."""
        cfg, net = self.config, self.net
        batch = cfg.num_envs * cfg.num_steps
        starts = minibatch_starts(batch, cfg.num_minibatches)
        minibatch = batch // cfg.num_minibatches
        flat_obs = {key: value.flatten(0, 1) for key, value in storage.obs.items()}
        flat_slates, flat_log_probs = storage.slates.flatten(0, 1), storage.log_probs.flatten()
        flat_advantages, flat_returns = advantages.flatten(), returns.flatten()
        totals = torch.zeros(5, device=self.device)
        for _ in range(cfg.update_epochs):
            totals.zero_()
            order = torch.randperm(batch, generator=sampler, device=self.device)
            for begin in starts:
                index = order[begin : begin + minibatch]
                with self._autocast():
                    scores, value = net({key: value[index] for key, value in flat_obs.items()})
                log_prob, entropy = plackett_luce_log_prob(scores, flat_slates[index])
                advantage = flat_advantages[index]
                if cfg.norm_adv:
                    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                policy_loss = clipped_policy_loss(log_prob, flat_log_probs[index], advantage, cfg.clip_coef)
                value_loss = 0.5 * (value.float() - flat_returns[index]).pow(2).mean()
                entropy_mean = entropy.mean()
                loss = policy_loss - cfg.ent_coef * entropy_mean + cfg.vf_coef * value_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    log_ratio = log_prob - flat_log_probs[index]
                    approx_kl = ((log_ratio.exp() - 1.0) - log_ratio).mean()  # Schulman's k3 estimator
                    clip_fraction = ((log_ratio.exp() - 1.0).abs() > cfg.clip_coef).float().mean()
                    totals += torch.stack([policy_loss.detach(), value_loss.detach(), entropy_mean.detach(), approx_kl, clip_fraction])
        return dict(zip(STATS, (totals / len(starts)).tolist()))

    def train(
        self,
        env_id: str,
        steps: int,
        seed: int,
        device: str = "auto",
        env_kwargs: dict[str, Any] | None = None,
        log_dir: str | None = None,
        resume_from: str | None = None,
    ) -> dict[str, Any]:
        """Train for ``steps`` environment steps (user-steps, all rows counted) in total.

        With ``resume_from`` (a ``log_dir`` of an earlier run with the same seed and config), training
        continues from its last checkpoint up to ``steps``, exactly as the uninterrupted run would
        have: each checkpoint's ``resume.pt`` holds the weights, the optimiser state, the simulator
        state, the sampler's random state, each row's memory and the training counters. Writes
        ``progress.csv`` and checkpoints (``resume.pt``, then :meth:`save`'s files) to ``log_dir`` when given.

        Returns:
            ``{"steps", "wall_time", "steps_per_s", "recent_return", "episodes"}``; ``recent_return``
            is the mean training return of the last ``num_envs`` finished episodes (``nan`` if none).
        """
        cfg = self.config
        rollout = cfg.num_envs * cfg.num_steps
        if resume_from is None:  # fewer steps than one rollout would train nothing and save the initial weights
            check_steps(steps, rollout, f" (one rollout: num_envs * num_steps = {cfg.num_envs} * {cfg.num_steps})")
        else:
            check_steps(steps)
        device_ = resolve_device(device)
        torch.manual_seed(seed)
        if device_.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        env = gym.make_vec(
            env_id,
            num_envs=cfg.num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode="same_step",
            num_threads=cfg.num_threads,
            **(self.env_kwargs if env_kwargs is None else env_kwargs),
        )
        try:
            dims = _observation_dims(env.single_observation_space, self.config.history_decays)
            self._build(dims, env.single_action_space.slate_size, device_)
            self.steps_done = 0
            return self._train_loop(env, int(steps), seed, log_dir, None if resume_from is None else Path(resume_from))
        finally:
            env.close()

    def _train_loop(self, env: gym.vector.VectorEnv, total_steps: int, seed: int, log_dir: str | None, resume_from: Path | None) -> dict[str, Any]:
        cfg, batch = self.config, self.config.num_envs * self.config.num_steps
        run = self._start(env, seed)
        if resume_from is not None:
            self._resume(resume_from, run, total_steps)
        iterations = max(0, (total_steps - self.steps_done) // batch)
        total_iterations = self.steps_done // batch + iterations
        storage = RolloutStorage.empty(run.obs, cfg.num_steps, self.slate_size)
        start, start_steps = time.perf_counter(), self.steps_done
        stats: dict[str, float] = {}
        with ProgressLog(log_dir, ["steps", "wall_time", "steps_per_s", "recent_return", *STATS], resumed_at=self.steps_done) as log:
            for iteration in range(iterations):
                if cfg.anneal_lr:
                    for group in self.optimizer.param_groups:
                        group["lr"] = cfg.learning_rate * (1.0 - (self.steps_done // batch) / max(1, total_iterations))
                self._collect(run, storage)
                stats = self._update(storage, *self._advantages(storage, run.obs), run.sampler)
                done_iterations = self.steps_done // batch  # counted from the run's start, resumed or not
                if done_iterations % cfg.log_every == 0 or iteration == iterations - 1:
                    self._report(log, time.perf_counter() - start, self.steps_done - start_steps, run.returns.mean(), stats)
                if log_dir is not None and cfg.checkpoint_every and done_iterations % cfg.checkpoint_every == 0:
                    self._checkpoint(Path(log_dir), run)
        if log_dir is not None:
            self._checkpoint(Path(log_dir), run)
        elapsed = time.perf_counter() - start
        return {
            "steps": self.steps_done,
            "wall_time": elapsed,
            "steps_per_s": (self.steps_done - start_steps) / elapsed if elapsed > 0 else float("nan"),
            "recent_return": run.returns.mean(),
            "episodes": run.returns.episodes,
            **stats,
        }

    def _report(self, log: ProgressLog, elapsed: float, steps: int, mean_return: float, stats: dict[str, float]) -> None:
        """A row of ``progress.csv`` and, when ``verbose``, a progress line: ``steps`` trained in ``elapsed`` seconds of this run."""
        rate = steps / elapsed
        log.write([self.steps_done, f"{elapsed:.2f}", f"{rate:.0f}", f"{mean_return:.3f}", *(f"{stats[k]:.5f}" for k in STATS)])
        if self.config.verbose:
            print(
                f"ppo {self.steps_done:>11,d} steps  {rate:>8,.0f} steps/s  return {mean_return:7.2f}  "
                f"entropy {stats['entropy']:.3f}  kl {stats['approx_kl']:.4f}  value loss {stats['value_loss']:.4f}",
                flush=True,
            )

    # -- saving and loading -----------------------------------------------------------------

    def save(self, path: str) -> None:
        """Write ``weights.pt`` (the network's state dict) and ``config.json`` into directory ``path``, each atomically."""
        if self.net is None:
            raise RuntimeError("PPOAgent.save: nothing to save; train() or load() the agent first")
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(directory / WEIGHTS_FILE, torch_bytes({key: value.detach().cpu() for key, value in self.net.state_dict().items()}))
        meta = {"agent": "ppo", "config": self.config.to_dict(), "dims": self.dims, "slate_size": self.slate_size, "steps_done": self.steps_done}
        write_json_atomic(directory / CONFIG_FILE, meta)  # last: a directory whose config names the steps holds their weights

    @classmethod
    def load(cls, path: str, device: str = "auto") -> "PPOAgent":
        """An agent from a directory written by :meth:`save`; a tampered or foreign file raises ``ValueError``.

        Every field of ``config.json`` is checked before use (the config's fields and types, the sizes as
        integers, the network they describe at most :data:`baselines.checkpoint.MAX_PARAMETERS`), then
        ``weights.pt`` must hold exactly the network's tensors, each of its shape and dtype, all finite.
        """
        directory, owner = Path(path), "PPOAgent.load"
        meta = read_config(directory, owner, "ppo")
        try:
            config = PPOConfig.from_dict(meta["config"])
            dims = {key: meta["dims"][key] for key in ("user_dim", "response_dim", "candidate_dim", "history_dim")}
            slate_size, steps_done = meta["slate_size"], meta["steps_done"]
            lows = {"user_dim": 1, "response_dim": 1, "candidate_dim": 1, "history_dim": 0, "slate_size": 1, "steps_done": 0}
            for name, value in {**dims, "slate_size": slate_size, "steps_done": steps_done}.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < lows[name]:
                    raise ValueError(f"{name} must be an integer >= {lows[name]}, got {value!r}")
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{owner}: {directory / CONFIG_FILE} is not a PPO config written by PPOAgent.save: {error}") from None
        check_network_size(lambda: SlateActorCritic(**dims, config=config), owner, directory / CONFIG_FILE)
        agent = cls(config=config)
        agent._build(dims, slate_size, resolve_device(device))
        state = load_state_dict(directory / WEIGHTS_FILE, owner)
        check_like(state, agent.net.state_dict(), owner, directory / WEIGHTS_FILE)
        agent.net.load_state_dict(state, strict=True)
        agent.steps_done = steps_done
        return agent

    def _resume_tensors(self, run: _TrainingRun) -> dict[str, torch.Tensor]:
        """Everything a resumed run needs, as names -> CPU tensors (see :meth:`train`); ``adam.*`` only for parameters with optimiser state."""
        recent = np.full(self.config.num_envs, 0.0)
        recent[: len(run.returns.recent)] = list(run.returns.recent)
        counters = [self.steps_done, run.returns.episodes, run.seed, len(run.returns.recent)]
        return {
            **{f"net.{key}": value.detach().cpu() for key, value in self.net.state_dict().items()},
            **adam_tensors(self.optimizer),
            **{f"obs.{key}": value.cpu() for key, value in run.obs.items()},
            **{f"memory.{key}": value.cpu() for key, value in run.memory.items()},
            **{f"env.{key}": value for key, value in sim_state_tensors(run.env.state).items()},
            "sampler": run.sampler.get_state(),
            "episode_return": torch.from_numpy(run.returns.running.copy()),
            "recent": torch.from_numpy(recent),  # the last finished episodes' returns, counters[3] of them
            "counters": torch.tensor(counters, dtype=torch.int64),  # steps done, episodes, seed, recent returns
        }

    def _checkpoint(self, directory: Path, run: _TrainingRun) -> None:
        """``resume.pt`` then :meth:`save`'s files: interrupted between them, a resume starts from the newer ``resume.pt``, which is whole."""
        write_bytes_atomic(directory / RESUME_FILE, torch_bytes(self._resume_tensors(run)))
        self.save(str(directory))

    def _resume(self, directory: Path, run: _TrainingRun, total_steps: int) -> None:
        """Restore ``directory``'s ``resume.pt`` into the freshly built agent and ``run`` (a fresh start's, whose
        entries give the names, shapes and dtypes the file must have)."""
        path, owner = directory / RESUME_FILE, "PPOAgent.train(resume_from)"
        if not path.is_file():
            raise ValueError(f"{owner}: {path} is missing; resume_from needs a log_dir that an earlier train() wrote checkpoints into")
        state = load_state_dict(path, owner)
        adam = adam_reference(self.optimizer)
        check_like(state, {**self._resume_tensors(run), **adam}, owner, path, optional=frozenset(adam))
        steps_done, episodes, saved_seed, recent_count = state["counters"].tolist()
        batch = self.config.num_envs * self.config.num_steps
        if saved_seed != run.seed:
            raise ValueError(f"{owner}: {path} was written by a run with seed {saved_seed}, not {run.seed}")
        if steps_done < 0 or steps_done % batch or episodes < 0 or not 0 <= recent_count <= self.config.num_envs:
            raise ValueError(f"{owner}: {path} counters {state['counters'].tolist()} do not fit rollouts of {batch} steps")
        if steps_done > total_steps:
            raise ValueError(f"{owner}: {path} has trained {steps_done} steps, more than the {total_steps} asked for")
        try:  # on a scratch generator: a malformed state must not leave the sampler half set
            torch.Generator(device=run.sampler.device).set_state(state["sampler"])
        except RuntimeError as error:
            raise ValueError(f"{owner}: {path} entry 'sampler' is not a random generator's state ({error})") from None
        if "memory.recent" in state and not bool(((state["memory.recent"] >= -1) & (state["memory.recent"] < self.config.category_features)).all()):
            raise ValueError(f"{owner}: {path} entry 'memory.recent' holds categories outside [-1, {self.config.category_features - 1}]")
        env_state = sim_state_from_tensors({key[4:]: value for key, value in state.items() if key.startswith("env.")}, run.env.sim, owner, path)
        self.net.load_state_dict({key[4:]: value for key, value in state.items() if key.startswith("net.")}, strict=True)
        load_adam_tensors(self.optimizer, {key: value for key, value in state.items() if key in adam})
        run.env.state = env_state
        run.sampler.set_state(state["sampler"])
        run.obs = {key: state[f"obs.{key}"].to(self.device) for key in run.obs}
        run.memory = {key: state[f"memory.{key}"].to(self.device) for key in run.memory}
        run.returns.running = state["episode_return"].numpy().copy()
        run.returns.recent.extend(state["recent"][:recent_count].tolist())
        run.returns.episodes = episodes
        self.steps_done = steps_done


__all__ = [
    "PPOAgent",
    "PPOConfig",
    "SlateActorCritic",
    "category_counts",
    "clipped_policy_loss",
    "compute_gae",
    "gumbel_top_slates",
    "history_step_features",
    "plackett_luce_log_prob",
    "update_history",
    "update_recent_clicks",
]
