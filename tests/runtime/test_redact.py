"""What is recorded about a call never holds a credential."""

from __future__ import annotations

from powerstrip.redaction import MASK, Redactor


def test_known_secret_values_are_masked_everywhere() -> None:
    redactor = Redactor(["sk-SECRET-1", "tok"])  # too short to mask safely: left alone
    assert redactor.text("key sk-SECRET-1 here") == f"key {MASK} here"
    assert redactor.text("tok") == "tok"
    assert redactor.json({"note": ["sk-SECRET-1"]}) == {"note": [MASK]}


def test_secret_named_headers_and_fields_are_masked_but_look_alikes_are_not() -> None:
    redactor = Redactor()
    assert redactor.headers({"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "a"}) == {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "Accept": "a",
    }
    assert redactor.json({"access_token": "t", "author": "Ann"}) == {
        "access_token": MASK,
        "author": "Ann",
    }
    camel = {"accessToken": "t", "clientSecret": "s", "apiKey": "k", "monkey": "m"}
    assert redactor.json(camel) == {
        "accessToken": MASK,
        "clientSecret": MASK,
        "apiKey": MASK,
        "monkey": "m",
    }


def test_query_secrets_are_masked_in_urls() -> None:
    redactor = Redactor(["abc123secret"])
    url = redactor.url("https://api.example.com/x?api_key=k1&q=abc123secret&page=2#frag")
    assert url == "https://api.example.com/x?api_key=[redacted]&q=[redacted]&page=2"


def test_every_encoded_form_of_a_secret_is_masked() -> None:
    import base64
    import json
    from urllib.parse import quote

    secret = 'sk-"odd"\\key/+?=\n'
    redactor = Redactor([secret])
    header = f"Bearer {secret}"
    leaks = {
        "bytes repr": f"Illegal header value {header.encode()!r}",
        "escaped": header.encode("unicode_escape").decode(),
        "json": json.dumps({"error": header}),
        "url": f"?k={quote(secret, safe='')}",
        "basic": base64.b64encode(f"user:{secret}".encode()).decode(),
        "urlsafe": base64.urlsafe_b64encode(f"ab{secret}".encode()).decode().rstrip("="),
        "standard": base64.b64encode(secret.encode()).decode(),
    }
    for kind, text in leaks.items():
        cleaned = redactor.text(text)
        assert MASK in cleaned, kind
        assert "odd" not in cleaned, kind
