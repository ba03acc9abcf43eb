"""README: no command takes a patient's data as an argument (command lines show in
`ps` and shell history). Every option and positional of every subcommand is walked:
one whose name says it carries a patient's data (QR or MRZ text, a card or ID
number, a name, a birth date…) must take a FILE (or - for standard input) instead."""

import argparse
import re
from pathlib import Path

from kiosk.cli import build_parser

PATIENT_WORDS = re.compile(r"payload|\bcard number|\bmrz|\bqr\b|doc.number|\bdob\b|birth|"
                           r"\bname\b|id.number|patient|cccd|address|phone|\bbac\b", re.I)

# Matched by the words above, but about the machine, not a patient.
NOT_PATIENT = {("card", "read", "--reader"),  # a reader's name
               ("provision", "--kiosk-id"),  # the kiosk's name in the fleet
               ("card", "simulate", "--quirks"),  # chip behaviours (mentions BAC)
               ("release", "build", "--arch")}  # dpkg's name of an architecture


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, action


def takes_a_file(action: argparse.Action) -> bool:
    return action.nargs == 0 or action.metavar == "FILE" or action.type is Path


def test_no_option_or_positional_takes_patient_data():
    offending = []
    seen = 0
    for path, action in walk(build_parser()):
        said = " ".join([action.dest, *action.option_strings, str(action.help or "")])
        if action.dest.endswith("_command") or not PATIENT_WORDS.search(said.replace("_", " ")) \
                or (*path, *action.option_strings[-1:]) in NOT_PATIENT:
            continue
        seen += 1
        if not takes_a_file(action):
            offending.append(f"kiosk {' '.join(path)} {action.option_strings or action.dest}")
    assert offending == []
    assert seen >= 8  # qr parse, bhyt parse, card read --mrz/--qr/--bac, … were walked


def test_the_walk_would_catch_a_payload_argument():
    parser = argparse.ArgumentParser()
    parser.add_subparsers().add_parser("parse").add_argument("payload")
    assert any(not takes_a_file(a) for _, a in walk(parser) if a.dest == "payload")
