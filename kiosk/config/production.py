"""The demo's values a kiosk serving patients may not carry (decision 0120).

One list, used by `kiosk provision`, `kiosk config check --production` and every
load of a provisioned file (`kiosk.provisioned = true`): each value is one line
naming its key, so a file started from the demo is refused with everything left
to change at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.config.table import Problem

if TYPE_CHECKING:
    from kiosk.config.sections import Context


def demo_values(ctx: Context) -> list[Problem]:
    parsed = ctx.parsed
    devices, bhxh, his = parsed["devices"], parsed["bhxh"], parsed["his"]
    out = [Problem(key, f"{value!r} is a relative path: a provisioned kiosk needs an "
                   "absolute one (e.g. /var/lib/kiosk)",
                   f"{value!r} là đường dẫn tương đối: ki-ốt thật cần đường dẫn tuyệt đối "
                   "(ví dụ /var/lib/kiosk)") for key, value in ctx.relative.items()]
    if devices.reader == "virtual":
        out.append(Problem("devices.reader", "'virtual' is the demo's simulated card: use "
                           "\"auto\" or the card reader's name",
                           "'virtual' là thẻ mô phỏng của bản demo: dùng \"auto\" hoặc tên "
                           "đầu đọc thẻ"))
    if devices.camera == "virtual":
        out.append(Problem("devices.camera", "'virtual' is the demo's simulated camera: use 0 "
                           "or a /dev/v4l/by-id/… path",
                           "'virtual' là camera mô phỏng của bản demo: dùng 0 hoặc đường dẫn "
                           "/dev/v4l/by-id/…"))
    if not devices.trust_store:
        out.append(Problem("devices.trust_store", "required: the folder of CSCA certificates "
                           "(without it every genuine chip reads as untrusted)",
                           "bắt buộc: thư mục chứng chỉ CSCA (thiếu thì mọi thẻ thật đều "
                           "bị coi là không xác thực được)"))
    if bhxh.url == "simulator" or bhxh.url.startswith("http://"):
        out.append(Problem("bhxh.url", "the BHXH gateway simulator is for the demo: use "
                           "https://egw.baohiemxahoi.gov.vn",
                           "cổng BHXH mô phỏng chỉ dùng cho demo: dùng "
                           "https://egw.baohiemxahoi.gov.vn"))
    if his.adapter == "simulator":
        out.append(Problem("his.adapter", "the HIS simulator is for the demo: use fhir, "
                           "gnuhealth or rest",
                           "HIS mô phỏng chỉ dùng cho demo: dùng fhir, gnuhealth hoặc rest"))
    if parsed["printer"].kind == "file":
        out.append(Problem("printer.kind", "'file' keeps tickets as images on disk (demo "
                           "only): use usb, serial, network or none",
                           "'file' lưu phiếu thành ảnh trên đĩa (chỉ cho demo): dùng usb, "
                           "serial, network hoặc none"))
    if not parsed["ui"].fullscreen:
        out.append(Problem("ui.fullscreen", "false shows the desktop around the kiosk (demo "
                           "only): remove the key", "false để lộ màn hình nền quanh ki-ốt "
                           "(chỉ cho demo): xóa khóa này"))
    lobby = parsed.get("lobby")
    if lobby is not None and not lobby.holding_key:
        out.append(Problem("lobby.holding_key", "required with a lobby (a secret, the same "
                           "on every kiosk of the lobby: `openssl rand -hex 32`): without it a "
                           "patient gets a second number at another kiosk",
                           "bắt buộc khi có lobby (khóa bí mật, giống nhau trên mọi ki-ốt của "
                           "sảnh: `openssl rand -hex 32`): thiếu thì người bệnh lấy được số "
                           "thứ hai ở ki-ốt khác"))
    if not parsed["fleet"].public_keys:
        out.append(Problem("fleet.public_keys", "required: the kiosk only installs releases "
                           "signed by one of these keys",
                           "bắt buộc: ki-ốt chỉ cài bản phát hành được ký bằng một trong "
                           "các khóa này"))
    return out
