"""DG2: face image inside an ISO/IEC 19794-5 facial record (biometric template).

Layout (ICAO 9303-10): 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E|7F2E
record } … } }. Cards in the field differ: some omit the outer 75 (the file
starts with 7F61), some carry several templates, some store JPEG 2000. The
first template whose record yields a JPEG or JPEG 2000 image is the photo.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from drivers.emrtd.errors import ParseError
from drivers.emrtd.tlv import iter_tlv, read_tlv, tlv

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


def _bdbs(raw: bytes) -> list[bytes]:
    """The biometric data blocks (5F2E or 7F2E) of every template, in order."""
    tag, value, _ = read_tlv(raw)
    if tag == 0x75:  # the standard wrapper: find the biometric information group
        groups = [v for t, v in iter_tlv(value) if t == 0x7F61]
    elif tag == 0x7F61:  # outer tag 75 missing
        groups = [value]
    else:
        raise ParseError(f"DG2 starts with tag {tag:X} (expected 75 or 7F61)")
    out: list[bytes] = []
    for group in groups:
        for t2, v2 in iter_tlv(group):
            if t2 in (0x5F2E, 0x7F2E):  # a template without its 7F60 wrapper
                out.append(v2)
            elif t2 == 0x7F60:
                out.extend(v3 for t3, v3 in iter_tlv(v2) if t3 in (0x5F2E, 0x7F2E))
    if not out:
        raise ParseError("DG2 has no biometric data block")
    return out


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


def _face(bdb: bytes) -> FaceImage | None:
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
        return None
    if not (width and height):
        width, height = image_size(image)
    return FaceImage(fmt, image, width, height)


def parse_dg2(raw: bytes) -> FaceImage:
    """The first face image of the file; ParseError when none is JPEG / JPEG 2000."""
    bdbs = _bdbs(raw)
    for bdb in bdbs:
        face = _face(bdb)
        if face is not None:
            return face
    raise ParseError(f"DG2 holds no JPEG or JPEG 2000 image ({len(bdbs)} template(s))")


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


def facial_record(image: bytes, width: int, height: int, image_type: int | None = None) -> bytes:
    """An ISO 19794-5 record of one face (virtual card); type 0 JPEG, 1 JPEG 2000."""
    if image_type is None:
        image_type = 0 if image.startswith(JPEG_SOI) else 1
    info = struct.pack(">IHBBB3sH3s3s", _INFO + _IMAGE_INFO + len(image), 0, 0, 0, 0,
                       b"\x00\x00\x00", 0, b"\x00\x00\x00", b"\x00\x00\x00")  # fmt: skip
    image_info = struct.pack(">BBHHBBHH", 1, image_type, width, height, 1, 0, 0, 0)
    body = info + image_info + image
    return b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14 + len(body), 1) + body


def encode_dg2(
    image: bytes, width: int, height: int, *, records: tuple[bytes, ...] = (), bare: bool = False
) -> bytes:
    """A DG2 (virtual card): `records` go first as extra templates; `bare` omits tag 75."""
    header = tlv(0xA1, tlv(0x80, b"\x01\x01") + tlv(0x87, b"\x01\x01") + tlv(0x88, b"\x00\x08"))
    all_records = (*records, facial_record(image, width, height))
    templates = b"".join(tlv(0x7F60, header + tlv(0x5F2E, r)) for r in all_records)
    group = tlv(0x7F61, tlv(0x02, bytes((len(all_records),))) + templates)
    return group if bare else tlv(0x75, group)
