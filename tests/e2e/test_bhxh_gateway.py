"""The BHXH client over real HTTP against the gateway simulator on 127.0.0.1."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import requests

from kiosk.config import demo_config
from kiosk.domain.identity import Identity
from kiosk.runtime import system_ca
from kiosk.services.bhxh import BhxhCache, BhxhClient, BhxhInsurance, CircuitBreaker
from kiosk.services.bhxh.protocol import CHECK_PATH, TOKEN_PATH, password_md5
from kiosk.services.bhxh.recheck import needs_recheck, recheck_pending
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator, load_dataset
from kiosk.store import connect

pytestmark = pytest.mark.e2e

USER, PASSWORD = "01824_BV", "simulator-password"
OPERATOR, OPERATOR_CCCD = "Trần Thị Lan", "001185000123"
NHUNG = ("001185012345", "Nguyễn Thị Hồng Nhung", dt.date(1985, 3, 14))
DATASET = load_dataset()
BY_CODE = {}
for _card in DATASET["cards"]:
    if "fault" not in _card:
        BY_CODE.setdefault(_card["maKetQua"], _card)


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture(scope="module")
def sim():
    simulator = BhxhGatewaySimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def clean(sim):
    sim.clear_faults()
    sim.latency_s = 0.0
    yield
    sim.clear_faults()


def make_client(sim, **kw):
    kw.setdefault("timeout_s", 2.0)
    kw.setdefault("backoff_s", 0.01)
    operator = kw.pop("operator", OPERATOR)
    operator_cccd = kw.pop("operator_cccd", OPERATOR_CCCD)
    password = kw.pop("password", PASSWORD)
    return BhxhClient(sim.base_url, USER, password, operator, operator_cccd, **kw)


def adapter(sim, cache=None, budget_s=6.0, **kw):
    return BhxhInsurance(make_client(sim, **kw), facility_code="01824", cache=cache,
                         budget_s=budget_s)


def dob_of(card):
    text = card["ngaySinh"]
    return int(text) if len(text) == 4 else dt.datetime.strptime(text, "%d/%m/%Y").date()


# -- every result code ---------------------------------------------------------------------

DATASET_CODES = ["000", "001", "002", "003", "004", "010", "080", "090", "100", "110", "120",
                 "121", "122", "123", "124", "130"]


@pytest.mark.parametrize("code", DATASET_CODES)
def test_dataset_card_codes(sim, code):
    from tests.unit.bhxh.test_result_codes import EXPECTED_OUTCOME

    card = BY_CODE[code]
    result = adapter(sim).check_key(card["keys"][0], card["hoTen"], dob_of(card))
    assert result.code == code
    assert result.outcome == EXPECTED_OUTCOME[code]
    assert sim.last_check["cccdCb"] == OPERATOR_CCCD and sim.last_check["hoTenCb"] == OPERATOR
    if result.outcome in ("usable", "warning", "not_usable") and code not in ("130",):
        assert result.card is not None and result.card.full_name == card["hoTen"]
        assert result.source == "gateway"
    if code in ("003", "004"):
        assert result.card.new_card_number and result.card_number == result.card.new_card_number
        assert result.card.new_valid_to is not None
    if code == "100":
        assert result.source == "unavailable" and needs_recheck(result)


@pytest.mark.parametrize("code", ["101", "500"])
def test_server_error_codes_are_retried_then_unavailable(sim, code):
    card = BY_CODE[code]
    before = sim.stats["check"]
    client = make_client(sim, breaker=CircuitBreaker(failure_threshold=10))
    result = BhxhInsurance(client, facility_code="01824").check_key(
        card["keys"][0], card["hoTen"], dob_of(card))
    assert result.outcome == "unavailable" and result.source == "unavailable"
    assert sim.stats["check"] - before == 3  # bounded: max_attempts
    assert f"gateway result {code}" in result.staff_detail


@pytest.mark.parametrize(("card_key", "code"), [
    ("079099007777", "050"),           # unknown CCCD
    ("HS4010123456789", "051"),         # beneficiary code wrong
    ("GD4020123456789", "052"),         # province (chars 4-5) wrong
    ("GD3010123456789", "053"),         # benefit digit wrong
    ("GD4010123456789", "000"),         # the card code itself
    ("0123456789", "000"),              # the 10-digit BHXH number
])
def test_card_key_forms(sim, card_key, code):
    _, name, dob = NHUNG
    assert adapter(sim).check_key(card_key, name, dob).code == code


@pytest.mark.parametrize(("name", "dob", "code"), [
    ("NGUYỄN THỊ  HỒNG NHUNG", dt.date(1985, 3, 14), "000"),   # case and spacing ignored
    ("Nguyễn Thị Hồng Nhàn", dt.date(1985, 3, 14), "061"),     # first letter right
    ("Trần Thị Hồng Nhung", dt.date(1985, 3, 14), "060"),
    ("Nguyễn Thị Hồng Nhung", dt.date(1985, 3, 15), "070"),
    ("Nguyễn Thị Hồng Nhung", 1985, "000"),                    # year only
])
def test_name_and_birth_checks(sim, name, dob, code):
    result = adapter(sim).check_key(NHUNG[0], name, dob)
    assert result.code == code


def test_name_without_diacritics_is_flagged_for_staff(sim):
    result = adapter(sim).check_key(NHUNG[0], "Nguyen Thi Hong Nhung", NHUNG[2])
    assert result.code == "061" and result.outcome == "not_usable"


def test_other_facility_is_a_warning(sim):
    card = next(c for c in DATASET["cards"] if c["maDKBD"] == "48001")
    result = adapter(sim).check_key(card["keys"][0], card["hoTen"], dob_of(card))
    assert result.code == "000" and result.outcome == "warning"
    assert result.card.registered_facility == "48001"


@pytest.mark.parametrize(("operator", "operator_cccd", "code"), [
    (OPERATOR, "001185999999", "054"),
    ("Trần Văn Lan", OPERATOR_CCCD, "055"),
])
def test_operator_problems_are_misconfiguration(sim, operator, operator_cccd, code):
    result = adapter(sim, operator=operator, operator_cccd=operator_cccd).check_key(*NHUNG)
    assert result.code == code and result.outcome == "misconfigured"
    assert not result.checked and needs_recheck(result)


def test_bad_parameter_format_is_205(sim):
    token = requests.post(sim.base_url + TOKEN_PATH, timeout=5,
                          data={"username": USER, "password": password_md5(PASSWORD)}).json()
    params = {"token": token["APIKey"]["access_token"], "id_token": token["APIKey"]["id_token"],
              "username": USER, "password": password_md5(PASSWORD)}
    body = {"maThe": NHUNG[0], "hoTen": NHUNG[1], "ngaySinh": "1985-03-14",
            "hoTenCb": OPERATOR, "cccdCb": OPERATOR_CCCD}
    answer = requests.post(sim.base_url + CHECK_PATH, params=params, json=body, timeout=5).json()
    assert answer["maKetQua"] == "205"
    from kiosk.services.bhxh.adapter import result_from_answer

    result = result_from_answer(answer, facility_code="01824", card_key=NHUNG[0],
                                asked_name=NHUNG[1], asked_dob=NHUNG[2],
                                checked_at=dt.datetime.now(dt.UTC), source="gateway")
    assert result.outcome == "misconfigured" and result.card is None


def test_wrong_password_is_misconfiguration_without_retry_loop(sim):
    before = dict(sim.stats)
    result = adapter(sim, password="wrong").check_key(*NHUNG)
    assert result.outcome == "misconfigured" and "username/password" in result.staff_detail
    assert sim.stats["token"] - before["token"] == 1
    assert sim.stats["check"] == before["check"]


# -- tokens --------------------------------------------------------------------------------

def test_token_is_cached_and_renewed_once_after_expiry(sim):
    client = make_client(sim)
    insurance = BhxhInsurance(client, facility_code="01824")
    before = sim.stats["token"]
    assert insurance.check_key(*NHUNG).code == "000"
    assert insurance.check_key(*NHUNG).code == "000"
    assert sim.stats["token"] - before == 1          # cached
    sim.expire_tokens()
    assert insurance.check_key(*NHUNG).code == "000"
    assert sim.stats["token"] - before == 2          # one renewal
    assert client.token_requests == 2


@pytest.mark.parametrize("kind", ["http401", "code401"])
def test_persistent_401_renews_once_never_loops(sim, kind):
    sim.inject(kind)
    before = dict(sim.stats)
    result = adapter(sim).check_key(*NHUNG)
    assert result.outcome == "misconfigured" and "fresh" in result.staff_detail
    assert sim.stats["token"] - before["token"] == 2  # first token + one renewal
    assert sim.stats["check"] - before["check"] == 2


def test_token_endpoint_down_is_unavailable(sim):
    sim.inject("http503", endpoint="token")
    result = adapter(sim, max_attempts=2).check_key(*NHUNG)
    assert result.outcome == "unavailable" and "HTTP 503" in result.staff_detail


# -- slow, hanging and garbled gateways ----------------------------------------------------

@pytest.mark.parametrize("kind", ["malformed", "truncated", "cut", "html", "empty", "reset",
                                  "http500", "http503", "code101", "code500"])
def test_one_transient_fault_is_retried(sim, kind):
    sim.inject(kind, times=1)
    before = sim.stats["check"]
    result = adapter(sim).check_key(*NHUNG)
    assert result.code == "000" and result.outcome == "usable"
    assert sim.stats["check"] - before == 2


@pytest.mark.parametrize(("kind", "words"), [
    ("malformed", "malformed JSON"), ("truncated", "truncated JSON"), ("html", "HTML"),
    ("empty", "empty"), ("http500", "HTTP 500"), ("reset", "connection failed"),
])
def test_persistent_fault_is_unavailable_with_reason(sim, kind, words):
    sim.inject(kind)
    result = adapter(sim, breaker=CircuitBreaker(failure_threshold=10)).check_key(*NHUNG)
    assert result.outcome == "unavailable" and not result.checked
    assert words in result.staff_detail and "after 3 attempt(s)" in result.staff_detail
    assert result.card_key == NHUNG[0] and result.card_number == NHUNG[0]


def test_json_labelled_text_plain_is_accepted(sim):
    sim.inject("text_json")
    assert adapter(sim).check_key(*NHUNG).code == "000"


def test_html_page_labelled_ok_names_the_content_type(sim):
    sim.inject("html")
    result = adapter(sim, max_attempts=1).check_key(*NHUNG)
    assert "Content-Type text/html" in result.staff_detail


def test_slow_gateway_within_the_timeout_answers(sim):
    sim.inject("slow", delay_s=0.3)
    assert adapter(sim, timeout_s=2.0).check_key(*NHUNG).code == "000"


def test_hang_ends_in_read_timeout(sim):
    sim.inject("hang")
    before = sim.stats["check"]
    result = adapter(sim, timeout_s=0.3, budget_s=1.0,
                     breaker=CircuitBreaker(failure_threshold=10)).check_key(*NHUNG)
    assert result.outcome == "unavailable"
    assert "no answer within 0.3 s" in result.staff_detail
    assert 2 <= sim.stats["check"] - before <= 3  # retries stop when the budget is spent


def test_budget_caps_the_read_timeout(sim):
    sim.inject("hang")
    result = adapter(sim, timeout_s=5.0, budget_s=0.4, max_attempts=1).check_key(*NHUNG)
    assert result.outcome == "unavailable"
    # What the budget left for this read (the token request spent some on a busy machine),
    # never the 5 s read timeout.
    waited = re.search(r"no answer within (\d+\.\d) s", result.staff_detail)
    assert waited and 0.0 < float(waited[1]) <= 0.4, result.staff_detail


# -- circuit breaker -----------------------------------------------------------------------

def test_breaker_opens_fails_fast_and_closes_after_a_good_probe(sim):
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=30, clock=clock)
    insurance = adapter(sim, breaker=breaker)
    sim.inject("http500")
    first = insurance.check_key(*NHUNG)
    assert first.outcome == "unavailable" and breaker.state == "open"
    asked = sim.stats["check"]
    second = insurance.check_key(*NHUNG)
    assert second.outcome == "unavailable" and "circuit open" in second.staff_detail
    assert sim.stats["check"] == asked          # nothing sent while open
    clock.t += 31                               # half-open: one probe, still failing
    assert insurance.check_key(*NHUNG).outcome == "unavailable"
    assert sim.stats["check"] == asked + 1 and breaker.state == "open"
    sim.clear_faults()
    clock.t += 31                               # probe succeeds: closed again
    assert insurance.check_key(*NHUNG).code == "000"
    assert breaker.state == "closed" and breaker.times_opened == 2


def test_breaker_is_shared_by_concurrent_checks(sim):
    from concurrent.futures import ThreadPoolExecutor

    insurance = adapter(sim)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: insurance.check_key(*NHUNG), range(12)))
    assert {r.code for r in results} == {"000"}
    assert insurance.client.token_requests == 1


# -- cache ---------------------------------------------------------------------------------

def test_cache_hits_and_stale_answer_when_down(sim, tmp_path):
    db = connect(tmp_path / "kiosk.sqlite3")
    cache = BhxhCache(db)
    insurance = adapter(sim, cache=cache)
    assert insurance.check_key(*NHUNG).source == "gateway"
    asked = sim.stats["check"]
    hit = insurance.check_key(NHUNG[0], "NGUYỄN THỊ HỒNG NHUNG", NHUNG[2])
    assert hit.source == "cache" and hit.code == "000" and sim.stats["check"] == asked
    # The table holds no readable identifier, and no visit history.
    row = db.execute("SELECT key_hash, response_json FROM bhxh_cache").fetchone()
    assert NHUNG[0] not in row[0] and "dsLichSu" not in row[1]
    # A different person asking with the same card is not served from the cache.
    assert insurance.check_key(NHUNG[0], "Trần Thị Hồng Nhung", NHUNG[2]).source == "gateway"
    # Past the fresh window but gateway down: the recent answer beats "not checked".
    cache.fresh_s = 0
    sim.inject("http500")
    stale = insurance.check_key(*NHUNG)
    assert stale.source == "cache" and stale.code == "000" and "from cache" in stale.staff_detail
    assert cache.purge(older_than_s=0.0) >= 1
    insurance.client.breaker.reset()
    assert insurance.check_key(*NHUNG).source == "unavailable"


def test_unavailable_answers_are_not_cached(sim, tmp_path):
    db = connect(tmp_path / "kiosk.sqlite3")
    sim.inject("http500")
    adapter(sim, cache=BhxhCache(db)).check_key(*NHUNG)
    assert db.execute("SELECT count(*) FROM bhxh_cache").fetchone()[0] == 0


# -- the journey's port --------------------------------------------------------------------

def test_port_uses_cccd_when_no_card_and_never_raises(sim):
    identity = Identity(full_name=NHUNG[1], date_of_birth=NHUNG[2], sex="Nữ", source="chip",
                        id_number=NHUNG[0])
    insurance = adapter(sim)
    assert insurance.check(identity).code == "000"
    assert insurance.check(Identity("X", None, None, "manual")).outcome == "unavailable"
    insurance.client.base_url = "http://127.0.0.1:1"   # nothing listens there
    down = insurance.check(identity)
    assert down.outcome == "unavailable" and down.card_number == NHUNG[0]


# -- deferred re-check ---------------------------------------------------------------------

def _pending(db, reg_id, card, id_number, name, dob):
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute(
        "INSERT INTO registrations (id, idempotency_key, created_at, kiosk_id, service_code, "
        "department, queue_day, queue_seq, queue_number, identity_source, verification, "
        "patient_key, id_number, full_name, date_of_birth, bhyt_card, insurance_outcome, "
        "recheck_state) VALUES (?, ?, ?, 'k', 'KB-NOI', 'NOI', '2025-01-01', ?, 'A-001', "
        "'chip', 'chip_verified', ?, ?, ?, ?, ?, 'unavailable', 'pending')",
        [reg_id, reg_id, now, int(reg_id[-1]), reg_id, id_number, name, dob, card])


def test_recheck_after_recovery(sim, tmp_path):
    config = demo_config(tmp_path)
    db = connect(config.database_path)
    _pending(db, "reg-1", None, "001185012345", "Nguyễn Thị Hồng Nhung", "1985-03-14")
    _pending(db, "reg-2", "GD4380680100100", "038068010010", "Trịnh Văn Hùng", "1968-07-07")
    _pending(db, "reg-3", None, "066050000950", "Y Bhiăo Ksor", "1950")
    client = make_client(sim)
    sim.inject("http500")
    assert recheck_pending(db, config, client) == 0
    states = {r[0] for r in db.execute("SELECT recheck_state FROM registrations")}
    assert states == {"pending"}
    sim.clear_faults()
    client.breaker.reset()
    recorded = []
    assert recheck_pending(db, config, client,
                           on_recorded=lambda i, r: recorded.append((i, r.code))) == 3
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT id, insurance_outcome, insurance_code, insurance_json, recheck_state "
        "FROM registrations")}
    assert rows["reg-1"][:2] == ("usable", "000") and rows["reg-2"][:2] == ("not_usable", "010")
    assert rows["reg-3"][1] == "000"
    assert all(r[3] == "done" for r in rows.values())
    assert json.loads(rows["reg-2"][2])["card"]["valid_to"] == "2024-12-31"
    assert sorted(recorded) == [("reg-1", "000"), ("reg-2", "010"), ("reg-3", "000")]
    assert recheck_pending(db, config, client) == 0
    events = [r[0] for r in db.execute("SELECT event FROM audit")]
    assert "bhyt.recheck_failed" in events and events.count("bhyt.rechecked") == 3
    details = " ".join(r[0] for r in db.execute("SELECT detail FROM audit"))
    assert "001185012345" not in details and "Nhung" not in details


def test_recheck_without_client_for_embedded_simulator_is_a_no_op(tmp_path):
    config = demo_config(tmp_path)
    db = connect(config.database_path)
    _pending(db, "reg-1", None, "001185012345", "Nguyễn Thị Hồng Nhung", "1985-03-14")
    assert recheck_pending(db, config) == 0


# -- TLS -----------------------------------------------------------------------------------

def _self_signed(tmp_path):
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_is_verified(tmp_path):
    with BhxhGatewaySimulator(ssl_context=_self_signed(tmp_path)) as tls_sim:
        assert tls_sim.base_url.startswith("https://")
        refused = adapter(tls_sim).check_key(*NHUNG)
        assert refused.outcome == "misconfigured" and "TLS verification" in refused.staff_detail
        assert tls_sim.stats["token"] == 0
        assert adapter(tls_sim, verify_tls=False).check_key(*NHUNG).code == "000"


def test_a_ca_installed_on_the_machine_is_trusted(tmp_path, monkeypatch):
    """The kiosk verifies against Debian's bundle (update-ca-certificates), not the venv's
    certifi copy: a hospital CA installed the Debian way is trusted, nothing else is."""
    import certifi

    with BhxhGatewaySimulator(ssl_context=_self_signed(tmp_path)) as tls_sim:
        bundle = tmp_path / "ca-certificates.crt"
        bundle.write_text(Path(certifi.where()).read_text())
        monkeypatch.setattr(system_ca, "SYSTEM_BUNDLE", bundle)
        assert adapter(tls_sim).check_key(*NHUNG).outcome == "misconfigured"
        bundle.write_text(bundle.read_text() + (tmp_path / "cert.pem").read_text())
        assert adapter(tls_sim).check_key(*NHUNG).code == "000"
        monkeypatch.setattr(system_ca, "SYSTEM_BUNDLE", tmp_path / "absent.crt")
        assert adapter(tls_sim).check_key(*NHUNG).outcome == "misconfigured"  # certifi's
