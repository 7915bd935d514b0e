"""Field encryption at rest and keyed blind indexes.

Sensitive columns (ID and phone numbers) are stored as authenticated ciphertext. The keys live
outside the database in a keyring (a JSON file under ``var/keys/`` by default, or given through
the environment), so a stolen database dump reveals nothing. SM4-GCM (GB/T 32907) is used where
the crypto library offers it, AES-256-GCM otherwise.

Exact search goes through a *blind index*: an HMAC of the normalised value under a separate
index key. Tails (last 4 or 6 characters) get blind indexes of their own so that "last four of
the phone" works without decrypting anything.

Ciphertext layout: ``b"\\x01" | len(key_id) | key_id | nonce(12) | ciphertext+tag``. The key id
lets ``linli keys rotate`` re-encrypt column by column while old rows stay readable.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
SM4_GCM = "SM4-GCM"
AES_GCM = "AES-256-GCM"


def sm4_gcm_available() -> bool:
    try:
        encryptor = Cipher(algorithms.SM4(bytes(16)), modes.GCM(bytes(12))).encryptor()
        encryptor.update(b"x")
        encryptor.finalize()
    except Exception:  # noqa: BLE001 - any failure means the backend lacks SM4-GCM
        return False
    return True


@dataclass(frozen=True)
class DataKey:
    key_id: str
    algorithm: str
    secret: bytes

    @cached_property
    def _sm4(self) -> algorithms.SM4:
        return algorithms.SM4(self.secret)  # checked once, not on every call

    def encrypt(self, plaintext: bytes, nonce: bytes, aad: bytes) -> bytes:
        if self.algorithm == AES_GCM:
            return AESGCM(self.secret).encrypt(nonce, plaintext, aad)
        encryptor = Cipher(self._sm4, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return body + encryptor.tag

    def decrypt(self, ciphertext: bytes, nonce: bytes, aad: bytes) -> bytes:
        if self.algorithm == AES_GCM:
            return AESGCM(self.secret).decrypt(nonce, ciphertext, aad)
        body, tag = ciphertext[:-TAG_BYTES], ciphertext[-TAG_BYTES:]
        decryptor = Cipher(self._sm4, modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(body) + decryptor.finalize()


SHORT_VALUE = 4
SHORT_CACHE = 50_000


class Keyring:
    """The active data key, older keys still needed to read old rows, and the blind-index key."""

    def __init__(self, data: dict):
        try:
            self.active_id: str = data["active"]
            self.keys = {
                key_id: DataKey(key_id, entry["algorithm"], base64.b64decode(entry["secret"]))
                for key_id, entry in data["keys"].items()
            }
            self.index_secret = base64.b64decode(data["index_secret"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"Linli keyring is malformed: {exc}") from exc
        if self.active_id not in self.keys:
            raise ImproperlyConfigured("Linli keyring: the active key is not in the keyring")
        # Blind indexes of short values (the last four digits of IDs and phones: 10,000 values
        # each) recur on every bulk load; they are remembered, bounded, per keyring.
        self._short: dict[tuple[str, str], str] = {}

    @property
    def active(self) -> DataKey:
        return self.keys[self.active_id]

    # -- ciphertext ---------------------------------------------------------------------------
    def encrypt(self, plaintext: str, aad: bytes = b"") -> bytes:
        key = self.active
        nonce = os.urandom(NONCE_BYTES)
        kid = key.key_id.encode()
        body = key.encrypt(plaintext.encode("utf-8"), nonce, aad)
        return bytes([FORMAT_VERSION, len(kid)]) + kid + nonce + body

    def decrypt(self, blob: bytes, aad: bytes = b"") -> str:
        blob = bytes(blob)
        if not blob or blob[0] != FORMAT_VERSION:
            raise ValueError("unknown ciphertext format")
        kid_len = blob[1]
        kid = blob[2 : 2 + kid_len].decode()
        nonce = blob[2 + kid_len : 2 + kid_len + NONCE_BYTES]
        body = blob[2 + kid_len + NONCE_BYTES :]
        try:
            key = self.keys[kid]
        except KeyError as exc:
            raise ValueError(f"ciphertext was written with key {kid!r}, which is not in the keyring") from exc
        return key.decrypt(body, nonce, aad).decode("utf-8")

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        blob = bytes(blob)
        return blob[2 : 2 + blob[1]].decode()

    # -- blind index --------------------------------------------------------------------------
    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed, deterministic 128-bit fingerprint: equal values give equal indexes."""
        short = len(value) <= SHORT_VALUE
        if short:
            hit = self._short.get((purpose, value))
            if hit is not None:
                return hit
        mac = hmac.new(self.index_secret, f"{purpose}\x00{value}".encode(), hashlib.sha256)
        index = mac.hexdigest()[:32]
        if short and len(self._short) < SHORT_CACHE:
            self._short[(purpose, value)] = index
        return index


def new_keyring_data(key_id: str = "k1") -> dict:
    algorithm = SM4_GCM if sm4_gcm_available() else AES_GCM
    return {
        "active": key_id,
        "keys": {key_id: new_key_entry(algorithm)},
        "index_secret": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def new_key_entry(algorithm: str | None = None) -> dict:
    algorithm = algorithm or (SM4_GCM if sm4_gcm_available() else AES_GCM)
    size = 16 if algorithm == SM4_GCM else 32
    return {"algorithm": algorithm, "secret": base64.b64encode(secrets.token_bytes(size)).decode()}


def keyring_path() -> Path:
    return Path(settings.LINLI_KEYRING_FILE)


def ensure_keyring_file() -> tuple[Path, bool]:
    """Create the keyring file (mode 0600) unless the keyring comes from the environment."""
    if os.environ.get("LINLI_KEYRING"):
        return keyring_path(), False
    path = keyring_path()
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(new_keyring_data(), fh, indent=2)
    return path, True


@cache
def keyring() -> Keyring:
    raw = os.environ.get("LINLI_KEYRING")
    if raw:
        return Keyring(json.loads(raw))
    path = keyring_path()
    if not path.exists():
        ensure_keyring_file()
    return Keyring(json.loads(path.read_text(encoding="utf-8")))


def reset_keyring_cache() -> None:
    keyring.cache_clear()
