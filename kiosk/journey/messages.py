"""Patient-facing notices the journey raises (plain words, Vietnamese and English)."""

from __future__ import annotations

from kiosk.journey.state import Notice, NoticeKind

_TEXT: dict[NoticeKind, tuple[str, str]] = {
    "qr_rejected": (
        "Mã QR trên thẻ bị mờ hoặc hỏng. Xin đặt thẻ Căn cước lên đầu đọc, "
        "hoặc đến quầy tiếp đón.",
        "The QR code on the card is damaged. Please place the citizen ID card on the "
        "reader, or go to the reception desk.",
    ),
    "wrong_key": (
        "Số vừa nhập không mở được thẻ. Xin kiểm tra lại 12 số trên thẻ Căn cước.",
        "The number did not open the card. Please check the 12 digits on your citizen ID card.",
    ),
    "bad_id_number": (
        "Số định danh chưa đúng. Xin nhập đủ 12 số in trên thẻ Căn cước.",
        "That ID number is not right. Please type the 12 digits printed on your citizen ID card.",
    ),
    "card_removed": (
        "Thẻ đã bị nhấc ra. Xin đặt lại thẻ và giữ yên trên đầu đọc.",
        "The card was lifted. Please put it back and keep it still on the reader.",
    ),
    "service_closed": (
        "Phòng khám này hiện chưa mở. Xin chọn phòng khám khác.",
        "This clinic is not open now. Please choose another one.",
    ),
    "chip_fallback_qr": (
        "Không đọc được chip trên thẻ; máy dùng thông tin từ mã QR.",
        "The card's chip could not be read; the kiosk uses the QR code's details.",
    ),
    "card_not_yours": (
        "Trên đầu đọc đang có một thẻ Căn cước. Nếu đó là thẻ của bạn, bấm “Thẻ này của "
        "tôi”; nếu không, xin nhấc thẻ ra và nộp cho quầy tiếp đón.",
        "There is a citizen ID card on the reader. If it is yours, tap “This card is "
        "mine”; if not, please lift it and hand it to the reception desk.",
    ),
    "appointment_unavailable": (
        "Máy chưa tra được lịch hẹn khám lại. Nếu bạn có giấy hẹn, xin chọn nơi khám và "
        "báo với phòng khám khi được gọi.",
        "The kiosk could not look up follow-up appointments. If you have an appointment "
        "slip, please choose where to be seen and mention it when you are called.",
    ),
    "appointment_not_found": (
        "Không tìm thấy lịch hẹn hôm nay theo giấy hẹn này. Xin chọn nơi khám và báo với "
        "phòng khám khi được gọi.",
        "No appointment for today matches this slip. Please choose where to be seen and "
        "mention it when you are called.",
    ),
    "slip_seen": (
        "Đã đọc giấy hẹn khám lại. Xin đặt thẻ Căn cước lên đầu đọc, hoặc đưa mã QR trên "
        "thẻ trước camera, để xác nhận là bạn.",
        "Appointment slip read. Please place your citizen ID card on the reader, or show "
        "its QR code to the camera, to confirm it is you.",
    ),
    "face_retry": (
        "Chưa nhìn rõ. Xin nhìn thẳng vào camera, rồi quay đầu nhẹ sang một bên.",
        "Not clear yet. Please look straight at the camera, then turn your head a little.",
    ),
    "qr_unknown": ("", ""),  # carries the parser's own message
}


def notice(kind: NoticeKind) -> Notice:
    vi, en = _TEXT[kind]
    return Notice(kind, vi, en)
