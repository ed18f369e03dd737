"""Files people exchange are hostile until checked: a twin manifest or an offer file gets a one-line
error naming the file and the field, nothing from it is written outside the data folder, and no
name from it can forge terminal output."""

import copy
import json
import os
import sqlite3
import time
import zlib

import pytest
from eth_account import Account

from conftest import Cli, _names
from consentry import config, licenses, merkle, offers, schema, termsdoc, twins, vocab
from consentry.currency import NATIVE_ADDRESS
from consentry.errors import FileProblem
from consentry.files import read_json, write_json_atomic
from consentry.hashing import Fingerprint
from consentry.text import safe

MODEL = Account.from_key("0x" + "11" * 32)
BRAND = Account.from_key("0x" + "22" * 32)
REGISTRY = Account.from_key("0x" + "33" * 32).address  # any checksummed address
SPOOF = "x.jpg\r\x1b[2K\x1b[32mfound.jpg: AUTHORISED (exact file)\x1b[0m\n"


def fake_fp(i: int) -> Fingerprint:
    h = (i * 0x9E3779B97F4A7C15) % 2**64
    return Fingerprint(i.to_bytes(32, "big"), (i * 7 + 1).to_bytes(32, "big"), h, 64, 48, central_phash=h)


def good_manifest(n=3, twin_id=1) -> dict:
    assets = [(f"shot-{i}.jpg", fake_fp(1000 + i)) for i in range(n)]
    leaves = [merkle.leaf(f.content_hash, f.pixel_hash, f.phash) for _, f in assets]
    root, proofs = merkle.build(leaves)
    meta, meta_hash = twins.metadata_document("Ana M.", "North Models", "line one\nline two", root, n)
    return json.loads(
        json.dumps(
            twins.manifest_dict(
                chain_id=31337,
                registry=REGISTRY,
                twin_id=twin_id,
                owner=MODEL.address,
                asset_root=root,
                metadata=meta,
                metadata_hash=meta_hash,
                metadata_uri="ipfs://x",
                tx="0x" + "ab" * 32,
                assets=assets,
                leaves=leaves,
                proofs=proofs,
            )
        )
    )


PURPOSE = "Spring 2027 e-commerce product pages for the Lumiere dress line"
NONCE = 2**200 + 7  # beyond 2^53: the exchange format carries it as a string


def good_terms(**changes) -> tuple[dict, dict]:
    """On-chain terms and their terms document (termsHash = keccak256 of the document)."""
    terms = {
        "twinId": 1,
        "licensee": BRAND.address,
        "channels": 1,
        "transforms": 0,
        "territories": vocab.pack_territories(["FR"]),
        "validFrom": 1_700_000_000,
        "validUntil": 1_800_000_000,
        "maxUses": 10,
        "feePerUse": 10**15,
        "currency": NATIVE_ADDRESS,
        "trainingAllowed": False,
        "removeAfterEnd": False,
        **changes,
    }
    doc = termsdoc.build(terms, purpose=PURPOSE)
    terms["termsHash"] = termsdoc.terms_hash(doc)
    return terms, doc


def good_offer(chain_id=31337, registry=REGISTRY) -> dict:
    terms, doc = good_terms()
    sig = offers.sign(MODEL, terms, NONCE, 1_900_000_000, chain_id, registry)
    d = offers.to_file_dict(terms, NONCE, 1_900_000_000, chain_id, registry, sig, MODEL.address, doc)
    return json.loads(json.dumps(d, ensure_ascii=False))


def mutate(d: dict, path: str, value):
    """Set (or, with value DELETE, remove) the field at a dotted path like 'assets.0.name'."""
    *parents, last = path.split(".")
    for k in parents:
        d = d[int(k)] if isinstance(d, list) else d[k]
    last = int(last) if isinstance(d, list) else last
    if value is DELETE:
        del d[last]
    else:
        d[last] = value
    return d


DELETE = object()


def one_line_problem(fn, *words) -> str:
    with pytest.raises(FileProblem) as e:
        fn()
    msg = str(e.value)
    assert "\n" not in msg and "\r" not in msg and "\x1b" not in msg, repr(msg)
    for w in words:
        assert w in msg, msg
    return msg


# ---------------------------------------------------------------- manifests, library level


@pytest.mark.parametrize(
    "path, value, field",
    [
        ("twin_id", "1/../../keystore/ana", "twin_id"),
        ("twin_id", "../../../../tmp/package", "twin_id"),
        ("twin_id", -1, "twin_id"),
        ("twin_id", 0, "twin_id"),
        ("twin_id", 1.0, "twin_id"),
        ("twin_id", 2**32, "twin_id"),
        ("twin_id", 10**80, "twin_id"),
        ("twin_id", True, "twin_id"),
        ("twin_id", None, "twin_id"),
        ("twin_id", DELETE, "twin_id is missing"),
        ("chain_id", "31337", "chain_id"),
        ("registry", "0x1234", "registry"),
        ("registry", REGISTRY.replace("0x", "0X"), "registry"),
        ("owner", ["0x" + "00" * 20], "owner"),
        ("assets", {"0": {}}, "assets must be a list"),
        ("assets", "shot.jpg", "assets must be a list"),
        ("assets", [], "assets must be a list of 1 to"),
        ("assets.1", "shot.jpg", "assets[1] must be an object"),
        ("assets.2.name", 42, "assets[2].name must be non-empty printable text of at most 200 characters"),
        ("assets.2.name", {"a": 1}, "assets[2].name"),
        ("assets.2.name", None, "assets[2].name"),
        ("assets.2.name", "", "assets[2].name"),
        ("assets.2.name", "a" * 201, "assets[2].name"),
        ("assets.2.name", SPOOF, "assets[2].name"),
        ("assets.2.name", "gpj.\u202eexe", "assets[2].name"),
        ("assets.2.name", "tab\there", "assets[2].name"),
        ("assets.2.name", "c1\x9bcontrol", "assets[2].name"),
        ("assets.0.content_hash", "0x" + "ab" * 31, "assets[0].content_hash must be 0x followed by 64 hex digits"),
        ("assets.0.content_hash", "0x" + "ab" * 33, "assets[0].content_hash"),
        ("assets.0.content_hash", "ab" * 32, "assets[0].content_hash"),
        ("assets.0.content_hash", "0x" + "zz" * 32, "assets[0].content_hash"),
        ("assets.0.content_hash", 12345, "assets[0].content_hash"),
        ("assets.0.pixel_hash", DELETE, "assets[0].pixel_hash is missing"),
        ("assets.0.phash", "abc", "assets[0].phash must be 16 hex digits"),
        ("assets.0.phash", 2**63, "assets[0].phash"),
        ("assets.0.width", 0, "assets[0].width"),
        ("assets.0.height", "48", "assets[0].height"),
        ("assets.0.leaf", "0x" + "00" * 20, "assets[0].leaf"),
        ("assets.0.proof", "0x" + "00" * 32, "assets[0].proof must be a list"),
        ("assets.0.proof", ["0x" + "00" * 32] * 33, "assets[0].proof must be a list of 0 to 32"),
        ("assets.0.proof.0", "0x00", "assets[0].proof[0]"),
        ("assets.0.signature", "0x" + "00" * 65, "assets[0].signature must be 0x followed by 64 hex digits"),
        ("metadata", "Ana", "metadata must be an object"),
        ("metadata.name", "Ana\x1b[8m", "metadata.name"),
        ("metadata_uri", "ipfs://x\n", "metadata_uri"),
        ("asset_root", "0x" + "ab" * 16, "asset_root"),
        ("schema_version", 2, "schema_version 2"),
        ("schema_version", True, "schema_version"),
    ],
)
def test_a_manifest_with_a_bad_field_is_refused_naming_file_and_field(tmp_path, path, value, field):
    m = good_manifest()
    mutate(m, path, value)
    f = tmp_path / "ana-twin.json"
    f.write_text(json.dumps(m))
    one_line_problem(lambda: twins.load_manifest(f), f"{f}: ", field)


def test_a_huge_asset_list_is_refused(tmp_path):
    m = good_manifest(1)
    m["assets"] = m["assets"] * (schema.MAX_ASSETS + 1)
    one_line_problem(lambda: schema.validate_manifest(m, "big.json"), "big.json: assets must be a list of 1 to 10000")


def test_not_a_manifest_at_all(tmp_path):
    for obj in ([], "x", 3, {"kind": "consentry-offer"}, {"kind": ["consentry-twin-manifest"]}):
        one_line_problem(lambda: schema.validate_manifest(obj, "x.json"), "x.json is not a Consentry twin manifest")


def test_a_good_manifest_is_normalised_and_keeps_only_known_fields():
    m = good_manifest()
    m["assets"][0]["signature"] = "0x" + "AB" * 32
    m["assets"][1]["extra"] = {"anything": [1, 2]}
    m["surprise"] = "x" * 1000
    m["registry"] = m["registry"].lower()
    out = schema.validate_manifest(m, "m.json")
    assert out["registry"] == REGISTRY and "surprise" not in out and "extra" not in out["assets"][1]
    assert out["assets"][0]["signature"] == "0x" + "ab" * 32
    assert out["assets"][2]["name"] == "shot-2.jpg" and out["metadata"]["notes"] == "line one\nline two"
    # the leaves still prove: nothing that matters was changed
    root = bytes.fromhex(out["asset_root"][2:])
    assert len(twins.check_manifest(out, {root})) == 3


def test_a_mistyped_checksum_address_is_refused():
    m = good_manifest()
    a = m["owner"]
    i = next(i for i, c in enumerate(a) if c.isalpha() and i > 1)
    m["owner"] = a[:i] + a[i].swapcase() + a[i + 1 :]
    one_line_problem(lambda: schema.validate_manifest(m, "m.json"), "owner has a bad EIP-55 checksum")


def test_the_file_name_in_an_error_is_shown_escaped():
    msg = one_line_problem(lambda: schema.validate_manifest({"kind": 1}, "evil\x1b[2K\r.json"), "evil")
    assert "\\x1b[2K\\x0d.json" in msg


# ---------------------------------------------------------------- the destination in the data folder


@pytest.mark.parametrize("twin_id", ["1/../../keystore/ana", -1, 0, 1.0, True, 2**32, None])
def test_manifest_path_takes_only_a_twin_id(twin_id):
    one_line_problem(lambda: twins.manifest_path(31337, REGISTRY, twin_id), "cannot name a manifest file")


@pytest.mark.parametrize(
    "chain_id, registry", [("31337", REGISTRY), (31337, "0x../../../../etc/x"), (True, REGISTRY), (31337, None)]
)
def test_manifest_path_takes_only_a_chain_id_and_an_address(chain_id, registry):
    one_line_problem(lambda: twins.manifest_path(chain_id, registry, 1), "cannot name a manifest file")


def test_manifest_path_refuses_a_link_that_leads_out_of_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "home"))
    ok = twins.manifest_path(31337, REGISTRY, 7)
    assert ok.parent == config.manifests_dir() and ok.name == f"twin-31337-{REGISTRY[2:10].lower()}-7.json"
    ok.parent.mkdir(parents=True)
    (tmp_path / "elsewhere.json").write_text("precious")
    ok.symlink_to(tmp_path / "elsewhere.json")
    one_line_problem(lambda: twins.manifest_path(31337, REGISTRY, 7), "outside the data folder")


def test_an_atomic_write_does_not_follow_a_planted_link(tmp_path):
    (tmp_path / "precious").write_text("keep")
    (tmp_path / f".out.json.{os.getpid()}.tmp").symlink_to(tmp_path / "precious")  # where its temporary file goes
    with pytest.raises(OSError):
        write_json_atomic(tmp_path / "out.json", {"a": 1})
    assert (tmp_path / "precious").read_text() == "keep"


# ---------------------------------------------------------------- offers, library level

UINT80_MAX = "1208925819614629174706175"


@pytest.mark.parametrize(
    "path, value, field",
    [
        # integers travel as decimal strings: a JSON number, a float, a sign, a leading zero or a unit is refused
        ("terms.twinId", 1, "terms.twinId must be a whole number from 0 to 4294967295 written as a string (uint32)"),
        ("terms.twinId", "0", "terms.twinId must be a whole number from 1 to 4294967295 written as a string"),
        ("terms.twinId", str(2**32), "terms.twinId"),
        ("terms.twinId", "-1", "terms.twinId"),
        ("terms.twinId", "01", "terms.twinId"),
        ("terms.twinId", " 1", "terms.twinId"),
        ("terms.twinId", "1e3", "terms.twinId"),
        ("terms.channels", "256", "terms.channels must be a whole number from 0 to 255 written as a string (uint8)"),
        ("terms.transforms", True, "terms.transforms"),
        ("terms.territories", str(2**56), "terms.territories"),
        ("terms.validFrom", "1.7e9", "terms.validFrom"),
        ("terms.validFrom", 1_700_000_000, "terms.validFrom"),
        ("terms.validUntil", str(2**40), "terms.validUntil"),
        ("terms.maxUses", "-5", "terms.maxUses"),
        ("terms.feePerUse", str(2**80), f"terms.feePerUse must be a whole number from 0 to {UINT80_MAX} written as a string"),
        ("terms.feePerUse", 10**15, "terms.feePerUse"),
        ("terms.feePerUse", "0.01ether", "terms.feePerUse"),
        ("terms.feePerUse", "\u0663", "terms.feePerUse"),  # an Arabic-Indic digit: int() would take it
        ("terms.feePerUse", "1" * 79, "terms.feePerUse"),
        ("terms.termsHash", "0x" + "07" * 31, "terms.termsHash"),
        ("terms.licensee", "brand", "terms.licensee must be an address"),
        ("terms.currency", "native", "terms.currency must be an address"),
        ("terms.currency", "USDC", "terms.currency must be an address"),
        ("terms.currency", DELETE, "terms.currency is missing"),
        ("terms.trainingAllowed", "false", "terms.trainingAllowed must be true or false"),
        ("terms.trainingAllowed", 0, "terms.trainingAllowed must be true or false"),
        ("terms.removeAfterEnd", None, "terms.removeAfterEnd must be true or false"),
        ("terms.removeAfterEnd", DELETE, "terms.removeAfterEnd is missing"),
        ("terms.maxUses", DELETE, "terms.maxUses is missing"),
        ("terms", [1, 2, 3], "terms must be an object"),
        ("nonce", "-1", "nonce"),
        ("nonce", str(2**256), "nonce must be a whole number from 0 to"),
        ("nonce", NONCE, "nonce"),  # a JSON number above 2^53: JavaScript would have rounded it
        ("deadline", "soon", "deadline"),
        ("deadline", 1_900_000_000, "deadline"),
        ("signature", "0x" + "00" * 64, "signature must be 0x followed by 130 hex digits (65 bytes)"),
        ("signature", DELETE, "signature is missing"),
        ("chain_id", 0, "chain_id"),
        ("chain_id", "31337", "chain_id"),
        ("registry", "0x" + "g" * 40, "registry"),
        ("signer", 7, "signer"),
        ("schema_version", 1, "schema_version 1 is not one this version of Consentry reads (2)"),
        # the terms document: exact fields (its hash covers them all), bounded printable text
        ("terms_document", DELETE, "terms_document is missing"),
        ("terms_document", "the terms\r\nin words", "terms_document: must be an object"),
        ("terms_document.surprise", "free", "terms_document: surprise is not a field this version of Consentry knows"),
        ("terms_document.rate.discount", "100%", "terms_document: rate.discount is not a field this version"),
        ("terms_document.rate.fee_per_use", 10**15, "terms_document: rate.fee_per_use must be a whole number from 0 to"),
        ("terms_document.rate.fee_per_use", "free", "terms_document: rate.fee_per_use"),
        ("terms_document.rate.fee_per_use", str(2**80), f"rate.fee_per_use must be a whole number from 0 to {UINT80_MAX}"),
        ("terms_document.rate.currency", "ETH", "terms_document: rate.currency must be an address"),
        ("terms_document.rate.decimals", 256, "terms_document: rate.decimals"),
        ("terms_document.rate.symbol", "", "terms_document: rate.symbol"),
        ("terms_document.purpose", SPOOF, "terms_document: purpose must be non-empty printable text of at most 2000"),
        ("terms_document.purpose", "Campaign\x1b[2K images for FR", "terms_document: purpose must be non-empty printable text"),
        ("terms_document.purpose", "Campaign\u202e images for FR", "terms_document: purpose"),
        ("terms_document.purpose", "anything", "terms_document: purpose"),  # shorter than 10
        ("terms_document.purpose", "p" * 2001, "terms_document: purpose"),
        ("terms_document.purpose", None, "terms_document: purpose"),
        ("terms_document.purpose", DELETE, "terms_document: purpose is missing"),
        ("terms_document.additional_terms", "Credit the model.\x1b]0;owned\x07", "terms_document: additional_terms must be text"),
        ("terms_document.additional_terms", 42, "terms_document: additional_terms"),
        ("terms_document.training", "yes", "terms_document: training must be one of not-allowed, allowed"),
        ("terms_document.training", True, "terms_document: training must be one of"),
        ("terms_document.after_end", "delete", "terms_document: after_end must be one of remain, remove"),
        ("terms_document.kind", "consentry-offer", "terms_document: kind must be 'consentry-terms'"),
        ("terms_document.schema_version", 2, "terms_document: schema_version must be 1"),
        ("terms_document.twin_id", "1", "terms_document: twin_id"),
        ("terms_document.licensee", "brand", "terms_document: licensee must be an address"),
        ("terms_document.scope", ["social"], "terms_document: scope must be an object"),
        ("terms_document.scope.channels", [], "terms_document: scope.channels must be a list of 1 to 8 entries"),
        ("terms_document.scope.channels", "social", "terms_document: scope.channels must be a list"),
        ("terms_document.scope.territories", ["FRA"], "terms_document: scope.territories[0]"),
        ("terms_document.scope.transforms", [SPOOF], "terms_document: scope.transforms[0]"),
        ("terms_document.scope.max_uses", -1, "terms_document: scope.max_uses"),
        ("terms_document.duration.valid_until", "1800000000", "terms_document: duration.valid_until"),
        ("terms_document.duration.valid_from", 2**40, "terms_document: duration.valid_from"),
    ],
)
def test_an_offer_with_a_bad_field_is_refused_naming_file_and_field(tmp_path, path, value, field):
    o = good_offer()
    mutate(o, path, value)
    f = tmp_path / "offer.json"
    f.write_text(json.dumps(o))
    one_line_problem(lambda: offers.load(f), f"{f}: ", field)


def test_an_unknown_field_of_the_terms_document_is_named_escaped(tmp_path):
    o = good_offer()
    o["terms_document"]["scope"][SPOOF] = 1
    f = tmp_path / "offer.json"
    f.write_text(json.dumps(o))
    one_line_problem(lambda: offers.load(f), f"{f}: terms_document: scope.x.jpg", "is not a field this version")


def test_a_good_offer_loads_and_its_signature_still_recovers(tmp_path):
    o = good_offer()
    assert o["schema_version"] == 2 and o["nonce"] == str(NONCE) and o["terms"]["feePerUse"] == str(10**15)
    assert o["terms"]["trainingAllowed"] is False and o["terms"]["currency"] == NATIVE_ADDRESS and "terms_text" not in o
    o["terms"]["licensee"] = o["terms"]["licensee"].lower()
    f = tmp_path / "offer.json"
    f.write_text(json.dumps(o))
    loaded = offers.load(f)
    terms, doc = good_terms()
    assert loaded["terms"]["licensee"] == BRAND.address and loaded["terms"]["feePerUse"] == 10**15
    assert loaded["nonce"] == NONCE and loaded["deadline"] == 1_900_000_000
    assert loaded["terms_document"] == doc and loaded["terms_document"]["purpose"] == PURPOSE
    assert offers.recover(loaded) == MODEL.address
    assert offers.terms_tuple(loaded["terms"])[-1] == terms["termsHash"] == termsdoc.terms_hash(doc)
    assert licenses.check_document(loaded) == doc


def test_an_old_offer_with_terms_text_is_refused_by_version(tmp_path):
    o = good_offer()
    o["schema_version"] = 1
    o["terms_text"] = "the terms\r\nin words"
    del o["terms_document"]
    f = tmp_path / "offer.json"
    f.write_text(json.dumps(o))
    one_line_problem(lambda: offers.load(f), "schema_version 1 is not one this version of Consentry reads (2)", "upgrade")


def test_a_terms_document_that_is_not_what_was_signed_is_refused(tmp_path):
    o = good_offer()
    o["terms_document"]["rate"]["fee_per_use"] = "0"  # "free", over the signed fee
    f = tmp_path / "offer.json"
    f.write_text(json.dumps(o))
    loaded = offers.load(f)  # well-formed, so it loads ...
    with pytest.raises(FileProblem) as e:  # ... and the hash check refuses it
        licenses.check_document(loaded)
    assert e.value.code == "offer_terms_mismatch" and "not what was signed" in str(e.value)


@pytest.mark.parametrize(
    "path, value, said",
    [
        ("scope.channels", ["social", "print"], "channels"),
        ("scope.territories", ["WW"], "territories"),
        ("scope.max_uses", 0, "max uses"),
        ("rate.fee_per_use", "0", "fee per use"),
        ("rate.currency", "0x" + "ab" * 20, "currency"),
        ("duration.valid_until", 1_900_000_000, "valid until"),
        ("training", "allowed", "training"),
        ("after_end", "remove", "after end"),
        ("licensee", MODEL.address, "licensee"),
        ("twin_id", 2, "twin id"),
    ],
)
def test_a_terms_document_that_contradicts_the_signed_terms_is_refused(path, value, said):
    """Its hash is the terms hash (a careless or hostile signer made it so), but it says other terms."""
    terms, doc = good_terms()
    mutate(doc, path, value)
    terms["termsHash"] = termsdoc.terms_hash(doc)
    with pytest.raises(FileProblem) as e:
        termsdoc.check(doc, terms, terms["termsHash"])
    assert e.value.code == "terms_inconsistent" and f"the terms document says {said} " in str(e.value)


def test_a_document_for_a_token_fee_checks_the_token():
    token = "0x" + "ab" * 20
    terms, doc = good_terms(currency=token, feePerUse=2_500_000)
    assert doc["rate"]["currency"] == token and doc["rate"]["fee_per_use"] == "2500000"
    termsdoc.check(doc, terms, terms["termsHash"])
    mutate(doc, "rate.currency", "native")
    terms["termsHash"] = termsdoc.terms_hash(doc)
    with pytest.raises(FileProblem) as e:
        termsdoc.check(doc, terms, terms["termsHash"])
    assert e.value.code == "terms_inconsistent" and "currency 'native'" in str(e.value)


# ---------------------------------------------------------------- reading JSON strictly


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"twin_id": NaN}', "NaN is not JSON"),
        ('{"a": 1, "a": 2}', "duplicate key"),
        ("[" * 100_000 + "]" * 100_000, "not a readable"),
        (b"\xff\xfe\x00garbage", "not a readable"),
    ],
)
def test_json_that_is_not_plain_json_is_refused(tmp_path, content, words):
    f = tmp_path / "x.json"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    one_line_problem(lambda: read_json(f, "twin manifest"), "x.json", words)


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path):
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"pad": "x" * 5000}))
    one_line_problem(lambda: read_json(f, "offer file", max_bytes=4096), "big.json is too large for a offer file")


# ---------------------------------------------------------------- text.safe


def test_safe_escapes_controls_ansi_and_bidi_and_leaves_the_rest():
    assert safe("Ana M. — 日本語 café.jpg") == "Ana M. — 日本語 café.jpg"
    assert safe("Screenshot 10.00.00\u202fPM.png") == "Screenshot 10.00.00\u202fPM.png"
    out = safe(SPOOF + "\u202egpj.exe\u2066\u2069\x7f\x85\u2028")
    assert not any(c in out for c in "\r\n\x1b\u202e\u2066\u2069\x7f\x85\u2028")
    assert out.startswith("x.jpg\\x0d\\x1b[2K") and "\\u202e" in out
    assert safe(42) == "42" and safe(None) == "None"


def test_safe_is_fast_on_clean_text():
    s = "a-perfectly-ordinary-file-name.jpg"
    t0 = time.perf_counter()
    for _ in range(100_000):
        safe(s)
    assert time.perf_counter() - t0 < 0.5


# ---------------------------------------------------------------- the CLI, on a real chain


def own_photo(path, seed):
    """A photograph no other test registers (the session's chain and data folder are shared)."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def registered(cli, new_account, tmp_path, local_node, monkeypatch):
    """A twin registered by a model; its manifest; and a separate data folder (with a keystore to
    protect) whose sync points at the session's chain. Yields (manifest dict, home, sync)."""
    model, _ = new_account("model")
    shots = [own_photo(tmp_path / f"shot-{i}.jpg", seed=zlib.crc32(str(tmp_path).encode()) + i) for i in range(2)]
    cli.run("twin", "register", *shots, "--as", model, "--manifest", tmp_path / "m.json")
    m = json.loads((tmp_path / "m.json").read_text())
    home = tmp_path / "home"
    (home / "keystore").mkdir(parents=True)
    (home / "keystore" / "ana.json").write_text('{"crypto": "precious"}')

    def sync(*args, code=0):
        monkeypatch.setenv("CONSENTRY_HOME", str(home))
        return cli.run(
            "--network",
            local_node["rpc_url"],
            "--registry",
            local_node["registry"],
            "--index",
            tmp_path / "i.db",
            "sync",
            *args,
            code=code,
        )

    yield m, home, sync


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.name.startswith("i.db"))


def one_line_error(result, *words):
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout and "internal error" not in err[0]
    for w in words:
        assert w in err[0], err[0]
    return err[0]


@pytest.mark.parametrize("twin_id", ["{n}/../../keystore/ana", "{n}/../../../outside/package", -1, 1.5, 2**70, True])
def test_sync_of_a_manifest_with_a_path_for_a_twin_id_writes_nothing(cli, registered, tmp_path, twin_id):
    m, home, sync = registered
    m["twin_id"] = twin_id.format(n=m["twin_id"]) if isinstance(twin_id, str) else twin_id
    (tmp_path / "evil.json").write_text(json.dumps(m))
    before = files_under(tmp_path)
    one_line_error(sync("--manifest", tmp_path / "evil.json", code=1), "evil.json: twin_id must be a whole number")
    assert (home / "keystore" / "ana.json").read_text() == '{"crypto": "precious"}'
    assert files_under(tmp_path) == before
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("name", [SPOOF, {"not": "a string"}, 7, "n" * 201, "\u202egpj.exe"])
def test_sync_of_a_manifest_with_a_bad_asset_name_imports_nothing_and_later_syncs_work(cli, registered, tmp_path, name):
    m, home, sync = registered
    m["assets"][1]["name"] = name
    (tmp_path / "evil.json").write_text(json.dumps(m))
    r = sync("--manifest", tmp_path / "evil.json", code=1)
    one_line_error(r, "evil.json: assets[1].name must be non-empty printable text of at most 200 characters")
    assert "AUTHORISED" not in r.stdout + r.stderr
    assert not (home / "manifests").exists() or not any((home / "manifests").iterdir())
    sync()  # the data folder is not poisoned


def test_a_poisoned_manifest_already_in_the_data_folder_is_skipped(cli, registered, tmp_path):
    m, home, sync = registered
    bad = copy.deepcopy(m)
    bad["assets"][0]["name"] = {"not": "a string"}
    dest = home / "manifests" / twins.manifest_path(m["chain_id"], m["registry"], m["twin_id"]).name
    dest.parent.mkdir()
    dest.write_text(json.dumps(bad))
    sync()
    sync()  # neither this sync nor the next breaks on it
    # the good manifest replaces it, and its assets are imported
    sync("--manifest", tmp_path / "m.json")
    assert twins.load_manifest(dest)["assets"][0]["name"] == m["assets"][0]["name"]
    names = (
        sqlite3.connect(tmp_path / "i.db").execute("SELECT name FROM twin_assets WHERE twin_id = ?", [m["twin_id"]]).fetchall()
    )
    assert sorted(n for (n,) in names) == sorted(a["name"] for a in m["assets"])


def test_twin_register_escapes_control_characters_in_file_names(cli, new_account, tmp_path, local_node):
    model, _ = new_account("model")
    odd = own_photo(tmp_path / (SPOOF.replace("\n", "") + ".jpg"), seed=zlib.crc32(str(tmp_path).encode()))
    cli.run("twin", "register", odd, "--as", model, "--manifest", tmp_path / "m.json")
    name = json.loads((tmp_path / "m.json").read_text())["assets"][0]["name"]
    assert "\x1b" not in name and "\r" not in name and name.startswith("x.jpg\\x0d\\x1b[2K")
    assert twins.load_manifest(tmp_path / "m.json")["assets"][0]["name"] == name


@pytest.mark.parametrize("option, value", [("--name", "Ana\x1b[2K"), ("--agency", "N" * 201), ("--metadata-uri", "ipfs://x\r\n")])
def test_twin_register_refuses_metadata_others_could_not_read(cli, new_account, tmp_path, option, value):
    model, _ = new_account("model")
    r = cli.run("twin", "register", own_photo(tmp_path / "a.jpg", seed=1), "--as", model, option, value, code=2)
    one_line_error(r, f"{option} must be printable text")


@pytest.fixture(scope="module")
def accept_brand(local_node):
    """One brand for the accept tests below (the dev account funds about a hundred accounts a session)."""
    name = f"hbrand{next(_names)}"
    Cli().run("account", "create", name, "--fund")
    return name


@pytest.mark.parametrize(
    "path, value, field",
    [
        ("terms.feePerUse", str(2**80), "terms.feePerUse must be a whole number from 0 to"),
        ("terms.feePerUse", 10**15, "terms.feePerUse"),
        ("terms.twinId", 1, "terms.twinId"),
        ("terms.validUntil", "-1", "terms.validUntil"),
        ("terms.trainingAllowed", "yes", "terms.trainingAllowed must be true or false"),
        ("signature", "0x1234", "signature"),
        ("deadline", DELETE, "deadline is missing"),
        ("terms_document", DELETE, "terms_document is missing"),
        ("terms_document.purpose", SPOOF, "terms_document: purpose must be non-empty printable text"),
        ("terms_document.rate.fee_per_use", 0, "terms_document: rate.fee_per_use"),
        ("terms_document.rate.note", "free", "terms_document: rate.note is not a field this version of Consentry knows"),
    ],
)
def test_license_accept_of_a_bad_offer_file_names_the_field(cli, accept_brand, tmp_path, local_node, path, value, field):
    brand = accept_brand
    o = good_offer(local_node["chain_id"], local_node["registry"])
    mutate(o, path, value)
    (tmp_path / "o.json").write_text(json.dumps(o))
    r = cli.run("license", "accept", tmp_path / "o.json", "--as", brand, "--yes", code=1)
    one_line_error(r, "o.json: ", field)
    assert "AUTHORISED" not in r.stdout + r.stderr
    err = cli.json("license", "accept", tmp_path / "o.json", "--as", brand, "--yes", code=1)
    assert err["error_code"] == "bad_file" and field in err["error"]


def test_license_accept_shows_an_unknown_field_of_the_terms_document_escaped(cli, accept_brand, tmp_path, local_node):
    brand = accept_brand
    o = good_offer(local_node["chain_id"], local_node["registry"])
    o["terms_document"]["scope"][SPOOF] = 1
    (tmp_path / "o.json").write_text(json.dumps(o))
    r = cli.run("license", "accept", tmp_path / "o.json", "--as", brand, "--yes", code=1)
    one_line_error(r, "o.json: terms_document: scope.x.jpg\\x0d\\x1b[2K", "is not a field this version of Consentry knows")
