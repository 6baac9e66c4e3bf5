"""The vault seals with AES-256-GCM, opens only what it sealed for the same context, and rotates."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import powerstrip.auth
from powerstrip.auth import Secret, Vault, generate_key
from powerstrip.auth.vault import parse_keys
from powerstrip.errors import ConfigError, VaultError
from powerstrip.settings import Settings

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
CONTEXT = "credential:user=7:plugin=3:access_token"
PLAINTEXT = "sk-live-very-secret-token"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:=+/ é"


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def vault() -> Vault:
    return Vault({"a": KEY_A}, active="a")


# One token for the hypothesis tests: sealing anew per example would test nothing more.
_VAULT = Vault({"a": KEY_A}, active="a")
_TOKEN = _VAULT.seal(PLAINTEXT, context=CONTEXT)


def test_a_sealed_secret_opens_in_the_same_context(vault: Vault) -> None:
    token = vault.seal(PLAINTEXT, context=CONTEXT)
    assert token.startswith("v1.a.")
    assert PLAINTEXT not in token
    assert vault.open(token, context=CONTEXT) == PLAINTEXT


@given(st.text(max_size=300))
def test_any_text_round_trips(plaintext: str) -> None:
    assert _VAULT.open(_VAULT.seal(plaintext, context=CONTEXT), context=CONTEXT) == plaintext


def test_sealing_twice_gives_different_tokens(vault: Vault) -> None:
    assert vault.seal(PLAINTEXT, context=CONTEXT) != vault.seal(PLAINTEXT, context=CONTEXT)


def test_a_secret_wrapper_can_be_sealed(vault: Vault) -> None:
    token = vault.seal(Secret(PLAINTEXT), context=CONTEXT)
    assert vault.open(token, context=CONTEXT) == PLAINTEXT


@pytest.mark.parametrize(
    "other_context",
    [
        "credential:user=8:plugin=3:access_token",  # another user's row
        "credential:user=7:plugin=3:refresh_token",  # another column
        "credential:user=7:plugin=3:access_token ",
    ],
)
def test_a_token_copied_to_another_context_does_not_open(vault: Vault, other_context: str) -> None:
    token = vault.seal(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError, match="does not open") as caught:
        vault.open(token, context=other_context)
    assert PLAINTEXT not in str(caught.value)


@given(position=st.integers(min_value=0), replacement=st.sampled_from(ALPHABET))
@settings(max_examples=300)
def test_every_changed_character_is_refused(position: int, replacement: str) -> None:
    index = position % len(_TOKEN)
    if _TOKEN[index] == replacement:
        replacement = "A" if replacement != "A" else "B"
    tampered = _TOKEN[:index] + replacement + _TOKEN[index + 1 :]
    with pytest.raises(VaultError) as caught:
        _VAULT.open(tampered, context=CONTEXT)
    assert PLAINTEXT not in str(caught.value)


@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
@settings(max_examples=300)
def test_every_flipped_byte_of_the_sealed_data_is_refused(position: int, flip: int) -> None:
    version, key_id, body = _TOKEN.split(".")
    blob = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    blob[position % len(blob)] ^= flip
    tampered_body = base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()
    with pytest.raises(VaultError, match="does not open"):
        _VAULT.open(f"{version}.{key_id}.{tampered_body}", context=CONTEXT)


def test_a_truncated_or_extended_token_is_refused(vault: Vault) -> None:
    token = vault.seal(PLAINTEXT, context=CONTEXT)
    for tampered in (token[:-1], token[:-4], token + "A", token + "AAAA"):
        with pytest.raises(VaultError):
            vault.open(tampered, context=CONTEXT)


def test_an_unknown_key_id_is_refused_naming_the_id(vault: Vault) -> None:
    other = Vault({"b": KEY_B}, active="b")
    token = other.seal(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError, match="key id 'b', which is not configured"):
        vault.open(token, context=CONTEXT)


def test_a_token_relabelled_to_another_key_id_is_refused() -> None:
    # Both keys known: moving a token to the other id must not open it under that key.
    both = Vault({"a": KEY_A, "b": KEY_A}, active="a")
    token = both.seal(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError, match="does not open"):
        both.open(token.replace("v1.a.", "v1.b.", 1), context=CONTEXT)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "plaintext",
        "v1.a",
        "v2.a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.a.",
        "v1.a.AAAA",  # shorter than nonce + tag
        "v1.a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # padding is never written
        "v1.a.AAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.extra",
        "v1.a/b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_tokens_are_refused(vault: Vault, token: str) -> None:
    with pytest.raises(VaultError):
        vault.open(token, context=CONTEXT)
    with pytest.raises(VaultError):
        vault.needs_rotation(token)


def test_an_empty_context_is_refused(vault: Vault) -> None:
    with pytest.raises(VaultError, match="context"):
        vault.seal(PLAINTEXT, context="")


def test_rotation_keeps_old_tokens_open_and_reseals_under_the_new_key() -> None:
    old = Vault({"a": KEY_A}, active="a")
    old_token = old.seal(PLAINTEXT, context=CONTEXT)

    rotated = Vault({"b": KEY_B, "a": KEY_A}, active="b")
    assert rotated.open(old_token, context=CONTEXT) == PLAINTEXT
    assert rotated.needs_rotation(old_token)

    new_token = rotated.rotate(old_token, context=CONTEXT)
    assert new_token.startswith("v1.b.")
    assert not rotated.needs_rotation(new_token)
    assert rotated.open(new_token, context=CONTEXT) == PLAINTEXT
    assert rotated.rotate(new_token, context=CONTEXT) == new_token, "already current: unchanged"

    # Once every token is rotated, the old key can go.
    assert Vault({"b": KEY_B}, active="b").open(new_token, context=CONTEXT) == PLAINTEXT


def test_rotate_refuses_a_token_that_does_not_open() -> None:
    rotated = Vault({"b": KEY_B, "a": KEY_A}, active="b")
    token = Vault({"a": KEY_A}, active="a").seal(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError):
        rotated.rotate(token, context="credential:user=8:plugin=3:access_token")


def test_the_repr_shows_key_ids_only() -> None:
    vault = Vault({"b": KEY_B, "a": KEY_A}, active="b")
    text = repr(vault)
    assert text == "Vault(active='b', key_ids=['b', 'a'])"
    for key in (KEY_A, KEY_B):
        assert _b64(key) not in text
        assert key.hex() not in text
        assert repr(key) not in text


def test_a_secret_hides_its_value_everywhere_but_reveal() -> None:
    secret = Secret(PLAINTEXT)
    assert repr(secret) == str(secret) == f"{secret}" == "Secret('***')"
    assert PLAINTEXT not in "%s %r" % (secret, secret)  # noqa: UP031 - the old formatting too
    assert PLAINTEXT not in repr([secret, {"k": secret}])
    assert secret.reveal() == PLAINTEXT
    assert secret == Secret(PLAINTEXT)
    assert secret != Secret("other")
    assert not Secret("")


@pytest.mark.parametrize(
    ("keys", "active", "message"),
    [
        ({}, "a", "no keys"),
        ({"a": b"short"}, "a", "is 5 bytes; AES-256 needs 32"),
        ({"a": KEY_A}, "b", "active key id 'b' is not among"),
        ({"a.b": KEY_A}, "a.b", "key id 'a.b' is not"),
    ],
)
def test_a_vault_with_bad_keys_is_a_config_error(
    keys: dict[str, bytes], active: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Vault(keys, active)


def test_keys_parse_from_the_setting_and_the_first_one_seals() -> None:
    raw = f" new:{_b64(KEY_B)} , old:{base64.urlsafe_b64encode(KEY_A).decode().rstrip('=')}"
    keys, active = parse_keys(raw)
    assert keys == {"new": KEY_B, "old": KEY_A}
    assert active == "new"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_b64(KEY_A), r"no ':'.*entry 1"),
        (f"a:{_b64(KEY_A)},a:{_b64(KEY_B)}", "'a' appears twice"),
        ("a:not base64!", r"not valid base64.*entry 1 \(key id 'a'\)"),
        (f"a:{_b64(b'x' * 16)}", "16 bytes; AES-256 needs 32"),
        (f"bad id:{_b64(KEY_A)}", "key id 'bad id' is not"),
        (" , ", "no entries"),
    ],
)
def test_malformed_key_settings_are_config_errors_that_hide_the_key(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_keys(raw)
    error = caught.value
    assert error.fix is not None
    assert "POWERSTRIP_VAULT_KEYS" in str(error)
    assert _b64(KEY_A) not in str(error)
    assert _b64(KEY_B) not in str(error)


def test_from_settings_uses_the_configured_keys(tmp_path: Path) -> None:
    settings = Settings(vault_keys=f"b:{_b64(KEY_B)},a:{_b64(KEY_A)}", data_dir=tmp_path)
    vault = Vault.from_settings(settings)
    assert vault.active_key_id == "b"
    assert vault.key_ids == ("b", "a")
    assert not (tmp_path / "vault.key").exists(), "no dev key when keys are configured"
    assert _b64(KEY_B) not in repr(settings)


def test_without_keys_a_dev_key_is_generated_once_with_mode_0600(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="powerstrip.auth.vault"):
        first = Vault.from_settings(settings)
    key_file = tmp_path / "data" / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "POWERSTRIP_VAULT_KEYS" in caplog.text
    assert key_file.read_text().split(":", 1)[1].strip() not in caplog.text

    token = first.seal(PLAINTEXT, context=CONTEXT)
    second = Vault.from_settings(settings)  # a restart reads the same key
    assert second.open(token, context=CONTEXT) == PLAINTEXT
    assert first.key_ids == second.key_ids == ("dev",)


def test_a_dev_key_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    Vault.from_settings(Settings(data_dir=tmp_path))
    key_file = tmp_path / "vault.key"
    key_file.chmod(0o644)
    Vault.from_settings(Settings(data_dir=tmp_path))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_damaged_dev_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "vault.key").write_text("dev:tooshort\n")
    with pytest.raises(ConfigError, match="development vault key file is damaged"):
        Vault.from_settings(Settings(data_dir=tmp_path))


def test_generated_keys_parse_and_are_distinct() -> None:
    entry = generate_key()
    keys, active = parse_keys(entry)
    assert len(keys[active]) == 32
    assert generate_key("prod-2").startswith("prod-2:")
    assert generate_key() != generate_key()


def test_the_public_face_exports_the_vault_names() -> None:
    assert {"Secret", "Vault", "generate_key"} <= set(powerstrip.auth.__all__)
