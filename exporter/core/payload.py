"""Typed reading of decoded JSON, with errors that say which field was wrong and how.

Both API parsers go through these helpers so that a string where an object belongs, a
negative count, a string that cannot be a label value or a missing list becomes one
`InvalidPayload` naming the field, never a KeyError or TypeError deep inside a collection.
Vendor rules (Odin's -1) live in the vendor's own models.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

# Far beyond any real channel count or call limit; a bigger number is a broken answer.
_ABSURD = 1e12
_NUMBER_TYPES = (int, float)  # a tuple: isinstance with `int | float` is twice as slow
# C0 and C1 control characters and UTF-16 surrogates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The longest string taken as a label value: ids and names are tens of characters; a 2 MB SP
# id would be a 2 MB label on every series of the SP, and as long a log line.
MAX_LABEL_VALUE = 1024


class InvalidPayload(ValueError):
    """The upstream answer does not have the documented shape."""


def as_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(f"{what} is {describe(value)}, expected an object")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidPayload(f"{what} is {describe(value)}, expected a list")
    return value


def optional_object(obj: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    return None if value is None else as_object(value, f"{what}.{key}")


def required_string(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f"{what}.{key} is {describe(value)}, expected a non-empty string")
    return _printable(value, f"{what}.{key}")


def optional_string(obj: Mapping[str, Any], key: str, what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{what}.{key} is {describe(value)}, expected a string")
    return _printable(value, f"{what}.{key}")


def _printable(value: str, what: str) -> str:
    """Strings become label values: one longer than `MAX_LABEL_VALUE`, or that holds a control
    character or a lone surrogate (valid JSON, but not encodable as UTF-8) is refused here,
    naming its field (and a long one by its first characters), so that it fails its own object
    and never the exposition."""
    if len(value) > MAX_LABEL_VALUE:
        raise InvalidPayload(
            f"{what} is {len(value):,} characters long, over the {MAX_LABEL_VALUE} a label "
            f"value may have (it starts {value[:40]!r})"
        )
    bad = _UNPRINTABLE.search(value)
    if bad is not None:
        raise InvalidPayload(
            f"{what} holds the unprintable character U+{ord(bad.group()):04X} "
            f"at position {bad.start()}"
        )
    return value


def optional_bool(obj: Mapping[str, Any], key: str, what: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidPayload(f"{what}.{key} is {describe(value)}, expected true or false")


def optional_count(obj: Mapping[str, Any], key: str, what: str) -> float | None:
    """A non-negative number; missing or null is None."""
    value = optional_number(obj, key, what)
    if value is not None and value < 0:
        raise InvalidPayload(f"{what}.{key} is {value:g}, expected a count of zero or more")
    return value


def optional_decimal(obj: Mapping[str, Any], key: str, what: str) -> float | None:
    """A decimal string such as "25.0" (DIDWW prices and balances); numbers are tolerated."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidPayload(f"{what}.{key} is {describe(value)}, expected a decimal string")
    try:
        number = float(value)
    except ValueError:
        problem = f"{what}.{key} is {describe(value)}, expected a decimal string"
        raise InvalidPayload(problem) from None
    if not math.isfinite(number) or abs(number) > _ABSURD:
        raise InvalidPayload(f"{what}.{key} is {value!r}, not a plausible amount")
    return number


def optional_date_timestamp(obj: Mapping[str, Any], key: str, what: str) -> float | None:
    """A "YYYY-MM-DD" date as seconds since the epoch at UTC midnight."""
    value = optional_string(obj, key, what)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidPayload(f"{what}.{key} is {value[:40]!r}, expected YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def optional_number(obj: Mapping[str, Any], key: str, what: str) -> float | None:
    """A JSON number as a float; missing or null is None.

    Called for every field of every group of every report, so the checks are kept to a type
    test and one range comparison (the profile's top item)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
        raise InvalidPayload(f"{what}.{key} is {describe(value)}, expected a number")
    # One chained comparison rejects NaN (every comparison with it is false), +-Inf and
    # absurd sizes; unlike math.isfinite it cannot overflow on a huge integer.
    if not -_ABSURD <= value <= _ABSURD:
        raise InvalidPayload(f"{what}.{key} is {value!r}, not a plausible number")
    return float(value)


def describe(value: Any) -> str:
    """How a value reads in an error message, without echoing long content."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
