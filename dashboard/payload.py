"""The shape of a callback request, checked against the app's own callback map before Dash reads it.

Dash trusts the JSON a browser posts to ``/_dash-update-component``: a forged body (an output no
callback has, input lists of the wrong length, a number where an id belongs, a list where the
router expects the URL's query string) makes Dash itself raise, which is a 500 and a worker busy
for nothing. ``problem(body, callback_map)`` says what is wrong (or None), so the server can
answer 400 with that reason. The values inside well-formed items are the callbacks' own business:
they validate them as they validate URL parameters.
"""

from __future__ import annotations

import json

MAX_ITEMS = 512  # pattern-matching (ALL) inputs: more items than any page renders
# Properties whose value is a string (or None) whatever the callback: dcc.Location's.
STRING_PROPS = {"pathname", "search", "hash", "href"}


def problem(body, callback_map: dict) -> str | None:
    """None for a request Dash can process; otherwise the reason it cannot."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "no callback has this output"
    spec = callback_map[output]
    for part in ("inputs", "state"):
        declared = spec.get(part, [])
        sent = body.get(part, [] if part == "state" else None)
        if not isinstance(sent, list) or len(sent) != len(declared):
            return f"'{part}' must be a list of {len(declared)} item(s)"
        for want, got in zip(declared, sent):
            reason = _item_problem(want, got)
            if reason:
                return f"{part}: {reason}"
    outputs = body.get("outputs")
    declared_out = _outputs(output)
    if len(declared_out) > 1:  # several outputs: a list with one entry each
        if not isinstance(outputs, list) or len(outputs) != len(declared_out):
            return f"'outputs' must be a list of {len(declared_out)} item(s)"
    elif not isinstance(outputs, (dict, list)):
        return "'outputs' must be an object or a list"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed) or len(changed) > MAX_ITEMS:
        return "'changedPropIds' must be a list of strings"
    return None


def _outputs(output: str) -> list[str]:
    """``..a.children...b.figure..`` (several outputs) or ``a.children`` -> its output ids."""
    if output.startswith("..") and output.endswith(".."):
        return [o for o in output[2:-2].split("...") if o]
    return [output]


def _item_problem(want: dict, got) -> str | None:
    pattern = _pattern(want.get("id"))
    if pattern is None:
        if not isinstance(got, dict):
            return f"{want.get('id')}.{want.get('property')} must be an object"
        if got.get("id") != want.get("id") or got.get("property") != want.get("property"):
            return f"expected {want.get('id')}.{want.get('property')}"
        return _value_problem(want, got)
    items = got if isinstance(got, list) else [got]  # ALL gives a list; MATCH one item
    if len(items) > MAX_ITEMS:
        return "too many pattern-matching items"
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), dict):
            return f"items of {want.get('id')} must be objects with an object id"
        if set(item["id"]) != set(pattern) or item.get("property") != want.get("property"):
            return f"an item does not match {want.get('id')}.{want.get('property')}"
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in item["id"].values()):
            return "pattern-matching ids hold strings or integers"
        reason = _value_problem(want, item)
        if reason:
            return reason
    return None


MAX_URL = 8192  # characters of a URL part the router reads


def _value_problem(want: dict, got: dict) -> str | None:
    prop, value = want.get("property"), got.get("value")
    if prop in STRING_PROPS and value is not None:
        if not isinstance(value, str) or len(value) > MAX_URL:
            return f"{prop} must be a string of at most {MAX_URL} characters"
        if prop == "pathname" and not value.startswith("/"):
            return "pathname must start with /"
    return None


def _pattern(component_id) -> dict | None:
    """The wildcard id's keys for a pattern-matching dependency (its id is a JSON object)."""
    if isinstance(component_id, str) and component_id.startswith("{"):
        try:
            parsed = json.loads(component_id)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None
