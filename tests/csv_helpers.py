"""Small CSV files of the coupon data's columns for the reader tests (tests/read/test_read.py, tests/read/test_fuzz.py)."""
HEADER = "ID,age,job,marriage,default,returned,loan,coupon_used_in_last6_month,coupon_used_in_last_month,coupon_ind"
COLUMNS = tuple(HEADER.split(","))
GOOD_ROWS = [
    "1,43,management,married,no,yes,no,2,0,0",
    "2,42,technician,divorced,no,yes,no,2,0,1",
    "3,47,admin.,married,no,yes,yes,2,1,0",
    "4,28,management,single,no,yes,yes,2,0,1",
]


def write(tmp_path, lines, name="d.csv", newline="\n", encoding="utf-8"):
    """``lines`` joined by ``newline`` and encoded as ``encoding`` into ``tmp_path / name``."""
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode(encoding))
    return path
