"""Deploying crmflow to AWS: the CloudFormation resources that `chalice package` merges
into its template (tables, roles, schedules, alarms), built from the code that uses them."""
