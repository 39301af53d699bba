"""Offers of freed capacity and the application's status around them, without a database."""
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from intake.domain.calls import IntakeMode, Program
from intake.domain.errors import OfferClosed
from intake.domain.forms import PROGRAM_ZONE, Applicant, Form, Limits
from intake.domain.model import Application, Status, new_application
from intake.domain.offers import Offer, OfferState

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
P3 = Program("P3", "Government GPUs", IntakeMode.ROLLING)


def an_application() -> Application:
    form = Form(program="P3", applicant=Applicant("Dr. Kim", "academia", "KAIST", "Daejeon"), gpus_requested=4,
                gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
                planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM",
                earliest_start=date(2026, 12, 1), acceptable_window_months=3)
    return new_application(uuid4(), uuid4(), form, program=P3, call=None, at=NOW, limits=Limits(), submit=True)


def an_offer(expires_in: timedelta = timedelta(days=3)) -> Offer:
    return Offer(uuid4(), "H100", 4, datetime(2026, 12, 1, tzinfo=PROGRAM_ZONE),
                 datetime(2027, 3, 1, tzinfo=PROGRAM_ZONE),
                 expires_at=NOW + expires_in, made_at=NOW)


def offered(offer: Offer | None = None) -> Application:
    app = an_application()
    app.advance(Status.WAITLISTED, "no capacity now", NOW)
    assert app.receive_offer(offer or an_offer(), NOW)
    return app


def test_an_offer_moves_a_waitlisted_application_forward_and_says_what_is_offered_until_when() -> None:
    app = offered()
    assert app.status is Status.OFFERED
    # told in Korea's time, as a partner there reads it (NOW + 3 days is 09:00 UTC, 18:00 in Korea)
    assert app.history[-1] == (Status.OFFERED, "offered 4 H100 GPUs from 2026-12-01 00:00 KST to "
                                               "2027-03-01 00:00 KST; answer by 2026-11-30 18:00 KST")


def test_waitlisted_offered_accepted_then_active_is_the_way_forward() -> None:
    app = offered()
    app.accept_offer(NOW + timedelta(hours=1))
    assert app.advance(Status.ACTIVE, "4 GPUs allocated", NOW)
    assert [s for s, _ in app.history][-3:] == [Status.OFFERED, Status.ACCEPTED, Status.ACTIVE]
    assert app.offer is not None and app.offer.state is OfferState.ACCEPTED


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.WITHDRAWN, Status.REJECTED, Status.SELECTED])
def test_an_offer_to_an_application_that_moved_on_changes_nothing(status: Status) -> None:
    app = an_application()
    app.advance(status, "", NOW)
    assert not app.receive_offer(an_offer(), NOW)
    assert (app.status, app.offer) == (status, None)


def test_a_declined_offer_ends_the_application_with_the_reason() -> None:
    app = offered()
    app.decline_offer("found GPUs elsewhere", NOW)
    assert (app.status, app.status_reason) == (Status.DECLINED, "offer declined: found GPUs elsewhere")
    assert app.offer is not None and app.offer.decline_reason == "found GPUs elsewhere"
    with pytest.raises(OfferClosed, match="declined already"):
        app.accept_offer(NOW)


def test_an_offer_past_its_expiry_cannot_be_answered_and_says_when_it_expired() -> None:
    app = offered(an_offer(expires_in=timedelta(minutes=5)))
    with pytest.raises(OfferClosed, match="expired at 2026-11-27 18:05 KST") as error:  # 09:05 UTC
        app.accept_offer(NOW + timedelta(minutes=6))
    assert error.value.field == "offer"
    assert app.status is Status.OFFERED


def test_an_expired_offer_declines_the_application_but_a_declined_one_stays_declined() -> None:
    lapsed, declined = offered(), offered()
    declined.decline_offer("too short", NOW)
    assert lapsed.offer is not None and declined.offer is not None
    assert lapsed.expire_offer(lapsed.offer.id, NOW)
    assert not declined.expire_offer(declined.offer.id, NOW)
    assert not lapsed.expire_offer(lapsed.offer.id, NOW)  # once
    assert (lapsed.status, lapsed.status_reason) == (Status.DECLINED, "offer expired unanswered")
    assert declined.status_reason == "offer declined: too short"


def test_an_acceptance_that_reached_allocation_after_the_expiry_lapses_with_the_offer() -> None:
    """Allocation decides: it closed the offer before the acceptance arrived, so the partner's side follows."""
    late = offered()
    late.accept_offer(NOW)
    assert late.offer is not None and late.expire_offer(late.offer.id, NOW + timedelta(hours=1))
    assert (late.status, late.status_reason) == (Status.DECLINED, "offer expired before the answer reached allocation")
    assert late.offer.state is OfferState.EXPIRED


def test_without_an_offer_there_is_nothing_to_answer() -> None:
    with pytest.raises(OfferClosed, match="has no offer"):
        an_application().decline_offer("", NOW)


def test_declined_is_final() -> None:
    app = offered()
    app.decline_offer("", NOW)
    assert not app.advance(Status.ACTIVE, "late allocation", NOW)
    assert not app.receive_offer(an_offer(), NOW)
