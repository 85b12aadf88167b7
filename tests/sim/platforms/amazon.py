"""Amazon for the invkit simulator: the Selling Partner API Listings Items API v2021-08-01
(merchant-fulfilled quantities) and the Login with Amazon (LWA) token endpoint.

URLs: [http://127.0.0.1:PORT/amazon/<store>]/listings/2021-08-01/items/<sellerId>[/<sku>]
(base_url in brackets stands for https://sellingpartnerapi-na.amazon.com) and
http://127.0.0.1:PORT/amazon/<store>/auth/o2/token (standing for
https://api.amazon.com/auth/o2/token; a driver's `lwa_url`).

Facts mirrored, with their source:
  - LWA: POST https://api.amazon.com/auth/o2/token, form-encoded grant_type=refresh_token,
    refresh_token, client_id, client_secret -> {access_token, token_type: bearer,
    expires_in: 3600, refresh_token}; an access token lives one hour.
    https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api
    https://developer.amazon.com/docs/login-with-amazon/access-token.html
  - searchListingsItems GET /listings/2021-08-01/items/{sellerId}?marketplaceIds=&includedData=
    &pageSize=&pageToken=; at most 1000 results can be paged through.
    https://developer-docs.amazon.com/sp-api/docs/search-for-listings-items-by-id
  - patchListingsItem answers ListingsItemSubmissionResponse {sku, status ACCEPTED | INVALID
    (| VALID in VALIDATION_PREVIEW mode), submissionId, issues [{code, message, severity,
    attributeNames}]}; ACCEPTED means queued: downstream processing applies it later.
    https://developer-docs.amazon.com/sp-api/docs/manage-listings-issues
  - Token-bucket rate limits per operation (Listings Items: 5 requests/s, burst 5); the
    x-amzn-RateLimit-Limit header carries the rate applied; over it: HTTP 429.
    https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits
UNVERIFIED (drivers must be right either way): pageSize maximum 20 and the pagination shape
{nextToken, previousToken}; getListingsItem's burst of 10; the exact 403 body of an expired
token (errors[{code: Unauthorized, message: "Access to requested resource is denied.",
details}]); the 429 body (QuotaExceeded); that the rate header is absent on a 429; the LWA
error bodies (invalid_client, invalid_grant); the issue codes of an INVALID submission (the
simulator's own); that an INVALID submission is HTTP 200; the search order (by SKU here).
"""

import base64
import hmac
import json
import random
import secrets
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "amazon"
CONFIG = OrderedDict([
    ("amz_search_rate", 5.0), ("amz_search_burst", 5),   # searchListingsItems
    ("amz_get_rate", 5.0), ("amz_get_burst", 10),        # getListingsItem
    ("amz_patch_rate", 5.0), ("amz_patch_burst", 5),     # patchListingsItem
    ("amz_page_max", 20),        # largest pageSize (UNVERIFIED)
    ("amz_search_max", 1000),    # results a search can page through (documented)
    ("amz_token_ttl", 3600),     # seconds an LWA access token lives (documented: 1 h)
    ("amz_apply_ms", 0),         # delay before an ACCEPTED patch applies (0: at once)
    ("amz_fba_rate", 2.0), ("amz_fba_burst", 2),         # getInventorySummaries (documented)
    ("amz_fba_page", 50),        # inventory summaries a page (UNVERIFIED)
    ("amz_cdoc_rate", 0.5), ("amz_cdoc_burst", 15),      # createFeedDocument
    ("amz_cfeed_rate", 0.0083), ("amz_cfeed_burst", 15), # createFeed
    ("amz_gfeed_rate", 2.0), ("amz_gfeed_burst", 15),    # getFeed
    ("amz_gdoc_rate", 0.0222), ("amz_gdoc_burst", 10),   # getFeedDocument
    ("amz_feed_ms", 0),          # time a feed stays IN_QUEUE/IN_PROGRESS before it is DONE
    ("amz_feed_end", 0),         # 0: feeds end DONE; 1: CANCELLED; 2: FATAL (for tests)
])
VERSION = "2021-08-01"
FEEDS = "2021-06-30"
OPS = {"searchListingsItems": "search", "getListingsItem": "get", "patchListingsItem": "patch",
       "getInventorySummaries": "fba", "createFeedDocument": "cdoc", "createFeed": "cfeed",
       "getFeed": "gfeed", "getFeedDocument": "gdoc"}
FBA_KEYS = ("fulfillable", "inbound_working", "inbound_shipped", "inbound_receiving", "reserved",
            "researching", "unfulfillable")


def _rt(sim, store):
    return sim.plugin_rt.setdefault(NAME, {}).setdefault(
        store, {"tokens": {}, "buckets": {}, "pending": [], "sub": 0, "docs": OrderedDict(),
                "feeds": OrderedDict(), "key": secrets.token_hex(16), "fba_tokens": {}})


# ---- state ------------------------------------------------------------------------------

def load(section):
    out = OrderedDict()
    for name, s in section.items():
        what = "amazon.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"seller_id", "marketplaces", "apps", "items"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        if not isinstance(s.get("seller_id"), str) or not s["seller_id"]:
            raise core.BadState(what + ".seller_id must be a string")
        mps = s.get("marketplaces") or ["ATVPDKIKX0DER"]
        if not isinstance(mps, list) or not all(isinstance(m, str) and m for m in mps):
            raise core.BadState(what + ".marketplaces must be a list of ids")
        apps = s.get("apps")
        if not isinstance(apps, list) or not apps or not all(
                isinstance(a, dict) and all(isinstance(a.get(k), str) and a[k]
                                            for k in ("client_id", "client_secret", "refresh_token"))
                for a in apps):
            raise core.BadState(what + ".apps: [{client_id, client_secret, refresh_token}]")
        st = {"name": name, "seller_id": s["seller_id"], "marketplaces": list(mps),
              "apps": [dict(a) for a in apps], "items": OrderedDict()}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict) or not isinstance(it.get("sku"), str) or not it["sku"]:
                raise core.BadState(iw + ": an item needs a sku")
            if it["sku"] in st["items"]:
                raise core.BadState("%s: duplicate sku %s" % (iw, it["sku"]))
            mfn = it.get("mfn")
            if mfn is not None and (isinstance(mfn, bool) or not isinstance(mfn, int) or mfn < 0):
                raise core.BadState(iw + ".mfn must be a whole number >= 0 or null (FBA only)")
            fba = it.get("fba")
            if fba is not None and (not isinstance(fba, dict) or set(fba) - set(FBA_KEYS) or not all(
                    not isinstance(v, bool) and isinstance(v, int) and v >= 0 for v in fba.values())):
                raise core.BadState(iw + ".fba must be null or {%s: whole numbers >= 0}" % ", ".join(FBA_KEYS))
            st["items"][it["sku"]] = {"sku": it["sku"], "asin": str(it.get("asin") or "B0SIM%05d" % j),
                                      "product_type": str(it.get("product_type") or "PRODUCT"),
                                      "item_name": str(it.get("item_name") or it["sku"]), "mfn": mfn,
                                      "fba": None if fba is None else
                                      OrderedDict((k, fba.get(k, 0)) for k in FBA_KEYS)}
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        out[name] = OrderedDict([
            ("seller_id", st["seller_id"]), ("marketplaces", list(st["marketplaces"])),
            ("apps", [dict(a) for a in st["apps"]]),
            ("items", [OrderedDict([("sku", o["sku"]), ("asin", o["asin"]),
                                    ("product_type", o["product_type"]), ("item_name", o["item_name"]),
                                    ("mfn", o["mfn"]), ("fba", None if o["fba"] is None else dict(o["fba"]))])
                       for o in st["items"].values()])])
    return out


def sample(n, seed):
    """Store "demo": seller A3SIMSELLER01 in ATVPDKIKX0DER, app amzn1.application-oa2-client.simdemo
    (secret amzn1.oa2-cs.v1.simdemo, refresh token Atzr|sim-demo), items AMZ-00001...; every 7th is
    FBA only (no merchant-fulfilled quantity) and has FBA quantities."""
    rng = random.Random("invkit-sim-amazon-%s" % seed)
    frng = random.Random("invkit-sim-amazon-fba-%s" % seed)
    types = ["HOME", "KITCHEN", "TOYS_AND_GAMES", "OFFICE_PRODUCTS"]
    items = []
    for i in range(1, n + 1):
        items.append({"sku": "AMZ-%05d" % i, "asin": "B0%08d" % i, "product_type": types[i % len(types)],
                      "item_name": "Sim item %d" % i,
                      "mfn": None if i % 7 == 0 else rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 35]),
                      "fba": OrderedDict((k, frng.choice([0, 0, 1, 4, 9, 30])) for k in FBA_KEYS)
                      if i % 7 == 0 else None})
    return {"demo": {"seller_id": "A3SIMSELLER01", "marketplaces": ["ATVPDKIKX0DER"],
                     "apps": [{"client_id": "amzn1.application-oa2-client.simdemo",
                               "client_secret": "amzn1.oa2-cs.v1.simdemo", "refresh_token": "Atzr|sim-demo"}],
                     "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    parts = [urllib.parse.unquote(p) for p in req.rest.split("/") if p]
    req.amz = None
    req.is_write = False
    if parts == ["auth", "o2", "token"]:
        req.ops.append("auth/o2/token")
        req.amz = ("token",)
    elif len(parts) in (4, 5) and parts[:3] == ["listings", VERSION, "items"]:
        if len(parts) == 4:
            op = "searchListingsItems"
        else:
            op = "patchListingsItem" if req.method == "PATCH" else "getListingsItem"
        req.ops.append(op)
        req.is_write = op == "patchListingsItem"
        req.amz = (op, parts[3], parts[4] if len(parts) == 5 else None)
    elif parts == ["fba", "inventory", "v1", "summaries"]:
        req.ops.append("getInventorySummaries")
        req.amz = ("getInventorySummaries", None, None)
    elif len(parts) in (3, 4) and parts[:2] == ["feeds", FEEDS] and parts[2] in ("documents", "feeds"):
        doc = parts[2] == "documents"
        if len(parts) == 3:
            op = ("createFeedDocument" if doc else "createFeed") if req.method == "POST" else \
                (None if doc else "getFeeds")
        else:
            op = "getFeedDocument" if doc else "getFeed"
        if op:
            req.ops.append(op)
            req.is_write = op == "createFeed"
            req.amz = (op, None, parts[3] if len(parts) == 4 else None)
    elif len(parts) == 2 and parts[0] == "_s3":
        # stands for the pre-signed S3 url of a feed document
        op = "uploadFeedDocument" if req.method == "PUT" else "downloadFeedDocument"
        req.ops.append(op)
        req.amz = (op, None, parts[1])


def _errors(status, code, message, details=None, headers=()):
    e = OrderedDict([("code", code), ("message", message)])
    if details is not None:
        e["details"] = details
    return core.Resp(status, OrderedDict([("errors", [e])]), list(headers))


def fault_response(sim, req, code, hdrs):
    if code == 429:
        return _errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", headers=hdrs)
    if code == 500:
        return _errors(500, "InternalFailure", "We encountered an internal error. Please try again.", headers=hdrs)
    if code == 503:
        return _errors(503, "ServiceUnavailable", "Service is temporarily unavailable.", headers=hdrs)
    return None


def _take(sim, store, kind):
    """One token of the operation's bucket: True when there was one."""
    rate, burst = float(sim.config["amz_%s_rate" % kind]), float(sim.config["amz_%s_burst" % kind])
    b = _rt(sim, store)["buckets"].setdefault(kind, [burst, time.monotonic()])
    now = time.monotonic()
    b[0] = min(burst, b[0] + (now - b[1]) * rate)
    b[1] = now
    if b[0] < 1:
        return False
    b[0] -= 1
    return True


def _apply_due(sim, store):
    """Apply the ACCEPTED patches whose processing time has come (in order)."""
    rt = _rt(sim, store)
    now = time.monotonic()
    st = sim.state[NAME].get(store)
    while rt["pending"] and rt["pending"][0]["due"] <= now:
        p = rt["pending"].pop(0)
        o = st["items"].get(p["sku"]) if st else None
        if o is None:
            continue
        before = o["mfn"]
        o["mfn"] = p["qty"]
        sim.log_write(kind="set", platform=NAME, shop=store, item=o["sku"], sku=o["sku"], location="",
                      before=before, after=p["qty"], delta=p["qty"] - (before or 0),
                      submission_id=p["sid"], idempotency_key=None, request_id=p["rid"])


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return _errors(404, "NotFound", "Resource not found.")
    _apply_due(sim, req.shop)
    _feeds_due(sim, st)
    if req.amz is None:
        return _errors(404, "NotFound", "Resource not found.")
    if req.amz[0] == "token":
        return _token(sim, st, req)
    op, seller, sku = req.amz
    if op in ("uploadFeedDocument", "downloadFeedDocument"):
        return _s3(sim, st, req, sku)
    if op == "getFeeds":
        return _errors(400, "InvalidInput", "getFeeds is not simulated")
    kind = OPS[op]
    want = {"search": ("GET",), "get": ("GET", "PATCH"), "patch": ("GET", "PATCH"), "fba": ("GET",),
            "cdoc": ("POST",), "cfeed": ("POST",), "gfeed": ("GET",), "gdoc": ("GET",)}[kind]
    if req.method not in want:
        return _errors(405, "MethodNotAllowed", "Method not allowed.")
    if not _take(sim, req.shop, kind):
        req.notes.append("over the %s rate" % op)
        return _errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
    rl = [("x-amzn-RateLimit-Limit", repr(float(sim.config["amz_%s_rate" % kind])))]
    tok = (req.headers.get("x-amz-access-token") or "")
    exp = _rt(sim, req.shop)["tokens"].get(tok)
    if not tok:
        r = _errors(403, "Unauthorized", "Access to requested resource is denied.", "")
    elif exp is None:
        r = _errors(403, "Unauthorized", "Access to requested resource is denied.",
                    "The access token you provided is revoked, malformed or invalid.")
    elif exp <= time.monotonic():
        r = _errors(403, "Unauthorized", "Access to requested resource is denied.",
                    "The access token you provided has expired.")
    elif seller is not None and seller != st["seller_id"]:
        r = _errors(403, "Unauthorized", "Access to requested resource is denied.",
                    "The seller is not authorized for this application.")
    else:
        q = {}
        for k, v in req.query_items:
            q[k] = v
        mps = [m for m in q.get("marketplaceIds", "").split(",") if m]
        if kind in ("search", "get", "patch", "fba") and (len(mps) != 1 or mps[0] not in st["marketplaces"]):
            r = _errors(400, "InvalidInput", "Invalid marketplaceIds: %s" % q.get("marketplaceIds", ""))
        elif kind == "search":
            r = _search(sim, st, q)
        elif kind == "get":
            r = _get(st, sku, q)
        elif kind == "patch":
            r = _patch(sim, st, req, sku)
        elif kind == "fba":
            r = _fba(sim, st, q)
        elif kind == "cdoc":
            r = _create_doc(sim, st, req)
        elif kind == "cfeed":
            r = _create_feed(sim, st, req)
        elif kind == "gfeed":
            r = _get_feed(sim, st, sku)
        else:
            r = _get_doc(sim, st, req, sku)
    r.headers.extend(rl)
    return r


def _token(sim, st, req):
    if req.method != "POST":
        return core.Resp(405, {"error": "invalid_request", "error_description": "POST only"})
    f = dict(urllib.parse.parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    if f.get("grant_type") != "refresh_token":
        return core.Resp(400, {"error": "unsupported_grant_type",
                               "error_description": "The authorization grant type is not supported"})
    app = next((a for a in st["apps"] if hmac.compare_digest(a["client_id"].encode(), f.get("client_id", "").encode())
                and hmac.compare_digest(a["client_secret"].encode(), f.get("client_secret", "").encode())), None)
    if app is None:
        return core.Resp(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
    if not hmac.compare_digest(app["refresh_token"].encode(), f.get("refresh_token", "").encode()):
        return core.Resp(400, {"error": "invalid_grant",
                               "error_description": "The request has an invalid grant parameter : refresh_token"})
    ttl = int(sim.config["amz_token_ttl"])
    tok = "Atza|sim-" + secrets.token_hex(24)
    _rt(sim, st["name"])["tokens"][tok] = time.monotonic() + ttl
    return core.Resp(200, OrderedDict([("access_token", tok), ("refresh_token", app["refresh_token"]),
                                       ("token_type", "bearer"), ("expires_in", ttl)]))


def _view(st, o, data):
    e = OrderedDict([("sku", o["sku"])])
    if "summaries" in data:
        e["summaries"] = [OrderedDict([("marketplaceId", st["marketplaces"][0]), ("asin", o["asin"]),
                                       ("productType", o["product_type"]), ("conditionType", "new_new"),
                                       ("status", ["BUYABLE", "DISCOVERABLE"]), ("itemName", o["item_name"])])]
    if "fulfillmentAvailability" in data:
        e["fulfillmentAvailability"] = (
            [OrderedDict([("fulfillmentChannelCode", "AMAZON_NA")])] if o["mfn"] is None else
            [OrderedDict([("fulfillmentChannelCode", "DEFAULT"), ("quantity", o["mfn"])])])
    return e


def _included(q):
    data = [d for d in q.get("includedData", "summaries").split(",") if d]
    return data


def _search(sim, st, q):
    try:
        size = int(q.get("pageSize", "10"))
    except ValueError:
        size = -1
    if not 1 <= size <= int(sim.config["amz_page_max"]):
        return _errors(400, "InvalidInput", "pageSize must be between 1 and %d" % int(sim.config["amz_page_max"]))
    off = 0
    if "pageToken" in q:
        try:
            off = int(base64.urlsafe_b64decode(q["pageToken"].encode()).decode().split(":")[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            return _errors(400, "InvalidInput", "Invalid pageToken")
    skus = sorted(st["items"])
    if "identifiers" in q:
        want = set(x for x in q["identifiers"].split(",") if x)
        skus = [s for s in skus if s in want]
    cap = min(len(skus), int(sim.config["amz_search_max"]))
    page = skus[off:min(off + size, cap)]
    data = _included(q)
    body = OrderedDict([("numberOfResults", len(skus)), ("pagination", OrderedDict()),
                        ("items", [_view(st, st["items"][s], data) for s in page])])
    if off + size < cap:
        body["pagination"]["nextToken"] = base64.urlsafe_b64encode(("o:%d" % (off + size)).encode()).decode()
    if off:
        body["pagination"]["previousToken"] = base64.urlsafe_b64encode(
            ("o:%d" % max(0, off - size)).encode()).decode()
    return core.Resp(200, body)


def _get(st, sku, q):
    o = st["items"].get(sku)
    if o is None:
        return _errors(404, "NOT_FOUND", "SKU '%s' not found in marketplace %s" % (sku, st["marketplaces"][0]))
    return core.Resp(200, _view(st, o, _included(q)))


def _issue(code, message, attr=None):
    return OrderedDict([("code", code), ("message", message), ("severity", "ERROR"),
                        ("attributeNames", [attr] if attr else [])])


def _check(st, sku, ptype, patches):
    """The issues of a patch of a listing's merchant quantity, and the quantity it sets."""
    o = st["items"].get(sku)
    issues, qty = [], None
    if o is None:
        issues.append(_issue("SIM_NO_LISTING", "SKU '%s' has no listing to patch" % sku))
    elif ptype != o["product_type"]:
        issues.append(_issue("SIM_PRODUCT_TYPE", "The product type '%s' does not match the listing's '%s'."
                             % (ptype, o["product_type"])))
    for p in patches:
        v = p.get("value") if isinstance(p, dict) else None
        if not isinstance(p, dict) or p.get("op") not in ("add", "replace") or \
                p.get("path") != "/attributes/fulfillment_availability" or not isinstance(v, list) or len(v) != 1 \
                or not isinstance(v[0], dict) or v[0].get("fulfillment_channel_code") != "DEFAULT":
            issues.append(_issue("SIM_UNSUPPORTED", "Only replace of /attributes/fulfillment_availability "
                                 "[{fulfillment_channel_code: DEFAULT, quantity}] is simulated"))
            continue
        n = v[0].get("quantity")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > 2147483647:
            issues.append(_issue("SIM_QUANTITY", "'quantity' must be a whole number from 0",
                                 "fulfillment_availability"))
            continue
        qty = n
    return issues, qty


def _patch(sim, st, req, sku):
    rt = _rt(sim, st["name"])
    rt["sub"] += 1
    sid = "sim%029d" % rt["sub"]
    try:
        b = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return _errors(400, "InvalidInput", "The request body is not valid JSON.")
    if not isinstance(b, dict) or not isinstance(b.get("productType"), str) or \
            not isinstance(b.get("patches"), list) or not b["patches"]:
        return _errors(400, "InvalidInput", "productType and patches are required.")
    issues, qty = _check(st, sku, b["productType"], b["patches"])
    body = OrderedDict([("sku", sku), ("status", "INVALID" if issues else "ACCEPTED"), ("submissionId", sid),
                        ("issues", issues)])
    if issues or qty is None:
        if not issues:
            body["status"] = "INVALID"
        return core.Resp(200, body)
    rt["pending"].append({"sku": sku, "qty": qty, "sid": sid, "rid": req.rid,
                          "due": time.monotonic() + float(sim.config["amz_apply_ms"]) / 1000.0})
    if float(sim.config["amz_apply_ms"]) <= 0:
        _apply_due(sim, st["name"])
    return core.Resp(200, body)


# ---- FBA inventory summaries -----------------------------------------------------------

def _fba(sim, st, q):
    mkt = st["marketplaces"][0]
    if q.get("granularityType") != "Marketplace" or q.get("granularityId") not in st["marketplaces"]:
        return _errors(400, "InvalidInput", "granularityType must be Marketplace and granularityId a marketplace")
    rt = _rt(sim, st["name"])
    skus = sorted(k for k, o in st["items"].items() if o["fba"] is not None)
    if q.get("sellerSkus"):
        want = [x for x in q["sellerSkus"].split(",") if x]
        if len(want) > 50:
            return _errors(400, "InvalidInput", "sellerSkus: at most 50")
        skus = [k for k in skus if k in set(want)]
    off = 0
    if "nextToken" in q:
        t = rt["fba_tokens"].get(q["nextToken"])
        if t is None or t[1] <= time.monotonic():
            return _errors(400, "InvalidInput", "Invalid or expired nextToken")
        off = t[0]
    size = int(sim.config["amz_fba_page"])
    page = skus[off:off + size]
    details = q.get("details") == "true"
    out = []
    for k in page:
        o, f = st["items"][k], st["items"][k]["fba"]
        e = OrderedDict([("asin", o["asin"]), ("fnSku", "X00" + o["asin"][3:]), ("sellerSku", k),
                         ("condition", "NewItem")])
        if details:
            e["inventoryDetails"] = OrderedDict([
                ("fulfillableQuantity", f["fulfillable"]), ("inboundWorkingQuantity", f["inbound_working"]),
                ("inboundShippedQuantity", f["inbound_shipped"]),
                ("inboundReceivingQuantity", f["inbound_receiving"]),
                ("reservedQuantity", OrderedDict([("totalReservedQuantity", f["reserved"]),
                                                  ("pendingCustomerOrderQuantity", f["reserved"]),
                                                  ("pendingTransshipmentQuantity", 0), ("fcProcessingQuantity", 0)])),
                ("researchingQuantity", OrderedDict([("totalResearchingQuantity", f["researching"]),
                                                     ("researchingQuantityBreakdown", [])])),
                ("unfulfillableQuantity", OrderedDict([("totalUnfulfillableQuantity", f["unfulfillable"]),
                                                       ("customerDamagedQuantity", f["unfulfillable"])]))])
        e["lastUpdatedTime"] = "2026-01-01T00:00:00Z"
        e["productName"] = o["item_name"]
        e["totalQuantity"] = sum(f.values())
        out.append(e)
    body = OrderedDict([("pagination", OrderedDict()), ("payload", OrderedDict([
        ("granularity", OrderedDict([("granularityType", "Marketplace"), ("granularityId", mkt)])),
        ("inventorySummaries", out)]))])
    if off + size < len(skus):
        t = secrets.token_urlsafe(12)
        rt["fba_tokens"][t] = (off + size, time.monotonic() + 30)   # a nextToken lives 30 s
        body["pagination"]["nextToken"] = t
    else:
        del body["pagination"]
    return core.Resp(200, body)


# ---- feeds ------------------------------------------------------------------------------

def _json_body(req):
    try:
        b = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return b if isinstance(b, dict) else None


def _doc_url(sim, st, req, did):
    sig = hmac.new(_rt(sim, st["name"])["key"].encode(), did.encode(), "sha256").hexdigest()
    return "http://%s/amazon/%s/_s3/%s?X-Amz-Signature=%s" % (req.host, st["name"], urllib.parse.quote(did), sig)


def _new_doc(sim, st, ctype, content=None):
    rt = _rt(sim, st["name"])
    rt["sub"] += 1
    did = "amzn1.tortuga.4.na.sim%08d" % rt["sub"]
    rt["docs"][did] = {"ctype": ctype, "content": content}
    return did


def _create_doc(sim, st, req):
    b = _json_body(req)
    if b is None or not isinstance(b.get("contentType"), str) or not b["contentType"]:
        return _errors(400, "InvalidInput", "contentType is required.")
    did = _new_doc(sim, st, b["contentType"])
    return core.Resp(201, OrderedDict([("feedDocumentId", did), ("url", _doc_url(sim, st, req, did))]))


def _s3(sim, st, req, did):
    rt = _rt(sim, st["name"])
    d = rt["docs"].get(did)
    q = dict(req.query_items)
    want = hmac.new(rt["key"].encode(), did.encode(), "sha256").hexdigest()
    if d is None or not hmac.compare_digest(want, q.get("X-Amz-Signature", "")):
        return core.Resp(403, b"<Error><Code>AccessDenied</Code></Error>", ctype="application/xml")
    if req.headers.get("x-amz-access-token"):
        req.notes.append("an access token was sent to the document url")
        return core.Resp(400, b"<Error><Code>InvalidArgument</Code><Message>unexpected "
                              b"x-amz-access-token</Message></Error>", ctype="application/xml")
    if req.method == "PUT":
        if (req.headers.get("Content-Type") or "") != d["ctype"]:
            return core.Resp(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", ctype="application/xml")
        d["content"] = bytes(req.body)
        return core.Resp(200, b"", ctype=None)
    if req.method != "GET" or d["content"] is None:
        return core.Resp(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
    return core.Resp(200, d["content"], ctype=d["ctype"])


def _create_feed(sim, st, req):
    b = _json_body(req)
    rt = _rt(sim, st["name"])
    if b is None or b.get("feedType") != "JSON_LISTINGS_FEED" or \
            b.get("marketplaceIds") != [st["marketplaces"][0]] or b.get("inputFeedDocumentId") not in rt["docs"]:
        return _errors(400, "InvalidInput", "feedType JSON_LISTINGS_FEED, marketplaceIds and an existing "
                                            "inputFeedDocumentId are required (only these are simulated).")
    rt["sub"] += 1
    fid = str(50000000000 + rt["sub"])
    rt["feeds"][fid] = {"id": fid, "doc": b["inputFeedDocumentId"], "status": "IN_QUEUE", "result": None,
                        "created": time.time(), "rid": req.rid,
                        "due": time.monotonic() + float(sim.config["amz_feed_ms"]) / 1000.0}
    sim.log_write(kind="feed", platform=NAME, shop=st["name"], item=None, sku=None, location="",
                  feed_id=fid, request_id=req.rid)
    return core.Resp(202, OrderedDict([("feedId", fid)]))


def _get_feed(sim, st, fid):
    f = _rt(sim, st["name"])["feeds"].get(fid)
    if f is None:
        return _errors(404, "NotFound", "The feed %s was not found." % fid)
    if f["status"] == "IN_QUEUE" and time.monotonic() >= f["due"] - float(sim.config["amz_feed_ms"]) / 2000.0:
        f["status"] = "IN_PROGRESS"
    body = OrderedDict([("feedId", fid), ("feedType", "JSON_LISTINGS_FEED"),
                        ("marketplaceIds", [st["marketplaces"][0]]),
                        ("createdTime", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(f["created"]))),
                        ("processingStatus", f["status"])])
    if f["result"]:
        body["resultFeedDocumentId"] = f["result"]
    return core.Resp(200, body)


def _get_doc(sim, st, req, did):
    d = _rt(sim, st["name"])["docs"].get(did)
    if d is None:
        return _errors(404, "NotFound", "The feed document %s was not found." % did)
    return core.Resp(200, OrderedDict([("feedDocumentId", did), ("url", _doc_url(sim, st, req, did))]))


def _feeds_due(sim, st):
    """Process the feeds whose time has come (in order): apply every valid message."""
    rt = _rt(sim, st["name"])
    now = time.monotonic()
    for f in rt["feeds"].values():
        if f["status"] not in ("IN_QUEUE", "IN_PROGRESS") or f["due"] > now:
            continue
        end = int(sim.config["amz_feed_end"])
        if end == 1:
            f["status"] = "CANCELLED"
            continue
        if end == 2:
            f["status"] = "FATAL"
            continue
        content = rt["docs"][f["doc"]]["content"]
        issues, n, acc = [], 0, 0
        try:
            doc = json.loads(content.decode("utf-8")) if content is not None else None
        except (ValueError, UnicodeDecodeError):
            doc = None
        h = doc.get("header") if isinstance(doc, dict) else None
        msgs = doc.get("messages") if isinstance(doc, dict) else None
        if not isinstance(h, dict) or h.get("sellerId") != st["seller_id"] or h.get("version") != "2.0" \
                or not isinstance(msgs, list):
            f["status"] = "FATAL"
            issues.append(OrderedDict([("code", "SIM_FEED"), ("severity", "ERROR"),
                                       ("message", "The feed is not a JSON_LISTINGS_FEED of this seller.")]))
            msgs = []
        seen = set()
        for m in msgs:
            n += 1
            mid = m.get("messageId") if isinstance(m, dict) else None
            if isinstance(mid, bool) or not isinstance(mid, int) or mid < 1 or mid in seen:
                issues.append(OrderedDict([("code", "SIM_MESSAGE_ID"), ("severity", "ERROR"),
                                           ("message", "messageId must be a unique whole number from 1")]))
                continue
            seen.add(mid)
            sku = m.get("sku")
            if m.get("operationType") != "PATCH" or not isinstance(sku, str) or \
                    not isinstance(m.get("productType"), str) or not isinstance(m.get("patches"), list):
                mi = [_issue("SIM_UNSUPPORTED", "Only PATCH messages with sku, productType and patches are "
                                                "simulated")]
                qty = None
            else:
                mi, qty = _check(st, sku, m["productType"], m["patches"])
            if mi or qty is None:
                for x in mi or [_issue("SIM_UNSUPPORTED", "no quantity to set")]:
                    e = OrderedDict([("messageId", mid), ("code", x["code"]), ("severity", "ERROR"),
                                     ("message", x["message"])])
                    if x["attributeNames"]:
                        e["attributeName"] = x["attributeNames"][0]
                    issues.append(e)
                continue
            acc += 1
            o = st["items"][sku]
            before = o["mfn"]
            o["mfn"] = qty
            sim.log_write(kind="set", platform=NAME, shop=st["name"], item=sku, sku=sku, location="",
                          before=before, after=qty, delta=qty - (before or 0), submission_id=None,
                          feed_id=f["id"], message_id=mid, idempotency_key=None, request_id=f["rid"])
        rep = OrderedDict([
            ("header", OrderedDict([("sellerId", st["seller_id"]), ("version", "2.0"), ("feedId", f["id"])])),
            ("issues", issues),
            ("summary", OrderedDict([("errors", len(issues)), ("warnings", 0), ("messagesProcessed", n),
                                     ("messagesAccepted", acc), ("messagesInvalid", n - acc)]))])
        f["result"] = _new_doc(sim, st, "application/json", json.dumps(rep).encode())
        if f["status"] != "FATAL":
            f["status"] = "DONE"


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    return [(o["sku"], "") for o in model[store]["items"].values()
            if o["mfn"] is not None and (o["mfn"] >= qty or (allow_negative and o["mfn"] > 0))]


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    st = model[store]
    if sim is not None:
        _apply_due(sim, store)
    o = st["items"].get(sku if sku is not None else item)
    if o is None:
        raise core.SimError(404, "no such SKU in store %s" % store)
    if o["mfn"] is None:
        raise core.SimError(409, "SKU %s is fulfilled by Amazon (no merchant quantity)" % o["sku"])
    if o["mfn"] < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d" % o["mfn"])
    before = o["mfn"]
    o["mfn"] = max(0, before - qty)
    return OrderedDict([("platform", NAME), ("shop", store), ("item", o["sku"]), ("sku", o["sku"]),
                        ("location", ""), ("before", before), ("after", o["mfn"]), ("delta", o["mfn"] - before)])
