"""After a deployment, in a process of its own pointed at the stage (CRMFLOW_TABLE_PREFIX,
CRMFLOW_FUNCTION_ARN, CRMFLOW_STATES_ROLE_ARN and the region in the environment, as
infra/aws/deploy.publish_to_stage sets them): publish the flows the stage does not have
yet, with the local stack's own code, and issue the first admin key when there is none.

Prints one JSON object: {"published": [flow ids], "key": the new key or null}.

    python -m infra.aws.stage_setup [--flows DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

KEY_NAME = "first admin (crmflow deploy)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.aws.stage_setup", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--flows", type=Path, help="folder of *.flow.json to publish (default: none)"
    )
    args = parser.parse_args(argv)
    from infra.local.templates import publish_missing

    published = (
        publish_missing(sorted(args.flows.glob("*.flow.json")), by="crmflow deploy")
        if args.flows
        else []
    )
    print(json.dumps({"published": published, "key": _first_admin_key()}))


def _first_admin_key() -> str | None:
    from functions.auth import issue_key
    from functions.store.models import ApiKey

    live = (k for k in ApiKey.scan(ApiKey.role == "admin") if k.revoked_at is None)
    if next(live, None) is not None:
        return None  # the stage has an admin: keys are issued with it (POST /keys)
    _key_id, key = issue_key(KEY_NAME, "admin", by="crmflow deploy")
    return key


if __name__ == "__main__":
    main()
