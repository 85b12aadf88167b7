"""eBay for the invkit simulator: the Sell Inventory API v1 (inventory items, their ship-to-home
quantity and per-location distributions, bulk reads and bulk price/quantity updates) with OAuth
user access tokens, the 250-revisions-a-day listing limit and a daily call quota.

URLs: [http://127.0.0.1:PORT/ebay/<store>]/sell/inventory/v1/...  (base_url in brackets stands
for https://api.ebay.com, or https://api.sandbox.ebay.com).

Facts mirrored, with their source:
  - GET /sell/inventory/v1/inventory_item?limit=&offset=: limit "an integer from 1 to 200",
    default 25; offset "sets the page number to retrieve. The first page of records has a value
    of 0, the second page of records has a value of 1"; answer InventoryItems {href, limit, next
    (only when there are more), prev, size (number of pages), total, inventoryItems}.
    https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/getInventoryItems
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:InventoryItems
  - availability.shipToLocationAvailability {quantity, availabilityDistributions
    [{merchantLocationKey, quantity, fulfillmentTime}]} (distributions "returned if the
    available quantity is set for one or more inventory locations").
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:ShipToLocationAvailability
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:AvailabilityDistribution
  - POST /bulk_get_inventory_item {"requests": [{"sku"}]}, up to 25 → {"responses":
    [{statusCode, sku, inventoryItem, errors, warnings}]}.
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:BulkGetInventoryItem
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:GetInventoryItemResponse
  - POST /bulk_update_price_quantity {"requests": [{sku, shipToLocationAvailability: {quantity},
    offers}]}, "one or more inventory items (up to 25)" → {"responses": [{statusCode, sku,
    offerId, errors, warnings}]}, statusCode 200 for a complete success; "Each listing can be
    revised up to 250 times in one calendar day".
    https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/bulkUpdatePriceQuantity
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:BulkPriceQuantity
    https://developer.ebay.com/api-docs/sell/inventory/types/slr:PriceQuantityResponse
  - OAuth errors {"errors": [{errorId, domain: "OAuth", category: "REQUEST", message,
    longMessage}]}: 1002 "Missing access token", 1003 "Token type in the Authorization header is
    invalid"; user access tokens live about 2 hours.
    https://developer.ebay.com/api-docs/static/oauth-tokens.html
  - Call limits are per application and per day (Sell APIs: a quota a day for each API).
    https://developer.ebay.com/develop/api/sell/api_call_limits
  - A user access token is renewed with POST [base_url]/identity/v1/oauth2/token, headers
    "Content-Type: application/x-www-form-urlencoded" and "Authorization: Basic
    base64(<client_id>:<client_secret>)", form grant_type=refresh_token, refresh_token, scope (a
    space-separated list, "the same as or a subset of" the scopes granted at consent); the answer
    is {access_token, expires_in (7200), token_type: "User Access Token"}, with no new refresh
    token: the refresh token is not rotated and stays the same until it expires or is revoked.
    https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html
    https://developer.ebay.com/api-docs/static/oauth-tokens.html
UNVERIFIED (drivers must be right either way): whether offset really is a page number (knob
ebay_offset_pages: 1 as documented, 0 = a record offset; the `next` link is right either way);
errorId 1001 "Invalid access token" for an expired token; the 429 body (errorId 2001 "Too many
requests") and that it has no Retry-After; the Inventory API's default daily quota; the errorIds
and texts of a SKU not found (25710 / 25702), a bad quantity (25709), a request over 25 entries
(25709) and a listing over its revisions (25766 here); whether bulkUpdatePriceQuantity answers
207 or 200 when some entries fail (207 here, as for the other bulk methods); whether a write of
the quantity a listing already shows counts as a revision (it does here); what a new total does to
availabilityDistributions (left as they are here); the token endpoint's error shapes, taken
from what developers quote, not from an eBay page: 401 {"error": "invalid_client",
"error_description": "client authentication failed"}, 400 {"error": "invalid_grant",
"error_description": "the provided authorization refresh token is invalid or was issued to another
client"}, 400 invalid_scope ("the requested scope is invalid, unknown, malformed, or exceeds the
scope granted to the client"), 400 unsupported_grant_type and invalid_request (texts made up); that
scope may be left out (the granted scopes then); the refresh token's life of 18 months.
Knobs for tests: ebay_token_life (the expires_in of a minted token, in seconds, enforced) and
ebay_token_calls (N > 0: a minted token is refused after N API calls, before its announced
expiry, as a revoked one would be: a test reaches the 401-and-renew path at a chosen call).
"""

import base64
import binascii
import hmac
import json
import secrets
import urllib.parse
import random
import time
from collections import OrderedDict

import sim as core

NAME = "ebay"
CONFIG = OrderedDict([
    ("ebay_page_max", 200),          # largest `limit` of getInventoryItems (documented)
    ("ebay_batch_limit", 25),        # entries of a bulk request (documented)
    ("ebay_daily_quota", 2000000),   # calls a "day" per store (UNVERIFIED default)
    ("ebay_day_ms", 86400000),       # the length of the simulated day (quota and revisions)
    ("ebay_max_revisions", 250),     # revisions of a listing a day (documented)
    ("ebay_offset_pages", 1),        # 1: offset is a page number (documented); 0: a record offset
    ("ebay_token_life", 7200),       # seconds a minted user access token lives (documented: 2 hours)
    ("ebay_token_calls", 0),         # N > 0: a minted token dies after N API calls (tests)
])
SCOPE_RW = "https://api.ebay.com/oauth/api_scope/sell.inventory"
SCOPE_RO = SCOPE_RW + ".readonly"
TOKEN_PATH = ("identity", "v1", "oauth2", "token")
API = ("sell", "inventory", "v1")
DEFAULT_LIMIT = 25
ROUTES = [  # (method, path after /sell/inventory/v1, op, writes)
    ("GET", ("inventory_item",), "inventory_item", False),
    ("GET", ("inventory_item", None), "inventory_item/sku", False),
    ("POST", ("bulk_get_inventory_item",), "bulk_get_inventory_item", False),
    ("POST", ("bulk_update_price_quantity",), "bulk_update_price_quantity", True),
]


def _err(error_id, message, long_message=None, domain="API_INVENTORY", category="REQUEST", params=None):
    e = OrderedDict([("errorId", error_id), ("domain", domain)])
    if domain == "API_INVENTORY":
        e["subdomain"] = "Selling"
    e["category"] = category
    e["message"] = message
    if long_message:
        e["longMessage"] = long_message
    if params:
        e["parameters"] = [OrderedDict([("name", k), ("value", str(v))]) for k, v in params]
    return e


def _eresp(status, *errors, headers=()):
    return core.Resp(status, OrderedDict([("errors", list(errors))]), list(headers))


# ---- state ------------------------------------------------------------------------------

def _int(v, what, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise core.BadState(what + " must be an integer")
    return v


def load(section):
    """{store: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "ebay.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"token", "tokens", "locations", "items", "app", "refresh_tokens"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        toks = s.get("tokens") if "tokens" in s else [{"token": s.get("token")}]
        if not isinstance(toks, list) or not toks:
            raise core.BadState(what + ": give token or tokens")
        tokens = []
        for t in toks:
            if not isinstance(t, dict) or not isinstance(t.get("token"), str) or not t["token"] or \
                    t.get("scope", "sell.inventory") not in ("sell.inventory", "sell.inventory.readonly") or \
                    not isinstance(t.get("expired", False), bool):
                raise core.BadState(what + ": a token is {\"token\": \"...\", \"scope\": \"sell.inventory\""
                                           "|\"sell.inventory.readonly\", \"expired\": false}")
            tokens.append({"token": t["token"], "scope": t.get("scope", "sell.inventory"),
                           "expired": t.get("expired", False)})
        locs = s.get("locations") or []
        if not isinstance(locs, list) or not all(isinstance(k, str) and 0 < len(k) <= 36 for k in locs) or \
                len(set(locs)) != len(locs):
            raise core.BadState(what + ".locations must be a list of distinct merchantLocationKeys (1..36 chars)")
        app = s.get("app")
        if app is not None and (not isinstance(app, dict) or set(app) != {"client_id", "client_secret"} or
                                not all(isinstance(v, str) and v and ":" not in v for v in app.values())):
            raise core.BadState(what + ".app must be {\"client_id\": \"...\", \"client_secret\": \"...\"}")
        rts = []
        for t in s.get("refresh_tokens") or []:
            if not isinstance(t, dict) or not isinstance(t.get("token"), str) or not t["token"] or \
                    not isinstance(t.get("scopes", [SCOPE_RW]), list) or \
                    not all(isinstance(x, str) for x in t.get("scopes", [SCOPE_RW])) or \
                    not isinstance(t.get("revoked", False), bool) or set(t) - {"token", "scopes", "revoked"}:
                raise core.BadState(what + ".refresh_tokens: each is {\"token\": \"...\", \"scopes\": [...], "
                                           "\"revoked\": false}")
            rts.append({"token": t["token"], "scopes": list(t.get("scopes", [SCOPE_RW])),
                        "revoked": t.get("revoked", False)})
        if rts and app is None:
            raise core.BadState(what + ": refresh_tokens without an app")
        st = {"name": name, "tokens": tokens, "locations": list(locs), "items": [], "by_sku": {},
              "app": dict(app) if app else None, "refresh_tokens": rts}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise core.BadState(iw + " must be an object")
            bad = set(it) - {"sku", "quantity", "distributions", "listed", "title"}
            if bad:
                raise core.BadState("%s: unknown key(s) %s" % (iw, ", ".join(sorted(bad))))
            sku = it.get("sku")
            if not isinstance(sku, str) or not 0 < len(sku) <= 50:
                raise core.BadState(iw + ".sku must be a string of 1..50 characters")
            if sku in st["by_sku"]:
                raise core.BadState("%s: duplicate sku %s" % (iw, sku))
            o = {"sku": sku, "quantity": _int(it.get("quantity"), iw + ".quantity", allow_none=True),
                 "dist": OrderedDict(), "listed": bool(it.get("listed", True)),
                 "title": str(it.get("title") or "Item " + sku)}
            d = it.get("distributions") or {}
            if not isinstance(d, dict):
                raise core.BadState(iw + ".distributions must be an object")
            for k, q in d.items():
                if k not in st["locations"]:
                    raise core.BadState("%s.distributions: no location %s" % (iw, k))
                o["dist"][k] = _int(q, "%s.distributions.%s" % (iw, k))
            if o["dist"] and o["quantity"] is None:
                raise core.BadState(iw + ": distributions without a quantity")
            st["items"].append(o)
            st["by_sku"][sku] = o
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict()
        d["tokens"] = [dict(t) for t in st["tokens"]]
        if st["app"] is not None:
            d["app"] = OrderedDict([("client_id", st["app"]["client_id"]),
                                    ("client_secret", st["app"]["client_secret"])])
            d["refresh_tokens"] = [OrderedDict([("token", t["token"]), ("scopes", list(t["scopes"])),
                                                ("revoked", t["revoked"])]) for t in st["refresh_tokens"]]
        d["locations"] = list(st["locations"])
        items = []
        for o in st["items"]:
            e = OrderedDict([("sku", o["sku"]), ("quantity", o["quantity"])])
            if o["dist"]:
                e["distributions"] = OrderedDict(o["dist"])
            e["listed"] = o["listed"]
            e["title"] = o["title"]
            items.append(e)
        d["items"] = items
        out[name] = d
    return out


def sample(n, seed):
    """Store "demo" (token "v^1.1#i^1#sim-demo"; app client_id "invkit-sim-PRD-demo", client_secret
    "PRD-sim-demo-secret" and its refresh token "v^1.1#i^1#r^1#sim-demo-refresh" with the scope
    sell.inventory; locations WH-1 and WH-2) with n items
    EB-00001...: every 7th has no ship-to quantity yet, every 5th (of the others) a quantity split
    between WH-1 and WH-2, every 11th is not listed (no published offer)."""
    rng = random.Random("invkit-sim-ebay-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    items = []
    for i in range(1, n + 1):
        e = OrderedDict([("sku", "EB-%05d" % i)])
        if i % 7 == 0:
            e["quantity"] = None
        else:
            q = rng.choice(qtys)
            e["quantity"] = q
            if i % 5 == 0:
                a = rng.randint(0, q)
                e["distributions"] = {"WH-1": a, "WH-2": q - a}
        e["listed"] = i % 11 != 0
        items.append(e)
    return {"demo": {"token": "v^1.1#i^1#sim-demo",
                     "app": {"client_id": "invkit-sim-PRD-demo", "client_secret": "PRD-sim-demo-secret"},
                     "refresh_tokens": [{"token": "v^1.1#i^1#r^1#sim-demo-refresh", "scopes": [SCOPE_RW]}],
                     "locations": ["WH-1", "WH-2"], "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """Name the route (fault rules match it as `op`) and say whether it writes: the bulk read
    is a POST but writes nothing."""
    parts = tuple(p for p in req.rest.split("/") if p)
    req.ebay_route = None
    req.is_write = req.method in ("PUT", "PATCH", "DELETE")
    if parts == TOKEN_PATH and req.method == "POST":
        req.ops.append("oauth2/token")
        req.ebay_route = ("token", ())
        return
    if parts[:3] != API:
        return
    sub = parts[3:]
    for method, pat, op, writes in ROUTES:
        if method == req.method and len(pat) == len(sub) and all(a is None or a == b for a, b in zip(pat, sub)):
            req.ops.append(op)
            req.is_write = writes
            req.ebay_route = (op, sub)
            return


def _rt(sim, store):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"start": time.monotonic(), "used": 0, "revs": {}})
    if (time.monotonic() - rt["start"]) * 1000 >= max(1, int(sim.config["ebay_day_ms"])):
        rt["start"], rt["used"], rt["revs"] = time.monotonic(), 0, {}
    return rt


def _too_many(headers=()):
    return _eresp(429, _err(2001, "Too many requests", "The request limit has been reached for the resource.",
                            domain="ACCESS"), headers=headers)


def fault_response(sim, req, code, hdrs):
    """An injected 429 looks like eBay's own."""
    return _too_many(hdrs) if code == 429 else None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return _eresp(404, _err(2002, "Resource not found", domain="ACCESS"))
    rt = _rt(sim, req.shop)
    if req.ebay_route is not None and req.ebay_route[0] == "token":
        return _token(sim, st, req)
    authz = req.headers.get("Authorization") or ""
    if not authz.strip():
        return _eresp(401, _err(1002, "Missing access token",
                                "Access token is missing in the Authorization HTTP request header.", domain="OAuth"))
    if not authz.startswith("Bearer "):
        return _eresp(401, _err(1003, "Token type in the Authorization header is invalid",
                                domain="OAuth"))
    token = authz[len("Bearer "):].encode()
    tok = next((t for t in st["tokens"] if hmac.compare_digest(t["token"].encode(), token)), None)
    if tok is None:
        tok = _minted_use(sim, req.shop, token)
    if tok is None or tok["expired"]:
        if tok is not None:
            req.notes.append("expired token")
        return _eresp(401, _err(1001, "Invalid access token",
                                "Invalid access token. Check the value of the Authorization HTTP request header.",
                                domain="OAuth"))
    if rt["used"] >= int(sim.config["ebay_daily_quota"]):
        req.notes.append("over the daily quota")
        return _too_many()
    rt["used"] += 1
    if req.ebay_route is None:
        return _eresp(404, _err(2002, "Resource not found", domain="ACCESS"))
    if tok["scope"] == "none" or (req.is_write and tok["scope"] != "sell.inventory"):
        return _eresp(403, _err(1100, "Access denied", "Insufficient permissions to fulfill the request.",
                                domain="ACCESS"))
    op, sub = req.ebay_route
    if op == "inventory_item":
        return _list(sim, st, req)
    if op == "inventory_item/sku":
        o = st["by_sku"].get(sub[1])
        if o is None:
            return _eresp(404, _not_found(sub[1]))
        return core.Resp(200, _item(o))
    body, bad = _body(req)
    if bad is not None:
        return bad
    if op == "bulk_get_inventory_item":
        return _bulk_get(sim, st, body)
    return _bulk_update(sim, st, req, body, rt)


def _minted(sim, store):
    """The access tokens minted for a store: {token: {"until", "calls", "scope"}} (gone with a
    reset or a config change, like every runtime thing of the simulator)."""
    return sim.plugin_rt.setdefault(NAME + ":minted", {}).setdefault(store, {})


def _minted_use(sim, store, token):
    """A minted token as the auth check sees it ({"scope", "expired"}), one call spent; None if
    it was never minted."""
    m = next((v for k, v in _minted(sim, store).items() if hmac.compare_digest(k.encode(), token)), None)
    if m is None:
        return None
    expired = time.monotonic() >= m["until"] or m["calls"] == 0
    if not expired and m["calls"] is not None:
        m["calls"] -= 1
    return {"scope": m["scope"], "expired": expired}


def _oauth(status, error, description):
    return core.Resp(status, OrderedDict([("error", error), ("error_description", description)]))


def _token(sim, st, req):
    """POST /identity/v1/oauth2/token, grant_type refresh_token only (the authorization code
    grant needs a browser: not simulated)."""
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return _oauth(400, "invalid_request", "request is missing a required parameter or malformed")
    app = st["app"]
    authz = req.headers.get("Authorization") or ""
    try:
        cid, _, csec = base64.b64decode(authz[len("Basic "):].strip(), validate=True).decode().partition(":") \
            if authz.startswith("Basic ") else ("", "", "")
    except (binascii.Error, UnicodeDecodeError):
        cid = csec = ""
    if app is None or not (hmac.compare_digest(app["client_id"].encode(), cid.encode()) and
                           hmac.compare_digest(app["client_secret"].encode(), csec.encode())):
        req.notes.append("bad client credentials")
        return _oauth(401, "invalid_client", "client authentication failed")
    try:
        f = dict(urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (ValueError, UnicodeDecodeError):
        return _oauth(400, "invalid_request", "request is missing a required parameter or malformed")
    if f.get("grant_type") != "refresh_token":
        return _oauth(400, "unsupported_grant_type", "grant type in request is not supported by the "
                                                     "authorization server")
    given = f.get("refresh_token", "").encode()
    rtok = next((t for t in st["refresh_tokens"] if hmac.compare_digest(t["token"].encode(), given)), None)
    if rtok is None or rtok["revoked"]:
        req.notes.append("refused refresh token")
        return _oauth(400, "invalid_grant", "the provided authorization refresh token is invalid or was "
                                            "issued to another client")
    scopes = f["scope"].split() if "scope" in f else list(rtok["scopes"])
    if not scopes or any(x not in rtok["scopes"] for x in scopes):
        return _oauth(400, "invalid_scope", "the requested scope is invalid, unknown, malformed, or exceeds "
                                            "the scope granted to the client")
    life = max(1, int(sim.config["ebay_token_life"]))
    calls = int(sim.config["ebay_token_calls"])
    tok = "v^1.1#i^1#p^3#I^3#r^0#f^0#t^sim-" + secrets.token_hex(20)
    _minted(sim, st["name"])[tok] = {
        "until": time.monotonic() + life, "calls": calls if calls > 0 else None,
        "scope": "sell.inventory" if SCOPE_RW in scopes else "sell.inventory.readonly" if SCOPE_RO in scopes
        else "none"}
    return core.Resp(200, OrderedDict([("access_token", tok), ("expires_in", life),
                                       ("token_type", "User Access Token")]))


def _not_found(sku):
    return _err(25710, "We didn't find the resource/entity you are requesting. Please verify the request",
                params=[("sku", sku)])


def _item(o):
    ship = OrderedDict()
    if o["quantity"] is not None:
        ship["quantity"] = o["quantity"]
        if o["dist"]:
            ship["availabilityDistributions"] = [
                OrderedDict([("merchantLocationKey", k), ("quantity", q),
                             ("fulfillmentTime", OrderedDict([("unit", "BUSINESS_DAY"), ("value", 1)]))])
                for k, q in o["dist"].items()]
    av = OrderedDict()
    if ship:
        av["shipToLocationAvailability"] = ship
    return OrderedDict([("sku", o["sku"]), ("locale", "en_US"), ("product", {"title": o["title"]}),
                        ("condition", "NEW"), ("availability", av)])


def _list(sim, st, req):
    q = dict(req.query_items)
    try:
        limit = int(q.get("limit", str(DEFAULT_LIMIT)))
        offset = int(q.get("offset", "0"))
    except ValueError:
        limit = offset = -1
    if not 1 <= limit <= int(sim.config["ebay_page_max"]) or offset < 0:
        return _eresp(400, _err(25709, "Invalid value for limit or offset",
                                "limit must be an integer from 1 to %d, offset 0 or more"
                                % int(sim.config["ebay_page_max"])))
    pages_mode = int(sim.config["ebay_offset_pages"]) != 0
    total = len(st["items"])
    start = offset * limit if pages_mode else offset
    rows = st["items"][start:start + limit]
    base = "https://api.ebay.com/sell/inventory/v1/inventory_item"
    out = OrderedDict([("href", "%s?limit=%d&offset=%d" % (base, limit, offset)), ("limit", limit)])
    if start + limit < total:
        out["next"] = "%s?limit=%d&offset=%d" % (base, limit, offset + (1 if pages_mode else limit))
    if offset > 0:
        out["prev"] = "%s?limit=%d&offset=%d" % (base, limit, max(0, offset - (1 if pages_mode else limit)))
    out["size"] = (total + limit - 1) // limit
    out["total"] = total
    if rows:
        out["inventoryItems"] = [_item(o) for o in rows]
    return core.Resp(200, out)


def _body(req):
    try:
        body = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list) or not body["requests"]:
        return None, _eresp(400, _err(2004, "Invalid request",
                                      "The request has errors. For help, see the documentation for this API.",
                                      category="REQUEST", domain="ACCESS"))
    if (req.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
        return None, _eresp(415, _err(2003, "Unsupported media type: the Content-Type header must be "
                                            "application/json", domain="ACCESS"))
    return body, None


def _over(sim, n):
    lim = int(sim.config["ebay_batch_limit"])
    if n > lim:
        return _eresp(400, _err(25709, "Invalid value for requests",
                                "At most %d requests are allowed in one call (%d sent)" % (lim, n),
                                params=[("requests", n)]))
    return None


def _bulk_get(sim, st, body):
    reqs = body["requests"]
    bad = _over(sim, len(reqs))
    if bad:
        return bad
    out, all_ok = [], True
    for e in reqs:
        sku = e.get("sku") if isinstance(e, dict) else None
        o = st["by_sku"].get(sku) if isinstance(sku, str) else None
        if o is None:
            all_ok = False
            out.append(OrderedDict([("statusCode", 404), ("sku", sku if isinstance(sku, str) else ""),
                                    ("errors", [_not_found(str(sku))])]))
        else:
            out.append(OrderedDict([("statusCode", 200), ("sku", sku), ("inventoryItem", _item(o))]))
    return core.Resp(200 if all_ok else 207, OrderedDict([("responses", out)]))


def _bulk_update(sim, st, req, body, rt):
    reqs = body["requests"]
    bad = _over(sim, len(reqs))
    if bad:
        return bad
    out, all_ok = [], True
    maxrev = int(sim.config["ebay_max_revisions"])
    for e in reqs:
        sku = e.get("sku") if isinstance(e, dict) else None
        ship = e.get("shipToLocationAvailability") if isinstance(e, dict) else None
        qty = ship.get("quantity") if isinstance(ship, dict) else None
        r = OrderedDict([("statusCode", 200), ("sku", sku if isinstance(sku, str) else "")])
        o = st["by_sku"].get(sku) if isinstance(sku, str) else None
        if isinstance(e, dict) and "offers" in e:
            r["statusCode"], r["errors"] = 400, [_err(25709, "Invalid value for offers",
                                                      "offers are not simulated", params=[("sku", sku)])]
        elif o is None:
            r["statusCode"], r["errors"] = 404, [_err(25702, "SKU %s is not available in the system" % sku,
                                                      params=[("sku", sku)])]
        elif isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > 2147483647:
            r["statusCode"], r["errors"] = 400, [_err(25709, "Invalid value for quantity",
                                                      "The quantity must be a whole number of 0 or more",
                                                      params=[("quantity", qty)])]
        elif o["listed"] and rt["revs"].get(sku, 0) >= maxrev:
            r["statusCode"], r["errors"] = 400, [_err(
                25766, "The listing has been revised the maximum number of times today",
                "Each listing can be revised up to %d times in one calendar day" % maxrev, params=[("sku", sku)])]
        else:
            before = o["quantity"]
            o["quantity"] = qty
            if o["listed"]:
                rt["revs"][sku] = rt["revs"].get(sku, 0) + 1
            sim.log_write(kind="set", platform=NAME, shop=st["name"], item=sku, sku=sku, location="",
                          before=before, after=qty, delta=qty - (before or 0), idempotency_key=None,
                          request_id=req.rid, revisions=rt["revs"].get(sku, 0))
        if r["statusCode"] != 200:
            all_ok = False
            req.notes.append("%s: %d" % (r["sku"], r["statusCode"]))
        out.append(r)
    return core.Resp(200 if all_ok else 207, OrderedDict([("responses", out)]))


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    """(sku, "") pairs of a store with a ship-to quantity to sell."""
    return [(o["sku"], "") for o in model[store]["items"]
            if o["quantity"] is not None and (o["quantity"] >= qty or (allow_negative and o["quantity"] > 0))]


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the ship-to quantity down by qty (and the location's distribution, when one is
    named).  Raises core.SimError."""
    st = model[store]
    o = st["by_sku"].get(item if item is not None else sku)
    if o is None:
        raise core.SimError(404, "no such SKU in store %s" % store)
    if o["quantity"] is None:
        raise core.SimError(409, "the item has no ship-to quantity")
    if location not in (None, "") and location not in o["dist"]:
        raise core.SimError(409, "the item has no quantity at location %s" % location)
    before = o["quantity"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["quantity"] -= qty
    if location not in (None, ""):
        o["dist"][location] -= qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", o["sku"]), ("sku", o["sku"]),
                        ("location", ""), ("before", before), ("after", before - qty), ("delta", -qty)])
