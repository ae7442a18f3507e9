"""Who may do what: one table of actions, each needing a scope (what the client was granted) and a
role (what the provider says the caller is). Pure functions of a Principal, tested on their own."""

from __future__ import annotations

from dataclasses import dataclass

from secure_platform.settings import ModelSpec
from secure_platform.tokens import Principal


@dataclass(frozen=True)
class Rule:
    scope: str
    role: str


# --8<-- [start:rules]
RULES = {
    "models.list": Rule(scope="inference:invoke", role="inference"),
    "models.predict": Rule(scope="inference:invoke", role="inference"),
    "predictions.read": Rule(scope="inference:invoke", role="inference"),
    "audit.read": Rule(scope="audit:read", role="tenant-admin"),
    "models.entitle": Rule(scope="tenant:admin", role="tenant-admin"),
}
# --8<-- [end:rules]


class Forbidden(Exception):
    """The caller is known but not allowed this action; the message names what is missing."""


def authorize(principal: Principal, action: str) -> None:
    rule = RULES[action]
    if rule.scope not in principal.scopes:
        raise Forbidden(f"{action} needs the scope {rule.scope!r}, which this token was not granted")
    if rule.role not in principal.roles:
        raise Forbidden(f"{action} needs the role {rule.role!r}")


# --8<-- [start:visible]
def visible_model(models: dict[str, ModelSpec], tenant: str, name: str) -> ModelSpec | None:
    """The model ``name`` as ``tenant`` sees it: shared ones and its own. Another tenant's model is
    None, exactly like a name that does not exist, so that the answer reveals nothing."""
    spec = models.get(name)
    if spec is None or (spec.owner is not None and spec.owner != tenant):
        return None
    return spec


# --8<-- [end:visible]


def visible_models(models: dict[str, ModelSpec], tenant: str) -> dict[str, ModelSpec]:
    return {name: spec for name, spec in models.items() if visible_model(models, tenant, name)}
