"""The OpenAPI schema: generated without warnings, served at /api/schema/ with docs at /api/docs/."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.core.management import call_command
from django.test import Client

OPERATIONS = {
    "GetCurrentIdentity", "GetAccount", "UpdateAccount", "DeleteAccount", "TransferAccountOwnership",
    "GetUsers", "CreateUser", "GetUser", "UpdateUser", "DeleteUser", "SetUserNamespaceAccess", "ResendUserInvite",
    "GetServiceAccounts", "CreateServiceAccount", "GetServiceAccount", "UpdateServiceAccount",
    "DeleteServiceAccount", "SetServiceAccountNamespaceAccess",
    "GetApiKeys", "CreateApiKey", "GetApiKey", "UpdateApiKey", "DeleteApiKey",
    "GetAsyncOperation", "GetAuditLogs",
    "GetNamespaces", "CreateNamespace", "GetNamespace", "UpdateNamespace", "DeleteNamespace",
    "RenameCustomSearchAttribute", "GetUserNamespaceAssignments", "GetServiceAccountNamespaceAssignments",
    "GetRegions", "GetRegion",
}  # fmt: skip


def test_the_schema_generates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    found = {op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op}
    assert found == OPERATIONS
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiKey"]["description"],
    }


def test_the_schema_and_its_docs_are_served(db: None) -> None:
    client = Client()
    schema = client.get("/api/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/users/{user_id}" in paths
    assert set(paths["/api/v1/api-keys"]) == {"get", "post"}
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
