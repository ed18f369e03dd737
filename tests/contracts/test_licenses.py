import ape

from conftest import DAY, FEE, NATIVE, make_terms, territories


def test_the_model_grants_a_license_with_its_terms(registry, model, brand, terms, twin):
    tx = registry.grantLicense(terms, sender=model)
    (_, _, channels, transforms, terr, valid_from, valid_until, max_uses, fee, currency, training, remove, terms_hash) = terms
    assert (currency, training, remove) == (NATIVE, False, False)
    assert tx.events == [
        registry.LicenseGranted(
            licenseId=1,
            twinId=twin,
            licensee=brand,
            grantor=model,
            channels=channels,
            transforms=transforms,
            territories=terr,
            validFrom=valid_from,
            validUntil=valid_until,
            maxUses=max_uses,
            feePerUse=fee,
            currency=NATIVE,
            flags=0,
            termsHash=terms_hash,
        )
    ]
    lic = registry.getLicense(1)
    assert (lic.licensee, lic.twinId, lic.channels, lic.transforms) == (brand.address, twin, channels, transforms)
    assert (lic.validFrom, lic.validUntil, lic.maxUses, lic.uses, lic.feePerUse) == (valid_from, valid_until, 10, 0, FEE)
    assert lic.territories == terr and not lic.revoked and lic.flags == 0
    assert registry.currencyOf(1) == NATIVE
    assert registry.grantorOf(1) == model.address
    assert registry.counts() == (1, 1, 2)  # twins, licenses, events (TwinRegistered, LicenseGranted)


def test_a_license_is_valid_only_inside_its_window(registry, license_id):
    lic = registry.getLicense(license_id)
    assert registry.isLicenseValid(license_id, lic.validFrom)
    assert registry.isLicenseValid(license_id, lic.validUntil - 1)
    assert not registry.isLicenseValid(license_id, lic.validUntil)
    assert not registry.isLicenseValid(license_id, lic.validFrom - 1)
    assert not registry.isLicenseValid(999, lic.validFrom)


def test_strangers_cannot_grant(registry, other, terms, twin):
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=other.address):
        registry.grantLicense(terms, sender=other)


def test_a_license_for_an_unknown_twin_is_refused(registry, model, brand, chain):
    with ape.reverts(registry.UnknownTwin, twinId=7):
        registry.grantLicense(make_terms(7, brand, chain.pending_timestamp), sender=model)


def test_malformed_terms_are_refused(registry, model, brand, twin, chain):
    start = chain.pending_timestamp
    base = list(make_terms(twin, brand, start))

    def with_(i, v):
        t = list(base)
        t[i] = v
        return tuple(t)

    with ape.reverts(registry.InvalidLicensee):
        registry.grantLicense(with_(1, "0x" + "00" * 20), sender=model)
    with ape.reverts(registry.InvalidChannels, channels=0):
        registry.grantLicense(with_(2, 0), sender=model)
    with ape.reverts(registry.InvalidChannels, channels=0x40):
        registry.grantLicense(with_(2, 0x40), sender=model)
    with ape.reverts(registry.InvalidTerritories, territories=0):
        registry.grantLicense(with_(4, 0), sender=model)
    with ape.reverts(registry.InvalidTerritories, territories=700):
        registry.grantLicense(with_(4, 700), sender=model)
    with ape.reverts(registry.InvalidWindow, validFrom=start, validUntil=start):
        registry.grantLicense(with_(6, start), sender=model)
    with ape.reverts(registry.InvalidWindow, validFrom=start - 10 * DAY, validUntil=start - DAY):
        registry.grantLicense(with_(5, start - 10 * DAY)[:6] + (start - DAY,) + tuple(base[7:]), sender=model)


def test_no_license_on_a_withdrawn_twin(registry, model, terms, twin):
    registry.withdrawTwin(twin, 0, sender=model)
    with ape.reverts(registry.TwinWithdrawnAt):
        registry.grantLicense(terms, sender=model)


def test_revocation_now_ends_the_license_from_this_block(registry, model, license_id, chain):
    tx = registry.revokeLicense(license_id, 0, sender=model)
    at = chain.blocks[tx.block_number].timestamp
    assert tx.events == [registry.LicenseRevoked(licenseId=license_id, by=model, effectiveAt=at)]
    lic = registry.getLicense(license_id)
    assert lic.revoked and lic.validUntil == at
    assert registry.isLicenseValid(license_id, at - 1)
    assert not registry.isLicenseValid(license_id, at)


def test_revocation_with_notice_keeps_the_license_valid_until_then(registry, model, license_id, chain):
    at = chain.pending_timestamp + 3 * DAY
    registry.revokeLicense(license_id, at, sender=model)
    assert registry.isLicenseValid(license_id, at - 1)
    assert not registry.isLicenseValid(license_id, at)


def test_revocation_can_be_brought_forward_never_pushed_back(registry, model, license_id, chain):
    at = chain.pending_timestamp + 3 * DAY
    registry.revokeLicense(license_id, at, sender=model)
    tx = registry.revokeLicense(license_id, at + 5 * DAY, sender=model)
    assert tx.events == [registry.LicenseRevoked(licenseId=license_id, by=model, effectiveAt=at)]
    assert registry.getLicense(license_id).validUntil == at
    sooner = chain.pending_timestamp + DAY
    registry.revokeLicense(license_id, sooner, sender=model)
    assert registry.getLicense(license_id).validUntil == sooner


def test_revocation_cannot_be_backdated(registry, model, license_id, chain):
    with ape.reverts(registry.EffectiveTimeInPast):
        registry.revokeLicense(license_id, chain.pending_timestamp - 60, sender=model)


def test_an_ended_license_cannot_be_revoked(registry, model, license_id, chain):
    until = registry.getLicense(license_id).validUntil
    chain.pending_timestamp = until + 1
    with ape.reverts(registry.LicenseAlreadyEnded, licenseId=license_id, endedAt=until):
        registry.revokeLicense(license_id, 0, sender=model)


def test_strangers_and_the_licensee_cannot_revoke(registry, brand, other, license_id, twin):
    for who in (brand, other):
        with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=who.address):
            registry.revokeLicense(license_id, 0, sender=who)


def test_unknown_licenses_are_refused(registry, model):
    with ape.reverts(registry.UnknownLicense, licenseId=5):
        registry.getLicense(5)
    with ape.reverts(registry.UnknownLicense, licenseId=5):
        registry.revokeLicense(5, 0, sender=model)


def test_territory_packing_round_trips(registry, model, brand, twin, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, where=("FR", "DE", "US", "GB", "JP"))
    registry.grantLicense(terms, sender=model)
    assert registry.getLicense(1).territories == territories("FR", "DE", "US", "GB", "JP")


def test_a_license_lasts_at_most_ten_years(registry, model, brand, twin, chain):
    """A digital-replica license is limited in time (NO FAKES: at most ten years): renew, never grant forever."""
    start = chain.pending_timestamp
    limit = registry.MAX_LICENSE_SECONDS()
    assert limit == 3653 * DAY
    too_long = list(make_terms(twin, brand, start))
    too_long[5], too_long[6] = start, start + limit + 1
    with ape.reverts(registry.LicenseTooLong, validFrom=start, validUntil=start + limit + 1, maxSeconds=limit):
        registry.grantLicense(tuple(too_long), sender=model)
    ten_years = list(make_terms(twin, brand, start))
    ten_years[5], ten_years[6] = start, start + limit
    registry.grantLicense(tuple(ten_years), sender=model)
