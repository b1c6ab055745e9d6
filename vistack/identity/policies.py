"""Default policy of the identity API, in Keystone's rule names.

Personas: a cloud admin (`rule:admin_required`) may do anything; a system reader may read
everything; a domain admin manages users, groups, projects and grants within its domain; every
user may read itself, change its own password and manage its own application credentials,
credentials and EC2 keys; the trustor and trustee of a trust may read it, and its trustor (or
an admin) delete it; only a service (or an admin) may exchange an EC2 signature for a token;
every user may read registered limits and the limits of its own project or domain, and only a
cloud admin may change limits.
Override any rule in `policy.yaml`.
"""

from __future__ import annotations

from vistack.common.policy import RuleDefault

ADMIN = "rule:admin_required"
READER = "rule:cloud_reader"
DOMAIN_ADMIN = "(role:admin and domain_id:%(target.{0}domain_id)s)"
DOMAIN_READER = "(role:reader and domain_id:%(target.{0}domain_id)s)"
OWNER = "user_id:%(target.user.id)s"
TRUSTOR = "user_id:%(target.trust.trustor_user_id)s"
TRUSTEE = "user_id:%(target.trust.trustee_user_id)s"
CRED_OWNER = "user_id:%(target.credential.user_id)s"
#: Keystone's reader of a limit: a token scoped to its project, its domain or its project's
#: domain (vistack leaves absent target values out, so a domain limit never matches on
#: project_id, which is what Keystone's `not None:%(target.limit.project_id)s` ensures).
LIMIT_READER = (
    "domain_id:%(target.limit.domain.id)s or domain_id:%(target.limit.project.domain_id)s "
    "or project_id:%(target.limit.project_id)s"
)


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(f"identity:{name}", check, description)


def _crud(noun: str, read: str, write: str) -> list[RuleDefault]:
    plural = f"{noun}s"
    return [
        _rule(f"get_{noun}", read, f"Show a {noun}."),
        _rule(f"list_{plural}", read, f"List {plural}."),
        _rule(f"create_{noun}", write, f"Create a {noun}."),
        _rule(f"update_{noun}", write, f"Update a {noun}."),
        _rule(f"delete_{noun}", write, f"Delete a {noun}."),
    ]


def _scoped(noun: str, prefix: str) -> tuple[str, str]:
    read = f"{READER} or {DOMAIN_READER.format(prefix)}"
    write = f"{ADMIN} or {DOMAIN_ADMIN.format(prefix)}"
    return read, write


_user_read, _user_write = _scoped("user", "user.")
_group_read, _group_write = _scoped("group", "group.")
_project_read, _project_write = _scoped("project", "project.")
_list_read = f"{READER} or (role:reader and domain_id:%(target.domain_id)s)"

IDENTITY_RULES: list[RuleDefault] = [
    _rule(
        "validate_token",
        f"{READER} or rule:service_role or user_id:%(target.token.user_id)s",
        "Validate or check a token.",
    ),
    _rule(
        "revoke_token",
        f"{ADMIN} or rule:service_role or user_id:%(target.token.user_id)s",
        "Revoke a token.",
    ),
    # A token may read the domain it is scoped to, or its project's domain (Keystone's rule).
    _rule(
        "get_domain",
        f"{READER} or domain_id:%(target.domain.id)s or project_domain_id:%(target.domain.id)s",
        "Show a domain.",
    ),
    *[rule for rule in _crud("domain", READER, ADMIN) if rule.name != "identity:get_domain"],
    *_crud("region", "", ADMIN),
    *_crud("service", READER, ADMIN),
    *_crud("endpoint", READER, ADMIN),
    *_crud("role", READER, ADMIN),
    _rule("get_project", f"{_project_read} or project_id:%(target.project.id)s", "Show a project."),
    _rule("list_projects", _list_read, "List projects."),
    _rule(
        "create_project",
        f"{ADMIN} or (role:admin and domain_id:%(target.project.domain_id)s)",
        "Create a project.",
    ),
    _rule("update_project", _project_write, "Update a project."),
    _rule("delete_project", _project_write, "Delete a project."),
    _rule("get_user", f"{_user_read} or {OWNER}", "Show a user."),
    _rule("list_users", _list_read, "List users."),
    _rule("create_user", _user_write, "Create a user."),
    _rule("update_user", _user_write, "Update a user."),
    _rule("delete_user", _user_write, "Delete a user."),
    _rule("list_groups_for_user", f"{_user_read} or {OWNER}", "List a user's groups."),
    _rule("list_user_projects", f"{_user_read} or {OWNER}", "List a user's projects."),
    _rule("get_group", _group_read, "Show a group."),
    _rule("list_groups", _list_read, "List groups."),
    _rule("create_group", _group_write, "Create a group."),
    _rule("update_group", _group_write, "Update a group."),
    _rule("delete_group", _group_write, "Delete a group."),
    _rule("list_users_in_group", _group_read, "List a group's members."),
    _rule("check_user_in_group", _group_read, "Check membership."),
    _rule("add_user_to_group", _group_write, "Add a member."),
    _rule("remove_user_from_group", _group_write, "Remove a member."),
    _rule("create_implied_role", ADMIN, "Make a role imply another."),
    _rule("get_implied_role", READER, "Show an implication."),
    _rule("delete_implied_role", ADMIN, "Remove an implication."),
    _rule("list_implied_roles", READER, "List what a role implies."),
    _rule("list_role_inference_rules", READER, "List every implication."),
    _rule(
        "list_grants",
        f"{READER} or (role:reader and domain_id:%(target.domain.id)s)",
        "List grants on a target.",
    ),
    _rule(
        "check_grant",
        f"{READER} or (role:reader and domain_id:%(target.domain.id)s)",
        "Check a grant.",
    ),
    _rule(
        "create_grant",
        f"{ADMIN} or (role:admin and domain_id:%(target.domain.id)s)",
        "Grant a role.",
    ),
    _rule(
        "revoke_grant",
        f"{ADMIN} or (role:admin and domain_id:%(target.domain.id)s)",
        "Revoke a role.",
    ),
    _rule("list_system_grants", READER, "List system grants."),
    _rule("check_system_grant", READER, "Check a system grant."),
    _rule("create_system_grant", ADMIN, "Grant a system role."),
    _rule("revoke_system_grant", ADMIN, "Revoke a system role."),
    _rule(
        "list_role_assignments",
        f"{READER} or (role:reader and "
        "domain_id:%(target.domain.id)s) or user_id:%(target.user.id)s",
        "List role assignments.",
    ),
    _rule("create_application_credential", OWNER, "Create one's application credential."),
    _rule("get_application_credential", f"{READER} or {OWNER}", "Show one."),
    _rule("list_application_credentials", f"{READER} or {OWNER}", "List them."),
    _rule("delete_application_credential", f"{ADMIN} or {OWNER}", "Delete one."),
    _rule("get_access_rule", f"{READER} or {OWNER}", "Show one's access rule."),
    _rule("list_access_rules", f"{READER} or {OWNER}", "List one's access rules."),
    _rule("delete_access_rule", f"{ADMIN} or {OWNER}", "Delete one's unused access rule."),
    _rule("create_trust", TRUSTOR, "Create a trust (the caller must be its trustor)."),
    _rule("list_trusts", READER, "List every trust."),
    _rule("list_trusts_for_trustor", f"{READER} or {TRUSTOR}", "List a trustor's trusts."),
    _rule("list_trusts_for_trustee", f"{READER} or {TRUSTEE}", "List a trustee's trusts."),
    _rule("get_trust", f"{READER} or {TRUSTOR} or {TRUSTEE}", "Show a trust."),
    _rule("list_roles_for_trust", f"{READER} or {TRUSTOR} or {TRUSTEE}", "List a trust's roles."),
    _rule(
        "get_role_for_trust", f"{READER} or {TRUSTOR} or {TRUSTEE}", "Show or check a trust role."
    ),
    _rule("delete_trust", f"{ADMIN} or {TRUSTOR}", "Delete a trust."),
    _rule("get_credential", f"{READER} or {CRED_OWNER}", "Show a credential and its blob."),
    _rule("list_credentials", f"{READER} or {CRED_OWNER}", "List credentials (each is checked)."),
    _rule("create_credential", f"{ADMIN} or {CRED_OWNER}", "Create a credential."),
    _rule("update_credential", f"{ADMIN} or {CRED_OWNER}", "Update a credential."),
    _rule("delete_credential", f"{ADMIN} or {CRED_OWNER}", "Delete a credential."),
    _rule("ec2_get_credential", f"{READER} or {CRED_OWNER}", "Show an EC2 credential."),
    _rule("ec2_list_credentials", f"{READER} or {OWNER}", "List a user's EC2 credentials."),
    _rule("ec2_create_credential", f"{ADMIN} or {OWNER}", "Create an EC2 credential."),
    _rule("ec2_delete_credential", f"{ADMIN} or {CRED_OWNER}", "Delete an EC2 credential."),
    # Unified limits: what a service registers, and what one project or domain may use.
    _rule("get_registered_limit", "", "Show a registered limit."),
    _rule("list_registered_limits", "", "List registered limits."),
    _rule("create_registered_limits", ADMIN, "Create registered limits."),
    _rule("update_registered_limit", ADMIN, "Update a registered limit."),
    _rule("delete_registered_limit", ADMIN, "Delete a registered limit."),
    _rule("get_limit_model", "", "Show the limit enforcement model."),
    _rule("get_limit", f"{READER} or {LIMIT_READER}", "Show a limit."),
    _rule("list_limits", "", "List limits (each is checked with get_limit)."),
    _rule("create_limits", ADMIN, "Create limits."),
    _rule("update_limit", ADMIN, "Update a limit."),
    _rule("delete_limit", ADMIN, "Delete a limit."),
    # The S3 or EC2 service forwarding a signed request, not its end user (CVE-2025-65073).
    _rule(
        "ec2tokens_validate",
        f"{ADMIN} or rule:service_role",
        "Exchange an EC2-signed request for a token (POST /v3/ec2tokens).",
    ),
]
