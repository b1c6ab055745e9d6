"""Volume type encryption specs (`/types/{id}/encryption`), and what an encrypted type means
for a volume create on vSphere.

The specs are kept as Cinder keeps them (provider, cipher, key size, control location) and are
refused while volumes of the type exist, as Cinder refuses them: a volume's encryption cannot
change under it.

vSphere encrypts disks itself (VM encryption), with keys from a key provider (a KMS cluster)
configured in vCenter; LUKS in the guest is not something this cloud's hypervisor runs. A
create of an encrypted type therefore asks the volume driver for vCenter's key providers:
without one it is refused with a 400 that says so; with one it is refused with a 501, because
making the disk encrypted (a crypto spec on the disk, and on the VMs that attach it) is not
implemented. Nothing is ever made unencrypted under an encrypted type.
"""

from __future__ import annotations

import uuid
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound, NotImplementedByBackend
from vistack.common.policy import PolicyEngine
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import qos_queries, queries
from vistack.volume.db.qos_tables import VolumeTypeEncryptionRow
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.db.tables import VolumeTypeRow
from vistack.volume.domain import requests
from vistack.volume.domain.types import VolumeTypeService

RULE = "volume_extension:volume_type_encryption"
CONTROL_LOCATIONS = ("front-end", "back-end")
FIELDS = ("provider", "cipher", "key_size", "control_location")


def spec_of(row: VolumeTypeEncryptionRow) -> dict[str, Any]:
    """The spec as Cinder shows it (with its soft-delete fields, always unset here)."""
    return {
        "volume_type_id": row.type_id,
        "encryption_id": row.encryption_id,
        "provider": row.provider,
        "cipher": row.cipher,
        "key_size": row.key_size,
        "control_location": row.control_location,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "deleted": False,
        "deleted_at": None,
    }


def _fields(body: Any, *, creating: bool) -> dict[str, Any]:
    fields = requests.body_of(body, "encryption")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise BadRequest(
            f"Invalid input received: unknown encryption field(s) {', '.join(unknown)}; "
            f"the fields are {', '.join(FIELDS)}."
        )
    out: dict[str, Any] = {}
    if creating or "provider" in fields:
        provider = fields.get("provider")
        if not isinstance(provider, str) or not provider.strip():
            raise BadRequest("Invalid input received: provider must be a non-blank string.")
        out["provider"] = requests.text("provider", provider.strip())
    if "cipher" in fields:
        out["cipher"] = requests.text("cipher", fields["cipher"])
    if "key_size" in fields:
        size = fields["key_size"]
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise BadRequest("Invalid input received: key_size must be a whole number >= 0.")
        out["key_size"] = size
    if creating or "control_location" in fields:
        location = fields.get("control_location", "front-end")
        if location not in CONTROL_LOCATIONS:
            raise BadRequest(
                f"Invalid input received: Valid control location are: "
                f"{', '.join(CONTROL_LOCATIONS)}."
            )
        out["control_location"] = location
    if not out:
        raise BadRequest("Invalid input received: the encryption body sets nothing.")
    return out


class EncryptionService:
    """A volume type's encryption spec, and the check every volume create makes."""

    def __init__(
        self,
        store: VolumeStore,
        policy: PolicyEngine,
        types: VolumeTypeService,
        driver: VolumeDriver | None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._types = types
        self._driver = driver

    def _type(self, unit: VolumeUnit, context: RequestContext, type_id: str) -> VolumeTypeRow:
        return self._types.find(unit, context, type_id)

    def show(self, context: RequestContext, type_id: str) -> dict[str, Any]:
        """The spec, or {} for an unencrypted type (Cinder's answer)."""
        self._policy.authorize(f"{RULE}:get", context, {})
        with self._store.transaction() as unit:
            row = qos_queries.encryption(unit, self._type(unit, context, type_id).id)
            return spec_of(row) if row is not None else {}

    def show_key(self, context: RequestContext, type_id: str, key: str) -> Any:
        spec = self.show(context, type_id)
        if key not in spec:
            raise NotFound(f"Volume type encryption for type {type_id} has no field {key}.")
        return spec[key]

    def create(self, context: RequestContext, type_id: str, body: Any) -> dict[str, Any]:
        self._policy.authorize(f"{RULE}:create", context, {})
        fields = _fields(body, creating=True)
        with self._store.transaction() as unit:
            type_row = self._type(unit, context, type_id)
            if qos_queries.encryption(unit, type_row.id) is not None:
                raise BadRequest(f"Volume type encryption for type {type_row.id} already exists.")
            _not_in_use(unit, type_row, "create")
            row = VolumeTypeEncryptionRow(
                type_id=type_row.id,
                encryption_id=str(uuid.uuid4()),
                provider=fields["provider"],
                cipher=fields.get("cipher"),
                key_size=fields.get("key_size"),
                control_location=fields["control_location"],
                created_at=utcnow(),
            )
            unit.add(row)
            return spec_of(row)

    def update(
        self, context: RequestContext, type_id: str, encryption_id: str, body: Any
    ) -> dict[str, Any]:
        """Change some fields; returns them, as Cinder answers."""
        self._policy.authorize(f"{RULE}:update", context, {})
        fields = _fields(body, creating=False)
        with self._store.transaction() as unit:
            type_row = self._type(unit, context, type_id)
            row = _spec(unit, type_row, encryption_id)
            _not_in_use(unit, type_row, "update")
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            unit.flush()
        return fields

    def delete(self, context: RequestContext, type_id: str, encryption_id: str) -> None:
        self._policy.authorize(f"{RULE}:delete", context, {})
        with self._store.transaction() as unit:
            type_row = self._type(unit, context, type_id)
            row = _spec(unit, type_row, encryption_id)
            _not_in_use(unit, type_row, "delete")
            unit.delete(row)

    # -- volume creates --------------------------------------------------------------------------

    def check_type(self, unit: VolumeUnit, type_row: VolumeTypeRow) -> None:
        """A volume of this type may be made (a check of every create).

        :raises BadRequest: the type is encrypted and vCenter has no key provider.
        :raises NotImplementedByBackend: the type is encrypted and vCenter has one: encrypting
            the disk is not implemented, and it is never made unencrypted instead.
        """
        if qos_queries.encryption(unit, type_row.id) is None:
            return
        providers = self._driver.key_providers() if self._driver is not None else []
        if not providers:
            raise BadRequest(
                f"Invalid volume type: volume type {type_row.name} is encrypted, and vCenter has "
                "no key provider (KMS) configured for VM encryption, so the volume's disk "
                "cannot be encrypted. Add a key provider in vCenter, or use a type without "
                "encryption."
            )
        raise NotImplementedByBackend(
            f"Volume type {type_row.name} is encrypted: vCenter has key provider(s) "
            f"{', '.join(providers)}, but encrypting volume disks with vSphere VM encryption is "
            "not implemented by this cloud; use a type without encryption."
        )


def is_encrypted(unit: VolumeUnit, type_id: str) -> bool:
    return qos_queries.encryption(unit, type_id) is not None


def _spec(unit: VolumeUnit, type_row: VolumeTypeRow, encryption_id: str) -> VolumeTypeEncryptionRow:
    """The type's spec. The id in the URL is not compared, as Cinder does not: clients (Tempest
    among them) send any word there, `provider` often."""
    del encryption_id
    row = qos_queries.encryption(unit, type_row.id)
    if row is None:
        raise NotFound(f"Volume type encryption for type {type_row.id} does not exist.")
    return row


def _not_in_use(unit: VolumeUnit, type_row: VolumeTypeRow, action: str) -> None:
    if queries.volumes_of_type(unit, type_row.id):
        raise BadRequest(f"Cannot {action} encryption specs. Volume type in use.")
