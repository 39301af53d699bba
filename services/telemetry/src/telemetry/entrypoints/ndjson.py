"""A CSP's NDJSON batch, read line by line as it arrives: bounded lines and line count, every bad line named.

The raw body is never held whole: a line is parsed when its newline arrives, and only the samples are kept until
the batch is stored (all or nothing).
"""
from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from telemetry.domain.errors import BatchTooLarge, UnsupportedMediaType
from telemetry.domain.model import Sample
from telemetry.entrypoints.schemas import MAX_REPORTED_ERRORS, NDJSON, SampleIn

Samples = tuple[tuple[Sample, ...], tuple[int, ...]]


async def read_samples(request: Request, *, max_lines: int, max_line_bytes: int) -> Samples:
    """The samples and each one's line number; 415 if not NDJSON, 413 past `max_lines` lines (the rest unread),
    or a 422 naming each bad line (a line longer than `max_line_bytes` among them)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != NDJSON:
        raise UnsupportedMediaType(f"send the samples as {NDJSON}, one JSON object per line")
    batch = _Batch(max_lines, max_line_bytes)
    async for chunk in request.stream():
        batch.feed(chunk)
    return batch.end()


class _Batch:
    def __init__(self, max_lines: int, max_line_bytes: int) -> None:
        self._max_lines, self._max_line_bytes = max_lines, max_line_bytes
        self._line = bytearray()
        self._overlong = False  # the line so far is past the limit: its bytes are dropped, not kept
        self._number = self._lines = self._unreported = 0
        self._samples: list[Sample] = []
        self._line_numbers: list[int] = []
        self._errors: list[dict[str, object]] = []

    def feed(self, chunk: bytes) -> None:
        *whole, rest = chunk.split(b"\n")
        for number, line in enumerate(whole):
            if number == 0 or len(line) > self._max_line_bytes:
                self._extend(line)  # the end of the line the chunk before began, or one too long
                self._close_line()
            else:
                self._take(line, overlong=False)
        self._extend(rest)

    def end(self) -> Samples:
        if self._line or self._overlong:
            self._close_line()
        if not self._samples and not self._errors:
            self._error("body", "no samples: send one JSON object per line")
        if self._errors:
            more = [{"loc": ("body",), "msg": f"{self._unreported} more errors not shown"}] if self._unreported else []
            raise RequestValidationError([*self._errors, *more])
        return tuple(self._samples), tuple(self._line_numbers)

    def _extend(self, part: bytes) -> None:
        if self._overlong:
            return
        self._line += part
        if len(self._line) > self._max_line_bytes:
            self._overlong = True
            self._line.clear()

    def _close_line(self) -> None:
        line, overlong = bytes(self._line), self._overlong
        self._line.clear()
        self._overlong = False
        self._take(line, overlong=overlong)

    def _take(self, line: bytes, *, overlong: bool) -> None:
        self._number += 1
        if not overlong and not line.strip():
            return  # blank lines are allowed, and counted only for the line numbers
        self._lines += 1
        if self._lines > self._max_lines:
            raise BatchTooLarge(f"a batch holds at most {self._max_lines} lines; split it")
        if overlong:
            self._error(f"line {self._number}", f"longer than {self._max_line_bytes} bytes")
            return
        self._parse(line)

    def _parse(self, line: bytes) -> None:
        try:
            s = SampleIn.model_validate_json(line)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(p) for p in e["loc"])
                self._error(f"line {self._number}: {loc}" if loc else f"line {self._number}", e["msg"])
            return
        self._samples.append(Sample(s.server, s.gpu_index, s.ts, s.utilization_pct, s.memory_used_mib, s.power_w))
        self._line_numbers.append(self._number)

    def _error(self, field: str, reason: str) -> None:
        # a batch of garbage is named by its first errors and counted after that, never kept whole
        if len(self._errors) < MAX_REPORTED_ERRORS:
            self._errors.append({"loc": (field,), "msg": reason})
        else:
            self._unreported += 1
