"""Command line: serve, check a config, collect once, run the demo, or `plan`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import ssl
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from exporter import __version__
from exporter.config.section import ConfigError, parse_duration
from exporter.core.deadline import Deadline
from exporter.core.logs import LEVELS, setup_logging
from exporter.core.memory import MIB, MemoryBudget, MemoryLimits
from exporter.planning.command import main as plan_main
from exporter.registry import VENDORS, Config, describe_config, load_config
from exporter.scrape.running import Exporter
from exporter.serving.app import ExporterApp, ScrapeTimeouts
from exporter.serving.http_server import HttpServer, ServingLimits, fit_to_open_files
from exporter.serving.listen import ListenAddress, ListenError, open_sockets, parse_listen_address
from exporter.serving.rate_limit import TokenBucket
from exporter.serving.reloader import Reloader
from exporter.serving.web_config import BasicAuth, WebConfig, WebConfigError, load_web_config

log = logging.getLogger("exporter")

EXIT_OK, EXIT_DOWN, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG_FILE = "/etc/trunk-capacity-exporter/config.yml"
DEFAULT_LISTEN_ADDRESS = ":10042"


def _listen_address(text: str) -> ListenAddress:
    try:
        return parse_listen_address(text)
    except ListenError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return int(text)


def _add_serving_limits(parser: argparse.ArgumentParser) -> None:
    """The HTTP server's bounds and timeouts (docs/security.md explains each)."""
    defaults = ServingLimits()
    for flag, field, kind, help_text in (
        ("max-connections", "max_connections", _positive_int, "open client connections"),
        ("max-requests", "max_requests", _positive_int, "requests answered at once"),
        (
            "read-header-timeout",
            "read_header_timeout",
            _positive_duration,
            "to read a request head",
        ),
        (
            "idle-timeout",
            "idle_timeout",
            _positive_duration,
            "keep-alive wait for the next request",
        ),
        (
            "tls-handshake-timeout",
            "tls_handshake_timeout",
            _positive_duration,
            "for the TLS handshake",
        ),
        ("write-timeout", "write_timeout", _positive_duration, "to send a whole answer"),
    ):
        default = getattr(defaults, field)
        shown = default if kind is _positive_int else f"{default:g}s"
        parser.add_argument(
            f"--web.{flag}",
            dest=field,
            type=kind,
            default=default,
            metavar="N" if kind is _positive_int else "DURATION",
            help=f"{help_text} (default: {shown})",
        )


def _add_memory_limits(parser: argparse.ArgumentParser) -> None:
    """What upstream answers may take (exporter.core.memory; docs/security.md sizes them)."""
    defaults = MemoryLimits()
    for flag, field, help_text in (
        ("per-collection-mib", "per_collection", "one collection's answers"),
        ("total-mib", "total", "every collection's answers at once"),
    ):
        default = getattr(defaults, field) // MIB
        parser.add_argument(
            f"--memory.{flag}",
            dest=f"memory_{field}",
            type=_positive_int,
            default=default,
            metavar="MIB",
            help=f"memory budget of {help_text}, in MiB (default: {default})",
        )


def _memory_limits(args: argparse.Namespace) -> MemoryLimits:
    return MemoryLimits(
        per_collection=args.memory_per_collection * MIB, total=args.memory_total * MIB
    )


def _duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use 10s, 500ms, 1m)")
    return seconds


def _positive_duration(text: str) -> float:
    """A timeout: 0 would answer nothing (or drop every answer) without a word in the log."""
    seconds = _duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {text!r}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trunk-capacity-exporter",
        description="Prometheus exporter for voice trunk capacity "
        f"({', '.join(vendor.section.title for vendor in VENDORS)}).",
        epilog="`trunk-capacity-exporter plan --help`: capacity planning from the busy-hour "
        "traffic Prometheus recorded (docs/planning.md).",
    )
    parser.add_argument(
        "--config.file",
        dest="config_file",
        default=DEFAULT_CONFIG_FILE,
        help="YAML configuration file (default: %(default)s)",
    )
    parser.add_argument(
        "--web.listen-address",
        dest="listen_addresses",
        action="append",
        type=_listen_address,
        metavar="HOST:PORT",
        help="where to serve; :PORT is every IPv4 and IPv6 address, [::1]:PORT an IPv6 one; "
        f"repeat to listen on several (default: {DEFAULT_LISTEN_ADDRESS})",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        help="TLS and basic auth, in the Prometheus exporter-toolkit format",
    )
    _add_serving_limits(parser)
    parser.add_argument("--log.level", dest="log_level", choices=LEVELS, default="info")
    parser.add_argument(
        "--log.format", dest="log_format", choices=("logfmt", "json"), default="logfmt"
    )
    parser.add_argument(
        "--scrape.default-timeout",
        dest="default_timeout",
        type=_positive_duration,
        default=10.0,
        metavar="DURATION",
        help="deadline when Prometheus sends no scrape timeout header, and for "
        "--once (default: 10s)",
    )
    parser.add_argument(
        "--scrape.timeout-offset",
        dest="timeout_offset",
        type=_duration,
        default=0.5,
        metavar="DURATION",
        help="kept back from Prometheus' scrape timeout (default: 0.5s)",
    )
    _add_memory_limits(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--config.check",
        dest="config_check",
        action="store_true",
        help="validate the config file and exit 0 (valid) or 2",
    )
    mode.add_argument(
        "--once",
        action="store_true",
        help="collect every target once, print the exposition, exit 0 if all up",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve metrics from simulated upstreams of every vendor, no config",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["plan"]:
        return plan_main(arguments[1:])
    args = build_parser().parse_args(arguments)
    setup_logging(args.log_level, args.log_format)
    if args.demo and args.config_check:
        print("--config.check has no file to check in --demo mode", file=sys.stderr)
        return EXIT_CONFIG
    if args.memory_per_collection > args.memory_total:
        print(
            f"--memory.per-collection-mib {args.memory_per_collection} is more than "
            f"--memory.total-mib {args.memory_total}, which every collection shares",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    web = _web_security(args.web_config_file)
    if web is None:
        return EXIT_CONFIG
    with _configuration(args) as loaded:
        if loaded is None:
            return EXIT_CONFIG
        config, config_file = loaded
        if args.config_check:
            print(f"config OK: {describe_config(config)}")
            for warning in config.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            return EXIT_OK
        _warn_about(config)
        exporter = Exporter(config, memory=MemoryBudget(_memory_limits(args)))
        try:
            if args.once:
                return _collect_once(exporter, args.default_timeout)
            return _serve(exporter, args, config_file, web)
        finally:
            exporter.close()


@dataclass(frozen=True)
class WebSecurity:
    """What --web.config.file asks of the HTTP server."""

    ssl_context: ssl.SSLContext | None
    auth: BasicAuth | None
    headers: tuple[tuple[str, str], ...]
    rate_limiter: TokenBucket | None


def _web_security(path: str | None) -> WebSecurity | None:
    """The web config, checked at start-up (also by --config.check); None after an error."""
    try:
        web = load_web_config(path) if path else WebConfig()
        return WebSecurity(web.ssl_context(), web.basic_auth(), web.headers, web.rate_limiter())
    except WebConfigError as error:
        print(f"web config error: {error}", file=sys.stderr)
        return None


@contextlib.contextmanager
def _configuration(args: argparse.Namespace) -> Iterator[tuple[Config, Path | None] | None]:
    """The config to run with: the demo's (with its simulator running) or the file's."""
    if args.demo:
        # Imported here: the simulator is loaded only by the demo, never by a real deployment.
        from exporter.demo import running_demo

        with running_demo() as config:
            yield config, None
        return
    try:
        config = load_config(args.config_file)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        yield None
        return
    yield config, Path(args.config_file)


def _collect_once(exporter: Exporter, timeout: float) -> int:
    scrape = exporter.scrape(Deadline(timeout))
    for chunk in scrape.chunks(openmetrics=False):
        sys.stdout.buffer.write(chunk)
    sys.stdout.flush()
    return EXIT_OK if scrape.all_up else EXIT_DOWN


def reload_config(exporter: Exporter, config_file: Path | None) -> None:
    """Read the config file again and apply it; any failure keeps the old config and reads
    as trunk_capacity_exporter_config_last_reload_successful 0."""
    if config_file is None:
        log.warning("demo mode has no config file to reload; the demo config keeps serving")
        raise ConfigError("demo mode has no config file to reload")
    try:
        config = load_config(config_file)
        exporter.apply_config(config)
    except Exception as error:
        exporter.reload_failed()
        if isinstance(error, ConfigError):  # anything else is a bug: its traceback is logged
            log.error(
                "config reload failed; the previous config keeps serving",
                extra={"error": str(error)},
            )
        raise
    log.info("config reloaded", extra={"targets": ",".join(config.target_names)})
    _warn_about(config)


def _warn_about(config: Config) -> None:
    for warning in config.warnings:
        log.warning("config is valid but unsafe", extra={"problem": warning})


def _serve(
    exporter: Exporter, args: argparse.Namespace, config_file: Path | None, web: WebSecurity
) -> int:
    reloader = Reloader(lambda: reload_config(exporter, config_file)).start()
    app = ExporterApp(
        exporter,
        ScrapeTimeouts(default=args.default_timeout, offset=args.timeout_offset),
        reload=reloader.now if config_file is not None else None,
        auth=web.auth,
        headers=web.headers,
        rate_limiter=web.rate_limiter,
    )
    addresses: list[ListenAddress] = args.listen_addresses or [
        parse_listen_address(DEFAULT_LISTEN_ADDRESS)
    ]
    limits = _serving_limits(args)
    try:
        sockets = open_sockets(addresses, limits.backlog)
    except ListenError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    server = HttpServer(
        app,
        sockets,
        web.ssl_context,
        limits,
        signal_handlers=_signal_handlers(lambda: server.stop_soon(), reloader),
        headers=web.headers,
        light=app.light,
    )
    warn_about_open_access(addresses, web)
    log.info(
        "listening",
        extra={
            "address": ",".join(_show(address) for address in server.addresses),
            "tls": web.ssl_context is not None,
            "basic_auth": web.auth is not None,
            "max_connections": limits.max_connections,
            "version": __version__,
            "targets": ",".join(exporter.target_names),
        },
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        reloader.stop()
    log.info("stopped")
    return EXIT_OK


def warn_about_open_access(addresses: Sequence[ListenAddress], web: WebSecurity) -> None:
    """Capacity data is commercial: say so when anyone on the network can read it."""
    if not all(a.loopback_only for a in addresses) and web.ssl_context is None and not web.auth:
        log.warning(
            "listening beyond loopback without TLS and basic auth: anyone who can reach "
            "this port can read capacity data; see --web.config.file",
            extra={"address": ",".join(a.text for a in addresses)},
        )


def _serving_limits(args: argparse.Namespace) -> ServingLimits:
    limits = ServingLimits(
        max_connections=args.max_connections,
        max_requests=args.max_requests,
        read_header_timeout=args.read_header_timeout,
        idle_timeout=args.idle_timeout,
        tls_handshake_timeout=args.tls_handshake_timeout,
        write_timeout=args.write_timeout,
    )
    fitted = fit_to_open_files(limits)
    if fitted.max_connections < limits.max_connections:
        log.warning(
            "--web.max-connections lowered to fit the open files limit",
            extra={"asked": limits.max_connections, "using": fitted.max_connections},
        )
    return fitted


def _show(address: tuple[object, ...]) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _signal_handlers(
    stop_serving: Callable[[], None], reloader: Reloader
) -> dict[int, Callable[[], None]]:
    """What SIGTERM, SIGINT and SIGHUP do, run by the server's event loop rather than inside
    a signal handler: a handler interrupted by its own signal would re-enter the locks it holds.
    Until the loop takes over, SIGHUP is ignored: the config was only just read."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def stop(signum: signal.Signals) -> Callable[[], None]:
        def handler() -> None:
            log.info("shutting down", extra={"signal": signum.name})
            stop_serving()

        return handler

    return {
        signal.SIGTERM: stop(signal.SIGTERM),
        signal.SIGINT: stop(signal.SIGINT),
        # Only a request: the reload runs on the reloader's thread, coalesced.
        signal.SIGHUP: reloader.request,
    }
