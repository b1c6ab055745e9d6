"""Password and secret hashing with bcrypt.

bcrypt only reads the first 72 bytes of a secret (bcrypt 5 refuses longer input), so longer
secrets are cut to 72 bytes here, the same rule Keystone's bcrypt hasher applies. Verification
of an unknown user still spends one bcrypt computation so response time reveals nothing.
"""

from __future__ import annotations

import bcrypt

BCRYPT_MAX_BYTES = 72


class PasswordHasher:
    def __init__(self, rounds: int = 12) -> None:
        if not 4 <= rounds <= 31:
            raise ValueError("bcrypt rounds must be between 4 and 31")
        self._rounds = rounds
        # A real hash to compare against when the user does not exist (constant-time refusal).
        self._decoy = bcrypt.hashpw(b"decoy", bcrypt.gensalt(rounds))

    def hash(self, secret: str) -> str:
        return bcrypt.hashpw(_encode(secret), bcrypt.gensalt(self._rounds)).decode("ascii")

    def verify(self, secret: str, hashed: str | None) -> bool:
        """Whether `secret` matches `hashed`; with no hash, burn the same time and say no."""
        if not hashed:
            bcrypt.checkpw(_encode(secret), self._decoy)
            return False
        try:
            return bcrypt.checkpw(_encode(secret), hashed.encode("ascii"))
        except ValueError:
            return False


def _encode(secret: str) -> bytes:
    return secret.encode("utf-8")[:BCRYPT_MAX_BYTES]
