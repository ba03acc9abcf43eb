"""Every transition of the patient journey, including the failure paths."""

import datetime as dt

import pytest

from kiosk.domain.identity import Identity
from kiosk.domain.insurance import InsuranceCard, InsuranceResult
from kiosk.domain.qr_payload import parse_qr
from kiosk.domain.registration import PrintResult, Registration, ServiceOption
from kiosk.journey import Journey, JourneySettings, Step
from kiosk.journey import events as ev
from kiosk.journey.effects import (
    CheckInsurance,
    CountEvent,
    LoadServices,
    PrintTicket,
    ReadChip,
    Register,
)

QR = "001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|Hà Nội|02072021"
BHYT_QR = ("GD4010123456789|" + "Trần Văn Bình".encode().hex() + "|1950|1|"
           + "Huế".encode().hex() + "|46 - 001|01/01/2026|31/12/2026|01/01/2026|01|-|4||ab-1|$")
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
# As the chip port delivers it: shown early, verified only once every check finished.
CHIP_ID = Identity("Nguyễn Thị Hồng Nhung", dt.date(1985, 3, 14), "Nữ", "chip",
                   "chip_pending", id_number="001185012345")
SERVICES = (
    ServiceOption("KB-NOI", "Khám Nội", "Internal", "P101", "NOI", 39000, None, True),
    ServiceOption("KB-MAT", "Khám Mắt", "Eyes", "P210", "MAT", 39000, None, False),
)


def insurance(outcome="usable", source="gateway"):
    if source == "unavailable":
        return InsuranceResult.not_checked("001185012345", "timeout", NOW)
    return InsuranceResult(outcome, "000", "vi", "en", "staff", InsuranceCard("GD4010123456789"),
                           NOW, source)


def registration():
    return Registration("r1", "A-001", "KB-NOI", "Khám Nội", "Internal", "P101", NOW,
                        "Nguyễn T. H. Nhung", "BHYT", "BHYT", "abc")


class Harness:
    def __init__(self, **settings):
        tokens = iter(f"tok{i}" for i in range(100))
        self.j = Journey(JourneySettings(**settings), token_factory=lambda: next(tokens))
        self.t = 0.0
        self.effects: list = []

    def send(self, event, after=1.0):
        self.t += after
        self.effects = self.j.handle(event, self.t)
        return self.effects

    def printed(self, result):
        """The ticket came out; the number then stays on screen its minimum time."""
        self.send(ev.TicketPrinted(self.s.id, result))
        effects = self.effects
        self.send(ev.Tick(), after=self.j.settings.ticket_min_s)
        self.effects = effects + self.effects

    @property
    def s(self):
        return self.j.session

    @property
    def step(self):
        return self.j.session.step

    def of(self, kind):
        return [e for e in self.effects if isinstance(e, kind)]

    def counts(self):
        return [e.metric for e in self.effects if isinstance(e, CountEvent)]

    # shortcuts to reach states
    def to_confirm_by_chip(self):
        self.send(ev.CardPlaced())
        self.send(ev.QrScanned(parse_qr(QR)))
        self.send(ev.ChipRead(self.s.id, CHIP_ID))
        assert self.step is Step.CONFIRM_IDENTITY

    def to_insurance_result(self, result=None):
        self.to_confirm_by_chip()
        self.send(ev.IdentityConfirmed())
        self.send(ev.InsuranceChecked(self.s.id, result or insurance()))
        self.send(ev.ServicesLoaded(self.s.id, SERVICES))
        assert self.step is Step.INSURANCE_RESULT

    def to_ticket(self):
        self.to_insurance_result()
        self.send(ev.Continue())
        self.send(ev.ServiceChosen("KB-NOI"))
        self.send(ev.RegistrationConfirmed())
        self.send(ev.Registered(self.s.id, registration()))
        assert self.step is Step.TICKET


def test_chip_patient_happy_path_in_four_taps():
    h = Harness()
    h.send(ev.CardPlaced())
    assert h.step is Step.NEED_KEY and h.counts() == ["journey.started"]
    h.send(ev.QrScanned(parse_qr(QR)))  # the camera sees the card's front QR
    assert h.step is Step.READING_CHIP
    [read] = h.of(ReadChip)
    assert read.key.can == "012345" and read.key.issue_date == "2021-07-02"
    h.send(ev.ChipRead(h.s.id, CHIP_ID))
    assert h.step is Step.CONFIRM_IDENTITY and h.s.identity.verification == "chip_pending"
    h.send(ev.ChipChecked(h.s.id, "chip_verified", b"\xff\xd8jpeg"))
    assert h.s.identity.photo_jpeg == b"\xff\xd8jpeg"
    assert h.s.identity.verification == "chip_verified"
    taps = 0
    h.send(ev.IdentityConfirmed()); taps += 1
    [check] = h.of(CheckInsurance)
    assert check.identity.id_number == "001185012345"
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    assert h.step is Step.INSURANCE_RESULT and h.of(LoadServices)
    h.send(ev.ServicesLoaded(h.s.id, SERVICES))
    h.send(ev.Tick(), after=3.0)  # a usable card moves on by itself
    assert h.step is Step.CHOOSE_SERVICE
    h.send(ev.ServiceChosen("KB-NOI")); taps += 1
    assert h.step is Step.CONFIRM_SERVICE
    h.send(ev.RegistrationConfirmed()); taps += 1
    [reg] = h.of(Register)
    assert reg.idempotency_key == "tok0:KB-NOI"
    assert reg.identity.photo_jpeg is None  # the photo never leaves the session
    h.send(ev.Registered(h.s.id, registration()))
    assert h.step is Step.TICKET and h.of(PrintTicket)
    h.printed(PrintResult(True, "/tmp/t.png"))
    h.send(ev.Continue()); taps += 1
    assert taps <= 4
    assert h.step is Step.HEALTH_BOOK_OFFER and "health_book.offered" in h.counts()


def test_health_book_branches_and_done_resets():
    h = Harness()
    h.to_ticket()
    h.printed(PrintResult(True))
    h.send(ev.Continue())
    h.send(ev.HealthBookStarted())
    assert h.step is Step.HEALTH_BOOK
    h.send(ev.HealthBookFinished(completed=True))
    assert h.step is Step.DONE and "health_book.completed" in h.counts()
    h.send(ev.Tick(), after=6.0)
    assert h.step is Step.IDLE and h.s.identity is None


def test_health_book_skip():
    h = Harness()
    h.to_ticket()
    h.printed(PrintResult(True))
    h.send(ev.Continue())
    h.send(ev.HealthBookSkipped())
    assert h.step is Step.DONE and "health_book.skipped" in h.counts()


def test_qr_only_patient_goes_straight_to_confirmation():
    h = Harness()
    h.send(ev.QrScanned(parse_qr(QR)))
    assert h.step is Step.CONFIRM_IDENTITY
    assert h.s.identity.source == "qr_cccd" and h.counts() == ["journey.started", "identity.qr_cccd"]


def test_qr_then_card_tap_upgrades_to_chip_identity():
    h = Harness()
    h.send(ev.QrScanned(parse_qr(QR)))
    h.send(ev.CardPlaced())
    assert h.step is Step.READING_CHIP and h.of(ReadChip)
    h.send(ev.ChipRead(h.s.id, CHIP_ID))
    assert h.s.identity.source == "chip"


def test_bhyt_qr_patient():
    h = Harness()
    h.send(ev.QrScanned(parse_qr(BHYT_QR)))
    assert h.step is Step.CONFIRM_IDENTITY
    assert h.s.identity.bhyt_card == "GD4010123456789"
    h.send(ev.IdentityConfirmed())
    assert h.of(CheckInsurance)[0].identity.insurance_key == "GD4010123456789"


def test_unknown_qr_shows_a_notice_that_fades():
    h = Harness()
    h.send(ev.QrScanned(parse_qr("https://example.com")))
    assert h.step is Step.IDLE and h.s.notice.kind == "qr_unknown"
    assert "đường dẫn" in h.s.notice.message_vi
    h.send(ev.Tick(), after=9.0)
    assert h.s.notice is None


def test_damaged_qr_notice():
    h = Harness()
    h.send(ev.QrRejected("bad date"))
    assert h.step is Step.IDLE and h.s.notice.kind == "qr_rejected"


def test_keypad_entry_gives_the_can():
    h = Harness()
    h.send(ev.Touched())
    assert h.step is Step.NEED_KEY
    h.send(ev.IdNumberTyped("12345"))
    assert h.s.notice.kind == "bad_id_number" and h.step is Step.NEED_KEY
    h.send(ev.IdNumberTyped("001185012345"))
    assert h.step is Step.NEED_KEY and h.s.key.can == "012345"  # no card yet
    h.send(ev.CardPlaced())
    assert h.step is Step.READING_CHIP and h.of(ReadChip)[0].key.can == "012345"


def test_wrong_key_asks_again_then_gives_up():
    h = Harness(max_chip_attempts=2)
    h.send(ev.CardPlaced())
    h.send(ev.IdNumberTyped("001185012346"))
    h.send(ev.ChipFailed(h.s.id, "access_denied"))
    assert h.step is Step.NEED_KEY and h.s.notice.kind == "wrong_key" and h.s.key is None
    h.send(ev.IdNumberTyped("001185012347"))
    h.send(ev.ChipFailed(h.s.id, "access_denied"))
    # The card refused every number: the error is about the number, not the card.
    assert h.step is Step.ERROR and h.s.error == "key_rejected"
    h.send(ev.QrScanned(parse_qr(QR)))  # the card's QR still works from here
    assert h.step is Step.READING_CHIP


def test_card_removed_mid_read_asks_to_put_it_back():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.IdNumberTyped("001185012345"))
    h.send(ev.CardRemoved())
    h.send(ev.ChipFailed(h.s.id, "card_removed"))
    assert h.step is Step.NEED_KEY and h.s.notice.kind == "card_removed"
    h.send(ev.CardPlaced())
    assert h.step is Step.READING_CHIP


def test_unreadable_chip_falls_back_to_the_qr_identity():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.QrScanned(parse_qr(QR)))
    h.send(ev.ChipFailed(h.s.id, "unreadable"))
    assert h.step is Step.CONFIRM_IDENTITY
    assert h.s.identity.source == "qr_cccd" and h.s.notice.kind == "chip_fallback_qr"


def test_reader_unplugged_mid_read_without_qr_is_an_error_with_a_way_out():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.IdNumberTyped("001185012345"))
    h.send(ev.ReaderUnplugged())
    assert h.step is Step.ERROR and h.s.error == "reader_unplugged" and not h.s.reader_ok
    h.send(ev.QrScanned(parse_qr(QR)))  # the error screen says: show the QR instead
    assert h.step is Step.CONFIRM_IDENTITY and h.s.identity.source == "qr_cccd"


def test_failed_passive_authentication_never_falls_back():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.QrScanned(parse_qr(QR)))
    h.send(ev.ChipFailed(h.s.id, "verification_failed"))
    assert h.step is Step.ERROR and h.s.error == "verification_failed"
    h.send(ev.Continue())
    assert h.step is Step.IDLE and h.s.identity is None


def test_identity_rejected_resets():
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.IdentityRejected())
    assert h.step is Step.IDLE and h.s.identity is None
    assert "journey.abandoned.identity_rejected" in h.counts()


def test_gateway_down_registration_continues_not_checked():
    h = Harness()
    h.to_insurance_result(insurance(source="unavailable"))
    assert not h.s.insurance.checked and h.s.insurance.outcome == "unavailable"
    h.send(ev.Tick(), after=5.0)
    assert h.step is Step.INSURANCE_RESULT  # only a usable card auto-advances
    h.send(ev.Continue())
    h.send(ev.ServiceChosen("KB-NOI"))
    h.send(ev.RegistrationConfirmed())
    [reg] = h.of(Register)
    assert reg.insurance.outcome == "unavailable" and reg.insurance.card_key == "001185012345"


def test_not_usable_card_can_still_register_as_paying_patient():
    h = Harness()
    h.to_insurance_result(insurance("not_usable"))
    h.send(ev.Continue())
    assert h.step is Step.CHOOSE_SERVICE


def test_closed_service_is_refused_and_back_works():
    h = Harness()
    h.to_insurance_result()
    h.send(ev.Continue())
    h.send(ev.ServiceChosen("KB-MAT"))
    assert h.step is Step.CHOOSE_SERVICE and h.s.notice.kind == "service_closed"
    h.send(ev.ServiceChosen("NOPE"))
    assert h.step is Step.CHOOSE_SERVICE
    h.send(ev.ServiceChosen("KB-NOI"))
    h.send(ev.Back())
    assert h.step is Step.CHOOSE_SERVICE and h.s.service_code is None
    h.send(ev.Back())
    assert h.step is Step.INSURANCE_RESULT


def test_no_open_service_is_an_error():
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.IdentityConfirmed())
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    h.send(ev.ServicesLoaded(h.s.id, (SERVICES[1],)))
    h.send(ev.Continue())
    assert h.step is Step.ERROR and h.s.error == "no_services"


def test_printer_out_of_paper_keeps_the_number_on_screen():
    h = Harness()
    h.to_ticket()
    h.printed(PrintResult(False, problem="paper_out"))
    assert h.step is Step.TICKET and h.s.registration.queue_number == "A-001"
    assert not h.s.print_result.printed and "print.failed.paper_out" in h.counts()


def test_registration_failure_sends_patient_to_the_counter():
    h = Harness()
    h.to_insurance_result()
    h.send(ev.Continue())
    h.send(ev.ServiceChosen("KB-NOI"))
    h.send(ev.RegistrationConfirmed())
    h.send(ev.RegistrationFailed(h.s.id, "disk full"))
    assert h.step is Step.ERROR and h.s.error == "registration_failed"


def test_idle_warning_then_reset_wipes_personal_data():
    h = Harness(idle_timeout_s=45, idle_warning_s=15)
    h.to_confirm_by_chip()  # last patient action (the QR) at t=2, chip result at t=3
    h.send(ev.Tick(), after=28.0)
    assert not h.s.idle_warning
    h.send(ev.Tick(), after=1.0)
    assert h.s.idle_warning
    h.send(ev.Touched())  # "still here"
    assert not h.s.idle_warning and h.step is Step.CONFIRM_IDENTITY
    h.send(ev.Tick(), after=45.0)
    assert h.step is Step.IDLE
    assert h.s.identity is None and h.s.qr_identity is None and h.s.key is None
    assert "journey.abandoned.timeout.confirm_identity" in h.counts()


def test_stale_results_from_an_ended_session_are_ignored():
    h = Harness()
    h.to_confirm_by_chip()
    old = h.s.id
    h.send(ev.IdentityConfirmed())
    h.send(ev.Cancelled())
    h.send(ev.CardRemoved())
    assert h.step is Step.IDLE
    h.send(ev.QrScanned(parse_qr(QR)))  # next patient
    h.send(ev.InsuranceChecked(old, insurance()))
    assert h.step is Step.CONFIRM_IDENTITY and h.s.insurance is None


def test_no_timeout_or_cancel_between_register_and_printed_ticket():
    h = Harness()
    h.to_insurance_result()
    h.send(ev.Continue())
    h.send(ev.ServiceChosen("KB-NOI"))
    h.send(ev.RegistrationConfirmed())
    h.send(ev.Tick(), after=120.0)
    h.send(ev.Cancelled())
    assert h.step is Step.REGISTERING
    h.send(ev.Registered(h.s.id, registration()))
    h.send(ev.Tick(), after=120.0)
    assert h.step is Step.TICKET  # still printing: the patient is owed a ticket
    h.send(ev.TicketPrinted(h.s.id, PrintResult(True)))
    h.send(ev.Tick(), after=46.0)
    assert h.step is Step.IDLE and "journey.completed" in h.counts()


@pytest.mark.parametrize("step_setup", ["need_key", "confirm", "choose"])
def test_cancel_returns_to_idle_from_any_ordinary_step(step_setup):
    h = Harness()
    if step_setup == "need_key":
        h.send(ev.CardPlaced())
    elif step_setup == "confirm":
        h.to_confirm_by_chip()
    else:
        h.to_insurance_result()
        h.send(ev.Continue())
    h.send(ev.Cancelled())
    assert h.step is Step.IDLE and h.s.identity is None


def test_card_presence_survives_session_reset():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.Cancelled())
    assert h.s.card_present
    h.send(ev.CardRemoved())
    assert not h.s.card_present


# -- a card left on the reader, the number on screen, "take your card" -----------------
def test_a_card_left_by_the_last_patient_is_not_read_for_the_next_one():
    h = Harness()
    h.send(ev.CardPlaced())  # patient A's card starts A's session
    assert h.s.card_fresh
    h.send(ev.Cancelled())  # A leaves; the card stays
    assert h.step is Step.IDLE and h.s.card_present and not h.s.card_fresh
    h.send(ev.Touched())  # patient B
    assert h.step is Step.NEED_KEY and h.s.notice.kind == "card_not_yours"
    h.send(ev.IdNumberTyped("001185012345"))
    assert h.step is Step.NEED_KEY and not h.of(ReadChip)  # B's number never meets A's card
    assert h.s.notice.kind == "card_not_yours"
    h.send(ev.CardClaimed())  # "this card is mine": read it
    assert h.step is Step.READING_CHIP and h.of(ReadChip)


def test_a_qr_shown_next_to_someone_elses_card_uses_the_qr_only():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.Cancelled())
    h.send(ev.QrScanned(parse_qr(QR)))
    assert h.step is Step.CONFIRM_IDENTITY and not h.of(ReadChip)
    assert h.s.identity.source != "chip"


def test_lifting_and_placing_the_card_again_makes_it_this_patients():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.Cancelled())
    h.send(ev.Touched())
    h.send(ev.IdNumberTyped("001185012345"))
    h.send(ev.CardRemoved())
    assert h.s.notice is None  # the question went away with the card
    h.send(ev.CardPlaced())
    assert h.step is Step.READING_CHIP


def test_claiming_needs_a_card_that_is_not_yet_this_patients():
    h = Harness()
    h.send(ev.CardPlaced())
    h.send(ev.CardClaimed())
    assert h.step is Step.NEED_KEY and not h.of(ReadChip)


def test_the_number_stays_on_screen_before_continue_counts():
    h = Harness()
    h.to_ticket()
    h.send(ev.TicketPrinted(h.s.id, PrintResult(True)), after=0.1)
    h.send(ev.Continue(), after=0.45)  # the second tap of a double tap on "register"
    assert h.step is Step.TICKET and not h.s.ticket_ready
    h.send(ev.Tick(), after=1.0)
    h.send(ev.Continue(), after=0.1)
    assert h.step is Step.TICKET
    h.send(ev.Tick(), after=2.0)
    assert h.s.ticket_ready
    h.send(ev.Continue())
    assert h.step is Step.HEALTH_BOOK_OFFER


def test_the_number_stays_until_printed_even_after_three_seconds():
    h = Harness()
    h.to_ticket()
    h.send(ev.Tick(), after=5.0)
    assert not h.s.ticket_ready  # still printing
    h.printed(PrintResult(False, problem="paper_out"))
    assert h.s.ticket_ready


def test_take_your_card_from_the_ticket_until_the_card_is_lifted():
    h = Harness()
    h.to_ticket()
    assert h.s.card_present and not h.s.remind_card  # not while the ticket prints
    h.printed(PrintResult(True))
    assert h.s.remind_card
    h.send(ev.Continue())
    assert h.step is Step.HEALTH_BOOK_OFFER and h.s.remind_card
    h.send(ev.CardRemoved())
    assert not h.s.remind_card


def test_services_are_asked_for_this_patients_age():
    h = Harness()
    h.to_confirm_by_chip()
    h.send(ev.IdentityConfirmed())
    h.send(ev.InsuranceChecked(h.s.id, insurance()))
    [load] = h.of(LoadServices)
    assert load.date_of_birth == dt.date(1985, 3, 14)
