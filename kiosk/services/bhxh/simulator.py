"""BHXH gateway SIMULATOR: the card-check endpoints of DOMAIN.md §5 on loopback.

The real gateway cannot be reached from here, so the demo and the tests use
this stand-in. It follows the documented contract (`/api/token/take`,
`/api/egw/KQNhanLichSuKCB2024`, the same JSON and result codes; the QĐ 130
check-in table at `/api/qd130/checkInKcbQd4750`, kept in `checkins`) over real
HTTP, with a card dataset (`assets/simulator/bhxh_cards.json`), latency and
fault injection: slow, hang, HTTP 500/503, results 101/500/401, token expiry,
malformed or truncated JSON, HTML pages, wrong content types, reset
connections. It only ever binds to 127.0.0.1.

Python: ``sim = BhxhGatewaySimulator(); url = sim.start(); …; sim.stop()``.
Technicians: ``kiosk bhyt simulator --port 8765``; faults can then be set with
``POST /_simulator/faults {"kind": "hang"}`` and cleared with ``DELETE``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from kiosk.domain.text import fold, nfc

FaultKind = Literal[
    "slow",        # answer normally after delay_s
    "hang",        # accept, never answer (until hang_s or stop)
    "http500",     # HTTP 500 with an HTML error page
    "http503",     # HTTP 503 (proxy: service unavailable)
    "http401",     # HTTP 401 whatever the token
    "code101",     # HTTP 200, maKetQua "101" (server error)
    "code500",     # HTTP 200, maKetQua "500"
    "code401",     # HTTP 200, maKetQua "401"
    "malformed",   # HTTP 200, application/json, not JSON
    "truncated",   # HTTP 200, the real answer cut in half (Content-Length matches)
    "cut",         # HTTP 200, Content-Length of the full answer, connection closed half-way
    "html",        # HTTP 200, text/html maintenance page
    "text_json",   # HTTP 200, the real answer labelled text/plain
    "empty",       # HTTP 200, empty body
    "reset",       # connection closed without an answer
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
# Fields a check-in row cannot go without (the simulator's reading of QĐ 130).
CHECKIN_REQUIRED = ("MA_LK", "HO_TEN", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT", "NGAY_VAO",
                    "MA_LOAI_KCB", "MA_CSKCB")
Endpoint = Literal["check", "token", "checkin", "any"]

GHI_CHU = {
    "000": "Thông tin thẻ chính xác", "001": "Thẻ do BHXH Bộ Quốc phòng quản lý",
    "002": "Thẻ do BHXH Bộ Công an quản lý", "003": "Thẻ cũ hết giá trị sử dụng, được cấp thẻ mới",
    "004": "Thẻ cũ còn giá trị sử dụng, được cấp thẻ mới", "010": "Thẻ hết giá trị sử dụng",
    "050": "Không có thông tin thẻ", "051": "Mã thẻ không đúng",
    "052": "Mã tỉnh cấp thẻ không đúng",
    "053": "Mã quyền lợi thẻ không đúng", "054": "CCCD cán bộ chưa được đăng ký với cơ sở",
    "055": "Họ tên cán bộ không khớp với CCCD", "060": "Thẻ sai họ tên",
    "061": "Thẻ sai họ tên (đúng ký tự đầu)", "070": "Thẻ sai ngày sinh",
    "080": "Thẻ sai giới tính", "090": "Thẻ sai nơi đăng ký KCB ban đầu",
    "100": "Lỗi khi lấy dữ liệu thẻ", "101": "Lỗi server", "110": "Thẻ đã thu hồi",
    "120": "Thẻ đã báo giảm", "121": "Thẻ đã báo giảm: chuyển ngoại tỉnh",
    "122": "Thẻ đã báo giảm: chuyển nội tỉnh", "123": "Thẻ đã báo giảm: do tăng lại cùng đơn vị",
    "124": "Thẻ đã báo giảm: dừng tham gia", "130": "Trẻ em không xuất trình thẻ",
    "205": "Lỗi sai định dạng tham số", "401": "Lỗi xác thực", "500": "Lỗi không xác định",
}
# Answers that carry no card details.
_NO_CARD = {"050", "051", "052", "053", "054", "055", "100", "101", "130", "205", "401", "500"}
_ANSWER_FIELDS = (
    "maThe", "hoTen", "ngaySinh", "gioiTinh", "diaChi", "maDKBD", "cqBHXH", "gtTheTu", "gtTheDen",
    "maKV", "ngayDu5Nam", "maSoBHXH", "maTheCu", "maTheMoi", "gtTheTuMoi", "gtTheDenMoi",
    "maDKBDMoi", "tenDKBDMoi",
)
_DATE = re.compile(r"\d{2}/\d{2}/\d{4}|\d{4}")
_HTML = (b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
         b"<body><h1>H\xe1\xbb\x87 th\xe1\xbb\x91ng \xc4\x91ang b\xe1\xba\xa3o tr\xc3\xac"
         b"</h1></body></html>")


@dataclass
class Fault:
    kind: FaultKind
    times: int | None = None  # None: until cleared
    delay_s: float = 1.0  # for "slow"
    endpoint: Endpoint = "check"


def load_dataset(path: Path | None = None) -> dict[str, Any]:
    if path is None:
        from kiosk.assets import asset_path

        path = asset_path("simulator", "bhxh_cards.json")
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        raise ValueError(f"{path}: not a simulator card dataset (needs a 'cards' list)")
    return data


def _md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def _exact(name: str) -> str:
    """How the simulated portal compares names: diacritics count, case and spacing don't."""
    return " ".join(nfc(name).casefold().split())


def _birth_matches(asked: str, on_card: str) -> bool:
    if len(asked) == 4 or len(on_card) == 4:
        return asked[-4:] == on_card[-4:]
    return asked == on_card


class BhxhGatewaySimulator:
    """A BHXH gateway simulator on 127.0.0.1 (never another interface)."""

    def __init__(self, dataset: dict[str, Any] | None = None, *, port: int = 0,
                 latency_s: float = 0.0, token_ttl_s: float = 3600.0,
                 hang_s: float = 120.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.dataset = dataset if dataset is not None else load_dataset()
        self.port = port
        self.latency_s = latency_s
        self.token_ttl_s = token_ttl_s
        self.hang_s = hang_s
        self.ssl_context = ssl_context  # serve HTTPS (TLS verification tests)
        self.accounts = {a["username"]: _md5_upper(a["password"])
                         for a in self.dataset.get("accounts", [])}
        self.operators = {o["cccd"]: o["name"] for o in self.dataset.get("operators", [])}
        self.cards: dict[str, dict[str, Any]] = {}
        for card in self.dataset["cards"]:
            for key in card.get("keys", []) + [card.get("maThe")]:
                if key:
                    self.cards[str(key).upper()] = card
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._tokens: dict[str, tuple[str, str, float]] = {}  # access -> (id, user, expiry)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stats: dict[str, int] = {"token": 0, "check": 0, "faults": 0}
        self.server_time_s = 0.0
        self.last_check: dict[str, Any] | None = None
        self.checkins: dict[str, dict[str, str]] = {}  # MA_LK -> the row as received

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        server.simulator = self  # type: ignore[attr-defined]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="bhxh-simulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BhxhGatewaySimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- knobs -----------------------------------------------------------------------------

    def inject(self, kind: str, *, times: int | None = None, delay_s: float = 1.0,
               endpoint: str = "check") -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if endpoint not in get_args(Endpoint):
            raise ValueError(f"endpoint must be one of {', '.join(get_args(Endpoint))}")
        with self._lock:
            self._faults.append(Fault(kind, times, delay_s, endpoint))  # type: ignore[arg-type]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def expire_tokens(self) -> None:
        """Every issued token stops working (as after the gateway's session timeout)."""
        with self._lock:
            self._tokens.clear()

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "any"):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    self.stats["faults"] += 1
                    return fault
        return None

    # -- the gateway's logic -----------------------------------------------------------------

    def take_token(self, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.stats["token"] += 1
        expected = self.accounts.get(fields.get("username", ""))
        if expected is None or fields.get("password", "").upper() != expected:
            return 401, {"maKetQua": "401", "ghiChu": "Sai tên đăng nhập hoặc mật khẩu"}
        access, id_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[access] = (id_token, fields["username"],
                                    time.monotonic() + self.token_ttl_s)
        return 200, {"maKetQua": "200", "APIKey": {
            "access_token": access, "id_token": id_token, "token_type": "bearer",
            "username": fields["username"], "expires_in": int(self.token_ttl_s)}}

    def token_valid(self, query: dict[str, str]) -> bool:
        with self._lock:
            entry = self._tokens.get(query.get("token", ""))
        if entry is None:
            return False
        id_token, user, expiry = entry
        return (query.get("id_token") == id_token and query.get("username") == user
                and query.get("password", "").upper() == self.accounts.get(user)
                and time.monotonic() < expiry)

    def token_valid_headers(self, headers: Any) -> bool:
        """The check-in endpoint carries the token in headers, not the query string."""
        with self._lock:
            entry = self._tokens.get(headers.get("accessToken", ""))
        if entry is None:
            return False
        id_token, user, expiry = entry
        return (headers.get("tokenId") == id_token
                and headers.get("passwordHash", "").upper() == self.accounts.get(user)
                and time.monotonic() < expiry)

    def take_checkin(self, fields: dict[str, str]) -> dict[str, Any]:
        """Validate a check-in table (XML0) as the documented fields require; keep it
        (by MA_LK: a resent table replaces the first)."""
        missing = [k for k in ("username", "loaiHoSo", "maTinh", "maCSKCB", "fileHSBase64")
                   if not fields.get(k)]
        if missing:
            return self._refusal(f"Thiếu trường {', '.join(missing)}")
        try:
            root = ElementTree.fromstring(base64.b64decode(fields["fileHSBase64"],
                                                           validate=True))
        except (ValueError, ElementTree.ParseError):
            return self._refusal("fileHSBase64 không phải XML hợp lệ")
        rows = root.findall("./DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB")
        if root.tag != "CHI_TIEU_TRANG_THAI_KCB" or not rows:
            return self._refusal("Sai cấu trúc XML0")
        for row in rows:
            values = {child.tag: child.text or "" for child in row}
            empty = [k for k in CHECKIN_REQUIRED if not values.get(k)]
            if empty:
                return self._refusal(f"Thiếu {', '.join(empty)}")
            if values["MA_CSKCB"] != fields["maCSKCB"]:
                return self._refusal("MA_CSKCB khác maCSKCB")
            with self._lock:
                self.checkins[values["MA_LK"]] = values
        return {"maKetQua": "200", "maGiaoDich": secrets.token_hex(8),
                "thoiGianTiepNhan": dt.datetime.now().strftime("%Y%m%d%H%M%S"),
                "thongDiep": "Tiếp nhận thành công"}

    @staticmethod
    def _refusal(message: str) -> dict[str, Any]:
        return {"maKetQua": "400", "thongDiep": message}

    def check_card(self, body: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The answer to a card check, and the dataset card it concerned (if any)."""
        with self._lock:
            self.stats["check"] += 1
            self.last_check = body if isinstance(body, dict) else None
        fields = ("maThe", "hoTen", "ngaySinh", "hoTenCb", "cccdCb")
        if not isinstance(body, dict) or not all(
                isinstance(body.get(f), str) and body[f].strip() for f in fields):
            return self._answer("205"), None
        ma_the, ho_ten, ngay_sinh = body["maThe"].strip().upper(), body["hoTen"], body["ngaySinh"]
        if not _DATE.fullmatch(ngay_sinh.strip()):
            return self._answer("205"), None
        operator = self.operators.get(body["cccdCb"].strip())
        if operator is None:
            return self._answer("054"), None
        if _exact(operator) != _exact(body["hoTenCb"]):
            return self._answer("055"), None
        card = self.cards.get(ma_the)
        if card is None:
            return self._answer(self._near_miss(ma_the)), None
        if _exact(card["hoTen"]) != _exact(ho_ten):
            same_first = fold(card["hoTen"])[:1] == fold(ho_ten)[:1]
            return self._answer("061" if same_first else "060", card), card
        if not _birth_matches(ngay_sinh.strip(), card["ngaySinh"]):
            return self._answer("070", card), card
        return self._answer(str(card.get("maKetQua", "000")), card), card

    def _near_miss(self, ma_the: str) -> str:
        """A 15-character code whose BHXH number exists but whose prefix is wrong."""
        if len(ma_the) != 15:
            return "050"
        for key in self.cards:
            if len(key) == 15 and key[5:] == ma_the[5:]:
                if key[3:5] != ma_the[3:5]:
                    return "052"
                if key[2] != ma_the[2]:
                    return "053"
                return "051"
        return "050"

    @staticmethod
    def _answer(code: str, card: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = {"maKetQua": code, "ghiChu": GHI_CHU.get(code, "")}
        for name in _ANSWER_FIELDS:
            answer[name] = None
        if card is not None and code not in _NO_CARD:
            for name in _ANSWER_FIELDS:
                answer[name] = copy.deepcopy(card.get(name))
        answer["dsLichSuKCB2018"] = None
        answer["dsLichSuKT2018"] = None
        return answer

    def add_server_time(self, seconds: float) -> None:
        with self._lock:
            self.server_time_s += seconds

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"simulator": "BHXH gateway simulator", "stats": dict(self.stats),
                    "faults": [asdict(f) for f in self._faults], "tokens": len(self._tokens),
                    "latency_s": self.latency_s,
                    "now": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway's clients use
    server_version = "BhxhGatewaySimulator/1"
    timeout = 30  # idle keep-alive connections end
    # Buffer each answer and send it in one go: headers and body in separate segments
    # meet delayed ACK on loopback and cost ~40 ms per request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    @property
    def sim(self) -> BhxhGatewaySimulator:
        return self.server.simulator  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests carry personal data: nothing to stderr

    # -- plumbing --------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8",
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, value: Any, ctype: str = "application/json; charset=utf-8",
                   ) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), ctype)

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    # -- routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_simulator/status":
            self._send_json(200, self.sim.status())
        else:
            self._send_json(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        self._body()
        if urlsplit(self.path).path == "/_simulator/faults":
            self.sim.clear_faults()
            self._send_json(200, self.sim.status())
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        started = time.perf_counter()
        try:
            self._route_post()
        finally:
            # Handling time, so benchmarks can separate the client's own overhead.
            self.wfile.flush()
            self.sim.add_server_time(time.perf_counter() - started)

    def _route_post(self) -> None:
        path = urlsplit(self.path).path
        raw = self._body()
        if path == "/_simulator/faults":
            self._control_fault(raw)
        elif path == "/_simulator/expire-tokens":
            self.sim.expire_tokens()
            self._send_json(200, self.sim.status())
        elif path == "/api/token/take":
            self._token(raw)
        elif path == "/api/egw/KQNhanLichSuKCB2024":
            self._check(raw)
        elif path == "/api/qd130/checkInKcbQd4750":
            self._checkin(raw)
        else:
            self._send_json(404, {"error": "not found"})

    def _control_fault(self, raw: bytes) -> None:
        try:
            spec = json.loads(raw or b"{}")
            self.sim.inject(spec["kind"], times=spec.get("times"),
                            delay_s=float(spec.get("delay_s", 1.0)),
                            endpoint=spec.get("endpoint", "check"))
        except (ValueError, KeyError, TypeError) as exc:
            self._send_json(400, {"error": str(exc)})
            return
        self._send_json(200, self.sim.status())

    def _token(self, raw: bytes) -> None:
        if self._fault("token", None):
            return
        ctype = self.headers.get("Content-Type", "")
        fields: dict[str, str] = {}
        try:
            if "json" in ctype:
                value = json.loads(raw)
                fields = {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}
            else:
                fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        except (ValueError, UnicodeDecodeError):
            fields = {}
        status, answer = self.sim.take_token(fields)
        self._send_json(status, answer)

    def _check(self, raw: bytes) -> None:
        if self.sim.latency_s:
            self.sim._stopping.wait(self.sim.latency_s)
        if not self.sim.token_valid(self._query()):
            self._send_json(401, {"maKetQua": "401", "ghiChu": GHI_CHU["401"]})
            return
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = None
        answer, card = self.sim.check_card(body)
        card_fault = (card or {}).get("fault")
        if isinstance(card_fault, str) and card_fault in FAULT_KINDS:
            fault: Fault | None = Fault(card_fault)  # type: ignore[arg-type]
        else:
            fault = self.sim._take_fault("check")
        if fault is not None and self._apply(fault, answer):
            return
        self._send_json(200, answer)

    def _checkin(self, raw: bytes) -> None:
        if self._fault("checkin", None):
            return
        if not self.sim.token_valid_headers(self.headers):
            self._send_json(401, {"maKetQua": "401", "thongDiep": "unauthen"})
            return
        try:
            fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        except UnicodeDecodeError:
            fields = {}
        self._send_json(200, self.sim.take_checkin(fields))

    def _fault(self, endpoint: str, answer: dict[str, Any] | None) -> bool:
        fault = self.sim._take_fault(endpoint)
        return fault is not None and self._apply(fault, answer)

    def _apply(self, fault: Fault, answer: dict[str, Any] | None) -> bool:
        """Act out a fault; False when the normal answer should follow (slow)."""
        kind = fault.kind
        full = json.dumps(answer or {"maKetQua": "000"}, ensure_ascii=False).encode("utf-8")
        if kind == "slow":
            self.sim._stopping.wait(fault.delay_s)
            if answer is None:
                return False
            self._send_json(200, answer)
        elif kind == "hang":
            self.sim._stopping.wait(self.sim.hang_s)
            self.close_connection = True
        elif kind == "reset":
            self.close_connection = True
        elif kind in ("http500", "http503"):
            self._send(int(kind[4:]), _HTML, "text/html; charset=utf-8")
        elif kind == "http401":
            self._send_json(401, {"maKetQua": "401", "ghiChu": GHI_CHU["401"]})
        elif kind in ("code101", "code500", "code401"):
            code = kind[4:]
            self._send_json(200, {"maKetQua": code, "ghiChu": GHI_CHU[code]})
        elif kind == "malformed":
            self._send(200, b'{maKetQua: "000", hoTen: }')
        elif kind == "truncated":
            self._send(200, full[: len(full) // 2])
        elif kind == "cut":
            self._send(200, full[: len(full) // 2], length=len(full))
            self.close_connection = True
        elif kind == "html":
            self._send(200, _HTML, "text/html; charset=utf-8")
        elif kind == "text_json":
            self._send(200, full, "text/plain; charset=utf-8")
        elif kind == "empty":
            self._send(200, b"")
        return True
