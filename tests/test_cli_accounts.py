"""Accounts: encrypted V3 keystores, 0600, readable by standard tools; keys never printed."""

import json
import stat

from eth_account import Account

from conftest import PASSWORD


def test_create_writes_an_encrypted_v3_keystore_readable_by_standard_tools(cli, session_home):
    out = cli.json("account", "create", "vera")
    path = session_home / "keystore" / "vera.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ks = json.loads(path.read_text())
    assert ks["version"] == 3 and ks["crypto"]["kdf"] == "scrypt"
    key = Account.decrypt(ks, PASSWORD)
    assert Account.from_key(key).address == out["address"]
    assert key.hex() not in path.read_text()


def test_list_shows_names_and_addresses(cli):
    a = cli.json("account", "create", "lister1")
    listed = cli.json("account", "list")["accounts"]
    assert {"name": "lister1", "address": a["address"]} in listed


def test_import_from_a_key_file_never_prints_the_key(cli, tmp_path):
    acct = Account.create()
    key_hex = acct.key.hex()
    (tmp_path / "k.txt").write_text("0x" + key_hex + "\n")
    r = cli.run("account", "import", "imported1", "--key-file", tmp_path / "k.txt")
    assert acct.address in r.stdout
    assert key_hex not in r.stdout + r.stderr


def test_the_same_name_twice_is_refused(cli):
    cli.run("account", "create", "twice")
    r = cli.run("account", "create", "twice", code=1)
    assert "already exists" in r.stderr


def test_a_bad_name_is_refused_and_writes_nothing(cli, session_home):
    before = set((session_home / "keystore").glob("*")) if (session_home / "keystore").exists() else set()
    r = cli.run("account", "create", "../escape", code=1)
    assert "bad account name" in r.stderr
    assert set((session_home / "keystore").glob("*")) == before


def test_a_malformed_key_is_refused(cli, tmp_path):
    (tmp_path / "k.txt").write_text("not a key")
    r = cli.run("account", "import", "badkey", "--key-file", tmp_path / "k.txt", code=1)
    assert "64 hex digits" in r.stderr


def test_password_file_is_honoured(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("CONSENTRY_PASSWORD")
    (tmp_path / "pw").write_text("file-password\n")
    out = cli.json("account", "create", "pwfile", "--password-file", tmp_path / "pw")
    from consentry import keys

    acct = keys.unlock(keys.find("pwfile"), "file-password")
    assert acct.address == out["address"]


def test_no_password_and_no_terminal_is_a_clear_error(cli, monkeypatch):
    monkeypatch.delenv("CONSENTRY_PASSWORD")
    r = cli.run("account", "create", "nopass", code=1)
    assert "CONSENTRY_PASSWORD" in r.stderr


def test_foundry_reads_the_keystore(cli, session_home):
    """cast (Foundry) opens the same file with the same password."""
    import subprocess

    from consentry import config

    out = cli.json("account", "create", "castable")
    r = subprocess.run(
        [
            config.tool("cast"),
            "wallet",
            "address",
            "--keystore",
            str(session_home / "keystore" / "castable.json"),
            "--password",
            PASSWORD,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.stdout.strip().lower() == out["address"].lower()


def test_a_key_between_the_group_order_and_the_field_prime_is_refused(cli, tmp_path):
    """Such a key passed a check against the field prime, then failed later as an internal error."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    for i, key in enumerate((n, n + 1, 2**256 - 2**32 - 978)):
        (tmp_path / "k.txt").write_text(f"{key:064x}")
        r = cli.run("account", "import", f"over{i}", "--key-file", tmp_path / "k.txt", code=1)
        assert "out of range" in r.stderr and "internal error" not in r.stderr
    (tmp_path / "k.txt").write_text(f"{n - 1:064x}")
    cli.run("account", "import", "justunder", "--key-file", tmp_path / "k.txt")


def test_light_kdf_only_when_asked_for(monkeypatch):
    from consentry import keys

    for value, light in (("1", True), ("true", True), ("YES", True), ("0", False), ("false", False), ("", False), ("no", False)):
        monkeypatch.setenv("CONSENTRY_LIGHT_KDF", value)
        assert keys.light_kdf() is light, value


def test_addresses_are_shown_beside_the_names_the_user_has_for_them(cli, local_node):
    """`license 1 granted to 0x49f0… (maison)`: keystore names (and trust-list names) beside addresses."""
    import re

    from conftest import _names

    model, brand = f"nmodel{next(_names)}", f"nbrand{next(_names)}"
    cli.run("account", "create", model, "--fund")
    brand_addr = cli.json("account", "create", brand, "--fund")["address"]
    from PIL import Image

    import tempfile
    from pathlib import Path

    capture = Path(tempfile.mkdtemp()) / "c.jpg"
    Image.new("RGB", (64, 64), (120, 30, 200)).save(capture)
    twin = cli.json("twin", "register", capture, "--as", model)["twin_id"]
    out = cli.run(
        "license", "grant", twin, "--to", brand, "--channels", "social", "--territories", "FR", "--for", "1d", "--as", model
    ).stdout
    assert f"granted to {brand_addr} ({brand})" in out
    lic = int(re.search(r"license (\d+) granted", out).group(1))
    shown = cli.run("license", "show", lic).stdout
    assert f"licensee      {brand_addr} ({brand})" in shown and f"({model})" in shown
