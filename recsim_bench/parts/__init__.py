"""Swappable simulator parts, chosen by name (see :func:`build_part`)."""

from recsim_bench.parts.base import Part, build_part
from recsim_bench.parts.choice import ChoiceModel
from recsim_bench.parts.items import ItemModel
from recsim_bench.parts.response import NAMED_REWARDS, Reward, ResponseModel, build_reward
from recsim_bench.parts.users import UserModel
from recsim_bench.parts import cold_start  # noqa: F401  (registers the "cold_start" user model)
from recsim_bench.parts import boredom  # noqa: F401  (registers the "boredom" user model)
from recsim_bench.parts import shopper  # noqa: F401  (registers the "shopper" user model and "funnel" response)
from recsim_bench.parts import retention  # noqa: F401  (registers the "retention" user model)

__all__ = [
    "NAMED_REWARDS",
    "ChoiceModel",
    "ItemModel",
    "Part",
    "ResponseModel",
    "Reward",
    "UserModel",
    "build_part",
    "build_reward",
]
