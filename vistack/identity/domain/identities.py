"""Users and groups: creation, passwords, membership, and the revocations a change implies."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from vistack.common.errors import Conflict, NotFound, Unauthorized
from vistack.identity.domain.changes import ChangeTracker
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import Group, RevocationEvent, User
from vistack.identity.domain.password_rules import PasswordRules
from vistack.identity.domain.passwords import PasswordHasher
from vistack.identity.domain.ports import IdentityRepositories, IdentityStore
from vistack.identity.domain.time import utcnow


class IdentityService:
    def __init__(
        self,
        store: IdentityStore,
        changes: ChangeTracker,
        hasher: PasswordHasher,
        token_lifetime: timedelta,
        rules: PasswordRules | None = None,
    ) -> None:
        self._store = store
        self._changes = changes
        self._hasher = hasher
        self._token_lifetime = token_lifetime
        self._rules = rules or PasswordRules()

    # users
    def get_user(self, user_id: str) -> User:
        with self._store.transaction() as repos:
            return require_user(repos, user_id)

    def list_users(self, **filters: Any) -> list[User]:
        with self._store.transaction() as repos:
            return repos.users.find(**filters)

    def create_user(self, user: User, password: str | None) -> User:
        """Store `user` (its id is replaced by a new one unless set) with a hashed password."""
        if password:
            self._rules.check_strength(password)
        # Hash before opening the transaction: bcrypt takes ~0.3 s and must not hold a lock.
        hashed = self._hasher.hash(password) if password else None
        if not user.id:
            user = dataclasses.replace(user, id=new_id())
        if hashed:
            user = dataclasses.replace(
                user, password_expires_at=self._rules.expires_at(user, utcnow())
            )
        with self._store.transaction() as repos:
            if repos.domains.get(user.domain_id) is None:
                raise NotFound(f"Could not find domain: {user.domain_id}.")
            if repos.users.get_by_name(user.domain_id, user.name) is not None:
                raise Conflict(
                    f"Conflict occurred attempting to store user - Duplicate entry "
                    f"found with name {user.name} at domain ID {user.domain_id}."
                )
            if user.default_project_id and repos.projects.get(user.default_project_id) is None:
                raise NotFound(f"Could not find project: {user.default_project_id}.")
            repos.users.add(user, hashed)
        self._changes.changed()
        return user

    def update_user(self, user_id: str, changes: dict[str, Any], password: str | None) -> User:
        """Administrative update; a password set here skips the reuse and age rules."""
        if password:
            self._rules.check_strength(password)
        hashed = self._hasher.hash(password) if password else None
        with self._store.transaction() as repos:
            user = require_user(repos, user_id)
            changes.pop("domain_id", None)
            updated = dataclasses.replace(user, **changes)
            if updated.name != user.name and repos.users.get_by_name(user.domain_id, updated.name):
                raise Conflict(
                    f"Conflict occurred attempting to store user - Duplicate entry "
                    f"found with name {updated.name} at domain ID {user.domain_id}."
                )
            if hashed is not None:
                updated = dataclasses.replace(
                    updated, password_expires_at=self._rules.expires_at(updated, utcnow())
                )
            repos.users.update(updated)
            if hashed is not None:
                repos.users.set_password(
                    user_id,
                    hashed,
                    updated.password_expires_at,
                    keep_history=self._rules.history_depth(),
                )
            if hashed is not None or (user.enabled and not updated.enabled):
                self._revoke_user_tokens(repos, user_id)
        self._changes.changed()
        return updated

    def change_password(self, user_id: str, original: str, new: str) -> None:
        """Self-service password change: proves the original first.

        :raises Unauthorized: the user does not exist or `original` is wrong.
        """
        with self._store.transaction() as repos:
            user = repos.users.get(user_id)
            state = repos.users.password_state(user_id, self._rules.history_depth())
        if user is None or state is None or not self._hasher.verify(original, state.hash):
            raise Unauthorized("The request you have made requires authentication.")
        now = utcnow()
        self._rules.check_strength(new)
        self._rules.check_minimum_age(state, now)
        self._rules.check_not_reused(new, state, self._hasher)
        hashed = self._hasher.hash(new)
        with self._store.transaction() as repos:
            repos.users.set_password(
                user_id,
                hashed,
                self._rules.expires_at(user, now),
                keep_history=self._rules.history_depth(),
            )
            self._revoke_user_tokens(repos, user_id)
        self._changes.changed()

    def delete_user(self, user_id: str) -> None:
        with self._store.transaction() as repos:
            require_user(repos, user_id)
            repos.assignments.remove_for_actor(user_id)
            repos.trusts.delete_for_user(user_id)
            repos.users.delete(user_id)
            self._revoke_user_tokens(repos, user_id)
        self._changes.changed()

    def _revoke_user_tokens(self, repos: IdentityRepositories, user_id: str) -> None:
        now = utcnow()
        repos.revocations.add(
            RevocationEvent(
                issued_before=now, prune_after=now + self._token_lifetime * 2, user_id=user_id
            )
        )

    # groups
    def get_group(self, group_id: str) -> Group:
        with self._store.transaction() as repos:
            return require_group(repos, group_id)

    def list_groups(self, **filters: Any) -> list[Group]:
        with self._store.transaction() as repos:
            return repos.groups.find(**filters)

    def create_group(
        self, name: str, domain_id: str, description: str = "", extra: dict[str, Any] | None = None
    ) -> Group:
        group = Group(new_id(), name, domain_id, description, extra or {})
        with self._store.transaction() as repos:
            if repos.domains.get(domain_id) is None:
                raise NotFound(f"Could not find domain: {domain_id}.")
            if repos.groups.get_by_name(domain_id, name) is not None:
                raise Conflict(
                    f"Conflict occurred attempting to store group - Duplicate entry "
                    f"found with name {name} at domain ID {domain_id}."
                )
            repos.groups.add(group)
        self._changes.changed()
        return group

    def update_group(self, group_id: str, changes: dict[str, Any]) -> Group:
        with self._store.transaction() as repos:
            group = require_group(repos, group_id)
            changes.pop("domain_id", None)
            updated = dataclasses.replace(group, **changes)
            if updated.name != group.name and repos.groups.get_by_name(
                group.domain_id, updated.name
            ):
                raise Conflict(
                    f"Conflict occurred attempting to store group - Duplicate entry "
                    f"found with name {updated.name} at domain ID {group.domain_id}."
                )
            repos.groups.update(updated)
        self._changes.changed()
        return updated

    def delete_group(self, group_id: str) -> None:
        with self._store.transaction() as repos:
            require_group(repos, group_id)
            repos.assignments.remove_for_actor(group_id)
            repos.groups.delete(group_id)
        self._changes.changed()

    def add_user_to_group(self, group_id: str, user_id: str) -> None:
        with self._store.transaction() as repos:
            require_group(repos, group_id)
            require_user(repos, user_id)
            repos.groups.add_member(group_id, user_id)
        self._changes.changed()

    def remove_user_from_group(self, group_id: str, user_id: str) -> None:
        with self._store.transaction() as repos:
            require_group(repos, group_id)
            require_user(repos, user_id)
            if not repos.groups.remove_member(group_id, user_id):
                raise NotFound(f"User {user_id} is not a member of group {group_id}.")
        self._changes.changed()

    def check_user_in_group(self, group_id: str, user_id: str) -> None:
        with self._store.transaction() as repos:
            require_group(repos, group_id)
            require_user(repos, user_id)
            if not repos.groups.is_member(group_id, user_id):
                raise NotFound(f"User {user_id} is not a member of group {group_id}.")

    def list_users_in_group(self, group_id: str) -> list[User]:
        with self._store.transaction() as repos:
            require_group(repos, group_id)
            return repos.users.find(ids=repos.groups.member_ids(group_id))

    def list_groups_for_user(self, user_id: str) -> list[Group]:
        with self._store.transaction() as repos:
            require_user(repos, user_id)
            return repos.groups.find(ids=repos.groups.group_ids_of_user(user_id))


def require_user(repos: IdentityRepositories, user_id: str) -> User:
    user = repos.users.get(user_id)
    if user is None:
        raise NotFound(f"Could not find user: {user_id}.")
    return user


def require_group(repos: IdentityRepositories, group_id: str) -> Group:
    group = repos.groups.get(group_id)
    if group is None:
        raise NotFound(f"Could not find group: {group_id}.")
    return group
