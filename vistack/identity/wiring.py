"""Builds the identity services from settings (called by the composition root only)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect

from vistack.common.cache import Cache
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.config import Settings
from vistack.identity.api.deps import IdentityServices
from vistack.identity.db.tables import CredentialRow
from vistack.identity.db.unit_of_work import SqlIdentityStore
from vistack.identity.domain.app_credentials import ApplicationCredentialService
from vistack.identity.domain.assignments import AssignmentService
from vistack.identity.domain.auth import AuthService
from vistack.identity.domain.bootstrap import Bootstrapper
from vistack.identity.domain.catalog import CatalogService
from vistack.identity.domain.changes import ChangeTracker, GenerationCache
from vistack.identity.domain.credentials import (
    CredentialCipher,
    CredentialService,
    RotationResult,
)
from vistack.identity.domain.credentials import (
    rotate_credential_keys as rotate_keys_and_blobs,
)
from vistack.identity.domain.fernet_keys import FernetKeyRepository
from vistack.identity.domain.identities import IdentityService
from vistack.identity.domain.limits import LimitService
from vistack.identity.domain.password_rules import PasswordRules
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.resources import ResourceService
from vistack.identity.domain.tokens import TokenCodec
from vistack.identity.domain.trusts import TrustService


def key_repository(settings: Settings) -> FernetKeyRepository:
    return FernetKeyRepository(settings.fernet_key_path, settings.identity.fernet_max_active_keys)


def credential_key_repository(settings: Settings) -> FernetKeyRepository:
    """The keys of `/v3/credentials` blobs: never the token keys (see `domain.credentials`)."""
    return FernetKeyRepository(
        settings.credential_key_path, settings.identity.fernet_max_active_keys
    )


def rotate_credential_keys(settings: Settings) -> RotationResult:
    """`vistack keys rotate --credential`: rotate, and re-encrypt every stored blob."""
    settings.data_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = credential_key_repository(settings)
    database = Database.from_url(settings.database_url)
    try:
        if not inspect(database.engine).has_table(CredentialRow.__tablename__):
            # A database `vistack up` never ran on holds no credentials to re-encrypt.
            keys.ensure()
            return RotationResult(keys.rotate(), 0, len(keys.keys()))
        return rotate_keys_and_blobs(SqlIdentityStore(database), keys)
    finally:
        database.dispose()


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
    auth = AuthService(
        store,
        changes,
        cache,
        TokenCodec(keys.current_cipher),
        hasher,
        lifetime,
        timedelta(seconds=settings.identity.allow_expired_window),
        rules,
    )
    credential_keys = credential_key_repository(settings)
    credential_keys.ensure()
    return IdentityServices(
        auth=auth,
        resources=ResourceService(store, changes, GenerationCache(cache, changes, "project-lists")),
        identities=IdentityService(store, changes, hasher, lifetime, rules),
        assignments=AssignmentService(store, changes),
        catalog=CatalogService(store, changes, cache),
        app_credentials=ApplicationCredentialService(store, changes, hasher),
        trusts=TrustService(store, changes, settings.identity.max_redelegation_count),
        credentials=CredentialService(
            store,
            changes,
            CredentialCipher(credential_keys),
            auth,
            timedelta(seconds=settings.identity.ec2_auth_ttl),
        ),
        limits=LimitService(store, changes, GenerationCache(cache, changes, "effective-limits")),
        policy=policy,
        region=settings.server.region,
        bootstrapper=Bootstrapper(store, changes, hasher),
    )
