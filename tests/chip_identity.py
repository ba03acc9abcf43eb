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
