"""Content encryption: AES-GCM under a per-record data key, wrapped by CONTENT_KEY (RFC 3394)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from store import ContentGone
from store.keystores.base import KeyStore, compute_expiry, make_ref

logger = logging.getLogger(__name__)

NONCE_BYTES = 12


def parse_master_key(value: str) -> bytes:
    """Accept CONTENT_KEY as 64 hex chars or urlsafe base64 of 32 bytes."""
    value = value.strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(key) != 32:
        raise ValueError("CONTENT_KEY must be 32 bytes (64 hex characters or base64)")
    return key


def generate_master_key() -> str:
    return secrets.token_hex(32)


class ContentCipher:
    """Seals and opens content for one master key; per-record wrapping keys live in `keys`, wrapped by the master."""

    def __init__(self, master_key: bytes, keys: KeyStore) -> None:
        self._master = master_key
        self.keys = keys
        self._pseudonym_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"pseudonym-v1").derive(master_key)
        self._field_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"fields-v1").derive(master_key)

    def new_wrapped_key(self, record_id: str, expires_at: dt.datetime) -> tuple[bytes, bytes, str]:
        """Return (data_key, wrapped_data_key, key_ref): the wrapping key is a new entry in the key store, outside
        the database (KeyStoreUnavailable when the store does not answer: nothing is sealed then)."""
        data_key = AESGCM.generate_key(bit_length=256)
        wrapping_key = AESGCM.generate_key(bit_length=256)
        ref = make_ref(record_id, expires_at)
        self.keys.put(ref, aes_key_wrap(self._master, wrapping_key), compute_expiry(ref))
        return data_key, aes_key_wrap(wrapping_key, data_key), ref

    def unwrap(self, wrapped: bytes, record_id: str, key_ref: str | None) -> bytes:
        """The data key; ContentGone when its wrapping key was destroyed (`key_ref` None: wrapped by the master)."""
        wrapping_key = self._master if key_ref is None else self._load(key_ref)
        if wrapping_key is None:
            raise ContentGone(record_id)
        try:
            return aes_key_unwrap(wrapping_key, wrapped)
        except InvalidUnwrap as exc:
            raise ContentGone(record_id) from exc

    def _load(self, key_ref: str) -> bytes | None:
        stored = self.keys.get(key_ref)
        if stored is None:
            return None
        try:
            return aes_key_unwrap(self._master, stored)
        except InvalidUnwrap:
            logger.error("key %s does not unwrap with CONTENT_KEY", key_ref.split("-", 1)[0])
            return None

    def destroy_key(self, key_ref: str | None) -> bool:
        """Crypto-shred one record outside the database; True if its wrapping key existed."""
        return key_ref is not None and self.keys.delete(key_ref)

    def purge_expired_keys(self, now: dt.datetime) -> int:
        """Destroy the keys whose expiry hour is over (also those only a restored old backup still references)."""
        destroyed = self.keys.purge_expired(now)
        if destroyed:
            logger.info("key store: %d expired keys destroyed", destroyed)
        return destroyed

    @staticmethod
    def seal(data_key: bytes, plaintext: bytes, associated: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(data_key).encrypt(nonce, plaintext, associated.encode())

    @staticmethod
    def open(data_key: bytes, sealed: bytes, associated: str) -> bytes:
        return AESGCM(data_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated.encode())

    def seal_field(self, plaintext: str, associated: str) -> bytes:
        """Encrypt a small value kept outside an invoice (a TOTP secret, a text message body)."""
        return self.seal(self._field_key, plaintext.encode(), associated)

    def open_field(self, sealed: bytes, associated: str) -> str:
        return self.open(self._field_key, sealed, associated).decode()

    def pseudonym(self, value: str) -> str:
        """Keyed HMAC of an identifier (phone number, WhatsApp user id) for lookups and logs."""
        return hmac.new(self._pseudonym_key, value.encode(), hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
