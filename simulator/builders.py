"""Ready-made simulated worlds: a small realistic one for demos and tests, a large one for load.

default_dataset() is hand-written so that every condition the exporter's dashboards and alerts
look for is present, and stays present whatever the time of day (see the notes per object).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from simulator.dataset import (
    Balance,
    CapacityPool,
    Dataset,
    Did,
    DidwwData,
    Group,
    GroupTrunking,
    LoadProfile,
    OdinData,
    ServiceProvider,
    SharedCapacityGroup,
    TrunkGroup,
    VoiceInTrunk,
    VoiceOutTrunk,
)

# Load profiles whose band guarantees an alert condition at every instant (see calls.py).
ALWAYS_ABOVE_95 = LoadProfile(base=0.978, swing=0.022, period=600.0, incoming_share=0.55)
ALWAYS_ABOVE_80 = LoadProfile(base=0.90, swing=0.08, period=900.0, incoming_share=0.6)
OFTEN_ABOVE_95 = LoadProfile(base=0.70, swing=0.28, period=300.0, incoming_share=0.5)
QUIET = LoadProfile(base=0.30, swing=0.15, period=1200.0, incoming_share=0.65)


def _id(kind: str, name: str) -> str:
    """A stable UUID, so ids do not change between runs (dashboards link by id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"trunk-capacity-simulator/{kind}/{name}"))


def _today() -> date:
    return datetime.now(UTC).date()


# --- the default, hand-written world ------------------------------------------------------------


def _acme() -> ServiceProvider:
    """Oversubscribed enterprise: its groups hold 65 calls against an enterprise cap of 40."""
    hq = GroupTrunking(
        max_active_calls=40,
        max_available_active_calls=40,
        bursting_max_active_calls=5,
        bursting_max_available_active_calls=10,
        service_quantity=3,
        trunk_groups=[
            # Always >= 95 % of its limit: "trunk group near its call limit" fires at any time.
            # Bursting is configured but disabled: the exporter must export 0, not 5.
            TrunkGroup(
                "acme-hq-pbx",
                max_active_calls=30,
                enable_bursting=False,
                bursting_max_active_calls=5,
                trap_initial_calls=27,
                trap_offset_calls=2,
                department="Headquarters",
                device_name="acme-hq-sbc01",
                load=ALWAYS_ABOVE_95,
            ),
            TrunkGroup(
                "acme-hq-fax",
                max_active_calls=4,
                max_incoming_calls=2,
                max_outgoing_calls=2,
                device_name="acme-hq-ata",
                load=QUIET,
            ),
        ],
    )
    branch = GroupTrunking(
        max_active_calls=15,
        max_available_active_calls=40,
        bursting_max_available_active_calls=10,
        service_quantity=2,
        trunk_groups=[
            TrunkGroup(
                "acme-branch-pbx",
                max_active_calls=15,
                department="Branch",
                device_name="acme-br-pbx",
                load=ALWAYS_ABOVE_80,
            ),
        ],
    )
    callcenter = GroupTrunking(
        max_active_calls=10,
        max_available_active_calls=40,
        bursting_max_available_active_calls=10,
        service_quantity=2,
        trunk_groups=[
            TrunkGroup(
                "acme-cc-inbound",
                max_active_calls=10,
                max_incoming_calls=10,
                max_outgoing_calls=2,
                department="Call Center",
                device_name="acme-cc-sbc",
                load=LoadProfile(base=0.6, swing=0.3, period=450.0, incoming_share=0.9),
            ),
        ],
    )
    return ServiceProvider(
        "ent.acme",
        "Acme Corporation",
        is_enterprise=True,
        max_active_calls=40,
        bursting_max_active_calls=10,
        groups=[
            Group("acme.hq", "Acme Headquarters", user_limit=200, trunking=hq),
            Group("acme.branch", "Acme Branch Office", user_limit=50, trunking=branch),
            Group("acme.callcenter", "Acme Call Center", user_limit=80, trunking=callcenter),
            # No Trunk Group service: its trunk-group calls answer 400.
            Group("acme.lobby", "Acme Lobby Phones", user_limit=10, trunking=None),
        ],
    )


def _northwind() -> ServiceProvider:
    """Healthy service provider with unlimited caps (-1) and "Unlimited" licences."""
    return ServiceProvider(
        "sp.northwind",
        "Northwind Telecom",
        is_enterprise=False,
        max_active_calls=-1,
        bursting_max_active_calls=-1,
        reseller_id="reseller.blue",
        groups=[
            Group(
                "northwind.sales",
                "Northwind Sales",
                user_limit=150,
                trunking=GroupTrunking(
                    max_active_calls=50,
                    max_available_active_calls=-1,
                    service_quantity=-1,
                    trunk_groups=[
                        TrunkGroup(
                            "nw-sales-sip",
                            max_active_calls=30,
                            max_incoming_calls=20,
                            max_outgoing_calls=20,
                            device_name="nw-sales-sbc",
                            load=QUIET,
                        ),
                        TrunkGroup(
                            "nw-sales-backup",
                            max_active_calls=20,
                            device_name="nw-sales-sbc2",
                            load=LoadProfile(base=0.1, swing=0.1, period=1500.0),
                        ),
                    ],
                ),
            ),
            Group(
                "northwind.support",
                "Northwind Support",
                user_limit=60,
                trunking=GroupTrunking(
                    max_active_calls=40,
                    max_available_active_calls=-1,
                    service_quantity=5,
                    trunk_groups=[
                        TrunkGroup(
                            "nw-support-sip",
                            max_active_calls=40,
                            department="Support",
                            device_name="nw-support-sbc",
                            load=QUIET,
                        ),
                    ],
                ),
            ),
            Group(
                "northwind.ops",
                "Northwind Operations",
                user_limit=20,
                trunking=GroupTrunking(
                    max_active_calls=20,
                    max_available_active_calls=-1,
                    bursting_max_active_calls=10,
                    service_quantity=-1,
                    trunk_groups=[
                        TrunkGroup(
                            "nw-ops-sip",
                            max_active_calls=20,
                            enable_bursting=True,
                            bursting_max_active_calls=10,
                            bursting_max_incoming_calls=5,
                            bursting_max_outgoing_calls=5,
                            device_name="nw-ops-sbc",
                            load=LoadProfile(base=0.5, swing=0.2, period=700.0),
                        ),
                    ],
                ),
            ),
        ],
    )


def _legacy() -> ServiceProvider:
    """No Trunk Group service at all: the report and every trunk-group call answer 400."""
    return ServiceProvider(
        "sp.legacy",
        "Legacy Voice Ltd",
        is_enterprise=False,
        max_active_calls=None,
        reseller_id="reseller.blue",
        groups=[
            Group("legacy.main", "Legacy Main", user_limit=100),
            Group("legacy.annex", "Legacy Annex", user_limit=30),
        ],
    )


def _globex() -> ServiceProvider:
    """Within its enterprise cap (98 of 100), but one group is allocated 60 where at most 50 is
    available, and one group uses every trunk group instance its licence allows (2 of 2)."""
    return ServiceProvider(
        "ent.globex",
        "Globex Corporation",
        is_enterprise=True,
        max_active_calls=100,
        bursting_max_active_calls=0,
        groups=[
            Group(
                "globex.eng",
                "Globex Engineering",
                user_limit=120,
                trunking=GroupTrunking(
                    max_active_calls=30,
                    max_available_active_calls=100,
                    bursting_max_available_active_calls=0,
                    service_quantity=4,
                    trunk_groups=[
                        TrunkGroup(
                            "globex-eng-sip",
                            max_active_calls=30,
                            device_name="globex-eng-sbc",
                            load=LoadProfile(base=0.5, swing=0.25, period=800.0),
                        ),
                    ],
                ),
            ),
            Group(
                "globex.labs",
                "Globex Labs",
                user_limit=40,
                trunking=GroupTrunking(
                    max_active_calls=60,
                    max_available_active_calls=50,
                    bursting_max_available_active_calls=0,
                    service_quantity=-1,
                    trunk_groups=[
                        TrunkGroup(
                            "globex-labs-a",
                            max_active_calls=40,
                            max_incoming_calls=30,
                            max_outgoing_calls=30,
                            device_name="globex-labs-sbc",
                            load=OFTEN_ABOVE_95,
                        ),
                        TrunkGroup(
                            "globex-labs-b",
                            max_active_calls=20,
                            device_name="globex-labs-sbc",
                            load=QUIET,
                        ),
                    ],
                ),
            ),
            Group(
                "globex.sales",
                "Globex Sales",
                user_limit=25,
                trunking=GroupTrunking(
                    max_active_calls=8,
                    max_available_active_calls=100,
                    bursting_max_available_active_calls=0,
                    service_quantity=2,
                    trunk_groups=[
                        TrunkGroup(
                            "globex-sales-1",
                            max_active_calls=4,
                            device_name="globex-sales-gw",
                            load=QUIET,
                        ),
                        TrunkGroup(
                            "globex-sales-2",
                            max_active_calls=4,
                            device_name="globex-sales-gw",
                            load=QUIET,
                        ),
                    ],
                ),
            ),
        ],
    )


def _default_didww(today: date) -> DidwwData:
    standard = CapacityPool(
        _id("pool", "Standard"),
        "Standard",
        today + timedelta(days=24),
        total_channels_count=50,
        assigned_channels_count=22,
        minimum_limit=10,
        minimum_qty_per_order=5,
        setup_price="0.0",
        monthly_price="25.0",
        metered_rate="0.02",
        # Filling: one more channel assigned every 20 s up to 40 of 50, so the pool forecast
        # has a slope to show from the demo's first minute (docs/alerting.md, "The demo").
        fill_every=20.0,
        fill_to=40,
    )
    # Nearly exhausted (19 of 20) and fewer free channels (1) than one order buys (5).
    # Spelled as in the seed document, like the seed's own "Extended" pool.
    extended = CapacityPool(
        _id("pool", "Extended"),
        "Extended",
        today + timedelta(days=40),
        total_channels_count=20,
        assigned_channels_count=19,
        minimum_limit=5,
        minimum_qty_per_order=5,
        setup_price="0.0",
        monthly_price="25.0",
        metered_rate="0.02",
        seed_spelling=True,
    )
    # No group uses it: it appears only in /capacity_pools, never in `included`.
    regional = CapacityPool(
        _id("pool", "Regional"),
        "Regional",
        today + timedelta(days=70),
        total_channels_count=10,
        assigned_channels_count=0,
        minimum_limit=2,
        minimum_qty_per_order=2,
        setup_price="5.0",
        monthly_price="18.5",
        metered_rate="0.015",
        seed_spelling=True,
    )
    # Renews in 5 days: "capacity pool renews soon".
    premium = CapacityPool(
        _id("pool", "Premium"),
        "Premium",
        today + timedelta(days=5),
        total_channels_count=10,
        assigned_channels_count=4,
        minimum_limit=4,
        minimum_qty_per_order=1,
        setup_price="10.0",
        monthly_price="32.0",
        metered_rate="0.03",
    )

    def dids(group: str, *numbers: str) -> list[Did]:
        return [
            Did(_id("did", n), n, description=f"{group} {i + 1}") for i, n in enumerate(numbers)
        ]

    def group(
        name: str,
        shared: int,
        metered: int | None,
        pool: CapacityPool | None,
        numbers: list[Did],
        omit_pool_linkage: bool = False,
    ) -> SharedCapacityGroup:
        return SharedCapacityGroup(
            _id("shared_capacity_group", name),
            name,
            shared,
            metered,
            "2023-03-14T10:20:30.000Z",
            pool.id if pool else None,
            numbers,
            omit_pool_linkage=omit_pool_linkage,
        )

    # Seven groups, three per page at the default page-size cap: each page includes different
    # pools, page 2 holds both linkage quirks.
    groups = [
        group(
            "Main office",
            10,
            5,
            standard,
            dids("Main office", "441234567001", "441234567002", "441234567003"),
        ),
        group(
            "Call center",
            8,
            None,
            standard,
            dids("Call center", "442071234501", "442071234502", "442071234503", "442071234504"),
        ),
        group("Branch offices", 12, 0, extended, dids("Branch", "493012345601", "493012345602")),
        group("Support line", 7, 10, extended, dids("Support", "33140000001")),
        group(
            "Metered group",
            0,
            30,
            None,
            dids("Metered", "12025550101", "12025550102"),
            omit_pool_linkage=True,
        ),
        group("Unpooled trial", 0, None, None, []),
        group("Hotline", 4, 2, premium, dids("Hotline", "18005550199")),
    ]
    primary = _id("trunk_group", "Primary")
    overflow = _id("trunk_group", "Overflow")
    return DidwwData(
        capacity_pools=[standard, extended, regional, premium],
        shared_capacity_groups=groups,
        # Burning 10 a day: about four days left, below the low-balance threshold.
        balance=Balance(
            _id("balance", "default"), balance="42.17", credit="50.00", burn_per_day="10"
        ),
        # Four trunks, two pages at the page-size cap: two in "Primary", one unlimited, one
        # without a group, one in the unlimited "Overflow" group.
        voice_in_trunks=[
            VoiceInTrunk(_id("trunk", "Main SIP trunk"), "Main SIP trunk", 20, group_id=primary),
            VoiceInTrunk(
                _id("trunk", "Backup SIP trunk"), "Backup SIP trunk", None, group_id=primary
            ),
            VoiceInTrunk(_id("trunk", "Fax trunk"), "Fax trunk", 2),
            VoiceInTrunk(_id("trunk", "Night service"), "Night service", 10, group_id=overflow),
        ],
        voice_in_trunk_groups=[
            VoiceInTrunk(primary, "Primary", 30),
            VoiceInTrunk(overflow, "Overflow", None),
        ],
        # "Outbound US" has spent past its threshold; "Outbound EU" is unlimited.
        voice_out_trunks=[
            VoiceOutTrunk(
                _id("voice_out_trunk", "Outbound EU"), "Outbound EU", None, "100.00", False, "37.20"
            ),
            VoiceOutTrunk(
                _id("voice_out_trunk", "Outbound US"), "Outbound US", 10, "50.00", True, "61.50"
            ),
        ],
        max_page_size=3,
    )


def default_dataset(today: date | None = None) -> Dataset:
    """The demo world: four Odin SPs and four DIDWW pools, with every alertable condition.

    Odin: ent.acme is oversubscribed (65 of 40) and has trunk groups always near their limit;
    sp.northwind is healthy with unlimited (-1) values; sp.legacy has no trunking (400);
    ent.globex has a group over its available maximum and one with its licence used up.
    DIDWW: "Extended" is nearly exhausted, "Premium" renews within 7 days, "Regional" has no
    group; groups paginate 3 per page whatever page[size] the client asks for. Voice-in trunks
    have limits, no limit (null) and no group; voice-out trunk "Outbound US" has passed its
    spend threshold. Set `outbound_plan = False` for an account without one (403).
    """
    odin = OdinData([_acme(), _northwind(), _legacy(), _globex()])
    return Dataset(odin=odin, didww=_default_didww(today or _today()))


# --- a large synthetic world for benchmarks -----------------------------------------------------


def _generated_sp(
    rng: random.Random, index: int, groups: int, trunk_groups: int, hot_share: float | None
) -> ServiceProvider:
    enterprise = index % 4 == 0
    sp_id = f"{'ent' if enterprise else 'sp'}.gen{index:05d}"
    # With a hot share, no cap cuts the demand down: the hot trunk groups are the ones near
    # their own limit, and every other one stays well below its own.
    sp_max = -1 if hot_share is not None else rng.choice((50, 100, 200, 500, -1))
    sp_groups = []
    for g in range(groups):
        group_id = f"{sp_id}.g{g:03d}"
        tgs = [
            TrunkGroup(
                f"{group_id}.tg{t}",
                rng.randint(5, 50),
                device_name=f"{group_id}-sbc",
                load=_generated_load(rng, hot_share),
            )
            for t in range(trunk_groups)
        ]
        group_max = -1 if hot_share is not None else rng.randint(5, 60)
        trunking = GroupTrunking(
            group_max,
            sp_max,
            service_quantity=rng.choice((-1, trunk_groups + 2)),
            trunk_groups=tgs,
        )
        sp_groups.append(Group(group_id, f"Group {g} of {sp_id}", rng.randint(10, 500), trunking))
    kind = "Enterprise" if enterprise else "Service Provider"
    return ServiceProvider(sp_id, f"{kind} {index}", enterprise, sp_max, -1, sp_groups)


def _generated_load(rng: random.Random, hot_share: float | None) -> LoadProfile:
    """Random loads; with `hot_share`, that share of trunk groups always at 90 % or more of
    their limit and the rest always at 35 % or less, with a small jitter."""
    if hot_share is None:
        return LoadProfile(
            base=rng.uniform(0.1, 0.8),
            swing=rng.uniform(0.0, 0.2),
            period=rng.uniform(300.0, 1800.0),
        )
    if rng.random() < hot_share:
        return LoadProfile(base=0.95, swing=0.05, period=rng.uniform(300.0, 1800.0))
    return LoadProfile(base=0.25, swing=0.1, period=rng.uniform(300.0, 1800.0))


def generated_dataset(
    service_providers: int = 200,
    groups_per_sp: int = 10,
    trunk_groups_per_group: int = 0,
    pools: int = 5,
    capacity_groups: int = 50,
    seed: int = 1,
    dids_per_capacity_group: int | None = None,
    hot_share: float | None = None,
    voice_in_trunks: int = 0,
) -> Dataset:
    """A synthetic world of the given size, the same for the same arguments.

    Every SP has trunking (so every report is 200) and groups have no trunk groups unless asked:
    a benchmark then measures the exporter, not the data. DIDWW pages are capped only at 100.
    Capacity groups have 0 to 3 DIDs each, or `dids_per_capacity_group`. With `hot_share`,
    that share of trunk groups is always near its limit and no group or SP cap applies (the
    shape of the call-budget benchmark and tests). `voice_in_trunks` DIDWW trunks, no group.
    """
    rng = random.Random(seed)
    sps = [
        _generated_sp(rng, i, groups_per_sp, trunk_groups_per_group, hot_share)
        for i in range(1, service_providers + 1)
    ]
    today = _today()
    pool_list = [
        CapacityPool(
            _id("pool", f"gen-{p}"),
            f"Pool {p}",
            today + timedelta(days=rng.randint(1, 60)),
            total_channels_count=0,
            assigned_channels_count=0,
            minimum_limit=rng.randint(1, 10),
            minimum_qty_per_order=rng.randint(1, 5),
            seed_spelling=p % 3 == 0,
        )
        for p in range(1, pools + 1)
    ]
    group_list = []
    for n in range(1, capacity_groups + 1):
        pool = pool_list[n % len(pool_list)] if pool_list else None
        shared = rng.randint(0, 20)
        count = rng.randint(0, 3) if dids_per_capacity_group is None else dids_per_capacity_group
        numbers = [Did(_id("did", f"gen-{n}-{d}"), f"1555{n:04d}{d:05d}") for d in range(count)]
        group_list.append(
            SharedCapacityGroup(
                _id("shared_capacity_group", f"gen-{n}"),
                f"Capacity group {n:04d}",
                shared,
                rng.choice((None, 0, 5, 10)),
                "2024-01-01T00:00:00.000Z",
                pool.id if pool else None,
                numbers,
            )
        )
        if pool:
            pool.assigned_channels_count += shared
    for pool in pool_list:
        pool.total_channels_count = pool.assigned_channels_count + rng.randint(0, 50)
    trunks = [
        VoiceInTrunk(_id("trunk", f"gen-{n}"), f"Trunk {n}", rng.randint(1, 30))
        for n in range(1, voice_in_trunks + 1)
    ]
    balance = Balance(_id("balance", "gen"), "1000.00", "0.00")
    return Dataset(
        odin=OdinData(sps),
        didww=DidwwData(pool_list, group_list, balance, voice_in_trunks=trunks),
    )
