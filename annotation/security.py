"""Upload and login hardening, shared by the import page and the REST API.

Uploads (``ELIGO_UPLOAD_MAX_BYTES``):

- :class:`UploadSizeLimitMiddleware` refuses a request whose ``Content-Length`` is over
  the limit with 413 *before* anything reads the body; :class:`MaxSizeUploadHandler`
  stops a body without (or with a lying) ``Content-Length`` once the limit is passed.
- :func:`upload_save` writes an upload under ``MEDIA_ROOT/uploads`` under a random name
  (the client's file name is never used as a path) and checks it stays inside MEDIA_ROOT.
- :func:`upload_check` validates the saved file for its format: a ``.zip`` is refused on
  unsafe member paths (``../``, absolute, drive letters, symlinks) and on decompression
  bombs (total declared size, per-member and overall ratio, member count; Python's
  ``zipfile`` enforces the declared sizes when reading); text is decoded strictly as UTF-8.

Logins: :class:`ThrottledModelBackend` refuses authentication for a username + client IP
after ``ELIGO_LOGIN_MAX_FAILURES`` failures within ``ELIGO_LOGIN_WINDOW_S`` seconds
(counted in the cache by a ``user_login_failed`` receiver). Every login path that calls
``django.contrib.auth.authenticate`` with the request is covered: the login page, the
admin and ``/api/auth/token/``.
"""
from __future__ import annotations

import codecs
import hashlib
import stat
import uuid
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat

READ_CHUNK = 1024 * 1024
TEXT_SUFFIXES = (".txt", ".ann", ".conf", ".json", ".jsonl")


class UploadRejected(Exception):
    """An upload refused for a security or encoding reason; ``str()`` is shown to the user."""

    def __init__(self, message: str, *, code: str = "upload_rejected", status: int = 400):
        super().__init__(message)
        self.code, self.status = code, status


def upload_max_bytes() -> int:
    return int(settings.ELIGO_UPLOAD_MAX_BYTES)


def _too_large_message(size: int | None = None) -> str:
    limit = filesizeformat(upload_max_bytes())
    if size is None:
        return f"The upload is larger than the limit of {limit}."
    return f"The upload is {filesizeformat(size)}; the limit is {limit}."


# --- request size ------------------------------------------------------------------------


class UploadSizeLimitMiddleware:
    """413 for a declared body over the limit, decided from the headers alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > upload_max_bytes():
            return _refusal(request, "upload_too_large", _too_large_message(declared), 413)
        return self.get_response(request)


def _refusal(request, code: str, message: str, status: int) -> HttpResponse:
    """An early refusal in the API's error shape for /api/, plain text for the pages."""
    if not request.path.startswith("/api/"):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


class NulByteMiddleware:
    """400 for a NUL character in the URL path or in query or form parameters.

    PostgreSQL text cannot hold NUL, so a search or lookup with one would end in a server
    error; no legitimate path or parameter contains it. Multipart bodies are left to the
    upload checks (reading them here would bypass the upload handlers' limits); imported
    files are checked by the import service.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return _refusal(request, "invalid_path", "The URL must not contain NUL characters.", 400)
        params = [request.GET]
        if request.content_type == "application/x-www-form-urlencoded":
            params.append(request.POST)
        for query in params:
            if any("\x00" in key or any("\x00" in v for v in values)
                   for key, values in query.lists()):
                return _refusal(request, "invalid_parameter",
                                "Parameters must not contain NUL characters.", 400)
        return self.get_response(request)


class DeepInputMiddleware:
    """400 instead of a server error for input nested too deeply to parse (``RecursionError``).

    Python's JSON parser (used by DRF's JSON parser, form ``JSONField`` s and the admin) gives up
    on deeply nested arrays or objects with ``RecursionError``. Turning that into a 400 here
    covers every view, page and API alike; the view's transaction has rolled back by then, so
    nothing was changed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RecursionError):
            return _refusal(request, "too_deeply_nested",
                            "The request is nested too deeply to be read.", 400)
        return None


class MaxSizeUploadHandler(FileUploadHandler):
    """Aborts a multipart upload once more than the limit has arrived (chunked bodies)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received = getattr(self, "received", 0) + len(raw_data)
        if self.received > upload_max_bytes():
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


# --- saving and checking uploads ------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    path, root = path.resolve(), root.resolve()
    return path == root or root in path.parents


def upload_save(upload, *, suffix: str = "", folder: str = "uploads") -> Path:
    """Write ``upload`` (a Django ``UploadedFile``) under MEDIA_ROOT with a random name.

    ``suffix`` must be a plain extension such as ``.zip``; the client's file name is ignored.
    Raises ``UploadRejected`` (413) when the upload is over the size limit.
    """
    if suffix and (not suffix.startswith(".") or "/" in suffix or "\\" in suffix or ".." in suffix):
        raise UploadRejected(f"Bad file suffix {suffix!r}.")
    if upload.size is not None and upload.size > upload_max_bytes():
        raise UploadRejected(_too_large_message(upload.size), code="upload_too_large", status=413)
    root = Path(settings.MEDIA_ROOT)
    directory = root / folder
    if not _inside(directory, root):
        raise UploadRejected("Upload folder outside MEDIA_ROOT.")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}{suffix}"
    written = 0
    try:
        with open(path, "xb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > upload_max_bytes():
                    raise UploadRejected(_too_large_message(), code="upload_too_large", status=413)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def unsafe_member_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member may not be extracted or read, or None when it is fine."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in parts:
        return "path leaves the archive (..)"
    if "\x00" in name:
        return "NUL byte in the name"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return None


def zip_check(path: Path, *, max_total: int | None = None, max_ratio: int | None = None,
              max_members: int | None = None) -> int:
    """Refuse an unsafe or bomb-like archive; returns its total uncompressed size.

    Limits default to the settings ``ELIGO_ZIP_MAX_TOTAL_BYTES`` (uncompressed total),
    ``ELIGO_ZIP_MAX_RATIO`` (per member and overall) and ``ELIGO_ZIP_MAX_MEMBERS``.
    """
    max_total = max_total or int(settings.ELIGO_ZIP_MAX_TOTAL_BYTES)
    max_ratio = max_ratio or int(settings.ELIGO_ZIP_MAX_RATIO)
    max_members = max_members or int(settings.ELIGO_ZIP_MAX_MEMBERS)
    if not zipfile.is_zipfile(path):
        raise UploadRejected("The file is not a valid .zip archive.")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRejected(f"The .zip archive is damaged: {exc}", code="zip_damaged") from None
    if len(infos) > max_members:
        raise UploadRejected(f"The archive has {len(infos)} entries; the limit is {max_members}.",
                             code="zip_bomb")
    total = compressed = 0
    for info in infos:
        reason = unsafe_member_reason(info)
        if reason:
            raise UploadRejected(f"Unsafe archive member {info.filename!r}: {reason}.",
                                 code="zip_unsafe_path")
        total += info.file_size
        compressed += info.compress_size
        if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > READ_CHUNK:
            raise UploadRejected(
                f"Archive member {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}"
                f"-fold; the limit is {max_ratio}.", code="zip_bomb")
    if total > max_total:
        raise UploadRejected(
            f"The archive expands to {filesizeformat(total)}; the limit is {filesizeformat(max_total)}.",
            code="zip_bomb")
    if total > READ_CHUNK and total > max_ratio * max(compressed, 1):
        raise UploadRejected(f"The archive expands {total // max(compressed, 1)}-fold; "
                             f"the limit is {max_ratio}.", code="zip_bomb")
    return total


def utf8_check_stream(stream, name: str) -> None:
    """Decode a binary stream strictly as UTF-8 in chunks; ``UploadRejected`` names line and byte."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset, lines = 0, 1
    while True:
        chunk = stream.read(READ_CHUNK)
        final = not chunk
        pending = len(decoder.getstate()[0])  # bytes of a split character from the last chunk
        try:
            decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            position = offset - pending + exc.start
            line = lines + chunk[:max(exc.start - pending, 0)].count(b"\n")
            raise UploadRejected(
                f"{name} is not valid UTF-8 (line {line}, byte {position}); save it as UTF-8 and retry.",
                code="not_utf8") from None
        if final:
            return
        offset += len(chunk)
        lines += chunk.count(b"\n")


def _zip_member_check(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    """Read a member through (UTF-8 check): a bad CRC or corrupt data is refused here."""
    try:
        with archive.open(info) as member:
            utf8_check_stream(member, f"{name}!{info.filename}")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise UploadRejected(f"The .zip archive is damaged: member {info.filename!r} cannot be read "
                             f"({exc}).", code="zip_damaged") from None


def upload_check(path: Path, fmt: str, *, display_name: str = "") -> None:
    """Validate a saved upload for import format ``fmt`` (brat: a .zip; others: UTF-8 text)."""
    name = display_name or Path(path).name
    if not _inside(Path(path), Path(settings.MEDIA_ROOT)):
        raise UploadRejected("The upload is not inside MEDIA_ROOT.")
    if fmt == "brat":
        zip_check(path)
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.filename.lower().endswith(TEXT_SUFFIXES):
                    _zip_member_check(archive, info, name)
        return
    with open(path, "rb") as handle:
        utf8_check_stream(handle, name)


# --- login throttling ----------------------------------------------------------------------


def client_ip(request) -> str:
    """The client address Django sees (REMOTE_ADDR; a proxy must set it, e.g. gunicorn's)."""
    if request is None:
        return "-"
    meta = getattr(request, "META", {}) or {}
    return meta.get("REMOTE_ADDR") or "-"


def _login_key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{(username or '').lower()}|{ip}".encode()).hexdigest()
    return f"eligo:login-failures:{digest}"


def login_failures(username: str, request) -> int:
    return int(cache.get(_login_key(username, client_ip(request))) or 0)


def login_failure_record(username: str, request) -> int:
    key = _login_key(username, client_ip(request))
    window = int(settings.ELIGO_LOGIN_WINDOW_S)
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return 1


def login_failures_reset(username: str, request) -> None:
    cache.delete(_login_key(username, client_ip(request)))


class ThrottledModelBackend(ModelBackend):
    """``ModelBackend`` that refuses a username + IP with too many recent failed logins."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if login_failures(username, request) >= int(settings.ELIGO_LOGIN_MAX_FAILURES):
            raise PermissionDenied("Too many failed logins; try again later.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            login_failures_reset(username, request)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


@receiver(user_login_failed)
def _count_failed_login(sender, credentials, request=None, **kwargs):
    username = credentials.get("username") or ""
    login_failure_record(username, request)
