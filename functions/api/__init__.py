"""The HTTP API: one Chalice Blueprint per resource, registered in functions/app.py.

Every route authenticates the caller (functions.auth), checks its permission, calls the
service functions and answers JSON; functions.api.errors turns named errors into 4xx
answers. See docs/api.md and the generated docs/openapi.json.
"""
