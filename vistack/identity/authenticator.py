"""Turns an `X-Auth-Token` into a `RequestContext` for every service of this process.

In the embedded and controller topologies identity runs in-process, so services validate tokens
by calling the identity domain directly, with its cache, instead of over HTTP as upstream's
keystonemiddleware does.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.errors import NotFound, Unauthorized
from vistack.identity.domain.auth import AuthService, ValidatedToken


class TokenAuthenticator:
    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def context_for(self, token: str, request_id: str) -> RequestContext:
        """:raises Unauthorized: the token is invalid, expired or revoked."""
        try:
            validated = self._auth.validate(token)
        except NotFound as exc:
            raise Unauthorized("The request you have made requires authentication.") from exc
        return _context(validated, request_id)

    def context_from_memory(self, token: str, request_id: str) -> RequestContext | None:
        """The context when it can be had without I/O, else None.

        :raises Unauthorized: the token is invalid, as far as memory can tell.
        """
        try:
            validated = self._auth.validate_from_memory(token)
        except NotFound as exc:
            raise Unauthorized("The request you have made requires authentication.") from exc
        return None if validated is None else _context(validated, request_id)


def _context(validated: ValidatedToken, request_id: str) -> RequestContext:
    scope = validated.scope
    payload = validated.payload
    return RequestContext(
        request_id=request_id,
        user_id=scope.user.id,
        user_name=scope.user.name,
        user_domain_id=scope.user.domain_id,
        project_id=scope.project.id if scope.project else None,
        project_name=scope.project.name if scope.project else None,
        project_domain_id=scope.project.domain_id if scope.project else None,
        domain_id=scope.domain.id if scope.domain else None,
        domain_name=scope.domain.name if scope.domain else None,
        system_scope="all" if scope.system else None,
        roles=tuple(role.name for role in scope.roles),
        auth_methods=payload.methods,
        application_credential_id=payload.application_credential_id,
        trust_id=payload.trust_id,
        audit_ids=payload.audit_ids,
    )
