"""Unicode's Default_Ignorable_Code_Point property: characters that render as nothing when not supported
(zero-width characters, joiners, bidirectional controls, variation selectors, tag characters, fillers...).

A value holding one prints exactly like the value without it (``technician\\U000E0041`` looks like
``technician``) yet is another level, so the first pass refuses them (``analysis.read.source.INVISIBLE``).

``RANGES`` is generated -- not written by hand -- from Unicode's DerivedCoreProperties.txt by this module
(``python -m analysis.read.ignorable /usr/share/unicode/DerivedCoreProperties.txt`` prints the table below;
the file comes with Debian's ``unicode-data`` package). tests/read/test_read.py regenerates it and compares
when the file is present.
"""
from __future__ import annotations

import re
import sys

#: where RANGES come from
SOURCE = "DerivedCoreProperties-15.0.0.txt (Unicode 15.0.0, 2022-08-05), Debian package unicode-data 15.0.0-1"
#: (first, last) code points of Default_Ignorable_Code_Point, merged where adjacent
RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


def parse(text: str, prop: str = "Default_Ignorable_Code_Point") -> tuple[tuple[int, int], ...]:
    """The ranges of ``prop`` in the text of a UCD property file (``XXXX..YYYY ; Prop # ...`` lines),
    sorted and merged where adjacent."""
    found = []
    for line in text.splitlines():
        match = re.match(r"\s*([0-9A-F]{4,6})(?:\.\.([0-9A-F]{4,6}))?\s*;\s*(\w+)", line)
        if match and match.group(3) == prop:
            first = int(match.group(1), 16)
            found.append((first, int(match.group(2), 16) if match.group(2) else first))
    merged: list[list[int]] = []
    for first, last in sorted(found):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return tuple((a, b) for a, b in merged)


def version(text: str) -> str:
    """The file's first line, e.g. ``DerivedCoreProperties-15.0.0.txt``."""
    return text.splitlines()[0].lstrip("# ").strip() if text else ""


def re2_class(ranges) -> str:
    """The ranges as the inside of an RE2 character class (``\\x{...}`` escapes)."""
    return "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)


def main(argv=None) -> int:
    path = (argv or sys.argv[1:] or ["/usr/share/unicode/DerivedCoreProperties.txt"])[0]
    text = open(path, encoding="utf-8").read()
    rows = [f"(0x{a:04X}, 0x{b:04X})" for a, b in parse(text)]
    print(f"# {version(text)}")
    print("RANGES = (")
    for k in range(0, len(rows), 6):
        print("    " + ", ".join(rows[k:k + 6]) + ",")
    print(")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
