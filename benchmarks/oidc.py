"""What an identity-provider JWT costs per call, with and without the verified-token cache.

Two measurements, each A/B (cache on: ``cache_size = 1024``; off: ``cache_size = 0``):

* **verifier**: :meth:`OidcVerifier.check` in this process, for an RS256 (RSA-2048) and an
  ES256 token, next to :meth:`TokenStore.check` for one of our own tokens: microseconds per call.
* **server**: the real ``xrsched-server`` (subprocess, TLS, keep-alive, audit log on) answering
  ``ping`` from one client sending the same JWT on every call: calls/s and the server's CPU
  microseconds per call (``/proc/PID/stat``), with our own bearer token as the reference.
  Cache on and off alternate, repeated ``--reps`` times; the table shows medians.

The keys and the JWK Set (a file: no network) are made fresh for each run.
``python benchmarks/oidc.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from harness import BearerTransport, kill_group, process_cpu, server_command, spawn, wait_for_line
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from xrsched.auth import TokenStore, add_token
from xrsched.auth.oidc.config import OidcSettings
from xrsched.auth.oidc.verifier import OidcVerifier
from xrsched.certgen import make_dev_certificates
from xrsched.tls import client_context

ISSUER, AUDIENCE = "https://idp.bench/realms/xrsched", "xrsched"


def make_keys(work: Path) -> tuple[Path, dict[str, Any]]:
    """An RSA and an EC key; their public halves written as a JWK Set file."""
    keys = {"RS256": rsa.generate_private_key(65537, 2048), "ES256": ec.generate_private_key(ec.SECP256R1())}
    public = [
        {**RSAAlgorithm.to_jwk(keys["RS256"].public_key(), as_dict=True), "kid": "rs", "alg": "RS256"},
        {**ECAlgorithm.to_jwk(keys["ES256"].public_key(), as_dict=True), "kid": "es", "alg": "ES256"},
    ]
    path = work / "jwks.json"
    path.write_text(json.dumps({"keys": public}))
    return path, keys


def token(keys: dict[str, Any], algorithm: str, lifetime: int = 3600) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "exp": now + lifetime, "groups": ["bots"]}
    return jwt.encode(claims, keys[algorithm], algorithm=algorithm, headers={"kid": algorithm[:2].lower()})


def oidc_table(jwks: Path, cache_size: int) -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks": str(jwks),
        "roles": {"bots": "worker"},
        "cache_size": cache_size,
    }


def per_call_us(check: Callable[[], object], seconds: float) -> float:
    """Microseconds per call of ``check``, called back to back for about ``seconds``."""
    check()
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            check()
        calls += 20
    return elapsed / calls * 1e6


def verifier_rows(work: Path, jwks: Path, keys: dict[str, Any], seconds: float) -> list[str]:
    tokens_path = work / "tokens.toml"
    secret = add_token(tokens_path, "bench", "worker")
    store = TokenStore.load(tokens_path)
    own = per_call_us(lambda: store.check(f"Bearer {secret}", None, time.time()), seconds)
    rows = [f"| our own token (tokens file) | - | {own:.1f} |"]
    for algorithm in ("RS256", "ES256"):
        value = token(keys, algorithm)
        for cache_size in (1024, 0):
            verifier = OidcVerifier(OidcSettings.from_mapping(oidc_table(jwks, cache_size)))
            verifier.keys.load_at_start(time.time())
            assert verifier.check(value, time.time()).identity is not None
            cost = per_call_us(lambda v=verifier, t=value: v.check(t, time.time()), seconds)
            rows.append(f"| {algorithm} JWT | {'on' if cache_size else 'off'} | {cost:.1f} |")
    return rows


@contextmanager
def server(work: Path, certs: Any, config: dict[str, Any] | None, name: str) -> Iterator[tuple[str, int, str]]:
    """A real xrsched-server; yields its URL, process id and a worker token of our own."""
    state = work / f"state-{name}"
    state.mkdir(mode=0o700)
    secret = add_token(state / "tokens.toml", "bench", "worker")
    command = server_command(state, certs)
    if config is not None:
        path = work / f"{name}.toml"
        path.write_text(toml(config))
        command += ["--config", str(path)]
    log_path = work / f"{name}.out"
    proc = spawn(command, log_path)
    try:
        url = wait_for_line(proc, log_path, r"listening on (https://\S+)", 60).group(1)
        yield url, proc.pid, secret
    finally:
        kill_group(proc)


def toml(config: dict[str, Any]) -> str:
    oidc = config["oidc"]
    lines = ["[oidc]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in oidc.items() if k != "roles"]
    lines += ["[oidc.roles]"] + [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in oidc["roles"].items()]
    return "\n".join(lines) + "\n"


def ping_rate(url: str, pid: int, bearer: str, ca: Path, seconds: float) -> tuple[float, float]:
    """(calls/s, server CPU µs per call) of one keep-alive client pinging for ``seconds``."""
    proxy = xmlrpc.client.ServerProxy(url, transport=BearerTransport(bearer, client_context(ca)))
    worker = f"bench-{len(bearer)}"  # one worker id per credential: ids belong to whoever used them first
    for _ in range(20):
        proxy.ping(worker)
    cpu, calls, started = process_cpu(pid), 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        proxy.ping(worker)
        calls += 1
    return calls / elapsed, (process_cpu(pid) - cpu) / calls * 1e6


def server_rows(work: Path, certs: Any, jwks: Path, keys: dict[str, Any], seconds: float, reps: int) -> list[str]:
    samples: dict[str, list[tuple[float, float]]] = {}
    value = token(keys, "RS256")
    with (
        server(work, certs, {"oidc": oidc_table(jwks, 1024)}, "cached") as cached,
        server(work, certs, {"oidc": oidc_table(jwks, 0)}, "uncached") as uncached,
    ):
        for _ in range(reps):
            for label, (url, pid, secret), bearer in (
                ("our own token", cached, None),
                ("RS256 JWT, cache on", cached, value),
                ("RS256 JWT, cache off", uncached, value),
            ):
                samples.setdefault(label, []).append(ping_rate(url, pid, bearer or secret, certs.ca_cert, seconds))
    rows = []
    for label, values in samples.items():
        rate = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        rows.append(f"| {label} | {rate:,.0f} | {cpu:,.0f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows (a smoke run)")
    parser.add_argument("--reps", type=int, default=5, help="server repetitions (default 5)")
    args = parser.parse_args(argv)
    seconds, reps = (0.3, 1) if args.quick else (3.0, args.reps)
    with tempfile.TemporaryDirectory(prefix="xrsched-oidc-bench-") as tmp:
        work = Path(tmp)
        jwks, keys = make_keys(work)
        certs = make_dev_certificates(work / "certs")
        print("| credential | cache | µs per check (in process) |")
        print("| --- | --- | ---: |")
        print("\n".join(verifier_rows(work, jwks, keys, seconds)))
        print()
        print("| credential (ping over TLS, one client) | calls/s | server CPU µs/call |")
        print("| --- | ---: | ---: |")
        print("\n".join(server_rows(work, certs, jwks, keys, seconds, reps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
