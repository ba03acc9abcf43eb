"""Composition root: builds the journey's ports from the configuration.

This is the one place that decides which adapter serves each port (real
client, or a simulator for the demo and tests). Adding a HIS vendor or a
reader type means a new adapter module and one branch here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from kiosk.config import Config
from kiosk.journey.runner import Ports
from kiosk.lobby.client import LobbyClient
from kiosk.services.appointments import AppointmentDesk, lookup_config
from kiosk.services.bhxh import BhxhCache, BhxhClient, BhxhInsurance, CircuitBreaker
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator
from kiosk.services.card_reader import (
    NfcReader,
    PcscReader,
    ReaderChoice,
    load_trust_store,
)
from kiosk.services.chip_identity import ChipIdentityReader
from kiosk.services.health_book_handout import (
    HandoutService,
    ImagePrinter,
    ticket_image_printer,
)
from kiosk.services.his import build_adapter
from kiosk.services.printing import build_printer
from kiosk.services.registration import RegistrationService
from kiosk.services.simulators import (
    DemoPatient,
    VirtualCardReader,
    load_demo_patients,
)
from kiosk.services.statistics import SqliteStatistics
from kiosk.store import connect
from kiosk.store.retention import printed_files_dirs


@dataclass
class Assembly:
    """Everything a kiosk process runs with; `close()` stops what was started."""

    config: Config
    db: sqlite_utils.Database
    ports: Ports
    reader: ReaderChoice
    patients: list[DemoPatient] = field(default_factory=list)
    handles: dict[str, Any] = field(default_factory=dict)  # simulators the demo drives

    def close(self) -> None:
        for handle in self.handles.values():
            stop = getattr(handle, "stop", None)
            if callable(stop):
                stop()
        self.db.conn.close()


def _handout(config: Config, printer: Callable[[], ImagePrinter | None]) -> HandoutService:
    """The health-book slip goes to the ticket printer when it prints images
    (looked up at print time), else next to the file printer's tickets."""
    from kiosk.journey.health_book_content import load

    return HandoutService(
        load(), url=config.facility.health_book_url, facility_name=config.facility.name,
        directory=printed_files_dirs(config)[0], printer=printer,
        lang=config.ui.language, keep_hours=config.retention.personal_data_hours,
        unsynced_days=config.retention.unsynced_days,
    )


def build(config: Config) -> Assembly:
    db = connect(config.database_path)

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    handles: dict[str, Any] = {}
    choice = ReaderChoice.parse(config.devices.reader)
    patients = load_demo_patients() if choice.kind == "virtual" else []
    chip = _chip_reader(config, choice, patients, handles)
    insurance = _insurance(config, db, now, handles)
    printer = build_printer(config, db)
    lobby = LobbyClient.from_config(config)  # None without [lobby]: local numbering
    if lobby is not None:
        lobby.warm()  # in the background: the first patient should not pay the connect
        handles["lobby"] = lobby
    handout = _handout(config, lambda: ticket_image_printer(ports.printer))
    registrations = RegistrationService(db, config, now=now, lobby=lobby)
    appointments = None
    if config.appointments.enabled:
        appointments = AppointmentDesk(config, registrations,
                                       lambda: build_adapter(lookup_config(config)), now=now)
        appointments.warm()  # in the background, like the lobby's connection
        handles["appointments"] = appointments
    ports = Ports(
        identity=chip,
        insurance=insurance,
        registration=registrations,
        appointments=appointments,
        printer=printer,
        statistics=SqliteStatistics(db, config.kiosk_id, config.facility.timezone),
        handout=handout,
    )
    handles.update({"insurance": insurance, "printer": printer})
    return Assembly(config, db, ports, choice, patients, handles=handles)


def _chip_reader(config: Config, choice: ReaderChoice, patients: list[DemoPatient],
                 handles: dict[str, Any]) -> ChipIdentityReader:
    """The identity port on the configured reader; `handles["reader"]` is the object
    the UI's card-presence source watches (the virtual reader for the demo)."""
    if choice.kind == "virtual":
        virtual = VirtualCardReader(patients)
        handles["reader"] = virtual
        return ChipIdentityReader(virtual.open_transport, virtual.trust_store)
    reader = NfcReader(choice) if choice.kind == "nfc" else PcscReader(choice)
    handles["reader"] = reader
    return ChipIdentityReader(reader.open_transport,
                              load_trust_store(config.devices.trust_store),
                              config.devices.chip_policy)


def _insurance(config: Config, db: sqlite_utils.Database, now: Callable[[], dt.datetime],
               handles: dict[str, Any]) -> BhxhInsurance:
    """The real BHXH client; for bhxh.url == "simulator" pointed at the embedded gateway
    simulator on 127.0.0.1 (stopped by `Assembly.close()`)."""
    base_url = None
    breaker = CircuitBreaker()
    if config.bhxh.url == "simulator":
        simulator = BhxhGatewaySimulator()
        base_url = simulator.start()
        handles["bhxh_simulator"] = simulator
        # Scripted patients follow each other within milliseconds: probe again at once so
        # one scripted outage does not spill onto the next patient.
        breaker = CircuitBreaker(reset_after_s=0.0)
    client = BhxhClient.from_config(config.bhxh, base_url, breaker=breaker)
    handles["bhxh_client"] = client
    return BhxhInsurance(client, facility_code=config.facility.code, cache=BhxhCache(db),
                         budget_s=config.bhxh.budget_s, now=now)
