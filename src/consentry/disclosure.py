"""Disclosure embedded in a published image: the XMP/IPTC fields and the C2PA manifest that say it is
AI-generated and point back to its consent record, and an optional visible label.

`embed` writes a disclosed copy in this order (IPTC: XMP written after signing breaks a manifest):
  1. (optional) a visible "AI-generated" badge in the bottom-right corner (the only step that touches
     pixels; a JPEG is re-encoded with its own quantisation tables);
  2. an XMP packet, inserted into the file's bytes (no re-encoding): IPTC digital source type, PLUS model
     release status and id, IPTC registry entries pointing to the license, web statement, data mining;
  3. (with a signer) a C2PA manifest signed with c2pa-python: actions (created + one edited per applied
     transformation), `cawg.metadata`, `cawg.training-mining` and Consentry's own `org.consentry.consent`.
The file is written once, atomically (temporary file in the same folder, then os.replace).

`read` says what a found file carries; the file is hostile until checked: XMP is parsed only when small
and free of DOCTYPE/ENTITY declarations, everything else in it becomes a warning, and c2pa-python's own
Reader judges the manifest. `Disclosed.applied` and `FileDisclosure` name the disclosures as bits
(METADATA, C2PA, LABEL), the encoding recorded on chain.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .errors import FileProblem, UsageError
from .text import safe

# ---------------------------------------------------------------- vocabulary

METADATA = 1  # XMP/IPTC fields
C2PA = 2  # a signed C2PA manifest
LABEL = 4  # a visible "AI-generated" badge
DISCLOSURE_NAMES = {METADATA: "metadata", C2PA: "c2pa", LABEL: "label"}

IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
# digital source types that say "made or altered by AI" (IPTC NewsCodes); `algorithmicallyEnhanced` (a denoise,
# a sharpen) does not
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "compositeSynthetic"}
)
MODEL_RELEASE_LIMITED = "http://ns.useplus.org/ldf/vocab/MR-LMR"
TRAINING_RULES = ("allowed", "notAllowed")
DATA_MINING = {
    "allowed": "http://ns.useplus.org/ldf/vocab/DMI-ALLOWED",
    "notAllowed": "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING",
}
CONSENT_LABEL = "org.consentry.consent"
CONSENT_VERSION = 1

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
}
MAX_XMP_BYTES = 1 << 20  # a real packet is a few KB; a larger one is ignored (with a warning), never parsed
MAX_XMP_TOTAL = 4 << 20  # all XMP-bearing chunks of one file together

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_LICENSE_URI = re.compile(r"^eip155:([0-9]{1,20}):(0x[0-9a-fA-F]{40})/license/([0-9]{1,78})$")
_REGISTRY_ID = re.compile(r"^eip155:([0-9]{1,20}):(0x[0-9a-fA-F]{40})$")
_ITEM = re.compile(r"^(license|twin)/([0-9]{1,78})$")


@dataclass(frozen=True)
class Pointer:
    """Where an image's consent is recorded: the registry (CAIP-2 chain + address), the twin, the license
    and its terms hash, the license's rule on AI training, and the transformations applied to this image."""

    chain_id: int
    registry: str  # 0x-address as given (checksummed by the CLI)
    twin_id: int
    license_id: int
    terms_hash: bytes  # 32 bytes, keccak256 of the license's terms
    training: str | None = None  # "allowed" | "notAllowed" | None (the license says nothing)
    transforms: tuple[str, ...] = ()

    def __post_init__(self):
        from . import vocab

        if not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise UsageError(f"bad chain id {self.chain_id!r}")
        if not _ADDRESS.match(self.registry or ""):
            raise UsageError(f"bad registry address {safe(self.registry)!r}")
        for name in ("twin_id", "license_id"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise UsageError(f"bad {name.replace('_', ' ')} {v!r}")
        if not isinstance(self.terms_hash, bytes) or len(self.terms_hash) != 32:
            raise UsageError("a terms hash is 32 bytes")
        if self.training is not None and self.training not in TRAINING_RULES:
            raise UsageError(f"bad training rule {safe(self.training)!r}: choose from {', '.join(TRAINING_RULES)}")
        object.__setattr__(self, "transforms", tuple(t.strip().lower() for t in self.transforms))
        vocab.transform_mask(self.transforms)  # UsageError naming an unknown transformation

    @property
    def registry_id(self) -> str:
        """CAIP-10 style: `eip155:<chain id>:<registry address>`."""
        return f"eip155:{self.chain_id}:{self.registry}"

    @property
    def license_uri(self) -> str:
        return f"{self.registry_id}/license/{self.license_id}"

    @property
    def terms_hash_hex(self) -> str:
        return "0x" + self.terms_hash.hex()


@dataclass(frozen=True)
class Disclosed:
    """What `embed` wrote: the disclosed copy and the disclosures it carries (bits METADATA | C2PA | LABEL)."""

    path: Path
    applied: int
    format: str  # "JPEG", "PNG", "WEBP"
    manifest_label: str | None = None  # the C2PA manifest's urn when signed
    warnings: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return disclosure_names(self.applied)


@dataclass(frozen=True)
class Claim:
    """A consent record a file claims to be published under (unverified: compare with the chain)."""

    chain_id: int
    registry: str
    license_id: int
    twin_id: int | None
    source: str  # "xmp" or "c2pa"


@dataclass(frozen=True)
class Manifest:
    """The active C2PA manifest as c2pa-python judged it."""

    state: str  # "trusted" | "valid" | "valid-untrusted" | "invalid"
    c2pa_state: str  # c2pa's own validation_state ("Trusted", "Valid", "Invalid") or "unreadable"
    failures: tuple[str, ...]  # validation status codes of failures (e.g. assertion.dataHash.mismatch)
    signer: str | None  # the signing certificate's common name, as c2pa reports it
    signer_org: str | None  # c2pa's `signature_info.issuer`: the organisation named in the signing certificate
    label: str | None
    digital_source_type: str | None  # of the c2pa.created action (or the metadata assertion)
    actions: tuple[str, ...] = ()
    transforms: tuple[str, ...] = ()  # Consentry transformations named by c2pa.edited actions
    training: str | None = None  # cawg.training-mining's ai_training rule
    consent: dict | None = None  # org.consentry.consent's content
    error: str | None = None


@dataclass(frozen=True)
class FileDisclosure:
    """What a found file carries. `disclosed_in_file`: an AI digital source type in its XMP or its C2PA
    manifest (whatever the manifest's validity: a disclosure is never forged to one's disadvantage)."""

    path: Path
    format: str
    digital_source_type: str | None = None  # from XMP
    model_release_status: str | None = None
    model_release_ids: tuple[str, ...] = ()
    registry_ids: tuple[tuple[str, str], ...] = ()  # (RegOrgId, RegItemId)
    web_statement: str | None = None
    data_mining: str | None = None
    manifest: Manifest | None = None
    claims: tuple[Claim, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def xmp_ai(self) -> bool:
        return _is_ai(self.digital_source_type)

    @property
    def c2pa_ai(self) -> bool:
        return self.manifest is not None and _is_ai(self.manifest.digital_source_type)

    @property
    def disclosed_in_file(self) -> bool:
        return self.xmp_ai or self.c2pa_ai

    @property
    def carried(self) -> int:
        """The disclosure bits this file shows (LABEL cannot be read back: it is pixels)."""
        return (METADATA if self.xmp_ai else 0) | (C2PA if self.manifest is not None and self.c2pa_ai else 0)

    def to_dict(self) -> dict:
        m = self.manifest
        return {
            "disclosed_in_file": self.disclosed_in_file,
            "digital_source_type": self.digital_source_type,
            "model_release_status": self.model_release_status,
            "model_release_ids": list(self.model_release_ids),
            "registry_ids": [{"org": o, "item": i} for o, i in self.registry_ids],
            "web_statement": self.web_statement,
            "data_mining": self.data_mining,
            "c2pa": None
            if m is None
            else {
                "state": m.state,
                "c2pa_state": m.c2pa_state,
                "failures": list(m.failures),
                "signer": m.signer,
                "signer_org": m.signer_org,
                "label": m.label,
                "digital_source_type": m.digital_source_type,
                "actions": list(m.actions),
                "transforms": list(m.transforms),
                "training": m.training,
                "consent": m.consent,
                "error": m.error,
            },
            "claims": [
                {
                    "chain_id": c.chain_id,
                    "registry": c.registry,
                    "license_id": c.license_id,
                    "twin_id": c.twin_id,
                    "source": c.source,
                }
                for c in self.claims
            ],
            "warnings": list(self.warnings),
        }


def disclosure_names(bits: int) -> list[str]:
    return [n for b, n in DISCLOSURE_NAMES.items() if bits & b]


def _is_ai(source_type: str | None) -> bool:
    return bool(source_type) and source_type.rstrip("/").rsplit("/", 1)[-1] in AI_SOURCE_TYPES


def _source_type_uri(source_type: str) -> str:
    if source_type not in SOURCE_TYPES:
        raise UsageError(f"unknown digital source type {safe(source_type)!r}: choose from {', '.join(SOURCE_TYPES)}")
    return IPTC_SOURCE_TYPE + source_type


# ---------------------------------------------------------------- signer


@dataclass(frozen=True)
class Signer:
    """A C2PA signing identity: a certificate chain (leaf first, then its CA(s)) and the leaf's private key
    (PKCS#8 PEM). c2pa-python refuses a self-signed certificate: use one issued by a CA (your own is fine; it
    reads back as valid but untrusted unless the verifier trusts that CA)."""

    chain_pem: bytes
    key_pem: bytes = field(repr=False)  # never printed
    alg: str  # es256 | es384 | es512 | ps256 | ed25519
    subject: str
    issuer: str
    tsa_url: str | None = None

    @classmethod
    def from_files(cls, cert_chain_pem: str | Path, key_pem: str | Path, *, tsa_url: str | None = None) -> "Signer":
        chain = _read_small(Path(cert_chain_pem), "certificate chain")
        key = _read_small(Path(key_pem), "private key")
        return cls.from_pem(chain, key, tsa_url=tsa_url, names=(str(cert_chain_pem), str(key_pem)))

    @classmethod
    def from_pem(
        cls,
        chain: bytes,
        key: bytes,
        *,
        tsa_url: str | None = None,
        names: tuple[str, str] = ("certificate chain", "private key"),
    ) -> "Signer":
        import datetime as dt

        from cryptography import x509
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        cert_name, key_name = (safe(n) for n in names)
        try:
            certs = x509.load_pem_x509_certificates(chain)
        except ValueError:
            raise FileProblem(
                f"{cert_name} is not a PEM certificate chain (the signing certificate first, then its CA)"
            ) from None
        leaf = certs[0]
        if leaf.subject == leaf.issuer and _signed_by(leaf, leaf):
            raise FileProblem(
                f"{cert_name}: the signing certificate is self-signed, which C2PA refuses; use a "
                "certificate issued by a CA (`make_dev_ca` makes a test CA and certificate)"
            )
        now = dt.datetime.now(dt.timezone.utc)
        if leaf.not_valid_after_utc < now:
            raise FileProblem(f"{cert_name}: the signing certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
        if leaf.not_valid_before_utc > now:
            raise FileProblem(f"{cert_name}: the signing certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
        try:
            pkey = serialization.load_pem_private_key(key, password=None)
        except TypeError:
            raise FileProblem(
                f"{key_name} is encrypted; give an unencrypted PKCS#8 key "
                "(openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem), kept 0600"
            ) from None
        except (ValueError, UnsupportedAlgorithm) as e:
            raise FileProblem(f"{key_name} is not a PEM private key ({type(e).__name__})") from None
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        if pkey.public_key().public_bytes(serialization.Encoding.DER, pub) != leaf.public_key().public_bytes(
            serialization.Encoding.DER, pub
        ):
            raise FileProblem(f"{key_name} is not the key of the first certificate in {cert_name}")
        if isinstance(pkey, ec.EllipticCurvePrivateKey):
            alg = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(pkey.curve.name)
        elif isinstance(pkey, ed25519.Ed25519PrivateKey):
            alg = "ed25519"
        elif isinstance(pkey, rsa.RSAPrivateKey):
            alg = "ps256"
        else:
            alg = None
        if alg is None:
            raise FileProblem(f"{key_name}: C2PA signs with EC P-256/384/521, Ed25519 or RSA-PSS keys, not this one")
        pkcs8 = pkey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return cls(chain, pkcs8, alg, leaf.subject.rfc4514_string(), leaf.issuer.rfc4514_string(), tsa_url)

    def _c2pa(self):
        import c2pa

        info = c2pa.C2paSignerInfo(alg=self.alg.encode(), sign_cert=self.chain_pem, private_key=self.key_pem, ta_url=self.tsa_url)
        return c2pa.Signer.from_info(info)


def _signed_by(cert, issuer) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:  # ValueError, TypeError or InvalidSignature: "not issued by it"
        return False


def _read_small(p: Path, what: str, limit: int = 1 << 20) -> bytes:
    from .files import read_bounded

    return read_bounded(p, what, limit)


@dataclass(frozen=True)
class DevCA:
    chain: Path  # leaf then CA: give it to `Signer.from_files`
    key: Path  # the leaf's key (PKCS#8, 0600)
    ca: Path  # the CA certificate: a verifier's trust anchor


def make_dev_ca(directory: str | Path, *, org: str = "Consentry dev brand", overwrite: bool = False) -> DevCA:
    """A throwaway CA (EC P-256) and a C2PA signing certificate it issued, for tests and demos. Writes
    chain.pem, key.pem (0600) and ca.pem into `directory`; the CA's own key is not kept."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d = Path(directory)
    out = DevCA(d / "chain.pem", d / "key.pem", d / "ca.pem")
    if not overwrite:
        for p in (out.chain, out.key, out.ca):
            if p.exists():
                raise FileProblem(f"{safe(str(p))} already exists (refusing to overwrite a signing identity)")
    now = dt.datetime.now(dt.timezone.utc)

    def usage(**on):
        names = (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        )
        return x509.KeyUsage(**{n: on.get(n, False) for n in names})

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"{org} test CA"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"{org} C2PA signer"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write_atomic(out.ca, ca.public_bytes(pem))
    _write_atomic(out.chain, leaf.public_bytes(pem) + ca.public_bytes(pem))
    _write_atomic(out.key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), mode=0o600)
    return out


# ---------------------------------------------------------------- containers (JPEG segments, PNG chunks, RIFF)

XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_JPEG_ID = b"http://ns.adobe.com/xmp/extension/\x00"
PNG_SIG = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEY = b"XML:com.adobe.xmp"


class _Malformed(ValueError):
    pass


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """[(marker, start, end)] of the marker segments before the scan, and where the scan (SOS) starts."""
    if data[:2] != b"\xff\xd8":
        raise _Malformed("no JPEG start marker")
    out, i, n = [], 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise _Malformed(f"no marker at byte {i}")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = data[i]
        start = i - 1
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data and trailing segments
            return out, start
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers
            out.append((marker, start, i + 1))
            i += 1
            continue
        if i + 3 > n:
            raise _Malformed("truncated segment header")
        length = struct.unpack(">H", data[i + 1 : i + 3])[0]
        if length < 2 or i + 1 + length > n:
            raise _Malformed(f"segment at byte {start} runs past the end")
        out.append((marker, start, i + 1 + length))
        i += 1 + length
    raise _Malformed("no image data (no start of scan)")


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """[(type, start, end)] of every chunk up to and including IEND."""
    if not data.startswith(PNG_SIG):
        raise _Malformed("no PNG signature")
    out, i, n = [], len(PNG_SIG), len(data)
    while i + 8 <= n:
        length, ctype = struct.unpack(">I4s", data[i : i + 8])
        end = i + 12 + length
        if end > n:
            raise _Malformed(f"chunk {ctype!r} runs past the end")
        out.append((ctype, i, end))
        i = end
        if ctype == b"IEND":
            return out
    raise _Malformed("no IEND chunk (truncated)")


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def _riff_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """[(fourcc, start, end incl. padding)] of a WebP file's chunks."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Malformed("not a RIFF WebP file")
    out, i, n = [], 12, min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while i + 8 <= n:
        fourcc, size = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])[0]
        end = i + 8 + size + (size & 1)
        if i + 8 + size > n:
            raise _Malformed(f"chunk {fourcc!r} runs past the end")
        out.append((fourcc, i, min(end, n)))
        i = end
    return out


def _riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")


def _with_xmp(data: bytes, fmt: str, xmp: bytes, size: tuple[int, int], alpha: bool) -> tuple[bytes, bool]:
    """`data` with its XMP replaced by `xmp` and any C2PA manifest removed (a manifest would no longer
    validate once bytes change): (new bytes, whether a manifest was removed). No pixel is re-encoded."""
    removed = False
    if fmt == "JPEG":
        segs, scan = _jpeg_segments(data)
        keep = []
        for marker, s, e in segs:
            payload = data[s + 4 : e]
            if marker == 0xE1 and (payload.startswith(XMP_JPEG_ID) or payload.startswith(XMP_EXT_JPEG_ID)):
                continue
            if marker == 0xEB and payload[:2] == b"JP":  # JUMBF (C2PA) in APP11
                removed = True
                continue
            keep.append((marker, s, e))
        at = 0  # after the leading JFIF (APP0) and Exif (APP1) segments
        while at < len(keep) and keep[at][0] in (0xE0, 0xE1):
            at += 1
        segment = XMP_JPEG_ID + xmp
        if len(segment) + 2 > 0xFFFF:
            raise UsageError("the XMP packet is too large for one JPEG segment")
        app1 = b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
        parts = [data[:2], *(data[s:e] for _, s, e in keep[:at]), app1, *(data[s:e] for _, s, e in keep[at:])]
        return b"".join(parts) + data[scan:], removed
    if fmt == "PNG":
        chunks = _png_chunks(data)
        parts = [PNG_SIG]
        for ctype, s, e in chunks:
            if ctype == b"iTXt" and data[s + 8 : s + 8 + len(PNG_XMP_KEY) + 1] == PNG_XMP_KEY + b"\x00":
                continue
            if ctype == b"caBX":
                removed = True
                continue
            parts.append(data[s:e])
            if ctype == b"IHDR":  # iTXt: keyword, no compression, no language, no translated keyword
                parts.append(_png_chunk(b"iTXt", PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + xmp))
        return b"".join(parts), removed
    if fmt == "WEBP":
        chunks = _riff_chunks(data)
        body = []
        vp8x = None
        for fourcc, s, e in chunks:
            if fourcc == b"XMP ":
                continue
            if fourcc == b"C2PA":
                removed = True
                continue
            if fourcc == b"VP8X":
                vp8x = bytearray(data[s + 8 : s + 18])
                continue
            body.append(data[s:e])
        if vp8x is None:  # a simple WebP: describe the canvas so that chunks may follow
            w, h = size
            vp8x = bytearray(
                bytes([0x10 if alpha else 0, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
            )
        vp8x[0] |= 0x04  # XMP present
        payload = _riff_chunk(b"VP8X", bytes(vp8x)) + b"".join(body) + _riff_chunk(b"XMP ", xmp)
        return b"RIFF" + struct.pack("<I", 4 + len(payload)) + b"WEBP" + payload, removed
    raise UsageError(f"cannot embed a disclosure in a {fmt} file: use JPEG, PNG or WebP")


def _xmp_packets(data: bytes, fmt: str, warnings: list[str]) -> list[bytes]:
    """The XMP packets a file carries (never more than MAX_XMP_TOTAL bytes read)."""
    out, total = [], 0

    def take(raw: bytes, where: str):
        nonlocal total
        total += len(raw)
        if len(raw) > MAX_XMP_BYTES or total > MAX_XMP_TOTAL:
            warnings.append(f"XMP in {where} ignored: {len(raw):,} bytes is more than a disclosure needs")
        else:
            out.append(raw)

    try:
        if fmt == "JPEG":
            segs, _ = _jpeg_segments(data)
            for marker, s, e in segs:
                if marker == 0xE1 and data[s + 4 : e].startswith(XMP_JPEG_ID):
                    take(data[s + 4 + len(XMP_JPEG_ID) : e], "a JPEG APP1 segment")
                elif marker == 0xE1 and data[s + 4 : e].startswith(XMP_EXT_JPEG_ID):
                    warnings.append("extended XMP (split over several JPEG segments) ignored")
        elif fmt == "PNG":
            for ctype, s, e in _png_chunks(data):
                payload = data[s + 8 : e - 4]
                if ctype != b"iTXt" or not payload.startswith(PNG_XMP_KEY + b"\x00"):
                    continue
                rest = payload[len(PNG_XMP_KEY) + 1 :]
                if len(rest) < 2:
                    warnings.append("a malformed XMP iTXt chunk ignored")
                    continue
                compressed, text = rest[0], rest[2:]
                text = text.split(b"\x00", 2)  # language tag, translated keyword, text
                if len(text) != 3:
                    warnings.append("a malformed XMP iTXt chunk ignored")
                    continue
                text = text[2]
                if compressed:
                    d = zlib.decompressobj()
                    try:
                        text = d.decompress(text, MAX_XMP_BYTES + 1)
                    except zlib.error:
                        warnings.append("a corrupt compressed XMP chunk ignored")
                        continue
                take(text, "a PNG iTXt chunk")
        elif fmt == "WEBP":
            for fourcc, s, e in _riff_chunks(data):
                if fourcc == b"XMP ":
                    size = struct.unpack("<I", data[s + 4 : s + 8])[0]
                    take(data[s + 8 : s + 8 + size], "a WebP XMP chunk")
    except _Malformed as e:
        warnings.append(f"the file's structure is damaged ({e}); its XMP could not be read")
    return out


# ---------------------------------------------------------------- XMP


def xmp_packet(pointer: Pointer, source_type: str = "trainedAlgorithmicMedia", verifier_url: str | None = None) -> bytes:
    """The XMP packet `embed` writes (RDF/XML, UTF-8)."""
    a = quoteattr
    props = [
        f"<Iptc4xmpExt:DigitalSourceType rdf:resource={a(_source_type_uri(source_type))}/>",
        f"<plus:ModelReleaseStatus rdf:resource={a(MODEL_RELEASE_LIMITED)}/>",
        f"<plus:ModelReleaseID><rdf:Bag><rdf:li>{escape(pointer.license_uri)}</rdf:li></rdf:Bag></plus:ModelReleaseID>",
        "<Iptc4xmpExt:RegistryId><rdf:Bag>"
        + "".join(
            f'<rdf:li rdf:parseType="Resource"><Iptc4xmpExt:RegOrgId>{escape(pointer.registry_id)}</Iptc4xmpExt:RegOrgId>'
            f"<Iptc4xmpExt:RegItemId>{item}</Iptc4xmpExt:RegItemId></rdf:li>"
            for item in (f"license/{pointer.license_id}", f"twin/{pointer.twin_id}")
        )
        + "</rdf:Bag></Iptc4xmpExt:RegistryId>",
    ]
    if verifier_url:
        props.append(f"<xmpRights:WebStatement>{escape(verifier_url)}</xmpRights:WebStatement>")
    if pointer.training:
        props.append(f"<plus:DataMining rdf:resource={a(DATA_MINING[pointer.training])}/>")
    ns = " ".join(f"xmlns:{p}={a(NS[p])}" for p in ("Iptc4xmpExt", "plus", "xmpRights"))
    body = "\n    ".join(props)
    return (
        f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="consentry">\n'
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
        f'  <rdf:Description rdf:about="" {ns}>\n    {body}\n  </rdf:Description>\n'
        f' </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>'
    ).encode("utf-8")


_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_OTHER_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["'](?!utf-?8["'])""", re.IGNORECASE)


def _parse_xmp(raw: bytes, warnings: list[str]) -> dict:
    """The fields Consentry reads from one packet; {} (and a warning) when it is not safe, well-formed XMP.
    A DOCTYPE or ENTITY declaration is refused outright (no entity expansion, no external entities)."""
    import xml.etree.ElementTree as ET

    body = raw.strip(b"\x00 \t\r\n")
    if b"\x00" in body or body[:2] in (b"\xff\xfe", b"\xfe\xff") or _OTHER_ENCODING.search(body[:200]):
        # UTF-16/32 would hide "<!DOCTYPE" from the byte search below (and XMP in JPEG, PNG and WebP is UTF-8)
        warnings.append("XMP ignored: it is not UTF-8 (a UTF-16 or UTF-32 packet is not read)")
        return {}
    if _DECLARATION.search(raw):
        warnings.append("XMP ignored: it declares a DOCTYPE or entities (XMP never needs them)")
        return {}
    try:
        root = ET.fromstring(raw.strip(b"\x00 \t\r\n"))
    except ET.ParseError as e:
        warnings.append(f"XMP ignored: not well-formed XML ({e})")
        return {}
    except (ValueError, RecursionError) as e:
        warnings.append(f"XMP ignored: {type(e).__name__}")
        return {}

    def q(prefix, name):
        return f"{{{NS[prefix]}}}{name}"

    rdf_li, rdf_res, rdf_desc = q("rdf", "li"), q("rdf", "resource"), q("rdf", "Description")
    found: dict = {}

    def text_of(el) -> str | None:
        if el.get(rdf_res) is not None:
            return el.get(rdf_res)
        lis = [li for li in el.iter(rdf_li)]
        if lis:
            return (lis[0].text or lis[0].get(rdf_res) or "").strip() or None
        return (el.text or "").strip() or None

    simple = {
        q("Iptc4xmpExt", "DigitalSourceType"): "digital_source_type",
        q("plus", "ModelReleaseStatus"): "model_release_status",
        q("xmpRights", "WebStatement"): "web_statement",
        q("plus", "DataMining"): "data_mining",
    }
    for desc in root.iter(rdf_desc):
        for attr, value in desc.attrib.items():
            if attr in simple:
                found.setdefault(simple[attr], value.strip())
        for el in desc:
            if el.tag in simple:
                v = text_of(el)
                if v:
                    found.setdefault(simple[el.tag], v)
            elif el.tag == q("plus", "ModelReleaseID"):
                ids = [(li.text or "").strip() for li in el.iter(rdf_li)] or [(el.text or "").strip()]
                found.setdefault("model_release_ids", []).extend(i for i in ids if i)
            elif el.tag == q("Iptc4xmpExt", "RegistryId"):
                for li in el.iter(rdf_li):
                    org = li.find(".//" + q("Iptc4xmpExt", "RegOrgId"))
                    item = li.find(".//" + q("Iptc4xmpExt", "RegItemId"))
                    org_v = (org.text if org is not None else li.get(q("Iptc4xmpExt", "RegOrgId"))) or ""
                    item_v = (item.text if item is not None else li.get(q("Iptc4xmpExt", "RegItemId"))) or ""
                    found.setdefault("registry_ids", []).append((org_v.strip(), item_v.strip()))
    return found


def _claims_from_xmp(fields: dict) -> list[Claim]:
    out = []
    by_org: dict[str, dict] = {}
    for org, item in fields.get("registry_ids", []):
        m, mi = _REGISTRY_ID.match(org), _ITEM.match(item)
        if m and mi:
            by_org.setdefault(org.lower(), {"org": m})[mi.group(1)] = int(mi.group(2))
    for d in by_org.values():
        if "license" in d:
            out.append(Claim(int(d["org"].group(1)), d["org"].group(2), d["license"], d.get("twin"), "xmp"))
    for uri in fields.get("model_release_ids", []):
        m = _LICENSE_URI.match(uri)
        if m:
            c = Claim(int(m.group(1)), m.group(2), int(m.group(3)), None, "xmp")
            if not any(_same(c, o) for o in out):
                out.append(c)
    return out


def _same(a: Claim, b: Claim) -> bool:
    return (a.chain_id, a.registry.lower(), a.license_id) == (b.chain_id, b.registry.lower(), b.license_id)


# ---------------------------------------------------------------- C2PA


def manifest_definition(pointer: Pointer, source_type: str, title: str, verifier_url: str | None = None) -> dict:
    """The C2PA manifest `embed` signs."""
    from . import __version__ as version

    dst = _source_type_uri(source_type)
    actions = [{"action": "c2pa.created", "digitalSourceType": dst, "softwareAgent": {"name": "consentry", "version": version}}]
    for t in pointer.transforms:
        actions.append(
            {
                "action": "c2pa.edited",
                "digitalSourceType": dst,
                "description": f"AI transformation of the licensed likeness: {t}",
                "parameters": {"org.consentry.transformation": t},
            }
        )
    metadata = {
        "@context": {p: NS[p] for p in ("Iptc4xmpExt", "plus", "xmpRights")},
        "Iptc4xmpExt:DigitalSourceType": dst,
        "plus:ModelReleaseStatus": MODEL_RELEASE_LIMITED,
        "plus:ModelReleaseID": [pointer.license_uri],
        "Iptc4xmpExt:RegistryId": [
            {"Iptc4xmpExt:RegOrgId": pointer.registry_id, "Iptc4xmpExt:RegItemId": item}
            for item in (f"license/{pointer.license_id}", f"twin/{pointer.twin_id}")
        ],
    }
    if verifier_url:
        metadata["xmpRights:WebStatement"] = verifier_url
    if pointer.training:
        metadata["plus:DataMining"] = DATA_MINING[pointer.training]
    assertions = [
        {"label": "c2pa.actions.v2", "data": {"actions": actions}},
        {"label": "cawg.metadata", "data": metadata},
    ]
    if pointer.training:
        assertions.append(
            {
                "label": "cawg.training-mining",
                "data": {
                    "entries": {
                        "cawg.ai_training": {"use": pointer.training},
                        "cawg.ai_generative_training": {"use": pointer.training},
                    }
                },
            }
        )
    assertions.append(
        {
            "label": CONSENT_LABEL,
            "data": {
                "version": CONSENT_VERSION,
                "chain_id": pointer.chain_id,
                "registry": pointer.registry,
                "registry_id": pointer.registry_id,
                "twin_id": pointer.twin_id,
                "license_id": pointer.license_id,
                "terms_hash": pointer.terms_hash_hex,
                "training": pointer.training,
                "transforms": list(pointer.transforms),
            },
        }
    )
    return {"claim_generator_info": [{"name": "consentry", "version": version}], "title": title, "assertions": assertions}


_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _c2pa_message(e: Exception) -> str:
    return safe(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)[:200]


def _sign(data: bytes, fmt: str, definition: dict, signer: Signer) -> bytes:
    import c2pa

    try:
        # no claim thumbnail: it would copy the image itself into the file (~130 KB for a 1080-px JPEG)
        context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        builder = c2pa.Builder(definition, context)
        out = io.BytesIO()
        builder.sign(signer._c2pa(), _MIME[fmt], io.BytesIO(data), out)
    except c2pa.C2paError as e:
        raise FileProblem(f"C2PA signing failed: {_c2pa_message(e)} (signer {safe(signer.subject)})") from None
    return out.getvalue()


def _trust_context(trust_anchors: str | bytes | Path | None):
    import c2pa

    if trust_anchors is None:
        return None
    pem = trust_anchors if isinstance(trust_anchors, (str, bytes)) else _read_small(Path(trust_anchors), "trust anchor")
    pem = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    try:
        return c2pa.Context.from_dict({"trust": {"trust_anchors": pem}, "verify": {"verify_trust": True}})
    except c2pa.C2paError as e:
        raise FileProblem(f"unusable trust anchors: {_c2pa_message(e)}") from None


def _has_jumbf(data: bytes, fmt: str) -> bool:
    try:
        if fmt == "JPEG":
            return any(m == 0xEB and data[s + 4 : s + 6] == b"JP" for m, s, _ in _jpeg_segments(data)[0])
        if fmt == "PNG":
            return any(t == b"caBX" for t, _, _ in _png_chunks(data))
        if fmt == "WEBP":
            return any(t == b"C2PA" for t, _, _ in _riff_chunks(data))
    except _Malformed:
        pass
    return b"jumb" in data and b"c2pa" in data


def _read_manifest(data: bytes, fmt: str, context, warnings: list[str]) -> Manifest | None:
    import c2pa

    try:
        reader = (
            c2pa.Reader(_MIME[fmt], io.BytesIO(data), None, context)
            if context is not None
            else c2pa.Reader(_MIME[fmt], io.BytesIO(data))
        )
    except c2pa.C2paError as e:
        if isinstance(e, c2pa.C2paError.ManifestNotFound) or not _has_jumbf(data, fmt):
            if not isinstance(e, c2pa.C2paError.ManifestNotFound):
                warnings.append(f"c2pa could not parse the file: {_c2pa_message(e)}")
            return None
        return Manifest("invalid", "unreadable", (), None, None, None, None, error=_c2pa_message(e))
    try:
        with reader:
            store = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as e:
        return Manifest("invalid", "unreadable", (), None, None, None, None, error=_c2pa_message(e))
    active = (store.get("manifests") or {}).get(store.get("active_manifest") or "")
    c2pa_state = str(store.get("validation_state") or "Invalid")
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = tuple(str(s.get("code")) for s in results.get("failure") or [] if isinstance(s, dict))
    if not failures and store.get("validation_status"):
        failures = tuple(str(s.get("code")) for s in store["validation_status"] if isinstance(s, dict))
    untrusted = "signingCredential.untrusted" in failures
    state = {"Trusted": "trusted", "Valid": "valid-untrusted" if untrusted else "valid"}.get(c2pa_state, "invalid")
    if not isinstance(active, dict):
        return Manifest("invalid", c2pa_state, failures, None, None, None, None, error="no active manifest")
    sig = active.get("signature_info") or {}
    dst, names, transforms, training, consent = None, [], [], None, None
    for a in active.get("assertions") or []:
        if not isinstance(a, dict):
            continue
        label, d = a.get("label"), a.get("data")
        if not isinstance(d, dict):
            continue
        if label in ("c2pa.actions", "c2pa.actions.v2"):
            for act in d.get("actions") or []:
                if not isinstance(act, dict):
                    continue
                names.append(str(act.get("action")))
                if act.get("action") == "c2pa.created" and isinstance(act.get("digitalSourceType"), str):
                    dst = act["digitalSourceType"]
                t = (
                    (act.get("parameters") or {}).get("org.consentry.transformation")
                    if isinstance(act.get("parameters"), dict)
                    else None
                )
                if isinstance(t, str):
                    transforms.append(t)
        elif label in ("cawg.metadata", "c2pa.metadata") and dst is None:
            v = d.get("Iptc4xmpExt:DigitalSourceType")
            dst = v if isinstance(v, str) else None
        elif label == "cawg.training-mining":
            e = (d.get("entries") or {}).get("cawg.ai_training") if isinstance(d.get("entries"), dict) else None
            training = e.get("use") if isinstance(e, dict) and isinstance(e.get("use"), str) else None
        elif label == CONSENT_LABEL:
            consent = d
    return Manifest(
        state,
        c2pa_state,
        failures,
        _str(sig.get("common_name")),
        _str(sig.get("issuer")),
        _str(active.get("label")),
        dst,
        tuple(names),
        tuple(transforms),
        training,
        consent,
    )


def _str(v) -> str | None:
    return v if isinstance(v, str) else None


def _claim_from_consent(consent: dict | None) -> Claim | None:
    if not consent:
        return None
    chain_id, registry, lic, twin = (consent.get(k) for k in ("chain_id", "registry", "license_id", "twin_id"))
    if isinstance(chain_id, int) and isinstance(registry, str) and _ADDRESS.match(registry) and isinstance(lic, int) and lic >= 0:
        return Claim(chain_id, registry, lic, twin if isinstance(twin, int) else None, "c2pa")
    return None


# ---------------------------------------------------------------- label


def draw_label(im, text: str = "AI-generated"):
    """`im` (RGB/RGBA/L) with a small dark badge and white text in its bottom-right corner; returns the
    box drawn (left, top, right, bottom)."""
    from PIL import ImageDraw, ImageFont

    w, h = im.size
    size = max(10, round(min(w, h) * 0.035))
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(im)
    l, t, r, b = draw.textbbox((0, 0), text, font=font)
    pad, margin = max(3, size // 3), max(2, round(min(w, h) * 0.02))
    bw, bh = r - l + 2 * pad, b - t + 2 * pad
    x1, y1 = w - margin, h - margin
    x0, y0 = max(0, x1 - bw), max(0, y1 - bh)
    dark, light = (16, 16, 16), (255, 255, 255)
    if im.mode == "L":
        dark, light = 16, 255
    elif im.mode == "RGBA":
        dark, light = (16, 16, 16, 255), (255, 255, 255, 255)
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=dark, outline=light, width=max(1, size // 12))
    draw.text((x0 + pad - l, y0 + pad - t), text, font=font, fill=light)
    return (x0, y0, x1, y1)


def _labelled(data: bytes, fmt: str, path: Path) -> bytes:
    from .hashing import _open

    im = _open(path, data)
    exif, icc = im.info.get("exif"), im.info.get("icc_profile")
    keep = fmt == "JPEG" and im.mode in ("RGB", "L")
    if im.mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
    draw_label(im)
    out = io.BytesIO()
    extra = {k: v for k, v in (("exif", exif), ("icc_profile", icc)) if v}
    if fmt == "JPEG":
        if im.mode == "RGBA":
            im = im.convert("RGB")
        opts = {"quality": "keep", "subsampling": "keep"} if keep else {"quality": 95}
        im.save(out, "JPEG", **opts, **extra)
    elif fmt == "PNG":
        im.save(out, "PNG", **extra)
    else:
        src_lossless = b"VP8L" in data[12:64]
        im.save(out, "WEBP", lossless=src_lossless, quality=100 if src_lossless else 95, **extra)
    return out.getvalue()


# ---------------------------------------------------------------- the two verbs


def _format_of(data: bytes, path: Path) -> tuple[str, tuple[int, int], bool]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return str(im.format), im.size, "A" in im.mode or "transparency" in im.info
    except Image.DecompressionBombError:
        raise FileProblem(f"{safe(str(path))} is too large to open safely (over {Image.MAX_IMAGE_PIXELS:,} pixels)") from None
    except UnidentifiedImageError:
        raise FileProblem(f"{safe(str(path))} is not an image Pillow can read (JPEG, PNG, WebP, …)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise FileProblem(f"{safe(str(path))} is a corrupt or truncated image ({safe(str(e))[:120]})") from None


def _sniff(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == PNG_SIG:
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def embed(
    src: str | Path,
    dest: str | Path,
    pointer: Pointer,
    *,
    source_type: str = "trainedAlgorithmicMedia",
    label: bool = False,
    signer: Signer | None = None,
    verifier_url: str | None = None,
) -> Disclosed:
    """Write `dest`: `src` with its disclosure embedded (label, then XMP, then a C2PA manifest when `signer`
    is given). `src` must decode (a corrupt image is refused); `dest` is replaced atomically."""
    from .hashing import _open, _read

    src, dest = Path(src), Path(dest)
    _source_type_uri(source_type)
    if verifier_url is not None and (not verifier_url.startswith(("https://", "http://")) or safe(verifier_url) != verifier_url):
        raise UsageError(f"bad verifier URL {safe(verifier_url)!r}: give an http(s) URL")
    data = _read(src)
    _open(src, data)  # FileProblem for a non-image, corrupt, animated or oversized file
    fmt, size, alpha = _format_of(data, src)
    if fmt not in _MIME:
        raise FileProblem(f"{safe(str(src))} is a {fmt} file: Consentry embeds disclosures in JPEG, PNG and WebP")
    applied, warnings = METADATA, []
    if label:
        data = _labelled(data, fmt, src)
        applied |= LABEL
    try:
        data, removed = _with_xmp(data, fmt, xmp_packet(pointer, source_type, verifier_url), size, alpha)
    except _Malformed as e:
        raise FileProblem(f"{safe(str(src))} has a damaged {fmt} structure ({e})") from None
    if removed:
        warnings.append(f"{src.name} carried a C2PA manifest; it was removed (it would no longer validate)")
    manifest_label = None
    if signer is not None:
        data = _sign(data, fmt, manifest_definition(pointer, source_type, dest.name, verifier_url), signer)
        applied |= C2PA
        m = _read_manifest(data, fmt, None, [])
        if m is None or m.state == "invalid":
            raise FileProblem(f"C2PA signing produced a manifest that does not validate ({m and m.failures})")
        manifest_label = m.label
    _write_atomic(dest, data)
    return Disclosed(dest, applied, fmt, manifest_label, tuple(warnings))


def read(path: str | Path, *, trust_anchors: str | bytes | Path | None = None) -> FileDisclosure:
    """What `path` carries: its XMP disclosure fields, its C2PA manifest as c2pa-python validates it (with
    `trust_anchors`, PEM CA certificates, a manifest signed under them reads "trusted"), and the consent
    records it claims. FileProblem for a missing or non-image file; anything odd inside becomes a warning."""
    from .hashing import _read

    p = Path(path)
    data = _read(p)
    fmt = _sniff(data) or _format_of(data, p)[0]  # our own parsers for ours: Pillow refuses some hostile ones
    warnings: list[str] = []
    fields: dict = {}
    if fmt in _MIME:
        for raw in _xmp_packets(data, fmt, warnings):
            for k, v in _parse_xmp(raw, warnings).items():
                if isinstance(v, list):
                    fields.setdefault(k, []).extend(v)
                else:
                    fields.setdefault(k, v)
        # an embedded manifest store is a JUMBF box labelled c2pa: without either word there is none to read
        # (and c2pa's native library, ~90 ms to load, is not loaded for the many files that carry none)
        manifest = (
            _read_manifest(data, fmt, _trust_context(trust_anchors), warnings) if b"jumb" in data or b"c2pa" in data else None
        )
    else:
        manifest = None
        warnings.append(f"disclosures are read from JPEG, PNG and WebP files, not {fmt}")
    claims = _claims_from_xmp(fields)
    c = _claim_from_consent(manifest.consent if manifest else None)
    if c is not None:
        claims.insert(0, c)

    def clean(v):
        return v if v is None else str(v)[:500]

    return FileDisclosure(
        path=p,
        format=fmt,
        digital_source_type=clean(fields.get("digital_source_type")),
        model_release_status=clean(fields.get("model_release_status")),
        model_release_ids=tuple(clean(i) for i in fields.get("model_release_ids", [])[:20]),
        registry_ids=tuple((clean(o), clean(i)) for o, i in fields.get("registry_ids", [])[:20]),
        web_statement=clean(fields.get("web_statement")),
        data_mining=clean(fields.get("data_mining")),
        manifest=manifest,
        claims=tuple(claims),
        warnings=tuple(warnings),
    )


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    from .files import write_bytes_atomic

    write_bytes_atomic(path, data, mode)


__all__ = [
    "METADATA",
    "C2PA",
    "LABEL",
    "Pointer",
    "Disclosed",
    "Claim",
    "Manifest",
    "FileDisclosure",
    "Signer",
    "DevCA",
    "make_dev_ca",
    "embed",
    "read",
    "xmp_packet",
    "manifest_definition",
    "draw_label",
    "disclosure_names",
]
