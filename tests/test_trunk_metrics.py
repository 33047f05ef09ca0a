"""The DIDWW trunk families: every sample, label and HELP text, as a scrape exposes them."""

from __future__ import annotations

import math

from prometheus_client.metrics_core import Metric

from exporter.core.exposition import PartWriter, data_chunks
from exporter.vendors.didww.metrics import FAMILIES, AccountData, account_lines
from exporter.vendors.didww.models import (
    AccountBalance,
    DidwwTrunks,
    VoiceInTrunk,
    VoiceInTrunkGroup,
    VoiceOutTrunk,
)
from exporter.vendors.didww.trunk_metrics import TRUNK_FAMILIES, write_trunks
from tests.helpers import parsed_families

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


def exposed(*accounts: tuple[str, DidwwTrunks]) -> dict[str, Metric]:
    """The trunk families of these accounts, rendered and parsed back by prometheus_client."""
    parts = []
    for target, trunks in accounts:
        writer = PartWriter({"target": target})
        write_trunks(writer, trunks)
        parts.append(writer.rendered())
    return parsed_families(data_chunks(TRUNK_FAMILIES, parts, openmetrics=False))


def samples(family: Metric) -> list[tuple[dict[str, str], float]]:
    return sorted(
        ((sample.labels, sample.value) for sample in family.samples),
        key=lambda sample: sorted(sample[0].items()),
    )


def test_every_trunk_family_and_sample_of_two_accounts() -> None:
    families = exposed(("acct", ACCOUNT), ("plain", NO_OUTBOUND))

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


def test_help_texts_name_the_source_field() -> None:
    help_of = {family.name: family.documentation for family in TRUNK_FAMILIES}
    assert all(text.endswith(".") for text in help_of.values())
    assert "+Inf: no limit" in help_of["didww_voice_in_trunk_capacity_limit"]
    assert "meta.trunks_count" in help_of["didww_voice_in_trunk_group_trunks"]
    assert "meta.spent_amount" in help_of["didww_voice_out_trunk_spent_amount"]
    assert "403" in help_of["didww_outbound_enabled"]
    assert set(TRUNK_FAMILIES) <= set(FAMILIES)  # exposed by the DIDWW vendor


def test_ids_appear_only_on_info_families() -> None:
    for family in exposed(("acct", ACCOUNT)).values():
        id_labels = {key for labels, _ in samples(family) for key in labels if key.endswith("_id")}
        assert bool(id_labels) == family.name.endswith("_info"), family.name


def test_unknown_outbound_state_is_no_sample() -> None:
    assert exposed(("acct", DidwwTrunks())) == {}  # no sample, so not even a header


def test_a_trunk_linked_to_an_unknown_group_is_not_exported_as_ungrouped() -> None:
    account = DidwwTrunks(voice_in_trunks=(VoiceInTrunk("t1", "Lost", 3.0, "gone"),))
    assert exposed(("acct", account)) == {}


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
    families = exposed(("acct", account))  # parsing fails on a repeated label set
    limits = samples(families["didww_voice_in_trunk_capacity_limit"])
    assert [value for _, value in limits] == [1.0, 3.0]
    assert [value for _, value in samples(families["didww_voice_out_trunk_capacity_limit"])] == [
        1.0
    ]
    info = samples(families["didww_voice_out_trunk_info"])
    assert [labels["voice_out_trunk_id"] for labels, _ in info] == ["o1"]


def test_the_account_part_carries_total_balance_and_trunks() -> None:
    data = AccountData(
        pools=(),
        groups=(),
        balance=AccountBalance(10.0, 5.0, None, total_balance=15.0),
        api_version=None,
        trunks=NO_OUTBOUND,
    )
    families = parsed_families(data_chunks(FAMILIES, [account_lines("a", data)], False))
    assert samples(families["didww_account_total_balance"]) == [({"target": "a"}, 15.0)]
    assert samples(families["didww_outbound_enabled"]) == [({"target": "a"}, 0.0)]
    assert "didww_voice_out_trunk_info" not in families
