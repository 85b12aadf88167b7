"""ShipBob for the invkit simulator: the inventory-level API of a 3PL (read-only: stock per
fulfillment center), Bearer personal access tokens and the 150-requests-a-minute sliding window.

URLs: [http://127.0.0.1:PORT/shipbob/<store>]/<version>/inventory-level/...  (base_url in
brackets stands for https://api.shipbob.com or https://sandbox-api.shipbob.com).

Facts mirrored, with their source:
  - Date versions YYYY-MM (2025-07, 2026-01, 2026-07); 1.0 and 2.0 are deprecated.
    https://developer.shipbob.com/versioning
  - Authorization: Bearer <personal access token> (PAT; also OAuth tokens).  PATs do not
    expire.  https://developer.shipbob.com/auth
  - GET /{version}/inventory-level/locations ("Get All Inventory Levels Grouped By
    Fulfillment Center"): query LocationType, LocationId, SearchBy, InventoryIds (comma-
    separated), IsActive, IsDigital, PageSize, SortBy; answer {first, items, last, next, prev}
    where the four links are URLs ("Null if on the last page" for next) and each item is
    {inventory_id, name, sku, locations: [{location_id, name, on_hand_quantity,
    fulfillable_quantity, committed_quantity, awaiting_quantity, internal_transfer_quantity}]}.
    GET /{version}/inventory-level/{inventoryId}/locations answers one such item.  Errors
    400/401/403/404 are ProblemDetails {type, title, status, detail, instance}.
    https://developer.shipbob.com/api/inventory/get-all-inventory-levels-grouped-by-fulfillment-center
    https://developer.shipbob.com/api/inventory/get-inventory-levels-grouped-by-fulfillment-center
  - Fulfillable = on hand minus committed ("Total quantity available to fulfill new orders
    (on-hand minus committed)", InventoryQuantityResponse in the same OpenAPI file).
  - Rate limit: 150 requests per minute, sliding window, per user and application across all
    ShipBob APIs; over it HTTP 429 with headers x-retry-after (seconds) and x-remaining-calls,
    body {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 25 seconds."}.
    https://developer.shipbob.com/rate-limit
UNVERIFIED (drivers must be right either way): the shape of `next` (an absolute URL or a path
from the API root: knob sb_next_absolute picks; a path by default) and the name of its cursor
parameter (Cursor here, opaque); the default and largest PageSize (50 and 250 here; more is a
400); whether x-remaining-calls comes with every answer (here: yes) and the X-RateLimit-Remaining
spelling of the FAQ (not sent here); the texts of 401/403/404; whether a request refused with
401 counts against the window (not here); that a wrong shipbob_channel_id header on a read is
a 403 (here: yes; the inventory-level reads document no such header).  There is no write to
stock in the API: anything but GET is 405 here.
"""

import base64
import collections
import hmac
import math
import random
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "shipbob"
CONFIG = OrderedDict([
    ("sb_limit", 150),          # requests per window (documented)
    ("sb_window_ms", 60000),    # the sliding window (documented: a minute)
    ("sb_page_max", 250),       # largest PageSize (UNVERIFIED)
    ("sb_next_absolute", 0),    # 1: `next` is an absolute URL; 0: a path from the API root
])
DEFAULT_PAGE = 50               # UNVERIFIED
VERSIONS = ("2025-07", "2026-01", "2026-07")
LEGACY = ("1.0", "2.0")
STATES = ("on_hand", "committed", "awaiting", "internal_transfer")


def _int(v, what, lo=None):
    if isinstance(v, bool) or not isinstance(v, int) or (lo is not None and v < lo):
        raise core.BadState(what + (" must be an integer" if lo is None else " must be an integer >= %d" % lo))
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "shipbob.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"token", "tokens", "channels", "locations", "items"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        toks = s.get("tokens") if "tokens" in s else [s.get("token")]
        if not isinstance(toks, list) or not toks or not all(isinstance(t, str) and t for t in toks):
            raise core.BadState(what + ": give token (a string) or tokens (a list of strings)")
        st = {"name": name, "tokens": list(toks), "channels": [], "locations": OrderedDict(),
              "items": OrderedDict(), "by_sku": {}}
        for j, ch in enumerate(s.get("channels") or [{"id": 100102, "name": "PAT channel"}]):
            if not isinstance(ch, dict):
                raise core.BadState("%s.channels[%d] must be an object" % (what, j))
            st["channels"].append({"id": _int(ch.get("id"), "%s.channels[%d].id" % (what, j), 1),
                                   "name": str(ch.get("name") or "")})
        for j, loc in enumerate(s.get("locations") or [{"id": 156, "name": "Cicero (IL)"}]):
            lw = "%s.locations[%d]" % (what, j)
            if not isinstance(loc, dict):
                raise core.BadState(lw + " must be an object")
            lid = _int(loc.get("id"), lw + ".id", 1)
            if lid in st["locations"]:
                raise core.BadState(lw + ".id must be unique")
            st["locations"][lid] = {"id": lid, "name": str(loc.get("name") or "FC %d" % lid),
                                    "type": str(loc.get("type") or "spoke")}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise core.BadState(iw + " must be an object")
            iid = _int(it.get("inventory_id"), iw + ".inventory_id", 1)
            if iid in st["items"]:
                raise core.BadState("%s: duplicate inventory_id %d" % (iw, iid))
            sku = it.get("sku", "")
            if not isinstance(sku, str):
                raise core.BadState(iw + ".sku must be a string")
            if sku and sku in st["by_sku"]:
                raise core.BadState("%s: duplicate sku %s" % (iw, sku))
            o = {"inventory_id": iid, "sku": sku, "name": str(it.get("name") or sku),
                 "is_active": bool(it.get("is_active", True)), "is_digital": bool(it.get("is_digital", False)),
                 "levels": OrderedDict()}
            lv = it.get("levels") or {}
            if not isinstance(lv, dict):
                raise core.BadState(iw + ".levels must be an object")
            for lk in sorted(lv, key=lambda k: (len(k), k)):
                q = lv[lk]
                try:
                    lid = int(lk)
                except ValueError:
                    raise core.BadState("%s.levels: %r is not a location id" % (iw, lk))
                if lid not in st["locations"]:
                    raise core.BadState("%s.levels: no location %d" % (iw, lid))
                if isinstance(q, int) and not isinstance(q, bool):
                    q = {"on_hand": q}
                if not isinstance(q, dict) or set(q) - set(STATES):
                    raise core.BadState("%s.levels.%s: a number (on hand) or {%s}" % (iw, lk, ", ".join(STATES)))
                e = {k: _int(q.get(k, 0), "%s.levels.%s.%s" % (iw, lk, k), 0) for k in STATES}
                o["levels"][lid] = e
            st["items"][iid] = o
            if sku:
                st["by_sku"][sku] = o
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict()
        d["tokens"] = list(st["tokens"])
        d["channels"] = [dict(c) for c in st["channels"]]
        d["locations"] = [dict(l) for l in st["locations"].values()]
        d["items"] = [OrderedDict([("inventory_id", o["inventory_id"]), ("sku", o["sku"]), ("name", o["name"]),
                                   ("is_active", o["is_active"]), ("is_digital", o["is_digital"]),
                                   ("levels", OrderedDict((str(l), dict(e)) for l, e in o["levels"].items()))])
                      for o in st["items"].values()]
        out[name] = d
    return out


def sample(n, seed):
    """Store "demo" (token sb_sim_demo, fulfillment centers 156, 228 and 10) with n items
    SB-00001... (inventory ids 5001...): every item at one to three centers, with on hand,
    committed and awaiting quantities; every 7th item digital (no stock, no locations); every
    11th inactive."""
    rng = random.Random("invkit-sim-shipbob-%s" % seed)
    locs = [{"id": 156, "name": "Cicero (IL)", "type": "spoke"},
            {"id": 228, "name": "Moreno Valley (CA)", "type": "spoke"},
            {"id": 10, "name": "Bethlehem (PA)", "type": "hub"}]
    qtys = [0, 1, 2, 4, 7, 12, 20, 33, 50, 120]
    items = []
    for i in range(1, n + 1):
        it = OrderedDict([("inventory_id", 5000 + i), ("sku", "SB-%05d" % i), ("name", "Item %d" % i),
                          ("is_active", i % 11 != 0), ("is_digital", i % 7 == 0), ("levels", OrderedDict())])
        if i % 7:
            for loc in rng.sample(locs, 1 + i % 3):
                on = rng.choice(qtys)
                it["levels"][str(loc["id"])] = {"on_hand": on, "committed": rng.randint(0, on // 3),
                                                "awaiting": rng.choice([0, 0, 5, 24]), "internal_transfer": 0}
        items.append(it)
    return {"demo": {"token": "sb_sim_demo", "channels": [{"id": 100102, "name": "PAT channel"}],
                     "locations": locs, "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """Name the route (fault rules match it as `op`); any method but GET would be a write."""
    parts = [p for p in req.rest.split("/") if p]
    req.is_write = req.method != "GET"
    req.sb_route = None
    if len(parts) >= 2 and parts[1] == "inventory-level":
        tail = parts[2:]
        if tail == ["locations"]:
            req.sb_route = (parts[0], "list", None)
            req.ops.append("inventory-level/locations")
        elif len(tail) == 2 and tail[1] == "locations":
            req.sb_route = (parts[0], "one", tail[0])
            req.ops.append("inventory-level/{id}/locations")


def problem(status, title, detail=None, headers=()):
    d = OrderedDict([("type", "https://tools.ietf.org/html/rfc9110#section-15.5.%d" % {
        400: 1, 401: 2, 403: 4, 404: 5, 405: 6}.get(status, 1)), ("title", title), ("status", status)])
    if detail:
        d["detail"] = detail
    return core.Resp(status, d, list(headers), "application/problem+json; charset=utf-8")


def _window(sim, store):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"times": collections.deque()})
    limit, win = int(sim.config["sb_limit"]), max(1, int(sim.config["sb_window_ms"])) / 1000.0
    now = time.monotonic()
    q = rt["times"]
    while q and q[0] <= now - win:
        q.popleft()
    return q, limit, win, now


def _throttled(retry, headers=()):
    return core.Resp(429, OrderedDict([("statusCode", 429), ("message", "Rate limit is exceeded. Try again in "
                                                                        "%d seconds." % retry)]),
                     list(headers) + [("x-retry-after", str(retry)), ("x-remaining-calls", "0")])


def fault_response(sim, req, code, hdrs):
    """An injected 429 looks like ShipBob's own (x-retry-after from the rule, else 1)."""
    if code != 429:
        return None
    ra = next((v for k, v in hdrs if k == "Retry-After"), "1")
    return _throttled(int(float(ra)), [h for h in hdrs if h[0] != "Retry-After"])


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return problem(404, "Not Found", "no such account")
    auth = req.headers.get("Authorization") or ""
    tok = auth[7:].encode() if auth.startswith("Bearer ") else b""
    if not tok or not any(hmac.compare_digest(t.encode(), tok) for t in st["tokens"]):
        return problem(401, "Unauthorized")
    q, limit, win, now = _window(sim, st["name"])
    if len(q) >= limit:
        retry = max(1, int(math.ceil(q[0] + win - now)))
        req.notes.append("over the rate limit (%d in the window)" % len(q))
        return _throttled(retry)
    q.append(now)
    req.notes.append("window %d/%d" % (len(q), limit))
    rl = [("x-remaining-calls", str(limit - len(q)))]
    chan = req.headers.get("shipbob_channel_id")
    if req.sb_route is None:
        r = problem(404, "Not Found")
    elif req.sb_route[0] not in VERSIONS:
        r = problem(404, "Not Found", "API version %s has no inventory-level endpoints" % req.sb_route[0]
                    if req.sb_route[0] in LEGACY else None)
    elif req.method != "GET":
        r = problem(405, "Method Not Allowed")
    elif chan is not None and chan not in [str(c["id"]) for c in st["channels"]]:
        r = problem(403, "Forbidden", "shipbob_channel_id %s is not a channel of this account" % chan[:20])
    elif req.sb_route[1] == "one":
        try:
            o = st["items"].get(int(req.sb_route[2]))
        except ValueError:
            o = None
        r = core.Resp(200, _item(st, o, None)) if o else problem(404, "Not Found")
    else:
        r = _list(sim, st, req)
    r.headers.extend(rl)
    return r


def _item(st, o, lid):
    locs = []
    for l, e in o["levels"].items():
        if lid is not None and l != lid:
            continue
        locs.append(OrderedDict([("awaiting_quantity", e["awaiting"]), ("committed_quantity", e["committed"]),
                                 ("fulfillable_quantity", e["on_hand"] - e["committed"]),
                                 ("internal_transfer_quantity", e["internal_transfer"]), ("location_id", l),
                                 ("name", st["locations"][l]["name"]), ("on_hand_quantity", e["on_hand"])]))
    return OrderedDict([("inventory_id", o["inventory_id"]), ("locations", locs), ("name", o["name"]),
                        ("sku", o["sku"])])


def _cursor(iid):
    return base64.urlsafe_b64encode(("after:%d" % iid).encode()).decode().rstrip("=")


def _uncursor(c):
    try:
        s = base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode()
        if s.startswith("after:"):
            return int(s[6:])
    except (ValueError, UnicodeDecodeError):
        pass
    return None


def _bool(v):
    return {"true": True, "false": False}.get(v.lower()) if v is not None else None


def _list(sim, st, req):
    q = OrderedDict(req.query_items)
    try:
        size = int(q.get("PageSize", DEFAULT_PAGE))
    except ValueError:
        size = -1
    if not 1 <= size <= int(sim.config["sb_page_max"]):
        return problem(400, "One or more validation errors occurred.",
                       "PageSize must be between 1 and %d" % int(sim.config["sb_page_max"]))
    after = 0
    if "Cursor" in q:
        after = _uncursor(q["Cursor"])
        if after is None:
            return problem(400, "One or more validation errors occurred.", "Cursor is not valid")
    ids = None
    if q.get("InventoryIds"):
        try:
            ids = {int(x) for x in q["InventoryIds"].split(",") if x.strip()}
        except ValueError:
            return problem(400, "One or more validation errors occurred.", "InventoryIds must be integers")
    lid = None
    if q.get("LocationId"):
        try:
            lid = int(q["LocationId"])
        except ValueError:
            return problem(400, "One or more validation errors occurred.", "LocationId must be an integer")
    active, digital = _bool(q.get("IsActive")), _bool(q.get("IsDigital"))
    search = (q.get("SearchBy") or "").lower()
    ltype = q.get("LocationType")
    sel = []
    for o in sorted(st["items"].values(), key=lambda o: o["inventory_id"]):
        if ids is not None and o["inventory_id"] not in ids:
            continue
        if active is not None and o["is_active"] != active or digital is not None and o["is_digital"] != digital:
            continue
        if search and not (search == str(o["inventory_id"]) or search in o["sku"].lower() or
                           search in o["name"].lower()):
            continue
        if lid is not None and lid not in o["levels"]:
            continue
        if ltype and not any(st["locations"][l]["type"] == ltype for l in o["levels"]):
            continue
        sel.append(o)
    start = 0
    while start < len(sel) and sel[start]["inventory_id"] <= after:
        start += 1
    page = sel[start:start + size]
    keep = [(k, v) for k, v in req.query_items if k != "Cursor"]
    root = ("http://%s/%s/%s" % (req.host, NAME, st["name"])) if sim.config["sb_next_absolute"] else ""
    path = "%s/%s/inventory-level/locations" % (root, req.sb_route[0])

    def link(first_index):
        qs = list(keep)
        if first_index > 0:
            qs.append(("Cursor", _cursor(sel[first_index - 1]["inventory_id"])))
        return path + ("?" + urllib.parse.urlencode(qs) if qs else "")

    last_start = ((len(sel) - 1) // size) * size if sel else 0
    body = OrderedDict([
        ("first", link(0) if start > 0 else None),
        ("items", [_item(st, o, lid) for o in page]),
        ("last", link(last_start) if start < last_start else None),
        ("next", link(start + size) if start + size < len(sel) else None),
        ("prev", link(max(0, start - size)) if start > 0 else None)])
    return core.Resp(200, body)


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    """(inventory_id, location) pairs with enough fulfillable stock."""
    out = []
    for o in model[store]["items"].values():
        for lid, e in o["levels"].items():
            f = e["on_hand"] - e["committed"]
            if f >= qty or (allow_negative and f > 0):
                out.append((o["inventory_id"], str(lid)))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order reaches the 3PL: qty more committed, so fulfillable goes down by qty (on hand
    stays until the order ships).  Raises core.SimError."""
    st = model[store]
    o = None
    if item is not None:
        try:
            o = st["items"].get(int(item))
        except (TypeError, ValueError):
            o = None
    elif sku is not None:
        o = st["by_sku"].get(sku)
    if o is None:
        raise core.SimError(404, "no such item in account %s" % store)
    if location is not None:
        try:
            lid = int(location)
        except (TypeError, ValueError):
            raise core.SimError(404, "bad location %r" % (location,))
        if lid not in o["levels"]:
            raise core.SimError(409, "item has no stock at fulfillment center %d" % lid)
    else:
        if not o["levels"]:
            raise core.SimError(409, "item is not stocked anywhere")
        lid = sorted(o["levels"], key=lambda l: (-(o["levels"][l]["on_hand"] - o["levels"][l]["committed"]), l))[0]
    e = o["levels"][lid]
    before = e["on_hand"] - e["committed"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d fulfillable" % before)
    e["committed"] += qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", o["inventory_id"]), ("sku", o["sku"]),
                        ("location", str(lid)), ("before", before), ("after", before - qty), ("delta", -qty)])
