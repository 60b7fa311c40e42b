"""The CloudFormation template crmflow merges into `chalice package`'s (issue 6 grows it:
roles, stream mappings, schedules, alarms). Today: the stage parameter and the tables."""

from __future__ import annotations

from typing import Any

from infra.aws.tables import STAGE_PARAMETER, table_resources

STAGE_PATTERN = "^[a-z][a-z0-9-]{0,20}$"  # it becomes part of table and function names


def merged_template() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            STAGE_PARAMETER: {
                "Type": "String",
                "AllowedPattern": STAGE_PATTERN,
                "Description": "The deployment's name, e.g. prod: tables are crmflow-<stage>-…",
            }
        },
        "Resources": table_resources(),
    }
