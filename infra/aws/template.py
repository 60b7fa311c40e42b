"""crmflow's part of the AWS template, in two steps around `chalice package`:

- `merged_template(stage)` is merged in by chalice (`--merge-template`): the parameters,
  the tables, the state machines' role, the queue for stream records the triggers give
  up on, the secret that signs unsubscribe links, the SES configuration set whose
  bounces and complaints come back through a topic, the alarms and the outputs;
- `finish(document)` then completes what chalice wrote for each function: its deployed
  name, its own least-privilege role and log group, the environment that points it at
  this stage, the table stream it reads (with retries that end in the queue, not in a
  blocked shard), an error-rate alarm, and a name and throttling for the API.
"""

from __future__ import annotations

from typing import Any

from infra.aws.access import (
    CONFIGURATION_SET,
    FAILED_RECORDS_QUEUE,
    PREFIX,
    SENDER_PARAMETER,
    STATES_ROLE,
    arn_text,
    function_name,
    function_role,
    states_role,
)
from infra.aws.alarms import ALARM_TOPIC, alarm_resources, error_rate_alarm
from infra.aws.tables import STAGE_PARAMETER, logical_id, table_resources
from infra.errors import PackageError

STAGE_PATTERN = "^[a-z][a-z0-9-]{0,20}$"  # it becomes part of table and function names
API_URL = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"
UNSUBSCRIBE_SECRET = "UnsubscribeSecret"
FEEDBACK_TOPIC = "EmailFeedbackTopic"
LOG_DAYS = 90
STREAM_RETRIES = 5  # then the batch is halved to find the bad record, and it goes to the queue
API_THROTTLE = {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}  # per second

PARAMETERS: dict[str, dict[str, Any]] = {
    SENDER_PARAMETER: {
        "Type": "String",
        "MinLength": 1,
        "Description": "The SES identity emails are sent from, verified in SES: a domain "
        "(acme.com) or an address (hello@acme.com)",
    },
    "NotifyFrom": {
        "Type": "String",
        "Default": "",
        "Description": "From address of notifications to owners, e.g. "
        "'crmflow <notifications@acme.com>' (within the sender identity)",
    },
    "HttpAllow": {
        "Type": "String",
        "Default": "",
        "Description": "Private hosts or networks outbound HTTP steps may reach, comma "
        "separated (crm.internal,10.0.0.0/8); public hosts need no entry",
    },
    "PublicUrl": {
        "Type": "String",
        "Default": "",
        "Description": "Base URL of the API for links in emails when it has a custom "
        "domain; empty: the API Gateway URL",
    },
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "Description": "Address the alarms are emailed to (confirm the subscription); "
        "empty: alarms go to the SNS topic only",
    },
}


def merged_template(stage: str = "dev") -> dict[str, Any]:
    """What chalice merges into its template for `stage` (the Stage parameter's default)."""
    stage_parameter = {
        "Type": "String",
        "Default": stage,
        "AllowedPattern": STAGE_PATTERN,
        "Description": "The deployment's name, e.g. prod: tables are crmflow-<stage>-…",
    }
    resources: dict[str, Any] = {
        **table_resources(),
        STATES_ROLE: states_role(),
        FAILED_RECORDS_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": f"{PREFIX}-failed-records"},
                "MessageRetentionPeriod": 1209600,  # 14 days, SQS's most
                "SqsManagedSseEnabled": True,
            },
        },
        UNSUBSCRIBE_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": {"Fn::Sub": f"{PREFIX}-unsubscribe-key"},
                "Description": "Signs the open, click and unsubscribe links in sent emails",
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        **email_feedback_resources(),
        **alarm_resources(),
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {STAGE_PARAMETER: stage_parameter, **PARAMETERS},
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "HasPublicUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicUrl"}, ""]}]},
        },
        "Resources": resources,
        "Outputs": {
            "ApiUrl": {
                "Description": "The HTTP API: triggers, records, flows (keys from crmflow deploy)",
                "Value": {"Fn::Sub": API_URL},
            },
            "StatesRoleArn": {"Value": {"Fn::GetAtt": [STATES_ROLE, "Arn"]}},
            "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC}},
            "FailedRecordsQueueUrl": {"Value": {"Ref": FAILED_RECORDS_QUEUE}},
        },
    }


def email_feedback_resources() -> dict[str, Any]:
    """The SES configuration set every email is sent with, which publishes bounces and
    complaints to a topic the email_feedback function reads."""
    return {
        CONFIGURATION_SET: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {"Name": {"Fn::Sub": PREFIX}},
        },
        "EmailFeedbackDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": CONFIGURATION_SET},
                "EventDestination": {
                    "Name": "bounces-and-complaints",
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint"],
                    "SnsDestination": {"TopicARN": {"Ref": FEEDBACK_TOPIC}},
                },
            },
        },
        FEEDBACK_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": f"{PREFIX}-email-feedback"}},
        },
        "EmailFeedbackTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": FEEDBACK_TOPIC}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": FEEDBACK_TOPIC},
                            "Condition": {
                                "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}
                            },
                        }
                    ],
                },
            },
        },
    }


def finish(document: dict[str, Any], runtime: str) -> dict[str, Any]:
    """Complete chalice's template in place (see the module's docstring); returns it."""
    from functions.store.models import ALL_MODELS

    resources = document["Resources"]
    streams = {logical_id(m): m.Meta.suffix for m in ALL_MODELS if _streamed(m)}
    for logical, resource in list(resources.items()):
        if resource["Type"] == "AWS::Serverless::Api":
            resource["Properties"]["Name"] = {"Fn::Sub": PREFIX}
            resource["Properties"]["MethodSettings"] = [
                {"ResourcePath": "/*", "HttpMethod": "*", **API_THROTTLE}
            ]
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        function = function_of(resource)
        properties = resource["Properties"]
        properties["Runtime"] = runtime
        properties["FunctionName"] = {"Fn::Sub": function_name(function)}
        properties["Role"] = {"Fn::GetAtt": [f"{logical}Role", "Arn"]}
        properties["Environment"] = {"Variables": _environment(is_api=function == "api")}
        for event in properties.get("Events", {}).values():
            if event["Type"] == "DynamoDB":
                table = _stream_table(event["Properties"]["Stream"], streams)
                event["Properties"].update(_stream_source(table))
            if event["Type"] == "SNS":  # the one topic functions read: SES's feedback
                event["Properties"]["Topic"] = {"Ref": FEEDBACK_TOPIC}
        resources[f"{logical}Role"] = function_role(function)
        resources[f"{logical}Logs"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/{function_name(function)}"},
                "RetentionInDays": LOG_DAYS,
            },
        }
        resource["DependsOn"] = [f"{logical}Logs"]  # its logs go to the group kept 90 days
        resources[f"{logical}ErrorRate"] = error_rate_alarm(function, logical)
    resources.pop("DefaultRole", None)  # chalice's one role for all: replaced above
    return document


def function_of(resource: dict[str, Any]) -> str:
    """The function's name in functions/app.py (`api` for the HTTP API's handler)."""
    handler = resource["Properties"]["Handler"].removeprefix("app.")
    return "api" if handler == "app" else handler


def _streamed(model: Any) -> bool:
    return getattr(model.Meta, "stream_view_type", None) is not None


def _stream_table(placeholder: str, streams: dict[str, str]) -> str:
    # chalice wrote the ARN functions.store.tables.stream_arn gave at package time: the
    # table name is in it; the real ARN exists only once the stack creates the table.
    for logical, suffix in streams.items():
        if f"-{suffix}/stream/" in placeholder:
            return logical
    raise PackageError(f"a trigger reads the stream {placeholder}, of no table crmflow deploys")


def _stream_source(table: str) -> dict[str, Any]:
    return {
        "Stream": {"Fn::GetAtt": [table, "StreamArn"]},
        "MaximumRetryAttempts": STREAM_RETRIES,
        "BisectBatchOnFunctionError": True,
        "DestinationConfig": {
            "OnFailure": {
                "Type": "SQS",
                "Destination": {"Fn::GetAtt": [FAILED_RECORDS_QUEUE, "Arn"]},
            }
        },
    }


def _environment(*, is_api: bool) -> dict[str, Any]:
    # The API's handler cannot name its own API's URL (the API names the handler: a
    # cycle); it takes the URL from each request instead (functions.api.routing).
    # The names are the code's own constants: renaming one cannot strand a deployment.
    from functions import email, net, publish, secrets
    from functions.steps import send_notification
    from functions.store.tables import PREFIX_ENV

    public_url = {"Fn::Sub": API_URL} if not is_api else {"Ref": "AWS::NoValue"}
    return {
        PREFIX_ENV: {"Fn::Sub": PREFIX},
        publish.FUNCTION_ARN_ENV: {
            "Fn::Sub": arn_text("lambda", f"function:{function_name('{handler}')}")
        },
        publish.STATES_ROLE_ENV: {"Fn::GetAtt": [STATES_ROLE, "Arn"]},
        secrets.SSM_PREFIX_ENV: {"Fn::Sub": f"/crmflow/${{{STAGE_PARAMETER}}}/"},
        send_notification.SENDER_ENV: {"Ref": "NotifyFrom"},
        net.ALLOW_ENV: {"Ref": "HttpAllow"},
        email.CONFIGURATION_SET_ENV: {"Ref": CONFIGURATION_SET},
        email.PUBLIC_URL_ENV: {"Fn::If": ["HasPublicUrl", {"Ref": "PublicUrl"}, public_url]},
        email.SECRET_ENV: {
            "Fn::Sub": f"{{{{resolve:secretsmanager:${{{UNSUBSCRIBE_SECRET}}}:SecretString}}}}"
        },
    }
