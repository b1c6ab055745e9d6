"""The SQL unit of work: every identity repository on one session, committed together.

Integrity errors (a duplicate that slipped past the domain's own check in a race) become
`Conflict` here, once, instead of in every caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vistack.common.db import Database
from vistack.common.errors import Conflict
from vistack.identity.db.access_rules import AccessRuleRepository
from vistack.identity.db.catalog import CatalogRepository
from vistack.identity.db.credentials import ApplicationCredentialRepository, RevocationRepository
from vistack.identity.db.limits import LimitRepository
from vistack.identity.db.resources import DomainRepository, ProjectRepository
from vistack.identity.db.roles import AssignmentRepository, RoleRepository
from vistack.identity.db.trusts import TrustRepository
from vistack.identity.db.user_credentials import CredentialRepository
from vistack.identity.db.users import GroupRepository, UserRepository


class SqlIdentityRepositories:
    """All identity repositories bound to one session."""

    def __init__(self, session: Session) -> None:
        self.domains = DomainRepository(session)
        self.projects = ProjectRepository(session)
        self.users = UserRepository(session)
        self.groups = GroupRepository(session)
        self.roles = RoleRepository(session)
        self.assignments = AssignmentRepository(session)
        self.catalog = CatalogRepository(session)
        self.credentials = ApplicationCredentialRepository(session)
        self.access_rules = AccessRuleRepository(session)
        self.trusts = TrustRepository(session)
        self.revocations = RevocationRepository(session)
        self.user_credentials = CredentialRepository(session)
        self.limits = LimitRepository(session)


class SqlIdentityStore:
    """Opens units of work on a `Database`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @contextmanager
    def transaction(self) -> Iterator[SqlIdentityRepositories]:
        try:
            with self._database.transaction() as session:
                yield SqlIdentityRepositories(session)
        except IntegrityError as exc:
            raise Conflict(
                "Conflict occurred attempting to store the resource: it already exists "
                "or is still referenced."
            ) from exc
