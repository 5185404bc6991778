"""Swappable simulator parts, chosen by name (see :func:`build_part`)."""

from recsim_bench.parts.base import Part, build_part
from recsim_bench.parts.choice import ChoiceModel
from recsim_bench.parts.items import ItemModel
from recsim_bench.parts.response import NAMED_REWARDS, Reward, ResponseModel, build_reward
from recsim_bench.parts.users import UserModel

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
