import json

import pytest
from cryptography.exceptions import InvalidTag

from linli.core.crypto import AES_GCM, SM4_GCM, Keyring, new_key_entry, new_keyring_data, sm4_gcm_available


def test_sm4_gcm_is_used_where_available():
    assert sm4_gcm_available()
    assert new_keyring_data()["keys"]["k1"]["algorithm"] == SM4_GCM


@pytest.mark.parametrize("algorithm", [SM4_GCM, AES_GCM])
def test_round_trip_and_fresh_nonce(algorithm):
    data = new_keyring_data()
    data["keys"]["k1"] = new_key_entry(algorithm)
    ring = Keyring(data)
    a, b = ring.encrypt("420105199001011234"), ring.encrypt("420105199001011234")
    assert a != b  # random nonce: equal plaintexts do not give equal ciphertexts
    assert b"4201" not in a
    assert ring.decrypt(a) == ring.decrypt(b) == "420105199001011234"


def test_tampering_and_wrong_context_are_detected():
    ring = Keyring(new_keyring_data())
    blob = bytearray(ring.encrypt("13812341234", aad=b"person.phone"))
    with pytest.raises(InvalidTag):
        ring.decrypt(bytes(blob), aad=b"person.id_number")  # ciphertext moved to another column
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        ring.decrypt(bytes(blob), aad=b"person.phone")


def test_old_keys_still_decrypt_after_rotation():
    data = new_keyring_data("k1")
    old = Keyring(data)
    blob = old.encrypt("secret")
    data["keys"]["k2"] = new_key_entry()
    data["active"] = "k2"
    rotated = Keyring(json.loads(json.dumps(data)))
    assert rotated.decrypt(blob) == "secret"
    assert Keyring.key_id_of(rotated.encrypt("secret")) == "k2"


def test_blind_index_is_keyed_and_deterministic():
    a = Keyring(new_keyring_data())
    b = Keyring(new_keyring_data())
    assert a.blind_index("phone", "13812341234") == a.blind_index("phone", "13812341234")
    assert a.blind_index("phone", "13812341234") != b.blind_index("phone", "13812341234")
    assert a.blind_index("phone", "1234") != a.blind_index("id_tail4", "1234")  # purposes are separated


def test_remembered_short_blind_indexes_are_the_computed_ones(monkeypatch):
    import hashlib
    import hmac

    from linli.core import crypto

    monkeypatch.setattr(crypto, "SHORT_CACHE", 2)
    ring = Keyring(new_keyring_data())

    def computed(purpose, value):
        return hmac.new(ring.index_secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]

    for _ in range(2):  # the second round answers from the memo where it can
        for purpose, value in [("id_tail4", "0016"), ("phone_tail4", "0016"), ("id_tail4", "123X"),
                               ("id_tail5", "70016"), ("id", "420105198005170016")]:  # fmt: skip
            assert ring.blind_index(purpose, value) == computed(purpose, value)
    assert len(ring._short) == 2  # bounded


def test_unknown_key_is_a_clear_error():
    ring = Keyring(new_keyring_data("k1"))
    other = Keyring(new_keyring_data("k9"))
    with pytest.raises(ValueError, match="k9"):
        ring.decrypt(other.encrypt("x"))
