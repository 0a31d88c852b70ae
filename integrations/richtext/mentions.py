"""`@handle` mentions: finding them in text and resolving them to tracker users.

A caller passes either a mapping `{"@alice": {"id": "5b10...", "text": "@Alice"}}` or a
callable taking `"@alice"` and returning such a dict or None. `id` is the user's
identifier in the target tracker (an Atlassian account id for Jira Cloud, a username
for Jira Server); `text` is the display label and defaults to the handle.
"""

import re
from collections.abc import Callable, Mapping

from . import adf

# Not preceded by a word character or '@', so 'bob@example.com' is not a mention;
# a handle ends on a word character, so 'thanks @alice.' mentions '@alice'.
MENTION_PATTERN = re.compile(r"(?<![\w@])@\w(?:[\w.-]*\w)?")

Mentions = Mapping[str, Mapping] | Callable[[str], Mapping | None]
Resolver = Callable[[str], dict | None]


def mention_resolver(mentions: Mentions | None) -> Resolver | None:
    """A function from '@handle' to an ADF mention node (or None when unknown)."""
    if mentions is None:
        return None
    lookup = mentions if callable(mentions) else mentions.get

    def resolve(handle: str) -> dict | None:
        user = lookup(handle)
        if user is None:
            return None
        user_id = user.get("id") if isinstance(user, Mapping) else None
        if not isinstance(user_id, str) or not user_id:
            raise ValueError(f"the mention for {handle} needs a non-empty string 'id', got {user!r}")
        label = user.get("text")
        return adf.mention(user_id, label if isinstance(label, str) and label else handle)

    return resolve


def split_mentions(value: str, marks: list[dict], resolve: Resolver | None) -> list[dict]:
    """Text nodes for `value`, with each resolvable '@handle' replaced by a mention node."""
    if resolve is None:
        return [adf.text(value, marks)]
    nodes = []
    position = 0
    for found in MENTION_PATTERN.finditer(value):
        node = resolve(found.group())
        if node is not None:
            nodes += [adf.text(value[position : found.start()], marks), node]
            position = found.end()
    nodes.append(adf.text(value[position:], marks))
    return nodes
