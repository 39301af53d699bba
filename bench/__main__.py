"""Runs every benchmark (or those named: `python -m bench selection reoffer`), prints each result with its baseline and
the ratio, and writes bench/results/latest.json.

A benchmark's `run()` returns its baseline first, then what is measured against it: one result, or several, each
with its own ratio to the baseline."""
from __future__ import annotations

import json
import logging
import platform
import sys
from datetime import UTC, datetime

import uvloop

from bench import (
    dashboard,
    intake_outcomes,
    intake_submit,
    outbox_relay,
    pipeline,
    reoffer,
    selection,
    telemetry_ingest,
    whatif,
)
from bench.common import REPO, Result
from servicekit.memory import settle_after_start
from servicekit.settings import GcSettings

BENCHMARKS = {"outbox_relay": outbox_relay.run, "intake_submit": intake_submit.run,
              "intake_outcomes": intake_outcomes.run, "selection": selection.run,
              "reoffer": reoffer.run, "telemetry_ingest": telemetry_ingest.run, "dashboard_lag": dashboard.run_lag,
              "dashboard_paint": dashboard.run_paint, "whatif": whatif.run,
              "pipeline": pipeline.run}


def report(name: str, baseline: Result, *measured: Result) -> dict[str, object]:
    ratios = [m.median / baseline.median for m in measured]
    print(f"\n{name}")
    for r in (baseline, *measured):
        runs = ", ".join(f"{s:,.0f}" for s in r.samples)
        print(f"  {r.name:<48} median {r.median:>10,.0f} {r.unit}   runs: {runs}")
    if len(measured) == 1:
        print(f"  ratio (measured / baseline, medians): {ratios[0]:.3f}")
        return {"baseline": vars(baseline), "measured": vars(measured[0]), "ratio": ratios[0]}
    for m, ratio in zip(measured, ratios, strict=True):
        print(f"  ratio to the baseline (medians): {ratio:.3f}  {m.name}")
    return {"baseline": vars(baseline), "measured": [vars(m) for m in measured], "ratios": ratios}


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    results = {}
    wanted = sys.argv[1:] or list(BENCHMARKS)
    settle_after_start(GcSettings())  # as a service process runs, once it has built what it serves with
    for name, run in ((n, BENCHMARKS[n]) for n in wanted):
        results[name] = report(name, *await run())
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(
        {"at": datetime.now(UTC).isoformat(), "machine": platform.node(), "results": results}, indent=2))


if __name__ == "__main__":
    uvloop.run(main())  # as the services run
