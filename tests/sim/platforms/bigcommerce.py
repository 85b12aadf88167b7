"""BigCommerce for the invkit simulator: the V3 Inventory API (items per location, absolute
and relative adjustments) with X-Auth-Token auth and the store's request quota.

URLs: [http://127.0.0.1:PORT/bigcommerce/<store>]/v3/inventory/...  (base_url in brackets
stands for https://api.bigcommerce.com/stores/<store_hash>).

Facts mirrored, with their source:
  - Base https://api.bigcommerce.com/stores/{store_hash}/v3, header X-Auth-Token; scopes
    store_inventory_read_only / store_inventory.  GET /inventory/items (filters sku:in,
    variant_id:in, product_id:in, location_id:in, location_code:in, page, limit; "limit of
    1000 items"), GET /inventory/locations/{location_id}/items, PUT
    /inventory/adjustments/absolute and POST /inventory/adjustments/relative with
    {"reason", "items": [{location_id, sku | variant_id | product_id, quantity}]}, "limit of
    2000 items", answer {"transaction_id"}; 422 problem+json {status, title, type, errors}
    with the titles "[Item with variant_id 106 is tracked by product, please update stock by
    product id]" and "Items with identity: [product_id 113] requires absolute adjustment
    before relative"; ItemResponse {identity {sku, variant_id, product_id, sku_id},
    locations [{location_id, location_code, location_name, available_to_sell,
    total_inventory_onhand, location_enabled, settings {safety_stock, is_in_stock,
    warning_level, bin_picking_number}}]}; meta.pagination {total, count, per_page,
    current_page, total_pages, links {previous, current, next}}.
    Source: https://developer.bigcommerce.com/docs/rest-management/inventory (the OpenAPI
    file reference/inventory.v3.yml of github.com/bigcommerce/docs).
  - Every request takes one unit of the store's quota, refreshed every window (Plus and
    Standard: 150 per 30 s); headers X-Rate-Limit-Requests-Left, X-Rate-Limit-Requests-Quota,
    X-Rate-Limit-Time-Window-Ms, X-Rate-Limit-Time-Reset-Ms; over it: HTTP 429.
    Source: https://developer.bigcommerce.com/docs/start/best-practices/api-rate-limits
UNVERIFIED (drivers must be right either way): the bodies of 401, 403, 404 and 429; the
default page size (50 here) and the answer to a limit over 1000 (422 here); that a 422
rejects the whole adjustment (nothing applied here); how an item with no record at a
location is listed (left out of its `locations` here); the 422 for a product_id of an
item tracked by variant; a relative adjustment that takes stock below 0 (allowed here).
"""

import hmac
import json
import random
import time
from collections import OrderedDict

import sim as core

NAME = "bigcommerce"
CONFIG = OrderedDict([
    ("bc_quota", 150),          # requests per window (Plus & Standard plans, documented)
    ("bc_window_ms", 30000),    # the window (documented: 30 s)
    ("bc_batch_limit", 2000),   # items per adjustment (documented)
    ("bc_page_max", 1000),      # largest `limit` of a list (documented)
])
DEFAULT_LIMIT = 50              # UNVERIFIED
TYPE_URL = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
ROUTES = [  # (method, path pattern, op)
    ("GET", ("v3", "inventory", "items"), "inventory/items"),
    ("GET", ("v3", "inventory", "locations", None, "items"), "inventory/locations/items"),
    ("PUT", ("v3", "inventory", "adjustments", "absolute"), "inventory/adjustments/absolute"),
    ("POST", ("v3", "inventory", "adjustments", "relative"), "inventory/adjustments/relative"),
]


def _int(v, what, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise core.BadState(what + " must be an integer")
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "bigcommerce.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"token", "tokens", "locations", "items"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        toks = s.get("tokens") if "tokens" in s else [{"token": s.get("token"), "scope": "modify"}]
        if not isinstance(toks, list) or not toks:
            raise core.BadState(what + ": give token or tokens")
        tokens = []
        for t in toks:
            if not isinstance(t, dict) or not isinstance(t.get("token"), str) or not t["token"] or \
                    t.get("scope", "modify") not in ("modify", "read_only"):
                raise core.BadState(what + ": a token is {\"token\": \"...\", \"scope\": \"modify\"|\"read_only\"}")
            tokens.append({"token": t["token"], "scope": t.get("scope", "modify")})
        st = {"name": name, "tokens": tokens, "locations": OrderedDict(), "items": [],
              "by_variant": {}, "by_product": {}, "by_sku": {}}
        for j, loc in enumerate(s.get("locations") or [{"id": 1}]):
            lw = "%s.locations[%d]" % (what, j)
            if not isinstance(loc, dict):
                raise core.BadState(lw + " must be an object")
            lid = _int(loc.get("id"), lw + ".id")
            if lid <= 0 or lid in st["locations"]:
                raise core.BadState(lw + ".id must be positive and unique")
            st["locations"][lid] = {"id": lid, "code": str(loc.get("code") or "BC-LOCATION-%d" % lid),
                                    "name": str(loc.get("name") or "Location %d" % lid),
                                    "enabled": bool(loc.get("enabled", True))}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise core.BadState(iw + " must be an object")
            o = {"product_id": _int(it.get("product_id"), iw + ".product_id"),
                 "variant_id": _int(it.get("variant_id"), iw + ".variant_id"),
                 "sku_id": _int(it.get("sku_id"), iw + ".sku_id", allow_none=True),
                 "sku": it.get("sku", ""), "levels": {}, "safety": {}}
            if not isinstance(o["sku"], str):
                raise core.BadState(iw + ".sku must be a string")
            if o["product_id"] <= 0 or o["variant_id"] <= 0:
                raise core.BadState(iw + ": ids must be positive")
            if o["variant_id"] in st["by_variant"]:
                raise core.BadState("%s: duplicate variant_id %d" % (iw, o["variant_id"]))
            if o["sku"] and o["sku"] in st["by_sku"]:
                raise core.BadState("%s: duplicate sku %s" % (iw, o["sku"]))
            kin = st["by_product"].setdefault(o["product_id"], [])
            # a product without options is tracked by product: its one base variant (sku_id null)
            if kin and (o["sku_id"] is None or kin[0]["sku_id"] is None):
                raise core.BadState("%s: product %d has a base variant and other variants" % (iw, o["product_id"]))
            for key, dst in (("levels", "levels"), ("safety_stock", "safety")):
                m = it.get(key) or {}
                if not isinstance(m, dict):
                    raise core.BadState("%s.%s must be an object" % (iw, key))
                for lk, q in m.items():
                    try:
                        lid = int(lk)
                    except ValueError:
                        raise core.BadState("%s.%s: %r is not a location id" % (iw, key, lk))
                    if lid not in st["locations"]:
                        raise core.BadState("%s.%s: no location %d" % (iw, key, lid))
                    o[dst][lid] = _int(q, "%s.%s.%s" % (iw, key, lk))
            kin.append(o)
            st["items"].append(o)
            st["by_variant"][o["variant_id"]] = o
            if o["sku"]:
                st["by_sku"][o["sku"]] = o
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict()
        d["tokens"] = [dict(t) for t in st["tokens"]]
        d["locations"] = [{"id": l["id"], "code": l["code"], "name": l["name"], "enabled": l["enabled"]}
                          for l in st["locations"].values()]
        items = []
        for o in st["items"]:
            e = OrderedDict([("product_id", o["product_id"]), ("variant_id", o["variant_id"]),
                             ("sku_id", o["sku_id"]), ("sku", o["sku"]),
                             ("levels", {str(k): v for k, v in sorted(o["levels"].items())})])
            if o["safety"]:
                e["safety_stock"] = {str(k): v for k, v in sorted(o["safety"].items())}
            items.append(e)
        d["items"] = items
        out[name] = d
    return out


def sample(n, seed):
    """Store "demo" (token bc_sim_demo, locations 1 and 2) with n products BC-00001...: every
    4th has variants -S/-M/-L, the others are tracked by product; every 3rd item has no record
    at location 2; every 6th has a safety stock of 1 at location 1."""
    rng = random.Random("invkit-sim-bigcommerce-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    items, vid, skuid, k = [], 500, 9000, 0
    for i in range(1, n + 1):
        sku = "BC-%05d" % i
        kinds = [("-S", 1), ("-M", 1), ("-L", 1)] if i % 4 == 0 else [("", None)]
        for suffix, opt in kinds:
            k += 1
            vid += 1
            levels = {"1": rng.choice(qtys)}
            if k % 3:
                levels["2"] = rng.choice(qtys)
            e = {"product_id": 100 + i, "variant_id": vid, "sku": sku + suffix, "levels": levels,
                 "sku_id": None}
            if opt:
                skuid += 1
                e["sku_id"] = skuid
            if k % 6 == 0:
                e["safety_stock"] = {"1": 1}
            items.append(e)
    return {"demo": {"token": "bc_sim_demo",
                     "locations": [{"id": 1, "code": "BC-LOCATION-1", "name": "Default location"},
                                   {"id": 2, "code": "BC-LOCATION-2", "name": "Second warehouse"}],
                     "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """Name the route (fault rules match it as `op`) and say whether it writes."""
    parts = tuple(p for p in req.rest.split("/") if p)
    req.is_write = req.method in ("POST", "PUT", "PATCH", "DELETE")
    for method, pat, op in ROUTES:
        if len(pat) == len(parts) and all(a is None or a == b for a, b in zip(pat, parts)):
            req.ops.append(op)
            req.bc_route = (method, parts)
            return
    req.bc_route = None


def problem(status, title, errors=None, headers=()):
    return core.Resp(status, OrderedDict([("status", status), ("title", title), ("type", TYPE_URL),
                                          ("errors", errors or {})]), list(headers),
                     "application/problem+json")


def _rt(sim, store):
    return sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"start": time.monotonic(), "used": 0, "tx": 0})


def _quota(sim, store):
    """Take one unit of the store's quota: (allowed, headers)."""
    rt = _rt(sim, store)
    quota, window = int(sim.config["bc_quota"]), max(1, int(sim.config["bc_window_ms"]))
    now = time.monotonic()
    if (now - rt["start"]) * 1000 >= window:
        rt["start"], rt["used"] = now, 0
    allowed = rt["used"] < quota
    if allowed:
        rt["used"] += 1
    reset = max(1, int(window - (now - rt["start"]) * 1000))
    return allowed, [("X-Rate-Limit-Requests-Left", str(max(0, quota - rt["used"]))),
                     ("X-Rate-Limit-Requests-Quota", str(quota)),
                     ("X-Rate-Limit-Time-Window-Ms", str(window)),
                     ("X-Rate-Limit-Time-Reset-Ms", str(reset))]


def fault_response(sim, req, code, hdrs):
    """A 429 fault looks like the platform's own (with the quota headers, quota exhausted)."""
    if code != 429:
        return None
    quota, window = int(sim.config["bc_quota"]), int(sim.config["bc_window_ms"])
    return problem(429, "Too many requests", headers=hdrs + [
        ("X-Rate-Limit-Requests-Left", "0"), ("X-Rate-Limit-Requests-Quota", str(quota)),
        ("X-Rate-Limit-Time-Window-Ms", str(window)), ("X-Rate-Limit-Time-Reset-Ms", "%d" % min(window, 200))])


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return problem(404, "Store not found")
    ok, rl = _quota(sim, req.shop)
    if not ok:
        req.notes.append("over the quota")
        return problem(429, "Too many requests", headers=rl)
    token = (req.headers.get("X-Auth-Token") or "").encode()
    tok = next((t for t in st["tokens"] if hmac.compare_digest(t["token"].encode(), token)), None)
    if tok is None:
        r = problem(401, "Unauthorized: the X-Auth-Token is missing or not valid for this store")
    elif req.bc_route is None:
        r = problem(404, "The route is not found, check the URL")
    elif req.bc_route[0] != req.method:
        r = problem(405, "Method not allowed")
    elif req.is_write and tok["scope"] != "modify":
        r = problem(403, "You don't have a required scope to access the endpoint")
    else:
        parts = req.bc_route[1]
        q = {}
        for k, v in req.query_items:
            q[k] = v
        try:
            if parts[2] == "items":
                r = _list(sim, st, q, None)
            elif parts[2] == "locations":
                r = _list(sim, st, q, parts[3])
            else:
                r = _adjust(sim, st, req, parts[3])
        except _Bad as e:
            r = problem(422, e.args[0], e.args[1] if len(e.args) > 1 else None)
    r.headers.extend(rl)
    return r


class _Bad(Exception):
    pass


def _ids(q, key, conv):
    if key not in q:
        return None
    try:
        return {conv(x.strip()) for x in q[key].split(",") if x.strip()}
    except ValueError:
        raise _Bad("Payload contains invalid fields", {key: "must be a list of %s" % conv.__name__})


def _list(sim, st, q, loc_path):
    try:
        page = int(q.get("page", "1"))
        limit = int(q.get("limit", str(DEFAULT_LIMIT)))
    except ValueError:
        raise _Bad("Payload contains invalid fields", {"page": "page and limit must be integers"})
    if page < 1 or not 1 <= limit <= int(sim.config["bc_page_max"]):
        raise _Bad("Payload contains invalid fields",
                   {"limit": "page must be >= 1, limit 1..%d" % int(sim.config["bc_page_max"])})
    skus = _ids(q, "sku:in", str)
    vids = _ids(q, "variant_id:in", int)
    pids = _ids(q, "product_id:in", int)
    lids = _ids(q, "location_id:in", int)
    codes = _ids(q, "location_code:in", str)
    if loc_path is not None:
        try:
            lid = int(loc_path)
        except ValueError:
            lid = -1
        if lid not in st["locations"]:
            return problem(404, "Location not found")
        lids, codes = {lid}, None
    sel = [o for o in st["items"] if (skus is None or o["sku"] in skus) and
           (vids is None or o["variant_id"] in vids) and (pids is None or o["product_id"] in pids)]
    total = len(sel)
    pages = (total + limit - 1) // limit
    rows = []
    for o in sel[(page - 1) * limit: page * limit]:
        ident = OrderedDict([("sku", o["sku"]), ("variant_id", o["variant_id"]),
                             ("product_id", o["product_id"]), ("sku_id", o["sku_id"])])
        locs = []
        for lid, onhand in sorted(o["levels"].items()):
            loc = st["locations"][lid]
            if (lids is not None and lid not in lids) or (codes is not None and loc["code"] not in codes):
                continue
            ss = o["safety"].get(lid, 0)
            settings = OrderedDict([("safety_stock", ss), ("is_in_stock", True), ("warning_level", 0),
                                    ("bin_picking_number", "")])
            if loc_path is not None:
                locs.append((onhand, ss, settings))
                continue
            locs.append(OrderedDict([("location_id", lid), ("location_code", loc["code"]),
                                     ("location_name", loc["name"]), ("available_to_sell", onhand - ss),
                                     ("total_inventory_onhand", onhand), ("location_enabled", loc["enabled"]),
                                     ("settings", settings)]))
        if loc_path is not None:
            if locs:  # the items of one location: those with a record there
                onhand, ss, settings = locs[0]
                rows.append(OrderedDict([("identity", ident), ("available_to_sell", onhand - ss),
                                         ("total_inventory_onhand", onhand), ("settings", settings)]))
        else:
            rows.append(OrderedDict([("identity", ident), ("locations", locs)]))
    links = OrderedDict()
    if page > 1:
        links["previous"] = "?limit=%d&page=%d" % (limit, page - 1)
    links["current"] = "?limit=%d&page=%d" % (limit, page)
    if page < pages:
        links["next"] = "?limit=%d&page=%d" % (limit, page + 1)
    meta = {"pagination": OrderedDict([("total", total), ("count", len(rows)), ("per_page", limit),
                                       ("current_page", page), ("total_pages", pages), ("links", links)])}
    return core.Resp(200, OrderedDict([("data", rows), ("meta", meta)]))


def _adjust(sim, st, req, kind):
    try:
        body = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return problem(400, "Input is invalid: the body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise _Bad("Payload contains invalid fields", {"items": "items is required and must be an array"})
    items, limit = body["items"], int(sim.config["bc_batch_limit"])
    if not items:
        raise _Bad("Payload contains invalid fields", {"items": "at least one item is required"})
    if len(items) > limit:
        raise _Bad("Payload contains invalid fields",
                   {"items": "at most %d items in one request (%d sent)" % (limit, len(items))})
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise _Bad("Payload contains invalid fields", {"reason": "must be a string"})
    plan, bad = [], []
    for i, e in enumerate(items):
        keys = [k for k in ("sku", "variant_id", "product_id") if isinstance(e, dict) and k in e]
        if not isinstance(e, dict) or len(keys) != 1 or isinstance(e.get("location_id"), bool) or \
                not isinstance(e.get("location_id"), int) or isinstance(e.get("quantity"), bool) or \
                not isinstance(e.get("quantity"), int):
            raise _Bad("Payload contains invalid fields",
                       {"items.%d" % i: "location_id, quantity and one of sku, variant_id, product_id are required"})
        lid, qty, key = e["location_id"], e["quantity"], keys[0]
        if lid not in st["locations"]:
            raise _Bad("Payload contains invalid fields", {"items.%d.location_id" % i: "location %d not found" % lid})
        o = None
        if key == "sku":
            o = st["by_sku"].get(e["sku"]) if isinstance(e["sku"], str) else None
        elif key == "variant_id":
            o = st["by_variant"].get(e["variant_id"])
            if o is not None and o["sku_id"] is None:
                bad.append("Item with variant_id %d is tracked by product, please update stock by product id"
                           % o["variant_id"])
                continue
        else:
            kin = st["by_product"].get(e["product_id"]) or []
            if kin and kin[0]["sku_id"] is not None:  # UNVERIFIED text, mirrors the documented one
                bad.append("Item with product_id %d is tracked by variant, please update stock by variant id"
                           % e["product_id"])
                continue
            o = kin[0] if kin else None
        if o is None:
            raise _Bad("Payload contains invalid fields", {"items.%d" % i: "item %s %s not found" % (key, e[key])})
        if kind == "relative" and lid not in o["levels"]:
            bad.append("Items with identity: [%s %s] requires absolute adjustment before relative" % (key, e[key]))
            continue
        if abs(qty) > 2147483647:
            raise _Bad("Payload contains invalid fields", {"items.%d.quantity" % i: "out of range"})
        plan.append((o, lid, qty))
    if bad:
        return problem(422, "[" + ", ".join(bad) + "]")
    rt = _rt(sim, st["name"])
    rt["tx"] += 1
    tx = "%08x-0000-4000-8000-%012d" % (hash(st["name"]) & 0xffffffff, rt["tx"])
    for o, lid, qty in plan:
        before = o["levels"].get(lid)
        ss = o["safety"].get(lid, 0)
        after = qty if kind == "absolute" else before + qty
        o["levels"][lid] = after
        sim.log_write(kind="set" if kind == "absolute" else "adjust", platform=NAME, shop=st["name"],
                      item=o["variant_id"], product_id=o["product_id"], sku=o["sku"], location=str(lid),
                      before=None if before is None else before - ss, after=after - ss,
                      delta=(after - (before or 0)), reason=reason, transaction_id=tx,
                      idempotency_key=None, request_id=req.rid)
    return core.Resp(200, OrderedDict([("transaction_id", tx)]))


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    """(item, location) pairs of a store with enough available to sell."""
    out = []
    for o in model[store]["items"]:
        for lid, onhand in sorted(o["levels"].items()):
            a = onhand - o["safety"].get(lid, 0)
            if a >= qty or (allow_negative and a > 0):
                out.append((o["variant_id"], str(lid)))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: available_to_sell (on hand) down by qty.  Raises core.SimError."""
    st = model[store]
    o = None
    if item is not None:
        try:
            o = st["by_variant"].get(int(str(item).rsplit("/", 1)[-1]))
        except ValueError:
            o = None
    elif sku is not None:
        o = st["by_sku"].get(sku)
    if o is None:
        raise core.SimError(404, "no such item in store %s" % store)
    if location is not None:
        try:
            lid = int(location)
        except (TypeError, ValueError):
            raise core.SimError(404, "bad location %r" % (location,))
        if lid not in o["levels"]:
            raise core.SimError(409, "item has no record at location %d" % lid)
    else:
        if not o["levels"]:
            raise core.SimError(409, "item is not stocked anywhere")
        lid = sorted(o["levels"], key=lambda l: (-(o["levels"][l] - o["safety"].get(l, 0)), l))[0]
    ss = o["safety"].get(lid, 0)
    before = o["levels"][lid] - ss
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available to sell" % before)
    o["levels"][lid] -= qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", o["variant_id"]), ("sku", o["sku"]),
                        ("location", str(lid)), ("before", before), ("after", before - qty), ("delta", -qty)])
