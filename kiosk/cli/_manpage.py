"""kiosk(1), written from the argparse definitions (`make deb` puts it in the package),
so the manual page lists exactly the commands and options the program accepts."""

from __future__ import annotations

import argparse
import re
import sys

FILES = (
    ("/etc/kiosk/kiosk.toml", "the configuration (0640 root:kiosk)"),
    ("/etc/kiosk/secrets.toml", "passwords and tokens (0640 root:kiosk)"),
    ("/var/lib/kiosk", "the patient database and tickets (the kiosk user's)"),
    ("/opt/kiosk/current/share/doc/deployment.md", "the technician's guide"),
)


def _roff(text: str) -> str:
    """Escape text for roff: backslashes, hyphens of options, leading dots, and every
    non-ASCII character (Vietnamese, dashes) as a \\[uXXXX] glyph."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(ch if ord(ch) < 128 else f"\\[u{ord(ch):04X}]" for ch in text)
    return re.sub(r"(?m)^([.'])", r"\\&\1", text)


def _subcommands(parser: argparse.ArgumentParser,
                 ) -> list[tuple[str, str, argparse.ArgumentParser]]:
    # argparse keeps the sub-parsers and their one-line help only in private fields.
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            out += [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return out


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        metavar = action.metavar if isinstance(action.metavar, str) else None
        names = ", ".join(action.option_strings) or metavar or action.dest
        if action.option_strings and action.nargs != 0:
            names += f" {metavar or action.dest.upper()}"
        lines += [".TP", f"\\fB{_roff(str(names))}\\fR", _roff(action.help or "")]
    return lines


def _section(prefix: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for name, help_text, sub in _subcommands(parser):
        command = f"{prefix} {name}"
        lines += [f'.SS "{_roff(command)}"', _roff(help_text or sub.description or ""),
                  *_options(sub)]
        lines += _section(command, sub)
    return lines


def render(parser: argparse.ArgumentParser, version: str) -> str:
    lines = [
        f'.TH KIOSK 1 "" "kiosk {_roff(version)}" "User Commands"',
        ".SH NAME", f"kiosk \\- {_roff(parser.description or '')}",
        ".SH SYNOPSIS", ".B kiosk", "[\\fB\\-\\-config\\fR \\fIFILE\\fR] \\fICOMMAND\\fR ...",
        ".SH OPTIONS", *_options(parser),
        ".SH COMMANDS", *_section("kiosk", parser),
        ".SH EXIT STATUS", _roff(parser.epilog or ""),
        ".SH FILES",
    ]
    for path, what in FILES:
        lines += [".TP", f"\\fI{_roff(path)}\\fR", _roff(what)]
    return "\n".join(lines) + "\n"


def main() -> None:
    from kiosk import __version__
    from kiosk.cli import build_parser

    sys.stdout.write(render(build_parser(), __version__))


if __name__ == "__main__":
    main()
