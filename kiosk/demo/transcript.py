"""Plain-Vietnamese description of what the kiosk screen shows at each step."""

from __future__ import annotations

from kiosk.domain.text import mask_id
from kiosk.journey.state import Session, Step

_ERRORS = {
    "reader_unplugged": "Đầu đọc thẻ đang hỏng. Xin đưa mã QR trên thẻ hoặc đến quầy tiếp đón.",
    "card_unreadable": "Không đọc được thẻ. Xin đưa mã QR trên thẻ hoặc đến quầy tiếp đón.",
    "verification_failed": "Thẻ cần được nhân viên kiểm tra. Xin đến quầy tiếp đón.",
    "registration_failed": "Chưa đăng ký được. Xin đến quầy tiếp đón, nhân viên sẽ giúp bạn.",
    "no_services": "Hiện không có phòng khám nào mở. Xin đến quầy tiếp đón.",
}


def describe(s: Session) -> str:
    """One line for the transcript (masked ID: the transcript is a log)."""
    step = s.step
    if step is Step.IDLE:
        text = "Chạm thẻ Căn cước vào đầu đọc hoặc đưa mã QR vào camera."
    elif step is Step.NEED_KEY:
        text = ("Giữ thẻ trên đầu đọc. Đưa mã QR ở mặt trước thẻ vào camera, "
                "hoặc nhập 12 số định danh." if s.key is None else "Xin đặt thẻ lên đầu đọc.")
    elif step is Step.READING_CHIP:
        text = "Đang đọc thẻ… xin giữ yên thẻ."
    elif step is Step.CONFIRM_IDENTITY:
        i = s.identity
        assert i is not None
        chip = {"chip_verified": "chip (đã xác thực)", "chip_pending": "chip (đang kiểm tra)"}
        source = {"chip": chip.get(i.verification, "chip"),
                  "qr_cccd": "mã QR Căn cước", "qr_bhyt": "mã QR thẻ BHYT",
                  "manual": "nhập tay"}[i.source]
        text = (f"Đây có phải bạn? {i.full_name}, sinh {i.date_of_birth}, "
                f"số {mask_id(i.id_number or i.bhyt_card)} — nguồn: {source}.")
    elif step is Step.CHECKING_INSURANCE:
        text = "Đang kiểm tra thẻ BHYT…"
    elif step is Step.INSURANCE_RESULT:
        assert s.insurance is not None
        text = s.insurance.message_vi
    elif step is Step.FINDING_APPOINTMENTS:
        text = "Đang tìm lịch hẹn khám lại…"
    elif step is Step.APPOINTMENT:
        booked = s.appointments or ()
        text = "Bạn có lịch hẹn khám lại hôm nay: " + "; ".join(
            f"{a.service_name}, {a.room}, lúc {a.local_time('Asia/Ho_Chi_Minh')}"
            for a in booked) + ". Bấm “Vào khám theo lịch hẹn” hoặc “Khám dịch vụ khác”."
    elif step is Step.CHOOSE_SERVICE:
        names = ", ".join(x.name for x in s.services or () if x.open)
        text = f"Chọn nơi khám: {names}."
    elif step is Step.CONFIRM_SERVICE:
        svc = s.chosen_service
        assert svc is not None
        text = f"Đăng ký {svc.name} — {svc.room}? Bấm “Đăng ký”."
    elif step is Step.REGISTERING:
        text = "Đang đăng ký…"
    elif step is Step.TICKET:
        r = s.registration
        assert r is not None
        if s.print_result is None:
            text = f"Số thứ tự của bạn: {r.queue_number}. Đang in phiếu…"
        elif s.print_result.printed:
            text = f"Số thứ tự của bạn: {r.queue_number} — {r.room}. Xin nhận phiếu."
            if r.appointment is not None:
                text += f" (Lịch hẹn lúc {r.appointment.local_time('Asia/Ho_Chi_Minh')}.)"
        else:
            text = (f"Số thứ tự của bạn: {r.queue_number} — {r.room}. Máy in chưa in được "
                    "phiếu: xin nhớ số này và đến quầy tiếp đón để nhận phiếu.")
    elif step is Step.HEALTH_BOOK_OFFER:
        text = "Bạn có muốn được hướng dẫn kích hoạt Sổ sức khỏe điện tử trên VNeID không?"
    elif step is Step.HEALTH_BOOK:
        text = "Hướng dẫn kích hoạt Sổ sức khỏe điện tử…"
    elif step is Step.DONE:
        text = "Cảm ơn bạn. Chúc bạn mau khỏe!"
    else:
        text = _ERRORS.get(s.error or "", "Xin đến quầy tiếp đón.")
    if s.notice is not None:
        text += f" [Lưu ý: {s.notice.message_vi}]"
    if s.idle_warning:
        text += " [Bạn còn ở đó không? Chạm màn hình để tiếp tục.]"
    return text
