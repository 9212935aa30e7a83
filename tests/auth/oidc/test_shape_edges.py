"""The JWT shape check at its length bound."""

from __future__ import annotations

import base64
import json

from xrsched.auth.oidc.shape import MAX_JWT_LENGTH, bearer_jwt, looks_like_jwt


def jwt_of_length(length: int) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256"}).encode()).rstrip(b"=").decode()
    head = f"{header}.e30."
    return head + "A" * (length - len(head))


def test_a_jwt_of_exactly_the_longest_length_is_one_and_one_more_is_not():
    assert looks_like_jwt(jwt_of_length(MAX_JWT_LENGTH))
    assert bearer_jwt("Bearer " + jwt_of_length(MAX_JWT_LENGTH)) == jwt_of_length(MAX_JWT_LENGTH)
    assert not looks_like_jwt(jwt_of_length(MAX_JWT_LENGTH + 1))
