"""Each program's eligibility rules and the rules every program shares, judged on a given day.

On arrival the day is the submission day; a re-check at award time judges the same rules on its own day.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from evaluation.domain.facts import add_months
from evaluation.domain.model import Check, Submission
from evaluation.domain.policy import Policy

HOURS_PER_DAY = 24
LONGEST_MONTH_DAYS = 31
RESEARCH_SECTORS = ("academia", "research_institute")

Violation = Callable[[Submission, Policy, date], str | None]


@dataclass(frozen=True)
class Rule:
    """A named eligibility rule: `requirement` says what it demands under a policy."""

    name: str
    requirement: Callable[[Policy], str]
    violation: Violation

    def check(self, submission: Submission, policy: Policy, on: date) -> Check:
        problem = self.violation(submission, policy, on)
        return Check(self.name, problem is None, problem or self.requirement(policy))


def p1_servers_needed(s: Submission, p: Policy) -> int:
    return s.servers_requested or math.ceil(s.gpus_requested / p.server_gpus)


def _p1_industry_sector(s: Submission, _: Policy, __: date) -> str | None:
    if s.applicant.sector != "industry":
        return f"P1 is for industry applicants; the applicant's sector is {s.applicant.sector}"
    return None


def _p1_company_size(s: Submission, p: Policy, _: date) -> str | None:
    if s.company is None:
        return "P1 needs the company's details; the application gives none"
    if s.company.size not in p.p1_company_sizes:
        return f"P1 is for {' and '.join(p.p1_company_sizes)} companies; the company is {s.company.size}"
    return None


def _p1_gpu_range(s: Submission, p: Policy, _: date) -> str | None:
    if not 1 <= s.gpus_requested <= p.p1_max_gpus:
        return f"P1 grants 1 to {p.p1_max_gpus} GPUs; {s.gpus_requested} were requested"
    return None


def _p1_server_count(s: Submission, p: Policy, _: date) -> str | None:
    servers = p1_servers_needed(s, p)
    if servers > p.p1_max_servers:
        return (f"P1 grants at most {p.p1_max_servers} servers of {p.server_gpus} GPUs; the request needs "
                f"{servers}")
    return None


def _p2_research_sector(s: Submission, _: Policy, __: date) -> str | None:
    if s.applicant.sector not in RESEARCH_SECTORS:
        return f"P2 is for academia and research institutes; the applicant's sector is {s.applicant.sector}"
    return None


def _p2_whole_servers(s: Submission, p: Policy, _: date) -> str | None:
    if s.servers_requested is not None and s.gpus_requested != s.servers_requested * p.server_gpus:
        return (f"P2 gives whole servers of {p.server_gpus} GPUs; {s.servers_requested} servers are "
                f"{s.servers_requested * p.server_gpus} GPUs, not {s.gpus_requested}")
    if s.gpus_requested % p.server_gpus:
        return (f"P2 gives whole servers of {p.server_gpus} GPUs; {s.gpus_requested} GPUs is not a multiple "
                f"of {p.server_gpus}")
    return None


def _p3_period_length(s: Submission, p: Policy, _: date) -> str | None:
    latest = add_months(s.period_start, p.p3_max_period_months)
    if s.period_end > latest:
        return (f"P3 periods last at most {p.p3_max_period_months} months (to {latest} at the latest); "
                f"this one ends on {s.period_end}")
    return None


def _p3_period_not_ended(s: Submission, _: Policy, on: date) -> str | None:
    if s.period_end < on:
        return f"the period ended on {s.period_end}, before {on}"
    return None


def _p3_window_length(s: Submission, p: Policy, _: date) -> str | None:
    months = s.acceptable_window_months
    if months is not None and not p.p3_min_window_months <= months <= p.p3_max_window_months:
        return (f"a P3 window lasts {p.p3_min_window_months} to {p.p3_max_window_months} months; "
                f"{months} were asked")
    return None


def _p3_window_open(s: Submission, _: Policy, on: date) -> str | None:
    """A window request needs its months between the earliest start (not before the day judged) and the end."""
    if s.acceptable_window_months is None:
        return None
    start = max(s.earliest_start or s.period_start, s.period_start, on)
    # period_end is the period's last day: 3 months from 1 Dec end with 28 Feb
    last_day = add_months(start, s.acceptable_window_months) - timedelta(days=1)
    if last_day > s.period_end:
        return (f"the window has closed: {s.acceptable_window_months} months from {start} run to {last_day}, "
                f"past the period's end on {s.period_end}")
    return None


def _period_order(s: Submission, _: Policy, __: date) -> str | None:
    if s.period_end <= s.period_start:
        return f"period_end {s.period_end} is not after period_start {s.period_start}"
    return None


def _plan_within_capacity(s: Submission, _: Policy, __: date) -> str | None:
    capacity = s.gpus_requested * HOURS_PER_DAY * LONGEST_MONTH_DAYS
    if s.planned_gpu_hours_per_month > capacity:
        return (f"{s.planned_gpu_hours_per_month} planned GPU-hours per month exceed the {capacity} that "
                f"{s.gpus_requested} GPUs can deliver ({HOURS_PER_DAY} h x {LONGEST_MONTH_DAYS} days each)")
    return None


PROGRAM_RULES: dict[str, tuple[Rule, ...]] = {
    "P1": (Rule("p1_industry_sector", lambda _: "P1 is for industry applicants", _p1_industry_sector),
           Rule("p1_company_size", lambda p: f"P1 is for {' and '.join(p.p1_company_sizes)} companies",
                _p1_company_size),
           Rule("p1_gpu_range", lambda p: f"P1 grants 1 to {p.p1_max_gpus} GPUs", _p1_gpu_range),
           Rule("p1_server_count", lambda p: f"P1 grants at most {p.p1_max_servers} servers of {p.server_gpus} GPUs",
                _p1_server_count)),
    "P2": (Rule("p2_research_sector", lambda _: "P2 is for academia and research institutes", _p2_research_sector),
           Rule("p2_whole_servers", lambda p: f"P2 gives whole servers of {p.server_gpus} GPUs", _p2_whole_servers)),
    "P3": (Rule("p3_period_length", lambda p: f"P3 periods last at most {p.p3_max_period_months} months",
                _p3_period_length),
           Rule("p3_period_not_ended", lambda _: "the period has not ended", _p3_period_not_ended),
           Rule("p3_window_length",
                lambda p: f"a P3 window lasts {p.p3_min_window_months} to {p.p3_max_window_months} months",
                _p3_window_length),
           Rule("p3_window_open", lambda _: "the window still fits before the period ends", _p3_window_open)),
}
COMMON_RULES: tuple[Rule, ...] = (
    Rule("period_order", lambda _: "period_end is after period_start", _period_order),
    Rule("plan_within_capacity", lambda _: "the planned GPU-hours per month fit what the GPUs can deliver",
         _plan_within_capacity),
)


def check_eligibility(submission: Submission, policy: Policy, on: date | None = None) -> list[Check]:
    """Every rule of the program and every common rule, passed or not, in a stable order; `on` defaults to the
    submission day."""
    day = on or submission.submitted_on
    return [rule.check(submission, policy, day) for rule in (*PROGRAM_RULES[submission.program], *COMMON_RULES)]
