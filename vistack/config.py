"""Typed settings: defaults in code, a TOML file on top, `VISTACK_*` variables on top of that.

Every option lives in one dataclass field so that documentation (docs/configuration.md), the TOML
schema and the environment overrides cannot drift apart: the loader walks the dataclasses, so an
unknown section or key in the file is an error instead of a silently ignored typo.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration file or an environment override is invalid."""


@dataclass
class ServerSettings:
    """Where the single API process listens and how it names itself."""

    bind: str = "127.0.0.1:5000"
    #: Base URL the catalog advertises; empty means `http://<bind>`.
    public_url: str = ""
    #: Region every endpoint of this cloud belongs to.
    region: str = "RegionOne"
    log_level: str = "info"
    #: Write one access-log line per request.
    access_log: bool = True


@dataclass
class DatabaseSettings:
    """SQLAlchemy URL: sqlite (default), mysql+pymysql:// (MariaDB) or postgresql+psycopg://."""

    #: Empty means `sqlite:///<data_dir>/vistack.db`.
    url: str = ""
    pool_size: int = 10
    echo: bool = False


@dataclass
class IdentitySettings:
    """Keystone behaviour: token lifetime, password hashing, Fernet key repository."""

    token_expiration: int = 3600
    #: bcrypt cost; 12 is Keystone's default and the floor for production.
    bcrypt_rounds: int = 12
    #: Empty means `<data_dir>/fernet-keys`.
    fernet_key_repository: str = ""
    #: Keys kept by `vistack keys rotate` (primary + secondaries + staged).
    fernet_max_active_keys: int = 3
    #: Fernet keys encrypting `/v3/credentials` blobs; empty means `<data_dir>/credential-keys`.
    credential_key_repository: str = ""
    #: How far (seconds) an EC2-signed request's timestamp may be from now at `/v3/ec2tokens`.
    ec2_auth_ttl: int = 900
    #: How long a token may outlive its expiry for `?allow_expired=1` validations (seconds).
    allow_expired_window: int = 172800
    #: Longest chain of redelegated trusts (Keystone's `[trust] max_redelegation_count`).
    max_redelegation_count: int = 3
    admin_user: str = "admin"
    admin_project: str = "admin"
    demo_user: str = "demo"
    demo_project: str = "demo"


@dataclass
class SecurityComplianceSettings:
    """PCI-DSS style password rules, each off until set (Keystone's [security_compliance])."""

    #: Failed password authentications in a row that lock an account; 0 disables lockout.
    lockout_failure_attempts: int = 0
    #: Seconds a locked account stays locked.
    lockout_duration: int = 1800
    #: A self-service change may not reuse the last N passwords; 0 or 1 disables the rule.
    unique_last_password_count: int = 0
    #: Days a password must be kept before its owner may change it again; 0 disables.
    minimum_password_age: int = 0
    #: Days until a newly set password expires; 0 means never.
    password_expires_days: int = 0
    #: Regular expression every new password must match in full; empty disables.
    password_regex: str = ""
    #: What the regex means, in words, for the error message.
    password_regex_description: str = ""


@dataclass
class PolicySettings:
    """Policy overrides in oslo.policy YAML; empty means `<data_dir>/policy.yaml` if it exists."""

    file: str = ""


@dataclass
class CacheSettings:
    """Cache for validated tokens and other hot reads: `memory` now, `memcached` for HA."""

    backend: str = "memory"
    servers: list[str] = field(default_factory=list)
    ttl: int = 300
    max_entries: int = 10000


@dataclass
class BusSettings:
    """Work queue for long operations: `memory` (in-process workers) now, `rabbitmq` for HA."""

    backend: str = "memory"
    url: str = ""
    #: Jobs run at once: builds, deletes and power actions wait on vCenter tasks, not the CPU.
    workers: int = 16


@dataclass
class VCenterSettings:
    """A vCenter to drive; an empty `host` means the embedded simulator ([embedded_vcenter])."""

    host: str = ""
    port: int = 443
    username: str = ""
    password: str = ""
    #: `https`, or `http` (only the simulator serves plain http).
    protocol: str = "https"
    #: PEM bundle that signs vCenter's certificate; empty means the system trust store.
    ca_file: str = ""
    #: SHA-1 fingerprint ("AA:BB:…") to pin instead of verifying the chain.
    thumbprint: str = ""
    #: Skip certificate verification entirely (explicit opt-out; never for production).
    insecure: bool = False
    #: Empty means the only datacenter.
    datacenter: str = ""
    #: Clusters OpenStack may use; empty means all of the datacenter's.
    clusters: list[str] = field(default_factory=list)
    #: Datastores OpenStack may use; empty means all the clusters see.
    datastores: list[str] = field(default_factory=list)
    #: Nova availability zone of this vCenter's clusters; empty means `nova` ([vcenter]) or
    #: the entry's `name` ([[vcenters]]).
    availability_zone: str = ""
    #: Label in logs and reports; empty means `default` ([vcenter]) or the host.
    name: str = ""
    #: Calls to vCenter at once (16 builds in flight each have a task to wait on).
    pool_size: int = 16
    connect_timeout: int = 10
    keepalive_seconds: int = 300
    resync_seconds: int = 60


@dataclass
class EmbeddedVCenterSettings:
    """The simulator `vistack up` starts when no vCenter is configured."""

    clusters: int = 2
    hosts_per_cluster: int = 3
    datastores: int = 2
    portgroups: int = 1
    host_cpu_cores: int = 32
    host_cpu_mhz: int = 2600
    host_memory_gib: int = 256
    #: Serve https with a self-signed certificate kept in `<data_dir>/vcenter-tls`.
    tls: bool = False
    #: Milliseconds added to every call (a slow vCenter).
    delay_ms: int = 0
    #: Extra milliseconds per method: "CloneVM_Task:500,PowerOnVM_Task:200".
    method_delays: str = ""
    #: Expire idle sessions after this Go duration ("30s"); empty means never.
    session_idle_timeout: str = ""


@dataclass
class ImageSettings:
    """Glance: where image bytes live, what a project may store, and how imports convert."""

    #: Datastores that are image stores, `name` or `name:weight`; empty means every datastore
    #: of the first vCenter, equal weights. The highest weight with room takes an upload.
    datastores: list[str] = field(default_factory=list)
    #: Directory on each datastore that holds image files (Glance's `vmware_store_image_dir`).
    folder: str = "images"
    #: A local directory served as the `file` store; empty means no filesystem store.
    filesystem_store_dir: str = ""
    #: Store id that takes uploads when the client names none; empty means by weight.
    default_store: str = ""
    #: Where `glance-direct` stages bytes before import; empty means `<data_dir>/image-staging`.
    staging_dir: str = ""
    #: Convert qcow2 and raw to streamOptimized VMDK on import (vSphere boots VMDK only).
    convert_on_import: bool = True
    #: Per-project limits (Glance's unified-limits names; -1 unlimited). They seed Keystone
    #: registered limits at first bootstrap, which then rule (`openstack limit ...`).
    image_count_total: int = 1000
    #: MiB of image data a project may store, across all its images.
    image_size_total: int = 1048576
    #: MiB a project may hold staged for import at once.
    image_stage_total: int = 102400
    #: Images of a project that may be uploading or importing at once.
    image_count_uploading: int = 20


@dataclass
class NetworkSettings:
    """Neutron: which backend carries networks, the tenant VLAN pool and per-project quotas."""

    #: `dvs`: every network is a port group on the vCenter's distributed switch, L2 only.
    #: `edge`: the same networks plus routers, SNAT, floating IPs, DHCP, metadata and enforced
    #: security groups, programmed by the edge agent (needs root, iproute2, nftables, dnsmasq).
    #: `auto` (the default): `edge` where this host allows it, else `dvs`.
    backend: str = "auto"
    #: Where the local edge agent keeps its ledger and dnsmasq files (default `<data_dir>/edge`).
    edge_state_dir: str = ""
    #: The NIC carrying the port groups' VLANs to this node (empty: local bridges, embedded mode).
    edge_trunk_interface: str = ""
    #: The compute metadata service that 169.254.169.254 leads to (empty: the cloud's own).
    metadata_url: str = ""
    #: The availability zone this node's edge agents report (what `availability_zone_hints`
    #: of networks and routers name; edge backend only).
    availability_zone: str = "nova"
    #: Tenant VLAN ids, `physnet:min:max` or `min:max` (on `physical_network`).
    vlan_ranges: list[str] = field(default_factory=lambda: ["100:3999"])
    #: The physical network name the distributed switch's uplinks carry.
    physical_network: str = "physnet1"
    #: MTU networks advertise (the switch's MTU).
    mtu: int = 1500
    #: Default per-project quotas (-1 unlimited); `/v2.0/quotas/{project_id}` overrides them.
    quota_network: int = 100
    quota_subnet: int = 100
    quota_port: int = 500
    quota_security_group: int = 10
    quota_security_group_rule: int = 100
    quota_router: int = 10
    quota_floatingip: int = 50


@dataclass
class ComputeSettings:
    """Nova: how clusters are offered as compute nodes, and what a project may run."""

    #: The availability zone every cluster is in unless `cluster_zones` names another.
    default_availability_zone: str = "nova"
    #: `cluster:zone` pairs placing clusters in their own availability zones.
    cluster_zones: list[str] = field(default_factory=list)
    #: Allocation ratios the scheduler applies to a cluster's physical capacity (Nova's
    #: `cpu_allocation_ratio`, `ram_allocation_ratio`, `disk_allocation_ratio`).
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    #: How often vCenter's VMs are compared with the servers (power state, host, existence),
    #: so a change made in vCenter shows in Nova; 0 turns it off.
    power_sync_seconds: float = 10.0
    #: Seconds a shelved server keeps its VM before it is offloaded (Nova's
    #: `shelved_offload_time`): 0 offloads at once, -1 never.
    shelved_offload_time: float = 0
    #: Default per-project quotas (-1 unlimited); `os-quota-sets` overrides them.
    quota_instances: int = 10
    quota_cores: int = 20
    quota_ram: int = 51200
    quota_key_pairs: int = 100
    quota_metadata_items: int = 128
    quota_server_groups: int = 10
    quota_server_group_members: int = 10
    #: Give every server a config drive (an ISO labelled `config-2` on a CD-ROM), whether or
    #: not its create asked for one, as VIO deployments do (Nova's `force_config_drive`).
    force_config_drive: bool = True
    #: The secret the metadata relay signs instance ids with (Nova's
    #: `metadata_proxy_shared_secret`); empty: one generated at first start and kept in
    #: `<data_dir>/metadata_secret`.
    metadata_proxy_shared_secret: str = ""
    #: The domain the metadata's hostnames are in (Nova's `[api] dhcp_domain`); empty: none.
    dhcp_domain: str = "novalocal"
    #: A JSON file whose object every instance reads as `vendor_data.json` (and under `static`
    #: in `vendor_data2.json`), Nova's `[api] vendordata_jsonfile_path`; empty: `{}`.
    vendordata_jsonfile_path: str = ""


@dataclass
class VolumeSettings:
    """Cinder: where volumes go and what a project may hold."""

    #: The volume type a create without `volume_type` gets (made at first start).
    default_volume_type: str = "__DEFAULT__"
    #: The group type `GET /group_types/default` answers (Cinder's option; empty: none).
    default_group_type: str = ""
    #: The one availability zone volumes are offered in (Cinder's `storage_availability_zone`).
    default_availability_zone: str = "nova"
    #: Datastores volumes may be placed on; empty: every datastore of the vCenter.
    datastores: list[str] = field(default_factory=list)
    #: Default per-project quotas (-1 unlimited); `os-quota-sets` overrides them.
    quota_volumes: int = 10
    quota_snapshots: int = 10
    quota_gigabytes: int = 1000
    quota_per_volume_gigabytes: int = -1
    quota_backups: int = 10
    quota_backup_gigabytes: int = 1000
    #: Where backups are kept until there is an object store (Cinder's file-based backup
    #: driver): chunk files under `<dir>/<container>/<backup id>/`; empty means
    #: `<data_dir>/volume-backups`.
    backup_dir: str = ""
    #: Backups are cut in chunks of this many MiB, each with its SHA-256; an incremental
    #: backup stores only the chunks that changed since its parent.
    backup_chunk_mb: int = 32
    quota_groups: int = 10


@dataclass
class Settings:
    """All of vistack's settings."""

    data_dir: str = ".vistack"
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    security_compliance: SecurityComplianceSettings = field(
        default_factory=SecurityComplianceSettings
    )
    policy: PolicySettings = field(default_factory=PolicySettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    bus: BusSettings = field(default_factory=BusSettings)
    vcenter: VCenterSettings = field(default_factory=VCenterSettings)
    embedded_vcenter: EmbeddedVCenterSettings = field(default_factory=EmbeddedVCenterSettings)
    image: ImageSettings = field(default_factory=ImageSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    compute: ComputeSettings = field(default_factory=ComputeSettings)
    volume: VolumeSettings = field(default_factory=VolumeSettings)
    #: More vCenters (`[[vcenters]]` tables, same options as [vcenter]); file only, no env.
    vcenters: list[VCenterSettings] = field(default_factory=list)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_path / 'vistack.db'}"

    @property
    def fernet_key_path(self) -> Path:
        repo = self.identity.fernet_key_repository
        return Path(repo).resolve() if repo else self.data_path / "fernet-keys"

    @property
    def credential_key_path(self) -> Path:
        repo = self.identity.credential_key_repository
        return Path(repo).resolve() if repo else self.data_path / "credential-keys"

    @property
    def image_staging_path(self) -> Path:
        staging = self.image.staging_dir
        return Path(staging).resolve() if staging else self.data_path / "image-staging"

    @property
    def volume_backup_path(self) -> Path:
        backups = self.volume.backup_dir
        return Path(backups).resolve() if backups else self.data_path / "volume-backups"

    @property
    def policy_path(self) -> Path:
        return Path(self.policy.file) if self.policy.file else self.data_path / "policy.yaml"

    @property
    def public_url(self) -> str:
        return (self.server.public_url or f"http://{self.server.bind}").rstrip("/")


ENV_PREFIX = "VISTACK_"


def load_settings(
    config_file: str | Path | None = None,
    env: typing.Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, then `config_file`, then `VISTACK_*` env, then overrides.

    Overrides are top-level keyword arguments from the command line (`data_dir`, `bind`), which
    win over everything because the operator typed them last.
    """
    settings = Settings()
    if config_file is not None:
        path = Path(config_file)
        try:
            document = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
        _apply_document(settings, document, str(path))
    _apply_environment(settings, os.environ if env is None else env)
    if overrides.get("data_dir"):
        settings.data_dir = str(overrides["data_dir"])
    if overrides.get("bind"):
        settings.server.bind = str(overrides["bind"])
    return settings


def _sections(settings: Settings) -> dict[str, Any]:
    return {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if dataclasses.is_dataclass(getattr(settings, f.name))
    }


def _apply_document(settings: Settings, document: dict[str, Any], origin: str) -> None:
    sections = _sections(settings)
    for key, value in document.items():
        if key in sections:
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: [{key}] must be a table")
            for option, option_value in value.items():
                _set_option(sections[key], option, option_value, f"{origin}: [{key}]")
        elif (item_type := _table_list_type(typing.get_type_hints(Settings).get(key))) is not None:
            # An array of tables ([[vcenters]]): each table is a dataclass, checked as a section.
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{origin}: {key} must be an array of tables ([[{key}]])")
            items = []
            for number, table in enumerate(value, start=1):
                item = item_type()
                for option, option_value in table.items():
                    _set_option(item, option, option_value, f"{origin}: [[{key}]] #{number}")
                items.append(item)
            setattr(settings, key, items)
        else:
            _set_option(settings, key, value, origin)


def _table_list_type(kind: Any) -> Any:
    """The dataclass of a `list[SomeDataclass]` field, else None."""
    if typing.get_origin(kind) is list:
        (item_type,) = typing.get_args(kind)
        if dataclasses.is_dataclass(item_type):
            return item_type
    return None


def _apply_environment(settings: Settings, env: typing.Mapping[str, str]) -> None:
    sections = _sections(settings)
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key == "data_dir":
            settings.data_dir = raw
            continue
        # Section names may contain underscores (security_compliance): try the longest first.
        for section_name in sorted(sections, key=len, reverse=True):
            if key.startswith(section_name + "_"):
                option = key[len(section_name) + 1 :]
                _set_option(
                    sections[section_name], option, raw, f"environment {name}", from_text=True
                )
                break


def _set_option(
    target: Any, option: str, value: Any, origin: str, *, from_text: bool = False
) -> None:
    hints = typing.get_type_hints(type(target))
    if option not in hints or dataclasses.is_dataclass(getattr(target, option, None)):
        raise ConfigError(f"{origin}: unknown option {option!r}")
    setattr(target, option, _coerce(hints[option], value, f"{origin}.{option}", from_text))


def _coerce(kind: Any, value: Any, where: str, from_text: bool) -> Any:
    origin = typing.get_origin(kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_text and str(value).lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return str(value).lower() in {"1", "true", "yes", "on"}
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_text:
            try:
                return int(value)
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if from_text:
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    elif origin is list or (isinstance(kind, types.GenericAlias) and origin is list):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        if from_text and isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
    raise ConfigError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
