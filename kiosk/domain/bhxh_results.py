"""What each BHXH gateway result code (`maKetQua`, DOMAIN.md §5) means for the kiosk.

Every code maps to an outcome, a plain Vietnamese message telling the patient
what to do next (never the code itself), its English translation and a
detail for staff. Codes the kiosk's own set-up causes (operator, account,
request format) are "misconfigured"; gateway trouble is "unavailable"; both
let registration go on "not checked" (NĐ 188, Đ38 k2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kiosk.domain.bhyt import BENEFIT_PERCENT
from kiosk.domain.insurance import InsuranceCard, Outcome

# The same words the journey shows for any lookup that did not happen.
NOT_CHECKED_VI = (
    "Chưa kiểm tra được thẻ BHYT lúc này. Bạn vẫn đăng ký khám bình thường; "
    "bệnh viện sẽ kiểm tra lại sau."
)
NOT_CHECKED_EN = (
    "Your health insurance could not be checked right now. You can still register; "
    "the hospital will check it again later."
)

_SEE_DESK_VI = "Bạn vẫn đăng ký khám được; vui lòng đưa thẻ BHYT cho nhân viên quầy tiếp đón."
_SEE_DESK_EN = "You can still register; please show your insurance card at the reception desk."
_PAYING_VI = "Hôm nay bạn vẫn được khám theo dịch vụ (tự trả phí)."
_PAYING_EN = "You can still be seen today as a paying patient."


@dataclass(frozen=True)
class CodeMeaning:
    code: str
    outcome: Outcome
    message_vi: str
    message_en: str
    staff_detail: str
    # Worth another attempt within the patient's time budget; counts as a gateway
    # failure for the circuit breaker.
    transient: bool = False


def _m(code: str, outcome: Outcome, vi: str, en: str, staff: str,
       transient: bool = False) -> CodeMeaning:
    return CodeMeaning(code, outcome, vi, en, f"{code}: {staff}", transient)


def _not_usable_desk(code: str, what_vi: str, what_en: str, staff: str) -> CodeMeaning:
    return _m(code, "not_usable", f"{what_vi} {_SEE_DESK_VI}", f"{what_en} {_SEE_DESK_EN}", staff)


def _reduced(code: str, reason: str) -> CodeMeaning:
    return _m(
        code, "not_usable",
        "Thẻ BHYT này đã bị báo giảm (không còn được hưởng BHYT). " + _PAYING_VI
        + " Vui lòng liên hệ nơi đóng BHYT cho bạn hoặc cơ quan BHXH.",
        "This insurance card has been reported as no longer covered. " + _PAYING_EN
        + " Please contact whoever pays your insurance, or the social insurance office.",
        f"card reported reduced ({reason})",
    )


def _kiosk_problem(code: str, staff: str) -> CodeMeaning:
    return _m(code, "misconfigured", NOT_CHECKED_VI, NOT_CHECKED_EN, staff)


def _gateway_trouble(code: str, staff: str, transient: bool) -> CodeMeaning:
    return _m(code, "unavailable", NOT_CHECKED_VI, NOT_CHECKED_EN, staff, transient)


RESULT_CODES: dict[str, CodeMeaning] = {m.code: m for m in [
    _m("000", "usable",
       "Thẻ BHYT của bạn còn hạn và dùng được để khám hôm nay.",
       "Your health insurance card is valid and can be used today.",
       "card information correct"),
    _m("001", "warning",
       "Thẻ BHYT của bạn do BHXH Bộ Quốc phòng quản lý. " + _SEE_DESK_VI,
       "Your card is managed by the Ministry of Defence social insurance. " + _SEE_DESK_EN,
       "card managed by BHXH of the Ministry of Defence: confirm the card at the desk"),
    _m("002", "warning",
       "Thẻ BHYT của bạn do BHXH Bộ Công an quản lý. " + _SEE_DESK_VI,
       "Your card is managed by the Ministry of Public Security social insurance. "
       + _SEE_DESK_EN,
       "card managed by BHXH of the Ministry of Public Security: confirm the card at the desk"),
    _m("003", "warning",
       "Thẻ BHYT cũ của bạn đã hết hạn nhưng bạn đã được cấp thẻ mới. "
       "Bệnh viện sẽ dùng thẻ mới; bạn vẫn khám BHYT bình thường.",
       "Your old insurance card has expired, but a new card has been issued. "
       "The hospital will use the new card; you are covered as usual.",
       "old card expired, new card issued: register with the new card number"),
    _m("004", "warning",
       "Thẻ BHYT của bạn còn hạn; bạn cũng đã được cấp thẻ mới. "
       "Hôm nay bạn khám BHYT bình thường; lần sau hãy dùng thẻ mới.",
       "Your insurance card is valid, and a new card has also been issued. "
       "You are covered today; please use the new card next time.",
       "old card still valid, new card issued"),
    _m("010", "not_usable",
       "Thẻ BHYT của bạn đã hết hạn. " + _PAYING_VI
       + " Hãy gia hạn thẻ tại cơ quan BHXH hoặc đại lý thu BHYT.",
       "Your health insurance card has expired. " + _PAYING_EN
       + " Please renew it at a social insurance office or agent.",
       "card expired"),
    _m("050", "not_usable",
       "Không tìm thấy thông tin thẻ BHYT của bạn. " + _PAYING_VI
       + " Nếu bạn có thẻ BHYT, hãy đưa thẻ cho nhân viên quầy tiếp đón.",
       "No health insurance card was found for you. " + _PAYING_EN
       + " If you have an insurance card, please show it at the reception desk.",
       "no card information for this identifier"),
    _not_usable_desk("051", "Số thẻ BHYT không khớp với dữ liệu của BHXH.",
                     "The insurance card number does not match social insurance records.",
                     "wrong card code"),
    _not_usable_desk("052", "Số thẻ BHYT không khớp với dữ liệu của BHXH.",
                     "The insurance card number does not match social insurance records.",
                     "wrong province code in the card number (characters 4–5)"),
    _not_usable_desk("053", "Số thẻ BHYT không khớp với dữ liệu của BHXH.",
                     "The insurance card number does not match social insurance records.",
                     "wrong benefit code in the card number (character 3)"),
    _kiosk_problem("054", "the operator CCCD (bhxh.operator_cccd) is not registered with this "
                          "facility on the BHXH portal: fix the configuration"),
    _kiosk_problem("055", "the operator name (bhxh.operator_name) does not match the operator "
                          "CCCD on the BHXH portal: fix the configuration"),
    _not_usable_desk("060", "Họ tên không khớp với thông tin thẻ BHYT.",
                     "Your name does not match the insurance card record.",
                     "wrong name"),
    _not_usable_desk("061", "Họ tên không khớp với thông tin thẻ BHYT.",
                     "Your name does not match the insurance card record.",
                     "wrong name (first letter right)"),
    _not_usable_desk("070", "Ngày sinh không khớp với thông tin thẻ BHYT.",
                     "Your date of birth does not match the insurance card record.",
                     "wrong date of birth"),
    _not_usable_desk("080", "Giới tính không khớp với thông tin thẻ BHYT.",
                     "Your sex does not match the insurance card record.",
                     "wrong sex (legacy code)"),
    _not_usable_desk("090", "Nơi đăng ký khám ban đầu không khớp với thông tin thẻ BHYT.",
                     "Your registered clinic does not match the insurance card record.",
                     "wrong registered facility (legacy code)"),
    _gateway_trouble("100", "the gateway could not read the card data: re-check later",
                     transient=False),
    _gateway_trouble("101", "gateway server error", transient=True),
    _m("110", "not_usable",
       "Thẻ BHYT này đã bị thu hồi. " + _PAYING_VI
       + " Vui lòng liên hệ cơ quan BHXH để được hướng dẫn.",
       "This insurance card has been revoked. " + _PAYING_EN
       + " Please contact the social insurance office.",
       "card revoked"),
    _reduced("120", "reason not given"),
    _reduced("121", "moved out of the province"),
    _reduced("122", "moved within the province"),
    _reduced("123", "re-enrolled elsewhere"),
    _reduced("124", "stopped contributing"),
    _m("130", "not_usable",
       "Bé chưa được cấp thẻ BHYT. Trẻ dưới 6 tuổi vẫn được khám theo Bảo hiểm y tế, "
       "không phải trả phí khám: xin mang giấy khai sinh hoặc giấy chứng sinh của bé đến "
       "quầy tiếp đón.",
       "The child has no insurance card yet. Children under 6 are still covered by health "
       "insurance and pay no visit fee: please bring the child's birth certificate or "
       "birth notice to the reception desk.",
       "child without a card"),
    _kiosk_problem("205", "the gateway rejected the request format: a kiosk software "
                          "fault, report it to IT"),
    _kiosk_problem("401", "authentication refused after one token renewal: check "
                          "bhxh.username / password"),
    _gateway_trouble("500", "gateway server error", transient=True),
]}


def interpret(code: str | None) -> CodeMeaning:
    """The meaning of a result code; unknown codes are treated as a failed lookup so the
    patient is never blocked and a re-check happens later."""
    if code is None:
        return _gateway_trouble("---", "no result code in the answer", transient=True)
    meaning = RESULT_CODES.get(code)
    if meaning is not None:
        return meaning
    return _gateway_trouble(code, "result code unknown to this kiosk version: re-check later",
                            transient=False)


def registered_facility_matches(card: InsuranceCard | None, facility_code: str) -> bool | None:
    """Is the card's registered primary facility (maDKBD) this facility? None: unknown."""
    if card is None or not card.registered_facility:
        return None
    return card.registered_facility.upper() == facility_code.upper()


def benefit_percent(card: InsuranceCard | None) -> int | None:
    """Benefit level from the card code's 3rd character, for display only (DOMAIN.md §6):
    the HIS decides the rate actually paid."""
    if card is None:
        return None
    number = card.new_card_number or card.card_number or ""
    if len(number) == 15 and number[:2].isalpha():
        return BENEFIT_PERCENT.get(number[2])
    return None


def for_card(meaning: CodeMeaning, card: InsuranceCard | None, facility_code: str) -> CodeMeaning:
    """Refine a usable answer with what the card says about this facility."""
    if meaning.outcome != "usable" or registered_facility_matches(card, facility_code) is not False:
        return meaning
    assert card is not None
    return replace(
        meaning,
        outcome="warning",
        message_vi="Thẻ BHYT của bạn còn hạn. Nơi đăng ký khám ban đầu trên thẻ là cơ sở "
        "khác; nếu có giấy chuyển tuyến, hãy đưa cho nhân viên quầy tiếp đón.",
        message_en="Your health insurance card is valid. It is registered with another clinic; "
        "if you have a referral letter, please show it at the reception desk.",
        staff_detail=f"{meaning.staff_detail}; registered facility {card.registered_facility} "
        f"is not this facility ({facility_code})",
    )
