"""What the demo's web chat (webchat.py) lets in, and how it answers: its own page only, JSON
only, raster pictures as photos and CSV or plain text as documents.

- A request whose ``Host`` is not the web chat's own address (an IP address, ``localhost`` or the
  ``--host`` name, with its port) gets 403: a site whose name was pointed at this machine (DNS
  rebinding) reads nothing.
- A POST must carry the page's own ``Origin`` (else 403) and a JSON body (``Content-Type:
  application/json``, else 415). A form on another site cannot send that, nor can its script
  without the web chat's consent, which it never gives: no cross-site request forgery.
- A photo must be a PNG, JPEG, WebP or GIF by its first bytes, whatever its name or declared type
  says: an SVG may carry script, which would run as any demo person.
- A document must be named ``.csv`` or ``.txt``, at most 2 MB (what the bot imports in a chat),
  and be text by its bytes: no NUL nor other control bytes but tab, line ends and form feed
  (UTF-8 or GBK both pass; the bot tells which it can read). Its name loses any folder part and
  its type is set from the name: ``text/csv`` or ``text/plain``.
- A voice note must be an Ogg or WebM recording by its first bytes, at most 1 MB.
- Every answer says ``X-Content-Type-Options: nosniff``, and served files carry a policy that runs
  no script even in a file opened as a page.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from aiohttp import web
from yarl import URL

from bot.http_input import BadJson, BodyRefused, Timeouts, parse_json, read_body

MAX_JSON = 64 * 1024  # bytes of a request's JSON, but a photo's or a document's
MAX_DOCUMENT = 2 * 1024 * 1024  # the most the bot imports from a chat
DOCUMENT_TYPES = {".csv": "text/csv", ".txt": "text/plain"}
# Every byte text may hold: all but the control bytes, bar tab, line ends and form feed.
TEXT_BYTES = bytes(b for b in range(256) if b >= 0x20 and b != 0x7F or b in b"\t\n\r\f")
MAX_FILE_NAME = 64
MAX_VOICE = 1024 * 1024  # a minute of speech recorded by a browser is about 100 KB
TIMEOUTS = Timeouts(body=60.0)  # a 10 MB photo on a slow link
# Served files (a photo, a document the bot sent) never run script, even opened as a page.
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
RASTER_TYPES = (  # first bytes, MIME type, file extension
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


class Refused(Exception):
    """A request the page should not have made: answered with its status (400, 403, 404, 408, 413,
    415) and the reason. A refusal a person can meet by using the page has a ``key`` too: the page
    says it in the person's language (static/i18n.js, "refused.<key>", with ``params``)."""

    def __init__(self, status: int, reason: str, key: str | None = None, **params: object):
        super().__init__(reason)
        self.status, self.key, self.params = status, key, params


def raster_type(content: bytes) -> tuple[str, str] | None:
    """(MIME type, file extension) of a PNG, JPEG, WebP or GIF picture, by its first bytes; else None."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    for prefix, mime_type, extension in RASTER_TYPES:
        if content.startswith(prefix):
            return mime_type, extension
    return None


def voice_type(content: bytes) -> str | None:
    """The MIME type of an Ogg or WebM recording (what browsers record), by its first bytes; else None."""
    if content.startswith(b"OggS"):
        return "audio/ogg"
    if content.startswith(b"\x1a\x45\xdf\xa3"):  # EBML, the container of WebM
        return "audio/webm"
    return None


def text_document(file_name: str, content: bytes) -> tuple[str, str] | None:
    """(file name without folders, MIME type) of a CSV or plain-text file; else None."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    extension = name[name.rfind("."):].lower() if "." in name else ""
    if extension not in DOCUMENT_TYPES or len(name) > MAX_FILE_NAME or not name[:-len(extension)]:
        return None
    if content.translate(None, TEXT_BYTES):  # what is left is not text
        return None
    return name, DOCUMENT_TYPES[extension]


def names_this_address(host: str, own_host: str, own_port: int) -> bool:
    """Whether ``host`` (a Host header) names the web chat listening on own_host:own_port: that
    port, and an IP address, localhost or ``own_host``."""
    try:
        url = URL(f"http://{host}")
    except ValueError:
        return False
    if url.port != own_port or not url.host or url.path not in ("", "/") or url.user is not None:
        return False
    if url.host.lower() in ("localhost", own_host.lower()):
        return True
    try:
        ipaddress.ip_address(url.host)
    except ValueError:
        return False
    return True


def own_page_only(address: Callable[[], tuple[str, int]]):
    """A middleware that lets in the requests of the web chat's own page at ``address()`` (its host
    and port, known once it listens) and refuses the others (see the module's docstring)."""

    @web.middleware
    async def guard(request: web.Request, handler) -> web.StreamResponse:
        host, port = address()
        if not names_this_address(request.host, host, port):
            raise Refused(403, f"this web chat answers at http://{host}:{port}/ only, not at {request.host}")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{request.host}":
            raise Refused(403, f"requests from the page of {origin} are refused")
        if request.method == "POST":
            if origin is None:
                raise Refused(403, "a POST must come from the web chat's page (it sends Origin)")
            if request.content_type != "application/json":
                raise Refused(415, "the request body must be JSON (Content-Type: application/json)")
        return await handler(request)

    return guard


async def json_body(request: web.Request, limit: int = MAX_JSON) -> dict:
    """The request's JSON object, at most ``limit`` bytes, within the body timeout; else Refused."""
    try:
        body = parse_json(await read_body(request, limit, TIMEOUTS.body))
    except BodyRefused as refused:
        raise Refused(refused.status, str(refused)) from None
    except BadJson as exc:
        raise Refused(400, str(exc)) from None
    if not isinstance(body, dict):
        raise Refused(400, "the request body must be a JSON object")
    return body


async def no_sniffing(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer is read as the type it says it is, never guessed from its content."""
    response.headers["X-Content-Type-Options"] = "nosniff"


@web.middleware
async def refusals(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        answer = {"ok": False, "error": str(refused)}
        if refused.key:
            answer.update(key=refused.key, params=refused.params)
        return web.json_response(answer, status=refused.status)
