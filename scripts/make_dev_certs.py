#!/usr/bin/env python3
"""Make a development CA plus server and client certificates (default: the repository's certs/).

For development and tests only; see certs/README.rst for production certificates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xrsched.certgen import DEFAULT_HOSTNAMES, DEV_CLIENT_CN, make_dev_certificates
from xrsched.tls import certificate_info

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "certs"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--hostname",
        action="append",
        dest="hostnames",
        metavar="NAME",
        help="DNS name or IP address for the server certificate; repeat for several "
        f"(default: {', '.join(DEFAULT_HOSTNAMES)})",
    )
    parser.add_argument(
        "--client-cn", default=DEV_CLIENT_CN, help=f"client certificate subject CN (default: {DEV_CLIENT_CN})"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Write ca, server and client certificate/key pairs and print their paths and fingerprints."""
    args = parse_args(argv)
    try:
        certs = make_dev_certificates(args.out, tuple(args.hostnames or DEFAULT_HOSTNAMES), client_cn=args.client_cn)
    except (OSError, ValueError) as exc:
        print(f"make_dev_certs: {exc}", file=sys.stderr)
        return 1
    for label, cert, key in (
        ("CA", certs.ca_cert, certs.ca_key),
        ("server", certs.server_cert, certs.server_key),
        ("client", certs.client_cert, certs.client_key),
    ):
        info = certificate_info(cert)
        print(f"{label:7} {cert}  (key {key})")
        print(f"        CN={info.subject_cn}  expires {info.not_after:%Y-%m-%d}")
        print(f"        SHA256 {info.fingerprint_sha256}")
    print()
    print(f"server: --tls-cert {certs.server_cert} --tls-key {certs.server_key}")
    print(f"        --tls-client-ca {certs.ca_cert}   (to accept client certificates)")
    print(f"client: trust {certs.ca_cert}")
    print(f"        client certificate {certs.client_cert}, key {certs.client_key} (CN {certs.client_cn})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
