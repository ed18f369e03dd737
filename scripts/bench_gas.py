"""Measure the registry's gas per operation on a fresh anvil; see scripts/bench_gas."""

import json
import os
import sys

from eth_account import Account

from consentry import chain as chainmod, hashing, node, offers, rpc

# anvil's public dev keys (mnemonic "test test ... junk"), local chain only
KEYS = [
    node.DEV_KEY,
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdffba0a",
]
TARGETS = {
    "register_twin": 60000,
    "grant_license": 95000,
    "grant_license_signed": 95000,
    "publish_one": 55000,
    "publish_batch_100_per_image": 4000,
    "revoke_license": 35000,
    "grant_license_token_fee": 95000,
    "publish_one_token_fee": 75000,
    "publish_batch_100_per_image_token_fee": 4500,
}


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    model, brand, _ = (Account.from_key(k) for k in KEYS)
    with node.EphemeralAnvil() as url:
        address, block = chainmod.deploy(url, model)
        c = chainmod.connect(url, address)
        f = c.registry.functions
        gas = {}

        def g(fn, acct, value=0):
            return c.send(fn, acct, value)["gasUsed"]

        root, meta = os.urandom(32), os.urandom(32)
        uri = "consentry:twin:" + os.urandom(16).hex()
        gas["register_twin_first"] = g(f.registerTwin(root, 1, meta, uri), model)
        gas["register_twin"] = g(f.registerTwin(os.urandom(32), 1000, meta, uri), model)
        now = c.now()
        terms = {
            "twinId": 1,
            "licensee": brand.address,
            "channels": 0b11,
            "transforms": 0b1011,
            "territories": (4 * 26 + 20) | ((20 * 26 + 18) << 10),
            "validFrom": now,
            "validUntil": now + 365 * 86400,
            "maxUses": 1000,
            "feePerUse": 10**15,
            "currency": "0x" + "00" * 20,
            "trainingAllowed": False,
            "removeAfterEnd": True,
            "termsHash": os.urandom(32),
        }
        gas["grant_license"] = g(f.grantLicense(offers.terms_tuple(terms)), model)
        deadline = now + 86400
        for key, nonce in (("grant_license_signed_first", 0), ("grant_license_signed", 1)):
            sig = offers.sign(model, terms, nonce, deadline, c.chain_id, address)
            gas[key] = g(f.grantLicenseWithSignature(offers.terms_tuple(terms), nonce, deadline, sig), brand)
        nonce = offers.random_nonce()  # what the CLI signs: a fresh bitmap word each time
        sig = offers.sign(model, terms, nonce, deadline, c.chain_id, address)
        gas["grant_license_signed_random_nonce"] = g(
            f.grantLicenseWithSignature(offers.terms_tuple(terms), nonce, deadline, sig), brand
        )
        fr = 5 * 26 + 17  # "FR"

        def publish(lic, n, disclosures=0b011):  # XMP metadata and a C2PA manifest, as `publish --out` records
            hashes = [os.urandom(32) for _ in range(n)]
            imprints = os.urandom(hashing.IMPRINT_BYTES * n)
            return g(f.publish(lic, 0, fr, 0b1, disclosures, hashes, imprints), brand, value=n * terms["feePerUse"])

        gas["publish_one_first"] = publish(1, 1)
        gas["publish_one"] = publish(1, 1)
        gas["publish_batch_100_per_image"] = publish(2, 100) // 100
        gas["withdraw_fees"] = g(f.withdrawFees("0x" + "00" * 20), model)
        gas["suspend_license"] = g(f.suspendLicense(2), model)
        gas["resume_license"] = g(f.resumeLicense(2), model)
        gas["revoke_license"] = g(f.revokeLicense(2, 0), model)

        # an ERC-20 fee (the embedded chain's test USDC: OpenZeppelin ERC-20, 6 decimals), paid by allowance
        from consentry import currency

        usdc_address = chainmod.deploy_test_token(url)
        usdc = currency.contract(c, usdc_address)
        c.send(usdc.functions.mint(brand.address, 10**15), model)
        c.send(usdc.functions.approve(address, 2**256 - 1), brand)  # one standing allowance, as a brand sets it
        token_terms = {**terms, "currency": usdc_address, "feePerUse": 2_500_000, "termsHash": os.urandom(32)}
        # the model's first license in a token numbers it in her list (once per model and token)
        gas["grant_license_token_fee_first"] = g(f.grantLicense(offers.terms_tuple(token_terms)), model)
        gas["grant_license_token_fee"] = g(f.grantLicense(offers.terms_tuple(token_terms)), model)
        token_lic = c.call(f.counts())[1]

        def publish_token(n):
            hashes = [os.urandom(32) for _ in range(n)]
            return g(f.publish(token_lic, 0, fr, 0b1, 0b011, hashes, os.urandom(hashing.IMPRINT_BYTES * n)), brand)

        gas["publish_one_token_fee_first"] = publish_token(1)
        gas["publish_one_token_fee"] = publish_token(1)
        gas["publish_batch_100_per_image_token_fee"] = publish_token(100) // 100
        gas["withdraw_fees_token"] = g(f.withdrawFees(usdc_address), model)
        agent = Account.from_key(KEYS[2])
        rpc.request(url, "anvil_setBalance", [agent.address, hex(10**18)])
        caps = (now + 30 * 86400, 30 * 86400, 0b11, 0b1011, 0, terms["territories"], 1000, "0x" + "00" * 20, False)
        gas["appoint_agent"] = g(f.appointAgent(1, agent.address, caps), model)
        by_agent = {**terms, "validUntil": now + 20 * 86400}
        gas["grant_license_by_agent"] = g(f.grantLicense(offers.terms_tuple(by_agent)), agent)
        agent_lic = c.call(f.counts())[1]
        gas["revoke_license_by_agent"] = g(f.revokeLicense(agent_lic, 0), agent)
        # an alteration (face) granted by the agent with the model's own EIP-712 consent
        altered = {**by_agent, "transforms": 0b1000_0011, "termsHash": os.urandom(32)}
        consent = {"agent": agent.address, "nonce": offers.random_nonce(), "deadline": deadline}
        sig = offers.sign_consent(model, consent, altered, c.chain_id, address)
        gas["grant_license_with_consent"] = g(
            f.grantLicenseWithConsent(offers.terms_tuple(altered), offers.consent_tuple(consent), sig), agent
        )
        gas["attest_twin"] = g(f.attestTwin(1, os.urandom(32)), agent)
        gas["revoke_attestation"] = g(f.revokeAttestation(1), agent)
    result = {"schema_version": 1, "unit": "gas (receipt gasUsed, 21k base included)", **gas}
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for k, v in gas.items():
            t = TARGETS.get(k)
            print(f"{k:32} {v:>8,}" + (f"   target ≤ {t:,} {'ok' if v <= t else 'MISSED'}" if t else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
