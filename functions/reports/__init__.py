"""Reports for the editor's Reports page: attribution, conversion, deals won and lost,
pipeline value and email performance (docs/reports.md).

Counters are kept as data changes (feed.py, into rollups.py's tables), read by the reports
with Queries only (build.py); `crmflow reports rebuild` recounts them from the records
(rebuild.py, which scans: an admin command, never a request). Stage rules: stages.py;
weeks and months: periods.py.
"""
