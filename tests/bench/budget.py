"""Workloads 7 and 8: the call budget at the vendors' own sizes and limits, scrape by scrape.

A 2,500-trunk-group Odin tenant (2 % of trunk groups always near their limit) at the default
50 requests/s, and a 500-group DIDWW account (5 pools, 20,000 DIDs, 150 voice-in trunks) at
the default 8/s behind the key's documented 10/s, which the simulator enforces with 429. Both
with default settings, scraped every 10 s with a 10 s scrape timeout, as Prometheus would.

These count requests, coverage and ages, not time: the simulator runs in-process so that its
per-trunk-group request counts can be read, and the rate limit, not the CPU, is what binds.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import median

from prometheus_client.metrics_core import Metric

from exporter.config.section import Secret
from exporter.core.budget import PLANNED_SHARE
from exporter.core.deadline import Deadline
from exporter.registry import Config
from exporter.scrape.running import Exporter
from exporter.vendors.didww.config import DidwwTarget
from exporter.vendors.odin.config import OdinTarget
from simulator import Simulator, generated_dataset
from tests.bench.report import Row
from tests.helpers import parsed_families

SCRAPE_INTERVAL = 10.0
SCRAPE_DEADLINE = 9.5  # a 10 s scrape timeout less the exporter's default 0.5 s offset
ODIN_SHAPE = (100, 5, 5)  # SPs, groups per SP, trunk groups per group
HOT_SHARE = 0.02
ODIN_SCRAPES = 14
DIDWW_GROUPS, DIDWW_POOLS, DIDS_PER_GROUP, DIDWW_TRUNKS = 500, 5, 40, 150
DIDWW_KEY_LIMIT = 10.0
DIDWW_SCRAPES = 13
TRUNK_GROUPS_PATH = "/groups/trunk-groups"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class ScrapeRecord:
    up: float | None
    requests: int
    pending: float
    oldest: float | None
    samples: int  # trunk groups (Odin) or DID counts (DIDWW) exported
    rate_limited: float  # 429s so far


def families_of(exporter: Exporter) -> dict[str, Metric]:
    return parsed_families(exporter.scrape(Deadline(SCRAPE_DEADLINE)).chunks(openmetrics=False))


def value(families: dict[str, Metric], family: str, sample: str, **labels: str) -> float | None:
    for found in families[family].samples if family in families else ():
        if found.name == sample and all(found.labels.get(k) == v for k, v in labels.items()):
            return found.value
    return None


def rate_limited(families: dict[str, Metric], target: str) -> float:
    requests = families.get("trunk_capacity_exporter_upstream_requests")
    samples = requests.samples if requests is not None else []
    return sum(
        s.value
        for s in samples
        if s.labels.get("target") == target
        and s.labels.get("code") == "429"
        and s.name.endswith("_total")
    )


def paced(scrapes: int) -> Iterator[int]:
    """Scrape numbers, one every SCRAPE_INTERVAL, as Prometheus would send them."""
    started = time.monotonic()
    for number in range(scrapes):
        time.sleep(max(0.0, started + number * SCRAPE_INTERVAL - time.monotonic()))
        yield number


def record(
    exporter: Exporter, simulator: Simulator, api: str, target: str, kind: str, family: str
) -> ScrapeRecord:
    before = simulator.stats.count(api)
    families = families_of(exporter)
    own = "trunk_capacity_exporter_data_kind"
    return ScrapeRecord(
        up=value(families, f"{api}_up", f"{api}_up", target=target),
        requests=simulator.stats.count(api) - before,
        pending=value(families, f"{own}_pending", f"{own}_pending", target=target, data=kind)
        or 0.0,
        oldest=value(
            families, f"{own}_age_seconds", f"{own}_age_seconds", target=target, data=kind
        ),
        samples=len(families[family].samples) if family in families else 0,
        rate_limited=rate_limited(families, target),
    )


def odin_tenant() -> list[Row]:
    sps, groups, per_group = ODIN_SHAPE
    trunk_groups = sps * groups * per_group
    dataset = generated_dataset(
        service_providers=sps,
        groups_per_sp=groups,
        trunk_groups_per_group=per_group,
        pools=0,
        capacity_groups=0,
        hot_share=HOT_SHARE,
    )
    hot = [
        (group.id, tg.name)
        for sp in dataset.odin.service_providers
        for group in sp.groups
        if group.trunking
        for tg in group.trunking.trunk_groups
        if tg.load.base >= 0.9
    ]
    with Simulator(dataset) as simulator:
        target = OdinTarget(
            name="odin",
            url=simulator.odin_url,
            username=simulator.odin_username,
            password=Secret(simulator.odin_password),
            discover=True,
        )
        budget = math.floor(target.rate_limit * SCRAPE_DEADLINE * PLANNED_SHARE)
        exporter = Exporter(Config(targets=(target,)))
        records, hot_reads = [], []
        try:
            for number in paced(ODIN_SCRAPES):
                before = [_detail_reads(simulator, group, name) for group, name in hot]
                records.append(
                    record(
                        exporter,
                        simulator,
                        "odin",
                        "odin",
                        "trunk_group_details",
                        "odin_trunk_group_info",
                    )
                )
                after = [_detail_reads(simulator, group, name) for group, name in hot]
                hot_reads.append(sum(a - b for a, b in zip(after, before, strict=True)))
                log(f"odin scrape {number + 1}: {records[-1]}, hot read {hot_reads[-1]}/{len(hot)}")
        finally:
            exporter.close()
    needed = 1 + sps + sps * groups + trunk_groups
    return _rows(
        f"7. Odin {sps} SPs x {groups} groups x {per_group} trunk groups ({trunk_groups:,}, "
        f"{len(hot)} hot), defaults (50/s, details within 2m), scraped every 10 s",
        records,
        budget,
        math.ceil(needed / (budget - 2)),
        trunk_groups,
        120.0,
        hot_reads=(hot_reads, len(hot)),
    )


def _detail_reads(simulator: Simulator, group: str, name: str) -> int:
    return simulator.stats.count("odin", path=TRUNK_GROUPS_PATH, groupId=group, name=name)


def didww_account() -> list[Row]:
    dataset = generated_dataset(
        service_providers=0,
        pools=DIDWW_POOLS,
        capacity_groups=DIDWW_GROUPS,
        dids_per_capacity_group=DIDS_PER_GROUP,
        voice_in_trunks=DIDWW_TRUNKS,
    )
    with Simulator(dataset) as simulator:
        simulator.settings.didww_rate_limit = DIDWW_KEY_LIMIT
        target = DidwwTarget(
            name="didww", url=simulator.didww_url, api_key=Secret(simulator.didww_api_key)
        )
        budget = math.floor(target.rate_limit * SCRAPE_DEADLINE * PLANNED_SHARE)
        exporter = Exporter(Config(targets=(target,)))
        records = []
        try:
            for number in paced(DIDWW_SCRAPES):
                records.append(
                    record(
                        exporter,
                        simulator,
                        "didww",
                        "didww",
                        "did_counts",
                        "didww_shared_capacity_group_dids",
                    )
                )
                log(f"didww scrape {number + 1}: {records[-1]}")
        finally:
            exporter.close()
    return _rows(
        f"8. DIDWW {DIDWW_GROUPS} groups, {DIDWW_POOLS} pools, "
        f"{DIDWW_GROUPS * DIDS_PER_GROUP:,} DIDs, {DIDWW_TRUNKS} voice-in trunks, defaults "
        f"(8/s) behind the key's {DIDWW_KEY_LIMIT:g}/s, scraped every 10 s",
        records,
        budget,
        # A first scrape reads every kind's pages; then DID counts at the budget less the balance.
        1 + math.ceil(DIDWW_GROUPS / (budget - 1)),
        DIDWW_GROUPS,
        3600.0,
        rate_limit=DIDWW_KEY_LIMIT,
    )


def _rows(
    title: str,
    records: list[ScrapeRecord],
    budget: int,
    predicted: int,
    items: int,
    bound: float,
    hot_reads: tuple[list[int], int] | None = None,
    rate_limit: float | None = None,
) -> list[Row]:
    up = sum(1 for r in records if r.up == 1)
    covered = next(
        (n + 1 for n, r in enumerate(records) if r.pending == 0 and r.samples == items), None
    )
    steady = records[(covered or len(records)) :] or records[-1:]
    per_scrape = median(r.requests for r in steady)
    oldest = max((r.oldest or 0.0) for r in steady)
    rows = [
        Row(
            f"{title}: up on every scrape",
            f"{up} of {len(records)}",
            "",
            "",
            "all",
            up == len(records),
        ),
        Row(
            f"{title}: scrapes to full coverage",
            str(covered) if covered else "not reached",
            f"ceil(calls needed / budget) = {predicted} (budget {budget} a scrape)",
            "",
            f"≤ {predicted + 1}",
            covered is not None and covered <= predicted + 1,
        ),
        Row(
            f"{title}: requests per scrape after coverage (median)",
            f"{per_scrape:g}",
            f"most in one scrape: {max(r.requests for r in records)} (budget {budget})",
            f"{per_scrape / SCRAPE_INTERVAL:.2f}/s"
            + (
                f" = {per_scrape / SCRAPE_INTERVAL / rate_limit:.0%} of the key"
                if rate_limit
                else ""
            ),
            f"≤ budget {budget}",
            max(r.requests for r in records) <= budget + 2,
        ),
        Row(
            f"{title}: oldest item served after coverage",
            f"{oldest:.0f} s",
            f"refresh bound {bound:.0f} s",
            "",
            f"≤ {bound:.0f} s",
            oldest <= bound,
        ),
        Row(
            f"{title}: 429 answers",
            f"{records[-1].rate_limited:g}",
            "",
            "",
            "0",
            records[-1].rate_limited == 0,
        ),
    ]
    if hot_reads is not None:
        reads, hot = hot_reads
        after = reads[(covered or len(reads)) :] or reads[-1:]
        rows.append(
            Row(
                f"{title}: hot trunk groups read per scrape after coverage",
                f"min {min(after)} of {hot}",
                "",
                "",
                f"{hot} (every one, every scrape)",
                min(after) == hot,
            )
        )
    return rows
