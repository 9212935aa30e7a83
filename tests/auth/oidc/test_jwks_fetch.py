"""Fetching the key set over HTTPS from a real loopback server: what is sent, the URLs refused
before any connection, the size bound at its exact edge, and a provider that never answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.auth.oidc.idp import JwksServer, SigningKey, jwks_document
from xrsched.auth.oidc.jwks import MAX_JWKS_BYTES, JwksError, KeySet, load_jwks


@pytest.fixture(scope="module")
def document() -> bytes:
    return jwks_document(SigningKey.rsa("k1"))


@pytest.fixture
def idp(dev_certs, document) -> Iterator[JwksServer]:
    server = JwksServer(str(dev_certs.server_cert), str(dev_certs.server_key), document=document).start()
    yield server
    server.stop()


def fetch_refusal(location: str, **options: object) -> str:
    with pytest.raises(JwksError) as refused:
        load_jwks(location, **options)
    return refused.value.message


def test_the_request_asks_for_json_as_xrsched_at_the_urls_path_and_query(idp, dev_certs):
    assert list(load_jwks(idp.url + "?realm=data", ca=dev_certs.ca_cert)) == ["k1"]
    target, headers = idp.seen[-1]
    assert target == "/certs?realm=data"
    assert (headers["Accept"], headers["User-Agent"]) == ("application/json", "xrsched")


def test_a_url_without_a_path_asks_for_the_root(idp, dev_certs):
    root = idp.url.removesuffix("/certs")
    assert fetch_refusal(root, ca=dev_certs.ca_cert) == f"{root}: HTTP 404 Not Found"
    assert idp.seen[-1][0] == "/"


@pytest.mark.parametrize("url", ["https:///certs", "https://:8443/certs", "HTTPS://?x"])
def test_an_https_url_without_a_host_is_refused_before_any_connection(url):
    assert fetch_refusal(url) == f"{url}: not an https:// URL"


def test_an_unusable_ca_file_is_named(idp, tmp_path):
    message = fetch_refusal(idp.url, ca=tmp_path / "missing.pem")
    assert message.startswith(f"{idp.url}: ") and "missing.pem" in message


def test_a_key_set_of_exactly_the_limit_is_read_whole_over_several_reads(idp, dev_certs, document):
    idp.document = b" " * (MAX_JWKS_BYTES - len(document)) + document  # 16 reads of 64 KiB
    assert list(load_jwks(idp.url, ca=dev_certs.ca_cert)) == ["k1"]


def test_one_byte_past_the_limit_is_refused_by_size(idp, dev_certs, document):
    idp.document = b" " * (MAX_JWKS_BYTES + 1 - len(document)) + document
    message = fetch_refusal(idp.url, ca=dev_certs.ca_cert)
    assert message == f"{idp.url}: the key set is larger than {MAX_JWKS_BYTES} bytes"


def test_a_provider_that_never_answers_is_given_up_on_after_the_timeout(idp, dev_certs):
    idp.stall = 5.0
    keys = KeySet(idp.url, ca=dev_certs.ca_cert, timeout=0.5)
    started = time.monotonic()
    assert not keys.refresh(1000.0)
    assert time.monotonic() - started < 3
    assert keys.state().error == f"{idp.url}: TimeoutError: The read operation timed out"


def test_a_fetched_document_that_is_no_key_set_is_named_by_its_url(idp, dev_certs):
    idp.document = b"<html>sign in</html>"
    assert fetch_refusal(idp.url, ca=dev_certs.ca_cert) == f"{idp.url}: not JSON"
