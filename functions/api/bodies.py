"""The request bodies and query strings of the HTTP API, as pydantic models: they parse
and check each request, and the OpenAPI document's schemas are generated from them.

Routes name their models (`body="NewContact"`) rather than import them: building pydantic
models costs ~50 ms, which every Lambda of the app would otherwise pay at cold start.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    model_validator,
)

from flows.conditions import Criteria

FILTERS = (
    "name",
    "email",
    "company",
    "owner",
    "stage",
    "tag",
    "product",
    "not_contacted_days",
)
FLOW_DOCUMENT = "A flow document: see docs/flow-format.md and flows/schema/flow.schema.json."


# Limits that keep a request inside DynamoDB's: a key (or index key) value cannot be
# empty and holds at most 2 KB, an item at most 400 KB.
Text = Annotated[str, StringConstraints(max_length=1000)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Tags = Annotated[list[Key], Field(max_length=100)]
Custom = Annotated[dict[Key, Any], Field(max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise ValueError(f"{value!r} is not a currency code: give three letters, e.g. EUR, IRR")
    return code


Currency = Annotated[str, AfterValidator(_currency)]


def _no_hash(value: str) -> str:
    if "#" in value:
        raise ValueError("cannot hold '#': it joins pipeline and stage in the deals' index")
    return value


Pipeline = Annotated[Key, AfterValidator(_no_hash)]


def _segment_id(value: str) -> str:
    from functions.store.segments import SEGMENT_ID

    if not SEGMENT_ID.match(value):
        raise ValueError("use lowercase letters, digits, - and _ (at most 63), e.g. vip-customers")
    return value


SegmentId = Annotated[str, AfterValidator(_segment_id)]


def _region(value: str) -> str:
    from functions.errors import InvalidRecord
    from functions.store.normalize import region_code

    try:
        return region_code(value)
    except InvalidRecord as exc:
        raise ValueError(str(exc)) from None


Region = Annotated[str, AfterValidator(_region)]


class Body(BaseModel):
    """Base of request bodies and query strings: unknown fields are refused, by name."""

    model_config = ConfigDict(extra="forbid")


# --- contacts ----------------------------------------------------------------------------


class _ContactFields(Body):
    first_name: Text | None = None
    last_name: Text | None = None
    country: Text | None = Field(None, description="ISO code (IR, AE…) or name.")
    phone: Text | None = Field(
        None, description="Any written form; stored as E.164 (the country helps)."
    )
    company_id: Key | None = None
    company_name: Text | None = None
    job_title: Text | None = None
    owner_id: Key | None = Field(None, description="The user who owns the contact.")
    lifecycle_stage: Key | None = None
    lead_status: Text | None = None
    score: float | None = None
    temperature: Literal["cold", "warm", "hot"] | None = None
    source: Text | None = None
    city: Text | None = None
    time_zone: Text | None = Field(None, description="IANA name, e.g. Asia/Tehran.")
    locale: Text | None = None
    email_consent: bool | None = None
    subscription_status: Key | None = None
    sms_opt_out: bool | None = None


class NewContact(_ContactFields):
    """A contact to create; only `email` is required."""

    email: Text
    tags: Tags = Field(default_factory=list)
    products: Tags = Field(default_factory=list)
    custom: Custom = Field(default_factory=dict)


class ContactChange(_ContactFields):
    """The fields to change; fields left out stay as they are, null clears a field."""

    email: Text | None = None
    tags: Tags | None = Field(None, description="Replaces every tag.")
    add_tags: Tags = Field(default_factory=list)
    remove_tags: Tags = Field(default_factory=list)
    products: Tags | None = Field(None, description="Replaces every product.")
    custom: Custom | None = Field(
        None, description="Merged into the custom fields; a null value removes that key."
    )


class ContactSearch(Body):
    """At most one filter (none: every contact, newest first), then paging."""

    name: Key | None = Field(
        None, description="The start of any word of the name on, e.g. 'sar', 'sara moh'."
    )
    email: Key | None = Field(None, description="The start of the address, e.g. 'sara@ex'.")
    company: Key | None = Field(None, description="The start of any word of the company on.")
    owner: Key | None = Field(None, description="Owner's user id (sales_rep keys: their own).")
    stage: Key | None = Field(None, description="Lifecycle stage, newest contacts first.")
    tag: Key | None = None
    product: Key | None = Field(None, description="Contacts who bought this product.")
    not_contacted_days: int | None = Field(
        None, ge=0, le=36500, description="Not contacted for N days."
    )
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, description="`next` of the previous page.")

    @model_validator(mode="after")
    def _one_filter(self) -> ContactSearch:
        given = [f for f in FILTERS if getattr(self, f) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of {', '.join(FILTERS)}; got {', '.join(given)}")
        return self


class NewEnrollment(Body):
    """The contact to start in the flow."""

    contact_id: Key


class Page(Body):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, description="`next` of the previous page.")


class Limit(Body):
    limit: int = Field(50, ge=1, le=200)


# --- deals -------------------------------------------------------------------------------


class _DealFields(Body):
    amount: float | None = Field(None, ge=0)
    currency: Currency | None = Field(None, description="ISO 4217 code, e.g. EUR, IRR, AED.")
    owner_id: Key | None = Field(
        None, description="The user who owns the deal (sales_rep keys: themselves)."
    )
    contact_id: Key | None = Field(None, description="The deal's contact; it must exist.")
    company_id: Key | None = Field(None, description="The deal's company; it must exist.")
    close_date: date | None = Field(
        None, description="Expected close date; deals in a stage are listed by it."
    )


class NewDeal(_DealFields):
    """A deal to create: name, pipeline and stage are required."""

    name: Name
    pipeline: Pipeline
    stage: Key
    custom: Custom = Field(default_factory=dict)


class DealChange(_DealFields):
    """The fields to change; fields left out stay as they are, null clears a field."""

    name: Name | None = None
    pipeline: Pipeline | None = None
    stage: Key | None = Field(None, description="A stage move: the deal moves in by-stage lists.")
    custom: Custom | None = Field(
        None, description="Merged into the custom fields; a null value removes that key."
    )


class DealSearch(Body):
    """`pipeline` and `stage` together, or `contact_id`; then paging."""

    pipeline: Pipeline | None = None
    stage: Key | None = Field(None, description="With pipeline: soonest close date first.")
    contact_id: Key | None = Field(None, description="The contact's deals, newest first.")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, description="`next` of the previous page.")

    @model_validator(mode="after")
    def _one_filter(self) -> DealSearch:
        by_stage = self.pipeline is not None or self.stage is not None
        if by_stage == (self.contact_id is not None):
            raise ValueError("give pipeline and stage, or contact_id")
        if by_stage and (self.pipeline is None or self.stage is None):
            raise ValueError(f"give {'stage' if self.stage is None else 'pipeline'} too")
        return self


# --- tasks -------------------------------------------------------------------------------


class NewTask(Body):
    """A task to create: a title and when it is due."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    description: str | None = Field(None, max_length=10_000)
    task_type: Literal["todo", "call", "email", "meeting"] = "todo"
    priority: Literal["low", "normal", "high"] = "normal"
    assignee_id: Key | None = Field(
        None, description="Who does it; the key's user when left out (sales_rep keys: always)."
    )
    due_at: AwareDatetime = Field(description="ISO 8601 with a time zone, e.g. 2027-03-01T09:00Z.")
    contact_id: Key | None = Field(None, description="The contact it is about; it must exist.")
    deal_id: Key | None = Field(None, description="The deal it is about; it must exist.")


class TaskList(Body):
    assignee: Key | None = Field(
        None,
        description="The assignee's user id; the key's user when left out (sales_rep "
        "keys: always).",
    )
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, description="`next` of the previous page.")


# --- segments and broadcasts -------------------------------------------------------------


class NewSegment(Body):
    """A filter over contacts, saved under a name; segment triggers name it by id."""

    segment_id: SegmentId | None = Field(
        None,
        description="An id to name it by in flows: lowercase letters, digits, - and _ (e.g. "
        "vip-customers). A new one when left out.",
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    criteria: Criteria = Field(
        description="Conditions as in a segment trigger; each OR group needs one an index "
        "answers (tags contains, products contains, lifecycle_stage, owner_id, "
        "last_contacted_at more than N days ago)."
    )


class SegmentPreview(Body):
    """A filter over contacts to count before saving or publishing it."""

    criteria: Criteria = Field(
        description="Conditions as in a segment trigger; each OR group needs one an index "
        "answers (tags contains, products contains, lifecycle_stage, owner_id, "
        "last_contacted_at more than N days ago)."
    )


class BroadcastChunk(Body):
    """Which broadcast to go on with; send no body to start a new one."""

    run_id: Key | None = Field(
        None, description="`run_id` of the previous answer; a new run when left out."
    )
    after: Key | None = Field(
        None, description="`next_after` of the previous answer: go on after that contact."
    )


# --- flows -------------------------------------------------------------------------------


class FlowDocument(RootModel[dict[str, Any]]):
    """A flow document, as the editor saves it (flows/schema/flow.schema.json)."""


class SaveFlow(Body):
    """A flow document and a note on what changed."""

    flow: dict[str, Any] = Field(description=FLOW_DOCUMENT)
    note: str = Field("", max_length=1000, description="What changed, for the version list.")


class SampleContact(_ContactFields):
    """A contact that exists only in the test run."""

    email: Text | None = Field(None, description="Default: test.contact@example.com.")
    tags: Tags = Field(default_factory=list)
    products: Tags = Field(default_factory=list)
    custom: Custom = Field(default_factory=dict)


class TestRunRequest(Body):
    """Who goes through the flow, with what trigger data, and what they do on the way.

    Name one contact: `contact_id` or `email` of a stored contact, or `contact`'s fields
    for a sample one (the default: a sample contact who agreed to email)."""

    __test__ = False  # not a pytest test class, whatever its name

    flow: dict[str, Any] | None = Field(
        None, description="The document to test (default: the flow's newest saved version)."
    )
    contact_id: Key | None = None
    email: Text | None = None
    contact: SampleContact | None = None
    trigger: dict[str, Any] = Field(
        default_factory=dict, description="The trigger's data, as a hook or event would send it."
    )
    choices: dict[str, str] = Field(
        default_factory=dict,
        description="Output taken at wait-for-event nodes (happened / timed_out; default "
        "timed_out) and A/B splits (default: the contact's own variant), by node id.",
    )

    @model_validator(mode="after")
    def _one_contact(self) -> TestRunRequest:
        named = [n for n in ("contact_id", "email", "contact") if getattr(self, n) is not None]
        if len(named) > 1:
            raise ValueError(f"name one contact, not {' and '.join(named)}")
        return self


def _one_address(value: str) -> str:
    import re

    address, part = value.strip(), r"[^@\s<>,;\"'()]+"
    if len(address) > 254 or not re.fullmatch(rf"{part}@{part}\.{part}", address):
        raise ValueError(f"{value[:80]!r} is not one email address, like you@acme.com")
    return address


class TestEmailRequest(Body):
    """Which email step to send as a test, for which contact, to whom.

    Name one contact: `contact_id` or `email` of a stored contact, or `contact`'s fields
    for a sample one (the default: a sample contact)."""

    __test__ = False

    flow: dict[str, Any] | None = Field(
        None, description="The document holding the step (default: the newest saved version)."
    )
    node_id: Key = Field(description="The send_email step to send.")
    to: Annotated[str, AfterValidator(_one_address)] | None = Field(
        None, description="Where the test goes (default: the key's user's email)."
    )
    contact_id: Key | None = None
    email: Text | None = None
    contact: SampleContact | None = None

    @model_validator(mode="after")
    def _one_contact(self) -> TestEmailRequest:
        named = [n for n in ("contact_id", "email", "contact") if getattr(self, n) is not None]
        if len(named) > 1:
            raise ValueError(f"name one contact, not {' and '.join(named)}")
        return self


class FlowList(Body):
    status: Literal["draft", "published", "unpublished"] | None = None


class Analytics(Body):
    version: int | None = Field(None, ge=1, description="One version's counts only.")


class RollBack(Body):
    """Which earlier published version new contacts enter again."""

    version: int = Field(ge=1, description="A version that was published and is not live now.")


class Unpublish(Body):
    stop_running: bool = Field(
        False, description="Also stop contacts in the flow now (recorded as unenrolled)."
    )


# --- reports -----------------------------------------------------------------------------


def _day(value: Any) -> date:
    # Exactly YYYY-MM-DD: pydantic's date would also take a number of seconds or a time.
    if isinstance(value, date):
        return value
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2027-03-01")


Day = Annotated[date, BeforeValidator(_day)]


class ReportQuery(Body):
    """Which periods, over which days, in which format."""

    period: Literal["week", "month"] = Field(
        "week", description="Group days into ISO weeks (Monday to Sunday) or calendar months."
    )
    start: Day | None = Field(
        None, description="First day (YYYY-MM-DD, UTC); default: 12 periods back from end."
    )
    end: Day | None = Field(None, description="Last day (YYYY-MM-DD, UTC); default: today.")
    format: Literal["json", "csv"] = Field("json", description="csv: text/csv, UTF-8.")
    flow_id: Key | None = Field(None, description="The email report: one flow's emails only.")


# --- imports -----------------------------------------------------------------------------


class ImportOptions(Body):
    map: list[str] = Field(
        default_factory=list,
        description="COLUMN=FIELD (email, first_name, phone, tags, custom.NAME, ignore, …); "
        "repeat for more columns. Other columns are mapped from their header names.",
    )
    region: Region | None = Field(
        None,
        description="Country (ISO 3166 two-letter code, e.g. DE, IR) of phone numbers written "
        "without a country code. Default: the workspace's default_region setting.",
    )


# --- settings ----------------------------------------------------------------------------


class WorkspaceSettingsBody(Body):
    """Every workspace setting; one left out or null is unset."""

    default_region: Region | None = Field(
        None,
        description="Country (ISO 3166 two-letter code, e.g. IR, AE, DE) of phone numbers "
        "written without a country code, for imports and contacts without a country.",
    )


# --- keys --------------------------------------------------------------------------------


class NewKey(Body):
    """Who holds the key and what its role lets it do."""

    name: str = Field(min_length=1, max_length=200, description="Who or what holds the key.")
    role: Literal["admin", "marketer", "sales_rep", "read_only", "integration"]
    user_id: str | None = Field(
        None, description="The user a user key belongs to; required for sales_rep."
    )
    flows: list[str] = Field(
        default_factory=list,
        description="Integration keys: the flows whose hooks it may call; '*' for every flow.",
    )
    events: bool = Field(False, description="Integration keys: may post events.")


# --- events ------------------------------------------------------------------------------


class NewEvent(Body):
    """Something a contact did. Say whose with `contact_id` or `email`."""

    event: Literal["email_opened", "email_clicked", "form_submitted", "purchase", "custom"]
    name: str | None = Field(
        None, max_length=64, description="Custom events: the event's name (e.g. demo.booked)."
    )
    contact_id: Key | None = None
    email: Text | None = Field(
        None, description="A form submission from a new address creates the contact."
    )
    data: Custom = Field(
        default_factory=dict,
        description="The event's details: form_id, product, amount, url… Flows' `match` "
        "compares these.",
    )
    event_id: Key | None = Field(
        None, description="Your id for the event: a re-delivery with it changes nothing."
    )


# --- hooks ---------------------------------------------------------------------------------


class HookPayload(BaseModel):
    """Any JSON object: the flow's webhook trigger says which key holds the contact's email
    (`email` unless it names another, e.g. `form.email`) and which keys fill contact fields.
    The whole object travels with the contact into the flow (at most 8 KB)."""

    model_config = ConfigDict(extra="allow")


def model(name: str) -> type[BaseModel]:
    """The model a route names."""
    found = globals().get(name)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise LookupError(f"functions.api.bodies has no model {name!r}")
    return found
