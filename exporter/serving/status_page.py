"""The landing page: each target's state as of its last collection, as plain HTML.

A pure function of what the exporter already holds in memory, so loading `/` never touches
an upstream. No JavaScript; one small inline style sheet; a card per target reflows on a
phone. Every value from the config or an upstream is cut to a bounded length, HTML-escaped
and shown inside <bdi> (so that a U+202E in an SP id turns only itself around, not the page),
and a target's URL is shown as scheme, host and port only: userinfo, path and query may carry
credentials.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlsplit

from exporter.core.redaction import shortened
from exporter.scrape.sources import TargetStatus

# The project's repository (pyproject.toml's Homepage; a test keeps the two the same).
REPOSITORY = "https://github.com/trunk-capacity-exporter/trunk-capacity-exporter"
DOCS_URL = f"{REPOSITORY}/tree/main/docs"
DASHBOARDS_URL = f"{REPOSITORY}/tree/main/grafana/dashboards"
# An upstream's explanation can be long (an HTML error page's text); a card shows the start.
MAX_DETAIL = 300
# Names, ids and scopes: far beyond a real one, short enough for a card.
MAX_FIELD = 120

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;
line-height:1.4;color:#222;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:0 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:.75rem}
section{background:#fff;border:1px solid #ddd;border-left:.4rem solid #999;border-radius:.4rem;
padding:.75rem;overflow-wrap:anywhere}
.up{border-left-color:#2e7d32}.partial{border-left-color:#ef6c00}.down{border-left-color:#c62828}
.state{font-weight:bold}.up .state{color:#2e7d32}.partial .state{color:#ef6c00}
.down .state{color:#c62828}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .75rem;margin:.5rem 0}
dt{color:#666}dd{margin:0}
.failed{color:#c62828;font-weight:bold}
nav{margin-bottom:1rem}nav a{display:inline-block;margin:0 1rem .25rem 0}
"""

_STATES = {
    "up": ("up", "up"),
    "partial": ("partial", "up, but part of the data failed"),
    "down": ("down", "down"),
    "never": ("never", "not yet collected"),
}


def render_status_page(
    statuses: Sequence[TargetStatus],
    reload_state: tuple[bool, float],
    version: str,
    now: float,
    unresolved_links: Sequence[str] = (),
) -> bytes:
    """The page for these targets, the config reload state (last reload successful, when the
    config in use was loaded) and the exporter's version, with times relative to `now`, and
    what the configured links name that does not exist upstream."""
    e = html.escape
    cards = "".join(_target_card(status, now) for status in statuses)
    cards += _unresolved_card(unresolved_links)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(_title(statuses))}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>Trunk Capacity Exporter</h1><p>Version {e(version)} · "
        f"{e(_summary(statuses))}</p>{_reload_line(reload_state, now)}"
        '<nav><a href="metrics">Metrics</a><a href="-/healthy">Health</a>'
        f'<a href="{e(DOCS_URL)}">Documentation</a>'
        f'<a href="{e(DASHBOARDS_URL)}">Grafana dashboards</a></nav></header>'
        f'<main><div class="cards">{cards}</div></main>'
        "<footer><p>States are those of each target's last collection (by a scrape of "
        "/metrics or /probe); this page itself asks no upstream.</p></footer>"
        "</body></html>"
    )
    return page.encode()


def url_origin(url: str) -> str:
    """Scheme, host and port of `url`, never its userinfo, path or query."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "(invalid URL)"
    if not host:
        return "(no host in URL)"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}" if parts.scheme else host
    return f"{origin}:{port}" if port is not None else origin


def human_duration(seconds: float) -> str:
    """A duration in its two largest units, zeros left out: "42 s", "3 min 5 s", "2 h"."""
    whole = max(0, int(seconds))
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    shown: list[str] = []
    for name, size in units:
        amount, whole = divmod(whole, size)
        if amount or shown:
            shown.append(f"{amount} {name}")
        if len(shown) == 2:
            break
    shown = [part for part in shown if not part.startswith("0 ")]
    return " ".join(shown) if shown else "0 s"


def format_time(timestamp: float, now: float) -> str:
    """UTC wall-clock time and how long before `now` it was (a stepped clock: "just now")."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
    ago = "just now" if now - timestamp < 1 else f"{human_duration(now - timestamp)} ago"
    return f"{stamp} ({ago})"


def _state(status: TargetStatus) -> str:
    if status.last is None:
        return "never"
    if not status.last.snapshot.up:
        return "down"
    return "up" if status.last.snapshot.complete else "partial"


def _title(statuses: Sequence[TargetStatus]) -> str:
    down = sum(_state(status) == "down" for status in statuses)
    return f"Trunk Capacity Exporter: {down} down" if down else "Trunk Capacity Exporter"


def _summary(statuses: Sequence[TargetStatus]) -> str:
    if not statuses:
        return "no targets configured"
    states = [_state(status) for status in statuses]
    counted = [f"{states.count(key)} {_STATES[key][1]}" for key in _STATES if key in states]
    return f"{len(statuses)} targets: " + ", ".join(counted)


def _reload_line(reload_state: tuple[bool, float], now: float) -> str:
    successful, loaded_at = reload_state
    when = html.escape(format_time(loaded_at, now))
    if successful:
        return f"<p>Config loaded {when}.</p>"
    return (
        f'<p><span class="failed">The last config reload failed</span>: still serving the '
        f"config loaded {when}. The exporter's log names the problem.</p>"
    )


def shown(text: str, limit: int = MAX_FIELD) -> str:
    """A value from the config or an upstream as the page shows it: cut, escaped, isolated."""
    return f"<bdi>{html.escape(shortened(text, limit))}</bdi>"


def _target_card(status: TargetStatus, now: float) -> str:
    e = html.escape
    state = _state(status)
    css_class, label = _STATES[state]
    rows = [
        ("Kind", e(status.kind)),
        ("Upstream", shown(url_origin(status.url))),
        ("State", f'<span class="state">{e(label)}</span>'),
        ("Last error", _last_error(status, now)),
        ("Last success", _last_success(status, now)),
        ("Data age", _data_age(status)),
    ]
    if status.last is not None and (status.last.snapshot.up or status.last.snapshot.counts):
        rows.append(("Found", shown(_counts(status.last.snapshot.counts))))
    details = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    probe = "probe?target=" + quote(status.name, safe="")
    return (
        f'<section class="{css_class}"><h2>{shown(status.name)}</h2><dl>{details}</dl>'
        f'<p><a href="{e(probe)}">Probe this target</a></p></section>'
    )


def _unresolved_card(problems: Sequence[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{shown(problem, MAX_DETAIL)}</li>" for problem in problems)
    return (
        '<section class="down"><h2>Links naming nothing upstream</h2>'
        f"<ul>{items}</ul><p>Their capacity-chain rules stay empty until <code>links:</code> "
        "is corrected.</p></section>"
    )


def _last_success(status: TargetStatus, now: float) -> str:
    if status.last_success is None:
        return "never"
    return html.escape(format_time(status.last_success, now))


def _data_age(status: TargetStatus) -> str:
    """The last collection's age and, where parts are refreshed at their own pace (Odin's
    `refresh:`), the oldest data of each kind it served, as old as they are now."""
    age = status.data_age
    if age is None or status.last is None:
        return "none"
    kinds = sorted(status.last.snapshot.ages.items())
    by_kind = "<br>".join(
        html.escape(f"{kind.replace('_', ' ')}: {human_duration(age + seconds)}")
        for kind, seconds in kinds
    )
    text = html.escape(human_duration(age))
    return f"{text}<br>{by_kind}" if by_kind else text


def _last_error(status: TargetStatus, now: float) -> str:
    if status.last_error is None:
        return "none"
    error, at = status.last_error
    text = f"<strong>{shown(error.reason)}</strong>"
    if error.endpoint:
        text += f" at {shown(error.endpoint)}"
    if error.scope:
        text += f" ({shown(error.scope)})"
    if error.detail:
        text += f": {shown(error.detail, MAX_DETAIL)}"
    return f"{text}<br>{html.escape(format_time(at, now))}"


def _counts(counts: Mapping[str, int]) -> str:
    if not counts:
        return "nothing"
    return ", ".join(f"{number} {what}" for what, number in counts.items())
