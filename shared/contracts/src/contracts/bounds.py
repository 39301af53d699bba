"""The bounds every value crossing a service boundary keeps: calendar-safe dates and times, integers that fit their
PostgreSQL columns, finite floats, and text without control characters.

An event outside them fails validation (a poison message for the dead-letter topic) instead of reaching a handler
whose date arithmetic or database column cannot hold it. The HTTP door (servicekit.bounds) uses the same bounds.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

# Two centuries around the programs' time: wide enough for any birth date or plan, and far enough from year 1 and
# 9999 that adding years, months or days to any bounded date stays a valid date.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
# the first instant of the earliest day anywhere (UTC+14 is the easternmost offset): a day's start in Korea, where the
# programs' days are counted, is 15:00 UTC the day before (15:32 in 1900, Seoul's mean time)
EARLIEST_TIME = datetime.combine(EARLIEST_DATE, time(), timezone(timedelta(hours=14))).astimezone(UTC)
LATEST_TIME = datetime.combine(LATEST_DATE, time.max, UTC)

INT32_MAX = 2**31 - 1  # PostgreSQL integer
INT64_MAX = 2**63 - 1  # PostgreSQL bigint
# a safety net for text whose field names no tighter length; the fields' own max_length is what they document
MAX_TEXT_LENGTH = 100_000

# C0 and C1 controls, DEL, and lone surrogates (which no UTF-8 column can store); NUL is the one PostgreSQL refuses
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# the layout a multi-line text may carry: tab, line feed and carriage return (text areas send CR LF)
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse(found: re.Pattern[str], value: str, what: str) -> str:
    if value.isprintable() and len(value) <= MAX_TEXT_LENGTH:
        return value  # the common case, at C speed: a control character or a lone surrogate is never printable
    if len(value) > MAX_TEXT_LENGTH:
        raise PydanticCustomError("string_too_long", "must be at most {max} characters", {"max": MAX_TEXT_LENGTH})
    bad = found.search(value)
    if bad is not None:
        raise PydanticCustomError(
            "control_characters", "must not contain control characters{what} (found {code} at {at})",
            {"what": what, "code": f"U+{ord(bad.group()):04X}", "at": bad.start()})
    return value


def single_line(value: str) -> str:
    """Names, ids, codes: no control character at all."""
    return _refuse(_CONTROL, value, "")


def multi_line(value: str) -> str:
    """Descriptions and reasons: tabs and line breaks are layout; any other control character is refused."""
    return _refuse(_CONTROL_BUT_LAYOUT, value, " other than tab and line breaks")


SingleLine = AfterValidator(single_line)
MultiLine = AfterValidator(multi_line)
# No length of their own, so a field's `Field(max_length=...)` is never overridden. A sized type names its length
# before the check (`Annotated[str, Field(max_length=64), SingleLine]`): a length after it is judged on a generic
# value, and says "items" of a string.
Line = Annotated[str, SingleLine]
Text = Annotated[str, MultiLine]

Day = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
Instant = Annotated[AwareDatetime, Field(ge=EARLIEST_TIME, le=LATEST_TIME)]

# Integers with their column's range; a field with tighter bounds of its own states them on a plain int instead
# (constraints of an Annotated type win over the field's).
PositiveInt32 = Annotated[int, Field(ge=1, le=INT32_MAX)]
NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
NonNegativeInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
# JSON parsers here accept Infinity and NaN: neither is an amount
NonNegativeFiniteFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
