"""The compose deployment, checked without a Docker engine: the real Compose binary validates the
files; Keycloak's realm export says what the local provider's tenants.json says (the same tenants,
clients, scopes, roles and claims), with every secret left to the environment; the model-build job
builds what Triton's repository expects."""

from __future__ import annotations

import json
import re

from study.local.secure_platform.stack import PROJECT_DIR, TRITON_MODELS

from compose_config import compose_services

CATALOG = json.loads((PROJECT_DIR / "identity" / "tenants.json").read_text())
REALM = json.loads((PROJECT_DIR / "identity" / "keycloak" / "realm.json").read_text())


def test_the_stack_has_its_five_backends_and_the_api_uses_them():
    services = compose_services(PROJECT_DIR, "docker-compose.yml")
    assert {"model-build", "triton", "keycloak", "postgres", "redis", "api"} <= set(services)
    env = services["api"]["environment"]
    assert env["SECURE_PLATFORM_ISSUER"] == "http://localhost:8080/realms/inference"
    assert env["SECURE_PLATFORM_PROVIDER_URL"].startswith("http://keycloak:8080/")
    assert env["SECURE_PLATFORM_DATABASE_URL"].startswith("postgresql://inference_app:")  # not the owner
    assert "--import-realm" in services["keycloak"]["command"]
    assert services["keycloak"]["volumes"][0]["target"] == "/opt/keycloak/data/import/realm.json"
    assert "--appendonly" in services["redis"]["command"]  # a sign-out survives a restart
    for name in ("triton", "keycloak", "postgres"):
        assert services["api"]["depends_on"][name]["condition"] == "service_healthy"


def test_the_gpu_override_only_adds_the_gpu():
    gpu = compose_services(PROJECT_DIR, "docker-compose.yml", "compose.gpu.yaml")["triton"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert "--model-config-name=cpu" not in gpu["command"]


def test_the_realm_has_the_same_clients_scopes_and_roles_as_the_local_provider():
    clients = {c["clientId"]: c for c in REALM["clients"]}
    for client in CATALOG["clients"]:
        kc = clients[client["client_id"]]
        assert kc["serviceAccountsEnabled"] and not kc["publicClient"] and not kc["standardFlowEnabled"]
        assert set(kc["optionalClientScopes"]) == set(client["scope"].split())
        account = next(u for u in REALM["users"] if u.get("serviceAccountClientId") == client["client_id"])
        assert account["attributes"]["tenant"] == [client["tenant"]] and set(account["realmRoles"]) == set(
            client["roles"]
        )
    console = clients[CATALOG["people_client"]["client_id"]]
    assert console["publicClient"] and console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert console["redirectUris"] == [CATALOG["people_client"]["redirect_uri"]]
    for user in CATALOG["users"]:
        kc = next(u for u in REALM["users"] if u["username"] == user["username"])
        assert kc["attributes"]["tenant"] == [user["tenant"]] and set(kc["realmRoles"]) == set(user["roles"])
    roles = {r for c in CATALOG["clients"] for r in c["roles"]}
    assert {r["name"] for r in REALM["roles"]["realm"]} == roles


def test_the_realms_tokens_carry_sub_audience_tenant_and_roles_for_five_minutes():
    scope = next(s for s in REALM["clientScopes"] if s["name"] == "inference-api")
    mappers = {m["name"]: m for m in scope["protocolMappers"]}
    assert mappers["audience"]["config"]["included.custom.audience"] == CATALOG["audience"]
    assert mappers["tenant"]["config"]["claim.name"] == "tenant"
    assert mappers["roles"]["config"]["claim.name"] == "roles" and mappers["roles"]["config"]["multivalued"] == "true"
    assert mappers["sub"]["protocolMapper"] == "oidc-sub-mapper"
    assert all(c["defaultClientScopes"] == ["inference-api"] for c in REALM["clients"])
    assert REALM["accessTokenLifespan"] == 300 and REALM["defaultSignatureAlgorithm"] == "RS256"
    profile = json.loads(REALM["components"]["org.keycloak.userprofile.UserProfileProvider"][0]["config"]
                         ["kc.user.profile.config"][0])  # fmt: skip
    tenant = next(a for a in profile["attributes"] if a["name"] == "tenant")
    assert tenant["permissions"]["edit"] == ["admin"]  # a person cannot change their own tenant


def test_no_secret_is_in_the_realm_file_only_placeholders_the_compose_file_passes():
    text = (PROJECT_DIR / "identity" / "keycloak" / "realm.json").read_text()
    placeholders = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))
    secrets = [c["secret"] for c in REALM["clients"] if "secret" in c]
    secrets += [cred["value"] for u in REALM["users"] for cred in u.get("credentials", [])]
    assert secrets and all(re.fullmatch(r"\$\{[A-Z0-9_]+\}", s) for s in secrets)
    keycloak_env = compose_services(PROJECT_DIR, "docker-compose.yml")["keycloak"]["environment"]
    assert placeholders <= set(keycloak_env)


def test_the_model_build_job_writes_the_models_triton_serves():
    script = (PROJECT_DIR / "model_build" / "build_repository.sh").read_text()
    assert f"for model in {' '.join(TRITON_MODELS)}; do" in script
    for name in TRITON_MODELS:
        assert (PROJECT_DIR / "model_repository" / name / "config.pbtxt").is_file()
        assert (PROJECT_DIR / "model_repository" / name / "configs" / "cpu.pbtxt").is_file()
