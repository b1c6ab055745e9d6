"""Keystone v3 JSON views of the identity dataclasses."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from vistack.identity.api.deps import v3_url
from vistack.identity.domain.auth import ValidatedToken
from vistack.identity.domain.catalog import CatalogEntry
from vistack.identity.domain.models import (
    AccessRule,
    ApplicationCredential,
    Credential,
    Domain,
    Endpoint,
    Group,
    Project,
    Region,
    Role,
    Service,
    Trust,
    User,
)
from vistack.identity.domain.time import isotime


def domain_view(request: Request, domain: Domain) -> dict[str, Any]:
    return {
        "id": domain.id,
        "name": domain.name,
        "description": domain.description,
        "enabled": domain.enabled,
        "tags": [],
        "options": {},
        "links": {"self": v3_url(request, "domains", domain.id)},
    }


def project_view(request: Request, project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "domain_id": project.domain_id,
        # Keystone shows a top-level project's domain as its parent.
        "parent_id": project.parent_id or project.domain_id,
        "description": project.description,
        "enabled": project.enabled,
        "is_domain": False,
        "tags": list(project.tags),
        "options": {},
        "links": {"self": v3_url(request, "projects", project.id)},
    }


def user_view(request: Request, user: User) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": user.id,
        "name": user.name,
        "domain_id": user.domain_id,
        "enabled": user.enabled,
        "password_expires_at": isotime(user.password_expires_at, subsecond=False),
        "options": dict(user.options),
        "links": {"self": v3_url(request, "users", user.id)},
    }
    if user.email is not None:
        body["email"] = user.email
    if user.description is not None:
        body["description"] = user.description
    if user.default_project_id is not None:
        body["default_project_id"] = user.default_project_id
    return {**user.extra, **body}


def group_view(request: Request, group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "domain_id": group.domain_id,
        "description": group.description,
        "links": {"self": v3_url(request, "groups", group.id)},
        **group.extra,
    }


def role_view(request: Request, role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "domain_id": role.domain_id,
        "description": role.description,
        "options": dict(role.options),
        "links": {"self": v3_url(request, "roles", role.id)},
    }


def role_ref(request: Request, role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "links": {"self": v3_url(request, "roles", role.id)}}


def region_view(request: Request, region: Region) -> dict[str, Any]:
    return {
        "id": region.id,
        "description": region.description,
        "parent_region_id": region.parent_region_id,
        "links": {"self": v3_url(request, "regions", region.id)},
    }


def service_view(request: Request, service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "type": service.type,
        "name": service.name,
        "description": service.description,
        "enabled": service.enabled,
        "links": {"self": v3_url(request, "services", service.id)},
    }


def endpoint_view(request: Request, endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "service_id": endpoint.service_id,
        "interface": endpoint.interface,
        "url": endpoint.url,
        "region_id": endpoint.region_id,
        "region": endpoint.region_id,
        "enabled": endpoint.enabled,
        "links": {"self": v3_url(request, "endpoints", endpoint.id)},
    }


def application_credential_view(
    request: Request, credential: ApplicationCredential, secret: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": credential.id,
        "name": credential.name,
        "description": credential.description,
        "user_id": credential.user_id,
        "project_id": credential.project_id,
        "system": credential.system,
        # Echoed as the client sent it: naive ISO 8601 (Tempest compares the strings).
        "expires_at": credential.expires_at.isoformat() if credential.expires_at else None,
        "unrestricted": credential.unrestricted,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id} for r in credential.roles],
        "access_rules": [access_rule_fields(rule) for rule in credential.access_rules],
        "links": {
            "self": v3_url(
                request, "users", credential.user_id, "application_credentials", credential.id
            )
        },
    }
    if secret is not None:
        body["secret"] = secret
    return body


def access_rule_fields(rule: AccessRule) -> dict[str, Any]:
    """A rule as a credential (and a token) lists it: no links."""
    return {"id": rule.id, "service": rule.service, "path": rule.path, "method": rule.method}


def access_rule_view(request: Request, rule: AccessRule) -> dict[str, Any]:
    return {
        **access_rule_fields(rule),
        "links": {"self": v3_url(request, "users", rule.user_id, "access_rules", rule.id)},
    }


def trust_view(request: Request, trust: Trust, *, with_roles: bool = True) -> dict[str, Any]:
    """A trust as Keystone shows it; a listing leaves out the roles (`with_roles=False`)."""
    body: dict[str, Any] = {
        "id": trust.id,
        "trustor_user_id": trust.trustor_user_id,
        "trustee_user_id": trust.trustee_user_id,
        "project_id": trust.project_id,
        "impersonation": trust.impersonation,
        "expires_at": isotime(trust.expires_at),
        "remaining_uses": trust.remaining_uses,
        "allow_redelegation": trust.redelegation_count > 0,
        "redelegation_count": trust.redelegation_count,
        "redelegated_trust_id": trust.redelegated_trust_id,
        "deleted_at": None,
        "links": {"self": v3_url(request, "OS-TRUST", "trusts", trust.id)},
    }
    if with_roles:
        body["roles"] = [role_view(request, role) for role in trust.roles]
        body["roles_links"] = trust_roles_links(request, trust)
    return body


def trust_roles_links(request: Request, trust: Trust) -> dict[str, str | None]:
    return {
        "self": v3_url(request, "OS-TRUST", "trusts", trust.id, "roles"),
        "previous": None,
        "next": None,
    }


def credential_view(request: Request, credential: Credential) -> dict[str, Any]:
    """A credential as Keystone shows it: the blob is the string stored, decrypted."""
    return {
        "id": credential.id,
        "user_id": credential.user_id,
        "project_id": credential.project_id,
        "type": credential.type,
        "blob": credential.blob,
        "links": {"self": v3_url(request, "credentials", credential.id)},
    }


def ec2_credential_view(
    request: Request, credential: Credential, keys: dict[str, Any]
) -> dict[str, Any]:
    """An OS-EC2 credential: the keys of its blob, its user and its project (`tenant_id`)."""
    access = str(keys.get("access", ""))
    return {
        "user_id": credential.user_id,
        "tenant_id": credential.project_id,
        "access": access,
        "secret": keys.get("secret"),
        "trust_id": None,
        "links": {
            "self": v3_url(request, "users", credential.user_id, "credentials", "OS-EC2", access)
        },
    }


def catalog_view(entries: list[CatalogEntry]) -> list[dict[str, Any]]:
    return [
        {
            "id": entry.service.id,
            "type": entry.service.type,
            "name": entry.service.name,
            "endpoints": [
                {
                    "id": endpoint.id,
                    "interface": endpoint.interface,
                    "region": endpoint.region_id,
                    "region_id": endpoint.region_id,
                    "url": endpoint.url,
                }
                for endpoint in entry.endpoints
            ],
        }
        for entry in entries
    ]


def token_view(token: ValidatedToken, catalog: list[CatalogEntry] | None) -> dict[str, Any]:
    scope = token.scope
    payload = token.payload
    body: dict[str, Any] = {
        "methods": list(payload.methods),
        "user": {
            "id": scope.user.id,
            "name": scope.user.name,
            "domain": {"id": scope.user_domain.id, "name": scope.user_domain.name},
            "password_expires_at": isotime(scope.user.password_expires_at),
        },
        "audit_ids": list(payload.audit_ids),
        "issued_at": isotime(payload.issued_at),
        "expires_at": isotime(payload.expires_at),
    }
    if scope.project is not None and scope.project_domain is not None:
        body["project"] = {
            "id": scope.project.id,
            "name": scope.project.name,
            "domain": {"id": scope.project_domain.id, "name": scope.project_domain.name},
        }
        body["is_domain"] = False
    elif scope.domain is not None:
        body["domain"] = {"id": scope.domain.id, "name": scope.domain.name}
    elif scope.system:
        body["system"] = {"all": True}
    if scope.roles or scope.project or scope.domain or scope.system:
        body["roles"] = [{"id": role.id, "name": role.name} for role in scope.roles]
    if scope.application_credential is not None:
        credential = scope.application_credential
        body["application_credential"] = {
            "id": credential.id,
            "name": credential.name,
            "restricted": not credential.unrestricted,
        }
        if credential.access_rules:
            # What keystonemiddleware enforces on every other service (Keystone's own key).
            body["application_credential"]["access_rules"] = [
                access_rule_fields(rule) for rule in credential.access_rules
            ]
    if scope.trust is not None:
        trust = scope.trust
        reference: dict[str, Any] = {
            "id": trust.id,
            "impersonation": trust.impersonation,
            "trustee_user": {"id": trust.trustee_user_id},
            "trustor_user": {"id": trust.trustor_user_id},
        }
        if trust.redelegated_trust_id is not None:
            reference["redelegated_trust_id"] = trust.redelegated_trust_id
            reference["redelegation_count"] = trust.redelegation_count
        body["OS-TRUST:trust"] = reference
    if catalog is not None and (scope.project or scope.domain or scope.system):
        # Keystone gives an unscoped token no catalog.
        body["catalog"] = catalog_view(catalog)
    return {"token": body}
