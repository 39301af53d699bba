"""Facts derived from the form on the submission day: youth company, regional, early-career, non-capital."""
from __future__ import annotations

import calendar
from datetime import MAXYEAR, MINYEAR, date

from evaluation.domain.model import Submission
from evaluation.domain.policy import Policy

MONTHS_PER_YEAR = 12


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), or that month's last day when it is shorter (31 Jan + 1 → 28 Feb).

    Past the calendar's end it is the calendar's last (or first) day: a policy's months may be many, and "no later
    than" a day beyond the calendar holds for every day in it.
    """
    index = day.month - 1 + months
    year, month = day.year + index // MONTHS_PER_YEAR, index % MONTHS_PER_YEAR + 1
    if year > MAXYEAR:
        return date.max
    if year < MINYEAR:
        return date.min
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth_date: date, day: date) -> int:
    """Completed years: one more on each birthday (a 29 February birthday counts from 1 March in other years)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def p1_region(s: Submission) -> str:
    """P1 judges the company's head office; without one, the applicant's region."""
    return s.company.head_office_region if s.company is not None else s.applicant.region


def is_youth_company(s: Submission, p: Policy) -> bool:
    """The representative is at most the youth age on the submission day."""
    return s.company is not None and age_on(s.company.representative_birth_date,
                                            s.submitted_on) <= p.youth_max_age_years


def is_regional_company(s: Submission, p: Policy) -> bool:
    return p1_region(s) not in p.capital_region


def is_early_career(s: Submission, p: Policy) -> bool:
    """Within the years since appointment (the anniversary day included), or at most the age limit."""
    r = s.researcher
    if r is None:
        return False
    latest = add_months(r.appointment_date, MONTHS_PER_YEAR * p.early_career_max_years_since_appointment)
    return s.submitted_on <= latest or age_on(r.birth_date, s.submitted_on) <= p.early_career_max_age_years


def is_non_capital_researcher(s: Submission, p: Policy) -> bool:
    return s.applicant.region not in p.capital_region


def derived_facts(s: Submission, p: Policy) -> dict[str, bool]:
    """The facts the bonuses and the track rest on, for the program of the submission."""
    if s.program == "P1":
        return {"youth_company": is_youth_company(s, p), "regional_company": is_regional_company(s, p)}
    if s.program == "P2":
        return {"early_career": is_early_career(s, p), "non_capital_region": is_non_capital_researcher(s, p)}
    return {}


def track(s: Submission, p: Policy) -> str:
    return "early_career" if s.program == "P2" and is_early_career(s, p) else "general"
