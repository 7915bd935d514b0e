"""The encrypted file format: round trips, and every kind of damage is refused."""

import io

import pytest

from linli.ops import streamcrypt as sc

PASS = "a long enough passphrase"


def encrypt(data: bytes, chunk: int = 64, kind: int = sc.KIND_DATA_BACKUP) -> bytes:
    out = io.BytesIO()
    with sc.EncryptingWriter(out, PASS, kind, chunk_size=chunk) as writer:
        for i in range(0, len(data), 50):  # written in pieces that do not align with chunks
            writer.write(data[i : i + 50])
    return out.getvalue()


def decrypt(blob: bytes, passphrase: str = PASS, kind: int = sc.KIND_DATA_BACKUP) -> bytes:
    return sc.DecryptingReader(io.BytesIO(blob), passphrase, expect_kind=kind).read()


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 640, 1000])
def test_round_trip_at_chunk_boundaries(size):
    data = bytes(range(256)) * 4
    data = data[:size]
    blob = encrypt(data)
    assert decrypt(blob) == data
    assert data[:16] not in blob[sc.HEADER_SIZE :] or size < 16


def test_reads_in_small_pieces():
    data = b"0123456789" * 100
    reader = sc.DecryptingReader(io.BytesIO(encrypt(data)), PASS)
    pieces = []
    while piece := reader.read(7):
        pieces.append(piece)
    assert b"".join(pieces) == data


def test_wrong_passphrase_is_refused_before_any_chunk():
    with pytest.raises(sc.DecryptionError, match="wrong backup passphrase"):
        decrypt(encrypt(b"secret" * 100), "another passphrase!")


@pytest.mark.parametrize("position", ["header", "first", "middle", "last"])
def test_a_flipped_bit_anywhere_is_refused(position):
    blob = bytearray(encrypt(b"x" * 1000))
    index = {"header": 12, "first": sc.HEADER_SIZE + 3, "middle": len(blob) // 2, "last": len(blob) - 1}[
        position
    ]
    blob[index] ^= 0x01
    with pytest.raises(sc.DecryptionError):
        decrypt(bytes(blob))


def test_truncation_and_reordering_are_refused():
    blob = encrypt(b"y" * 640)  # 10 full chunks + an empty last one
    block = 64 + sc.TAG
    header, body = blob[: sc.HEADER_SIZE], blob[sc.HEADER_SIZE :]
    chunks = [body[i : i + block] for i in range(0, len(body), block)]
    with pytest.raises(sc.DecryptionError, match="truncated or tampered"):
        decrypt(header + b"".join(chunks[:-1]))  # last chunk dropped: the new last lacks the flag
    swapped = chunks[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(sc.DecryptionError):
        decrypt(header + b"".join(swapped))


def test_a_keyring_export_is_not_a_data_backup():
    blob = encrypt(b"{}", kind=sc.KIND_KEYRING)
    with pytest.raises(sc.DecryptionError, match="wrong kind"):
        decrypt(blob, kind=sc.KIND_DATA_BACKUP)
    assert decrypt(blob, kind=sc.KIND_KEYRING) == b"{}"


def test_not_an_encrypted_file():
    with pytest.raises(sc.DecryptionError, match="not an encrypted Linli file"):
        decrypt(b"PGDMP" + b"\0" * 200)
