"""BER-TLV as used by ICAO 9303 (tags up to 3 bytes, definite lengths only).

Every malformed input raises `ParseError`; nothing here indexes past a buffer.
"""

from __future__ import annotations

from collections.abc import Iterator

from drivers.emrtd.errors import ParseError

MAX_DEPTH = 16


def read_tag(buf: bytes, pos: int) -> tuple[int, int]:
    """(tag, position after it)."""
    if pos >= len(buf):
        raise ParseError("truncated tag")
    first = buf[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        for _ in range(3):
            if pos >= len(buf):
                raise ParseError("truncated multi-byte tag")
            b = buf[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
        else:
            raise ParseError("tag longer than 4 bytes")
    return tag, pos


def read_length(buf: bytes, pos: int) -> tuple[int, int]:
    """(length, position after it)."""
    if pos >= len(buf):
        raise ParseError("truncated length")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    n = first & 0x7F
    if n == 0 or n > 4:
        raise ParseError("indefinite or oversized length")
    if pos + n > len(buf):
        raise ParseError("truncated length bytes")
    return int.from_bytes(buf[pos : pos + n], "big"), pos + n


def read_tlv(buf: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, position after the value)."""
    tag, pos = read_tag(buf, pos)
    length, pos = read_length(buf, pos)
    end = pos + length
    if end > len(buf):
        raise ParseError(f"value of tag {tag:X} runs past the buffer ({length} bytes)")
    return tag, buf[pos:end], end


def header_length(buf: bytes) -> tuple[int, int]:
    """(tag+length header size, total size) of the first TLV, from a file prefix."""
    _, pos = read_tag(buf, 0)
    length, pos = read_length(buf, pos)
    return pos, pos + length


def header_bytes_needed(prefix: bytes) -> int:
    """How many bytes the first TLV's tag and length take, as far as `prefix` tells.

    Returns N: if len(prefix) >= N the header is complete and N bytes long,
    otherwise at least N bytes are needed to know more (ask again after
    reading them). Lets a reader fetch a file's header without reading past
    the end of a file it knows nothing about yet.
    """
    if not prefix:
        return 1
    pos = 1
    if prefix[0] & 0x1F == 0x1F:
        while True:
            if pos >= len(prefix):
                return pos + 1
            pos += 1
            if not prefix[pos - 1] & 0x80:
                break
            if pos > 3:
                raise ParseError("tag longer than 4 bytes")
    if pos >= len(prefix):
        return pos + 1
    first = prefix[pos]
    if first < 0x80:
        return pos + 1
    n = first & 0x7F
    if n == 0 or n > 4:
        raise ParseError("indefinite or oversized length")
    return pos + 1 + n


def iter_tlv(buf: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(buf):
        if buf[pos] in (0x00, 0xFF) and all(b in (0x00, 0xFF) for b in buf[pos:]):
            return  # padding after the last object
        tag, value, pos = read_tlv(buf, pos)
        yield tag, value


def parse_dict(buf: bytes) -> dict[int, bytes]:
    """Sibling TLVs as {tag: value}; the first of duplicated tags wins."""
    out: dict[int, bytes] = {}
    for tag, value in iter_tlv(buf):
        out.setdefault(tag, value)
    return out


def expect(buf: bytes, tag: int) -> bytes:
    """The value of a TLV that must be the whole buffer's single outer object."""
    got, value, _ = read_tlv(buf)
    if got != tag:
        raise ParseError(f"expected tag {tag:X}, found {got:X}")
    return value


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def encode_tag(tag: int) -> bytes:
    return tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")


def tlv(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + value
