"""DG2: face image inside an ISO/IEC 19794-5 facial record (biometric template)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from drivers.emrtd.errors import ParseError
from drivers.emrtd.tlv import expect, iter_tlv, tlv

JPEG_SOI = b"\xff\xd8\xff"
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_SOC = b"\xff\x4f\xff\x51"
_FACE_HEADER = 14  # 'FAC\0' + version(4) + record length(4) + number of faces(2)
_INFO = 20  # facial information block
_IMAGE_INFO = 12


@dataclass(frozen=True)
class FaceImage:
    format: str  # "jpeg" | "jp2"
    data: bytes
    width: int
    height: int


def _image_format(data: bytes) -> str | None:
    if data.startswith(JPEG_SOI):
        return "jpeg"
    if data.startswith(JP2_SIGNATURE) or data.startswith(J2K_SOC):
        return "jp2"
    return None


def _bdb(raw: bytes) -> bytes:
    """The biometric data block of the first face (5F2E or 7F2E)."""
    group = expect(raw, 0x75)
    for tag, value in iter_tlv(group):
        if tag == 0x7F61:
            for t2, v2 in iter_tlv(value):
                if t2 == 0x7F60:
                    for t3, v3 in iter_tlv(v2):
                        if t3 in (0x5F2E, 0x7F2E):
                            return v3
    raise ParseError("DG2 has no biometric data block")


def _image_from_record(bdb: bytes) -> tuple[bytes, int, int]:
    if len(bdb) < _FACE_HEADER + _INFO + _IMAGE_INFO or not bdb.startswith(b"FAC\x00"):
        raise ParseError("not an ISO 19794-5 facial record")
    pos = _FACE_HEADER
    block_len = struct.unpack(">I", bdb[pos : pos + 4])[0]
    points = struct.unpack(">H", bdb[pos + 4 : pos + 6])[0]
    pos += _INFO + 8 * points
    if pos + _IMAGE_INFO > len(bdb):
        raise ParseError("facial record truncated before the image information")
    width, height = struct.unpack(">HH", bdb[pos + 2 : pos + 6])
    start = pos + _IMAGE_INFO
    end = _FACE_HEADER + block_len if block_len else len(bdb)
    if end > len(bdb) or end <= start:
        end = len(bdb)
    return bdb[start:end], width, height


def parse_dg2(raw: bytes) -> FaceImage:
    bdb = _bdb(raw)
    try:
        image, width, height = _image_from_record(bdb)
    except ParseError:
        image, width, height = b"", 0, 0
    fmt = _image_format(image)
    if fmt is None:
        # Some issuers miscount the header; fall back to the image signature.
        for sig in (JPEG_SOI, JP2_SIGNATURE, J2K_SOC):
            at = bdb.find(sig)
            if at >= 0:
                image = bdb[at:]
                fmt = _image_format(image)
                break
    if fmt is None:
        raise ParseError("DG2 holds no JPEG or JPEG 2000 image")
    if not (width and height):
        width, height = image_size(image)
    return FaceImage(fmt, image, width, height)


def image_size(image: bytes) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(image)) as im:
            return im.size
    except Exception:  # Pillow raises many types on hostile input
        return (0, 0)


def decode_for_display(face: FaceImage) -> object:
    """A decoded Pillow image (JPEG or JPEG 2000) for the UI; raises ParseError if broken."""
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(face.data))
        im.load()
        return im
    except Exception as exc:
        raise ParseError(f"face image does not decode: {exc}") from None


def encode_dg2(image: bytes, width: int, height: int) -> bytes:
    """A minimal one-face DG2 (virtual card)."""
    image_type = 0 if image.startswith(JPEG_SOI) else 1
    info = struct.pack(">IHBBB3sH3s3s", _INFO + _IMAGE_INFO + len(image), 0, 0, 0, 0,
                       b"\x00\x00\x00", 0, b"\x00\x00\x00", b"\x00\x00\x00")  # fmt: skip
    image_info = struct.pack(">BBHHBBHH", 1, image_type, width, height, 1, 0, 0, 0)
    record_body = info + image_info + image
    record = b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14 + len(record_body), 1) + record_body
    header = tlv(0xA1, tlv(0x80, b"\x01\x01") + tlv(0x87, b"\x01\x01") + tlv(0x88, b"\x00\x08"))
    template = tlv(0x7F60, header + tlv(0x5F2E, record))
    return tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + template))
