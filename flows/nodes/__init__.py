"""The registry of node kinds: one line per kind."""

from __future__ import annotations

from flows.errors import UnknownNodeKind
from flows.nodes import (
    ab_split,
    assign_owner,
    branch,
    create_record,
    create_task,
    date_relative,
    end,
    enroll_in_flow,
    event,
    field_changed,
    goal,
    http_request,
    owner_assigned,
    record_created,
    record_deleted,
    record_updated,
    remove_from_flow,
    schedule,
    score_lead,
    segment,
    send_email,
    send_notification,
    send_sms,
    stage_changed,
    switch,
    update_record,
    wait,
    wait_for_event,
    wait_until,
    webhook,
)
from flows.nodes.base import NodeKind

REGISTRY: dict[str, NodeKind] = {
    module.KIND.name: module.KIND
    for module in (
        # triggers
        webhook,
        record_created,
        record_updated,
        field_changed,
        stage_changed,
        owner_assigned,
        record_deleted,
        schedule,
        date_relative,
        event,
        segment,
        # actions
        send_email,
        send_sms,
        send_notification,
        update_record,
        create_record,
        create_task,
        assign_owner,
        score_lead,
        http_request,
        enroll_in_flow,
        remove_from_flow,
        # control
        wait,
        wait_until,
        wait_for_event,
        branch,
        switch,
        ab_split,
        goal,
        end,
    )
}


def get_kind(name: str) -> NodeKind:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownNodeKind(name) from None


def kinds_in(category: str) -> list[NodeKind]:
    return [k for k in REGISTRY.values() if k.category == category]
