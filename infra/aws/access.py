"""Who may do what on AWS: one IAM role per Lambda function, holding only what that
function's code calls, and the role the state machines run as, which may invoke only the
step functions.

Each function is given a set of needs (FUNCTION_NEEDS); each need is a few policy
statements scoped to this stage's resources by name (`crmflow-<stage>-…`). A new function
must be listed here: the package step refuses one that is not, rather than guess.

AWS offers no resource-level permission for a few actions; those statements use
`"Resource": "*"` and are listed in UNSCOPED with the reason, which the IAM test checks.
"""

from __future__ import annotations

from typing import Any

from functions.steps import HANDLERS as STEPS  # what state machines invoke
from infra.aws.tables import STAGE_PARAMETER
from infra.errors import PackageError

PREFIX = f"crmflow-${{{STAGE_PARAMETER}}}"
SENDER_PARAMETER = "SenderIdentity"
STATES_ROLE = "StatesExecutionRole"
FAILED_RECORDS_QUEUE = "FailedRecordsQueue"
CONFIGURATION_SET = "EmailConfigurationSet"

# Functions that use the tables only (email_feedback is invoked by SNS).
TABLES_ONLY = (
    "evaluate", "update_record", "create_record", "create_task", "assign_owner",
    "score_lead", "resolve_wait", "wait_for_event", "email_feedback",
)  # fmt: skip

# What each function's code calls beyond the CRM tables and its own logs, which all get.
FUNCTION_NEEDS: dict[str, frozenset[str]] = {
    "api": frozenset({"run_flows", "resume_waits", "publish_flows", "read_secrets"}),
    "send_email": frozenset({"send_email"}),
    "send_notification": frozenset({"send_email"}),
    "send_sms": frozenset({"send_sms"}),
    "http_request": frozenset({"read_secrets"}),
    "enroll_in_flow": frozenset({"run_flows"}),
    "remove_from_flow": frozenset({"run_flows"}),
    "finish": frozenset({"run_flows"}),
    "contact_changes": frozenset({"run_flows", "read_stream:contacts"}),
    "deal_changes": frozenset({"run_flows", "read_stream:deals"}),
    "company_changes": frozenset({"run_flows", "read_stream:companies"}),
    "scheduler": frozenset({"run_flows"}),
    **dict.fromkeys(TABLES_ONLY, frozenset()),
}

# Actions with no resource-level permission in IAM, and why each is needed.
UNSCOPED: dict[str, str] = {
    "sns:Publish": "send_sms texts phone numbers directly; an SMS has no topic ARN to name",
    "states:SendTaskSuccess": "resuming a wait by its task token: IAM has no resource for it",
    "dynamodb:ListStreams": "listing streams is account-wide in IAM (a read)",
}


def arn_text(service: str, resource: str) -> str:
    """An ARN in this stack's partition, region and account, for Fn::Sub."""
    return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"


def arn(service: str, resource: str) -> dict[str, str]:
    return {"Fn::Sub": arn_text(service, resource)}


def statement(actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _crm_tables() -> dict[str, Any]:
    return statement(
        [
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        ],
        [arn("dynamodb", f"table/{PREFIX}-*"), arn("dynamodb", f"table/{PREFIX}-*/index/*")],
    )


def _logs(function: str) -> dict[str, Any]:
    # The log group is the template's own (with its retention), so no CreateLogGroup.
    return statement(
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        [arn("logs", f"log-group:/aws/lambda/{function_name(function)}:*")],
    )


def _machines() -> dict[str, Any]:
    return arn("states", f"stateMachine:{PREFIX}-*")


def _executions() -> dict[str, Any]:
    return arn("states", f"execution:{PREFIX}-*:*")


def _need(need: str) -> list[dict[str, Any]]:
    if need.startswith("read_stream:"):
        table = need.split(":", 1)[1]
        return [
            statement(
                ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                [arn("dynamodb", f"table/{PREFIX}-{table}/stream/*")],
            ),
            statement(["dynamodb:ListStreams"], ["*"]),
            statement(["sqs:SendMessage"], [{"Fn::GetAtt": [FAILED_RECORDS_QUEUE, "Arn"]}]),
        ]
    return {
        "run_flows": [
            statement(["states:StartExecution"], [_machines()]),
            statement(["states:GetExecutionHistory", "states:StopExecution"], [_executions()]),
        ],
        "resume_waits": [statement(["states:SendTaskSuccess"], ["*"])],
        "publish_flows": [
            statement(["states:CreateStateMachine", "states:UpdateStateMachine"], [_machines()]),
            statement(["iam:PassRole"], [{"Fn::GetAtt": [STATES_ROLE, "Arn"]}]),
        ],
        "read_secrets": [
            statement(
                ["ssm:GetParameter", "ssm:GetParameters"],
                [arn("ssm", f"parameter/crmflow/${{{STAGE_PARAMETER}}}/*")],
            )
        ],
        "send_email": [
            statement(
                ["ses:SendEmail", "ses:SendRawEmail"],
                [
                    arn("ses", f"identity/${{{SENDER_PARAMETER}}}"),
                    arn("ses", f"configuration-set/{PREFIX}"),
                ],
            )
        ],
        "send_sms": [statement(["sns:Publish"], ["*"])],
    }[need]


def function_name(function: str, stage: str | None = None) -> str:
    """The deployed name, which the step ARNs in published flows are built from: for
    Fn::Sub, or for `stage` when it is given."""
    return f"crmflow-{stage}-{function}" if stage else f"{PREFIX}-{function}"


def function_role(function: str) -> dict[str, Any]:
    """The IAM role of one Lambda function."""
    if function not in FUNCTION_NEEDS:
        raise PackageError(
            f"function '{function}' has no entry in infra/aws/access.py FUNCTION_NEEDS: "
            "say what it calls before it can be deployed"
        )
    statements = [_crm_tables(), _logs(function)]
    for need in sorted(FUNCTION_NEEDS[function]):
        statements += _need(need)
    return _role("lambda.amazonaws.com", f"{function}-policy", statements)


def states_role() -> dict[str, Any]:
    """The role every published flow's state machine runs as: it invokes the step
    functions, and nothing else."""
    steps = [arn("lambda", f"function:{function_name(step)}") for step in STEPS]
    return _role(
        "states.amazonaws.com", "invoke-steps", [statement(["lambda:InvokeFunction"], steps)]
    )


def _role(service: str, policy: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": policy,
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def policy_problems(template: dict[str, Any]) -> list[str]:
    """Statements in `template` that allow too much: an action wildcard ("*", "s3:*",
    "dynamodb:Put*"), or "Resource": "*" for an action that AWS lets us scope (not in
    UNSCOPED). Empty when every policy is least-privilege."""
    problems = []
    for logical, resource in template.get("Resources", {}).items():
        for statement_ in _statements(resource):
            if statement_.get("Effect") != "Allow":
                continue
            actions = _listed(statement_.get("Action"))
            resources = _listed(statement_.get("Resource"))
            for action in actions:
                if "*" in str(action):
                    problems.append(f"{logical}: the action {action} is a wildcard")
            if "*" in resources:
                for action in actions:
                    if action not in UNSCOPED:
                        problems.append(f"{logical}: {action} on Resource '*'")
    return problems


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource.get("Properties", {})
    documents = [p.get("PolicyDocument", {}) for p in properties.get("Policies", [])]
    if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        documents.append(properties.get("PolicyDocument", {}))
    return [s for d in documents for s in _listed(d.get("Statement"))]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]
