"""Snapshots of the local stack's tables: atomic files that restore what they hold, and
refuse to load when damaged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra.errors import SnapshotError
from infra.local import moto_patches, persistence, sessions
from infra.local.env import FAKE_CREDENTIALS
from infra.local.persistence import PREVIOUS, SNAPSHOT, Snapshot


def snapshot(*emails: str) -> Snapshot:
    items = [
        {"email": {"S": email}, "contact_id": {"S": f"c-{n}"}} for n, email in enumerate(emails)
    ]
    return Snapshot(items={"EmailClaim": items, "Counter": []}, taken_at="2026-01-01T00:00:00")


def test_a_snapshot_is_one_file_that_loads_back(tmp_path: Path) -> None:
    persistence.write(snapshot("a@example.com", "ليلى@example.com"), tmp_path)
    lines = (tmp_path / SNAPSHOT).read_text("utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "crmflow-snapshot" and header["counts"] == {
        "Counter": 0,
        "EmailClaim": 2,
    }
    assert json.loads(lines[1])["model"] == "EmailClaim"
    loaded = persistence.load(tmp_path)
    assert loaded is not None and loaded.counts() == {"Counter": 0, "EmailClaim": 2}
    assert loaded.items["EmailClaim"][1]["email"] == {"S": "ليلى@example.com"}
    assert list(tmp_path.glob(".snapshot-*")) == []  # no temporary file left behind


def test_the_snapshot_before_is_kept_and_used_when_the_latest_is_missing(tmp_path: Path) -> None:
    persistence.write(snapshot("first@example.com"), tmp_path)
    persistence.write(snapshot("first@example.com", "second@example.com"), tmp_path)
    assert persistence.load(tmp_path).total() == 2
    (tmp_path / SNAPSHOT).unlink()  # a crash between the two renames
    assert persistence.exists(tmp_path)
    assert persistence.load(tmp_path).total() == 1


def test_a_failed_write_leaves_the_previous_snapshot_whole(tmp_path: Path) -> None:
    persistence.write(snapshot("kept@example.com"), tmp_path)
    broken = snapshot("new@example.com")
    broken.items["EmailClaim"][0]["bad"] = {"S": object()}  # not JSON: fails mid-write
    with pytest.raises(TypeError):
        persistence.write(broken, tmp_path)
    assert persistence.load(tmp_path).items["EmailClaim"][0]["email"] == {"S": "kept@example.com"}
    assert list(tmp_path.glob(".snapshot-*")) == []


def test_a_truncated_snapshot_is_refused_not_half_restored(tmp_path: Path) -> None:
    persistence.write(snapshot("a@example.com", "b@example.com"), tmp_path)
    path = tmp_path / SNAPSHOT
    path.write_text("\n".join(path.read_text("utf-8").splitlines()[:-1]) + "\n", "utf-8")
    with pytest.raises(SnapshotError, match="incomplete"):
        persistence.load(tmp_path)


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text('{"hello": "world"}\n', "utf-8")
    with pytest.raises(SnapshotError, match="not a crmflow snapshot"):
        persistence.load(tmp_path)


def test_no_snapshot_means_a_first_run(tmp_path: Path) -> None:
    assert persistence.load(tmp_path) is None
    assert not persistence.exists(tmp_path)
    (tmp_path / PREVIOUS).write_text("", "utf-8")
    assert persistence.exists(tmp_path)


def test_the_digest_ignores_order_and_time() -> None:
    one = snapshot("a@example.com", "b@example.com")
    other = snapshot("a@example.com", "b@example.com")
    other.items["EmailClaim"].reverse()
    other.taken_at = "2027-01-01T00:00:00"
    assert persistence.digest(one) == persistence.digest(other)
    assert persistence.digest(one) != persistence.digest(snapshot("a@example.com"))


@pytest.fixture
def fresh_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    moto_patches.apply()
    with sessions.shared_loader(), mock_aws():
        from functions.store.tables import create_all

        create_all(wait=False)
        yield


def test_every_table_round_trips_through_a_snapshot(fresh_tables: None, tmp_path: Path) -> None:
    from functions.store.contacts import add_activity, create_contact, get_contact
    from functions.store.models import ALL_MODELS

    contact = create_contact(
        {"email": "Sara.Mohammadi@example.com", "first_name": "سارا", "tags": {"vip"},
         "custom": {"budget": 12000, "nested": {"list": [1, "دو", None]}}}
    )  # fmt: skip
    add_activity(contact.contact_id, "note", {"text": "سلام"})
    client = boto3.client("dynamodb")
    taken = persistence.read_tables(client)
    assert set(taken.items) == {m.__name__ for m in ALL_MODELS}  # every model, none named by hand
    persistence.write(taken, tmp_path)

    for model in ALL_MODELS:  # a fresh start: empty tables
        model.delete_table()
    from functions.store.tables import create_all

    create_all(wait=False)
    counts = persistence.restore(persistence.load(tmp_path), client)
    assert counts["Contact"] == 1 and counts["ContactIndex"] == 1 and counts["Activity"] == 1
    again = get_contact(contact.contact_id)
    assert again.first_name == "سارا" and again.tags == {"vip"} and again.version == contact.version
    assert again.custom == {"budget": 12000, "nested": {"list": [1, "دو", None]}}
    assert persistence.digest(persistence.read_tables(client)) == persistence.digest(taken)
