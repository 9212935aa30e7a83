"""Authentication and authorization: tokens file, roles, client-certificate identities."""

from xrsched.auth.credentials import AuthResult, Identity, TokenStore
from xrsched.auth.roles import (
    METHOD_ROLES,
    Role,
    allowed,
    required_role,
)
from xrsched.auth.tokenfile import CertificateMapping, TokenFileError, TokenRecord, parse_expiry
from xrsched.auth.tokens import (
    add_token,
    create_initial_admin,
    hash_secret,
    list_tokens,
    map_certificate,
    new_secret,
    revoke_token,
    rotate_token,
)

__all__ = [
    "METHOD_ROLES",
    "AuthResult",
    "CertificateMapping",
    "Identity",
    "Role",
    "TokenFileError",
    "TokenRecord",
    "TokenStore",
    "add_token",
    "allowed",
    "create_initial_admin",
    "hash_secret",
    "list_tokens",
    "map_certificate",
    "new_secret",
    "parse_expiry",
    "required_role",
    "revoke_token",
    "rotate_token",
]
