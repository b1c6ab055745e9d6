"""The bootstrap passwords and the client configuration files written into the data dir.

Passwords are generated once and kept in `<data_dir>/bootstrap.json` (mode 0600), so a second
`vistack up` on the same data dir keeps every account usable with the same clouds.yaml.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import yaml

from vistack.config import Settings


def _write_private(path: Path, text: str) -> None:
    fd = os.open(
        path.with_suffix(path.suffix + ".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.with_suffix(path.suffix + ".tmp").replace(path)


def bootstrap_passwords(settings: Settings) -> dict[str, str]:
    """`{"admin": ..., "demo": ...}`, created on first use."""
    path = settings.data_path / "bootstrap.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    passwords = {"admin": secrets.token_urlsafe(18), "demo": secrets.token_urlsafe(18)}
    _write_private(path, json.dumps(passwords, indent=2) + "\n")
    return passwords


def clouds_document(settings: Settings, passwords: dict[str, str]) -> dict[str, Any]:
    auth_url = f"{settings.public_url}/identity"
    identity = settings.identity

    def cloud(user: str, project: str, password: str) -> dict[str, Any]:
        return {
            "auth": {
                "auth_url": auth_url,
                "username": user,
                "password": password,
                "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": settings.server.region,
            "interface": "public",
            "identity_api_version": 3,
        }

    return {
        "clouds": {
            "vistack-admin": cloud(identity.admin_user, identity.admin_project, passwords["admin"]),
            "vistack-demo": cloud(identity.demo_user, identity.demo_project, passwords["demo"]),
        }
    }


def write_client_files(settings: Settings, passwords: dict[str, str]) -> Path:
    """Write clouds.yaml and admin-openrc; returns the clouds.yaml path."""
    clouds = settings.data_path / "clouds.yaml"
    _write_private(clouds, yaml.safe_dump(clouds_document(settings, passwords), sort_keys=False))
    identity = settings.identity
    openrc = "\n".join(
        [
            "# Source this file to use the openstack CLI as the vistack admin.",
            f"export OS_AUTH_URL={settings.public_url}/identity",
            f"export OS_USERNAME={identity.admin_user}",
            f"export OS_PASSWORD={passwords['admin']}",
            f"export OS_PROJECT_NAME={identity.admin_project}",
            "export OS_USER_DOMAIN_NAME=Default",
            "export OS_PROJECT_DOMAIN_NAME=Default",
            f"export OS_REGION_NAME={settings.server.region}",
            "export OS_IDENTITY_API_VERSION=3",
            "export OS_INTERFACE=public",
            "",
        ]
    )
    _write_private(settings.data_path / "admin-openrc", openrc)
    return clouds
