"""Every identity response carries a fresh `x-openstack-request-id`, faults included."""

from __future__ import annotations

import re

from tests.api.conftest import IdentityApi
from tests.api.helpers import assert_fault

REQUEST_ID = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def _request_id(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    values = headers.get_list("x-openstack-request-id")
    assert len(values) == 1, values
    value: str = values[0]
    assert REQUEST_ID.match(value), value
    return value


def test_successful_responses_carry_a_request_id(api: IdentityApi) -> None:
    login = api.authenticate("demo", "demo-secret")
    responses = [
        api.client.get("/identity"),
        api.client.get("/identity/v3"),
        api.get("/users"),
        api.head("/auth/tokens", headers={"X-Subject-Token": api.admin_token}),
        login,
        api.delete("/auth/tokens", headers={"X-Subject-Token": login.headers["X-Subject-Token"]}),
    ]
    assert [r.status_code for r in responses] == [300, 200, 200, 200, 201, 204]
    ids = {_request_id(r) for r in responses}
    assert len(ids) == len(responses), "request ids must not be reused"


def test_faults_carry_a_request_id(api: IdentityApi) -> None:
    unauthenticated = api.client.get("/identity/v3/users")
    assert_fault(unauthenticated, 401)
    _request_id(unauthenticated)

    missing = api.get("/users/no-such-user")
    assert_fault(missing, 404)
    _request_id(missing)

    bad = api.post("/users", json={"user": {"name": 5}})
    assert_fault(bad, 400)
    _request_id(bad)

    wrong_password = api.authenticate("admin", "not-the-password")
    assert_fault(wrong_password, 401)
    _request_id(wrong_password)


def test_unknown_path_and_method_carry_a_request_id(api: IdentityApi) -> None:
    unknown = api.get("/no-such-collection")
    assert_fault(unknown, 404)
    _request_id(unknown)

    wrong_method = api.put("/users")
    assert_fault(wrong_method, 405)
    _request_id(wrong_method)


def test_a_client_request_id_is_not_echoed_back(api: IdentityApi) -> None:
    response = api.get("/users", headers={"X-OpenStack-Request-ID": "req-chosen-by-client"})
    assert response.status_code == 200
    assert _request_id(response) != "req-chosen-by-client"
