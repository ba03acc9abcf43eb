"""Issue 24 item 4: `kiosk card read` checks the key it is given before touching a card
(exit 2, naming the field), in process through the console script's entry."""

from __future__ import annotations

import io

import pytest

from kiosk.cli import main

# The synthetic CCCD MRZ of DOMAIN.md §3, with its date-of-birth check digit broken.
MRZ = ("IDVNM0901234562001090123456<<<\n9001012M3001019VNM<<<<<<<<<<<3\n"
       "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<")


@pytest.mark.parametrize(("args", "stdin", "named"), [
    (["--mrz", "-"], MRZ, "check digit wrong for: date of birth"),
    (["--bac", "-"], "090123456 900231 300101", "date of birth"),
    (["--bac", "-"], "090123456 900101 30011", "date of expiry"),
    (["--can", "12345"], "", "CAN must be 6 digits"),
])
def test_a_bad_key_is_refused_naming_the_field(args: list[str], stdin: str, named: str,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The MRZ and BAC facts come on stdin, never the command line (decision 0104).
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["card", "read", *args, "--reader", "no such reader", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and named in err and len(err.strip().splitlines()) == 1, err
