"""What pages someone on AWS: executions that fail, steps whose error rate climbs, and
stream records the triggers gave up on. Every alarm notifies the AlarmTopic (SNS), which
the AlarmEmail parameter, when given, subscribes an address to."""

from __future__ import annotations

from typing import Any

from infra.aws.access import FAILED_RECORDS_QUEUE, PREFIX, arn_text

ALARM_TOPIC = "AlarmTopic"
ERROR_RATE_PERCENT = 5  # of a step's invocations in 15 minutes…
MIN_INVOCATIONS = 10  # …once it has run this often: one error of two is not a trend
FAILED_EXECUTIONS_RULE = "FailedExecutionsRule"


def alarm_resources() -> dict[str, Any]:
    """The topic, its optional subscription, and the stage-wide alarms."""
    return {
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": {"Fn::Sub": f"{PREFIX}-alarms"}},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": ALARM_TOPIC},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
        # Step Functions reports every execution's end to EventBridge; this rule matches
        # the failures of this stage's flows (an unenrolment aborts, which is no failure).
        FAILED_EXECUTIONS_RULE: {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "crmflow executions that failed or timed out",
                "EventPattern": {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {
                        "status": ["FAILED", "TIMED_OUT"],
                        "stateMachineArn": [
                            {"prefix": {"Fn::Sub": arn_text("states", f"stateMachine:{PREFIX}-")}}
                        ],
                    },
                },
                "State": "ENABLED",
            },
        },
        "FailedExecutionsAlarm": _alarm(
            "a flow's execution failed or timed out (see the failed executions in the "
            "Step Functions console, or GET /enrollments?status=failed)",
            namespace="AWS/Events",
            metric="MatchedEvents",
            dimensions={"RuleName": {"Ref": FAILED_EXECUTIONS_RULE}},
            threshold=1,
        ),
        "FailedRecordsAlarm": _alarm(
            "record-change triggers gave up on stream records: they wait in the "
            "failed-records queue to be looked at and replayed",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": {"Fn::GetAtt": [FAILED_RECORDS_QUEUE, "QueueName"]}},
            threshold=1,
            statistic="Maximum",
        ),
    }


def error_rate_alarm(function: str, logical_id: str) -> dict[str, Any]:
    """Alarm when more than ERROR_RATE_PERCENT of a function's invocations fail."""
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]

    def metric(name: str) -> dict[str, Any]:
        return {
            "Id": name.lower(),
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dimensions},
                "Period": 900,
                "Stat": "Sum",
            },
        }

    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": f"more than {ERROR_RATE_PERCENT}% of {function}'s runs "
            "failed in 15 minutes",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": ERROR_RATE_PERCENT,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "Metrics": [
                metric("Errors"),
                metric("Invocations"),
                {
                    "Id": "rate",
                    "Label": "error rate (%)",
                    "ReturnData": True,
                    "Expression": f"IF(invocations >= {MIN_INVOCATIONS}, "
                    "100 * errors / invocations, 0)",
                },
            ],
        },
    }


def _alarm(
    description: str,
    *,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    threshold: int,
    statistic: str = "Sum",
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
        },
    }
