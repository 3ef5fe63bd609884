"""Valid callback request bodies for every server-side callback of the app, built from its
real callback map (``/_dash-dependencies``) and the layouts its pages router returns: what the
fuzz test mutates and what the response-cache test replays."""

from __future__ import annotations

import json
from dataclasses import dataclass

import dash

UPDATE = "/_dash-update-component"


def page_paths() -> list[str]:
    return sorted(p["path"] for p in dash.page_registry.values())


def parse_outputs(output: str) -> list[tuple[object, str]]:
    """Dash's output string ("..a.b...c.d.." or "a.b") -> [(id, property)]; pattern ids as dicts."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        out.append((json.loads(cid) if cid.startswith("{") else cid, prop))
    return out


def _spec_id(raw):
    return json.loads(raw) if isinstance(raw, str) and raw.startswith("{") else raw


def router_body(route: dict, path: str, search: str) -> dict:
    return {"output": route["output"],
            "outputs": [{"id": cid, "property": prop} for cid, prop in parse_outputs(route["output"])],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "state": [], "changedPropIds": ["_pages_location.search"]}


def components(tree) -> list[dict]:
    """Every component (type, props) in a layout JSON."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "props" in node and "type" in node:
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(tree)
    return found


def _matches(pattern: dict, cid, fixed: dict | None = None) -> bool:
    """A layout id fits a callback's pattern id (wildcards ALL / MATCH); ``fixed`` pins the
    MATCH keys to one component's values, as Dash does for a MATCH callback."""
    return isinstance(cid, dict) and set(cid) == set(pattern) and all(
        (cid[k] == (fixed or {}).get(k, cid[k])) if isinstance(v, list) else cid[k] == v for k, v in pattern.items())


def _is_match(spec_id) -> bool:
    return isinstance(spec_id, dict) and ["MATCH"] in spec_id.values()


def _items(spec_id, prop: str, comps: list[dict], with_value: bool, fixed: dict):
    def item(cid, props):
        d = {"id": cid, "property": prop}
        if with_value:
            d["value"] = props.get(prop)
        return d
    if isinstance(spec_id, dict):
        hits = [item(c["props"]["id"], c["props"]) for c in comps if _matches(spec_id, c["props"].get("id"), fixed)]
        if _is_match(spec_id):  # one component, not a list
            return hits[0] if hits else item({k: fixed.get(k, "x") if isinstance(v, list) else v
                                              for k, v in spec_id.items()}, {})
        return hits
    hit = next((c["props"] for c in comps if c["props"].get("id") == spec_id), {})
    return item(spec_id, hit)


@dataclass(frozen=True)
class Callback:
    name: str
    page: str
    body: dict


def valid_callbacks(client, deps: list[dict], route: dict) -> list[Callback]:
    """For every server-side callback, a valid payload from the components of the page that has
    its inputs (the router's own callback included). ``client.send(method, path, what, json=...)``
    returns a response with ``status_code`` and ``json()`` (or None)."""
    layouts = {}
    for path in page_paths():
        resp = client.send("POST", UPDATE, f"router {path}", json=router_body(route, path, ""))
        assert resp is not None and resp.status_code == 200, path
        layouts[path] = components(resp.json()["response"])
    out = [Callback("pages router", "/", router_body(route, "/", "?lang=es"))]
    for d in deps:
        if d.get("clientside_function") or d is route:
            continue
        first = _spec_id(d["inputs"][0]["id"])
        page = next((p for p, comps in layouts.items()
                     if any(_matches(first, c["props"].get("id")) if isinstance(first, dict)
                            else c["props"].get("id") == first for c in comps)), None)
        if page is None:
            continue  # inputs drawn later by another callback (e.g. the maps' sort buttons)
        comps = layouts[page]
        fixed = {}
        if _is_match(first):  # the values of the MATCH keys: those of the first component that fits
            hit = next(c["props"]["id"] for c in comps if _matches(first, c["props"].get("id")))
            fixed = {k: hit[k] for k, v in first.items() if v == ["MATCH"]}
        body = {
            "output": d["output"],
            "outputs": [_items(cid, prop, comps, False, fixed) for cid, prop in parse_outputs(d["output"])],
            "inputs": [_items(_spec_id(i["id"]), i["property"], comps, True, fixed) for i in d["inputs"]],
            "state": [_items(_spec_id(s["id"]), s["property"], comps, True, fixed) for s in d["state"]],
            "changedPropIds": [f"{d['inputs'][0]['id']}.{d['inputs'][0]['property']}"],
        }
        if isinstance(first, dict):  # a pattern input: the changed prop names one matched id
            matched = body["inputs"][0]
            matched = matched if isinstance(matched, list) else [matched]
            if matched:
                body["changedPropIds"] = [json.dumps(matched[0]["id"], separators=(",", ":"), sort_keys=True)
                                          + "." + d["inputs"][0]["property"]]
        if len(body["outputs"]) == 1 and not d["output"].startswith(".."):
            body["outputs"] = body["outputs"][0]
        out.append(Callback(d["output"][:80], page, body))
    return out
