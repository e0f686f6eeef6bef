"""PIN hashes: self-describing, so hashes made before lanes still verify; hostile hashes never
match (nor exhaust memory); the production cost is what the README measures."""

from __future__ import annotations

import hashlib

from tillcrm.domain import TEST_PIN_COST, hash_pin, verify_pin


def test_a_pin_hash_verifies_only_the_right_pin() -> None:
    encoded = hash_pin("246813")
    assert encoded.startswith(f"scrypt-lanes$2${2**14}$18$1$")
    assert "246813" not in encoded
    assert verify_pin("246813", encoded)
    assert not verify_pin("246814", encoded)
    assert not verify_pin("246813", "garbage")


def test_a_hash_made_before_lanes_still_verifies() -> None:
    salt = bytes(range(16))
    digest = hashlib.scrypt(b"2468", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"
    assert verify_pin("2468", old)
    assert not verify_pin("2469", old)


def test_every_lane_counts() -> None:
    """A hash with its lane count lowered (cheaper to search) no longer matches."""
    encoded = hash_pin("246813", cost=TEST_PIN_COST)
    assert verify_pin("246813", encoded)
    assert not verify_pin("246813", encoded.replace("scrypt-lanes$2$", "scrypt-lanes$1$", 1))
    _, _, *rest = encoded.split("$")
    assert not verify_pin("246813", "scrypt$" + "$".join(rest))


def test_a_hash_asking_for_too_much_memory_or_too_many_lanes_never_matches() -> None:
    salt, digest = "00" * 16, "00" * 32
    assert not verify_pin("1", f"scrypt${2**30}$8$1${salt}${digest}")
    assert not verify_pin("1", f"scrypt-lanes$1000$16$1$1${salt}${digest}")
    assert not verify_pin("1", f"scrypt-lanes$0$16$1$1${salt}${digest}")
