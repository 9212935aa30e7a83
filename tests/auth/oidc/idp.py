"""A tiny identity provider for tests: keys minted locally, tokens signed with PyJWT, and the
JWK Set served from a loopback HTTPS server whose certificate is made at test time."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://idp.test/realms/xrsched"
AUDIENCE = "xrsched"


@dataclass
class SigningKey:
    """A private key, its key id and the algorithm it signs with."""

    kid: str
    algorithm: str
    private: Any

    @classmethod
    def rsa(cls, kid: str | None = None) -> SigningKey:
        return cls(kid or f"rsa-{uuid.uuid4().hex[:8]}", "RS256", rsa.generate_private_key(65537, 2048))

    @classmethod
    def ec(cls, kid: str | None = None) -> SigningKey:
        return cls(kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK with ``kid``, ``use`` and ``alg``."""
        algorithm = RSAAlgorithm if self.algorithm.startswith("RS") else ECAlgorithm
        data = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def claims(sub: str = "alice", *, groups: list[str] | None = None, lifetime: float = 300, **extra: Any) -> dict:
    """Standard claims for a token valid from now for ``lifetime`` seconds."""
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + int(lifetime)}
    if groups is not None:
        base["groups"] = groups
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: SigningKey, payload: dict[str, Any], *, kid: str | None = "same") -> str:
    """A JWT over ``payload`` signed by ``key`` (``kid`` header: the key's, another, or none)."""
    headers = {} if kid is None else {"kid": key.kid if kid == "same" else kid}
    return jwt.encode(payload, key.private, algorithm=key.algorithm, headers=headers)


def jwks_document(*keys: SigningKey) -> bytes:
    return json.dumps({"keys": [k.jwk() for k in keys]}).encode()


@dataclass
class JwksServer:
    """Serves ``document`` at ``https://localhost:PORT/certs``; counts the requests it answers."""

    cert: str
    key: str
    document: bytes = b'{"keys": []}'
    requests: int = 0
    #: Seconds between two bytes of the answer (0: all at once), to play a provider that drips.
    drip: float = 0.0
    #: Seconds to wait before answering at all, to play a provider that hangs.
    stall: float = 0.0
    #: The request target and headers of each request answered.
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def start(self) -> JwksServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                owner.seen.append((self.path, dict(self.headers.items())))
                time.sleep(owner.stall)
                body = owner.document
                self.send_response(200 if self.path.split("?", 1)[0] == "/certs" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not owner.drip:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(owner.drip)

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://localhost:{self._server.server_address[1]}/certs"

    def serve(self, *keys: SigningKey) -> None:
        self.document = jwks_document(*keys)

    def stop(self) -> None:
        """Go down for good: later fetches find nothing listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
