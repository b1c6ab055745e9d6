"""Security-compliance rules for passwords (PCI-DSS style): strength, expiry, reuse, minimum
age and account lockout. Every rule is off until an operator sets it (`[security_compliance]`),
as in Keystone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from vistack.common.errors import BadRequest, Unauthorized
from vistack.identity.domain.models import PasswordState, User
from vistack.identity.domain.passwords import PasswordHasher

#: User option that exempts a (service) user from password expiry, as in Keystone.
IGNORE_EXPIRY = "ignore_password_expiry"
IGNORE_LOCKOUT = "ignore_lockout_failure_attempts"


@dataclass(frozen=True)
class PasswordRules:
    lockout_failure_attempts: int = 0
    lockout_duration: int = 1800
    unique_last_password_count: int = 0
    minimum_password_age_days: int = 0
    password_expires_days: int = 0
    password_regex: str = ""
    password_regex_description: str = ""

    def check_strength(self, password: str) -> None:
        """:raises BadRequest: the password does not match the configured regex."""
        if self.password_regex and not re.fullmatch(self.password_regex, password):
            detail = self.password_regex_description or f"it must match {self.password_regex}"
            raise BadRequest(f"Password validation error: {detail}.")

    def expires_at(self, user: User | None, now: datetime) -> datetime | None:
        if not self.password_expires_days or (user and user.options.get(IGNORE_EXPIRY)):
            return None
        return now + timedelta(days=self.password_expires_days)

    def check_minimum_age(self, state: PasswordState, now: datetime) -> None:
        """:raises BadRequest: a self-service change comes too soon after the last one."""
        if not self.minimum_password_age_days or state.created_at is None:
            return
        allowed = state.created_at + timedelta(days=self.minimum_password_age_days)
        if now < allowed:
            raise BadRequest(
                f"You cannot change your password at this time due to the minimum password "
                f"age; it can be changed after {allowed.isoformat()}Z."
            )

    def check_not_reused(self, new: str, state: PasswordState, hasher: PasswordHasher) -> None:
        """:raises BadRequest: `new` is one of the last N passwords (self-service only)."""
        count = self.unique_last_password_count
        if count <= 1:
            return
        recent = [h for h in (state.hash, *state.history) if h][:count]
        if any(hasher.verify(new, old) for old in recent):
            raise BadRequest(
                f"The new password cannot be identical to a previous password. The number "
                f"of previous passwords that must be unique is: {count}."
            )

    def check_not_locked(self, user: User, state: PasswordState, now: datetime) -> None:
        """:raises Unauthorized: too many recent failures (the lock lifts after the duration)."""
        if not self.lockout_failure_attempts or user.options.get(IGNORE_LOCKOUT):
            return
        if state.failed_auth_count < self.lockout_failure_attempts or state.failed_auth_at is None:
            return
        if now < state.failed_auth_at + timedelta(seconds=self.lockout_duration):
            raise Unauthorized(f"The account is locked for user: {user.id}.")

    def history_depth(self) -> int:
        """How many earlier hashes to keep: enough for the reuse rule, none without it."""
        return max(self.unique_last_password_count - 1, 0)

    @property
    def tracks_failures(self) -> bool:
        return self.lockout_failure_attempts > 0
