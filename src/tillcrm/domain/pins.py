"""Operator PIN hashes (scrypt), cached on the till so login and overrides work offline.

A till holds the hashes, so a stolen till's disk can be searched offline for every PIN: the
only defence is the cost of one guess. An attacker's guess costs exactly what one login costs
the till in CPU, so "one login under 150 ms" and "the whole 6-digit space over a day on 2
cores" (over 173 ms of CPU per guess) cannot both hold with one scrypt run. They can with
lanes: `lanes` independent scrypt runs (salts `salt || i`) computed in parallel threads
(hashlib releases the GIL) and hashed together. A 2-core till waits for one lane; the attacker
pays for all of them, so the cost per guess doubles while the wait does not.

Hashes are self-describing, so old ones still verify after the cost is raised:
`scrypt$N$r$p$salt$hash` (one lane, the format before lanes) and
`scrypt-lanes$L$N$r$p$salt$hash`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["PIN_COST", "TEST_PIN_COST", "PinCost", "hash_pin", "verify_pin"]

_MAX_MEMORY = 256 * 1024 * 1024
"""A hash asking for more memory per lane than this never matches (it is not one of ours)."""
_MAX_LANES = 8


@dataclass(frozen=True)
class PinCost:
    """scrypt's parameters and the number of parallel lanes of one PIN hash."""

    n: int
    r: int
    p: int
    lanes: int = 1

    @property
    def memory(self) -> int:
        """Bytes one lane needs (scrypt's 128 * r * (N + p + 2))."""
        return 128 * self.r * (self.n + self.p + 2)


PIN_COST = PinCost(n=2**14, r=18, p=1, lanes=2)
"""Every real operator's PIN and badge: 36 MB per lane, 2 lanes, so a guess costs twice the
CPU a login waits for. A guess must cost over 173 ms of CPU for 10^6 PINs to take a day on 2
cores, and a login must stay under 150 ms; r sits between the two with room for a faster
attacker and a slower till. `benchmarks/pin_kdf.py` measures both (figures in the README)."""

TEST_PIN_COST = PinCost(n=2**4, r=1, p=1, lanes=2)
"""Only for the test suite's own operators, whose PINs are published in the tests: it keeps
hundreds of logins fast. Never the default of any production path."""


def hash_pin(pin: str, *, cost: PinCost = PIN_COST, salt: bytes | None = None) -> str:
    """The self-describing hash of `pin` at `cost` (a fresh random salt unless given)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _digest(pin, salt, cost, dklen=32)
    if cost.lanes == 1:
        return f"scrypt${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"
    return f"scrypt-lanes${cost.lanes}${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, encoded: str) -> bool:
    """Constant-time check of `pin` against a `hash_pin` string; a malformed hash never matches."""
    try:
        scheme, *fields = encoded.split("$")
        if scheme == "scrypt" and len(fields) == 5:
            lanes = "1"
        elif scheme == "scrypt-lanes" and len(fields) == 6:
            lanes, *fields = fields
        else:
            return False
        n, r, p, salt_hex, digest_hex = fields
        cost = PinCost(n=int(n), r=int(r), p=int(p), lanes=int(lanes))
        if not 1 <= cost.lanes <= _MAX_LANES or cost.memory > _MAX_MEMORY:
            return False
        digest = _digest(pin, bytes.fromhex(salt_hex), cost, dklen=len(digest_hex) // 2)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def _digest(pin: str, salt: bytes, cost: PinCost, *, dklen: int) -> bytes:
    """One lane is plain scrypt; several run at once and are hashed together."""

    def lane(salt: bytes) -> bytes:
        return hashlib.scrypt(
            pin.encode(),
            salt=salt,
            n=cost.n,
            r=cost.r,
            p=cost.p,
            maxmem=cost.memory + 1024 * 1024,
            dklen=dklen,
        )

    if cost.lanes == 1:
        return lane(salt)
    with ThreadPoolExecutor(max_workers=cost.lanes) as pool:
        lanes = list(pool.map(lane, (salt + bytes([i]) for i in range(cost.lanes))))
    return hashlib.sha256(b"".join(lanes)).digest()[:dklen]
