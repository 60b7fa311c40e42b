"""What the API answers, as pydantic models: the OpenAPI document describes each route's
success answer from these (a route names its model with `answer=`), and the fuzzer
(tests/infra/test_api_fuzz.py) checks every real answer against them.

They describe; they do not build: views still return plain JSON. Fields a caller can count
on are required; objects allow more properties (an answer may grow without breaking
anyone), so the schemas say what is promised, not all that is sent.

A stored record's answer (functions.store.plain) carries every attribute, null or not:
its fields are all required, nullable where the attribute is. A field that an answer
leaves out rather than sends as null is typed `X | SkipJsonSchema[None]` with `absent()`:
not required, and never null when sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


def answer_model(name: str) -> type[BaseModel]:
    """The model of an answer called `name`."""
    found = globals().get(name)
    if not (isinstance(found, type) and issubclass(found, Answer)):
        raise KeyError(f"no answer model named {name!r} in functions.api.answers")
    return found


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent(description: str) -> Any:
    """A field the answer leaves out (rather than sends as null) when it has no value."""
    return Field(None, description=description, json_schema_extra=_no_default)


NEXT = "The cursor of the next page (pass it as `cursor`); null on the last page."
ISSUE_PATH = "The JSON path in the flow document, e.g. $.nodes[2].params.delay."


# --- contacts ----------------------------------------------------------------------------


class Contact(Answer):
    """A contact, with every field (null where unset)."""

    contact_id: str
    email: str = Field(description="Normalised: trimmed, lowercase.")
    first_name: str | None
    last_name: str | None
    phone: str | None = Field(description="E.164, e.g. +989121234567.")
    company_id: str | None
    company_name: str | None
    job_title: str | None
    owner_id: str | None = Field(description="The user who owns the contact.")
    lifecycle_stage: str = Field(description="subscriber, lead, customer…")
    lead_status: str | None
    score: float
    temperature: str | None = Field(description="cold, warm or hot.")
    tags: list[str] = Field(description="Sorted.")
    products: list[str] = Field(description="Products bought, sorted.")
    source: str | None
    country: str | None = Field(description="ISO 3166 two-letter code, or a name as given.")
    city: str | None
    time_zone: str | None = Field(description="IANA name, e.g. Asia/Tehran.")
    locale: str | None
    email_consent: bool
    subscription_status: str = Field(description="subscribed, unsubscribed…")
    sms_opt_out: bool
    custom: dict[str, Any] = Field(description="Custom fields, as set.")
    created_at: datetime
    updated_at: datetime
    last_contacted_at: datetime | None
    changed_by: str | None = Field(
        description="The enrollment whose flow step made the latest change; null for people "
        "and systems."
    )
    version: int = Field(description="Goes up by one with every change.")


class ContactSearchPage(Answer):
    """A page of contacts matching one filter, or of every contact, newest first."""

    filter: dict[str, str | int] = Field(
        description="The filter applied, e.g. {'tag': 'vip'}; {} for every contact."
    )
    contacts: list[Contact]
    owners: dict[str, str] = Field(
        description="The name of each owner on the page that is a user, by user id."
    )
    next: str | None = Field(description=NEXT)


class TimelineActivity(Answer):
    """One event on a contact's timeline."""

    id: str = Field(description="Time-ordered: '<ISO time>#<id>'.")
    kind: str = Field(description="email_sent, email_opened, note, stage_changed, flow_entered…")
    at: datetime
    data: dict[str, Any] = Field(description="What happened: depends on the kind.")


class TimelinePage(Answer):
    """A page of a contact's timeline, newest first."""

    activities: list[TimelineActivity]
    next: str | None = Field(description=NEXT)


# --- enrollments -------------------------------------------------------------------------


class PathVisit(Answer):
    """One stay of a contact in one node of a flow."""

    node: str = Field(description="The node's id.")
    entered_at: datetime
    left_at: datetime | None = Field(description="null while the contact is still there.")


class Enrollment(Answer):
    """One contact's run through one flow."""

    enrollment_id: str = Field(description="Also the execution's name.")
    flow_id: str
    flow_version: int
    contact_id: str
    execution_arn: str | None = Field(description="null until the run has started.")
    status: str = Field(
        description="starting, active, or why it left: completed, ended, goal, unenrolled, failed."
    )
    entered_at: datetime
    left_at: datetime | None
    left_node: str | None = Field(description="The node it left from, when known.")
    error: dict[str, Any] | None = Field(description="A failed run: the step's error.")
    path: list[PathVisit] | None = Field(description="The nodes passed, stored when it leaves.")
    source: dict[str, Any] = Field(description="What enrolled it: trigger kind, flow, node…")


class ContactEnrollments(Answer):
    """A contact's enrollments, newest first."""

    enrollments: list[Enrollment]


class EnrollmentStarted(Answer):
    """A contact started in a flow by hand, or the enrollment it is already in."""

    enrolled: bool = Field(description="false: the contact is not enrolled again (`reason`).")
    enrollment_id: str
    contact_id: str
    reason: str | SkipJsonSchema[None] = absent("Why the contact was not enrolled again.")


class EnrollmentStopped(Answer):
    """A contact taken out of a flow by hand."""

    flow_id: str
    contact_id: str
    unenrolled: bool = Field(description="false: the contact was not in the flow.")


class EnrollmentPath(Answer):
    """An enrollment and the path its contact took, from the execution's history."""

    enrollment: Enrollment
    path: list[PathVisit] | None = Field(
        description="Each node entered, in order; null when the history cannot be read "
        "(`path_error` says why)."
    )
    path_error: str | SkipJsonSchema[None] = absent(
        "Why `path` is null: the run has not started, or its history is gone."
    )


# --- deals -------------------------------------------------------------------------------


class Deal(Answer):
    """A deal, with every field (null where unset)."""

    deal_id: str
    name: str
    pipeline: str
    stage: str
    amount: float | None
    currency: str = Field(description="ISO 4217 code, e.g. EUR.")
    owner_id: str | None = Field(description="The user who owns the deal.")
    contact_id: str | None
    company_id: str | None
    close_date: date | None = Field(description="Expected close date; null when unknown.")
    custom: dict[str, Any] = Field(description="Custom fields, as set.")
    created_at: datetime
    version: int = Field(description="Goes up by one with every change.")


class DealSearchPage(Answer):
    """A page of deals in a pipeline stage, or of a contact's deals."""

    filter: dict[str, str] = Field(
        description="The filter applied: pipeline and stage, or contact_id."
    )
    deals: list[Deal]
    next: str | None = Field(description=NEXT)


# --- tasks -------------------------------------------------------------------------------


class Task(Answer):
    """A task, with every field (null where unset)."""

    task_id: str
    title: str
    description: str | None
    task_type: Literal["todo", "call", "email", "meeting"]
    priority: Literal["low", "normal", "high"]
    assignee_id: str | None
    status: Literal["open", "done"]
    due_at: datetime
    contact_id: str | None
    deal_id: str | None
    created_at: datetime


class TaskAssignee(Answer):
    assignee: str = Field(description="Whose open tasks these are.")


class TaskPage(Answer):
    """A page of a user's open tasks, soonest due first."""

    filter: TaskAssignee
    tasks: list[Task]
    next: str | None = Field(description=NEXT)


# --- events ------------------------------------------------------------------------------


class EventOutcome(Answer):
    """What a recorded event did."""

    contact_id: str = Field(description="Whose event it was (a form may have created it).")
    event: str = Field(description="The event's key: its kind, or custom.<name>.")
    resumed: list[str] = Field(description="Enrollments whose wait for this event it ended.")
    started: list[str] = Field(description="Enrollments it started.")
    goals: list[str] = Field(description="Enrollments that left their flow by a goal it met.")


# --- flows -------------------------------------------------------------------------------


class FlowRecord(Answer):
    """A flow: its status and what is live."""

    flow_id: str
    name: str
    status: Literal["draft", "published", "unpublished"]
    latest_version: int = Field(description="The newest saved version (0: none yet).")
    published_version: int | None
    state_machine_arn: str | None = Field(description="Of the published version, if any.")
    trigger_kind: str | None
    trigger_params: dict[str, Any] | None
    trigger_key: str | None
    allow_reenrollment: bool
    updated_at: datetime


class ListedFlow(FlowRecord):
    active: int = Field(description="Contacts in the flow now.")


class Flows(Answer):
    """Every flow, or those in one status."""

    flows: list[ListedFlow]


class FlowVersionInfo(Answer):
    """A saved version of a flow."""

    version: int
    published: bool = Field(description="It was published (it has a state machine).")
    live: bool = Field(description="It is the version new contacts enter now (one at most).")
    state_machine_arn: str | None = Field(description="Set when this version was published.")
    note: str = Field(description="What changed, as saved ('' when none).")
    created_by_name: str | None = Field(
        description="Who saved it, in words: the user's name and email, or the key's name."
    )
    created_by: str | None
    created_at: datetime


class FlowVersionDocument(FlowVersionInfo):
    """A saved version of a flow, with its document."""

    document: dict[str, Any] = Field(
        description="The flow document: see docs/flow-format.md and flows/schema/flow.schema.json."
    )


class FlowVersions(Answer):
    """A flow's saved versions, newest first."""

    versions: list[FlowVersionInfo]


class FlowDetail(Answer):
    """A flow and its newest version."""

    flow: FlowRecord
    latest: FlowVersionDocument | None = Field(description="null when no version is saved.")


class FlowDeleted(Answer):
    flow_id: str
    deleted_versions: int


class Issue(Answer):
    """One finding of validation: where, and what."""

    path: str = Field(description=ISSUE_PATH)
    message: str
    node_id: str | None = Field(description="The node at fault, when one is.")
    severity: Literal["error", "warning"]


class FlowValidation(Answer):
    """Every error and warning of a flow document."""

    ok: bool = Field(description="No errors: the flow could be published.")
    errors: list[Issue]
    warnings: list[Issue]


class FlowSaved(Answer):
    """A flow document saved as its next version, a draft."""

    flow_id: str
    version: int
    errors: list[Issue] = Field(description="Errors to fix before it can be published.")
    warnings: list[Issue]


class WorkingCopyKept(Answer):
    """The editor's unsaved changes, kept."""

    flow_id: str
    saved_at: str = Field(description="When they were kept (ISO 8601, UTC).")


class WorkingCopy(Answer):
    """A flow's unsaved changes kept by the editor."""

    flow_id: str
    document: dict[str, Any] = Field(description="The flow document as it was being edited.")
    saved_at: str
    latest_version: int | None = Field(
        description="The newest saved version when they were read; null for a flow never saved."
    )


class WorkingCopyDiscarded(Answer):
    flow_id: str
    discarded: bool = Field(description="Whether unsaved changes were kept.")


class FlowPublished(Answer):
    """A flow document published as the version new contacts enter."""

    flow_id: str
    version: int
    state_machine_arn: str
    warnings: list[Issue]


class TriggerReach(Answer):
    """Who the trigger reaches, from the store's indexes."""

    matching_now: int | None = Field(
        description="Contacts the trigger's filter matches now; null when no index counts it."
    )
    enrolled_at_once: int | None = Field(
        description="Contacts enrolled on publishing (a segment) or in the first 7 days "
        "(a date trigger); 0 for triggers that enroll as things happen."
    )
    exact: bool = Field(description="False when the counts are estimates.")
    note: str = Field(description="What the counts mean, in words.")
    batch: bool = Field(
        description="The trigger enrolls contacts in a batch (a segment on publishing, a "
        "date trigger day by day) rather than one by one as things happen."
    )


class FirstWeek(Answer):
    """Messages of the first 7 days: (fewest, most) over the flow's paths."""

    emails_per_contact: list[int]
    sms_per_contact: list[int]
    emails_at_once: list[int] = Field(description="Per contact × enrolled at once.")
    sms_at_once: list[int]


class PublishImpact(Answer):
    """What publishing this document would do, before it is done."""

    trigger: TriggerReach
    in_flight: int = Field(description="Contacts mid-flow now: they finish on their version.")
    live_version: int | None = Field(description="The version published now, if any.")
    changed_steps: list[str] = Field(
        description="Ids of steps added, changed or removed since the published version."
    )
    first_week: FirstWeek


class FlowRolledBack(Answer):
    """The flow's live version is an earlier one again."""

    flow_id: str
    version: int
    state_machine_arn: str


class AuditEntry(Answer):
    """Something a person did to the flow."""

    at: datetime
    action: str = Field(description="published, rolled_back or unpublished.")
    actor: str | None = Field(description="A user id, key:<id> or cli.")
    actor_name: str = Field(description="Who, in words.")
    version: int | None
    detail: dict[str, Any]
    said: str = Field(description="The entry in words, e.g. 'Mia Karimi published version 3'.")


class FlowAuditList(Answer):
    """What people did to the flow, newest first (the newest 100)."""

    entries: list[AuditEntry]


class FlowUnpublished(Answer):
    flow_id: str
    status: Literal["unpublished"]
    stopped: int = Field(description="Contacts stopped now (with stop_running=true).")


class NodeCounts(Answer):
    """How many contacts went through one node."""

    entered: int
    waiting: int = Field(description="In the node now.")
    goal: int = Field(description="Left here by meeting a goal.")
    failed: int = Field(description="A step failed here.")
    unenrolled: int = Field(description="Removed while here.")
    finished: int = Field(description="The flow ended here.")


class GoalFunnel(Answer):
    entered: int = Field(description="Contacts that entered the flow's first node.")
    goal: int = Field(description="Contacts that left by a goal.")
    rate: float | None = Field(description="goal / entered; null when nobody entered.")


class SplitVariant(Answer):
    node: str = Field(description="The node the variant leads to.")
    entered: int
    goal: int = Field(description="Of those who entered it, how many went on to meet a goal.")


class AbTest(Answer):
    """One variant against the split's first (the control): the pooled two-proportion
    z-test of their goal conversion (goal / entered), two-sided at alpha 0.05. Numbers are
    null where the counts cannot say (nobody entered, or all or none converted in both)."""

    metric: Literal["goal"] = Field(description="What is compared: goal conversion.")
    control: str = Field(description="The first variant's output name.")
    variant: str
    difference: float | None = Field(description="The variant's rate minus the control's.")
    z: float | None
    p_value: float | None = Field(description="Two-sided.")
    ci_low: float | None = Field(description="95% confidence interval of the difference.")
    ci_high: float | None
    needed_per_variant: int | None = Field(
        description="Contacts per variant to detect this difference (power 0.8); null when "
        "the rates are equal."
    )
    still_needed_per_variant: int | None = Field(
        description="How many more the smaller of the two needs to reach that."
    )
    significant: bool = Field(description="p_value < 0.05.")
    winner: str | None = Field(description="The better of the two, only when significant.")


class FlowAnalytics(Answer):
    """How contacts went through a flow."""

    flow_id: str
    version: int | None = Field(description="The version counted; null: all versions.")
    nodes: dict[str, NodeCounts] = Field(description="By node id.")
    active: int = Field(description="Contacts in the flow now.")
    live_counted: int = Field(description="Of those, how many were placed in a node.")
    complete: bool = Field(description="Every contact in the flow now was placed.")
    funnel: GoalFunnel
    splits: dict[str, dict[str, SplitVariant]] = Field(
        description="A/B splits by node id, their variants by output name."
    )
    ab_tests: dict[str, list[AbTest]] = Field(
        description="A/B splits by node id: each variant after the first against the first."
    )


class BroadcastFailure(Answer):
    contact_id: str
    reason: str


class BroadcastProgress(Answer):
    """What one chunk of a broadcast did."""

    flow_id: str
    run_id: str = Field(description="Pass it again, with `after`, to go on.")
    after: str | None = Field(description="Where this chunk began (the `after` sent).")
    candidates: int = Field(description="Contacts the filter's indexes found.")
    matched: int = Field(description="Of those handled in this chunk, how many matched.")
    enrolled: int
    enrollment_ids: list[str] = Field(description="The enrollments started (at most 100).")
    skipped: int = Field(description="Matched, but already in the flow (or once in it).")
    repeated: int = Field(description="Enrolled by an earlier try of this run.")
    failed: int
    failures: list[BroadcastFailure] = Field(description="At most 100.")
    next_after: str | None = Field(
        description="Not null: call again with this as `after`; null: the broadcast is done."
    )


class TestEffect(Answer):
    """Something a step would have done; its other properties depend on the kind."""

    __test__ = False  # not a pytest test class, whatever its name

    node: str = Field(description="The node whose step would have done it.")
    kind: str = Field(
        description="email, sms, task_created, http, timeline, contact_update, enroll, "
        "unenroll, aws…"
    )


class TestEmail(TestEffect):
    """An email a test run would have sent."""

    __test__ = False

    from_: str = Field(alias="from")
    to: list[str] = Field(description="Addresses, To and Cc.")
    reply_to: str | None
    subject: str
    text: str
    html: str | None
    headers: dict[str, str] = Field(description="List-Unsubscribe and List-Unsubscribe-Post.")


class TestSms(TestEffect):
    """An SMS a test run would have sent."""

    __test__ = False

    to: str = Field(description="E.164.")
    message: str


class TestTaskCreated(TestEffect):
    """A task a test run would have created."""

    __test__ = False

    record: Task = Field(description="The task it would have created.")


class TestHttpRequest(TestEffect):
    """An HTTP request a test run would have made."""

    __test__ = False

    method: str
    url: str
    headers: dict[str, str] = Field(description="Credentials shown as [hidden].")
    body: str | None


class TestVisit(Answer):
    """One node a test run passed through."""

    __test__ = False

    node: str
    kind: str = Field(description="The node's kind.")
    label: str
    at: datetime = Field(description="The simulated time it was reached.")
    output: str | None = Field(description="The output it took; null where the run stopped.")
    waited_seconds: float
    result: Any = Field(description="What the step answered.")
    effects: list[TestEffect]
    error: dict[str, str] | SkipJsonSchema[None] = absent(
        "A failed step: `error` (its name) and `cause`."
    )


class TestRun(Answer):
    """How a flow's test run went, and what it would have done."""

    __test__ = False

    flow_id: str
    contact_id: str
    sample_contact: bool = Field(description="The contact exists only in this run.")
    status: str = Field(description="ended, goal, completed, failed, stopped…")
    path: list[TestVisit]
    nodes: list[str] = Field(description="The ids of `path`.")
    emails: list[TestEmail]
    sms: list[TestSms]
    tasks: list[TestTaskCreated]
    http_requests: list[TestHttpRequest]
    record_changes: dict[str, list[Any]] = Field(
        description="The contact's changed fields: field → [before, after]."
    )
    effects: list[TestEffect] = Field(description="Everything, in order.")
    choices: dict[str, list[str]] = Field(
        description="Nodes whose output `choices` may pick, with their outputs."
    )
    simulated_seconds: float


class TestEmailSent(Answer):
    """A send_email step's test email, sent through SES to one person, marked as a test."""

    __test__ = False

    flow_id: str
    node_id: str
    to: str
    subject: str = Field(description="As sent: '[Test] ' and the rendered subject.")
    message_id: str = Field(description="SES's id of the message.")
    contact_id: str = Field(description="Whom it was rendered for.")
    sample_contact: bool = Field(description="The contact exists only for this test.")


# --- hooks -------------------------------------------------------------------------------


class FieldWarning(Answer):
    field: str
    message: str


class HookAccepted(Answer):
    """A hook's answer: the contact's enrollment, new or the one it is already in."""

    enrolled: bool = Field(description="false: the contact is in the flow already (`reason`).")
    enrollment_id: str
    execution_id: str = Field(description="The execution's name (the enrollment id).")
    contact_id: str
    reason: str | SkipJsonSchema[None] = absent("Why the contact was not enrolled again.")
    warnings: list[FieldWarning] | SkipJsonSchema[None] = absent(
        "Values that could not be read (a phone without a country code, a date that is not "
        "one): each kept as typed in custom.<field>_as_typed. The lead is never refused."
    )


# --- imports -----------------------------------------------------------------------------


class RowProblem(Answer):
    row: int = Field(description="1-based; the header is row 1.")
    field: str
    reason: str


class ImportResult(Answer):
    """How an import went: every row read is counted once."""

    rows_read: int
    new: int = Field(description="Contacts created.")
    merged: int = Field(description="Rows folded into a contact met before or stored.")
    rejected: list[RowProblem] = Field(description="Rows that could not become a contact.")
    empty: int = Field(description="Rows with no text: skipped.")
    warnings: list[RowProblem] = Field(description="Values that could not be kept as they were.")
    imported: int = Field(description="new + merged.")
    summary: str
    mapping: dict[str, str] = Field(description="Column → field (or custom.<key>).")


# --- keys --------------------------------------------------------------------------------


class KeyIssued(Answer):
    """A new API key; `key` is shown this once."""

    key_id: str
    key: str = Field(description="crm_<key_id>_<secret>: keep it, it cannot be shown again.")
    name: str
    role: Literal["admin", "marketer", "sales_rep", "read_only", "integration"]
    user_id: str | None
    flows: list[str]
    events: bool


class KeyRevoked(Answer):
    key_id: str
    name: str
    revoked_at: datetime = Field(description="When it was first revoked.")


# --- reports -----------------------------------------------------------------------------


class ReportRate(Answer):
    """A rate column: `of` over the sum of the `per` columns (null when they are 0)."""

    name: str
    of: str
    per: list[str]


class ReportInfo(Answer):
    name: str
    title: str
    description: str
    columns: list[str]
    rates: list[ReportRate] = Field(description="Its rate columns and what they divide.")


class ReportCatalogue(Answer):
    """The reports there are."""

    reports: list[ReportInfo]


class ReportPeriod(Answer):
    period: str = Field(description="Its label, e.g. 2027-W09 or 2027-03.")
    from_: date = Field(alias="from")
    to: date


class ReportTotals(Answer):
    columns: list[str]
    rows: list[list[Any]]


class ReportTable(Answer):
    """A report as a table: one row per period and dimensions."""

    report: str
    title: str
    period: Literal["week", "month"] | None = Field(description="null: not a periodic report.")
    start: date | None
    end: date | None
    columns: list[str]
    rows: list[list[Any]]
    periods: list[ReportPeriod] | SkipJsonSchema[None] = absent("Periodic reports: each period.")
    totals: ReportTotals | SkipJsonSchema[None] = absent(
        "Periodic reports: the same measures over the whole range, per dimensions."
    )
    as_of: datetime | SkipJsonSchema[None] = absent("The pipeline report: when it was counted.")


# --- segments and settings ---------------------------------------------------------------


class Segment(Answer):
    """A saved filter over contacts."""

    segment_id: str
    name: str
    criteria: dict[str, Any] = Field(description="The filter, as in a segment trigger.")
    created_at: datetime
    created_by: str | None = Field(description="Who saved it (a user id, or key:<id>).")


class Segments(Answer):
    """Every saved segment, by name."""

    segments: list[Segment]


class PreviewContact(Answer):
    """A contact a filter matches, as a preview shows it."""

    contact_id: str
    name: str = Field(description="Full name, or the email when the contact has no name.")


class SegmentPreview(Answer):
    """How many contacts a filter matches now, from the store's indexes."""

    count: int = Field(description="Contacts that match now (estimated when not exact).")
    exact: bool = Field(
        description="False when only some candidates were read, or the filter tests trigger "
        "data a preview does not have."
    )
    sample: list[PreviewContact] = Field(description="The first few contacts that match.")


class WorkspaceSettings(Answer):
    default_region: str | None = Field(
        description="ISO 3166 two-letter code of phone numbers written without a country "
        "code; null when unset."
    )
    updated_at: datetime | None
    updated_by: str | None = Field(description="A user id, key:<id> or cli.")
