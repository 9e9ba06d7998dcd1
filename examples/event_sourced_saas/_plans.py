"""Plans: what a subscription costs and what it includes.

A `Plan` is a value. The catalogue (`PLANS`) is what a tenant can choose
*now*; the events that start or change a subscription carry the chosen plan's
full terms, not just its id. A price change in the catalogue therefore
applies to subscriptions started or changed after it, never to the past, and
replaying an old log gives the invoices it gave then ("grandfathering" is the
default, and replay needs no catalogue at all).

Money is integer cents everywhere: no float ever touches an amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, final

__all__ = ["FREE", "GROWTH", "PLANS", "SCALE", "STARTER", "Plan", "format_cents"]


@final
@dataclass(frozen=True, slots=True)
class Plan:
    """The terms of a subscription plan.

    ``monthly_fee`` (cents) pays for one billing period and includes
    ``included_calls`` API calls; each 1,000 calls beyond cost
    ``overage_per_thousand`` cents. A plan without an overage price
    (``None``) is capped instead: usage beyond ``included_calls`` within one
    billing period is refused. ``seats`` is the most users a tenant may have.
    """

    id: str
    name: str
    monthly_fee: int
    seats: int
    included_calls: int
    overage_per_thousand: int | None

    def __post_init__(self) -> None:
        for field_name in ("monthly_fee", "seats", "included_calls"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"{field_name}={value!r} (type={type(value).__name__}) must be "
                    "an int, zero or more"
                )
        overage = self.overage_per_thousand
        if overage is not None and (
            isinstance(overage, bool) or not isinstance(overage, int) or overage < 0
        ):
            raise ValueError(
                f"overage_per_thousand={overage!r} (type={type(overage).__name__}) "
                "must be an int, zero or more, or None for a capped plan"
            )
        if not self.id or not self.name:
            raise ValueError(f"id={self.id!r} and name={self.name!r} must not be empty")

    @property
    def capped(self) -> bool:
        """True when usage beyond the included calls is refused, not charged."""
        return self.overage_per_thousand is None

    def to_data(self) -> dict[str, Any]:
        """The terms as plain values, as events carry them."""
        return {
            "id": self.id,
            "name": self.name,
            "monthly_fee": self.monthly_fee,
            "seats": self.seats,
            "included_calls": self.included_calls,
            "overage_per_thousand": self.overage_per_thousand,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Plan:
        """The plan whose terms an event carries (see `to_data`)."""
        return cls(
            id=data["id"],
            name=data["name"],
            monthly_fee=data["monthly_fee"],
            seats=data["seats"],
            included_calls=data["included_calls"],
            overage_per_thousand=data["overage_per_thousand"],
        )


FREE: Final = Plan("free", "Free", 0, 2, 10_000, None)
STARTER: Final = Plan("starter", "Starter", 4_900, 5, 100_000, 50)
GROWTH: Final = Plan("growth", "Growth", 19_900, 25, 1_000_000, 30)
SCALE: Final = Plan("scale", "Scale", 99_900, 200, 10_000_000, 20)

PLANS: Final[Mapping[str, Plan]] = MappingProxyType(
    {plan.id: plan for plan in (FREE, STARTER, GROWTH, SCALE)}
)
"""The default catalogue, by plan id."""


def format_cents(amount: int) -> str:
    """``12345`` as ``"$123.45"`` (negative amounts as ``"-$1.00"``)."""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    return f"{sign}${amount // 100:,}.{amount % 100:02d}"
