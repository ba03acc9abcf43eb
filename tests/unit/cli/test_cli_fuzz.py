"""Every `kiosk` subcommand, driven with hostile arguments and files (hypothesis): each
run ends with a documented exit code (README "Exit codes", never 70 = internal error)
and no traceback. Runs in-process through `kiosk.cli.main`, the console script's entry,
with stdout a strict UTF-8 stream like a real one (a lone surrogate fails to print)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import struct
import threading
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.cli import build_parser, main
from kiosk.config.loader import demo_config_text

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7, 8}  # 70 (a bug), 130, 141 cannot happen here

# Commands that serve until stopped or open the UI: covered by their own tests.
EXCLUDED = {
    ("bhyt", "simulator"): "serves until stopped",
    ("card", "simulate"): "serves until stopped",
    ("run",): "the touchscreen UI",
    ("demo",): "the whole demo (tests/e2e/test_cli_contracts.py)",
}
# Options whose value is a file or directory: they get hostile files, never system paths.
FILE_OPTIONS = {"--config", "--patient", "--identity", "--dataset", "--file", "--key", "--out",
                "--source", "--tar", "--bundle", "--config-file", "--database", "--photo-out",
                "--trust-store", "--pki", "--root", "images", "--photo", "--image"}


def commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, (*path, name))
                return
        found[path] = parser

    walk(build_parser(), ())
    return found


COMMANDS = commands()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header announcing a huge image with next to no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def hostile_files(root: Path) -> list[str]:
    demo = demo_config_text()
    contents: dict[str, bytes] = {
        "empty": b"",
        "binary": b"\xff\xfe\x00\x01garbage\x80",
        "bad.toml": b"[bhxh\nurl = ",
        "typo.toml": demo.replace("budget_s", "budegt_s").encode(),
        "hours.toml": demo.replace('icon = "child"', 'icon = "child"\nhours = "07:00-24:59"')
        .encode(),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "deep-object.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "huge-int.json": b'{"full_name": "A", "date_of_birth": ' + b"9" * 5000 + b"}",
        "surrogate.json": b'{"full_name": "Tr\\ud800n", "sex": "Nam"}',
        "list.json": b"[1, 2, 3]",
        "wrong-types.json": b'{"full_name": 5, "sex": ["Nam"], "insurance": "x"}',
        "digits.json": '{"full_name": "A", "id_number": "00118501234٥", '
                       '"date_of_birth": "199²"}'.encode(),
        "huge.png": png_claiming(60_000, 60_000),
        "truncated.png": png_claiming(100, 100)[:40],
        "key.pem": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }
    paths = []
    for name, data in contents.items():
        path = root / name
        path.write_bytes(data)
        paths.append(str(path))
    (root / "dir").mkdir(exist_ok=True)
    paths += [str(root / "dir"), str(root / "missing" / "nothing.json"), str(root / "new-out")]
    return paths


TEXTS = st.one_of(
    st.sampled_from([
        "", " ", "-", "--", "²", "01234567²9", "٣٣", "９", "9" * 5000, "1e309", "nan", "-1",
        "0", "65536", "http://127.0.0.1:1", "ftp://x", "../../x", "KB-NOI", "HS4010120878811",
        "001185012345", "00116²000001|012345678|A|14031985|Nữ|HN|02072021|", "14/03/1985",
        "31/02/1985", "850314", "2026-13-45", "json", "csv", "hsi", "disk", "pending",
        "Nguyễn Thị Hồng Nhung", "\udcff", "a\udcc3b", "{}", "[[[[", "$" * 200,
    ]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=30),
)


def argument_lists(path: tuple[str, ...], parser: argparse.ArgumentParser,
                   files: list[str]) -> st.SearchStrategy[list[str]]:
    """The command, then each of its arguments present or not, with hostile values."""
    parts: list[st.SearchStrategy[list[str]]] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        values = st.sampled_from(files) if name in FILE_OPTIONS else TEXTS
        if not action.option_strings:  # positional: usually present
            parts.append(st.one_of(values.map(lambda v: [v]), st.just([])))
        elif action.nargs == 0:
            parts.append(st.sampled_from([[], [name]]))
        else:
            parts.append(st.one_of(st.just([]), values.map(lambda v, n=name: [n, v])))
    return st.tuples(*parts).map(lambda chunks: [*path, *(a for c in chunks for a in c)])


def forced(path: tuple[str, ...], root: Path) -> list[str]:
    """What keeps a run short and inside the temporary directory."""
    return {
        ("sync",): ["--once"],
        ("update",): ["--once", "--root", str(root / "update-root")],
        ("camera", "test"): ["--seconds", "0.2"],
        ("face", "check"): ["--seconds", "0.2"],
        ("provision",): ["--root", str(root / "provision-root")],
        # Without it, `decommission --yes` wiped the machine's own provisioned kiosk.
        ("decommission",): ["--root", str(root / "decommission-root")],
    }.get(path, [])


class LoggedTracebacks(logging.Handler):
    """Tracebacks that would reach stderr through logging (`log.exception`) or a dying
    thread, which an in-process redirect of sys.stderr does not see."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(f"Traceback (logged by {record.name}): {record.getMessage()}")

    def thread_died(self, hook: threading.ExceptHookArgs) -> None:
        self.seen.append(f"Traceback (thread {hook.thread}): {hook.exc_type.__name__}")


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    logged = LoggedTracebacks()
    logging.getLogger().addHandler(logged)
    previous_hook, threading.excepthook = threading.excepthook, logged.thread_died
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors (exit 2) and --help (0)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None
                                                                   else 2)
            for stream in (out, err):
                with contextlib.suppress(ValueError, OSError):
                    stream.flush()
    finally:
        logging.getLogger().removeHandler(logged)
        threading.excepthook = previous_hook
    texts = []
    for stream in (out, err):
        buffer = stream.buffer
        assert isinstance(buffer, io.BytesIO)
        texts.append(buffer.getvalue().decode("utf-8", "replace"))
    return code, texts[0], texts[1] + "\n".join(logged.seen)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_CONFIG", "")
    monkeypatch.setenv("KIOSK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KIOSK_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    # `kiosk metrics` without --out writes node_exporter's system file: not from a test
    import kiosk.ops.telemetry

    monkeypatch.setattr(kiosk.ops.telemetry, "DEFAULT_TEXTFILE", tmp_path / "metrics.prom")
    return tmp_path


def test_every_command_is_fuzzed_or_excluded_for_a_reason():
    assert len(COMMANDS) >= 20
    assert set(EXCLUDED) <= set(COMMANDS)


def test_every_command_acting_on_a_root_is_given_a_scratch_one(tmp_path):
    """A command whose --root defaults to the machine's own never runs on it from here
    (a machine with the package installed and provisioned runs this suite too)."""
    for path, parser in COMMANDS.items():
        if any("--root" in a.option_strings for a in parser._actions) and path not in EXCLUDED:
            assert "--root" in forced(path, tmp_path), path


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - set(EXCLUDED)), ids=" ".join)
def test_hostile_arguments_end_in_a_documented_code(path, sandbox):
    files = hostile_files(sandbox)
    parser = COMMANDS[path]
    extra = forced(path, sandbox)

    @settings(max_examples=int(os.environ.get("KIOSK_CLI_FUZZ_EXAMPLES", "12")), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(argv=argument_lists(path, parser, files), as_json=st.booleans())
    def run(argv: list[str], as_json: bool) -> None:
        args = [*argv, *extra]
        if as_json and any(a.option_strings == ["--json"] for a in parser._actions):
            args.append("--json")
        code, out, err = run_in_process(args)
        assert "Traceback" not in err and "Traceback" not in out, (args, err[-2000:])
        assert code in DOCUMENTED, (args, code, err[-2000:])
        if code != 0 and "--json" in args and err.strip().startswith("{"):
            error = json.loads(err.strip().splitlines()[-1])["error"]
            assert error["exit_code"] == code and error["kind"] and error["message"]

    run()


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - set(EXCLUDED)), ids=" ".join)
def test_every_hostile_file_in_every_file_argument(path, sandbox):
    """Hypothesis samples; this runs each hostile file through each file argument once,
    so a bad TOML or an image claiming 3.6 gigapixels is never left to chance."""
    files = hostile_files(sandbox)
    parser = COMMANDS[path]
    extra = forced(path, sandbox)
    names = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
             if not isinstance(a, argparse._HelpAction)]
    required = {a.option_strings[0]: files[0] for a in parser._actions
                if a.required and a.option_strings}
    for name in (n for n in names if n in FILE_OPTIONS):
        for file in files:
            given_args = {**required, name: file}
            args = [*path]
            for option, value in given_args.items():
                args += [value] if option == "images" else [option, value]
            code, _out, err = run_in_process([*args, *extra])
            assert "Traceback" not in err, (args, err[-2000:])
            assert code in DOCUMENTED, (args, code, err[-2000:])


class ClosedPipe(io.TextIOWrapper):
    """stdout after `| head -c1` went away: every write and flush fails with EPIPE."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


PATIENT = ('{"full_name": "Trần Văn Bình", "id_number": "079099000001", '
           '"date_of_birth": "1990-05-01", "sex": "Nam"}')
BHYT_PATIENT = '{"card": "001185012345", "name": "Nguyễn Thị Hồng Nhung", "dob": "14/03/1985"}'


@pytest.mark.parametrize("argv", [
    ["bhyt", "parse", "BHYT_CARD", "--json"],
    ["bhyt", "check", "--patient", "BHYT_PATIENT", "--json"],
    ["qr", "parse", "QR", "--json"],
    ["config", "check", "--json"], ["config", "demo"], ["doctor", "--only", "disk", "--json"],
    ["services", "list", "--json"], ["outbox", "list", "--json"], ["sync", "--once", "--json"],
    ["register", "--patient", "PATIENT", "--service", "KB-NOI", "--json"],
    ["metrics", "--stdout"], ["card", "readers", "--json"],
], ids=lambda argv: " ".join(argv[:2]))
def test_output_into_a_closed_pipe_exits_141_quietly(argv, sandbox):
    (sandbox / "patient.json").write_text(PATIENT, encoding="utf-8")
    (sandbox / "bhyt.json").write_text(BHYT_PATIENT, encoding="utf-8")
    (sandbox / "card.txt").write_text("HS4010120878811", encoding="utf-8")
    (sandbox / "qr.txt").write_text("001185012345|012345678|Nguyễn Thị Hồng Nhung|14031985|Nữ|"
                                    "Hà Nội|02072021|", encoding="utf-8")
    files = {"PATIENT": "patient.json", "BHYT_PATIENT": "bhyt.json", "BHYT_CARD": "card.txt",
             "QR": "qr.txt"}
    argv = [str(sandbox / files[a]) if a in files else a for a in argv]
    err = io.StringIO()
    with contextlib.redirect_stdout(ClosedPipe()), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in (141, 4), err.getvalue()  # 4: `card readers` without pcscd prints nothing
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize("seconds", ["nan", "inf", "1e309", "-1", "0", "601"])
def test_camera_test_duration_is_bounded(seconds, sandbox):
    """The fuzz above pins --seconds to stay short; the bounds get their own check."""
    code, _out, err = run_in_process(["camera", "test", "--seconds", seconds, "--json"])
    assert code == 2 and "--seconds" in err and "Traceback" not in err
