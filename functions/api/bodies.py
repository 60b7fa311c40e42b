"""The request bodies and query strings of the HTTP API, as pydantic models: they parse
and check each request, and the OpenAPI document's schemas are generated from them.

Routes name their models (`body="NewContact"`) rather than import them: building pydantic
models costs ~50 ms, which every Lambda of the app would otherwise pay at cold start.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator

FILTERS = ("email", "owner", "stage", "tag", "product", "not_contacted_days")
FLOW_DOCUMENT = "A flow document: see docs/flow-format.md and flows/schema/flow.schema.json."


# Limits that keep a request inside DynamoDB's: a key (or index key) value cannot be
# empty and holds at most 2 KB, an item at most 400 KB.
Text = Annotated[str, StringConstraints(max_length=1000)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Tags = Annotated[list[Key], Field(max_length=100)]
Custom = Annotated[dict[Key, Any], Field(max_length=100)]


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
    """Exactly one filter, then paging."""

    email: Key | None = None
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
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(FILTERS)}"
                + (f"; got {', '.join(given)}" if given else "")
            )
        return self


class Page(Body):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, description="`next` of the previous page.")


class Limit(Body):
    limit: int = Field(50, ge=1, le=200)


# --- flows -------------------------------------------------------------------------------


class FlowDocument(RootModel[dict[str, Any]]):
    """A flow document, as the editor saves it (flows/schema/flow.schema.json)."""


class SaveFlow(Body):
    """A flow document and a note on what changed."""

    flow: dict[str, Any] = Field(description=FLOW_DOCUMENT)
    note: str = Field("", max_length=1000, description="What changed, for the version list.")


class FlowList(Body):
    status: Literal["draft", "published", "unpublished"] | None = None


class Unpublish(Body):
    stop_running: bool = Field(
        False, description="Also stop contacts in the flow now (recorded as unenrolled)."
    )


# --- imports -----------------------------------------------------------------------------


class ImportOptions(Body):
    map: list[str] = Field(
        default_factory=list,
        description="COLUMN=FIELD (email, first_name, phone, tags, custom.NAME, ignore, …); "
        "repeat for more columns. Other columns are mapped from their header names.",
    )
    region: str | None = Field(
        None, description="Country of phone numbers written without +code (e.g. DE, IR)."
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


def model(name: str) -> type[BaseModel]:
    """The model a route names."""
    found = globals().get(name)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise LookupError(f"functions.api.bodies has no model {name!r}")
    return found
