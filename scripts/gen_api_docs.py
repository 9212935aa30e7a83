#!/usr/bin/env python3
"""Write docs/api.rst from the code (``--check``: exit 1 if the checked-in file is stale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xrsched.apidoc import render

TARGET = Path(__file__).resolve().parent.parent / "docs" / "api.rst"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when docs/api.rst is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
