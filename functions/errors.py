"""Named errors of the functions package.

Each class's `__name__` is the error name Step Functions sees (the Lambda runtime reports
`type(exc).__name__` as `errorType`), so a flow can Retry or Catch `Crm.ContactNotFound`.
"""

from __future__ import annotations


def _named(name: str, doc: str, base: type[Exception] = Exception) -> type[Exception]:
    return type(name, (base,), {"__doc__": doc, "__module__": __name__})


class CrmError(Exception):
    """Base of every error raised by the CRM store and the step handlers."""


# ASL error names contain dots, which class statements cannot: build them by name.
Transient = _named("Crm.Transient", "A temporary failure: Step Functions retries it.", CrmError)
ContactNotFound = _named("Crm.ContactNotFound", "No contact has this id or email.", CrmError)
RecordNotFound = _named(
    "Crm.RecordNotFound", "No deal, company, task or user has this id.", CrmError
)
DuplicateEmail = _named("Crm.DuplicateEmail", "Another contact already has this email.", CrmError)
InvalidParams = _named(
    "Crm.InvalidParams", "A step's payload does not match its node kind.", CrmError
)
InvalidRecord = _named(
    "Crm.InvalidRecord", "A record's fields break a rule (bad email, phone…).", CrmError
)
Suppressed = _named("Crm.Suppressed", "The address is unsubscribed or bounced.", CrmError)
ConflictRetriesExhausted = _named(
    "Crm.Conflict", "Concurrent writers kept changing the record; gave up after retries.", Transient
)
NoPhone = _named("Crm.NoPhone", "The contact has no valid phone number for SMS.", CrmError)
TemplateError = _named(
    "Crm.TemplateError", "A personalisation template failed to render.", CrmError
)
TemplateTooLarge = _named(
    "Template.TooLarge",
    "A template would render more text, or build a bigger value, than its limit allows.",
    TemplateError,
)
TemplateTooSlow = _named(
    "Template.TooSlow", "A template took longer to render than its time budget.", TemplateError
)
FlowNotFound = _named("Crm.FlowNotFound", "No published flow has this id.", CrmError)
NoAssignee = _named("Crm.NoAssignee", "No user could be picked (empty team, no owner).", CrmError)
HttpTimeout = _named("Http.Timeout", "The remote system did not answer in time.", Transient)
HttpRetryable = _named("Http.Retryable", "The remote system answered 5xx or 429.", Transient)
HttpBadStatus = _named(
    "Http.BadStatus", "The remote system answered an unexpected status.", CrmError
)
HttpRefused = _named(
    "Http.Refused", "The URL points at a private, loopback or link-local address.", CrmError
)
MissingSecret = _named("Crm.MissingSecret", "A secret named by a step is not configured.", CrmError)
SecretNotGranted = _named(
    "Crm.SecretNotGranted", "A flow names a secret not granted to flows (not FLOW_…).", CrmError
)
FlowRejected = _named(
    "Crm.FlowInvalid", "A flow cannot be published: it has validation errors.", CrmError
)
BodyTooLarge = _named(
    "Http.BodyTooLarge", "A request's body is over the size the call takes.", CrmError
)
TriggerTooLarge = _named(
    "Crm.TriggerTooLarge",
    "A trigger's data is over the size that travels with a contact.",
    CrmError,
)
UnreadableFile = _named(
    "Crm.UnreadableFile", "An import file cannot be read as CSV text.", CrmError
)
BadMapping = _named(
    "Crm.BadMapping", "An import's column mapping names an unknown field.", CrmError
)
NotConfigured = _named(
    "Crm.NotConfigured", "A setting the deployment must provide is missing.", CrmError
)
BadSignature = _named(
    "Http.BadSignature", "A signed request's signature or timestamp does not check out.", CrmError
)
BadRequest = _named(
    "Http.BadRequest",
    "A request's body or parameters are malformed; the message says where.",
    CrmError,
)
EnrollmentNotFound = _named("Crm.EnrollmentNotFound", "No enrollment has this id.", CrmError)
IdempotencyInProgress = _named(
    "Http.IdempotencyInProgress",
    "A delivery with this Idempotency-Key or signature is still being handled; retry shortly.",
    CrmError,
)
IdempotencyKeyReused = _named(
    "Http.IdempotencyKeyReused",
    "An Idempotency-Key was already used with a different request body.",
    CrmError,
)
NotADraft = _named(
    "Crm.NotADraft", "Only a flow that was never published can be deleted.", CrmError
)
WrongTrigger = _named(
    "Crm.WrongTrigger", "The flow is started by another trigger than the one asked of it.", CrmError
)
NotRollbackTarget = _named(
    "Crm.NotRollbackTarget",
    "A flow rolls back only to a version that was published and is not live now.",
    CrmError,
)
SegmentExists = _named("Crm.SegmentExists", "A saved segment already has this id.", CrmError)
ReportNotFound = _named("Crm.ReportNotFound", "No report has this name.", CrmError)
# Who may call the HTTP API; functions/api/errors.py gives each error its status code.
Unauthorized = _named(
    "Http.Unauthorized", "The request has no API key, or one that is unknown or revoked.", CrmError
)
Forbidden = _named(
    "Http.Forbidden", "The API key's role lacks the permission the call needs.", CrmError
)
