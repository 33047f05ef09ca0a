"""The knobs a test may turn while the simulator is serving."""

from dataclasses import dataclass


@dataclass
class Settings:
    """Read by the request handlers on every request, so a change applies to the next one."""

    latency: float = 0.0  # seconds slept before answering each request
    token_lifetime: float = 3600.0  # seconds between an Odin JWT's issue and its `exp`
    password_must_change: bool = False  # Odin login answers 402
    didww_rate_limit: float | None = None  # DIDWW requests/s per API key; None = no limit
    didww_max_page_size: int | None = None  # server-side cap on DIDWW page[size]; None = 100
