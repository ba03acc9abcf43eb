"""`kiosk decommission`'s plan names what only servers and the other kiosks can revoke."""

from pathlib import Path

from kiosk.ops.decommission import plan


def test_a_lobby_kiosk_names_its_login_and_the_shared_holding_key(tmp_path: Path) -> None:
    etc = tmp_path / "etc/kiosk"
    etc.mkdir(parents=True)
    (etc / "kiosk.toml").write_text(
        '[kiosk]\nid = "k1"\n[lobby]\nurl = "postgresql://kiosk_k1@lobby.bv.local:5432/lobby"\n')
    revoke = plan(tmp_path).revoke
    assert any(r.startswith("lobby: DROP ROLE kiosk_k1") for r in revoke), revoke
    # the key every kiosk of the lobby shares (decision 0143) left with this disk
    assert any("holding_key on every other kiosk" in r for r in revoke), revoke
