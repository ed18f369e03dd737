// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Consentry consent registry — the interface a client reads
/// @notice Records fashion models' digital twins (a Merkle root over hashes of their capture
/// assets), the agents they mandate, the licenses they grant to brands and every image a brand
/// publishes under a license, with per-use fees paid to the model.
/// @dev Encodings (documented for every client):
///  - channels: bitmask, bit i = social(0) ecommerce(1) print(2) outdoor(3) video(4) editorial(5).
///  - transformations: bitmask, bit i = outfit(0) background(1) pose(2) lighting(3)
///    hair-makeup(4) age(5) body(6) face(7).
///  - territory code: ISO 3166-1 alpha-2 letters c1 c2 as (c1 - 'A') * 26 + (c2 - 'A');
///    "EU" (124) covers the EU member states, "WW" (594) covers every territory.
///  - a license's territories: up to 5 codes of 10 bits each, code k at bits [10k, 10k+10),
///    0 marks an empty place.
///  - imprint of a published image (62 bytes, IMPRINT_BYTES): the first 16 bytes of its canonical
///    pixel sha256, the 64-bit perceptual hash of its central region (the middle 80 % of each side,
///    which a crop of up to 10 % a side still shows whole; big-endian), then its 38-byte second-stage
///    signature (see README "Two-stage matching"). {Published} carries bytes [0:32) as `imprint`
///    (pixel prefix, pHash, the signature's first 8 bytes) and [32:62) as `signature`, followed by
///    two zero bytes; a client rebuilds the 38-byte signature as imprint[24:32] ‖ signature[0:30].
///  - every event the registry emits is counted: `counts().events` at a block equals the number of
///    logs the registry emitted up to that block, so an indexer can prove it saw every log.
///  - times are unix seconds; a license is valid at t when validFrom <= t < validUntil and its
///    twin is not withdrawn at t (withdrawAt == 0 or t < withdrawAt); a license suspended now is not
///    valid now (its suspensions and resumptions are in events). maxUses 0 means unlimited.
///  - a license's flags: 1 TRAINING (the images may be used to train AI models), 2 REMOVE_AFTER_END
///    (published images must be taken down once the license ends; without it they may remain),
///    4 SUSPENDED (the model suspended it: no publication until resumed), 8 TOKEN_FEE (the fee is in
///    the ERC-20 token `currencyOf(licenseId)`; without it, in the chain's native coin, wei).
///  - alterations: the transformations age(5), body(6) and face(7) (mask 0xE0). An agent grants them
///    only with the model's own EIP-712 consent ({grantLicenseWithConsent}); a mandate alone never
///    covers them. outfit, background, pose, lighting and hair-makeup stay within a mandate.
///  - termsHash: keccak256 of the license's terms document (README "Terms document": the purpose,
///    scope, rate, duration and the rest, as canonical JSON).
interface IConsentRegistry {
    // ------------------------------------------------------------------ types

    /// @notice A twin's on-chain state. Its asset roots and metadata live in events.
    struct Twin {
        address owner;
        uint40 withdrawAt; // 0 = active; otherwise withdrawn from this time on
    }

    /// @notice Caps a model sets on an agent's power to grant licenses for one twin.
    struct Mandate {
        uint40 expiry; // the mandate ends at this time; 0 = no mandate
        uint40 maxDuration; // longest license (validUntil - validFrom) the agent may grant, seconds
        uint8 channels; // channels the agent may grant
        uint8 transforms; // transformations the agent may allow
        uint80 minFee; // lowest fee per use the agent may grant, in the mandate's currency's smallest unit
        uint56 territories; // territories the agent may grant (packed like a license's)
        uint32 maxUses; // most uses a license granted by the agent may allow; 0 = no cap
        address currency; // the currency of the agent's licenses' fees (0 = native coin); minFee is in it
        bool training; // whether the agent may grant licenses that allow AI training
    }

    /// @notice A license as stored: two storage slots, the second holding all that revocation and
    /// publication change. A token fee's currency is a number in the model's list of tokens (`currencyOf`
    /// resolves it), so a license stays two slots.
    struct License {
        address licensee;
        uint32 twinId;
        uint8 channels;
        uint8 transforms;
        uint32 maxUses; // 0 = unlimited
        uint8 flags; // TRAINING 1, REMOVE_AFTER_END 2, SUSPENDED 4, TOKEN_FEE 8
        uint8 currencyId; // 0 = native coin; n = the twin owner's n-th fee token (see currencyOf)
        uint40 validFrom;
        uint40 validUntil; // on revocation: min(validUntil, effective time)
        uint32 uses;
        uint80 feePerUse; // in the license's currency's smallest unit (wei for the native coin)
        uint56 territories; // up to 5 packed territory codes
        bool revoked;
    }

    /// @notice Terms of a new license, as given to grant functions and signed in offers.
    struct Terms {
        uint256 twinId;
        address licensee;
        uint8 channels;
        uint8 transforms;
        uint56 territories;
        uint40 validFrom;
        uint40 validUntil;
        uint32 maxUses;
        uint80 feePerUse; // in `currency`'s smallest unit
        address currency; // an ERC-20 token, or 0 for the chain's native coin
        bool trainingAllowed; // the images may be used to train AI models (default: not)
        bool removeAfterEnd; // published images must be taken down when the license ends
        bytes32 termsHash; // keccak256 of the terms document (purpose, scope, rate, duration, ...)
    }

    /// @notice A model's own consent, signed (EIP-712) once, to an agent's grant of exactly these terms
    /// (every field of {Terms}, so the alterations cannot be stretched to other channels, places, dates,
    /// uses or fees under the same terms document).
    struct AlterationConsent {
        address agent; // the agent that may grant the terms
        uint256 nonce; // the model's, shared with offers: used once
        uint256 deadline; // the grant must happen by then
    }

    // ------------------------------------------------------------------ events

    /// @notice A model registered a twin.
    event TwinRegistered(
        uint256 indexed twinId,
        address indexed owner,
        bytes32 assetRoot,
        uint32 assetCount,
        bytes32 metadataHash,
        string metadataURI
    );
    /// @notice A model anchored a new asset root for a twin; earlier roots stay provable from events.
    event TwinAssetsAdded(uint256 indexed twinId, bytes32 assetRoot, uint32 assetCount);
    /// @notice A model withdrew a twin from `effectiveAt` on.
    event TwinWithdrawn(uint256 indexed twinId, uint40 effectiveAt);
    /// @notice A model appointed (or re-appointed) an agent for a twin with the given caps.
    event AgentAppointed(
        uint256 indexed twinId,
        address indexed agent,
        uint40 expiry,
        uint40 maxDuration,
        uint8 channels,
        uint8 transforms,
        uint80 minFee,
        uint56 territories,
        uint32 maxUses,
        address currency,
        bool training
    );
    /// @notice A model ended an agent's mandate.
    event AgentRevoked(uint256 indexed twinId, address indexed agent);
    /// @notice A license was granted by `grantor`: the model (directly or by its signed offer) or an agent
    /// (with the model's consent when it allows alterations). `flags`: TRAINING 1, REMOVE_AFTER_END 2,
    /// TOKEN_FEE 8; `currency` 0 is the native coin.
    event LicenseGranted(
        uint256 indexed licenseId,
        uint256 indexed twinId,
        address indexed licensee,
        address grantor,
        uint8 channels,
        uint8 transforms,
        uint56 territories,
        uint40 validFrom,
        uint40 validUntil,
        uint32 maxUses,
        uint80 feePerUse,
        address currency,
        uint8 flags,
        bytes32 termsHash
    );
    /// @notice A license was revoked by `by`, effective from `effectiveAt` (forward-only).
    event LicenseRevoked(uint256 indexed licenseId, address indexed by, uint40 effectiveAt);
    /// @notice The model suspended a license (a strike, a dispute): no publication until it is resumed.
    event LicenseSuspended(uint256 indexed licenseId, address indexed by);
    /// @notice The model resumed a suspended license.
    event LicenseResumed(uint256 indexed licenseId, address indexed by);
    /// @notice A licensee recorded `count` publications (uses firstUse .. firstUse+count-1); one
    /// {Published} event per image follows in the same transaction.
    /// The fee paid is count times the license's feePerUse, in its currency. `disclosures`: what the images carried when
    /// published (bitmask: 1 machine-readable AI disclosure in XMP/IPTC, 2 a signed C2PA manifest, 4 a
    /// visible label), so a stripped copy found later can still be shown to have been disclosed.
    event PublicationsRecorded(
        uint256 indexed licenseId,
        uint8 channel,
        uint16 territory,
        uint8 transforms,
        uint8 disclosures,
        uint32 firstUse,
        uint32 count
    );
    /// @notice One published image, with the image file's sha256 as an indexed topic: any client finds
    /// it with eth_getLogs(address = registry, topics = [Published.selector, contentHash]). It follows
    /// the {PublicationsRecorded} event of its batch in the same transaction. `imprint` is the pixel
    /// hash prefix (16 bytes), the central pHash (8) and the first 8 bytes of the 38-byte second-stage
    /// signature; `signature` its last 30 bytes, zero-padded (the signature is imprint[24:32] ‖ signature[0:30]).
    event Published(bytes32 indexed contentHash, bytes32 imprint, bytes32 signature);
    /// @notice `attester` vouches that twin `twinId`'s owner `owner` is the person its assets depict;
    /// `statementHash` commits to the attester's statement (keccak256 of its text, or zero).
    event TwinAttested(uint256 indexed twinId, address indexed attester, address owner, bytes32 statementHash);
    /// @notice `attester` withdrew its attestation of twin `twinId`.
    event TwinAttestationRevoked(uint256 indexed twinId, address indexed attester);
    /// @notice A model withdrew its accrued fees in `currency` (0 = native coin).
    event FeesWithdrawn(address indexed model, address indexed currency, uint256 amount);
    /// @notice A model cancelled an unused signed offer.
    event OfferCancelled(address indexed model, uint256 nonce);

    // ------------------------------------------------------------------ errors

    /// @notice Thrown when a twin id does not exist.
    error UnknownTwin(uint256 twinId);
    /// @notice Thrown when a license id does not exist.
    error UnknownLicense(uint256 licenseId);
    /// @notice Thrown when the caller is not the twin's owner.
    error NotTwinOwner(uint256 twinId, address account);
    /// @notice Thrown when the caller is neither the twin's owner nor an agent with a live mandate.
    error NotAuthorisedForTwin(uint256 twinId, address account);
    /// @notice Thrown when the twin is withdrawn (or its withdrawal is scheduled) at `withdrawAt`.
    error TwinWithdrawnAt(uint256 twinId, uint40 withdrawAt);
    /// @notice Thrown when an effective time lies in the past.
    error EffectiveTimeInPast(uint40 effectiveAt, uint40 nowTime);
    /// @notice Thrown when an asset root is zero or an asset count is zero.
    error EmptyAssets();
    /// @notice Thrown when a mandate's expiry is not in the future.
    error MandateExpiryInPast(uint40 expiry);
    /// @notice Thrown when a license's validity window is empty.
    error InvalidWindow(uint40 validFrom, uint40 validUntil);
    /// @notice Thrown when a license would last longer than ten years (`maxSeconds`): a digital-replica
    /// license is limited in time (US NO FAKES bill: at most ten years); renew it instead.
    error LicenseTooLong(uint40 validFrom, uint40 validUntil, uint40 maxSeconds);
    /// @notice Thrown when a license has no channel, or a bit outside the six channels.
    error InvalidChannels(uint8 channels);
    /// @notice Thrown when a license has no territory, or a code outside the table.
    error InvalidTerritories(uint56 territories);
    /// @notice Thrown when the licensee is the zero address.
    error InvalidLicensee();
    /// @notice Thrown when an agent's grant exceeds its mandate; `cap` names the cap: "duration",
    /// "start" (on or after the mandate's expiry), "channels", "transforms", "territories", "uses",
    /// "fee", "currency" or "training". Start and duration together keep every agent's license inside expiry + maxDuration.
    error MandateExceeded(uint256 twinId, address agent, string cap);
    /// @notice Thrown when a signed offer's deadline has passed.
    error OfferExpired(uint256 deadline, uint40 nowTime);
    /// @notice Thrown when a signed offer's nonce was already used or cancelled.
    error OfferNonceUsed(address model, uint256 nonce);
    /// @notice Thrown when an offer's signature is not the twin owner's for this chain and registry.
    error InvalidSignature(address recovered, address expected);
    /// @notice Thrown when a license is already ended (expired or revoked) at the time of revocation.
    error LicenseAlreadyEnded(uint256 licenseId, uint40 endedAt);
    /// @notice Thrown when the caller is not the license's licensee.
    error NotLicensee(uint256 licenseId, address account);
    /// @notice Thrown when a publication is attempted before the license's window opens.
    error LicenseNotYetValid(uint256 licenseId, uint40 validFrom);
    /// @notice Thrown when a publication is attempted after the license expired.
    error LicenseExpired(uint256 licenseId, uint40 validUntil);
    /// @notice Thrown when a publication is attempted after the license's revocation took effect.
    error LicenseRevokedAt(uint256 licenseId, uint40 effectiveAt);
    /// @notice Thrown when the license does not allow the publication's channel.
    error ChannelNotAllowed(uint256 licenseId, uint8 channel);
    /// @notice Thrown when the license does not cover the publication's territory.
    error TerritoryNotAllowed(uint256 licenseId, uint16 territory);
    /// @notice Thrown when the license does not allow some applied transformations (`disallowed`).
    error TransformationNotAllowed(uint256 licenseId, uint8 disallowed);
    /// @notice Thrown when the publications would exceed the license's maximum uses.
    error UsesExhausted(uint256 licenseId, uint32 maxUses, uint32 used);
    /// @notice Thrown when the value sent is not exactly fee per use times the number of images (native
    /// fee), or not zero (token fee, paid by allowance).
    error WrongFee(uint256 expected, uint256 sent);
    /// @notice Thrown when a license's or mandate's currency is not a contract (or its model already uses 255 tokens).
    error InvalidCurrency(address currency);
    /// @notice Thrown when a token transfer reverts or returns false (no allowance, no balance).
    error TokenTransferFailed(address currency, address from, uint256 amount);
    /// @notice Thrown when a publication is attempted, or a suspension repeated, while the license is suspended.
    error LicenseIsSuspended(uint256 licenseId);
    /// @notice Thrown when resuming a license that is not suspended.
    error LicenseNotSuspended(uint256 licenseId);
    /// @notice Thrown when an agent's grant allows alterations (age, body, face; `alterations`) without
    /// the model's own consent for them ({grantLicenseWithConsent}).
    error ModelConsentRequired(uint256 twinId, uint8 alterations);
    /// @notice Thrown when the model's consent is for another agent (`field` "agent"); a consent to other
    /// terms does not recover to the model (InvalidSignature).
    error ConsentMismatch(uint256 twinId, string field);
    /// @notice Thrown when a publication batch is empty or its arrays differ in length.
    error InvalidBatch(uint256 contentHashes, uint256 imprintBytes);
    /// @notice A disclosure bit outside 1 | 2 | 4.
    error InvalidDisclosures(uint8 disclosures);
    /// @notice Thrown when a model with no accrued fees asks to withdraw.
    error NothingToWithdraw(address model);
    /// @notice Thrown when sending the native-coin fees to the model fails.
    error TransferFailed(address model, uint256 amount);
    /// @notice Thrown when an agent revokes a license it did not grant.
    error NotGrantor(uint256 licenseId, address account);
    /// @notice Thrown when an attester revokes an attestation it has not made (or already revoked).
    error NotAttested(uint256 twinId, address attester);
    /// @notice Thrown when an attester attests a twin it already attests.
    error AlreadyAttested(uint256 twinId, address attester);

    // ------------------------------------------------------------------ twins

    /// @notice Registers a twin owned by the caller.
    /// @param assetRoot Merkle root over the sha256 hashes of the capture assets (see manifest format)
    /// @param assetCount number of assets under the root
    /// @param metadataHash keccak256 of the twin's metadata document
    /// @param metadataURI where the metadata document can be fetched (may be empty)
    /// @return twinId the new twin's id (ids start at 1)
    function registerTwin(bytes32 assetRoot, uint32 assetCount, bytes32 metadataHash, string calldata metadataURI)
        external
        returns (uint256 twinId);

    /// @notice Anchors a new asset root for a twin (owner only); the old roots stay in the event log.
    function addAssets(uint256 twinId, bytes32 assetRoot, uint32 assetCount) external;

    /// @notice Withdraws a twin from `effectiveAt` (0 = now) on. Forward-only: the time can be
    /// brought forward later, never undone. Publications before it stay authorised when published.
    function withdrawTwin(uint256 twinId, uint40 effectiveAt) external;

    // ------------------------------------------------------------------ agents

    /// @notice Lets `agent` grant licenses for a twin within `caps` (owner only), and revoke the
    /// licenses it granted while the mandate lasts. An agent's license starts before the mandate's
    /// expiry and ends no later than expiry + maxDuration.
    function appointAgent(uint256 twinId, address agent, Mandate calldata caps) external;

    /// @notice Ends `agent`'s mandate for a twin (owner only); NotAuthorisedForTwin when `agent` holds none.
    function revokeAgent(uint256 twinId, address agent) external;

    // ------------------------------------------------------------------ licenses

    /// @notice Grants a license; the caller is the twin's owner or an agent within its mandate (an agent
    /// allowing alterations needs {grantLicenseWithConsent}).
    /// @return licenseId the new license's id (ids start at 1)
    function grantLicense(Terms calldata terms) external returns (uint256 licenseId);

    /// @notice An agent grants a license that allows alterations (age, body, face) with the model's own
    /// EIP-712 consent to exactly these terms, granted by this agent; the terms stay within the agent's
    /// mandate too (except the alterations, which only her consent covers). The nonce is the model's
    /// (shared with offers), so a consent is used once.
    /// @dev Typed data: AlterationConsent(address agent,Terms terms,uint256 nonce,uint256 deadline) with
    /// Terms(uint256 twinId,address licensee,uint8 channels,uint8 transforms,uint56 territories,
    /// uint40 validFrom,uint40 validUntil,uint32 maxUses,uint80 feePerUse,address currency,
    /// bool trainingAllowed,bool removeAfterEnd,bytes32 termsHash), domain ("Consentry", "2", chainid, this).
    function grantLicenseWithConsent(Terms calldata terms, AlterationConsent calldata consent, bytes calldata signature)
        external
        returns (uint256 licenseId);

    /// @notice Grants a license from the twin owner's EIP-712 signed offer; anyone may submit it.
    /// @dev Typed data: Offer(uint256 twinId,address licensee,uint8 channels,uint8 transforms,
    /// uint56 territories,uint40 validFrom,uint40 validUntil,uint32 maxUses,uint80 feePerUse,
    /// address currency,bool trainingAllowed,bool removeAfterEnd,bytes32 termsHash,uint256 nonce,
    /// uint256 deadline), domain ("Consentry", "2", chainid, this). Nonces are any uint256: clients pick
    /// them at random, so two machines signing for one model never collide.
    function grantLicenseWithSignature(Terms calldata terms, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 licenseId);

    /// @notice Marks an offer nonce of the caller as used, so the offer signed with it can no longer be accepted.
    function cancelOffer(uint256 nonce) external;

    /// @notice Revokes a license from `effectiveAt` (0 = now) on; the twin's owner, or the agent that
    /// granted it while its mandate lasts.
    /// Forward-only: the end can be brought forward, never pushed back.
    function revokeLicense(uint256 licenseId, uint40 effectiveAt) external;

    /// @notice Suspends a license (twin owner only): publications are refused until {resumeLicense}.
    /// Unlike revocation it can be undone; publications made before it stay authorised.
    /// LicenseIsSuspended when already suspended, LicenseAlreadyEnded when the license has ended.
    function suspendLicense(uint256 licenseId) external;

    /// @notice Resumes a suspended license (twin owner only; also one that has ended meanwhile, which changes
    /// nothing else); LicenseNotSuspended otherwise.
    function resumeLicense(uint256 licenseId) external;

    // ------------------------------------------------------------------ publications and fees

    /// @notice Records images published under a license (licensee only), paying feePerUse per image:
    /// in native coin as msg.value, or for a token fee by the registry pulling the fee with
    /// transferFrom(licensee, registry, fee) (approve it first; msg.value must be 0).
    /// @param channel channel index (0..5)
    /// @param territory territory code where the images are published: a country, or a region (EU, WW)
    /// shown to its whole audience, allowed only when the license covers all of it (EU: EU or WW among its
    /// territories; WW: WW)
    /// @param transforms bitmask of the AI transformations applied
    /// @param disclosures bitmask of the disclosures the images carry (see {PublicationsRecorded})
    /// @param contentHashes sha256 of each image file
    /// @param imprints the images' imprints (62 bytes each: pixel-hash prefix, central perceptual hash,
    /// second-stage signature), concatenated
    function publish(
        uint256 licenseId,
        uint8 channel,
        uint16 territory,
        uint8 transforms,
        uint8 disclosures,
        bytes32[] calldata contentHashes,
        bytes calldata imprints
    ) external payable;

    /// @notice Sends the caller all fees credited to it in `currency` (0 = native coin).
    function withdrawFees(address currency) external;

    // ------------------------------------------------------------------ attestations

    /// @notice The caller vouches that twin `twinId`'s owner is the person its assets depict.
    /// A verifier that trusts the caller (an agency, a union, the capture studio) then trusts the twin.
    /// A withdrawn twin cannot be attested (TwinWithdrawnAt).
    function attestTwin(uint256 twinId, bytes32 statementHash) external;

    /// @notice The caller withdraws its attestation of twin `twinId`.
    function revokeAttestation(uint256 twinId) external;

    // ------------------------------------------------------------------ views

    /// @notice The registry's version string.
    function version() external pure returns (string memory);

    /// @notice A twin's owner and withdrawal time; reverts UnknownTwin.
    function getTwin(uint256 twinId) external view returns (Twin memory);

    /// @notice An agent's mandate for a twin (expiry 0 when none).
    function getMandate(uint256 twinId, address agent) external view returns (Mandate memory);

    /// @notice A license's stored terms and use count; reverts UnknownLicense.
    function getLicense(uint256 licenseId) external view returns (License memory);

    /// @notice Whether a license is valid at `time` (window, revocation, twin withdrawal; and not
    /// suspended now).
    function isLicenseValid(uint256 licenseId, uint40 time) external view returns (bool);

    /// @notice Why a publication of `count` images would be refused at `time`, as a bitmask
    /// (0 = it would be accepted): 1 unknown license, 2 not licensee, 4 not yet valid, 8 expired,
    /// 16 revoked, 32 twin withdrawn, 64 channel, 128 territory, 256 transformation, 512 uses exhausted,
    /// 1024 suspended (now).
    function checkPublication(
        uint256 licenseId,
        address licensee,
        uint8 channel,
        uint16 territory,
        uint8 transforms,
        uint32 count,
        uint40 time
    ) external view returns (uint256 reasons);

    /// @notice The fee tokens `model` has used, in the order first used (a license's currencyId n is the n-th).
    function currenciesOf(address model) external view returns (address[] memory);

    /// @notice Fees credited to `model` in `currency` (0 = native coin) and not yet withdrawn, in its
    /// smallest unit.
    function feeBalance(address model, address currency) external view returns (uint256);

    /// @notice The ERC-20 token a license's fee is paid in (0 = native coin); reverts UnknownLicense.
    function currencyOf(uint256 licenseId) external view returns (address);

    /// @notice Whether `model`'s offer nonce is used or cancelled.
    function isNonceUsed(address model, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator offers must be signed under.
    function getDomainSeparator() external view returns (bytes32);

    /// @notice Number of twins and licenses registered so far (ids are 1..count), and the number of
    /// events the registry has emitted (every log of this contract, in all transactions so far).
    function counts() external view returns (uint256 twins, uint256 licenses, uint256 events);

    /// @notice Who granted a license: the agent that granted it, or the twin's owner (directly or
    /// by signed offer); reverts UnknownLicense.
    function grantorOf(uint256 licenseId) external view returns (address);

    /// @notice When `attester` attested twin `twinId` (0 when it does not attest it now).
    function attestedAt(uint256 twinId, address attester) external view returns (uint40);
}
