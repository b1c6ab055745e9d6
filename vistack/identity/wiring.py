"""Builds the identity services from settings (called by the composition root only)."""

from __future__ import annotations

from datetime import timedelta

from vistack.common.cache import Cache
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.config import Settings
from vistack.identity.api.deps import IdentityServices
from vistack.identity.db.unit_of_work import SqlIdentityStore
from vistack.identity.domain.app_credentials import ApplicationCredentialService
from vistack.identity.domain.assignments import AssignmentService
from vistack.identity.domain.auth import AuthService
from vistack.identity.domain.bootstrap import Bootstrapper
from vistack.identity.domain.catalog import CatalogService
from vistack.identity.domain.changes import ChangeTracker, GenerationCache
from vistack.identity.domain.fernet_keys import FernetKeyRepository
from vistack.identity.domain.identities import IdentityService
from vistack.identity.domain.password_rules import PasswordRules
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.resources import ResourceService
from vistack.identity.domain.tokens import TokenCodec
from vistack.identity.domain.trusts import TrustService


def key_repository(settings: Settings) -> FernetKeyRepository:
    return FernetKeyRepository(settings.fernet_key_path, settings.identity.fernet_max_active_keys)


def build_identity_services(
    settings: Settings, database: Database, cache: Cache, policy: PolicyEngine
) -> IdentityServices:
    keys = key_repository(settings)
    keys.ensure()
    store = SqlIdentityStore(database)
    changes = ChangeTracker(cache)
    hasher = PasswordHasher(settings.identity.bcrypt_rounds)
    lifetime = timedelta(seconds=settings.identity.token_expiration)
    compliance = settings.security_compliance
    rules = PasswordRules(
        lockout_failure_attempts=compliance.lockout_failure_attempts,
        lockout_duration=compliance.lockout_duration,
        unique_last_password_count=compliance.unique_last_password_count,
        minimum_password_age_days=compliance.minimum_password_age,
        password_expires_days=compliance.password_expires_days,
        password_regex=compliance.password_regex,
        password_regex_description=compliance.password_regex_description,
    )
    return IdentityServices(
        auth=AuthService(
            store,
            changes,
            cache,
            TokenCodec(keys.current_cipher),
            hasher,
            lifetime,
            timedelta(seconds=settings.identity.allow_expired_window),
            rules,
        ),
        resources=ResourceService(store, changes, GenerationCache(cache, changes, "project-lists")),
        identities=IdentityService(store, changes, hasher, lifetime, rules),
        assignments=AssignmentService(store, changes),
        catalog=CatalogService(store, changes, cache),
        app_credentials=ApplicationCredentialService(store, changes, hasher),
        trusts=TrustService(store, changes, settings.identity.max_redelegation_count),
        policy=policy,
        region=settings.server.region,
        bootstrapper=Bootstrapper(store, changes, hasher),
    )
