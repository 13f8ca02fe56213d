"""TOTP as RFC 6238 defines it, checked against the RFC's own test vectors, and the recovery codes' shape."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest

from podsponsor.auth import totp

# RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("moment", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_codes_match_the_rfc_6238_vectors(moment: int, eight_digits: str) -> None:
    # A 6-digit code is the same truncated number modulo 10^6: the vector's last six digits.
    assert totp.code_at(RFC_SECRET, totp.step_at(moment)) == eight_digits[-6:]


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = totp.new_secret()
    now = 1_700_000_015.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), now) is None


def test_codes_are_read_as_apps_show_them_and_nothing_else_passes() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000.0
    code = totp.code_at(secret, totp.step_at(now))
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", now) == totp.step_at(now)
    assert totp.matching_step(secret, "", now) is None
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None


def test_a_new_secret_is_160_bits_of_base32() -> None:
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20


def test_the_provisioning_uri_names_issuer_account_and_parameters() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "olive+tv@example.com", "podsponsor")
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert parsed.path == "/podsponsor:olive%2Btv@example.com"
    query = parse_qs(parsed.query)
    assert query == {
        "secret": ["JBSWY3DPEHPK3PXP"],
        "issuer": ["podsponsor"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


def test_the_qr_code_is_inline_svg_without_style_attributes() -> None:
    svg = totp.qr_svg("otpauth://totp/podsponsor:a@example.com?secret=JBSWY3DPEHPK3PXP")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "style" not in svg and "<script" not in svg


def test_recovery_codes_are_ten_distinct_unambiguous_codes(settings) -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4, 4]
        assert set(code.replace("-", "")) <= set(totp.RECOVERY_ALPHABET)
    # Typed back in capitals or without dashes, a code is still itself; another code is not.
    first = codes[0]
    assert totp.hash_recovery_code(first.upper().replace("-", " ")) == totp.hash_recovery_code(first)
    assert totp.hash_recovery_code(codes[1]) != totp.hash_recovery_code(first)
