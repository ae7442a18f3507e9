"""Project 11's local recipe: three classifiers trained once per machine, Triton, the OpenID
provider on Node, PostgreSQL with row-level security, Redis and the API (stack.py, identity.py);
its benchmark (bench.py)."""

TITLE = "Secure multi-tenant inference: OIDC, isolation, limits, audit"
TEACHES = "OIDC tokens for APIs, JWKS rotation, policies, row-level security, per-tenant limits, hash-chained audit"
TRY_IT = "python projects/11-secure-platform/client.py --api {url}/ --client acme-batch --model digits"
