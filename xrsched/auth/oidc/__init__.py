"""Identity-provider tokens (OpenID Connect JWTs): settings, the key set, the verifier."""
