"""`crmflow deploy` and `crmflow teardown`: the package (infra/aws/package.py) into an AWS
account, by the account's own CloudFormation.

What `deploy` does, in order, stopping at the first problem with a message that says what
to do:
1. finds credentials and a region (a profile, the environment, SSO…) and asks STS who they
   are; without them it stops before anything is created;
2. uploads the zip, named by its hash, to the deployment bucket
   `crmflow-deploy-<account>-<region>` (created once, private and encrypted);
3. applies the SAM transform here (aws-sam-translator, as `sam deploy` would) so what
   CloudFormation receives is the template the tests deploy into moto;
4. creates or updates the stack `crmflow-<stage>`, showing progress;
5. publishes the flows (the shipped templates by default) to the stage with the same
   code the local stack uses, and issues the stage's first admin API key.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.aws.access import SENDER_PARAMETER, function_name
from infra.errors import DeployError

ROOT = Path(__file__).resolve().parents[2]
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CREDENTIALS = (
    "no AWS credentials found, so nothing was deployed. Give them one of the usual ways: "
    "--profile NAME (from ~/.aws/config, e.g. after `aws configure` or `aws sso login`), "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
)
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
FAILED = {
    "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED",
}  # fmt: skip
Progress = Callable[[int, int, str], None]  # (resources done, resources, latest event)


@dataclass
class Account:
    """Where a deployment goes: a boto3 session with working credentials."""

    session: Any
    account_id: str
    region: str
    profile: str | None

    def client(self, service: str) -> Any:
        return self.session.client(service)


@dataclass
class Deployed:
    stack: str
    outcome: str  # created, updated, unchanged
    outputs: dict[str, str]
    published: list[str] = field(default_factory=list)
    key: str | None = None  # the first admin key, when this deployment issued it
    warnings: list[str] = field(default_factory=list)


def stack_name(stage: str) -> str:
    return f"crmflow-{stage}"


def connect(profile: str | None = None, region: str | None = None) -> Account:
    """The account the credentials belong to; DeployError when there are none."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise DeployError(
            f"there is no AWS profile named '{profile}' (see ~/.aws/config); nothing was deployed"
        ) from None
    if not session.region_name:
        raise DeployError(
            "no AWS region given, so nothing was deployed: pass --region (e.g. eu-west-1), "
            "set AWS_REGION, or give the profile a region"
        )
    if session.get_credentials() is None:
        raise DeployError(NO_CREDENTIALS)
    try:
        identity = session.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise DeployError(f"AWS refused the credentials ({exc}); nothing was deployed") from None
    return Account(session, identity["Account"], session.region_name, profile)


def deploy(
    account: Account,
    stage: str,
    package_dir: Path,
    parameters: dict[str, str],
    *,
    flows_dir: Path | None,
    progress: Progress | None = None,
    poll_seconds: float = 5.0,
) -> Deployed:
    """Deploy the package in `package_dir` as stack crmflow-<stage>, then publish."""
    cfn = account.client("cloudformation")
    name = stack_name(stage)
    existing = _stack(cfn, name)
    if existing is not None and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {name} failed to create earlier and is rolled back: delete it first "
            f"(crmflow teardown --stage {stage}), then deploy again"
        )
    if existing is None and not parameters.get(SENDER_PARAMETER):
        raise DeployError(
            "the first deployment of a stage needs --sender: the SES identity (a domain "
            "such as acme.com, or an address) emails are sent from"
        )
    warnings = _sender_warnings(account, parameters.get(SENDER_PARAMETER))
    bucket = _deployment_bucket(account)
    code = _upload(account, bucket, package_dir / "deployment.zip", f"{stage}/code-")
    sam = json.loads((package_dir / "sam.json").read_text(encoding="utf-8"))
    template = translated(sam, f"s3://{bucket}/{code}", account.session)
    template_key = _upload_bytes(
        account, bucket, json.dumps(template).encode(), f"{stage}/template-", ".json"
    )
    url = f"https://{bucket}.s3.{account.region}.amazonaws.com/{template_key}"
    outcome = _apply(
        cfn,
        name,
        url,
        _parameters(parameters, existing),
        exists=existing is not None,
        total=len(template["Resources"]),
        progress=progress,
        poll_seconds=poll_seconds,
    )
    outputs = _outputs(cfn, name)
    done = publish_to_stage(account, stage, outputs, flows_dir)
    return Deployed(name, outcome, outputs, done["published"], done["key"], warnings)


def translated(sam: dict[str, Any], code_uri: str, session: Any) -> dict[str, Any]:
    """`sam` with the Serverless transform applied as CloudFormation would (the steps of
    samtranslator's own `transform`, given the account's session for its region), and
    every function's code at `code_uri`: plain CloudFormation."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    document = copy.deepcopy(sam)
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    to_py27_compatible_template(document, {})
    translator = Translator(None, Parser(), boto_session=session)
    # Every role is the template's own: no managed policy to look up.
    done = translator.translate(document, parameter_values={}, get_managed_policy_map=dict)
    return undo_mark_unicode_str_in_template(done)


def publish_to_stage(
    account: Account, stage: str, outputs: dict[str, str], flows_dir: Path | None
) -> dict[str, Any]:
    """Publish the flows in `flows_dir` that the stage does not have yet, and issue a first
    admin key when the stage has none. In a process of its own: the table names are read
    when the store's models are imported, and this one may have imported them already."""
    from functions.publish import FUNCTION_ARN_ENV, STATES_ROLE_ENV
    from functions.store.tables import PREFIX_ENV

    partition = outputs["StatesRoleArn"].split(":")[1]
    environment = {
        **os.environ,
        PREFIX_ENV: f"crmflow-{stage}",
        FUNCTION_ARN_ENV: f"arn:{partition}:lambda:{account.region}:"
        f"{account.account_id}:function:{function_name('{handler}', stage)}",
        STATES_ROLE_ENV: outputs["StatesRoleArn"],
        "AWS_DEFAULT_REGION": account.region,
        "AWS_REGION": account.region,
    }
    if account.profile:
        environment["AWS_PROFILE"] = account.profile
    command = [sys.executable, "-m", "infra.aws.stage_setup"]
    if flows_dir is not None:
        command += ["--flows", str(flows_dir)]
    done = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise DeployError(
            "the stack is deployed, but publishing the flows failed (run the deploy again "
            f"to retry):\n{done.stderr.strip() or done.stdout.strip()}"
        )
    return json.loads(done.stdout)


def teardown(
    account: Account,
    stage: str,
    *,
    delete_data: bool,
    progress: Progress | None = None,
    poll_seconds: float = 5.0,
) -> list[str]:
    """Delete the stage: the state machines its flows were published as, then the stack;
    with `delete_data`, also the tables and log groups the stack keeps. What was deleted."""
    cfn = account.client("cloudformation")
    deleted = [f"state machine {name}" for name in _delete_machines(account, cfn, stage)]
    stack = _stack(cfn, stack_name(stage))
    if stack is not None:
        total = len(cfn.list_stack_resources(StackName=stack_name(stage))["StackResourceSummaries"])
        cfn.delete_stack(StackName=stack_name(stage))
        _wait(cfn, stack_name(stage), {"DELETE_COMPLETE"}, total, progress, poll_seconds)
        deleted.append(f"stack {stack_name(stage)}")
    if delete_data:
        deleted += _delete_retained(account, stage)
    return deleted


# --- steps --------------------------------------------------------------------------------


def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    if stack["StackStatus"] in {"REVIEW_IN_PROGRESS", "DELETE_COMPLETE"}:
        return None
    return stack


def _sender_warnings(account: Account, identity: str | None) -> list[str]:
    if not identity:
        return []
    from botocore.exceptions import BotoCoreError, ClientError

    ses = account.client("sesv2")
    try:
        found = ses.get_email_identity(EmailIdentity=identity)
    except ses.exceptions.NotFoundException:
        return [
            f"SES has no identity '{identity}' in {account.region}: verify it (SES console, "
            "Verified identities) or every email step will fail"
        ]
    except (ClientError, BotoCoreError) as exc:  # e.g. no SES permission: say so, go on
        return [f"could not check the SES identity '{identity}': {exc}"]
    if not found.get("VerifiedForSendingStatus"):
        return [f"SES identity '{identity}' is not verified yet: emails fail until it is"]
    return []


def _deployment_bucket(account: Account) -> str:
    from botocore.exceptions import ClientError

    s3 = account.client("s3")
    bucket = f"crmflow-deploy-{account.account_id}-{account.region}"
    with contextlib.suppress(ClientError):  # 404: not made yet; 403: not ours (create says)
        s3.head_bucket(Bucket=bucket)
        return bucket
    where = {} if account.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": account.region}
    }  # fmt: skip
    try:
        s3.create_bucket(Bucket=bucket, **where)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        return bucket
    except ClientError as exc:
        raise DeployError(f"could not create the deployment bucket {bucket}: {exc}") from None
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return bucket


def _upload(account: Account, bucket: str, path: Path, prefix: str) -> str:
    if not path.exists():
        raise DeployError(f"{path} is missing: run crmflow package first")
    return _upload_bytes(account, bucket, path.read_bytes(), prefix, path.suffix)


def _upload_bytes(account: Account, bucket: str, data: bytes, prefix: str, suffix: str) -> str:
    # Named by content: an unchanged zip keeps its key, so CloudFormation sees no change.
    key = f"{prefix}{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
    account.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
    return key


def _parameters(given: dict[str, str], existing: dict[str, Any] | None) -> list[dict[str, Any]]:
    # On an update, what is not given again keeps its previous value.
    names = {p["ParameterKey"] for p in (existing or {}).get("Parameters", [])}
    chosen = [{"ParameterKey": k, "ParameterValue": v} for k, v in given.items() if v is not None]
    chosen += [
        {"ParameterKey": name, "UsePreviousValue": True}
        for name in sorted(names - {k for k, v in given.items() if v is not None})
    ]
    return chosen


def _apply(
    cfn: Any,
    name: str,
    url: str,
    parameters: list[dict[str, Any]],
    *,
    exists: bool,
    total: int,
    progress: Progress | None,
    poll_seconds: float,
) -> str:
    from botocore.exceptions import ClientError

    request = {
        "StackName": name,
        "TemplateURL": url,
        "Parameters": parameters,
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "app", "Value": "crmflow"}],
    }
    if not exists:
        cfn.create_stack(**request, OnFailure="ROLLBACK")
    else:
        try:
            cfn.update_stack(**request)
        except ClientError as exc:
            if "No updates are to be performed" in str(exc):
                return "unchanged"
            raise DeployError(f"CloudFormation refused the update: {exc}") from None
    _wait(cfn, name, DONE, total, progress, poll_seconds)
    return "updated" if exists else "created"


def _wait(
    cfn: Any,
    name: str,
    done: set[str],
    total: int,
    progress: Progress | None,
    poll_seconds: float,
) -> None:
    from botocore.exceptions import ClientError

    finished: set[str] = set()
    while True:
        try:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        except ClientError as exc:
            if "does not exist" in str(exc) and "DELETE_COMPLETE" in done:
                return
            raise
        latest = ""
        for event in reversed(events):
            status = event.get("ResourceStatus", "")
            if status.endswith("_COMPLETE") and event["LogicalResourceId"] != name:
                finished.add(event["LogicalResourceId"])
            latest = f"{event['LogicalResourceId']}: {status}"
        if stack["StackStatus"] in done:
            if progress:
                progress(total, total, latest)
            return
        if progress:
            progress(min(len(finished), total), total, latest)
        if stack["StackStatus"] in FAILED:
            raise DeployError(f"the stack {name} did not deploy: {_first_failure(events)}")
        time.sleep(poll_seconds)


def _first_failure(events: list[dict[str, Any]]) -> str:
    for event in reversed(events):
        if event.get("ResourceStatus", "").endswith("_FAILED"):
            return f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
    return "see the stack's events in the CloudFormation console"


def _outputs(cfn: Any, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _delete_machines(account: Account, cfn: Any, stage: str) -> list[str]:
    """The state machines published flows run as (made by publishing, not by the stack):
    crmflow-<stage>-<flow>-v<n>. Another stage whose name starts with this one's and a
    dash (dev and dev-eu) owns the machines under its own prefix: those are left alone."""
    prefix = f"crmflow-{stage}-"
    others = [
        f"{s['StackName']}-"
        for page in cfn.get_paginator("list_stacks").paginate()
        for s in page["StackSummaries"]
        if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"
    ]
    sfn = account.client("stepfunctions")
    deleted = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            name = machine["name"]
            if name.startswith(prefix) and not any(name.startswith(o) for o in others):
                sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
                deleted.append(name)
    return deleted


def _delete_retained(account: Account, stage: str) -> list[str]:
    """The tables and log groups the stack keeps when it is deleted (DeletionPolicy), by
    their exact names."""
    from functions.store.models import ALL_MODELS
    from infra.aws.access import FUNCTION_NEEDS

    deleted = []
    dynamodb = account.client("dynamodb")
    for model in ALL_MODELS:
        table = f"crmflow-{stage}-{model.Meta.suffix}"
        with contextlib.suppress(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.delete_table(TableName=table)
            deleted.append(f"table {table}")
    logs = account.client("logs")
    for function in sorted(FUNCTION_NEEDS):
        group = f"/aws/lambda/{function_name(function, stage)}"
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=group)
            deleted.append(f"log group {group}")
    return deleted
