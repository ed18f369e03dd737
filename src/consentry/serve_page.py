"""The verifier page of `consentry serve`: one HTML form that works without JavaScript (the image is
posted, hashed on the server, and the verdict comes back as a page), enhanced by a small script
(drop an image anywhere on the drop zone; a "checking" status). Everything is served by the server
itself (no CDN, no fonts, no images from elsewhere), every text that came from the chain or a file is
escaped, and the verdict is said in words, never by colour alone."""

from __future__ import annotations

import base64
import io
from html import escape

from . import vocab

TITLE = "Consentry — was this image authorised?"

VERDICTS = {  # verdict -> (headline, tone, what it means in one sentence)
    "authorised": (
        "Authorised",
        "ok",
        "A brand recorded this image under a license from the model, and the license is valid now.",
    ),
    "authorised-then-ended": (
        "Authorised when published — the license has since ended",
        "warn",
        "The image was covered when it was recorded; the license has expired or been revoked since (or the twin withdrawn).",
    ),
    "not-authorised": (
        "Not authorised for this use",
        "bad",
        "A record exists, but its license does not cover the use this copy was found in.",
    ),
    "derivative": (
        "Altered copy — not covered by the license",
        "bad",
        "It resembles an image a brand recorded, but it was changed (outfit, face, background…). "
        "An altered image needs its own license and record.",
    ),
    "unverified-twin": (
        "Record found, but the model is not verified",
        "warn",
        "A record exists, but nobody this verifier trusts vouches that the twin's owner is the person depicted.",
    ),
    "twin-asset": (
        "A registered capture photo of a model's twin",
        "info",
        "One of the photos a model registered to create her digital twin — not a licensed publication.",
    ),
    "unknown": (
        "No record found",
        "info",
        "No publication or capture photo in this registry matches. That does not prove the image is "
        "unauthorised — only that nobody recorded it here.",
    ),
}


def _e(x) -> str:
    return escape("" if x is None else str(x), quote=True)


def _who(address: str | None, name: str | None) -> str:
    if not address:
        return "unknown"
    return f"{_e(name)} <span class=mono>({_e(address)})</span>" if name else f"<span class=mono>{_e(address)}</span>"


def _list(items) -> str:
    items = list(items)
    return ", ".join(_e(i) for i in items) if items else "none"


def _how(r: dict) -> str:
    ss = r.get("second_stage") or {}
    m = r.get("match")
    if m == "exact-file":
        return "Exactly the recorded file (same bytes)."
    if m == "same-pixels":
        return "The same pixels as the recorded image (its metadata differs: stripped or re-saved without loss)."
    if m == "perceptual" and r["verdict"] == "derivative":
        return (
            f"Looks like a recorded image (perceptual hash {_e(r.get('distance'))} of 64 bits apart), but the "
            f"second check found differences: {_e(ss.get('summary') or 'no second-stage signature was recorded')}."
        )
    if m == "perceptual":
        return (
            f"A copy of a recorded image (re-compressed, resized, cropped or mirrored): perceptual hash "
            f"{_e(r.get('distance'))} of 64 bits apart, confirmed by the second check — {_e(ss.get('summary'))}."
        )
    return "Nothing in the index matches its file, its pixels or its appearance."


def _row(label: str, html: str) -> str:
    return f"<div class=row><dt>{_e(label)}</dt><dd>{html}</dd></div>"


def _license_words(r: dict) -> str:
    lic = r.get("license") or {}
    if not lic:
        return ""
    uses = lic.get("max_uses")
    fee = lic.get("fee_shown")
    parts = [
        f"for <strong>{_list(lic.get('channels', []))}</strong>",
        f"in <strong>{_list(lic.get('territories', []))}</strong>",
        f"AI changes allowed: <strong>{_list(lic.get('transforms', []))}</strong>",
        f"valid from {_e(lic.get('valid_from'))} until {_e(lic.get('valid_until'))}",
        f"{'unlimited uses' if uses == 'unlimited' else f'at most {_e(uses)} uses'}",
        f"fee per use {_e(fee) if fee is not None else 'unknown'}",
        f"AI training {_e(lic.get('training', 'not stated'))}",
        "published images "
        + ("must be removed when it ends" if lic.get("after_end_rule") == "remove" else "may remain after it ends"),
    ]
    if lic.get("purpose"):
        parts.insert(0, f"purpose “{_e(lic['purpose'])}”")
    lid = r.get("license_id")
    return (
        f'License <a href="/v1/licenses/{_e(lid)}">#{_e(lid)}</a>: '
        + "; ".join(parts)
        + "."
        + (
            f" Granted by agent <span class=mono>{_e(r['grantor'])}</span> on the model's behalf."
            if r.get("grantor") and str(r.get("grantor")).lower() != str(r.get("model", "")).lower()
            else ""
        )
    )


def _model(r: dict) -> str:
    if r.get("twin_id") is None:
        return ""
    trusted = r.get("trusted")
    badge = "<span class='badge ok'>trusted</span>" if trusted else "<span class='badge bad'>not trusted</span>"
    return (
        f'{_who(r.get("model"), r.get("model_name"))} — twin <a href="/v1/twins/{_e(r["twin_id"])}">'
        f"#{_e(r['twin_id'])}</a> {badge}<br><span class=why>{_e(r.get('trust'))}</span>"
    )


def _disclosure(d: dict | None) -> str:
    if d is None:
        return ""
    said = (
        "The file declares itself <strong>AI-generated</strong> (IPTC digital source type in its XMP)."
        if d.get("ai_generated_xmp")
        else "The file does <strong>not</strong> declare itself AI-generated (no IPTC digital source type in its "
        "metadata; a copy may have lost it)."
    )
    if d.get("c2pa"):
        said += " It carries a C2PA manifest (not validated by this page)."
    return said + " Disclosure is never authorisation, and authorisation never excuses missing disclosure."


def result_html(r: dict, disclosure: dict | None = None, thumbnail: str | None = None) -> str:
    headline, tone, meaning = VERDICTS.get(r["verdict"], (r["verdict"], "info", ""))
    rows = [_row("Image", f"<span class=mono>{_e(r.get('path'))}</span>"), _row("How it matched", _how(r))]
    if r.get("twin_id") is not None:
        rows.append(_row("Model", _model(r)))
    if r.get("brand"):
        rows.append(_row("Brand", _who(r.get("brand"), r.get("brand_name"))))
    if r.get("license"):
        rows.append(_row("License terms", _license_words(r)))
    if r.get("after_end"):
        rows.append(
            _row(
                "After the end",
                "The license has ended: this image "
                + (
                    "<strong>must be removed</strong> (its terms say so)."
                    if r["after_end"] == "remove"
                    else "may remain published."
                ),
            )
        )
    pub = r.get("published")
    if pub:
        rows.append(
            _row(
                "Published",
                (
                    f"Recorded {_e(r.get('recorded_at'))} as use {_e(pub.get('use'))} of the license: "
                    f"{_e(pub.get('channel'))} in {_e(pub.get('territory'))}"
                    f"{', with ' + _list(pub.get('transforms')) if pub.get('transforms') else ''}."
                ),
            )
        )
    elif r.get("asset") is not None:
        rows.append(_row("Registered", f"Capture photo “{_e(r['asset'])}”, registered {_e(r.get('recorded_at'))}."))
    elif r.get("recorded_at"):
        rows.append(_row("Resembles", f"A record made {_e(r.get('recorded_at'))}."))
    if r.get("tx"):
        rows.append(_row("Transaction", f"<span class=mono>{_e(r['tx'])}</span>"))
    if disclosure is not None:
        rows.append(_row("AI disclosure", _disclosure(disclosure)))
    reasons = "".join(f"<li>{_e(x)}</li>" for x in r.get("reasons") or [])
    explain = ""
    if r.get("explain"):
        summary = (r.get("second_stage") or {}).get("summary") or ""
        explain = (
            f'<figure><img src="{_e(r["explain"])}" alt="Left: the image with the differing blocks '
            f'outlined in red. Right: a heat map of how far each block is from the record. {_e(summary)}">'
            f"<figcaption>Where this image differs from the record: the checked image with differing blocks "
            f"outlined (left) and a heat map of the 8×8 grid (right; red differs, green agrees).</figcaption>"
            f"</figure>"
        )
    thumb = f'<img class=thumb src="{_e(thumbnail)}" alt="The image you checked">' if thumbnail else ""
    return (
        f"<section id=result class='result {tone}' tabindex=-1 aria-labelledby=verdict>"
        f"<div class=verdict><div><p class=label>Verdict</p><h2 id=verdict>{_e(headline)}</h2>"
        f"<p class=meaning>{_e(meaning)}</p><p class=code>verdict: <code>{_e(r['verdict'])}</code></p></div>"
        f"{thumb}</div>"
        f"<dl>{''.join(rows)}</dl>"
        + (f"<h3>Why</h3><ul class=reasons>{reasons}</ul>" if reasons else "")
        + explain
        + "</section>"
    )


def thumbnail_url(data: bytes) -> str | None:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (320, 320))
            im = im.convert("RGB")
            im.thumbnail((320, 320))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=80)
        return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()
    except Exception:  # the verdict matters, not the preview
        return None


def page(
    result: dict | None = None,
    disclosure: dict | None = None,
    at: int | None = None,
    warnings=(),
    error: str | None = None,
    limits=None,
    thumbnail: str | None = None,
) -> str:
    max_mb = f"{limits.max_upload_bytes / 2**20:g} MB" if limits else ""
    max_mp = f"{limits.max_pixels / 1e6:g} megapixels" if limits else ""
    body = ""
    if error:
        body = (
            f"<section id=result class='result bad' tabindex=-1 role=alert aria-labelledby=verdict>"
            f"<div class=verdict><div><p class=label>Could not check this file</p>"
            f"<h2 id=verdict>{_e(error)}</h2></div></div></section>"
        )
    elif result is not None:
        body = result_html(result, disclosure, thumbnail)
        if at:
            body += f"<p class=note>Judged as of {_e(vocab.format_time(at))}.</p>"
        body += "".join(f"<p class=note role=note>Warning: {_e(w)}</p>" for w in warnings)
    return f"""<!doctype html>
<html lang=en>
<head>
<meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>{_e(TITLE)}</title>
<link rel=stylesheet href="/assets/verifier.css">
<script src="/assets/verifier.js" defer></script>
</head>
<body>
<header><h1>Was this image authorised?</h1>
<p>Check a picture of a model against the Consentry registry: who the model is, whether she licensed it,
to which brand, on which terms, and whether it was altered.</p></header>
<main>
<form id=check method=post action="/" enctype="multipart/form-data">
  <div id=drop class=drop>
    <label for=image>Choose an image <span class=hint>(or drop one here)</span></label>
    <input type=file id=image name=image accept="image/*" required aria-describedby=limits>
    <p id=limits class=hint>JPEG, PNG or WebP, up to {_e(max_mb)} and {_e(max_mp)}. The image is hashed on this
    server and not kept.</p>
  </div>
  <button type=submit id=submit>Check this image</button>
  <p id=status role=status aria-live=polite></p>
</form>
{body}
</main>
<footer><p>Answers come from a local index of the registry's on-chain events.
<a href="/v1/health">Index status</a> · <a href="/openapi.json">API (OpenAPI)</a></p></footer>
</body>
</html>
"""


CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4a4a4a; --line: #c8c8c8; --focus: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #fff; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header h1 { margin: 1.2rem 0 .2rem; font-size: 1.8rem; }
header p, footer p { color: var(--muted); margin: .2rem 0 1rem; }
.drop { border: 2px dashed #6b6b6b; border-radius: .6rem; padding: 1.2rem; background: #f7f7f7; }
.drop.over { border-color: var(--focus); background: #e8f0fe; }
.drop label { display: block; font-weight: 600; font-size: 1.1rem; margin-bottom: .5rem; }
.hint { color: var(--muted); font-weight: normal; font-size: .95rem; }
input[type=file] { font-size: 1rem; }
button { margin-top: .8rem; font-size: 1.05rem; padding: .55rem 1.2rem; border-radius: .4rem; border: 0;
         background: #0b57d0; color: #fff; cursor: pointer; }
button:hover { background: #0842a0; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
#status { min-height: 1.5em; color: var(--muted); }
.result { border: 1px solid var(--line); border-radius: .6rem; margin: 1rem 0; overflow: hidden; }
.verdict { display: flex; justify-content: space-between; gap: 1rem; padding: 1rem 1.2rem; color: #fff; }
.verdict h2 { margin: 0; font-size: 1.6rem; line-height: 1.25; }
.verdict p { margin: .3rem 0 0; }
.verdict .label { text-transform: uppercase; letter-spacing: .06em; font-size: .8rem; margin: 0; }
.verdict code { background: rgba(255,255,255,.18); padding: 0 .3rem; border-radius: .2rem; }
.thumb { max-height: 9rem; max-width: 12rem; border-radius: .3rem; border: 2px solid #fff; align-self: center; }
.ok .verdict { background: #1b5e20; }
.warn .verdict { background: #7a4100; }
.bad .verdict { background: #a31515; }
.info .verdict { background: #37474f; }
dl { margin: 0; padding: .4rem 1.2rem; }
.row { display: grid; grid-template-columns: 10rem 1fr; gap: 1rem; padding: .45rem 0; border-bottom: 1px solid #e4e4e4; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
.why { color: var(--muted); font-size: .95em; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .85rem; font-weight: 600;
         border: 1px solid; }
.badge.ok { color: #1b5e20; border-color: #1b5e20; }
.badge.bad { color: #a31515; border-color: #a31515; }
.result h3 { margin: .8rem 1.2rem .2rem; font-size: 1.05rem; }
.reasons { margin: 0 1.2rem .8rem; }
figure { margin: .5rem 1.2rem 1.2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .95rem; }
.note { color: var(--muted); }
a { color: #0b57d0; }
@media (max-width: 40rem) { .row { grid-template-columns: 1fr; gap: 0; } .verdict { flex-direction: column; } }
"""

JS = """
(function () {
  var form = document.getElementById('check');
  var input = document.getElementById('image');
  var drop = document.getElementById('drop');
  var status = document.getElementById('status');
  var result = document.getElementById('result');
  if (result) { result.focus(); }
  function busy() {
    status.textContent = 'Checking ' + (input.files[0] ? input.files[0].name : 'the image') +
      '… it is being hashed on the server.';
  }
  form.addEventListener('submit', busy);
  ['dragenter', 'dragover'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (t) {
    drop.addEventListener(t, function () { drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    if (!e.dataTransfer || !e.dataTransfer.files.length) { return; }
    input.files = e.dataTransfer.files;
    if (form.requestSubmit) { form.requestSubmit(); } else { busy(); form.submit(); }
  });
})();
"""

ASSETS = {
    "verifier.css": (CSS.encode(), "text/css; charset=utf-8"),
    "verifier.js": (JS.encode(), "text/javascript; charset=utf-8"),
}
