"""The CRM's DynamoDB tables (PynamoDB models) and the access patterns each key serves.

| access pattern                         | served by                                            |
|----------------------------------------|------------------------------------------------------|
| contact by id                          | Contact (hash contact_id)                            |
| contact by email (unique)              | EmailClaim (hash email) → contact_id, written in the |
|                                        | same transaction as the contact: uniqueness enforced |
| every contact, newest first            | Contact GSI by_created (contact_shard, created_at),  |
|                                        | keys only: 8 Queries merged by created_at            |
| contacts by the start of a name, email | ContactSearchKey (hash "<kind>#<first 2 letters>",   |
| or company (as people type)            | range "<folded text>#<contact_id>"), begins_with;    |
|                                        | written with the contact, in its transaction         |
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
| published flows a trigger starts       | TriggerIndex (hash "record#contact", "event#purchase",|
|                                        | "date_relative"…, range flow_id), kept by publish    |
| contacts/deals whose date field is D   | DueDate (hash "<field>#<YYYY-MM-DD>" and             |
|                                        | "<field>#--<MM-DD>" for yearly, range record id)     |
| has this delivery been seen?           | Delivery (hash key), TTL: idempotent hooks and events|
|                                        | and stream records' report counts ("rollup#<event>") |
| per-node counts of a flow              | NodeStats (hash flow_id, range "<version>#<node>"),  |
|                                        | atomic ADD when a contact leaves                     |
| every flow (the API's flow list)       | FlowRecord GSI by_status (status, flow_id): one Query|
|                                        | per status (draft, published, unpublished)           |
| the API key a request carries          | ApiKey (hash SHA-256 of the key's secret)            |
| an API key by its id (to revoke it)    | ApiKey GSI by_key_id (key_id, keys only)             |
| a saved segment (a named filter) by id | Segment (hash segment_id)                            |
| report counters over a day range       | Rollup (hash "<metric>#<shard>", range               |
|                                        | "<YYYY-MM-DD>#<dims>"): 8 Queries (one per shard)    |
|                                        | with the range BETWEEN the first and last day; ADD   |
| was this report fact counted already?  | RollupMark (hash contact or deal id, range "lead",   |
|                                        | "won", "opened#<enrollment>#<node>"…): conditional put|
| the workspace's settings               | WorkspaceSettings (hash name, one item "workspace")  |

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
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from functions.store.tables import region, table_name

LAST_CONTACT_SHARDS = 8


def _meta(suffix: str, *, stream: bool = False, ttl: str | None = None) -> type:
    # Region and table name are read when the model class is defined (import time).
    # `suffix` names the table in a deployment's template (infra/aws); `ttl` is the
    # attribute DynamoDB's time to live deletes items by (epoch seconds).
    attributes = {"table_name": table_name(suffix), "region": region(), "suffix": suffix}
    if stream:  # record-change triggers read old and new images from the table's stream
        attributes["stream_view_type"] = STREAM_NEW_AND_OLD_IMAGE
    if ttl:
        attributes["ttl_attribute"] = ttl
    return type("Meta", (), attributes)


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


class ContactsByCreated(GlobalSecondaryIndex):
    # Every contact, newest first: 8 partitions (contact_shard) so that creating contacts
    # fast never heats one key; a page merges the 8. Keys only: a contact's updates do
    # not touch its keys, so they write nothing here.
    class Meta:
        index_name = "by_created"
        projection = KeysOnlyProjection()

    contact_shard = NumberAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Contact(Model):
    """A person: the center of the CRM."""

    Meta = _meta("contacts", stream=True)
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
    # The enrollment whose step made the latest change (None for people and systems): a
    # flow's own writes do not end it by its goals, its goal nodes do (triggers/goals.py).
    changed_by = UnicodeAttribute(null=True)
    version = VersionAttribute()

    by_owner = ContactsByOwner()
    by_stage = ContactsByStage()
    by_last_touch = ContactsByLastTouch()
    by_created = ContactsByCreated()


class ContactSearchKey(Model):
    """A contact by the start of one of its words, for search as people type: one row per
    word of the name onwards ("sara mohammadi", "mohammadi"), one for the email, one per
    word of the company name onwards, folded (functions/store/contacts.py: fold). A query
    reads one partition: the kind and the first two letters typed."""

    Meta = _meta("contact-search")
    bucket = UnicodeAttribute(hash_key=True)  # "name#sa", "email#sa", "company#ac"
    token = UnicodeAttribute(range_key=True)  # "sara mohammadi#c_01…"


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
    Meta = _meta("companies", stream=True)
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


UNKNOWN_CLOSE_DATE = "9999-12-31"  # a deal's close date when none is known: sorts last


class Deal(Model):
    Meta = _meta("deals", stream=True)
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

    Meta = _meta("side-effects", ttl="expires")
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


class FlowsByStatus(GlobalSecondaryIndex):
    # Listing flows without a Scan: status is always set (publish writes it with every
    # version), has three values, and flows are few and rarely written, so the three
    # partitions stay cool.
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    flow_id = UnicodeAttribute(range_key=True)


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
    # The published trigger's params: a hook request reads them with the record, not the
    # whole version document. None on records published before they were kept here.
    trigger_params = JSONAttribute(null=True)
    trigger_key = UnicodeAttribute(null=True)  # its row in TriggerIndex while published
    allow_reenrollment = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute()

    by_status = FlowsByStatus()


class FlowAudit(Model):
    """What people did to a running flow (published, rolled back, unpublished), in time
    order: the flow's activity list."""

    Meta = _meta("flow-audit")
    flow_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # "<ISO time>#<random>": sorts by time
    action = UnicodeAttribute()  # published, rolled_back, unpublished
    actor = UnicodeAttribute(null=True)  # a user id, "key:<id>" or "cli"
    version = NumberAttribute(null=True)
    detail = JSONAttribute(null=True)
    at = UTCDateTimeAttribute()


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
    path = JSONAttribute(
        null=True
    )  # nodes passed, set when it leaves: [{node, entered_at, left_at}]
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

    Meta = _meta("event-waits", ttl="expires")
    contact_id = UnicodeAttribute(hash_key=True)
    wait_key = UnicodeAttribute(range_key=True)  # "<event key>#<enrollment id>#<state>"
    task_token = UnicodeAttribute()
    flow_id = UnicodeAttribute()
    enrollment_id = UnicodeAttribute()
    node = UnicodeAttribute()
    email_node = UnicodeAttribute(null=True)  # only events of the email this node sent
    created_at = UTCDateTimeAttribute()
    expires = NumberAttribute()  # TTL: the wait's timeout, plus a day


class TriggerIndex(Model):
    """Published flows by what starts them, so a record change, an event or the scheduler
    finds its flows with one Query."""

    Meta = _meta("trigger-index")
    trigger_key = UnicodeAttribute(hash_key=True)  # "record#contact", "event#purchase"…
    flow_id = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    kind = UnicodeAttribute()  # the trigger node kind
    params = JSONAttribute(default=dict)  # the trigger node's params
    last_run_at = UTCDateTimeAttribute(null=True)  # schedule triggers: the last run done


class DueDate(Model):
    """Records by the value of a date field: what date_relative triggers query each day."""

    Meta = _meta("due-dates")
    due_key = UnicodeAttribute(hash_key=True)  # "renewal_date#2027-03-01", "birthday#--03-01"
    record_id = UnicodeAttribute(range_key=True)  # contact or deal id
    contact_id = UnicodeAttribute(null=True)  # a deal's contact


class Delivery(Model):
    """A delivery already handled (Idempotency-Key of a hook, a hook's signature, id of an
    event) and the answer it got, so a re-delivery gets the same answer and changes nothing.
    A hook claims its key before the work (`pending` set) and stores the answer after."""

    Meta = _meta("deliveries", ttl="expires")
    key = UnicodeAttribute(hash_key=True)
    answer = JSONAttribute(default=dict)
    status = NumberAttribute(default=202)
    at = UTCDateTimeAttribute()  # answered, or claimed while `pending`
    expires = NumberAttribute()  # TTL: a week for keys, the signature window for signatures
    request_hash = UnicodeAttribute(null=True)  # of flow and canonical body: reuse is refused
    pending = UnicodeAttribute(null=True)  # the claiming attempt's token until it answers


class ApiKeysById(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_key_id"
        projection = KeysOnlyProjection()

    key_id = UnicodeAttribute(hash_key=True)


class ApiKey(Model):
    """An HTTP API key: who holds it and what its role lets it do. The key's secret is
    never stored, only its SHA-256 (see functions/auth.py)."""

    Meta = _meta("api-keys")
    key_hash = UnicodeAttribute(hash_key=True)  # sha256 hex of the secret part of the key
    key_id = UnicodeAttribute()  # the visible part: "crm_<key_id>_<secret>"
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # admin, marketer, sales_rep, read_only, integration
    user_id = UnicodeAttribute(null=True)  # user keys: whose records "own" means
    flows = UnicodeSetAttribute(null=True)  # integration keys: flows whose hooks it calls; "*"
    events = BooleanAttribute(default=False)  # integration keys: may post events
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)  # the key id (or "cli") that issued it
    revoked_at = UTCDateTimeAttribute(null=True)

    by_key_id = ApiKeysById()


class NodeStats(Model):
    """How many contacts that left a flow passed each node, and where they left it."""

    Meta = _meta("node-stats")
    flow_id = UnicodeAttribute(hash_key=True)
    node_key = UnicodeAttribute(range_key=True)  # "000003#welcome": version, node
    entered = NumberAttribute(default=0)
    goal = NumberAttribute(default=0)  # left here by meeting a goal
    failed = NumberAttribute(default=0)  # a step failed here
    unenrolled = NumberAttribute(default=0)  # removed while here
    finished = NumberAttribute(default=0)  # the flow ended here


class Segment(Model):
    """A saved filter over contacts: segment triggers name it (`segment_id`) and
    broadcasts enroll who it matches. Kept as saved; a changed filter is a new segment."""

    Meta = _meta("segments")
    segment_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    criteria = JSONAttribute()  # a flows.conditions.Criteria, as JSON
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)  # who saved it (user, or key:<id>)


class Rollup(Model):
    """A report counter: how many (and how much) of one metric on one day, per dimensions
    (source, owner, flow and node…), kept with atomic ADD (functions/reports/rollups.py).
    Writes spread over 8 keys per metric (rollups.SHARDS), so a burst on one day and flow
    never lands on one item."""

    Meta = _meta("rollups")
    key = UnicodeAttribute(hash_key=True)  # "<metric>#<shard>", e.g. "email.sent#3"
    slot = UnicodeAttribute(range_key=True)  # "<YYYY-MM-DD>#<dim>#<dim>"; "" as day: undated
    n = NumberAttribute(default=0)
    amount = NumberAttribute(null=True)  # deals: the sum of their amounts (currency is a dim)


class RollupMark(Model):
    """A fact a report counts once, and the day and dimensions it was counted under: a
    contact's first day as a lead or customer, a deal's win or loss, a contact's first
    open or click of one email. Its conditional put is what makes the count once."""

    Meta = _meta("rollup-marks")
    record_id = UnicodeAttribute(hash_key=True)  # contact or deal id
    mark = UnicodeAttribute(range_key=True)  # "lead", "customer", "won", "opened#<enr>#<node>"
    metric = UnicodeAttribute()  # the Rollup metric it adds to
    day = UnicodeAttribute()  # YYYY-MM-DD
    dims = ListAttribute(of=UnicodeAttribute, default=list)
    amount = NumberAttribute(null=True)


class WorkspaceSettings(Model):
    """Settings of the whole workspace, one item (functions/store/settings.py): what a
    person sets once rather than on every call, such as the country of phone numbers
    written without a country code."""

    Meta = _meta("settings")
    name = UnicodeAttribute(hash_key=True)  # always "workspace": one workspace per stage
    default_region = UnicodeAttribute(null=True)  # ISO 3166 two-letter code, e.g. IR
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)  # a user id, "key:<id>" or "cli"
    version = VersionAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    Contact,
    ContactSearchKey,
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
    FlowAudit,
    Enrollment,
    Membership,
    EventWait,
    TriggerIndex,
    DueDate,
    Delivery,
    NodeStats,
    ApiKey,
    Segment,
    Rollup,
    RollupMark,
    WorkspaceSettings,
)
