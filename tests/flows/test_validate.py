"""flows.validate: one test per check, each asserting the exact path, node and message."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from flows.issues import Report
from flows.validate import validate

SCORE = {"groups": [{"conditions": [{"field": "score", "op": "at_least", "value": 50}]}]}
CONSENT = {"groups": [{"conditions": [{"field": "email_consent", "op": "equals", "value": True}]}]}
EMAIL = {"subject": "Hi", "body": "Hello", "from_email": "hi@acme.com"}
TRIGGERS = (
    "webhook, record_created, record_updated, field_changed, stage_changed, owner_assigned, "
    "record_deleted, schedule, date_relative, event, segment"
)
LOOP_HINT = (
    "flows cannot loop — use wait_for_event with a timeout, or enroll_in_flow to start another flow"
)
NOT_CONNECTED = "is not connected; connect it to a step or to an end node"


def test_the_minimal_flow_is_valid(flow):
    report = validate(flow())
    assert (report.errors, report.warnings) == ([], [])
    assert report.ok and report.flow is not None


# --- ids and the trigger ---------------------------------------------------------------


def test_ids_are_unique(flow, node, errors):
    doc = flow(nodes=[node("done", "end"), node("done", "end")])
    assert errors(doc) == [
        "$.nodes[1].id [node done]: id 'done' is already used by $.nodes[0]; ids must be unique"
    ]


def test_a_node_may_not_reuse_the_trigger_id(flow, node, errors):
    doc = flow(nodes=[node("start", "end")])
    assert errors(doc)[0] == (
        "$.nodes[0].id [node start]: id 'start' is already used by $.trigger; ids must be unique"
    )


def test_a_trigger_kind_among_the_nodes_is_a_second_trigger(flow, node, edge, errors):
    doc = flow(
        nodes=[node("done", "end"), node("again", "webhook")],
        edges=[edge("start", "done"), edge("again", "done")],
    )
    assert errors(doc) == [
        "$.nodes[1].kind [node again]: a flow has exactly one trigger: 'again' is a second "
        "one (webhook); delete it or make it the flow's trigger",
        "$.nodes[1] [node again]: 'again' cannot be reached from the trigger; connect it or delete it",
    ]


def test_the_trigger_slot_needs_a_trigger_kind(flow, node, errors):
    doc = flow(trigger=node("start", "send_sms", message="hi"))
    # Only the kind is reported: the misplaced node's outputs would only add noise.
    assert errors(doc) == [
        f"$.trigger.kind [node start]: 'send_sms' is not a trigger; the trigger is one of {TRIGGERS}"
    ]


def test_the_trigger_is_required(flow, errors):
    doc = flow()
    del doc["trigger"]
    assert errors(doc) == ["$.trigger: 'trigger' is required"]


def test_an_unknown_kind_suggests_the_nearest(flow, node, errors):
    assert errors(flow(nodes=[node("done", "ennd")])) == [
        "$.nodes[0].kind [node done]: unknown node kind 'ennd'; did you mean 'end'?"
    ]


def test_an_unknown_trigger_kind_suggests_a_trigger(flow, node, errors):
    assert errors(flow(trigger=node("start", "webhok"))) == [
        "$.trigger.kind [node start]: unknown node kind 'webhok'; did you mean 'webhook'?"
    ]


def test_an_unknown_kind_without_a_near_one_lists_the_kinds(flow, node, errors):
    [message] = errors(flow(trigger=node("start", "zzzzzz")))
    assert (
        message == f"$.trigger.kind [node start]: unknown node kind 'zzzzzz'; use one of {TRIGGERS}"
    )


# --- edges -----------------------------------------------------------------------------


def test_every_node_is_reachable_from_the_trigger(flow, node, errors):
    doc = flow(nodes=[node("done", "end"), node("lost", "end")])
    assert errors(doc) == [
        "$.nodes[1] [node lost]: 'lost' cannot be reached from the trigger; connect it or delete it"
    ]


def test_an_edge_from_an_unknown_node(flow, edge, errors):
    doc = flow(edges=[edge("start", "done"), edge("ghost", "done")])
    assert errors(doc) == ["$.edges[1].from: edge from 'ghost', which is not a node of this flow"]


def test_an_edge_to_an_unknown_node(flow, edge, errors):
    doc = flow(edges=[edge("start", "ghost")])
    assert errors(doc) == [
        "$.edges[0].to [node start]: edge to 'ghost', which is not a node of this flow",
        "$.trigger [node start]: the trigger is not connected to a first step",
        "$.nodes[0] [node done]: 'done' cannot be reached from the trigger; connect it or delete it",
    ]


def test_no_edge_enters_the_trigger(flow, node, edge, errors):
    doc = flow(
        nodes=[node("pause", "wait", duration={"amount": 1})],
        edges=[edge("start", "pause"), edge("pause", "start")],
    )
    # Reported once, not again as a loop through the trigger.
    assert errors(doc) == ["$.edges[1].to [node pause]: no edge may enter the trigger"]


def test_an_output_leads_to_one_node(flow, node, edge, errors):
    doc = flow(
        nodes=[node("done", "end"), node("other", "end")],
        edges=[edge("start", "done"), edge("start", "other")],
    )
    assert errors(doc) == [
        "$.edges[1] [node start]: output 'next' of 'start' is already connected by $.edges[0]; "
        "an output leads to one node",
    ]


def test_an_edge_by_an_output_the_node_does_not_have(flow, edge, errors):
    doc = flow(edges=[edge("start", "done", "yes")])
    assert errors(doc) == [
        "$.edges[0].output [node start]: 'yes' is not an output of webhook node 'start'; use next",
        "$.trigger [node start]: the trigger is not connected to a first step",
    ]


def test_an_edge_out_of_an_end_node(flow, node, edge, errors):
    doc = flow(
        nodes=[node("done", "end"), node("after", "end")],
        edges=[edge("start", "done"), edge("done", "after")],
    )
    assert errors(doc) == [
        "$.edges[1].output [node done]: 'done' is an end node and has no outputs; remove this edge"
    ]


def test_an_edge_from_a_multi_output_node_must_name_its_output(flow, node, edge, errors):
    doc = flow(
        nodes=[node("check", "branch", criteria=SCORE), node("done", "end")],
        edges=[edge("start", "check"), edge("check", "done"), edge("check", "done", "no")],
    )
    assert errors(doc) == [
        "$.edges[1].output [node check]: branch node 'check' has several outputs; say which "
        "one this edge leaves by: yes, no",
        f"$.nodes[0] [node check]: output 'yes' of 'check' {NOT_CONNECTED}",
    ]


# --- required outputs ------------------------------------------------------------------

SPLIT = {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}]}
CASES = {"field": "country", "cases": [{"name": "europe", "values": ["DE", "FR"]}]}
WAIT_EVENT = {"event": "purchase", "timeout": {"amount": 3}}


@pytest.mark.parametrize(
    ("kind", "params", "connected", "missing"),
    [
        ("branch", {"criteria": SCORE}, "yes", "no"),
        ("branch", {"criteria": SCORE}, "no", "yes"),
        ("switch", CASES, "europe", "default"),
        ("switch", CASES, "default", "europe"),
        ("ab_split", SPLIT, "a", "b"),
        ("wait_for_event", WAIT_EVENT, "happened", "timed_out"),
        ("wait_for_event", WAIT_EVENT, "timed_out", "happened"),
    ],
)
def test_every_required_output_is_connected(
    flow, node, edge, errors, kind, params, connected, missing
):
    doc = flow(
        nodes=[node("step", kind, **params), node("done", "end")],
        edges=[edge("start", "step"), edge("step", "done", connected)],
    )
    assert errors(doc) == [f"$.nodes[0] [node step]: output '{missing}' of 'step' {NOT_CONNECTED}"]


def test_an_action_error_output_may_stay_unconnected(flow, node, edge, errors):
    doc = flow(nodes=[node("sms", "send_sms", message="hi")], edges=[edge("start", "sms")])
    assert errors(doc) == []


def test_the_trigger_must_be_connected(flow, node, errors):
    doc = flow(nodes=[], edges=[])
    assert errors(doc) == ["$.trigger [node start]: the trigger is not connected to a first step"]


# --- loops and the one-year limit ------------------------------------------------------


def test_a_loop_is_rejected_and_named(flow, node, edge, errors):
    doc = flow(
        nodes=[
            node("first", "wait", duration={"amount": 1}),
            node("second", "wait", duration={"amount": 1}),
        ],
        edges=[edge("start", "first"), edge("first", "second"), edge("second", "first")],
    )
    assert errors(doc) == [
        f"$.nodes[1] [node second]: this flow loops: first → second → first; {LOOP_HINT}"
    ]


def test_a_node_looping_to_itself(flow, node, edge, errors):
    doc = flow(
        nodes=[node("again", "send_sms", message="hi")],
        edges=[edge("start", "again"), edge("again", "again", "error")],
    )
    assert errors(doc) == [f"$.nodes[0] [node again]: this flow loops: again → again; {LOOP_HINT}"]


def _chain(flow, node, edge, *waits):
    nodes = [node(f"w{i}", kind, **params) for i, (kind, params) in enumerate(waits)]
    ids = ["start", *(n["id"] for n in nodes), "done"]
    edges = [edge(a, b) for a, b in pairwise(ids)]
    if waits and waits[-1][0] == "wait_for_event":
        edges[-1]["output"] = "happened"
        edges.append(edge(ids[-2], "done", "timed_out"))
    return flow(nodes=[*nodes, node("done", "end")], edges=edges)


def test_a_single_wait_over_a_year(flow, node, edge, errors):
    doc = _chain(flow, node, edge, ("wait", {"duration": {"amount": 53, "unit": "weeks"}}))
    assert errors(doc) == [
        "$.nodes[0].params.duration [node w0]: 53 weeks is longer than Step Functions' limit "
        "of one year"
    ]


def test_a_wait_of_exactly_a_year_is_accepted(flow, node, edge, errors):
    assert errors(_chain(flow, node, edge, ("wait", {"duration": {"amount": 365}}))) == []


def test_a_wait_for_event_timeout_over_a_year(flow, node, edge, errors):
    doc = _chain(
        flow, node, edge, ("wait_for_event", {"event": "purchase", "timeout": {"amount": 400}})
    )
    assert errors(doc) == [
        "$.nodes[0].params.timeout [node w0]: timeout 400 days is longer than Step Functions' "
        "limit of one year"
    ]


def test_waits_along_one_path_add_up_to_more_than_a_year(flow, node, edge, errors):
    doc = _chain(
        flow,
        node,
        edge,
        ("wait", {"duration": {"amount": 200}}),
        ("send_sms", {"message": "still there?"}),
        ("wait_for_event", {"event": "purchase", "timeout": {"amount": 24, "unit": "weeks"}}),
    )
    assert errors(doc) == [
        "$.nodes[0] [node w0]: contacts can wait 368 days in this flow in all; Step Functions "
        "runs an execution for at most 365 days — shorten the waits or split the flow"
    ]


def test_waits_adding_up_to_exactly_a_year_are_accepted(flow, node, edge, errors):
    doc = _chain(
        flow,
        node,
        edge,
        ("wait", {"duration": {"amount": 200}}),
        ("wait_for_event", {"event": "purchase", "timeout": {"amount": 165}}),
    )
    assert errors(doc) == []


def test_long_waits_on_different_paths_do_not_add_up(flow, node, edge, errors):
    doc = flow(
        nodes=[
            node("check", "branch", criteria=SCORE),
            node("long_a", "wait", duration={"amount": 300}),
            node("long_b", "wait", duration={"amount": 300}),
            node("done", "end"),
        ],
        edges=[
            edge("start", "check"),
            edge("check", "long_a", "yes"),
            edge("check", "long_b", "no"),
            edge("long_a", "done"),
            edge("long_b", "done"),
        ],
    )
    assert errors(doc) == []


def test_the_sum_check_follows_the_longest_path(flow, node, edge, errors):
    doc = flow(
        nodes=[
            node("check", "branch", criteria=SCORE),
            node("short", "wait", duration={"amount": 10}),
            node("long", "wait", duration={"amount": 300}),
            node("tail", "wait", duration={"amount": 70}),
        ],
        edges=[
            edge("start", "check"),
            edge("check", "short", "yes"),
            edge("check", "long", "no"),
            edge("short", "tail"),
            edge("long", "tail"),
        ],
    )
    assert errors(doc) == [
        "$.nodes[2] [node long]: contacts can wait 370 days in this flow in all; Step Functions "
        "runs an execution for at most 365 days — shorten the waits or split the flow"
    ]


# --- kinds' own rules ------------------------------------------------------------------


def _one_step(flow, node, edge, kind, **params):
    return flow(nodes=[node("step", kind, **params)], edges=[edge("start", "step")])


def _split(flow, node, edge, variants):
    names = list(dict.fromkeys(v["name"] for v in variants))
    return flow(
        nodes=[node("split", "ab_split", variants=variants), node("done", "end")],
        edges=[edge("start", "split"), *(edge("split", "done", n) for n in names)],
    )


def test_ab_split_weights_add_up_to_100(flow, node, edge, errors):
    doc = _split(flow, node, edge, [{"name": "a", "weight": 50}, {"name": "b", "weight": 40}])
    assert errors(doc) == [
        "$.nodes[0].params.variants [node split]: variant weights add up to 90; they must add up to 100"
    ]


def test_ab_split_variant_names_are_unique(flow, node, edge, errors):
    doc = _split(flow, node, edge, [{"name": "a", "weight": 50}, {"name": "a", "weight": 50}])
    assert errors(doc) == [
        "$.nodes[0].params.variants [node split]: variant name 'a' is used twice"
    ]


def _switch(flow, node, edge, cases):
    return flow(
        nodes=[node("route", "switch", field="country", cases=cases), node("done", "end")],
        edges=[edge("start", "route"), edge("route", "done", "default")],
    )


def test_a_switch_case_may_not_be_named_default(flow, node, edge, errors):
    doc = _switch(flow, node, edge, [{"name": "default", "values": ["DE"]}])
    assert errors(doc) == [
        "$.nodes[0].params.cases [node route]: 'default' is taken by the fallback output; "
        "name the case otherwise"
    ]


def test_switch_case_names_are_unique(flow, node, edge, errors):
    cases = [{"name": "eu", "values": ["DE"]}, {"name": "eu", "values": ["FR"]}]
    assert errors(_switch(flow, node, edge, cases)) == [
        "$.nodes[0].params.cases [node route]: case name 'eu' is used twice"
    ]


def test_a_switch_value_belongs_to_one_case(flow, node, edge, errors):
    cases = [{"name": "eu", "values": ["DE", "FR"]}, {"name": "france", "values": ["FR"]}]
    assert errors(_switch(flow, node, edge, cases)) == [
        "$.nodes[0].params.cases [node route]: value 'FR' is in both 'eu' and 'france'; "
        "contacts with it always go to 'eu'"
    ]


# --- emails ----------------------------------------------------------------------------


def _email(flow, node, edge, **changes):
    params = {**EMAIL, "purpose": "transactional", **changes}
    return _one_step(flow, node, edge, "send_email", **params)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("from_email", "not-an-email", "An email address must have an @-sign."),
        (
            "from_email",
            "hi@acme",
            "The part after the @-sign is not valid. It should have a period.",
        ),
        ("from_email", "Acme <hi>", "An email address must have an @-sign."),
        ("reply_to", "x@", "There must be something after the @-sign."),
    ],
)
def test_a_malformed_email_address(flow, node, edge, errors, key, value, problem):
    assert errors(_email(flow, node, edge, **{key: value})) == [
        f"$.nodes[0].params.{key} [node step]: '{value}' is not a valid email address: {problem}"
    ]


@pytest.mark.parametrize(
    "address", ["hi@acme.com", "Acme <hi@acme.com>", "Acme Sales <sales@mail.acme.co.uk>"]
)
def test_well_formed_email_addresses_are_accepted(flow, node, edge, errors, address):
    assert errors(_email(flow, node, edge, from_email=address, reply_to=address)) == []


# --- URLs ------------------------------------------------------------------------------

URL_HINT = (
    "is not a valid URL: use https://host/path (personalisation may fill the path or query, "
    "not the host)"
)


@pytest.mark.parametrize(
    "url",
    [
        "api.example.com/hooks",  # no scheme
        "ftp://api.example.com/hooks",
        "https://{{ trigger.host }}/hooks",  # the host from a template
        "https://api.{{ trigger.region }}.example.com/hooks",  # part of the host
        "https://api.example.com:{{ trigger.port }}/hooks",  # the port
        "https:///hooks",
    ],
)
def test_a_malformed_url(flow, node, edge, errors, url):
    assert errors(_one_step(flow, node, edge, "http_request", url=url)) == [
        f"$.nodes[0].params.url [node step]: '{url}' {URL_HINT}"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com",
        "https://api.example.com/contacts/{{ contact.id }}?plan={{ custom.plan }}",
        "https://api.example.com?email={{ contact.email }}",
        # Private-looking but well formed: the http_request handler refuses it at run time.
        "http://10.0.0.1/admin",
        "http://192.168.1.20:8080/hook",
    ],
)
def test_well_formed_urls_are_accepted(flow, node, edge, errors, url):
    assert errors(_one_step(flow, node, edge, "http_request", url=url)) == []


# --- schedules -------------------------------------------------------------------------


def _schedule(flow, node, expression):
    trigger = node("start", "schedule", expression=expression, criteria=SCORE)
    return flow(trigger=trigger)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "0 9 * * 1",
            "'0 9 * * 1' is not a schedule: use cron(min hour day month weekday year), "
            "e.g. cron(0 9 ? * MON *), or rate(N unit), e.g. rate(1 day)",
        ),
        (
            "cron(0 9 * * 1)",
            "'cron(0 9 * * 1)' is not a valid cron expression: Incorrect number of values in "
            "'0 9 * * 1'. 6 required, 5 provided.",
        ),
        (
            "cron(0 9 * * MON *)",
            "'cron(0 9 * * MON *)' is not a valid cron expression: Invalid combination of "
            "day-of-month '*' and day-of-week 'MON'.One must be a question mark (?)",
        ),
        ("rate(1 days)", "'rate(1 days)': write rate(1 day) or rate(N days) with N > 1"),
        ("rate(2 day)", "'rate(2 day)': write rate(1 day) or rate(N days) with N > 1"),
        ("rate(0 days)", "'rate(0 days)': write rate(1 day) or rate(N days) with N > 1"),
    ],
)
def test_a_malformed_schedule(flow, node, errors, expression, message):
    assert errors(_schedule(flow, node, expression)) == [
        f"$.trigger.params.expression [node start]: {message}"
    ]


@pytest.mark.parametrize(
    "expression", ["cron(0 9 ? * MON *)", "cron(30 8 1 * ? *)", "rate(1 day)", "rate(15 minutes)"]
)
def test_well_formed_schedules_are_accepted(flow, node, errors, expression):
    assert errors(_schedule(flow, node, expression)) == []


# --- field names and time zones --------------------------------------------------------


def _condition(flow, node, edge, condition):
    criteria = {"groups": [{"conditions": [condition]}]}
    return flow(
        nodes=[node("check", "branch", criteria=criteria), node("done", "end")],
        edges=[edge("start", "check"), edge("check", "done", "yes"), edge("check", "done", "no")],
    )


CONDITION = "$.nodes[0].params.criteria.groups[0].conditions[0]"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "Score!",
            "'Score!' is not a field name: use lowercase letters, digits and _ "
            "(e.g. 'score', 'deal.stage', 'custom.plan', 'trigger.budget')",
        ),
        ("scroe", "unknown contact field 'scroe'; did you mean 'score'?"),
        ("deal.stag", "unknown deal field 'stag'; did you mean 'stage'?"),
        (
            "favourite_colour",
            "unknown contact field 'favourite_colour'; for your own fields use "
            "'custom.favourite_colour'",
        ),
        (
            "planet.name",
            "'planet.name' is not a field name: use lowercase letters, digits and _ "
            "(e.g. 'score', 'deal.stage', 'custom.plan', 'trigger.budget')",
        ),
    ],
)
def test_a_bad_field_name(flow, node, edge, errors, field, message):
    condition = {"field": field, "op": "equals", "value": "x"}
    assert errors(_condition(flow, node, edge, condition)) == [
        f"{CONDITION}.field [node check]: {message}"
    ]


@pytest.mark.parametrize("field", ["score", "contact.score", "deal.stage", "custom.x", "trigger.x"])
def test_known_and_free_field_names_are_accepted(flow, node, edge, errors, field):
    condition = {"field": field, "op": "equals", "value": "x"}
    assert errors(_condition(flow, node, edge, condition)) == []


def test_a_date_field_is_required_where_a_date_is_needed(flow, node, errors):
    doc = flow(trigger=node("start", "date_relative", field="score", days=3))
    assert errors(doc) == [
        "$.trigger.params.field [node start]: field 'score' is a number field, expected date "
        "or datetime"
    ]


def test_wait_until_needs_a_date_field(flow, node, edge, errors):
    doc = _one_step(flow, node, edge, "wait_until", field="email")
    assert errors(doc) == [
        "$.nodes[0].params.field [node step]: field 'email' is an email field, expected date "
        "or datetime"
    ]


def test_a_days_condition_needs_a_date_field(flow, node, edge, errors):
    condition = {"field": "score", "op": "within_last_days", "value": 7}
    assert errors(_condition(flow, node, edge, condition)) == [
        f"{CONDITION} [node check]: 'within_last_days' needs a date field; 'score' is a number field"
    ]


TZ_HINT = (
    "is not a time zone: use an IANA name such as 'Asia/Tehran' or 'Europe/Berlin', or "
    "'contact' for each contact's own time zone"
)


def test_an_unknown_time_zone(flow, node, errors):
    trigger = node("start", "date_relative", field="renewal_date", time_zone="Europe/Berln")
    assert errors(flow(trigger=trigger)) == [
        f"$.trigger.params.time_zone [node start]: 'Europe/Berln' {TZ_HINT}"
    ]


def test_an_unknown_time_zone_in_a_send_window(flow, node, edge, errors):
    doc = _one_step(flow, node, edge, "wait_until", window={"time_zone": "Mars/Olympus"})
    assert errors(doc) == [
        f"$.nodes[0].params.window.time_zone [node step]: 'Mars/Olympus' {TZ_HINT}"
    ]


@pytest.mark.parametrize("zone", ["Asia/Tehran", "UTC", "America/New_York", "contact"])
def test_known_time_zones_are_accepted(flow, node, errors, zone):
    trigger = node("start", "date_relative", field="renewal_date", time_zone=zone)
    assert errors(flow(trigger=trigger)) == []


# --- templates and secrets -------------------------------------------------------------


def test_a_template_syntax_error_is_reported_at_the_param(flow, node, edge, errors):
    doc = flow(
        nodes=[
            node("done", "end"),
            node("mail", "send_email", **{**EMAIL, "subject": "Hi {{ contact.first_name "}),
        ],
        edges=[edge("start", "mail"), edge("mail", "done")],
    )
    assert errors(doc) == [
        "$.nodes[1].params.subject [node mail]: template error on line 1: "
        "'{{ contact.first_name' — this placeholder is not closed; end it with }}: "
        "{{ contact.first_name }}"
    ]


def test_an_unknown_filter_or_test_is_reported_with_the_closest_name(flow, node, edge, errors):
    body = "{% if contact.score is evn %}x{% endif %}"
    doc = flow(
        nodes=[
            node("done", "end"),
            node("mail", "send_email", **{**EMAIL, "subject": "Hi {{ contact.first_name | titel }}", "body": body}),
        ],
        edges=[edge("start", "mail"), edge("mail", "done")],
    )
    assert errors(doc) == [
        "$.nodes[1].params.subject [node mail]: unknown filter 'titel'; did you mean 'title'?",
        "$.nodes[1].params.body [node mail]: unknown test 'evn'; did you mean 'even'?",
    ]


def test_a_credential_pasted_into_a_header(flow, node, edge, errors):
    doc = _one_step(
        flow, node, edge, "http_request",
        url="https://api.example.com/leads", headers={"Authorization": "Bearer sk_live_123"},
    )  # fmt: skip
    assert errors(doc) == [
        "$.nodes[0].params.headers.Authorization [node step]: header 'Authorization' looks like "
        "a credential: store it as a secret and write {{ secrets.NAME }} (or use auth_secret) "
        "instead of pasting it"
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer {{ secrets.FLOW_CRM_TOKEN }}"},
        {"X-Api-Key": "{{secrets.FLOW_PARTNER_KEY}}"},
        {"Content-Type": "application/json", "X-Contact": "{{ contact.id }}"},
    ],
)
def test_secrets_by_name_are_accepted_in_http_request(flow, node, edge, errors, headers):
    doc = _one_step(
        flow, node, edge, "http_request",
        url="https://api.example.com/leads", headers=headers,
        body='{"token": "{{ secrets.CRM_TOKEN }}"}',
    )  # fmt: skip
    assert errors(doc) == []


def test_secrets_are_rejected_in_an_email(flow, node, edge, errors):
    doc = _email(flow, node, edge, body="Your key: {{ secrets.CRM_TOKEN }}")
    assert errors(doc) == [
        "$.nodes[0].params.body [node step]: secrets can only be used in http_request steps"
    ]


# --- all errors at once ----------------------------------------------------------------


def test_every_error_is_reported_at_once(flow, node, edge):
    doc = flow(
        nodes=[
            node("call", "http_request", url="https://api.example.com", headers={"Token": "abc"}),
            node(
                "mail",
                "send_email",
                **{**EMAIL, "from_email": "nobody", "purpose": "transactional"},
            ),
            node("sms", "send_sms", message="{{ secrets.KEY }}"),
            node("pause", "wait", duration={"amount": 2, "unit": "fortnights"}),
            node("lost", "end"),
        ],
        edges=[
            edge("start", "call"),
            edge("call", "mail"),
            edge("mail", "sms"),
            edge("sms", "pause"),
            edge("pause", "ghost"),
        ],
    )
    report = validate(doc)
    assert [(e.path, e.node_id) for e in report.errors] == [
        ("$.nodes[1].params.from_email", "mail"),
        ("$.nodes[3].params.duration.unit", "pause"),
        ("$.edges[4].to", "pause"),
        ("$.nodes[4]", "lost"),
        ("$.nodes[0].params.headers.Token", "call"),
        ("$.nodes[2].params.message", "sms"),
    ]
    assert report.errors[1].message == (
        "'fortnights' is not allowed: input should be 'minutes', 'hours', 'days' or 'weeks'"
    )


# --- warnings --------------------------------------------------------------------------


def test_an_unknown_template_field_is_a_warning_with_a_suggestion(flow, node, edge):
    doc = _email(flow, node, edge, subject="Hi {{ contact.firts_name }}")
    report = validate(doc)
    assert report.errors == []
    assert [str(w) for w in report.warnings] == [
        "$.nodes[0].params.subject [node step]: {{ contact.firts_name }} is not a contact "
        "field and will be empty; did you mean contact.first_name?"
    ]
    assert report.warnings[0].severity == "warning"


def test_an_unknown_template_variable_is_a_warning(flow, node, edge, warnings):
    doc = _email(flow, node, edge, body="Hello {{ contac.first_name }}")
    assert warnings(doc) == [
        "$.nodes[0].params.body [node step]: 'contac' is not a template variable; use contact, "
        "deal, company, owner, trigger or flow (e.g. {{ contact.first_name }})"
    ]


def test_template_warnings_come_with_errors_elsewhere(flow, node, edge):
    doc = flow(
        nodes=[
            node("mail", "send_email", **{**EMAIL, "subject": "Hi {{ contact.firts_name }}"}),
            node("lost", "end"),
        ],
        edges=[edge("start", "mail")],
    )
    report = validate(doc)
    assert [str(e) for e in report.errors] == [
        "$.nodes[1] [node lost]: 'lost' cannot be reached from the trigger; connect it or delete it"
    ]
    # The consent check waits for a sound graph; the template finding does not.
    assert [str(w) for w in report.warnings] == [
        "$.nodes[0].params.subject [node mail]: {{ contact.firts_name }} is not a contact "
        "field and will be empty; did you mean contact.first_name?"
    ]


CONSENT_WARNING = (
    "this marketing email is sent without checking consent: add a branch on email_consent "
    "before it, or mark it transactional (unsubscribed contacts are always skipped)"
)


def test_marketing_email_without_a_consent_check_is_warned(flow, node, edge):
    report = validate(_one_step(flow, node, edge, "send_email", **EMAIL))
    assert report.errors == []
    assert [str(w) for w in report.warnings] == [f"$.nodes[0] [node step]: {CONSENT_WARNING}"]


def test_a_consent_branch_before_the_email_removes_the_warning(flow, node, edge, warnings):
    doc = flow(
        nodes=[node("consent", "branch", criteria=CONSENT), node("mail", "send_email", **EMAIL), node("done", "end")],
        edges=[edge("start", "consent"), edge("consent", "mail", "yes"), edge("consent", "done", "no")],
    )  # fmt: skip
    assert warnings(doc) == []


def test_a_consent_branch_after_the_email_does_not_count(flow, node, edge, warnings):
    doc = flow(
        nodes=[node("mail", "send_email", **EMAIL), node("consent", "branch", criteria=CONSENT), node("done", "end")],
        edges=[edge("start", "mail"), edge("mail", "consent"), edge("consent", "done", "yes"), edge("consent", "done", "no")],
    )  # fmt: skip
    assert warnings(doc) == [f"$.nodes[0] [node mail]: {CONSENT_WARNING}"]


def test_transactional_email_needs_no_consent_check(flow, node, edge, warnings):
    assert warnings(_email(flow, node, edge)) == []


def test_a_long_sms_is_a_warning(flow, node, edge):
    report = validate(_one_step(flow, node, edge, "send_sms", message="x" * 500))
    assert report.errors == []
    assert [str(w) for w in report.warnings] == [
        "$.nodes[0].params.message [node step]: this message is 4 SMS parts long (each part is "
        "billed); keep it to 3 or fewer"
    ]


# --- garbage in, errors out ------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{nope", "not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("", "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (b'{"id": "\xff"}', "not valid JSON: 'utf-8' codec can't decode byte 0xff in position 8: invalid start byte"),
        ("[1, 2]", "a flow is a JSON object, got an array"),
        ([1, 2], "a flow is a JSON object, got an array"),
        ("null", "a flow is a JSON object, got null"),
        (None, "a flow is a JSON object, got null"),
        ("5", "a flow is a JSON object, got a number"),
        ('"flow"', "a flow is a JSON object, got a string"),
        (True, "a flow is a JSON object, got a boolean"),
        (_nested(100_000), "not valid JSON: nested too deeply"),
        ('{"a": ' * 100_000, "not valid JSON: nested too deeply"),
        (b" " * 2_000_000, "the flow is 2,000,000 bytes; the limit is 1,000,000"),
    ],
    ids=[
        "not-json", "empty", "bad-utf8", "list-text", "list", "null-text", "none", "number",
        "string", "bool", "deep-list", "deep-object", "2mb-bytes",
    ],
)  # fmt: skip
def test_garbage_gives_an_error_at_the_root(source, message):
    report = validate(source)
    assert isinstance(report, Report)
    assert [(e.path, e.node_id, e.message) for e in report.errors] == [("$", None, message)]
    assert report.flow is None


def test_a_2mb_document_is_refused_without_parsing(flow):
    doc = flow(description="x" * 2_000_000)
    text = json.dumps(doc)
    assert [str(e) for e in validate(text).errors] == [
        f"$: the flow is {len(text):,} bytes; the limit is 1,000,000"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"nodes": "x"}, ["$.nodes: input should be a valid list, got 'x'"]),
        ({"edges": {"a": 1}}, ["$.edges: input should be a valid list, got {'a': 1}"]),
        ({"edges": [5]}, ["$.edges[0]: input should be an object, got 5"]),
        ({"trigger": "x"}, ["$.trigger: input should be an object, got 'x'"]),
        ({"settings": []}, ["$.settings: input should be an object, got []"]),
        ({"schema_version": "2.0"}, ["$.schema_version: '2.0' is not allowed: input should be '1.0'"]),
        ({"id": "My Flow"}, ["$.id: 'My Flow' is not a valid id: use lowercase letters, digits and - (at most 63)"]),
        ({"edgse": []}, ["$.edgse: unknown field 'edgse'; did you mean 'edges'?"]),
        (
            {"nodes": [None, 3, {"id": 5, "kind": ["x"], "params": 5}]},
            [
                "$.nodes[0]: input should be an object, got None",
                "$.nodes[1]: input should be an object, got 3",
                "$.nodes[2].id: input should be a valid string, got 5",
                "$.nodes[2].kind: input should be a valid string, got ['x']",
                "$.nodes[2].params: input should be an object, got 5",
            ],
        ),
    ],
)  # fmt: skip
def test_wrong_types_are_errors_with_a_path(flow, errors, change, expected):
    assert errors(flow(**change)) == expected


def test_wrong_types_in_a_node_name_the_node(flow, node, errors):
    doc = flow(nodes=[{"id": "done", "kind": "end", "params": 5}])
    assert errors(doc) == ["$.nodes[0].params [node done]: input should be an object, got 5"]


def test_wrong_types_as_json_text_give_the_same_errors(flow, node, errors):
    doc = flow(nodes=[{"id": "done", "kind": "end", "params": 5}])
    assert errors(json.dumps(doc)) == errors(json.dumps(doc).encode()) == errors(doc)


def test_a_broken_envelope_still_reports_params_of_whole_nodes(flow, node, edge, errors):
    doc = flow(
        trigger=node("start", "webhook", mapping={"First Name": "form.name"}),
        nodes=[
            node("mail", "send_email", **{**EMAIL, "subject": "Hi {{", "from_email": "bad"}),
            node("pause", "wait", duration={"amount": 1, "unit": "years"}),
            node("odd", "wait", duration=[]),
            "not a node",
        ],
        edges=[edge("start", "mail"), 7],
    )
    assert errors(doc) == [
        "$.nodes[3]: input should be an object, got 'not a node'",
        "$.edges[1]: input should be an object, got 7",
        "$.trigger.params.mapping.First Name [node start]: 'First Name' is not a field name: use "
        "lowercase letters, digits and _ (e.g. 'score', 'deal.stage', 'custom.plan', 'trigger.budget')",
        "$.nodes[0].params.subject [node mail]: template error on line 1: '{{' — this placeholder "
        "is empty and not closed; write {{ contact.first_name }} or remove the {{",
        "$.nodes[0].params.from_email [node mail]: 'bad' is not a valid email address: An email "
        "address must have an @-sign.",
        "$.nodes[1].params.duration.unit [node pause]: 'years' is not allowed: input should be "
        "'minutes', 'hours', 'days' or 'weeks'",
        "$.nodes[2].params.duration [node odd]: input should be an object, got []",
    ]


def test_duplicate_ids_of_different_kinds_do_not_crash(flow, node, edge, errors):
    doc = flow(
        nodes=[
            node("step", "switch", **CASES),
            node("step", "wait_for_event", event="purchase", timeout={"amount": 1}),
            node("step", "wait", duration={"amount": 1}),
        ],
        edges=[edge("start", "step")],
    )
    assert errors(doc) == [
        "$.nodes[1].id [node step]: id 'step' is already used by $.nodes[0]; ids must be unique",
        "$.nodes[2].id [node step]: id 'step' is already used by $.nodes[0]; ids must be unique",
    ]


def test_validation_results_do_not_leak_between_calls(flow, node, edge, errors):
    # validate() remembers per-node and per-structure results: equal inputs, equal answers.
    bad = _split(flow, node, edge, [{"name": "a", "weight": 30}, {"name": "b", "weight": 30}])
    good = _split(flow, node, edge, [{"name": "a", "weight": 70}, {"name": "b", "weight": 30}])
    first = errors(bad)
    assert errors(good) == []
    assert errors(bad) == first != []
