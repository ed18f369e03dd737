"""The license's AI-training rule travels into the published file: `publish --out` writes `plus:DataMining`
(and C2PA's `cawg.training-mining` with a certificate) from the license's on-chain TRAINING flag, so a
crawler that never reads the chain still sees whether the image may train a model. Real chain, files read
back with the project's own reader."""

import pytest
from PIL import Image

from conftest import Cli, _names
from consentry import disclosure


@pytest.fixture(scope="module")
def world(tmp_path_factory, photos, local_node):
    cli = Cli()
    d = tmp_path_factory.mktemp("training")
    model, brand = f"tmodel{next(_names)}", f"tbrand{next(_names)}"
    cli.run("account", "create", model, "--fund")
    cli.run("account", "create", brand, "--fund")
    capture = d / "capture.jpg"
    Image.open(photos["rocket"]).crop((0, 0, 240, 300)).save(capture, quality=90)
    twin = cli.json("twin", "register", capture, "--as", model)["twin_id"]

    def grant(*extra):
        return cli.json("license", "grant", twin, "--to", brand, "--channels", "social", "--for", "30d", "--as", model, *extra)[
            "license_id"
        ]

    return {"cli": cli, "d": d, "brand": brand, "default": grant(), "allowed": grant("--training", "allowed")}


@pytest.mark.parametrize("which, rule", [("default", "notAllowed"), ("allowed", "allowed")])
def test_the_training_rule_of_the_license_is_written_into_the_published_file(world, photos, which, rule):
    src = world["d"] / f"look-{which}.jpg"
    Image.open(photos["chelsea"]).convert("RGB").resize((600, 750)).save(src, quality=92)
    out = world["d"] / f"out-{which}"
    world["cli"].json(
        "publish", src, "--license", world[which], "--channel", "social", "--territory", "FR", "--as", world["brand"],
        "--out", out,
    )  # fmt: skip
    fd = disclosure.read(out / src.name)
    assert fd.data_mining == disclosure.DATA_MINING[rule]
    shown = world["cli"].json("license", "show", world[which])
    assert shown["training"] == ("allowed" if rule == "allowed" else "not-allowed")
