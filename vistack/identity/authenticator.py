"""Turns an `X-Auth-Token` into a `RequestContext` for every service of this process.

In the embedded and controller topologies identity runs in-process, so services validate tokens
by calling the identity domain directly, with its cache, instead of over HTTP as upstream's
keystonemiddleware does. Like keystonemiddleware, it enforces application credential access
rules against the call being made (`domain.access_rules`).
"""

from __future__ import annotations

from vistack.common.context import ApiCall, RequestContext
from vistack.common.errors import Forbidden, NotFound, Unauthorized
from vistack.identity.domain.access_rules import permits
from vistack.identity.domain.auth import AuthService, ValidatedToken


class TokenAuthenticator:
    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def context_for(self, token: str, request_id: str, call: ApiCall) -> RequestContext:
        """:raises Unauthorized: the token is invalid, expired or revoked.
        :raises Forbidden: the token's application credential access rules do not allow `call`.
        """
        try:
            validated = self._auth.validate(token)
        except NotFound as exc:
            raise Unauthorized("The request you have made requires authentication.") from exc
        _check_access_rules(validated, call)
        return _context(validated, request_id)

    def context_from_memory(
        self, token: str, request_id: str, call: ApiCall
    ) -> RequestContext | None:
        """The context when it can be had without I/O, else None.

        :raises Unauthorized: the token is invalid, as far as memory can tell.
        :raises Forbidden: the token's application credential access rules do not allow `call`.
        """
        try:
            validated = self._auth.validate_from_memory(token)
        except NotFound as exc:
            raise Unauthorized("The request you have made requires authentication.") from exc
        if validated is None:
            return None
        _check_access_rules(validated, call)
        return _context(validated, request_id)


def _check_access_rules(validated: ValidatedToken, call: ApiCall) -> None:
    # The rules come with the token's scope, cached per identity generation: no query here.
    credential = validated.scope.application_credential
    if credential is None or not credential.access_rules:
        return
    if not permits(credential.access_rules, call.service_type, call.method, call.path):
        raise Forbidden(
            f"The application credential {credential.id} this token comes from has access "
            f"rules, and none of them allows {call.method} {call.path} on the "
            f"{call.service_type or 'unknown'} service."
        )


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
