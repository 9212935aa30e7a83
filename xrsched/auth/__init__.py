"""Authentication and authorization: tokens file, roles, client-certificate identities, and the
token file a client follows.

Names are imported on first use (as :mod:`xrsched.worker` does), so a client that only needs
:mod:`.tokenwatch` does not load the roles and, through them, the scheduler core.
"""

from __future__ import annotations

from xrsched.lazyexports import lazy_exports

#: Public name -> submodule.
_EXPORTS: dict[str, str] = {
    "METHOD_ROLES": "roles",
    "AuthResult": "credentials",
    "CertificateMapping": "tokenfile",
    "Identity": "credentials",
    "Role": "roles",
    "TokenFileError": "tokenfile",
    "TokenRecord": "tokenfile",
    "TokenStore": "credentials",
    "add_token": "tokens",
    "allowed": "roles",
    "create_initial_admin": "tokens",
    "hash_secret": "tokens",
    "list_tokens": "tokens",
    "map_certificate": "tokens",
    "new_secret": "tokens",
    "parse_expiry": "tokenfile",
    "required_role": "roles",
    "revoke_token": "tokens",
    "rotate_token": "tokens",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
