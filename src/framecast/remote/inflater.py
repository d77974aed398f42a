"""An answer's ``Content-Encoding`` undone a piece at a time, never more than asked. Pure.

A few kilobytes of gzip can inflate to gigabytes. :class:`Inflater` takes the bytes of
the wire as they come (:meth:`~Inflater.feed`) and hands out their decoded bytes in pieces
no larger than the reader asks for (:meth:`~Inflater.read`); what it has not handed out
stays compressed. The reader asks for one byte more than it can still take, so a body that
decodes to too much is found out after that one byte, whatever its wire size
(docs/client.md, "Limits").
"""

from __future__ import annotations

import zlib

__all__ = ["ENCODINGS", "EncodingError", "Inflater"]

#: ``Content-Encoding`` values read (the client asks for ``gzip`` only; ``deflate`` and
#: ``x-gzip`` are read too, as HTTP allows them).
ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")
#: zlib's window bits that accept a gzip or a zlib header, whichever comes.
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS


class EncodingError(ValueError):
    """The body is not in the encoding it says it is in (or in one the client does not read)."""


class Inflater:
    """Decodes one body of ``Content-Encoding`` ``encoding`` (empty: identity)."""

    def __init__(self, encoding: str) -> None:
        name = encoding.strip().lower() or "identity"
        if name not in ENCODINGS:
            raise EncodingError(
                f"the answer is encoded as {encoding!r}, which the client does not read "
                "(it asks for gzip)"
            )
        self._zlib = None if name == "identity" else zlib.decompressobj(_GZIP_OR_ZLIB)
        self._pending = b""  # input not decoded yet

    @property
    def compressed(self) -> bool:
        """Whether the body is compressed (it may decode to many more bytes than it has)."""
        return self._zlib is not None

    @property
    def undecoded(self) -> int:
        """Bytes fed and not decoded yet."""
        return len(self._pending)

    def feed(self, data: bytes) -> None:
        """Add bytes of the wire (nothing is decoded yet)."""
        self._pending = self._pending + data if self._pending else data

    def read(self, limit: int) -> bytes:
        """At most ``limit`` decoded bytes (``b""``: the input fed so far is all decoded)."""
        if limit <= 0 or not self._pending:
            return b""
        if self._zlib is None:
            out, self._pending = self._pending[:limit], self._pending[limit:]
            return out
        pieces: list[bytes] = []
        while limit > 0 and self._pending:
            try:
                out = self._zlib.decompress(self._pending, limit)
            except zlib.error as exc:
                raise EncodingError(f"its gzip stream is damaged ({exc})") from None
            pieces.append(out)
            limit -= len(out)
            before, self._pending = self._pending, self._zlib.unconsumed_tail
            if self._zlib.eof:  # a gzip body may hold several members, one after another
                self._pending = self._zlib.unused_data
                if self._pending:
                    self._zlib = zlib.decompressobj(_GZIP_OR_ZLIB)
            elif not out and len(self._pending) == len(before):
                break  # no progress (cannot happen with limit > 0; never spin)
        return b"".join(pieces)

    def finish(self) -> None:
        """The body has ended: raise :class:`EncodingError` if it ended mid-stream."""
        if self._zlib is not None and not self._zlib.eof:
            raise EncodingError("it ended in the middle of its gzip stream")
