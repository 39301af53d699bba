"""The domain's own names for values other services share: a program's code."""
from __future__ import annotations

from typing import Literal

ProgramCode = Literal["P1", "P2", "P3"]  # the same literal as contracts' Program, which the domain may not import
