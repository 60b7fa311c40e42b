"""Who did something, in words: the actors recorded on versions and audit entries (a user
id, or `key:<key id>` for a key without a user) as people read them."""

from __future__ import annotations

from collections.abc import Iterable

from functions.store.models import ApiKey, User

KEY_ACTOR = "key:"


def display_names(actors: Iterable[str | None]) -> dict[str, str]:
    """actor → "Maya Rahimi <maya@acme.example>" for a user (or a key that belongs to
    one), the key's name ("local admin (crmflow up)") for a key without a user; an actor
    no longer known is left as it is."""
    wanted = {a for a in actors if a}
    keys = {a: _key(a[len(KEY_ACTOR) :]) for a in wanted if a.startswith(KEY_ACTOR)}
    user_ids = {a for a in wanted if not a.startswith(KEY_ACTOR)}
    user_ids |= {k.user_id for k in keys.values() if k is not None and k.user_id}
    users = {u.user_id: u for u in User.batch_get(list(user_ids))} if user_ids else {}
    names = {}
    for actor in wanted:
        key = keys.get(actor)
        user = users.get(key.user_id if key is not None and key.user_id else actor)
        if user is not None:
            names[actor] = f"{user.name} <{user.email}>"
        elif key is not None:
            names[actor] = key.name
        else:
            names[actor] = actor
    return names


def _key(key_id: str) -> ApiKey | None:
    for row in ApiKey.by_key_id.query(key_id, limit=1):
        try:
            return ApiKey.get(row.key_hash)
        except ApiKey.DoesNotExist:  # deleted between the index and the table
            return None
    return None
