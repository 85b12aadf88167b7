"""Walmart Marketplace (US) for the invkit simulator: the client-credentials Token API and the
Inventory API (the multi-node list, one SKU at one ship node, and its update), with the
common WM_* headers and per-endpoint token buckets.

URLs: [http://127.0.0.1:PORT/walmart/<store>]/v3/...  (base_url in brackets stands for
https://marketplace.walmartapis.com).

Facts mirrored, with their source:
  - POST /v3/token, header Authorization: Basic base64(client_id:client_secret), form body
    grant_type=client_credentials -> {access_token, token_type, expires_in}; the access token
    lives 15 minutes (900 s) and goes in WM_SEC.ACCESS_TOKEN on every call.
    https://developer.walmart.com/us-marketplace/docs/get-an-access-token
    https://developer.walmart.com/us-marketplace/reference/tokenapi
  - Common headers WM_SEC.ACCESS_TOKEN, WM_QOS.CORRELATION_ID (an id per call, a UUID is
    recommended), WM_SVC.NAME.  https://developer.walmart.com/us-marketplace/docs/error-codes
  - GET /v3/inventories?limit=&nextCursor= -> {meta {totalCount, nextCursor}, elements
    {inventories [{sku, nodes [{shipNode, inputQty, availToSellQty, reservedQty}]}]}},
    10 items by default, at most 50; nextCursor only while more pages exist.
    https://developer.walmart.com/us-marketplace/docs/return-your-entire-item-list
  - GET /v3/inventory?sku=[&shipNode=] -> {sku, quantity {unit, amount}} at that ship node,
    the default node without shipNode; PUT /v3/inventory?sku=[&shipNode=] with {sku,
    quantity {unit: "EACH", amount}} sets it (absolute).
    https://developer.walmart.com/us-marketplace/docs/inventory-api-overview
    https://developer.walmart.com/us-marketplace/docs/update-single-item-inventory
  - POST /v3/feeds?feedType=inventory[&shipNode=] uploads a bulk inventory feed (spec 1.4, one
    ship node per file, the default node without one) as multipart/form-data, field "file":
    {"InventoryHeader": {"version": "1.4"}, "Inventory": [{sku, quantity {unit, amount}}]};
    the answer is {"feedId"}; at most 5 MB a file; processed asynchronously.
    https://developer.walmart.com/us-marketplace/docs/bulk-inventory
    https://developer.walmart.com/us-marketplace/reference/post_v3-feeds
  - GET /v3/feeds/{feedId}?includeDetails=true&offset=&limit= (limit at most 1000, default 50)
    -> {feedId, feedStatus RECEIVED|INPROGRESS|PROCESSED|ERROR, feedSubmissionDate (epoch ms),
    itemsReceived, itemsSucceeded, itemsFailed, itemsProcessing, offset, limit, itemDetails
    {itemIngestionStatus [{sku, index, ingestionStatus SUCCESS|DATA_ERROR|SYSTEM_ERROR|
    TIMEOUT_ERROR, ingestionErrors {ingestionError [{type, code, field, description}]}}]}};
    a feed in ERROR processed nothing and carries ingestionErrors at the feed level.
    https://developer.walmart.com/us-marketplace/docs/feed-item-status-api-for-tracking-fitment-files
    https://developer.walmart.com/suppliers/docs/understanding-statuses-available-for-feeds
  - GET /v3/feeds -> {totalResults, offset, limit, results {feed [{feedId, feedType, feedStatus,
    itemsReceived, itemsSucceeded, itemsFailed, itemsProcessing, feedDate, modifiedDtm}]}},
    newest first (the order is UNVERIFIED).
    https://developer.walmart.com/us-marketplace/docs/list-all-feed-statuses
  - Errors: {"errors": [{code, message, category, severity, field?}]}; 429 over a rate limit.
    https://developer.walmart.com/us-marketplace/docs/error-codes
    https://developer.walmart.com/us-marketplace/docs/throttling
UNVERIFIED (drivers must be right either way): the names and format of the rate headers
(x-current-token-count = tokens left, x-next-replenish-time = epoch milliseconds of the next
token, as in Walmart's supplier/DSV pages, which spell the second X-Next-Replenishment-Time:
both are sent here); the bucket sizes and refill rates (knobs); the error codes and texts of
401, 404 and 429; that an unknown SKU or a SKU with no record at the node reads as 404; that
a PUT creates the record at a known node; that an order lowers inputQty (here a sale does,
and reservedQty stays as the state says); the feed error codes and texts, and whether a feed
item carries its shipNode (here not: one node per file); the shipNode query parameter of the
feed upload; that a feed item for a SKU with no record at the node creates it (here it does,
as the PUT).  Feeds are processed wm_feed_delay seconds after their upload, all at once (the
race window: a sale landing in between is overwritten).  An item's "feed_fault" (state) makes
its line end SYSTEM_ERROR or TIMEOUT_ERROR, or leaves it out of the report ("OMIT");
wm_feed_error makes the next that many feeds end in ERROR as a whole.
"""

import base64
import hmac
import json
import math
import random
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "walmart"
CONFIG = OrderedDict([
    ("wm_token_ttl", 900),          # seconds an access token lives (documented: 900)
    ("wm_bucket", 50),              # tokens of each endpoint's bucket (UNVERIFIED)
    ("wm_refill_per_s", 10),        # tokens restored per second (UNVERIFIED)
    ("wm_page_max", 50),            # largest `limit` of GET /v3/inventories (documented)
    ("wm_feed_delay", 1.0),         # seconds from a feed's upload to its processing (knob)
    ("wm_feed_max_bytes", 5242880), # largest feed upload (documented: 5 MB)
    ("wm_feed_page_max", 1000),     # lines a feed status page holds at most (documented 1000)
    ("wm_feed_error", 0),           # the next N feeds end in ERROR as a whole (knob)
])
FEED_FAULTS = ("SYSTEM_ERROR", "TIMEOUT_ERROR", "OMIT")
DEFAULT_LIMIT = 10                  # documented: "returns only 10 items" without parameters
ROUTES = [  # (method, path, op, write)
    ("POST", ("v3", "token"), "token", False),
    ("GET", ("v3", "inventories"), "inventories", False),
    ("GET", ("v3", "inventory"), "inventory", False),
    ("PUT", ("v3", "inventory"), "inventory/update", True),
    ("POST", ("v3", "feeds"), "feeds/upload", True),
    ("GET", ("v3", "feeds"), "feeds", False),
]


def _int(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        raise core.BadState(what + " must be an integer")
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {client_id, client_secret, default_node, nodes, items}} -> the model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "walmart.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"client_id", "client_secret", "default_node", "nodes", "items"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("client_id", "client_secret"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s.%s must be a non-empty string" % (what, k))
        nodes = s.get("nodes") or ["DEFAULT"]
        if not isinstance(nodes, list) or not all(isinstance(n, str) and n for n in nodes):
            raise core.BadState(what + ".nodes must be a list of ship node ids")
        dflt = s.get("default_node", nodes[0])
        if dflt not in nodes:
            raise core.BadState(what + ".default_node must be one of nodes")
        st = {"name": name, "client_id": s["client_id"], "client_secret": s["client_secret"],
              "default_node": dflt, "nodes": list(nodes), "items": OrderedDict()}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict) or not isinstance(it.get("sku"), str) or not it["sku"]:
                raise core.BadState(iw + " must be an object with a sku")
            if it["sku"] in st["items"]:
                raise core.BadState("%s: duplicate sku %s" % (iw, it["sku"]))
            o = {"sku": it["sku"], "levels": {}, "reserved": {}}
            if it.get("feed_fault") is not None:
                if it["feed_fault"] not in FEED_FAULTS:
                    raise core.BadState("%s.feed_fault must be one of %s" % (iw, ", ".join(FEED_FAULTS)))
                o["feed_fault"] = it["feed_fault"]
            for key, dst in (("levels", "levels"), ("reserved", "reserved")):
                m = it.get(key) or {}
                if not isinstance(m, dict):
                    raise core.BadState("%s.%s must be an object" % (iw, key))
                for node, q in m.items():
                    if node not in nodes:
                        raise core.BadState("%s.%s: no ship node %s" % (iw, key, node))
                    o[dst][node] = _int(q, "%s.%s.%s" % (iw, key, node))
            st["items"][o["sku"]] = o
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        items = []
        for o in st["items"].values():
            e = OrderedDict([("sku", o["sku"]), ("levels", dict(sorted(o["levels"].items())))])
            if o["reserved"]:
                e["reserved"] = dict(sorted(o["reserved"].items()))
            if o.get("feed_fault"):
                e["feed_fault"] = o["feed_fault"]
            items.append(e)
        out[name] = OrderedDict([("client_id", st["client_id"]), ("client_secret", st["client_secret"]),
                                 ("default_node", st["default_node"]), ("nodes", list(st["nodes"])),
                                 ("items", items)])
    return out


def sample(n, seed):
    """Store "demo" (client wm_sim_id / wm_sim_secret; ship nodes 701 (default) and 702) with n
    SKUs WM-00001...: every 3rd has no record at 702, every 5th has 1 reserved at 701."""
    rng = random.Random("invkit-sim-walmart-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    items = []
    for i in range(1, n + 1):
        e = {"sku": "WM-%05d" % i, "levels": {"701": rng.choice(qtys)}}
        if i % 3:
            e["levels"]["702"] = rng.choice(qtys)
        if i % 5 == 0:
            e["reserved"] = {"701": 1}
        items.append(e)
    return {"demo": {"client_id": "wm_sim_id", "client_secret": "wm_sim_secret", "default_node": "701",
                     "nodes": ["701", "702"], "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    parts = tuple(p for p in req.rest.split("/") if p)
    req.is_write = False
    req.wm_route = None
    req.wm_feed = None
    if len(parts) == 3 and parts[:2] == ("v3", "feeds") and req.method == "GET":
        req.ops.append("feeds/status")
        req.wm_route = "feeds/status"
        req.wm_feed = urllib.parse.unquote(parts[2])
        return
    for method, pat, op, write in ROUTES:
        if pat == parts and method == req.method:
            req.ops.append(op)
            req.is_write = write
            req.wm_route = op
            return
    req.is_write = req.method in ("POST", "PUT", "PATCH", "DELETE") and parts != ("v3", "token")


def err(status, code, message, category="DATA", field=None, headers=()):
    e = OrderedDict([("code", code), ("message", message), ("category", category), ("severity", "ERROR")])
    if field:
        e["field"] = field
    return core.Resp(status, OrderedDict([("errors", [e])]), list(headers))


def _rt(sim, store):
    return sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"tokens": {}, "buckets": {}, "n": 0})


def _take(sim, store, op):
    """One token of the endpoint's bucket: (allowed, headers)."""
    b = _rt(sim, store)["buckets"]
    size, rate = float(sim.config["wm_bucket"]), max(0.001, float(sim.config["wm_refill_per_s"]))
    now = time.time()
    have, t = b.get(op, (size, now))
    have = min(size, have + (now - t) * rate)
    ok = have >= 1
    if ok:
        have -= 1
    b[op] = (have, now)
    nxt = math.ceil((now if have >= 1 else now + (1 - have) / rate) * 1000)
    return ok, [("x-current-token-count", str(int(have))), ("x-next-replenish-time", str(nxt)),
                ("X-Next-Replenishment-Time", str(nxt))]


def fault_response(sim, req, code, hdrs):
    if code == 429:
        nxt = str(int(time.time() * 1000) + 200)
        return err(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too many requests",
                   "REQUEST", headers=hdrs + [("x-current-token-count", "0"), ("x-next-replenish-time", nxt),
                                              ("X-Next-Replenishment-Time", nxt)])
    if code == 500:
        return err(500, "SYSTEM_ERROR.GMP_GATEWAY_API", "Internal server error", "SYSTEM", headers=hdrs)
    return None


def _query(req):
    q = {}
    for k, v in req.query_items:
        q.setdefault(k, v)
    return q


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return err(404, "NOT_FOUND.GMP_GATEWAY_API", "Not found", "REQUEST")
    if req.wm_route is None:
        return err(404, "NOT_FOUND.GMP_GATEWAY_API", "The resource is not found", "REQUEST")
    _process_feeds(sim, st)
    ok, rl = _take(sim, req.shop, req.wm_route)
    if not ok:
        req.notes.append("over the %s bucket" % req.wm_route)
        return err(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too many requests", "REQUEST", headers=rl)
    for h in ("WM_QOS.CORRELATION_ID", "WM_SVC.NAME"):
        if not req.headers.get(h):
            r = err(400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "Missing header %s" % h, "REQUEST", h)
            r.headers.extend(rl)
            return r
    req.notes.append("correlation %s" % req.headers.get("WM_QOS.CORRELATION_ID"))
    if req.wm_route == "token":
        r = _token(sim, st, req)
    else:
        tok = req.headers.get("WM_SEC.ACCESS_TOKEN") or ""
        exp = _rt(sim, req.shop)["tokens"].get(tok)
        if exp is None or exp <= time.time():
            r = err(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized token or token expired",
                    "DATA", "WM_SEC.ACCESS_TOKEN")
        elif req.wm_route == "inventories":
            r = _list(sim, st, _query(req))
        elif req.wm_route == "inventory":
            r = _get(st, _query(req))
        elif req.wm_route == "feeds/upload":
            r = _feed_upload(sim, st, req, _query(req))
        elif req.wm_route == "feeds":
            r = _feed_list(sim, st)
        elif req.wm_route == "feeds/status":
            r = _feed_status(sim, st, req.wm_feed, _query(req))
        else:
            r = _put(sim, st, req, _query(req))
    r.headers.extend(rl)
    return r


def _token(sim, st, req):
    auth = req.headers.get("Authorization") or ""
    want = base64.b64encode(("%s:%s" % (st["client_id"], st["client_secret"])).encode()).decode()
    if not auth.startswith("Basic ") or not hmac.compare_digest(auth[6:].strip().encode(), want.encode()):
        return err(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized client id or client secret",
                   "DATA", "Authorization")
    form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"))
    if form.get("grant_type") != ["client_credentials"]:
        return err(400, "INVALID_REQUEST_PARAM.GMP_GATEWAY_API", "grant_type must be client_credentials",
                   "DATA", "grant_type")
    rt = _rt(sim, st["name"])
    rt["n"] += 1
    tok = "wmtok-%s-%d-%d" % (st["name"], rt["n"], random.getrandbits(48))
    ttl = int(sim.config["wm_token_ttl"])
    rt["tokens"][tok] = time.time() + ttl
    return core.Resp(200, OrderedDict([("access_token", tok), ("token_type", "Bearer"), ("expires_in", ttl)]))


def _node(st, q):
    node = q.get("shipNode", st["default_node"])
    if node not in st["nodes"]:
        return None, err(400, "INVALID_REQUEST_PARAM.GMP_INVENTORY_API", "shipNode %s is not one of the seller's"
                         % node, "DATA", "shipNode")
    return node, None


def _qty(n):
    return OrderedDict([("unit", "EACH"), ("amount", n)])


def _list(sim, st, q):
    try:
        limit = int(q.get("limit", str(DEFAULT_LIMIT)))
    except ValueError:
        limit = -1
    if not 1 <= limit <= int(sim.config["wm_page_max"]):
        return err(400, "INVALID_REQUEST_PARAM.GMP_INVENTORY_API", "limit must be 1..%d" % int(sim.config["wm_page_max"]),
                   "DATA", "limit")
    skus = sorted(st["items"])
    start = 0
    if "nextCursor" in q:
        try:
            start = int(base64.urlsafe_b64decode(q["nextCursor"].encode()).decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            return err(400, "INVALID_REQUEST_PARAM.GMP_INVENTORY_API", "nextCursor is not valid", "DATA", "nextCursor")
    page = skus[start:start + limit]
    invs = []
    for s in page:
        o = st["items"][s]
        nodes = []
        for node, amt in sorted(o["levels"].items()):
            res = o["reserved"].get(node, 0)
            nodes.append(OrderedDict([("shipNode", node), ("inputQty", _qty(amt)),
                                      ("availToSellQty", _qty(amt - res)), ("reservedQty", _qty(res))]))
        invs.append(OrderedDict([("sku", s), ("nodes", nodes)]))
    meta = OrderedDict([("totalCount", len(skus))])
    if start + limit < len(skus):
        meta["nextCursor"] = base64.urlsafe_b64encode(("o:%d" % (start + limit)).encode()).decode()
    return core.Resp(200, OrderedDict([("meta", meta), ("elements", OrderedDict([("inventories", invs)]))]))


def _get(st, q):
    node, bad = _node(st, q)
    if bad:
        return bad
    o = st["items"].get(q.get("sku", ""))
    if o is None or node not in o["levels"]:
        return err(404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API", "No inventory found for the sku at the ship node",
                   "DATA", "sku")
    return core.Resp(200, OrderedDict([("sku", o["sku"]), ("quantity", _qty(o["levels"][node]))]))


def _put(sim, st, req, q):
    node, bad = _node(st, q)
    if bad:
        return bad
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return err(400, "INVALID_REQUEST.GMP_INVENTORY_API", "The body is not JSON", "DATA")
    qty = body.get("quantity") if isinstance(body, dict) else None
    if not isinstance(qty, dict) or body.get("sku") != q.get("sku") or qty.get("unit") != "EACH" or \
            isinstance(qty.get("amount"), bool) or not isinstance(qty.get("amount"), int) or \
            not 0 <= qty["amount"] <= 2147483647:
        return err(400, "INVALID_REQUEST.GMP_INVENTORY_API",
                   "Body must be {sku (as in the query), quantity {unit: EACH, amount >= 0}}", "DATA", "quantity")
    o = st["items"].get(q["sku"])
    if o is None:
        return err(404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API", "Item not found for the sku", "DATA", "sku")
    before = o["levels"].get(node)
    o["levels"][node] = qty["amount"]
    sim.log_write(kind="set", platform=NAME, shop=st["name"], item=o["sku"], sku=o["sku"], location=node,
                  before=before, after=qty["amount"], delta=qty["amount"] - (before or 0),
                  idempotency_key=None, request_id=req.rid)
    return core.Resp(200, OrderedDict([("sku", o["sku"]), ("quantity", _qty(qty["amount"]))]))


# ---- feeds ------------------------------------------------------------------------------

def _feeds(sim, store):
    return _rt(sim, store).setdefault("feeds", OrderedDict())


def _multipart_file(req):
    """The bytes of the form field "file" of a multipart/form-data body, or None."""
    ctype = req.headers.get("Content-Type") or ""
    if ctype.split(";")[0].strip().lower() != "multipart/form-data":
        return None
    bnd = None
    for p in ctype.split(";")[1:]:
        k, _, v = p.strip().partition("=")
        if k.lower() == "boundary":
            bnd = v.strip('"')
    if not bnd:
        return None
    for part in req.body.split(b"--" + bnd.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if b'name="file"' in head:
            return data[:-2] if data.endswith(b"\r\n") else data
    return None


def _feed_upload(sim, st, req, q):
    if q.get("feedType") != "inventory":
        return err(400, "INVALID_REQUEST_PARAM.GMP_GATEWAY_API", "feedType must be inventory here", "DATA",
                   "feedType")
    node = st["default_node"]
    if "shipNode" in q:
        node, bad = _node(st, q)
        if bad:
            return bad
    if len(req.body) > int(sim.config["wm_feed_max_bytes"]):
        return err(413, "REQUEST_ENTITY_TOO_LARGE.GMP_GATEWAY_API", "The feed file is over the size limit",
                   "REQUEST", "file")
    data = _multipart_file(req)
    if data is None:
        return err(400, "INVALID_REQUEST.GMP_GATEWAY_API", "Expected multipart/form-data with a file part",
                   "DATA", "file")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return err(400, "INVALID_REQUEST.GMP_INVENTORY_API", "The feed file is not JSON", "DATA", "file")
    inv = doc.get("Inventory") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("InventoryHeader") != {"version": "1.4"} or not isinstance(inv, list) \
            or not inv:
        return err(400, "INVALID_REQUEST.GMP_INVENTORY_API",
                   "The feed must be {InventoryHeader {version 1.4}, Inventory [...]}", "DATA", "file")
    items = []
    for e in inv:
        qty = e.get("quantity") if isinstance(e, dict) else None
        if not isinstance(e, dict) or not isinstance(e.get("sku"), str) or not isinstance(qty, dict) or \
                qty.get("unit") != "EACH" or isinstance(qty.get("amount"), bool) or \
                not isinstance(qty.get("amount"), int):
            return err(400, "INVALID_REQUEST.GMP_INVENTORY_API",
                       "Each Inventory line must be {sku, quantity {unit: EACH, amount}}", "DATA", "file")
        items.append((e["sku"], qty["amount"]))
    rt = _rt(sim, st["name"])
    rt["nfeeds"] = rt.get("nfeeds", 0) + 1
    fid = "%032X@AQMBAQA" % random.getrandbits(128)
    now = time.time()
    f = {"id": fid, "node": node, "items": items, "date": int(now * 1000), "ready": now + float(sim.config["wm_feed_delay"]),
         "status": "RECEIVED", "results": None, "error": False, "rid": req.rid, "modified": int(now * 1000)}
    if int(sim.config["wm_feed_error"]) > 0:
        sim.config["wm_feed_error"] = int(sim.config["wm_feed_error"]) - 1
        f["error"] = True
    _feeds(sim, st["name"])[fid] = f
    req.notes.append("feed %s: %d items at ship node %s, %d bytes" % (fid, len(items), node, len(req.body)))
    return core.Resp(200, OrderedDict([("feedId", fid)]))


def _ierr(typ, code, desc, field="sku"):
    return OrderedDict([("ingestionError", [OrderedDict([("type", typ), ("code", code), ("field", field),
                                                           ("description", desc)])])])


def _process_feeds(sim, st):
    """Process every feed whose time has come: each line is one absolute set, as a PUT."""
    now = time.time()
    for f in _feeds(sim, st["name"]).values():
        if f["status"] not in ("RECEIVED", "INPROGRESS") or f["ready"] > now:
            continue
        f["modified"] = int(now * 1000)
        if f["error"]:
            f["status"] = "ERROR"
            continue
        res = []
        for i, (sku, amt) in enumerate(f["items"]):
            o = st["items"].get(sku)
            line = OrderedDict([("martId", 0), ("sku", sku), ("wpid", ""), ("index", i), ("itemid", "")])
            fault = o.get("feed_fault") if o else None
            if fault == "OMIT":
                continue
            if o is None:
                line["ingestionStatus"] = "DATA_ERROR"
                line["ingestionErrors"] = _ierr("DATA_ERROR", "ERR_EXT_DATA_0101001", "SKU %s was not found" % sku)
            elif not 0 <= amt <= 2147483647:
                line["ingestionStatus"] = "DATA_ERROR"
                line["ingestionErrors"] = _ierr("DATA_ERROR", "ERR_EXT_DATA_0101015",
                                                "Quantity amount must be between 0 and 2147483647", "quantity")
            elif fault:
                line["ingestionStatus"] = fault
                line["ingestionErrors"] = _ierr(fault, "ERR_INT_SYS_0000001" if fault == "SYSTEM_ERROR"
                                                else "ERR_INT_TMO_0000001",
                                                "Internal error, retry later" if fault == "SYSTEM_ERROR"
                                                else "Timed out, retry later", "")
            else:
                before = o["levels"].get(f["node"])
                o["levels"][f["node"]] = amt
                sim.log_write(kind="set", platform=NAME, shop=st["name"], item=sku, sku=sku, location=f["node"],
                              before=before, after=amt, delta=amt - (before or 0), idempotency_key=None,
                              request_id=f["rid"], feed=f["id"])
                line["ingestionStatus"] = "SUCCESS"
                line["ingestionErrors"] = OrderedDict([("ingestionError", None)])
            res.append(line)
        f["results"] = res
        f["status"] = "PROCESSED"


def _feed_counts(f):
    n = len(f["items"])
    if f["status"] != "PROCESSED":
        return n, 0, 0, (0 if f["status"] == "ERROR" else n)
    ok = sum(1 for x in f["results"] if x["ingestionStatus"] == "SUCCESS")
    return n, ok, n - ok, 0


def _feed_list(sim, st):
    feeds = list(_feeds(sim, st["name"]).values())[::-1]
    out = []
    for f in feeds[:50]:
        n, ok, bad, proc = _feed_counts(f)
        out.append(OrderedDict([("feedId", f["id"]), ("feedSource", "MARKETPLACE_PARTNER"), ("feedType", "inventory"),
                                ("partnerId", "10000001"), ("itemsReceived", n), ("itemsSucceeded", ok),
                                ("itemsFailed", bad), ("itemsProcessing", proc), ("feedStatus", f["status"]),
                                ("feedDate", f["date"]), ("batchId", "HP_REQUEST_BATCH"),
                                ("modifiedDtm", f["modified"])]))
    return core.Resp(200, OrderedDict([("totalResults", len(feeds)), ("offset", 0), ("limit", 50),
                                       ("results", OrderedDict([("feed", out)]))]))


def _feed_status(sim, st, fid, q):
    f = _feeds(sim, st["name"]).get(fid)
    if f is None:
        return err(404, "CONTENT_NOT_FOUND.GMP_FEED_API", "No feed with this feedId", "DATA", "feedId")
    n, ok, bad, proc = _feed_counts(f)
    try:
        offset, limit = int(q.get("offset", "0")), int(q.get("limit", "50"))
    except ValueError:
        offset = limit = -1
    if offset < 0 or not 1 <= limit <= 1000:
        return err(400, "INVALID_REQUEST_PARAM.GMP_FEED_API", "offset must be >= 0 and limit 1..1000",
                   "DATA", "limit")
    limit = min(limit, int(sim.config["wm_feed_page_max"]))  # the knob: smaller pages, to test paging
    out = OrderedDict([("feedId", f["id"]), ("feedStatus", f["status"]), ("shipNode", None),
                       ("submittedBy", None), ("feedSubmissionDate", f["date"])])
    if f["status"] == "ERROR":
        out["ingestionErrors"] = _ierr("SYSTEM_ERROR", "ERR_INT_SYS_0000002", "The feed could not be processed", "")
    out.update([("itemsReceived", n), ("itemsSucceeded", ok), ("itemsFailed", bad), ("itemsProcessing", proc),
                ("offset", offset), ("limit", limit)])
    lines = []
    if q.get("includeDetails") == "true" and f["status"] == "PROCESSED":
        lines = f["results"][offset:offset + limit]
    out["itemDetails"] = OrderedDict([("itemIngestionStatus", lines)])
    return core.Resp(200, out)


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    out = []
    for o in model[store]["items"].values():
        for node, amt in sorted(o["levels"].items()):
            if amt >= qty or (allow_negative and amt > 0):
                out.append((o["sku"], node))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the node's input quantity down by qty.  Raises core.SimError."""
    st = model[store]
    o = st["items"].get(item if item is not None else sku)
    if o is None:
        raise core.SimError(404, "no such sku in store %s" % store)
    if location is None:
        if not o["levels"]:
            raise core.SimError(409, "sku has no inventory at any ship node")
        location = sorted(o["levels"], key=lambda n: (-o["levels"][n], n))[0]
    location = str(location)
    if location not in o["levels"]:
        raise core.SimError(409, "sku has no record at ship node %s" % location)
    before = o["levels"][location]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d" % before)
    o["levels"][location] -= qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", o["sku"]), ("sku", o["sku"]),
                        ("location", location), ("before", before), ("after", before - qty), ("delta", -qty)])
