// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsentRegistry} from "./IConsentRegistry.sol";

/// @title Consentry consent registry
/// @notice See {IConsentRegistry}. Storage holds only what the contract decides on: twin owner and
/// withdrawal, mandates, license terms and use counts, fee balances and offer nonces. Asset roots,
/// metadata, terms documents and image hashes live in events or behind hashes.
contract ConsentRegistry is IConsentRegistry {
    string private constant _VERSION = "2.3.0";
    /// @notice Bytes per image in {publish}'s `imprints`: pixel-hash prefix 16, central pHash 8, signature 38.
    uint256 public constant IMPRINT_BYTES = 62;
    /// @notice The longest a license may last: ten years (3,653 days, leap days included).
    uint256 public constant MAX_LICENSE_SECONDS = 3653 days;
    // keccak256("Published(bytes32,bytes32,bytes32)")
    bytes32 private constant _PUBLISHED_TOPIC = keccak256("Published(bytes32,bytes32,bytes32)");

    // keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    bytes32 private constant _DOMAIN_TYPEHASH = 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f;
    bytes32 private constant _NAME_HASH = keccak256("Consentry");
    bytes32 private constant _VERSION_HASH = keccak256("2");

    /// @notice The EIP-712 type hash of a signed offer.
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(uint256 twinId,address licensee,uint8 channels,uint8 transforms,uint56 territories,uint40 validFrom,uint40 validUntil,uint32 maxUses,uint80 feePerUse,address currency,bool trainingAllowed,bool removeAfterEnd,bytes32 termsHash,uint256 nonce,uint256 deadline)"
    );
    /// @notice The EIP-712 type hash of a model's consent to alterations.
    bytes32 public constant CONSENT_TYPEHASH = keccak256(
        "AlterationConsent(address agent,Terms terms,uint256 nonce,uint256 deadline)"
        "Terms(uint256 twinId,address licensee,uint8 channels,uint8 transforms,uint56 territories,uint40 validFrom,uint40 validUntil,uint32 maxUses,uint80 feePerUse,address currency,bool trainingAllowed,bool removeAfterEnd,bytes32 termsHash)"
    );
    /// @notice The EIP-712 type hash of the Terms a consent signs.
    bytes32 public constant TERMS_TYPEHASH = keccak256(
        "Terms(uint256 twinId,address licensee,uint8 channels,uint8 transforms,uint56 territories,uint40 validFrom,uint40 validUntil,uint32 maxUses,uint80 feePerUse,address currency,bool trainingAllowed,bool removeAfterEnd,bytes32 termsHash)"
    );

    uint8 private constant _ALL_CHANNELS = 0x3f;
    uint8 private constant _ALL_DISCLOSURES = 0x07; // metadata 1, C2PA manifest 2, visible label 4
    uint8 private constant _ALTERATIONS = 0xE0; // age, body, face: never within a mandate alone
    // a license's flags
    uint8 private constant _F_TRAINING = 1;
    uint8 private constant _F_REMOVE_AFTER_END = 2;
    uint8 private constant _F_SUSPENDED = 4;
    uint8 private constant _F_TOKEN_FEE = 8;
    uint16 private constant _TERRITORY_CODES = 676; // 26 * 26
    uint16 private constant _EU = 124; // "EU"
    uint16 private constant _WW = 594; // "WW"
    // Bitmap over territory codes of the 27 EU member states (AT BE BG CY CZ DE DK EE ES FI FR GR
    // HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK).
    uint256 private constant _EU_BITS_0 = 0x800100480000020000008040004001000010430000000000140080000;
    uint256 private constant _EU_BITS_1 = 0x5100010000000000020200000000000020000800000e000000000000;

    // reasons bitmask of checkPublication
    uint256 private constant _R_UNKNOWN = 1;
    uint256 private constant _R_NOT_LICENSEE = 2;
    uint256 private constant _R_NOT_YET_VALID = 4;
    uint256 private constant _R_EXPIRED = 8;
    uint256 private constant _R_REVOKED = 16;
    uint256 private constant _R_WITHDRAWN = 32;
    uint256 private constant _R_CHANNEL = 64;
    uint256 private constant _R_TERRITORY = 128;
    uint256 private constant _R_TRANSFORM = 256;
    uint256 private constant _R_USES = 512;
    uint256 private constant _R_SUSPENDED = 1024;

    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    // one slot: the counters every event-emitting function updates together
    uint32 private _twinCount;
    uint32 private _licenseCount;
    uint64 private _eventCount;
    mapping(uint256 twinId => Twin) private _twins;
    mapping(uint256 twinId => mapping(address agent => Mandate)) private _mandates;
    mapping(uint256 licenseId => License) private _licenses;
    // fees credited to a model per currency (0 = native coin), stored plus one once first credited, so
    // that withdrawing leaves the slot non-zero and the next credit costs a warm write, not a fresh one
    mapping(address model => mapping(address currency => uint256)) private _credits;
    // each model's fee tokens, numbered from 1 in the order first used (a license stores the 8-bit
    // number, not the 20-byte address: no third storage slot per license). Only the model's own acts
    // (a grant, a signed offer, a mandate) add to her list, so nobody else can fill it.
    mapping(address model => mapping(uint256 number => address token)) private _currencyTokens;
    mapping(address model => mapping(address token => uint256 number)) private _currencyNumbers;
    mapping(address model => uint256 count) private _currencyCounts;
    mapping(address model => mapping(uint256 word => uint256 bits)) private _nonceBitmaps;
    // the agent that granted a license (only set for agents' grants; the owner's grants leave it 0)
    mapping(uint256 licenseId => address agent) private _agentGrants;
    mapping(uint256 twinId => mapping(address attester => uint40 time)) private _attestations;

    constructor() {
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ================================================================== twins

    /// @inheritdoc IConsentRegistry
    function registerTwin(bytes32 assetRoot, uint32 assetCount, bytes32 metadataHash, string calldata metadataURI)
        external
        returns (uint256 twinId)
    {
        if (assetRoot == bytes32(0) || assetCount == 0) revert EmptyAssets();
        twinId = ++_twinCount;
        ++_eventCount;
        _twins[twinId] = Twin({owner: msg.sender, withdrawAt: 0});
        emit TwinRegistered(twinId, msg.sender, assetRoot, assetCount, metadataHash, metadataURI);
    }

    /// @inheritdoc IConsentRegistry
    function addAssets(uint256 twinId, bytes32 assetRoot, uint32 assetCount) external {
        Twin memory twin = _ownedTwin(twinId);
        if (twin.withdrawAt != 0) revert TwinWithdrawnAt(twinId, twin.withdrawAt);
        if (assetRoot == bytes32(0) || assetCount == 0) revert EmptyAssets();
        ++_eventCount;
        emit TwinAssetsAdded(twinId, assetRoot, assetCount);
    }

    /// @inheritdoc IConsentRegistry
    function withdrawTwin(uint256 twinId, uint40 effectiveAt) external {
        Twin memory twin = _ownedTwin(twinId);
        uint40 nowTime = _time();
        if (effectiveAt == 0) effectiveAt = nowTime;
        if (effectiveAt < nowTime) revert EffectiveTimeInPast(effectiveAt, nowTime);
        if (twin.withdrawAt != 0) {
            if (twin.withdrawAt <= nowTime) revert TwinWithdrawnAt(twinId, twin.withdrawAt);
            if (effectiveAt >= twin.withdrawAt) revert TwinWithdrawnAt(twinId, twin.withdrawAt);
        }
        _twins[twinId].withdrawAt = effectiveAt;
        ++_eventCount;
        emit TwinWithdrawn(twinId, effectiveAt);
    }

    // ================================================================== agents

    /// @inheritdoc IConsentRegistry
    function appointAgent(uint256 twinId, address agent, Mandate calldata caps) external {
        Twin memory twin = _ownedTwin(twinId);
        if (twin.withdrawAt != 0) revert TwinWithdrawnAt(twinId, twin.withdrawAt);
        if (agent == address(0)) revert InvalidLicensee();
        if (caps.expiry <= _time()) revert MandateExpiryInPast(caps.expiry);
        if (caps.channels == 0 || caps.channels & ~_ALL_CHANNELS != 0) revert InvalidChannels(caps.channels);
        if (!_validTerritories(caps.territories)) revert InvalidTerritories(caps.territories);
        if (caps.currency != address(0)) _currencyNumber(msg.sender, caps.currency); // her token, numbered now
        _mandates[twinId][agent] = caps;
        ++_eventCount;
        emit AgentAppointed(
            twinId,
            agent,
            caps.expiry,
            caps.maxDuration,
            caps.channels,
            caps.transforms,
            caps.minFee,
            caps.territories,
            caps.maxUses,
            caps.currency,
            caps.training
        );
    }

    /// @inheritdoc IConsentRegistry
    function revokeAgent(uint256 twinId, address agent) external {
        _ownedTwin(twinId);
        if (_mandates[twinId][agent].expiry == 0) revert NotAuthorisedForTwin(twinId, agent);
        delete _mandates[twinId][agent];
        ++_eventCount;
        emit AgentRevoked(twinId, agent);
    }

    // ================================================================== licenses

    /// @inheritdoc IConsentRegistry
    function grantLicense(Terms calldata terms) external returns (uint256 licenseId) {
        Twin memory twin = _existingTwin(terms.twinId);
        bool byAgent = twin.owner != msg.sender;
        if (byAgent) {
            if (_mandates[terms.twinId][msg.sender].expiry <= _time()) revert NotAuthorisedForTwin(terms.twinId, msg.sender);
            uint8 alterations = terms.transforms & _ALTERATIONS;
            if (alterations != 0) revert ModelConsentRequired(terms.twinId, alterations);
            _checkMandate(terms, msg.sender);
        }
        licenseId = _grant(terms, twin, msg.sender);
        if (byAgent) _agentGrants[licenseId] = msg.sender;
    }

    /// @inheritdoc IConsentRegistry
    function grantLicenseWithConsent(Terms calldata terms, AlterationConsent calldata consent, bytes calldata signature)
        external
        returns (uint256 licenseId)
    {
        uint40 nowTime = _time();
        if (consent.deadline < nowTime) revert OfferExpired(consent.deadline, nowTime);
        Twin memory twin = _existingTwin(terms.twinId);
        if (consent.agent != msg.sender) revert ConsentMismatch(terms.twinId, "agent");
        _checkMandate(terms, msg.sender);
        address signer = _recover(_consentDigest(terms, consent), signature);
        if (signer != twin.owner) revert InvalidSignature(signer, twin.owner);
        _useNonce(twin.owner, consent.nonce);
        licenseId = _grant(terms, twin, msg.sender);
        _agentGrants[licenseId] = msg.sender;
    }

    /// @inheritdoc IConsentRegistry
    function grantLicenseWithSignature(Terms calldata terms, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 licenseId)
    {
        uint40 nowTime = _time();
        if (deadline < nowTime) revert OfferExpired(deadline, nowTime);
        Twin memory twin = _existingTwin(terms.twinId);
        address signer = _recover(_offerDigest(terms, nonce, deadline), signature);
        if (signer != twin.owner) revert InvalidSignature(signer, twin.owner);
        _useNonce(twin.owner, nonce);
        licenseId = _grant(terms, twin, twin.owner);
    }

    /// @inheritdoc IConsentRegistry
    function cancelOffer(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        ++_eventCount;
        emit OfferCancelled(msg.sender, nonce);
    }

    /// @inheritdoc IConsentRegistry
    function revokeLicense(uint256 licenseId, uint40 effectiveAt) external {
        License storage lic = _licenses[licenseId];
        uint256 twinId = lic.twinId;
        if (twinId == 0) revert UnknownLicense(licenseId);
        uint40 nowTime = _time();
        if (_twins[twinId].owner != msg.sender) {
            if (_mandates[twinId][msg.sender].expiry <= nowTime) revert NotAuthorisedForTwin(twinId, msg.sender);
            if (_agentGrants[licenseId] != msg.sender) revert NotGrantor(licenseId, msg.sender);
        }
        if (effectiveAt == 0) effectiveAt = nowTime;
        if (effectiveAt < nowTime) revert EffectiveTimeInPast(effectiveAt, nowTime);
        uint40 until = lic.validUntil;
        if (until <= nowTime) revert LicenseAlreadyEnded(licenseId, until);
        if (effectiveAt < until) lic.validUntil = effectiveAt;
        lic.revoked = true;
        ++_eventCount;
        emit LicenseRevoked(licenseId, msg.sender, effectiveAt < until ? effectiveAt : until);
    }

    /// @inheritdoc IConsentRegistry
    function suspendLicense(uint256 licenseId) external {
        License storage lic = _ownedLicense(licenseId);
        uint8 flags = lic.flags;
        if (flags & _F_SUSPENDED != 0) revert LicenseIsSuspended(licenseId);
        uint40 until = lic.validUntil;
        if (until <= _time()) revert LicenseAlreadyEnded(licenseId, until);
        lic.flags = flags | _F_SUSPENDED;
        ++_eventCount;
        emit LicenseSuspended(licenseId, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function resumeLicense(uint256 licenseId) external {
        License storage lic = _ownedLicense(licenseId);
        uint8 flags = lic.flags;
        if (flags & _F_SUSPENDED == 0) revert LicenseNotSuspended(licenseId);
        lic.flags = flags & ~_F_SUSPENDED;
        ++_eventCount;
        emit LicenseResumed(licenseId, msg.sender);
    }

    // ================================================================== publications and fees

    /// @inheritdoc IConsentRegistry
    function publish(
        uint256 licenseId,
        uint8 channel,
        uint16 territory,
        uint8 transforms,
        uint8 disclosures,
        bytes32[] calldata contentHashes,
        bytes calldata imprints
    ) external payable {
        uint256 n = contentHashes.length;
        if (n == 0 || imprints.length != IMPRINT_BYTES * n || n > type(uint32).max) {
            revert InvalidBatch(n, imprints.length);
        }
        if (disclosures & ~_ALL_DISCLOSURES != 0) revert InvalidDisclosures(disclosures);
        License storage lic = _licenses[licenseId];
        License memory l = lic;
        if (l.twinId == 0) revert UnknownLicense(licenseId);
        if (l.licensee != msg.sender) revert NotLicensee(licenseId, msg.sender);
        uint40 nowTime = _time();
        uint40 withdrawAt = _twins[l.twinId].withdrawAt;
        uint256 reasons = _refusals(l, withdrawAt, channel, territory, transforms, n, nowTime);
        if (reasons != 0) _revertFor(reasons, licenseId, l, withdrawAt, channel, territory, transforms);
        uint256 used = uint256(l.uses) + n;
        uint256 fee = uint256(l.feePerUse) * n;
        bool byToken = l.flags & _F_TOKEN_FEE != 0;
        if (msg.value != (byToken ? 0 : fee)) revert WrongFee(byToken ? 0 : fee, msg.value);

        lic.uses = uint32(used);
        address currency;
        if (fee != 0) {
            address model = _twins[l.twinId].owner;
            if (byToken) currency = _currencyTokens[model][l.currencyId];
            uint256 credit = _credits[model][currency];
            _credits[model][currency] = (credit == 0 ? 1 : credit) + fee;
        }
        _eventCount += uint64(n + 1);
        emit PublicationsRecorded(licenseId, channel, territory, transforms, disclosures, l.uses + 1, uint32(n));
        // emit Published(contentHashes[i], imprint[0:32], imprint[32:62] zero-padded) for each image:
        // copied from calldata into the scratch space (no per-event memory growth)
        bytes32 topic0 = _PUBLISHED_TOPIC;
        assembly ("memory-safe") {
            let hashes := contentHashes.offset
            let prints := imprints.offset
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(32, 0)
                calldatacopy(0, add(prints, mul(i, 62)), 62)
                log2(0, 64, topic0, calldataload(add(hashes, shl(5, i))))
            }
        }
        // the interaction last: every effect above is in place if the token calls back
        if (currency != address(0)) _pullToken(currency, msg.sender, fee);
    }

    /// @inheritdoc IConsentRegistry
    function withdrawFees(address currency) external {
        uint256 credit = _credits[msg.sender][currency];
        if (credit <= 1) revert NothingToWithdraw(msg.sender);
        uint256 amount = credit - 1;
        _credits[msg.sender][currency] = 1; // effects before the interaction: a re-entrant call finds nothing
        ++_eventCount;
        emit FeesWithdrawn(msg.sender, currency, amount);
        if (currency == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed(msg.sender, amount);
        } else if (!_tokenCall(currency, abi.encodeWithSelector(0xa9059cbb, msg.sender, amount))) {
            revert TokenTransferFailed(currency, address(this), amount); // transfer(model, amount)
        }
    }

    // ================================================================== attestations

    /// @inheritdoc IConsentRegistry
    function attestTwin(uint256 twinId, bytes32 statementHash) external {
        Twin memory twin = _existingTwin(twinId);
        if (twin.withdrawAt != 0) revert TwinWithdrawnAt(twinId, twin.withdrawAt);
        if (_attestations[twinId][msg.sender] != 0) revert AlreadyAttested(twinId, msg.sender);
        _attestations[twinId][msg.sender] = _time();
        ++_eventCount;
        emit TwinAttested(twinId, msg.sender, twin.owner, statementHash);
    }

    /// @inheritdoc IConsentRegistry
    function revokeAttestation(uint256 twinId) external {
        if (_attestations[twinId][msg.sender] == 0) revert NotAttested(twinId, msg.sender);
        delete _attestations[twinId][msg.sender];
        ++_eventCount;
        emit TwinAttestationRevoked(twinId, msg.sender);
    }

    // ================================================================== views

    /// @inheritdoc IConsentRegistry
    function version() external pure returns (string memory) {
        return _VERSION;
    }

    /// @inheritdoc IConsentRegistry
    function getTwin(uint256 twinId) external view returns (Twin memory) {
        return _existingTwin(twinId);
    }

    /// @inheritdoc IConsentRegistry
    function getMandate(uint256 twinId, address agent) external view returns (Mandate memory) {
        return _mandates[twinId][agent];
    }

    /// @inheritdoc IConsentRegistry
    function getLicense(uint256 licenseId) external view returns (License memory) {
        License memory l = _licenses[licenseId];
        if (l.twinId == 0) revert UnknownLicense(licenseId);
        return l;
    }

    /// @inheritdoc IConsentRegistry
    function isLicenseValid(uint256 licenseId, uint40 time) external view returns (bool) {
        License memory l = _licenses[licenseId];
        if (l.twinId == 0) return false;
        return _timeRefusals(l, _twins[l.twinId].withdrawAt, time) == 0 && l.flags & _F_SUSPENDED == 0;
    }

    /// @inheritdoc IConsentRegistry
    function checkPublication(
        uint256 licenseId,
        address licensee,
        uint8 channel,
        uint16 territory,
        uint8 transforms,
        uint32 count,
        uint40 time
    ) external view returns (uint256 reasons) {
        License memory l = _licenses[licenseId];
        if (l.twinId == 0) return _R_UNKNOWN;
        if (l.licensee != licensee) reasons |= _R_NOT_LICENSEE;
        reasons |= _refusals(l, _twins[l.twinId].withdrawAt, channel, territory, transforms, count, time);
    }

    /// @inheritdoc IConsentRegistry
    function feeBalance(address model, address currency) external view returns (uint256) {
        uint256 credit = _credits[model][currency];
        return credit == 0 ? 0 : credit - 1;
    }

    /// @inheritdoc IConsentRegistry
    function currenciesOf(address model) external view returns (address[] memory tokens) {
        uint256 n = _currencyCounts[model];
        tokens = new address[](n);
        for (uint256 i; i < n; ++i) {
            tokens[i] = _currencyTokens[model][i + 1];
        }
    }

    /// @inheritdoc IConsentRegistry
    function currencyOf(uint256 licenseId) external view returns (address) {
        License memory l = _licenses[licenseId];
        if (l.twinId == 0) revert UnknownLicense(licenseId);
        if (l.currencyId == 0) return address(0);
        return _currencyTokens[_twins[l.twinId].owner][l.currencyId];
    }

    /// @inheritdoc IConsentRegistry
    function isNonceUsed(address model, uint256 nonce) external view returns (bool) {
        return (_nonceBitmaps[model][nonce >> 8] >> (nonce & 0xff)) & 1 == 1;
    }

    /// @inheritdoc IConsentRegistry
    function getDomainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @inheritdoc IConsentRegistry
    function counts() external view returns (uint256 twins, uint256 licenses, uint256 events) {
        return (_twinCount, _licenseCount, _eventCount);
    }

    /// @inheritdoc IConsentRegistry
    function grantorOf(uint256 licenseId) external view returns (address) {
        uint256 twinId = _licenses[licenseId].twinId;
        if (twinId == 0) revert UnknownLicense(licenseId);
        address agent = _agentGrants[licenseId];
        return agent != address(0) ? agent : _twins[twinId].owner;
    }

    /// @inheritdoc IConsentRegistry
    function attestedAt(uint256 twinId, address attester) external view returns (uint40) {
        return _attestations[twinId][attester];
    }

    // ================================================================== internals

    /// @dev The clock; a seam for tests of time-dependent rules.
    function _time() internal view virtual returns (uint40) {
        return uint40(block.timestamp);
    }

    function _existingTwin(uint256 twinId) private view returns (Twin memory twin) {
        twin = _twins[twinId];
        if (twin.owner == address(0)) revert UnknownTwin(twinId);
    }

    function _ownedTwin(uint256 twinId) private view returns (Twin memory twin) {
        twin = _existingTwin(twinId);
        if (twin.owner != msg.sender) revert NotTwinOwner(twinId, msg.sender);
    }

    /// @dev A license whose twin the caller owns (UnknownLicense, NotTwinOwner).
    function _ownedLicense(uint256 licenseId) private view returns (License storage lic) {
        lic = _licenses[licenseId];
        uint256 twinId = lic.twinId;
        if (twinId == 0) revert UnknownLicense(licenseId);
        if (_twins[twinId].owner != msg.sender) revert NotTwinOwner(twinId, msg.sender);
    }

    /// @dev An agent's grant within its mandate; alterations (0xE0) are checked by the caller (the
    /// model's consent), never against the mandate.
    function _checkMandate(Terms calldata t, address agent) private view {
        Mandate memory m = _mandates[t.twinId][agent];
        if (m.expiry <= _time()) revert NotAuthorisedForTwin(t.twinId, agent);
        if (t.validUntil > t.validFrom && t.validUntil - t.validFrom > m.maxDuration) {
            revert MandateExceeded(t.twinId, agent, "duration");
        }
        // the mandate bounds the span, not only each license: a license starts before the mandate
        // expires and (by the duration cap) ends by expiry + maxDuration — no chain of forward-dated licenses
        if (t.validFrom >= m.expiry) revert MandateExceeded(t.twinId, agent, "start");
        if (t.channels & ~m.channels != 0) revert MandateExceeded(t.twinId, agent, "channels");
        if (t.transforms & ~_ALTERATIONS & ~m.transforms != 0) revert MandateExceeded(t.twinId, agent, "transforms");
        if (!_territoriesWithin(t.territories, m.territories)) revert MandateExceeded(t.twinId, agent, "territories");
        if (m.maxUses != 0 && (t.maxUses == 0 || t.maxUses > m.maxUses)) revert MandateExceeded(t.twinId, agent, "uses");
        if (t.currency != m.currency) revert MandateExceeded(t.twinId, agent, "currency");
        if (t.feePerUse < m.minFee) revert MandateExceeded(t.twinId, agent, "fee");
        if (t.trainingAllowed && !m.training) revert MandateExceeded(t.twinId, agent, "training");
    }

    /// @dev The one place the license rules live: why a publication of `count` images under `l`
    /// would be refused at `time` (checkPublication's bitmask, without unknown/not-licensee).
    function _refusals(
        License memory l,
        uint40 withdrawAt,
        uint8 channel,
        uint16 territory,
        uint8 transforms,
        uint256 count,
        uint40 time
    ) private pure returns (uint256 reasons) {
        reasons = _timeRefusals(l, withdrawAt, time);
        if (channel > 7 || (l.channels >> channel) & 1 == 0) reasons |= _R_CHANNEL;
        if (!_covers(l.territories, territory)) reasons |= _R_TERRITORY;
        if (transforms & ~l.transforms != 0) reasons |= _R_TRANSFORM;
        uint256 used = uint256(l.uses) + count;
        if (used > type(uint32).max || (l.maxUses != 0 && used > l.maxUses)) reasons |= _R_USES;
        if (l.flags & _F_SUSPENDED != 0) reasons |= _R_SUSPENDED;
    }

    /// @dev Validity in time: window, revocation, twin withdrawal.
    function _timeRefusals(License memory l, uint40 withdrawAt, uint40 time) private pure returns (uint256 reasons) {
        if (time < l.validFrom) reasons |= _R_NOT_YET_VALID;
        if (time >= l.validUntil) reasons |= l.revoked ? _R_REVOKED : _R_EXPIRED;
        if (withdrawAt != 0 && time >= withdrawAt) reasons |= _R_WITHDRAWN;
    }

    /// @dev Reverts with the custom error of the first refusal, in a fixed order.
    function _revertFor(
        uint256 reasons,
        uint256 licenseId,
        License memory l,
        uint40 withdrawAt,
        uint8 channel,
        uint16 territory,
        uint8 transforms
    ) private pure {
        if (reasons & _R_NOT_YET_VALID != 0) revert LicenseNotYetValid(licenseId, l.validFrom);
        if (reasons & _R_REVOKED != 0) revert LicenseRevokedAt(licenseId, l.validUntil);
        if (reasons & _R_EXPIRED != 0) revert LicenseExpired(licenseId, l.validUntil);
        if (reasons & _R_WITHDRAWN != 0) revert TwinWithdrawnAt(l.twinId, withdrawAt);
        if (reasons & _R_SUSPENDED != 0) revert LicenseIsSuspended(licenseId);
        if (reasons & _R_CHANNEL != 0) revert ChannelNotAllowed(licenseId, channel);
        if (reasons & _R_TERRITORY != 0) revert TerritoryNotAllowed(licenseId, territory);
        if (reasons & _R_TRANSFORM != 0) revert TransformationNotAllowed(licenseId, transforms & ~l.transforms);
        revert UsesExhausted(licenseId, l.maxUses, l.uses);
    }

    function _grant(Terms calldata t, Twin memory twin, address grantor)
        private
        returns (uint256 licenseId)
    {
        if (twin.withdrawAt != 0) revert TwinWithdrawnAt(t.twinId, twin.withdrawAt);
        if (t.licensee == address(0)) revert InvalidLicensee();
        if (t.channels == 0 || t.channels & ~_ALL_CHANNELS != 0) revert InvalidChannels(t.channels);
        if (!_validTerritories(t.territories)) revert InvalidTerritories(t.territories);
        if (t.validUntil <= t.validFrom || t.validUntil <= _time()) revert InvalidWindow(t.validFrom, t.validUntil);
        if (t.validUntil - t.validFrom > MAX_LICENSE_SECONDS) {
            revert LicenseTooLong(t.validFrom, t.validUntil, uint40(MAX_LICENSE_SECONDS));
        }
        uint8 flags = (t.trainingAllowed ? _F_TRAINING : 0) | (t.removeAfterEnd ? _F_REMOVE_AFTER_END : 0);
        uint256 currencyId;
        if (t.currency != address(0)) {
            currencyId = _currencyNumber(twin.owner, t.currency);
            flags |= _F_TOKEN_FEE;
        }
        licenseId = ++_licenseCount;
        ++_eventCount;
        // Both slots of the new License written once each, in the compiler's packing order
        // (first member in the lowest bits); uses = 0, revoked = false, not suspended.
        uint256 slotA = uint256(uint160(t.licensee)) | (uint256(uint32(t.twinId)) << 160)
            | (uint256(t.channels) << 192) | (uint256(t.transforms) << 200) | (uint256(t.maxUses) << 208)
            | (uint256(flags) << 240) | (currencyId << 248);
        uint256 slotB = uint256(t.validFrom) | (uint256(t.validUntil) << 40) | (uint256(t.feePerUse) << 112)
            | (uint256(t.territories) << 192);
        License storage lic = _licenses[licenseId];
        assembly ("memory-safe") {
            sstore(lic.slot, slotA)
            sstore(add(lic.slot, 1), slotB)
        }
        emit LicenseGranted(
            licenseId,
            t.twinId,
            t.licensee,
            grantor,
            t.channels,
            t.transforms,
            t.territories,
            t.validFrom,
            t.validUntil,
            t.maxUses,
            t.feePerUse,
            t.currency,
            flags,
            t.termsHash
        );
    }

    function _useNonce(address model, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonceBitmaps[model][nonce >> 8];
        if (bits & bit != 0) revert OfferNonceUsed(model, nonce);
        _nonceBitmaps[model][nonce >> 8] = bits | bit;
    }

    /// @dev EIP-712 digests. `Terms` holds only static types, so `abi.encode(typehash, t)` lays its fields out
    /// one word each, in order: the encoding of the typed data's members.
    function _offerDigest(Terms calldata t, uint256 nonce, uint256 deadline) private view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(OFFER_TYPEHASH, t, nonce, deadline)));
    }

    /// @dev The consent's digest over the grant's own terms: a consent to other terms recovers to someone else.
    function _consentDigest(Terms calldata t, AlterationConsent calldata c) private view returns (bytes32) {
        bytes32 termsStruct = keccak256(abi.encode(TERMS_TYPEHASH, t));
        return _typedDigest(keccak256(abi.encode(CONSENT_TYPEHASH, c.agent, termsStruct, c.nonce, c.deadline)));
    }

    function _typedDigest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", getDomainSeparator(), structHash));
    }

    /// @dev The number of `token` in `model`'s fee tokens, adding it (a contract, at most 255 per model)
    /// the first time she uses it.
    function _currencyNumber(address model, address token) private returns (uint256 number) {
        number = _currencyNumbers[model][token];
        if (number != 0) return number;
        number = _currencyCounts[model] + 1;
        if (token.code.length == 0 || number > type(uint8).max) revert InvalidCurrency(token);
        _currencyCounts[model] = number;
        _currencyTokens[model][number] = token;
        _currencyNumbers[model][token] = number;
    }

    /// @dev Pulls `amount` of `token` from `from` (transferFrom, allowance) and checks the registry's
    /// balance rose by exactly `amount`: a token that returns false, takes a fee on transfer or lies is
    /// refused, so fees credited always equal tokens held.
    function _pullToken(address token, address from, uint256 amount) private {
        uint256 before = _balanceHere(token, from, amount);
        bool ok = _tokenCall(token, abi.encodeWithSelector(0x23b872dd, from, address(this), amount));
        uint256 afterwards = _balanceHere(token, from, amount);
        if (!ok || afterwards < before || afterwards - before != amount) {
            revert TokenTransferFailed(token, from, amount);
        }
    }

    /// @dev Calls a token; true when the call succeeded and returned nothing or a true word. Copies at
    /// most one word of its answer (a token cannot make the caller pay for a huge return).
    function _tokenCall(address token, bytes memory data) private returns (bool ok) {
        uint256 size;
        uint256 word;
        assembly ("memory-safe") {
            ok := call(gas(), token, 0, add(data, 32), mload(data), 0, 32)
            size := returndatasize()
            word := mload(0)
        }
        if (ok && size == 0) return token.code.length != 0; // a token without a return value (USDT)
        return ok && size >= 32 && word == 1;
    }

    function _balanceHere(address token, address from, uint256 amount) private view returns (uint256 bal) {
        bool ok;
        uint256 size;
        assembly ("memory-safe") {
            mstore(0, 0x70a08231) // balanceOf(address)
            mstore(32, address())
            ok := staticcall(gas(), token, 28, 36, 0, 32)
            size := returndatasize()
            bal := mload(0)
        }
        if (!ok || size < 32) revert TokenTransferFailed(token, from, amount);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @dev ecrecover of a 65-byte (r, s, v) signature, refusing malleable high-s values; returns
    /// address(0) for anything malformed, which never equals a twin owner.
    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        if (v < 27) v += 27;
        return ecrecover(digest, v, r, s);
    }

    function _validTerritories(uint56 territories) private pure returns (bool) {
        if (territories == 0 || territories >> 50 != 0) return false;
        for (uint256 k; k < 5; ++k) {
            uint256 code = (territories >> (10 * k)) & 0x3ff;
            if (code >= _TERRITORY_CODES) return false;
        }
        return true;
    }

    /// @dev A publication's territory is a country, or a region (EU, WW) whose whole audience the
    /// license must cover: EU needs EU or WW among its territories, WW needs WW.
    function _covers(uint56 territories, uint16 territory) private pure returns (bool) {
        if (territory == 0 || territory >= _TERRITORY_CODES) return false;
        return _coversCode(territories, territory);
    }

    /// @dev Whether the packed `territories` cover code `code` (a country, EU or WW).
    function _coversCode(uint56 territories, uint256 code) private pure returns (bool) {
        bool inEU = code < 256 ? (_EU_BITS_0 >> code) & 1 == 1 : code < 512 && (_EU_BITS_1 >> (code - 256)) & 1 == 1;
        for (uint256 k; k < 5; ++k) {
            uint256 c = (territories >> (10 * k)) & 0x3ff;
            if (c == code || c == _WW || (c == _EU && (inEU || code == _EU))) return true;
        }
        return false;
    }

    /// @dev Whether every territory of a license lies within a mandate's territories.
    function _territoriesWithin(uint56 inner, uint56 outer) private pure returns (bool) {
        for (uint256 k; k < 5; ++k) {
            uint256 code = (inner >> (10 * k)) & 0x3ff;
            if (code != 0 && !_coversCode(outer, code)) return false;
        }
        return true;
    }
}
