"""What counts as the same request for an Idempotency-Key, without a database."""
from intake.entrypoints.idempotency import fingerprint


def test_the_same_json_body_in_another_key_order_or_spacing_is_the_same_request() -> None:
    assert fingerprint("POST", "/applications?", b'{"a": 1, "b": [1, 2]}') == fingerprint(
        "POST", "/applications?", b'{"b":[1,2],"a":1}')


def test_another_body_path_or_method_is_another_request() -> None:
    first = fingerprint("POST", "/applications?", b'{"a": 1}')
    assert first != fingerprint("POST", "/applications?", b'{"a": 2}')
    assert first != fingerprint("POST", "/calls?", b'{"a": 1}')
    assert first != fingerprint("PUT", "/applications?", b'{"a": 1}')


def test_a_body_that_is_not_json_is_compared_byte_for_byte() -> None:
    assert fingerprint("POST", "/x?", b"") == fingerprint("POST", "/x?", b"")
    assert fingerprint("POST", "/x?", b"{not json") != fingerprint("POST", "/x?", b"{not  json")
