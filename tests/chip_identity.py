"""Test data shared by the chip-reader tests, unit and end to end."""

# The identity the chip-reader tests serve (CAN = the last 6 digits of the number).
BASE = {
    "id_number": "001190123456",
    "full_name": "Nguyễn Thị Hồng Nhung",
    "date_of_birth": "1990-01-01",
    "sex": "Nữ",
    "issue_date": "2021-05-10",
    "expiry_date": "2030-01-01",
    "hometown": "Đông Hưng, Thái Bình",
    "residence": "Số 12 Ngõ 34, Phường Điện Biên, Quận Ba Đình, Hà Nội",
    "father_name": "Nguyễn Văn Bình",
    "mother_name": "Trần Thị Lụa",
}

# The check each clone profile of the virtual CCCD fails, as `kiosk card read` names it
# (drivers/virtual/cccd_quirks.py CLONES).
FAILED_CHECK = {
    "clone-hide-aa": "DG15 is listed in EF.SOD but not served",
    "clone-bad-dg15": "DG15 does not parse (DG15 public key: UnsupportedAlgorithm",
    "clone-aa-wrong-key": "active authentication: the chip's signature does not verify",
    "clone-dg-swapped": "passive authentication: hash mismatch for DG13",
}
