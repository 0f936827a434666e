"""The head of a multipart/form-data upload, read incrementally (pure).

`/v1/audio/transcriptions` streams the upload to the seller. The proxy only needs the form
fields before the file (`model` to route; the file part's name and type to check it) and to
replace the `model` value with the seller's upstream name. `FormHead` is fed the body chunks
until it has seen both; the rest of the body is then passed through untouched. Clients that
send the file before `model` (curl's documented order) are read until `model` arrives, which
holds that file in memory up to the upload limit; the SDKs send fields first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from proxy.errors import BadRequest

AUDIO_EXTENSIONS = frozenset({"mp3", "wav", "m4a", "webm", "mp4", "mpeg", "mpga", "ogg", "flac"})
_AUDIO_TYPES = {"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav",
                "audio/wave": "wav", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/m4a": "m4a",
                "audio/webm": "webm", "video/webm": "webm", "audio/ogg": "ogg", "audio/flac": "flac"}
MAX_FIELD_BYTES = 64 * 1024


def boundary_of(content_type: bytes | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type, or a 400 saying what to send."""
    mime, _, params = (content_type or b"").partition(b";")
    if mime.strip().lower() != b"multipart/form-data":
        raise BadRequest("Content-Type must be multipart/form-data with a 'file' part and a 'model' field.")
    for param in params.split(b";"):
        name, _, value = param.strip().partition(b"=")
        if name.lower() == b"boundary" and value.strip(b'"'):
            return value.strip(b'"')
    raise BadRequest("The multipart/form-data Content-Type has no boundary.")


def _disposition(headers: bytes) -> tuple[str, str | None, str]:
    """(field name, file name or None, content type) of one part's headers."""
    name, filename, ctype = "", None, ""
    for line in headers.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-type":
            ctype = value.strip().lower()
        elif key.strip().lower() == "content-disposition":
            for param in value.split(";")[1:]:
                pname, _, pvalue = param.strip().partition("=")
                if pname == "name":
                    name = pvalue.strip('"')
                elif pname == "filename":
                    filename = pvalue.strip('"')
    return name, filename, ctype


def audio_format(filename: str, content_type: str) -> str:
    """The audio format of an uploaded file by extension, else by type; a 400 when unsupported."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in AUDIO_EXTENSIONS:
        return ext
    if not ext and content_type in _AUDIO_TYPES:
        return _AUDIO_TYPES[content_type]
    raise BadRequest(f"Unsupported audio file '{filename[:100]}' ({content_type or 'no type'}). "
                     f"Upload one of: {', '.join(sorted(AUDIO_EXTENSIONS))}.")


@dataclass(slots=True)
class FormHead:
    boundary: bytes
    buffer: bytearray = field(default_factory=bytearray)
    fields: dict[str, str] = field(default_factory=dict)
    file_format: str | None = None
    file_offset: int = -1  # where the file part's bytes start in `buffer` (-1: not seen yet)
    _pos: int = 0  # where the next part's delimiter is expected
    _body_start: int = -1  # start of the body of the part being scanned (-1: in headers)
    _is_file: bool = False
    _name: str = ""
    _model_span: tuple[int, int] | None = None
    _search: int = 0

    @property
    def ready(self) -> bool:
        return "model" in self.fields and self.file_format is not None

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while not self.ready and self._step():
            pass

    def _step(self) -> bool:
        delim = b"--" + self.boundary
        buf = self.buffer
        if self._body_start < 0:
            if len(buf) < self._pos + len(delim) + 2:
                return False
            if buf[self._pos:self._pos + len(delim)] != delim:
                raise BadRequest("Malformed multipart body: a part does not start with the boundary.")
            if buf[self._pos + len(delim):self._pos + len(delim) + 2] == b"--":
                return False  # closing delimiter
            end = buf.find(b"\r\n\r\n", self._pos)
            if end < 0:
                if len(buf) - self._pos > MAX_FIELD_BYTES:
                    raise BadRequest("Malformed multipart body: part headers are too long.")
                return False
            name, filename, ctype = _disposition(bytes(buf[self._pos + len(delim) + 2:end]))
            self._body_start = self._search = end + 4
            self._is_file = filename is not None
            if self._is_file and name == "file":
                self.file_format = audio_format(filename or "", ctype)
                self.file_offset = self._body_start
            self._name = name
            return True
        close = buf.find(b"\r\n" + delim, self._search)
        if close < 0:
            self._search = max(self._body_start, len(buf) - len(delim) - 2)
            if not self._is_file and len(buf) - self._body_start > MAX_FIELD_BYTES:
                raise BadRequest("A form field is larger than 64 KiB.")
            return False
        name = self._name
        if not self._is_file:
            self.fields[name] = bytes(buf[self._body_start:close]).decode("utf-8", "replace")
            if name == "model":
                self._model_span = (self._body_start, close)
        self._pos, self._body_start = close + 2, -1
        return True

    def finish(self) -> None:
        """The whole body was read: check that the required parts came."""
        if "model" not in self.fields:
            raise BadRequest("Missing required field 'model' in the form.")
        if self.file_format is None:
            raise BadRequest("Missing required field 'file': upload the audio as a 'file' part.")

    def head_with_model(self, upstream_model: str) -> bytes:
        """The bytes read so far with the `model` value replaced."""
        assert self._model_span is not None
        start, end = self._model_span
        return bytes(self.buffer[:start]) + upstream_model.encode() + bytes(self.buffer[end:])
