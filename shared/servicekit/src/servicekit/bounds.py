"""Bounded types for request bodies and query and path parameters: what passes the door fits the events, the
columns and the date arithmetic behind it, and anything else is a 422 naming the field.

The bounds are the contracts' own (contracts.bounds), so an accepted request never makes an event that fails
validation. `Line` and `Text` carry no length: a field states its own (`name: Line = Field(max_length=200)`), uses a
sized alias below, or builds one with the length before the check (`Annotated[str, Field(max_length=64), SingleLine]`),
which an optional field or a parameter needs for a clear message.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.bounds import (
    EARLIEST_DATE,
    EARLIEST_TIME,
    INT32_MAX,
    INT64_MAX,
    LATEST_DATE,
    LATEST_TIME,
    Day,
    FiniteFloat,
    Instant,
    Line,
    MultiLine,
    NonNegativeFiniteFloat,
    NonNegativeInt32,
    NonNegativeInt64,
    PositiveInt32,
    SingleLine,
    Text,
    multi_line,
    single_line,
)

Name = Annotated[str, Field(min_length=1, max_length=200), SingleLine]
"""A person's, company's or institution's name, a title: one line of 1 to 200 characters."""
Identifier = Annotated[str, Field(min_length=1, max_length=100), SingleLine]
"""A name operators type and systems report (a CSP, a server, a region): one line of 1 to 100 characters."""
Note = Annotated[str, Field(max_length=500), MultiLine]
"""A short free text (a reason, a description): up to 500 characters, tabs and line breaks allowed."""

__all__ = [
    "EARLIEST_DATE",
    "EARLIEST_TIME",
    "INT32_MAX",
    "INT64_MAX",
    "LATEST_DATE",
    "LATEST_TIME",
    "Day",
    "FiniteFloat",
    "Identifier",
    "Instant",
    "Line",
    "MultiLine",
    "Name",
    "NonNegativeFiniteFloat",
    "NonNegativeInt32",
    "NonNegativeInt64",
    "Note",
    "PositiveInt32",
    "SingleLine",
    "Text",
    "multi_line",
    "single_line",
]
