"""Alembic environment: runs migrations on the connection `vistack.migrations.runner` hands over."""

from __future__ import annotations

from alembic import context

# Imported for their side effect: each registers its tables on the shared metadata.
import vistack.compute.db.aggregate_tables
import vistack.compute.db.block_device_tables
import vistack.compute.db.lifecycle_tables
import vistack.compute.db.tables
import vistack.identity.db.tables
import vistack.image.db.metadef_tables
import vistack.image.db.tables
import vistack.network.db.agent_tables
import vistack.network.db.auto_allocation
import vistack.network.db.dhcp_option_tables
import vistack.network.db.l3_tables
import vistack.network.db.metering_tables
import vistack.network.db.sharing_tables
import vistack.network.db.tables
import vistack.volume.db.backup_tables
import vistack.volume.db.default_type_tables
import vistack.volume.db.group_tables
import vistack.volume.db.message_tables
import vistack.volume.db.qos_tables
import vistack.volume.db.quota_class_tables
import vistack.volume.db.tables
import vistack.volume.db.transfer_tables  # noqa: F401
from vistack.common.db import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through vistack.migrations.runner.upgrade()")
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
