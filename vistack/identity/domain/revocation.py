"""An in-memory index of revocation events, rebuilt when identity data changes.

Validation is the hottest path of the cloud: it must not query the database. The index answers
"is this token revoked" from two dictionaries: revoked audit ids, and per user the latest time
before which all of that user's tokens are void (password change, disable, delete).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from vistack.identity.domain.models import RevocationEvent
from vistack.identity.domain.tokens import TokenPayload


class RevocationIndex:
    def __init__(self, events: Iterable[RevocationEvent] = ()) -> None:
        self._audit: dict[str, datetime] = {}
        self._user: dict[str, datetime] = {}
        for event in events:
            if event.audit_id:
                self._audit[event.audit_id] = max(
                    event.issued_before, self._audit.get(event.audit_id, event.issued_before)
                )
            if event.user_id:
                self._user[event.user_id] = max(
                    event.issued_before, self._user.get(event.user_id, event.issued_before)
                )

    def is_revoked(self, payload: TokenPayload) -> bool:
        for audit_id in payload.audit_ids:
            if audit_id in self._audit:
                return True
        return self.is_user_revoked(payload.user_id, payload.issued_at)

    def is_user_revoked(self, user_id: str, issued_at: datetime) -> bool:
        """Whether `user_id`'s tokens (or trust tokens of its trusts) issued then are void."""
        before = self._user.get(user_id)
        return before is not None and issued_at <= before
