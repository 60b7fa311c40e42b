"""The CRM's DynamoDB tables (PynamoDB models) and the access patterns each key serves.

| access pattern                         | served by                                            |
|----------------------------------------|------------------------------------------------------|
| contact by id                          | Contact (hash contact_id)                            |
| contact by email (unique)              | EmailClaim (hash email) → contact_id, written in the |
|                                        | same transaction as the contact: uniqueness enforced |
| contacts by owner, newest first        | Contact GSI by_owner (owner_id, created_at)          |
| contacts by lifecycle stage            | Contact GSI by_stage (lifecycle_stage, created_at)   |
| contacts by tag / bought product X     | ContactIndex (hash "tag#vip" / "product#X", range    |
|                                        | contact_id), kept in step with the contact           |
| not contacted in N days                | Contact GSI by_last_touch (shard, last_touch_at):    |
|                                        | last contact, or creation if never; 8 shards queried |
|                                        | with `<` now − N days                                |
| contact's timeline, newest first, paged| Activity (hash contact_id, range at#id), reverse query|
| deals by pipeline stage                | Deal GSI by_stage (pipeline_stage, close_date)       |
| deals of a contact                     | Deal GSI by_contact (contact_id, created_at)         |
| a user's open tasks by due date        | Task GSI open_by_assignee (assignee_open, due_at):   |
|                                        | assignee_open is set only while the task is open     |
| companies, users, teams by id          | their own tables                                     |
| is this address suppressed?            | Suppression (hash email)                             |
| step side effect already done?         | SideEffect (hash key = execution + state)            |
| round-robin position of a team         | Counter (hash name), atomic ADD                      |
| a flow, its published version          | FlowRecord (hash flow_id)                            |
| a flow's versions, newest first        | FlowVersion (hash flow_id, range version)            |
| one enrollment (status, why it left)   | Enrollment (hash enrollment_id)                      |
| a contact's enrollments, newest first  | Enrollment GSI by_contact (contact_id, entered_at)   |
| is the contact in flow F / was it ever | Membership (hash flow_id, range contact_id),         |
|                                        | written in one transaction with the enrollment       |
| contacts in flow F right now           | Membership GSI active (active_flow, contact_id):     |
|                                        | active_flow is set only while the contact is in F    |
| who waits for event E                  | EventWait (hash contact_id, range "E#enrollment#state")|

No request path scans: every read above is a GetItem or a Query.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from functions.store.tables import region, table_name

LAST_CONTACT_SHARDS = 8


def _meta(suffix: str) -> type:
    # Region and table name are read when the model class is defined (import time).
    return type("Meta", (), {"table_name": table_name(suffix), "region": region()})


class ContactsByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ContactsByStage(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_stage"
        projection = AllProjection()

    lifecycle_stage = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ContactsByLastTouch(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_last_touch"
        projection = KeysOnlyProjection()

    contact_shard = NumberAttribute(hash_key=True)
    last_touch_at = UTCDateTimeAttribute(range_key=True)


class Contact(Model):
    """A person: the center of the CRM."""

    Meta = _meta("contacts")
    contact_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()  # normalised: trimmed, lowercase
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # E.164
    company_id = UnicodeAttribute(null=True)
    company_name = UnicodeAttribute(null=True)
    job_title = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    lifecycle_stage = UnicodeAttribute(default="subscriber")
    lead_status = UnicodeAttribute(null=True)
    score = NumberAttribute(default=0)
    temperature = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(default=set)
    products = UnicodeSetAttribute(default=set)
    source = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    email_consent = BooleanAttribute(default=False)
    subscription_status = UnicodeAttribute(default="subscribed")
    sms_opt_out = BooleanAttribute(default=False)
    custom = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_contacted_at = UTCDateTimeAttribute(null=True)
    last_touch_at = UTCDateTimeAttribute()  # last_contacted_at, or created_at if never
    contact_shard = NumberAttribute()  # spreads by_last_touch over LAST_CONTACT_SHARDS keys
    version = VersionAttribute()

    by_owner = ContactsByOwner()
    by_stage = ContactsByStage()
    by_last_touch = ContactsByLastTouch()


class EmailClaim(Model):
    """One row per email address: the unique constraint behind contact emails."""

    Meta = _meta("email-claims")
    email = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute()


class ContactIndex(Model):
    """Contacts by tag or by product bought: key "tag#vip" or "product#pro-plan"."""

    Meta = _meta("contact-index")
    key = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


class Activity(Model):
    """One event on a contact's timeline."""

    Meta = _meta("activities")
    contact_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)  # "<ISO time>#<id>": time order
    kind = UnicodeAttribute()  # email_sent, email_opened, note, stage_changed, flow_entered…
    at = UTCDateTimeAttribute()
    data = JSONAttribute(default=dict)


class Company(Model):
    Meta = _meta("companies")
    company_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    domain = UnicodeAttribute(null=True)
    industry = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    country = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    custom = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class DealsByStage(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_stage"
        projection = AllProjection()

    pipeline_stage = UnicodeAttribute(hash_key=True)  # "<pipeline>#<stage>"
    close_date = UnicodeAttribute(range_key=True)  # ISO date; "9999-12-31" when unknown


class DealsByContact(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contact"
        projection = AllProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Deal(Model):
    Meta = _meta("deals")
    deal_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    pipeline = UnicodeAttribute()
    stage = UnicodeAttribute()
    pipeline_stage = UnicodeAttribute()
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(default="USD")
    owner_id = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    company_id = UnicodeAttribute(null=True)
    close_date = UnicodeAttribute(default="9999-12-31")
    custom = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_stage = DealsByStage()
    by_contact = DealsByContact()


class OpenTasksByAssignee(GlobalSecondaryIndex):
    class Meta:
        index_name = "open_by_assignee"
        projection = AllProjection()

    assignee_open = UnicodeAttribute(hash_key=True)  # the assignee while open, else absent
    due_at = UTCDateTimeAttribute(range_key=True)


class Task(Model):
    Meta = _meta("tasks")
    task_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    task_type = UnicodeAttribute(default="todo")
    priority = UnicodeAttribute(default="normal")
    assignee_id = UnicodeAttribute(null=True)
    assignee_open = UnicodeAttribute(null=True)  # sparse index key
    status = UnicodeAttribute(default="open")
    due_at = UTCDateTimeAttribute()
    contact_id = UnicodeAttribute(null=True)
    deal_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()

    open_by_assignee = OpenTasksByAssignee()


class User(Model):
    Meta = _meta("users")
    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute(default="sales_rep")  # admin, marketer, sales_rep, read_only
    teams = UnicodeSetAttribute(default=set)
    active = BooleanAttribute(default=True)


class Team(Model):
    Meta = _meta("teams")
    team_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    members = ListAttribute(of=UnicodeAttribute, default=list)  # user ids, in turn order


class Suppression(Model):
    """Addresses that must not be emailed: unsubscribed, bounced, complained."""

    Meta = _meta("suppressions")
    email = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class SideEffect(Model):
    """Proof that a step's side effect happened once for an execution and state."""

    Meta = _meta("side-effects")
    key = UnicodeAttribute(hash_key=True)  # "<execution arn>#<state name>"
    status = UnicodeAttribute(default="pending")  # pending while the effect runs, then done
    result = JSONAttribute(default=dict)
    at = UTCDateTimeAttribute()
    expires = NumberAttribute(null=True)  # TTL: epoch seconds


class Counter(Model):
    """Atomic counters (round-robin turns)."""

    Meta = _meta("counters")
    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


class FlowRecord(Model):
    """A flow and what is live: the published version's state machine, if any."""

    Meta = _meta("flows")
    flow_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="draft")  # draft, published, unpublished
    latest_version = NumberAttribute(default=0)
    published_version = NumberAttribute(null=True)
    state_machine_arn = UnicodeAttribute(null=True)  # of the published version
    trigger_kind = UnicodeAttribute(null=True)
    allow_reenrollment = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute()


class FlowVersion(Model):
    """One saved version of a flow; published ones keep their own state machine, so
    contacts that entered on it finish on it."""

    Meta = _meta("flow-versions")
    flow_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    document = JSONAttribute()
    state_machine_arn = UnicodeAttribute(null=True)
    note = UnicodeAttribute(default="")
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class EnrollmentsByContact(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contact"
        projection = AllProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    entered_at = UTCDateTimeAttribute(range_key=True)


class Enrollment(Model):
    """One contact's passage through one flow: one execution."""

    Meta = _meta("enrollments")
    enrollment_id = UnicodeAttribute(hash_key=True)  # also the execution's name
    flow_id = UnicodeAttribute()
    flow_version = NumberAttribute()
    contact_id = UnicodeAttribute()
    execution_arn = UnicodeAttribute(null=True)
    # starting, active, then why it left: completed, ended, goal, unenrolled, failed
    status = UnicodeAttribute(default="starting")
    entered_at = UTCDateTimeAttribute()
    left_at = UTCDateTimeAttribute(null=True)
    left_node = UnicodeAttribute(null=True)
    error = JSONAttribute(null=True)
    source = JSONAttribute(default=dict)  # what enrolled it: trigger kind, flow and node…

    by_contact = EnrollmentsByContact()


class ActiveMembers(GlobalSecondaryIndex):
    class Meta:
        index_name = "active"
        projection = KeysOnlyProjection()

    active_flow = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


class Membership(Model):
    """A contact's place in a flow: the latest enrollment, and whether it is still in."""

    Meta = _meta("memberships")
    flow_id = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)
    enrollment_id = UnicodeAttribute()
    active_flow = UnicodeAttribute(null=True)  # = flow_id while in the flow (sparse index)
    execution_arn = UnicodeAttribute(null=True)

    active = ActiveMembers()


class EventWait(Model):
    """A contact waiting in a wait_for_event step: the task token that resumes it."""

    Meta = _meta("event-waits")
    contact_id = UnicodeAttribute(hash_key=True)
    wait_key = UnicodeAttribute(range_key=True)  # "<event key>#<enrollment id>#<state>"
    task_token = UnicodeAttribute()
    flow_id = UnicodeAttribute()
    enrollment_id = UnicodeAttribute()
    node = UnicodeAttribute()
    email_node = UnicodeAttribute(null=True)  # only events of the email this node sent
    created_at = UTCDateTimeAttribute()
    expires = NumberAttribute()  # TTL: the wait's timeout, plus a day


ALL_MODELS: tuple[type[Model], ...] = (
    Contact,
    EmailClaim,
    ContactIndex,
    Activity,
    Company,
    Deal,
    Task,
    User,
    Team,
    Suppression,
    SideEffect,
    Counter,
    FlowRecord,
    FlowVersion,
    Enrollment,
    Membership,
    EventWait,
)
