"""The demo world is physically possible and moving (docs/alerting.md, "The demo")."""

from __future__ import annotations

import math
from decimal import Decimal

from simulator import default_dataset
from simulator.calls import CallAdmission, active_calls, admitted_calls, effective_cap
from simulator.dataset import Balance, CapacityPool, ServiceProvider

START = 1_700_000_000.0
# Six hours in 11 s steps: longer than every load period, short enough to stay fast.
INSTANTS = [START + step * 11.0 for step in range(6 * 3600 // 11)]


def trunking(sp: ServiceProvider):
    return [group for group in sp.groups if group.trunking is not None]


def test_live_calls_never_exceed_any_effective_limit():
    for sp in default_dataset().odin.service_providers:
        groups = trunking(sp)
        trunk_groups = [tg for g in groups for tg in g.trunking.trunk_groups]
        if sp.max_active_calls is None:  # no trunking: no calls at all
            assert admitted_calls(sp, START) == {}
            continue
        sp_cap = effective_cap(sp.max_active_calls, sp.bursting_max_active_calls, trunk_groups)
        for at in INSTANTS:
            calls = admitted_calls(sp, at)
            assert sum(map(sum, calls.values())) <= sp_cap, (sp.id, at)
            for group in groups:
                trunking_ = group.trunking
                cap = effective_cap(
                    trunking_.max_active_calls,
                    trunking_.bursting_max_active_calls,
                    trunking_.trunk_groups,
                )
                assert sum(sum(calls[tg.name]) for tg in trunking_.trunk_groups) <= cap
                for tg in trunking_.trunk_groups:
                    incoming, outgoing = calls[tg.name]
                    assert 0 <= incoming + outgoing <= sum(active_calls(tg, at))
                    assert tg.max_incoming_calls is None or incoming <= tg.max_incoming_calls
                    assert tg.max_outgoing_calls is None or outgoing <= tg.max_outgoing_calls


def test_the_oversubscribed_enterprise_is_held_at_its_cap():
    """ent.acme's groups ask for more than its cap of 40 at every instant: 40 get through."""
    (acme,) = [sp for sp in default_dataset().odin.service_providers if sp.id == "ent.acme"]
    for at in INSTANTS[::50]:
        demand = sum(
            sum(active_calls(tg, at)) for g in trunking(acme) for tg in g.trunking.trunk_groups
        )
        assert demand > 40
        assert sum(map(sum, admitted_calls(acme, at).values())) == 40


def test_unlimited_caps_admit_the_whole_demand():
    (northwind,) = [
        sp for sp in default_dataset().odin.service_providers if sp.id == "sp.northwind"
    ]
    assert effective_cap(-1, -1, []) == math.inf
    for at in INSTANTS[::100]:
        for group in trunking(northwind):
            for tg in group.trunking.trunk_groups:
                assert sum(admitted_calls(northwind, at)[tg.name]) == sum(active_calls(tg, at))


def test_a_pool_fills_and_stops_at_its_mark():
    pool = CapacityPool(
        "id",
        "P",
        default_dataset().didww.capacity_pools[0].renew_date,
        50,
        22,
        10,
        5,
        fill_every=20.0,
        fill_to=40,
        opened_at=START,
    )
    assert pool.assigned_at(START) == 22
    assert pool.assigned_at(START + 19.9) == 22
    assert pool.assigned_at(START + 20.0) == 23
    assert pool.assigned_at(START + 3600) == 40
    standard = default_dataset().didww.capacity_pools[0]
    assert standard.name == "Standard" and standard.fill_every > 0


def test_the_balance_burns_down_and_is_topped_up_at_zero():
    balance = Balance("id", "42.17", "50.00", burn_per_day="10", opened_at=START)
    assert balance.balance_at(START) == "42.1700"
    assert Decimal(balance.balance_at(START + 86400)) == Decimal("32.17")
    assert Decimal(balance.total_balance_at(START + 86400)) == Decimal("82.17")
    # 42.17 lasts 4.217 days at 10 a day; then it is topped up and burns again.
    assert Decimal(balance.balance_at(START + 4.3 * 86400)) > Decimal("41")
    assert Balance("id", "5.00", "0").balance_at(START + 1e6) == "5.00"  # no burn: static
    assert default_dataset().didww.balance.burn_per_day == "10"


def test_call_admission_memoises_per_second_exactly():
    (acme,) = [sp for sp in default_dataset().odin.service_providers if sp.id == "ent.acme"]
    trunk_groups = [tg for g in trunking(acme) for tg in g.trunking.trunk_groups]
    admission = CallAdmission()
    for at in (START + 0.1, START + 0.9, START + 1.0, START + 37.5):
        expected = admitted_calls(acme, float(math.floor(at)))
        assert {tg.name: admission.of(acme, tg, at) for tg in trunk_groups} == expected
