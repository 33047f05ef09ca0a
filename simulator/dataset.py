"""The simulated world: what the two upstreams know, as plain dataclasses.

The API modules only read these objects. Builders of ready-made worlds are in `builders.py`.
Odin's convention is kept: -1 means unlimited wherever the API uses it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

# --- Odin (Cisco BroadWorks) --------------------------------------------------------------------


@dataclass(slots=True)
class LoadProfile:
    """How busy a trunk group is over time: a fraction of maxActiveCalls (see calls.py).

    The load stays within [base - swing, base + swing] at all times, which lets a dataset
    promise, say, that a trunk group is always at 95 % or more of its limit.
    """

    base: float = 0.4
    swing: float = 0.2
    period: float = 900.0  # seconds for one full wave
    incoming_share: float = 0.6  # of the active calls, the part that is incoming


@dataclass(slots=True)
class TrunkGroup:
    """One BroadWorks trunk group. `name` must be unique in the dataset: it seeds the load."""

    name: str
    max_active_calls: int
    max_incoming_calls: int | None = None  # None: the field is absent from the detail
    max_outgoing_calls: int | None = None
    enable_bursting: bool = False
    bursting_max_active_calls: int = 0
    bursting_max_incoming_calls: int = 0
    bursting_max_outgoing_calls: int = 0
    trap_initial_calls: int = 0
    trap_offset_calls: int = 0
    state: str = "Available"
    department: str | None = None
    device_name: str = ""
    device_level: str = "Group"
    load: LoadProfile = field(default_factory=LoadProfile)


@dataclass(slots=True)
class GroupTrunking:
    """A group's groupTrunkCapacity and its "Trunk Group" service authorisation."""

    max_active_calls: int
    max_available_active_calls: int
    bursting_max_active_calls: int = 0
    bursting_max_available_active_calls: int = -1
    service_quantity: int = -1  # authorised trunk group instances; -1: "Unlimited"
    trunk_groups: list[TrunkGroup] = field(default_factory=list)

    @property
    def service_usage(self) -> int:
        return len(self.trunk_groups)


@dataclass(slots=True)
class Group:
    id: str
    name: str
    user_limit: int
    trunking: GroupTrunking | None = None  # None: no Trunk Group service, trunk-group calls 400


@dataclass(slots=True)
class ServiceProvider:
    """A service provider or enterprise. max_active_calls None: no trunking, the report is 400."""

    id: str
    name: str
    is_enterprise: bool
    max_active_calls: int | None
    bursting_max_active_calls: int = -1
    groups: list[Group] = field(default_factory=list)
    reseller_id: str | None = None


@dataclass(slots=True)
class OdinData:
    service_providers: list[ServiceProvider]
    username: str = "exporter"
    password: str = "odin-demo-password"
    password_must_change: bool = False  # login answers 402


# --- DIDWW --------------------------------------------------------------------------------------


@dataclass(slots=True)
class CapacityPool:
    """A DIDWW capacity pool. Prices are decimal strings, as the API sends them.

    seed_spelling: serialise as the seed document does (nrc, mrc, unassigned_channels_count)
    instead of the published schema (setup_price, monthly_price).
    """

    id: str
    name: str
    renew_date: date
    total_channels_count: int
    assigned_channels_count: int
    minimum_limit: int
    minimum_qty_per_order: int
    setup_price: str = "0.0"
    monthly_price: str = "25.0"
    metered_rate: str = "0.02"
    seed_spelling: bool = False
    # A pool that fills: one more channel assigned every `fill_every` seconds from `opened_at`,
    # up to `fill_to` (0 seconds: the count stays where it is).
    fill_every: float = 0.0
    fill_to: int = 0
    opened_at: float = field(default_factory=time.time, compare=False)

    def assigned_at(self, now: float) -> int:
        """assigned_channels_count at epoch time `now`."""
        if self.fill_every <= 0:
            return self.assigned_channels_count
        added = math.floor(max(0.0, now - self.opened_at) / self.fill_every)
        return min(self.fill_to, self.assigned_channels_count + added)


@dataclass(slots=True)
class Did:
    id: str
    number: str
    description: str = ""
    created_at: str = "2023-01-10T09:00:00.000Z"


@dataclass(slots=True)
class SharedCapacityGroup:
    """A shared capacity group.

    pool_id None serialises its capacity_pool linkage as `data: null`; omit_pool_linkage leaves
    out the `data` key altogether even when included, as the seed document's "Metered group".
    """

    id: str
    name: str
    shared_channels_count: int
    metered_channels_count: int | None
    created_at: str
    pool_id: str | None
    dids: list[Did] = field(default_factory=list)
    omit_pool_linkage: bool = False
    external_reference_id: str | None = None


@dataclass(slots=True)
class VoiceInTrunk:
    """A voice-in trunk or trunk group: capacity_limit None means no limit.

    group_id: the trunk group a trunk belongs to (None: no group; always None for a group).
    """

    id: str
    name: str
    capacity_limit: int | None
    created_at: str = "2023-01-10T09:00:00.000Z"
    group_id: str | None = None


@dataclass(slots=True)
class VoiceOutTrunk:
    """An outbound trunk. Amounts are decimal strings; spent_amount is this billing period's."""

    id: str
    name: str
    capacity_limit: int | None
    threshold_amount: str | None
    threshold_reached: bool
    spent_amount: str
    created_at: str = "2023-01-10T09:00:00.000Z"


@dataclass(slots=True)
class Balance:
    """The account balance; `burn_per_day` spends it from `opened_at` (to 1/10000, so that a
    slow burn shows within seconds).

    At zero the account is topped up to the opening balance again, so a long demo keeps burning.
    """

    id: str
    balance: str
    credit: str
    burn_per_day: str = "0"
    opened_at: float = field(default_factory=time.time, compare=False)

    def balance_at(self, now: float) -> str:
        opening = Decimal(self.balance)
        burn = Decimal(self.burn_per_day)
        if burn <= 0 or opening <= 0:
            return self.balance
        spent = burn * Decimal(max(0.0, now - self.opened_at)) / Decimal(86400)
        left = opening - (spent % opening)
        return str(left.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))

    def total_balance_at(self, now: float) -> str:
        return str(Decimal(self.balance_at(now)) + Decimal(self.credit))


@dataclass(slots=True)
class DidwwData:
    capacity_pools: list[CapacityPool]
    shared_capacity_groups: list[SharedCapacityGroup]
    balance: Balance
    voice_in_trunks: list[VoiceInTrunk] = field(default_factory=list)
    voice_in_trunk_groups: list[VoiceInTrunk] = field(default_factory=list)
    voice_out_trunks: list[VoiceOutTrunk] = field(default_factory=list)
    outbound_plan: bool = True  # False: /voice_out_trunks answers 403
    api_key: str = "didww-demo-api-key"
    api_version: str = "2022-05-10"  # the account's version; a client header may only upgrade it
    max_page_size: int | None = None  # cap on page[size] below the documented 100


@dataclass(slots=True)
class Dataset:
    odin: OdinData
    didww: DidwwData
