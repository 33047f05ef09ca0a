"""The DIDWW trunk families as pure functions: every sample, label and HELP text."""

from __future__ import annotations

import math

from exporter.didww.models import (
    AccountBalance,
    DidwwTrunks,
    VoiceInTrunk,
    VoiceInTrunkGroup,
    VoiceOutTrunk,
)
from exporter.didww.trunk_metrics import (
    Family,
    total_balance_family,
    trunk_families,
)

INF = math.inf

ACCOUNT = DidwwTrunks(
    voice_in_trunks=(
        VoiceInTrunk("t1", "Main", 20.0, "tg1"),
        VoiceInTrunk("t2", "Backup", INF, "tg1"),
        VoiceInTrunk("t3", "Fax", 2.0, None),
        VoiceInTrunk("t4", "Unset", None, None),  # capacity_limit missing: info only
    ),
    voice_in_trunk_groups=(
        VoiceInTrunkGroup("tg1", "Primary", 30.0, 2.0),
        VoiceInTrunkGroup("tg2", "Overflow", INF, None),
    ),
    voice_out_trunks=(
        VoiceOutTrunk("o1", "Outbound EU", 10.0, 100.0, False, 12.34),
        VoiceOutTrunk("o2", "Outbound US", INF, None, True, 61.5),
    ),
    outbound_enabled=True,
)
NO_OUTBOUND = DidwwTrunks(
    voice_in_trunks=(VoiceInTrunk("x1", "Solo", 4.0, None),), outbound_enabled=False
)


def by_name(families: list[Family]) -> dict[str, Family]:
    named = {family.name: family for family in families}
    assert len(named) == len(families), "a family name repeats"
    return named


def samples(family: Family) -> list[tuple[dict[str, str], float]]:
    return sorted(family.samples, key=lambda sample: sorted(sample[0].items()))


def test_every_trunk_family_and_sample_of_two_accounts() -> None:
    families = by_name(trunk_families([("acct", ACCOUNT), ("plain", NO_OUTBOUND)]))

    assert list(families) == [
        "didww_voice_in_trunk_capacity_limit",
        "didww_voice_in_trunk_info",
        "didww_voice_in_trunk_group_capacity_limit",
        "didww_voice_in_trunk_group_trunks",
        "didww_voice_in_trunk_group_info",
        "didww_outbound_enabled",
        "didww_voice_out_trunk_capacity_limit",
        "didww_voice_out_trunk_threshold_amount",
        "didww_voice_out_trunk_threshold_reached",
        "didww_voice_out_trunk_spent_amount",
        "didww_voice_out_trunk_info",
    ]

    def trunk(target: str, name: str, group: str) -> dict[str, str]:
        return {"target": target, "voice_in_trunk": name, "voice_in_trunk_group": group}

    assert samples(families["didww_voice_in_trunk_capacity_limit"]) == [
        (trunk("acct", "Backup", "Primary"), INF),
        (trunk("acct", "Fax", ""), 2.0),
        (trunk("acct", "Main", "Primary"), 20.0),
        (trunk("plain", "Solo", ""), 4.0),
    ]
    assert samples(families["didww_voice_in_trunk_info"]) == [
        ({**trunk("acct", "Backup", "Primary"), "voice_in_trunk_id": "t2"}, 1.0),
        ({**trunk("acct", "Fax", ""), "voice_in_trunk_id": "t3"}, 1.0),
        ({**trunk("acct", "Main", "Primary"), "voice_in_trunk_id": "t1"}, 1.0),
        ({**trunk("acct", "Unset", ""), "voice_in_trunk_id": "t4"}, 1.0),
        ({**trunk("plain", "Solo", ""), "voice_in_trunk_id": "x1"}, 1.0),
    ]

    def group(name: str) -> dict[str, str]:
        return {"target": "acct", "voice_in_trunk_group": name}

    assert samples(families["didww_voice_in_trunk_group_capacity_limit"]) == [
        (group("Overflow"), INF),
        (group("Primary"), 30.0),
    ]
    assert samples(families["didww_voice_in_trunk_group_trunks"]) == [(group("Primary"), 2.0)]
    assert samples(families["didww_voice_in_trunk_group_info"]) == [
        ({**group("Overflow"), "voice_in_trunk_group_id": "tg2"}, 1.0),
        ({**group("Primary"), "voice_in_trunk_group_id": "tg1"}, 1.0),
    ]
    assert samples(families["didww_outbound_enabled"]) == [
        ({"target": "acct"}, 1.0),
        ({"target": "plain"}, 0.0),
    ]

    def out(name: str) -> dict[str, str]:
        return {"target": "acct", "voice_out_trunk": name}

    assert samples(families["didww_voice_out_trunk_capacity_limit"]) == [
        (out("Outbound EU"), 10.0),
        (out("Outbound US"), INF),
    ]
    assert samples(families["didww_voice_out_trunk_threshold_amount"]) == [
        (out("Outbound EU"), 100.0)
    ]
    assert samples(families["didww_voice_out_trunk_threshold_reached"]) == [
        (out("Outbound EU"), 0.0),
        (out("Outbound US"), 1.0),
    ]
    assert samples(families["didww_voice_out_trunk_spent_amount"]) == [
        (out("Outbound EU"), 12.34),
        (out("Outbound US"), 61.5),
    ]
    assert samples(families["didww_voice_out_trunk_info"]) == [
        ({**out("Outbound EU"), "voice_out_trunk_id": "o1"}, 1.0),
        ({**out("Outbound US"), "voice_out_trunk_id": "o2"}, 1.0),
    ]


def test_help_texts_name_the_source_field_and_no_family_is_empty_of_help() -> None:
    families = trunk_families([("acct", ACCOUNT)])
    assert all(family.documentation.endswith(".") for family in families)
    help_of = {family.name: family.documentation for family in families}
    assert "+Inf: no limit" in help_of["didww_voice_in_trunk_capacity_limit"]
    assert "meta.trunks_count" in help_of["didww_voice_in_trunk_group_trunks"]
    assert "meta.spent_amount" in help_of["didww_voice_out_trunk_spent_amount"]
    assert "403" in help_of["didww_outbound_enabled"]


def test_ids_appear_only_on_info_families() -> None:
    for family in trunk_families([("acct", ACCOUNT)]):
        id_labels = {key for labels, _ in family.samples for key in labels if key.endswith("_id")}
        assert bool(id_labels) == family.name.endswith("_info"), family.name


def test_unknown_outbound_state_is_no_sample() -> None:
    families = by_name(trunk_families([("acct", DidwwTrunks())]))
    assert families["didww_outbound_enabled"].samples == ()
    assert all(family.samples == () for family in families.values())


def test_a_trunk_linked_to_an_unknown_group_is_not_exported_as_ungrouped() -> None:
    account = DidwwTrunks(voice_in_trunks=(VoiceInTrunk("t1", "Lost", 3.0, "gone"),))
    families = by_name(trunk_families([("acct", account)]))
    assert families["didww_voice_in_trunk_capacity_limit"].samples == ()
    assert families["didww_voice_in_trunk_info"].samples == ()


def test_repeated_labels_keep_the_first_sample() -> None:
    account = DidwwTrunks(
        voice_in_trunks=(
            VoiceInTrunk("t1", "Same", 1.0, None),
            VoiceInTrunk("t2", "Same", 2.0, None),
            VoiceInTrunk("t3", "Same", 3.0, "tg1"),  # another group: other labels, kept
        ),
        voice_in_trunk_groups=(VoiceInTrunkGroup("tg1", "G", 5.0, 1.0),),
        voice_out_trunks=(
            VoiceOutTrunk("o1", "Out", 1.0, None, None, None),
            VoiceOutTrunk("o2", "Out", 2.0, None, None, None),
        ),
    )
    families = by_name(trunk_families([("acct", account)]))
    assert [value for _, value in families["didww_voice_in_trunk_capacity_limit"].samples] == [
        1.0,
        3.0,
    ]
    assert [value for _, value in families["didww_voice_out_trunk_capacity_limit"].samples] == [1.0]
    assert [
        labels["voice_out_trunk_id"] for labels, _ in families["didww_voice_out_trunk_info"].samples
    ] == ["o1"]


def test_total_balance_per_account_and_none_is_no_sample() -> None:
    family = total_balance_family(
        [
            ("a", AccountBalance(10.0, 5.0, None, total_balance=15.0)),
            ("b", AccountBalance(1.0, None, None)),
            ("c", None),
        ]
    )
    assert family.name == "didww_account_total_balance"
    assert family.samples == (({"target": "a"}, 15.0),)
