"""The finished AWS template (`crmflow package`): least-privilege roles, the state
machines' role, stream mappings, parameters, alarms and outputs; cfn-lint clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.steps import HANDLERS
from infra.aws.access import FUNCTION_NEEDS, UNSCOPED, function_role, policy_problems
from infra.aws.template import function_of
from infra.errors import PackageError


@pytest.fixture(scope="module")
def template(dist: Path) -> dict[str, Any]:
    return json.loads((dist / "sam.json").read_text(encoding="utf-8"))


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def actions_of(role: dict[str, Any]) -> set[str]:
    return {a for s in statements(role) for a in s["Action"]}


# Regions with every service crmflow uses (SES's event publishing is not in all of them).
LINTED_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"]


def test_the_whole_template_passes_cfn_lint(template: dict[str, Any]) -> None:
    from cfnlint.api import ManualArgs, lint

    found = lint(json.dumps(template), config=ManualArgs(regions=LINTED_REGIONS))
    assert [str(m) for m in found if m.rule.id[0] in "EW"] == []


def test_no_policy_allows_a_wildcard_action_or_a_scopable_action_on_every_resource(
    template: dict[str, Any],
) -> None:
    assert policy_problems(template) == []
    wildcards = {
        a for r in of_type(template, "AWS::IAM::Role").values() for s in statements(r)
        if s["Resource"] == ["*"] for a in s["Action"]
    }  # fmt: skip
    assert wildcards == set(UNSCOPED)  # each exception is used, and none unlisted


@pytest.mark.parametrize(
    "statement, problem",
    [
        ({"Action": "*", "Resource": "arn:x"}, "the action * is a wildcard"),
        ({"Action": ["dynamodb:*"], "Resource": ["arn:x"]}, "dynamodb:* is a wildcard"),
        ({"Action": ["dynamodb:PutItem"], "Resource": "*"}, "dynamodb:PutItem on Resource '*'"),
        ({"Action": ["sns:Publish", "sqs:SendMessage"], "Resource": ["*"]}, "sqs:SendMessage"),
    ],
)
def test_the_iam_check_finds_what_allows_too_much(statement: dict, problem: str) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
        {"PolicyDocument": {"Statement": [{"Effect": "Allow", **statement}]}}
    ]}}  # fmt: skip
    found = policy_problems({"Resources": {"Loose": role}})
    assert len(found) == 1 and problem in found[0], found


def test_each_function_has_a_role_of_its_own_and_only_what_it_calls(
    template: dict[str, Any],
) -> None:
    functions = of_type(template, "AWS::Serverless::Function")
    roles = {json.dumps(f["Properties"]["Role"]) for f in functions.values()}
    assert len(roles) == len(functions)  # no shared role
    assert "DefaultRole" not in template["Resources"]
    assert {function_of(f) for f in functions.values()} == set(FUNCTION_NEEDS)
    roles = {function_of(f): template["Resources"][f"{n}Role"] for n, f in functions.items()}
    assert "ses:SendRawEmail" in actions_of(roles["send_email"])
    assert "sns:Publish" in actions_of(roles["send_sms"])
    assert "states:CreateStateMachine" in actions_of(roles["api"])
    assert "iam:PassRole" in actions_of(roles["api"])
    # A step that only reads and writes records can do nothing else.
    assert {a.split(":")[0] for a in actions_of(roles["evaluate"])} == {"dynamodb", "logs"}
    senders = {n for n, r in roles.items() if {"ses:SendRawEmail", "sns:Publish"} & actions_of(r)}
    assert senders == {"send_email", "send_notification", "send_sms"}
    publishers = {n for n, r in roles.items() if "states:CreateStateMachine" in actions_of(r)}
    assert publishers == {"api"}


def test_an_unlisted_function_is_refused_rather_than_given_a_guess() -> None:
    with pytest.raises(PackageError, match="no entry in infra/aws/access"):
        function_role("new_step")


def test_the_state_machines_may_invoke_the_step_functions_and_nothing_else(
    template: dict[str, Any],
) -> None:
    role = template["Resources"]["StatesExecutionRole"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    (only,) = statements(role)
    assert only["Action"] == ["lambda:InvokeFunction"]
    named = sorted(
        r["Fn::Sub"].rsplit("function:crmflow-${Stage}-", 1)[1] for r in only["Resource"]
    )
    assert named == sorted(HANDLERS)


def test_record_streams_reach_their_triggers_with_retries_that_end_in_a_queue(
    template: dict[str, Any],
) -> None:
    events = {
        function_of(f): e
        for f in of_type(template, "AWS::Serverless::Function").values()
        for e in f["Properties"].get("Events", {}).values()
    }
    for function, table in [
        ("contact_changes", "ContactsTable"),
        ("deal_changes", "DealsTable"),
        ("company_changes", "CompaniesTable"),
    ]:
        source = events[function]["Properties"]
        assert source["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
        assert source["BisectBatchOnFunctionError"] is True
        assert source["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailedRecordsQueue", "Arn"]
        }
    assert events["scheduler"]["Properties"]["Schedule"] == "rate(5 minutes)"


def test_parameters_environment_alarms_and_outputs(template: dict[str, Any]) -> None:
    assert {"Stage", "SenderIdentity", "HttpAllow", "NotifyFrom", "AlarmEmail"} <= set(
        template["Parameters"]
    )
    functions = of_type(template, "AWS::Serverless::Function")
    send_email = next(f for f in functions.values() if function_of(f) == "send_email")
    variables = send_email["Properties"]["Environment"]["Variables"]
    assert variables["CRMFLOW_HTTP_ALLOW"] == {"Ref": "HttpAllow"}
    assert "{handler}" in variables["CRMFLOW_FUNCTION_ARN"]["Fn::Sub"]
    assert "resolve:secretsmanager" in variables["CRMFLOW_UNSUBSCRIBE_SECRET"]["Fn::Sub"]
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert {"FailedExecutionsAlarm", "FailedRecordsAlarm"} <= set(alarms)
    assert {f"{n}ErrorRate" for n in functions} <= set(alarms)
    rule = template["Resources"]["FailedExecutionsRule"]["Properties"]["EventPattern"]
    assert rule["detail"]["status"] == ["FAILED", "TIMED_OUT"]
    assert {"ApiUrl", "StatesRoleArn", "AlarmTopicArn"} <= set(template["Outputs"])
    api = next(iter(of_type(template, "AWS::Serverless::Api").values()))
    assert api["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] > 0


def test_the_api_learns_its_public_url_from_its_first_request_on_lambda(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from functions.api.routing import learn_public_url
    from functions.email import PUBLIC_URL_ENV

    monkeypatch.delenv(PUBLIC_URL_ENV, raising=False)
    context = {"domainName": "abc.execute-api.eu-west-1.amazonaws.com", "stage": "api"}
    learn_public_url(context)
    assert PUBLIC_URL_ENV not in os.environ  # not on Lambda: left alone
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "crmflow-prod-api")
    learn_public_url(context)
    assert os.environ[PUBLIC_URL_ENV] == "https://abc.execute-api.eu-west-1.amazonaws.com/api"
    learn_public_url({"domainName": "other.example", "stage": "x"})  # a set URL stays
    assert os.environ[PUBLIC_URL_ENV].startswith("https://abc.")


def test_emails_go_out_through_a_configuration_set_whose_feedback_reaches_a_function(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    destination = resources["EmailFeedbackDestination"]["Properties"]["EventDestination"]
    assert set(destination["MatchingEventTypes"]) == {"bounce", "complaint"}
    assert destination["SnsDestination"]["TopicARN"] == {"Ref": "EmailFeedbackTopic"}
    functions = of_type(template, "AWS::Serverless::Function").values()
    feedback = next(f for f in functions if function_of(f) == "email_feedback")
    (event,) = feedback["Properties"]["Events"].values()
    assert event["Properties"]["Topic"] == {"Ref": "EmailFeedbackTopic"}
    send = next(f for f in functions if function_of(f) == "send_email")
    variables = send["Properties"]["Environment"]["Variables"]
    assert variables["CRMFLOW_SES_CONFIGURATION_SET"] == {"Ref": "EmailConfigurationSet"}
