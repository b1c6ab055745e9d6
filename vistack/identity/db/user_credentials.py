"""Credentials users store (`/v3/credentials`, OS-EC2), kept encrypted: rows never hold a clear
blob, and this module never sees one."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vistack.identity.db.tables import CredentialRow
from vistack.identity.domain.models import EncryptedCredential
from vistack.identity.domain.time import utcnow


def _to_model(row: CredentialRow) -> EncryptedCredential:
    return EncryptedCredential(
        id=row.id,
        user_id=row.user_id,
        type=row.type,
        encrypted_blob=row.encrypted_blob,
        key_hash=row.key_hash,
        project_id=row.project_id,
    )


class CredentialRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, credential_id: str) -> EncryptedCredential | None:
        row = self._session.get(CredentialRow, credential_id)
        return _to_model(row) if row else None

    def find(
        self, *, user_id: str | None = None, type: str | None = None
    ) -> list[EncryptedCredential]:
        query = select(CredentialRow).order_by(CredentialRow.created_at, CredentialRow.id)
        if user_id is not None:
            query = query.where(CredentialRow.user_id == user_id)
        if type is not None:
            query = query.where(CredentialRow.type == type)
        return [_to_model(row) for row in self._session.scalars(query)]

    def add(self, credential: EncryptedCredential) -> None:
        self._session.add(
            CredentialRow(
                id=credential.id,
                user_id=credential.user_id,
                project_id=credential.project_id,
                type=credential.type,
                encrypted_blob=credential.encrypted_blob,
                key_hash=credential.key_hash,
                created_at=utcnow(),
            )
        )
        self._session.flush()

    def update(self, credential: EncryptedCredential) -> None:
        self._session.execute(
            update(CredentialRow)
            .where(CredentialRow.id == credential.id)
            .values(
                project_id=credential.project_id,
                encrypted_blob=credential.encrypted_blob,
                key_hash=credential.key_hash,
            )
        )

    def delete(self, credential_id: str) -> None:
        self._session.execute(delete(CredentialRow).where(CredentialRow.id == credential_id))

    def delete_for_project(self, project_id: str) -> None:
        self._session.execute(delete(CredentialRow).where(CredentialRow.project_id == project_id))
