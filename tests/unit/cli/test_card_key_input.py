"""Issue 24 item 4: `kiosk card read` checks the key it is given before touching a card
(exit 2, naming the field), in process through the console script's entry."""

from __future__ import annotations

import pytest

from kiosk.cli import main

# The synthetic CCCD MRZ of DOMAIN.md §3, with its date-of-birth check digit broken.
MRZ = ("IDVNM0901234562001090123456<<<\n9001012M3001019VNM<<<<<<<<<<<3\n"
       "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<")


@pytest.mark.parametrize(("args", "named"), [
    (["--mrz", MRZ], "check digit wrong for: date of birth"),
    (["--doc-number", "090123456", "--dob", "900231", "--expiry", "300101"], "date of birth"),
    (["--doc-number", "090123456", "--dob", "900101", "--expiry", "30011"], "date of expiry"),
    (["--can", "12345"], "CAN must be 6 digits"),
])
def test_a_bad_key_is_refused_naming_the_field(args: list[str], named: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["card", "read", *args, "--reader", "no such reader", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and named in err and len(err.strip().splitlines()) == 1, err
