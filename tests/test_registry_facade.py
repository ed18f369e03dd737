"""The typed library facade, used as a Python program would (issue 13): `Registry` verbs return frozen
results, on the real embedded chain."""

import dataclasses

import pytest
from PIL import Image

from conftest import _names
from consentry import keys, licenses, termsdoc
from consentry.hashing import fingerprint
from consentry.registry import Balance, Granted, Registry, Tx


def _account(cli, prefix):
    name = f"{prefix}{next(_names)}"
    cli.json("account", "create", name, "--fund")
    return keys.unlock(keys.find(name), "correct horse battery staple")


def test_a_program_licenses_suspends_publishes_and_is_paid_through_the_facade(cli, local_node, tmp_path, photos):
    model, brand = _account(cli, "fmodel"), _account(cli, "fbrand")
    reg = Registry.connect("local")
    capture = tmp_path / "capture.png"
    Image.open(photos["rocket"]).convert("RGB").crop((0, 0, 200, 260)).save(capture)
    twin = reg.register_twin(model, [str(capture)], [fingerprint(capture)], name="Facade model")
    assert reg.twin(twin.twin_id)["owner"] == model.address

    now = reg.now()
    terms, doc = licenses.build_terms(
        licenses.TermsInput(
            twin.twin_id, brand.address, ["social"], ["FR"], ["outfit"], now, now + 30 * 86400, 0, 10**12,
            "Facade test campaign on the brand's social channels", remove_after_end=True,
        )
    )  # fmt: skip
    g = reg.grant(model, terms, doc)
    assert isinstance(g, Granted) and isinstance(g.tx, Tx) and g.terms_hash == "0x" + termsdoc.terms_hash(doc).hex()
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.license_id = 0
    assert reg.license(g.license_id)["purpose"] == doc["purpose"]

    look = tmp_path / "look.png"
    Image.open(photos["chelsea"]).convert("RGB").resize((300, 200)).save(look)
    assert isinstance(reg.suspend(model, g.license_id), Tx)
    with pytest.raises(Exception, match="suspended"):
        reg.publish(brand, g.license_id, [fingerprint(look)], "social", "FR", ["outfit"])
    reg.resume(model, g.license_id)
    p = reg.publish(brand, g.license_id, [fingerprint(look)], "social", "FR", ["outfit"])
    assert p.fee_paid == 10**12 and p.currency.native

    (native, *_) = reg.balances(model.address)
    assert isinstance(native, Balance) and native.units == 10**12 and native.to_dict()["currency"] == "native"
    reg.withdraw(model, native.currency)
    assert reg.balances(model.address)[0].units == 0
