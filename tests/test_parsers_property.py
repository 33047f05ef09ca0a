"""Property: whatever JSON an upstream sends, the parsers return parsed data or InvalidPayload."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.core.payload import InvalidPayload
from exporter.vendors.didww.client import INCLUDED_TYPES, VOICE_IN_TRUNKS_INCLUDE
from exporter.vendors.didww.models import (
    AccountBalance,
    Page,
    parse_balance,
    parse_capacity_pool,
    parse_page,
    parse_shared_capacity_group,
    parse_voice_in_trunk,
    parse_voice_in_trunk_group,
    parse_voice_out_trunk,
)
from exporter.vendors.odin.models import (
    Names,
    TrunkCallCapacityReport,
    TrunkGroup,
    parse_service_providers,
    parse_trunk_call_capacity_report,
    parse_trunk_group_detail,
    parse_trunk_group_names,
)

FIXTURES = Path(__file__).parent / "fixtures"
ODIN_SEED = json.loads((FIXTURES / "odin_report_seed.json").read_text())
DIDWW_SEED = json.loads((FIXTURES / "didww_shared_capacity_groups_seed.json").read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["-1", "Unlimited", "25.0", "2018-07-21", "capacity_pools", "1e400"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=20,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a subtree of a JSON document."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """The document with one to three subtrees replaced by arbitrary JSON, or deleted."""
    result = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(result)[1:]
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = result
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return result


def parses_or_refuses(parser: Callable[..., Any], payload: Any, *args: Any, expected: type) -> None:
    try:
        result = parser(payload, *args)
    except InvalidPayload as error:
        assert str(error)
        assert "\n" not in str(error)
        return
    assert isinstance(result, expected)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(mutated(ODIN_SEED))
def test_odin_report_parser_on_mutated_seed(payload: Any) -> None:
    parses_or_refuses(
        parse_trunk_call_capacity_report, payload, "ent.odin", expected=TrunkCallCapacityReport
    )


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(json_values)
def test_odin_parsers_on_arbitrary_json(payload: Any) -> None:
    parses_or_refuses(
        parse_trunk_call_capacity_report, payload, "sp", expected=TrunkCallCapacityReport
    )
    parses_or_refuses(parse_trunk_group_detail, payload, "g", "tg", expected=TrunkGroup)
    parses_or_refuses(parse_trunk_group_names, payload, expected=Names)
    parses_or_refuses(parse_service_providers, payload, expected=Names)


def parse_didww_document(payload: Any) -> Page:
    """A page and every resource in it, as the collection parses them."""
    page = parse_page(payload, INCLUDED_TYPES["capacity_pool"])
    for resource in page.data:
        parse_shared_capacity_group(resource)
    for resource in page.included:
        parse_capacity_pool(resource)
    return page


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(mutated(DIDWW_SEED))
def test_didww_parsers_on_mutated_seed(payload: Any) -> None:
    parses_or_refuses(parse_didww_document, payload, expected=Page)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(json_values)
def test_didww_parsers_on_arbitrary_json(payload: Any) -> None:
    parses_or_refuses(parse_didww_document, payload, expected=Page)
    parses_or_refuses(parse_balance, payload, expected=AccountBalance)


# A page with a voice-in trunk (its group included) and a voice-out trunk, as the schema has them.
TRUNK_DOCUMENT = {
    "data": [
        {
            "id": "t1",
            "type": "voice_in_trunks",
            "attributes": {"name": "Main", "capacity_limit": 20, "priority": 1},
            "relationships": {
                "voice_in_trunk_group": {"data": {"type": "voice_in_trunk_groups", "id": "g1"}}
            },
        },
        {
            "id": "o1",
            "type": "voice_out_trunks",
            "attributes": {
                "name": "Out",
                "capacity_limit": None,
                "threshold_amount": "100.00",
                "threshold_reached": False,
            },
            "meta": {"spent_amount": "12.34"},
        },
    ],
    "included": [
        {
            "id": "g1",
            "type": "voice_in_trunk_groups",
            "attributes": {"name": "Primary", "capacity_limit": None},
            "meta": {"trunks_count": 1},
        }
    ],
    "meta": {"total_records": 2},
    "links": {"first": "https://x/v3/voice_in_trunks?page%5Bnumber%5D=1"},
}


def parse_trunk_document(payload: Any) -> Page:
    page = parse_page(payload, INCLUDED_TYPES[VOICE_IN_TRUNKS_INCLUDE])
    for resource in page.data:
        if resource.type == "voice_out_trunks":
            parse_voice_out_trunk(resource)
        else:
            parse_voice_in_trunk(resource)
    for resource in page.included:
        parse_voice_in_trunk_group(resource)
    return page


def test_the_trunk_document_parses_as_it_is() -> None:
    assert len(parse_trunk_document(TRUNK_DOCUMENT).data) == 2


@settings(max_examples=150, deadline=None)
@given(mutated(TRUNK_DOCUMENT))
def test_didww_trunk_parsers_on_mutated_documents(payload: Any) -> None:
    parses_or_refuses(parse_trunk_document, payload, expected=Page)
