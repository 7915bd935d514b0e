"""Encrypted files of any size: AES-256-GCM over fixed-size chunks, key derived from a passphrase.

Layout (all integers big-endian)::

    header:  b"LINLIENC" | version (1) | kind (1) | salt (16) | scrypt log2 N, r, p (1 each)
             | nonce prefix (7) | chunk size (4) | key check (16)
    chunks:  AES-256-GCM(key, nonce = prefix ‖ counter (4) ‖ last-flag (1), aad = header)

Every chunk but the last holds exactly ``chunk size`` bytes of plaintext; the last one (possibly
empty) carries the last-flag in its nonce. So a reordered, duplicated, dropped or truncated chunk,
a modified byte anywhere, or a modified header fails authentication (the construction of Tink's
streaming AEAD and of age's STREAM). The key check (an HMAC of the derived key) tells a wrong
passphrase apart from a damaged file before any chunk is read.

The key comes from the passphrase through scrypt (N = 2^15, r = 8, p = 1, 32 MiB of memory),
with a random salt per file. Nothing here knows about backups: ``kind`` only says what the
plaintext is, so a keyring export cannot be restored as a data backup by mistake.
"""

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"LINLIENC"
VERSION = 1
KIND_DATA_BACKUP = 1
KIND_KEYRING = 2
CHUNK_SIZE = 1 << 20
TAG = 16
_HEADER = struct.Struct(">8sBB16sBBB7sI16s")
HEADER_SIZE = _HEADER.size
SCRYPT = (15, 8, 1)


class DecryptionError(Exception):
    """The file cannot be decrypted: wrong passphrase, damaged or tampered with."""


def derive_key(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise ValueError("empty passphrase")
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _key_check(key: bytes) -> bytes:
    return hmac.new(key, b"linli-encrypted-file-key-check", hashlib.sha256).digest()[:16]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


class EncryptingWriter:
    """A write-only file object: what is written comes out encrypted into ``raw``."""

    def __init__(self, raw, passphrase: str, kind: int = KIND_DATA_BACKUP, chunk_size: int = CHUNK_SIZE):
        salt, prefix = os.urandom(16), os.urandom(7)
        self._key = derive_key(passphrase, salt, *SCRYPT)
        self.header = _HEADER.pack(
            MAGIC, VERSION, kind, salt, *SCRYPT, prefix, chunk_size, _key_check(self._key)
        )
        self._aead = AESGCM(self._key)
        self._prefix = prefix
        self._raw = raw
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        raw.write(self.header)

    def write(self, data) -> int:
        self._buffer += data
        # Keep at least one byte back: the last chunk must be written by close() with its flag.
        while len(self._buffer) > self._chunk_size:
            self._emit(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def _emit(self, chunk: bytes, last: bool) -> None:
        if self._counter >= 0xFFFFFFFF:
            raise OverflowError("file too large for one encrypted stream")
        self._raw.write(self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self.header))
        self._counter += 1

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            self._raw.flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()


def read_header(raw) -> tuple[bytes, dict]:
    header = raw.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE:
        raise DecryptionError("文件太短，不是加密备份 (file too short to be an encrypted Linli file)")
    magic, version, kind, salt, log_n, r, p, prefix, chunk_size, check = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION:
        raise DecryptionError("不是 Linli 加密文件 (not an encrypted Linli file)")
    if not (10 <= log_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16 and 1 <= chunk_size <= 64 << 20):
        raise DecryptionError("加密文件头参数无效 (invalid header parameters)")
    fields = {"kind": kind, "salt": salt, "scrypt": (log_n, r, p), "prefix": prefix,
              "chunk_size": chunk_size, "check": check}  # fmt: skip
    return header, fields


class DecryptingReader:
    """A read-only file object over an encrypted stream; raises :class:`DecryptionError` on any fault."""

    def __init__(self, raw, passphrase: str, expect_kind: int | None = KIND_DATA_BACKUP):
        self._header, fields = read_header(raw)
        if expect_kind is not None and fields["kind"] != expect_kind:
            raise DecryptionError("文件类型不符（数据备份与密钥导出不能混用） (wrong kind of encrypted file)")
        key = derive_key(passphrase, fields["salt"], *fields["scrypt"])
        if not hmac.compare_digest(_key_check(key), fields["check"]):
            raise DecryptionError("备份口令错误 (wrong backup passphrase)")
        self.kind = fields["kind"]
        self._aead = AESGCM(key)
        self._prefix = fields["prefix"]
        self._block = fields["chunk_size"] + TAG
        self._raw = raw
        self._counter = 0
        self._pending = raw.read(self._block)
        self._buffer = bytearray()
        self._done = False

    def _next_chunk(self) -> None:
        current = self._pending
        self._pending = self._raw.read(self._block)
        last = not self._pending
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), current, self._header)
        except InvalidTag:
            raise DecryptionError(
                f"第 {self._counter + 1} 块校验失败：文件被截断或篡改 "
                f"(chunk {self._counter + 1} failed authentication: the file is truncated or tampered with)"
            ) from None
        self._counter += 1
        self._buffer += plain
        self._done = last

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._next_chunk()
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def readable(self) -> bool:
        return True


def encrypt_bytes(data: bytes, passphrase: str, kind: int) -> bytes:
    import io

    out = io.BytesIO()
    with EncryptingWriter(out, passphrase, kind) as writer:
        writer.write(data)
    return out.getvalue()


def decrypt_bytes(blob: bytes, passphrase: str, kind: int) -> bytes:
    import io

    return DecryptingReader(io.BytesIO(blob), passphrase, expect_kind=kind).read()
