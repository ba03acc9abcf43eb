"""Run in a subprocess by test_double_taps.py: one patient through the real touchscreen
(demo wiring, simulated latencies) where every tap is a double or triple tap, 100 to
600 ms apart, aimed where the next screen has a button. Writes the player's report
and the probes (what the journey held after each multi-tap) to OUT."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.config import demo_config
from kiosk.demo.ui_demo import run_ui_demo
from kiosk.journey.state import Step

PROBES: dict[str, dict[str, Any]] = {}


def probe(name: str) -> Any:
    def record(app: Any) -> bool:
        s = app.session
        guide = s.health_book
        screen = app.screens[s.step]
        PROBES[name] = {
            "step": s.step.value,
            "guide": guide.node.value if guide else None,
            "page": screen.view_key()[1] if s.step is Step.HEALTH_BOOK else None,
            "handout": guide.handout if guide else None,
            "staff": app.staff_layer.parent is not None,
            "pin": app.pin_layer.parent is not None,
            "pin_typed": app.pin_layer.typed,
            "pin_message": app.pin_layer.message.text,
            "staff_outbox": app.staff_layer.outbox.text,
            "pin_failures": app.gate.attempts.streak,
            "display": app.screens[Step.NEED_KEY].display.text,
            "hint": app.screens[Step.NEED_KEY].hint.text,
            "notice": s.notice.kind if s.notice else None,
        }
        return True
    return record


def script(patients: list[Any], reader: Any, scanner: Any, printer: Any, chip: Any,
           slow: Any, config: Any) -> list[Any]:
    from kiosk.ui.scenario import Do, Patient, Skip, Sleep, Tap, Wait

    p = {x.key: x for x in patients}

    def card() -> None:
        chip.place("chip_insured")
        reader.place_card()

    def lift() -> None:
        chip.remove()
        reader.remove_card()

    def settle(name: str) -> list[Any]:
        """Let every second tap land, then record where the patient is."""
        return [Sleep(1.8), Wait(until=probe(name))]

    pin = config.ui.staff_pin

    def corner() -> list[Any]:
        return [*[Tap("staff") for _ in range(5)],
                Wait(until=lambda app: app.pin_layer.parent is not None)]

    return [
        Patient("double", "Mọi lần chạm đều là chạm hai, ba lần"),
        Wait(Step.IDLE),
        Tap("start", repeat_ms=200, taps=3), *settle("start"),
        Do(card), Do(lambda: scanner.show(p["chip_insured"].qr_payload)),
        Wait(Step.CONFIRM_IDENTITY, timeout=15),
        Tap("confirm.yes", repeat_ms=100), Wait(Step.INSURANCE_RESULT, timeout=15),
        Tap("continue", repeat_ms=300, taps=3), *settle("continue"),
        Tap("service.KB-NOI", repeat_ms=450), *settle("service"),
        Tap("back", repeat_ms=600), *settle("back"),
        Tap("service.KB-NOI"), Wait(Step.CONFIRM_SERVICE),
        Tap("register", repeat_ms=450), Wait(Step.TICKET, timeout=15),
        Wait(until=lambda app: app.session.print_result is not None, timeout=15),
        *settle("register"),
        Skip(3), Wait(until=lambda app: app.session.ticket_ready),
        Tap("continue", repeat_ms=150), *settle("ticket"),
        Tap("health.yes", repeat_ms=120), *settle("offer"),
        Tap("hb.answer.no", repeat_ms=120), *settle("guide-answer"),
        Tap("hb.answer.next", repeat_ms=250), *settle("guide-page"),
        Tap("hb.quit", repeat_ms=500), Wait(Step.DONE), *settle("quit"),
        Skip(7), Wait(Step.IDLE),
        *[Tap("staff") for _ in range(5)], Wait(until=lambda app: app.pin_layer.parent),
        *[Tap(f"keypad.{d}") for d in pin], Tap("keypad.ok", repeat_ms=200),
        *settle("pin"),
        Tap("staff.close", repeat_ms=300), *settle("staff-close"),
        # The PIN pad forgets digits when closed, says when a PIN is wrong, and it and
        # the staff screen close by themselves in a public lobby.
        *corner(), Tap("keypad.1"), Tap("keypad.2"), Tap("staff.close"), *corner(),
        Wait(until=probe("pin-reopened")),
        *[Tap(f"keypad.{d}") for d in "000000"], Tap("keypad.ok"),
        Wait(until=probe("pin-wrong")),
        Tap("keypad.3"), Skip(61), Sleep(1.0), Wait(until=probe("pin-idle")),
        *corner(), *[Tap(f"keypad.{d}") for d in pin], Tap("keypad.ok"),
        Wait(until=lambda app: app.staff_layer.parent), Skip(61), Sleep(1.0),
        Wait(until=probe("staff-idle")),
        Tap("start"), Wait(Step.NEED_KEY), *corner(), Tap("keypad.4"),
        Skip(config.ui.idle_timeout_s + 1), Wait(Step.IDLE), Sleep(0.5),
        Wait(until=probe("pin-after-reset")), *corner(), Wait(until=probe("pin-fresh")),
        # A child's digits are no PIN (not counted); a card placed closes the pad and
        # starts the patient's session: the pad never sits over a patient.
        Tap("keypad.1"), Tap("keypad.2"), Tap("keypad.ok"), Wait(until=probe("pin-short")),
        Tap("keypad.7"), Do(card), Wait(Step.NEED_KEY), Sleep(0.3),
        Wait(until=probe("pin-card")), Do(lift), Tap("cancel"), Wait(Step.IDLE),
        *corner(), Do(lambda: scanner.show(p["chip_insured"].qr_payload)),
        Wait(Step.CONFIRM_IDENTITY, timeout=15), Sleep(0.3), Wait(until=probe("pin-qr")),
        Tap("confirm.no"), Wait(Step.IDLE), *corner(),
        # Six wrong PINs in a row (five are free): the pad makes the next one wait, says so.
        *[t for _ in range(6) for t in ([Tap(f"keypad.{d}") for d in "135799"]
                                        + [Tap("keypad.ok")])],
        Wait(until=probe("pin-wait")),
        # A wrong number: "Xóa hết" clears it in one tap, "Xong" too early says how many
        # digits are missing, and digits the chip refuses leave an empty field and say so.
        Do(card), Wait(Step.NEED_KEY), Tap("keypad.1"), Tap("keypad.2"), Tap("keypad.3"),
        Tap("keypad.delete"), Wait(until=probe("key-cleared")), Tap("keypad.ok"),
        Wait(until=probe("key-short")), *[Tap("keypad.9") for _ in range(6)],
        Wait(until=lambda app: app.session.notice is not None
             and app.session.notice.kind == "wrong_key", timeout=20),
        Sleep(0.3), Wait(until=probe("key-wrong")), Do(lift), Tap("cancel"), Wait(Step.IDLE),
    ]


def main() -> int:
    out = Path(sys.argv[1])
    config = demo_config(state_dir=out / "state")
    config = replace(config, printer=replace(config.printer, target=str(out / "tickets")))
    code = run_ui_demo(config, out, sys.stdout, scripted=True, screenshots=False,
                       script=script)
    (out / "probes.json").write_text(json.dumps(PROBES, indent=1), "utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
