"""TikTok Shop for the invkit simulator: the Partner API, version 202309 (product search,
inventory search, inventory update), with signed requests checked independently of the
driver.

URLs: [http://127.0.0.1:PORT/tiktok/<shop>]/product/202309/...  (base_url in brackets stands
for https://open-api.tiktokglobalshop.com).

Facts mirrored, with their source (TikTok Shop Partner Center, partner.tiktokshop.com/docv2;
its pages are reproduced field by field in github.com/lywzx/tiktok-partner-api,
packages/tk-origin-api/src/products/):
  - Query parameters app_key, timestamp (Unix seconds), shop_cipher, sign; header
    x-tts-access-token.  sign = hex HMAC-SHA256 keyed by the app secret of app_secret + path +
    the query parameters but sign and access_token, sorted by key, each key then value + the
    body (not for multipart/form-data) + app_secret.  "Sign your API request".  A wrong sign:
    HTTP 401 {"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is
    invalid. ..."} (an answer captured from open-api.tiktokglobalshop.com).
  - Envelope {code, message, request_id, data}; code 0 is success.
  - POST /product/202309/products/search?page_size=(1..100)&page_token= with filters in the
    body (status, seller_skus); data {products [{id, title, status, skus [{id, seller_sku,
    price, inventory [{warehouse_id, quantity}]}], create_time, update_time}], total_count,
    next_page_token}.  "Search Products".
  - POST /product/202309/inventory/search {"product_ids" (<= 100) | "sku_ids" (<= 600; wins
    when both)}: data.inventory [{product_id, skus [{id, seller_sku, total_available_quantity,
    total_committed_quantity, warehouse_inventory [{warehouse_id, available_quantity,
    committed_quantity}]}]}].  "Inventory Search".
  - POST /product/202309/products/{product_id}/inventory/update {"skus": [{"id", "inventory":
    [{"warehouse_id", "quantity"}]}]}: quantity after the change, 0 to less than 99999; only
    SKUs in live status; the answer's data.errors [{code, message, detail {sku_id,
    extra_errors [{warehouse_id, code, message}]}}].  "Update Inventory".
  - Refresh mode: GET https://auth.tiktok-shops.com/api/v2/token/refresh?app_key=&app_secret=
    &refresh_token=&grant_type=refresh_token (no sign, no shop) answers {code, message,
    request_id, data {access_token, access_token_expire_in, refresh_token,
    refresh_token_expire_in, open_id, seller_name, seller_base_region, user_type,
    granted_scopes}}; both *_expire_in are Unix times, not durations (Partner Center,
    "Authorization overview"; the answer is quoted with those fields in the examples of
    example-code.com/.../tiktok_shop_refresh_access_token.asp).  Here under
    [http://127.0.0.1:PORT/tiktok/<shop>]/api/v2/token/refresh, so auth_url = that prefix.
    The access token lives about a week (an answer of 2024-07-23 expires 2024-07-30).
UNVERIFIED (drivers must be right either way), each marked where it is done: every error
code but 106001 and the messages that go with them; HTTP statuses of errors other than a
bad sign; that a partial failure applies the SKUs it does not name (it does here); the rate
limit (a fixed window of `tiktok_qps` requests per second per shop here) and the shape of
its 429 (no Retry-After here); the timestamp tolerance (300 s here); whether a SKU can be
written at a warehouse it has no record at (yes here, if the shop has the warehouse);
the page_token format (opaque base64 here); for the token endpoint: its error codes, messages
and HTTP status (200 with a non-zero code here), whether the refresh token rotates
(`tiktok_rotate_refresh`, on by default: each refresh answers a new refresh token and the
one sent stops working) and the code of an expired access token (105002 here, HTTP 401).

Knobs for tests: `tiktok_token_ttl` (seconds an issued access token lives, default 7 days),
`tiktok_token_uses` (0: any; else an issued token is refused after that many accepted calls,
an expiry its holder cannot see coming), `tiktok_rotate_refresh` (1/0).
"""

import base64
import hashlib
import hmac
import json
import random
import time
from collections import OrderedDict

import sim as core

NAME = "tiktok"
CONFIG = OrderedDict([
    ("tiktok_qps", 50),         # requests per second per shop (UNVERIFIED)
    ("tiktok_page_max", 100),   # page_size maximum (documented)
    ("tiktok_read_skus", 600),  # inventory/search sku_ids maximum (documented)
    ("tiktok_token_ttl", 7 * 86400),  # seconds an issued access token lives (about a week)
    ("tiktok_token_uses", 0),   # accepted calls an issued access token allows (0: any)
    ("tiktok_rotate_refresh", 1),  # a refresh answers a new refresh token (UNVERIFIED)
])
REFRESH_LIFE = 365 * 86400     # UNVERIFIED (answers show refresh_token_expire_in years ahead)
QTY_LIMIT = 99999               # "less than 99999" (documented)
TS_SKEW = 300                   # UNVERIFIED
# error codes: only 106001 (bad sign) was seen in a real answer; the others are UNVERIFIED
E_SIGN = 106001
E_TOKEN = 105001
E_TOKEN_EXPIRED = 105002        # UNVERIFIED
E_AUTH_APP = 36004003           # token endpoint: wrong app_key or app_secret (UNVERIFIED)
E_AUTH_REFRESH = 36004004       # token endpoint: refresh token unknown, spent or expired (UNVERIFIED)
E_AUTH_GRANT = 36004005         # token endpoint: grant_type is not refresh_token (UNVERIFIED)
E_TIMESTAMP = 106003
E_APP_KEY = 106002
E_CIPHER = 106011
E_PARAM = 36009001
E_RATE = 36009004
E_NOT_FOUND = 12052700
E_SKU_NOT_LIVE = 12019025
E_WAREHOUSE = 12019026
E_QTY = 12019027
ROUTES = [  # path pattern -> op
    (("api", "v2", "token", "refresh"), "token/refresh"),
    (("product", "202309", "products", "search"), "products/search"),
    (("product", "202309", "inventory", "search"), "inventory/search"),
    (("product", "202309", "products", None, "inventory", "update"), "inventory/update"),
]


def _str_id(v, what):
    if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).isdigit():
        raise core.BadState(what + " must be a string of digits")
    return str(v)


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{shop: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "tiktok.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"app_key", "app_secret", "access_token", "shop_cipher", "warehouses", "products",
                        "refresh_token", "refresh_token_expire_in"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("app_key", "app_secret", "access_token", "shop_cipher"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        rt, rx = s.get("refresh_token"), s.get("refresh_token_expire_in")
        if rt is not None and (not isinstance(rt, str) or not rt):
            raise core.BadState(what + ": refresh_token must be a non-empty string")
        if rx is not None and (isinstance(rx, bool) or not isinstance(rx, int)):
            raise core.BadState(what + ": refresh_token_expire_in must be a Unix time")
        st = {"name": name, "app_key": s["app_key"], "app_secret": s["app_secret"],
              "access_token": s["access_token"], "shop_cipher": s["shop_cipher"],
              "refresh_token": rt, "refresh_token_expire_in": rx,
              "warehouses": OrderedDict(), "products": [], "by_pid": {}, "by_sid": {}, "by_sku": {}}
        for j, w in enumerate(s.get("warehouses") or []):
            ww = "%s.warehouses[%d]" % (what, j)
            if not isinstance(w, dict):
                raise core.BadState(ww + " must be an object")
            wid = _str_id(w.get("id"), ww + ".id")
            if wid in st["warehouses"]:
                raise core.BadState(ww + ": duplicate id")
            st["warehouses"][wid] = {"id": wid, "name": str(w.get("name") or "Warehouse " + wid)}
        for j, p in enumerate(s.get("products") or []):
            pw = "%s.products[%d]" % (what, j)
            if not isinstance(p, dict):
                raise core.BadState(pw + " must be an object")
            pid = _str_id(p.get("id"), pw + ".id")
            if pid in st["by_pid"]:
                raise core.BadState(pw + ": duplicate id")
            prod = {"id": pid, "title": str(p.get("title") or "Product " + pid),
                    "status": str(p.get("status") or "ACTIVATE"), "skus": []}
            for k, sk in enumerate(p.get("skus") or []):
                sw = "%s.skus[%d]" % (pw, k)
                if not isinstance(sk, dict):
                    raise core.BadState(sw + " must be an object")
                sid = _str_id(sk.get("id"), sw + ".id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate SKU id")
                o = {"id": sid, "product": prod, "seller_sku": sk.get("seller_sku", ""),
                     "live": sk.get("live", True), "inventory": OrderedDict(), "committed": {}}
                if not isinstance(o["seller_sku"], str) or not isinstance(o["live"], bool):
                    raise core.BadState(sw + ": seller_sku is a string, live a boolean")
                for key, dst in (("inventory", "inventory"), ("committed", "committed")):
                    m = sk.get(key) or {}
                    if not isinstance(m, dict):
                        raise core.BadState("%s.%s must be an object" % (sw, key))
                    for wid, q in m.items():
                        if wid not in st["warehouses"]:
                            raise core.BadState("%s.%s: no warehouse %s" % (sw, key, wid))
                        if isinstance(q, bool) or not isinstance(q, int):
                            raise core.BadState("%s.%s.%s must be an integer" % (sw, key, wid))
                        o[dst][wid] = q
                prod["skus"].append(o)
                st["by_sid"][sid] = o
                if o["seller_sku"]:
                    st["by_sku"].setdefault(o["seller_sku"], o)
            st["products"].append(prod)
            st["by_pid"][pid] = prod
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict()
        for k in ("app_key", "app_secret", "access_token", "shop_cipher"):
            d[k] = st[k]
        for k in ("refresh_token", "refresh_token_expire_in"):
            if st[k] is not None:
                d[k] = st[k]
        d["warehouses"] = [{"id": w["id"], "name": w["name"]} for w in st["warehouses"].values()]
        prods = []
        for p in st["products"]:
            skus = []
            for o in p["skus"]:
                e = OrderedDict([("id", o["id"]), ("seller_sku", o["seller_sku"]),
                                 ("inventory", OrderedDict(o["inventory"]))])
                if not o["live"]:
                    e["live"] = False
                if o["committed"]:
                    e["committed"] = dict(o["committed"])
                skus.append(e)
            prods.append(OrderedDict([("id", p["id"]), ("title", p["title"]), ("status", p["status"]),
                                      ("skus", skus)]))
        d["products"] = prods
        out[name] = d
    return out


WH1, WH2 = "7300000000000000001", "7300000000000000002"


def sample(n, seed):
    """Shop "demo" (app key tts_sim_key, app secret tts_sim_secret, access token
    TTP_sim_demo, refresh token TTR_sim_demo, shop cipher ROW_sim_demo) with warehouses WH1 and WH2 and n products
    TT-00001...: every 3rd has SKUs -S/-M/-L, the others one SKU; every SKU has a record at
    WH1, every 2nd at WH2 too."""
    rng = random.Random("invkit-sim-tiktok-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    prods, k = [], 0
    for i in range(1, n + 1):
        sku = "TT-%05d" % i
        suffixes = ["-S", "-M", "-L"] if i % 3 == 0 else [""]
        skus = []
        for suf in suffixes:
            k += 1
            inv = OrderedDict([(WH1, rng.choice(qtys))])
            if k % 2 == 0:
                inv[WH2] = rng.choice(qtys)
            skus.append({"id": "17300000000%08d" % k, "seller_sku": sku + suf, "inventory": inv})
        prods.append({"id": "17290000000%08d" % i, "title": "Product %d" % i, "status": "ACTIVATE",
                      "skus": skus})
    return {"demo": {"app_key": "tts_sim_key", "app_secret": "tts_sim_secret",
                     "access_token": "TTP_sim_demo", "refresh_token": "TTR_sim_demo",
                     "shop_cipher": "ROW_sim_demo",
                     "warehouses": [{"id": WH1, "name": "Main warehouse"}, {"id": WH2, "name": "Second"}],
                     "products": prods}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """Name the route (fault rules match it as `op`); only inventory/update writes (the
    searches are POSTs that only read)."""
    parts = tuple(p for p in req.rest.split("/") if p)
    req.tt_route = None
    for pat, op in ROUTES:
        if len(pat) == len(parts) and all(a is None or a == b for a, b in zip(pat, parts)):
            req.ops.append(op)
            req.tt_route = (op, parts)
            break
    req.is_write = req.tt_route is not None and req.tt_route[0] == "inventory/update"


def _tokens(sim):
    """The access tokens issued by refreshes: {token: {"shop", "exp", "uses"}}."""
    return sim.plugin_rt.setdefault(NAME, {}).setdefault("_tokens", {})


def _refresh(sim, st, req, q):
    """GET /api/v2/token/refresh: a new access token (and, rotating, a new refresh token)."""
    if req.method != "GET":
        return envelope(req, E_PARAM, "Method not allowed", None, 405)
    if q.get("grant_type") != "refresh_token":
        return envelope(req, E_AUTH_GRANT, "Invalid grant_type. It must be refresh_token.")
    if not hmac.compare_digest(q.get("app_key", "").encode(), st["app_key"].encode()) or \
            not hmac.compare_digest(q.get("app_secret", "").encode(), st["app_secret"].encode()):
        req.notes.append("bad app credentials")
        return envelope(req, E_AUTH_APP, "Invalid app_key or app_secret.")
    now = int(time.time())
    rt = st.get("refresh_token")
    if not rt or not hmac.compare_digest(q.get("refresh_token", "").encode(), rt.encode()):
        req.notes.append("bad refresh token")
        return envelope(req, E_AUTH_REFRESH, "The refresh_token is invalid or has expired.")
    rx = st.get("refresh_token_expire_in")
    if rx is not None and rx <= now:
        req.notes.append("refresh token expired")
        return envelope(req, E_AUTH_REFRESH, "The refresh_token is invalid or has expired.")
    at = "TTP_" + "%032x" % sim.rng.getrandbits(128)
    exp = now + int(sim.config["tiktok_token_ttl"])
    _tokens(sim)[at] = {"shop": st["name"], "exp": exp, "uses": 0}
    if int(sim.config["tiktok_rotate_refresh"]):
        st["refresh_token"] = rt = "TTR_" + "%032x" % sim.rng.getrandbits(128)
        st["refresh_token_expire_in"] = rx = now + REFRESH_LIFE
        req.notes.append("refresh token rotated")
    data = OrderedDict([("access_token", at), ("access_token_expire_in", exp), ("refresh_token", rt),
                        ("refresh_token_expire_in", rx if rx is not None else now + REFRESH_LIFE),
                        ("open_id", "sim_open_" + st["name"]), ("seller_name", st["name"]),
                        ("seller_base_region", "US"), ("user_type", 0),
                        ("granted_scopes", ["seller.product.basic", "seller.product.write"])])
    return envelope(req, 0, "success", data)


def _token_ok(sim, st, req):
    """None when the access token is the shop's fixed one or a live issued one, else the
    refusal."""
    tok = req.headers.get("x-tts-access-token") or ""
    if hmac.compare_digest(tok.encode(), st["access_token"].encode()):
        return None
    t = _tokens(sim).get(tok)
    if t is None or t["shop"] != st["name"]:
        return envelope(req, E_TOKEN, "Invalid credentials. The access token is invalid or expired.",
                        None, 401)
    uses = int(sim.config["tiktok_token_uses"])
    if t["exp"] <= time.time() or (uses and t["uses"] >= uses):
        req.notes.append("access token expired")
        return envelope(req, E_TOKEN_EXPIRED, "Expired credentials. The access token has expired.",
                        None, 401)
    t["uses"] += 1
    return None


def envelope(req, code, message, data=None, status=200, headers=()):
    body = OrderedDict([("code", code), ("message", message), ("request_id", req.rid), ("data", data)])
    return core.Resp(status, body, list(headers), "application/json; charset=utf-8")


def expected_sign(secret, path, query_items, body):
    """The sign, computed here independently of the driver: app_secret + path + sorted
    key+value pairs (sign and access_token left out) + body + app_secret, HMAC-SHA256 keyed
    by the app secret, lower-case hex."""
    pairs = sorted((k, v) for k, v in query_items if k not in ("sign", "access_token"))
    msg = secret + path + "".join(k + v for k, v in pairs) + body + secret
    return hmac.new(secret.encode("utf-8"), msg.encode("utf-8"), hashlib.sha256).hexdigest()


def _rate(sim, shop):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(shop, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["tiktok_qps"])


def fault_response(sim, req, code, hdrs):
    """Injected 429/500 in the platform's envelope (codes and messages UNVERIFIED)."""
    if code == 429:
        return envelope(req, E_RATE, "Too many requests. Please retry later.", None, 429, hdrs)
    if code == 500:
        return envelope(req, 36009999, "Internal error, please try again later.", None, 500, hdrs)
    return None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return envelope(req, E_PARAM, "Shop not found", None, 404)
    if req.tt_route is not None and req.tt_route[0] == "token/refresh":
        return _refresh(sim, st, req, OrderedDict(req.query_items))
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return envelope(req, E_RATE, "Too many requests. Please retry later.", None, 429)
    q = OrderedDict()
    for k, v in req.query_items:
        q[k] = v
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    try:
        body = req.body.decode("utf-8") if req.body else ""
    except UnicodeDecodeError:
        return envelope(req, E_PARAM, "Invalid request body", None, 400)
    if q.get("app_key") != st["app_key"]:
        return envelope(req, E_APP_KEY, "Invalid credentials. The 'app_key' query parameter is invalid.",
                        None, 401)
    ts = q.get("timestamp", "")
    if not ts.isdigit() or abs(int(ts) - time.time()) > TS_SKEW:
        return envelope(req, E_TIMESTAMP, "Invalid timestamp. The request has expired or the "
                                          "'timestamp' query parameter is invalid.", None, 401)
    want = expected_sign(st["app_secret"], req.rest, req.query_items,
                         "" if ctype == "multipart/form-data" else body)
    if not hmac.compare_digest(want.encode(), q.get("sign", "").encode()):
        req.notes.append("bad sign")
        return envelope(req, E_SIGN, "Invalid credentials. The 'sign' query parameter is invalid. "
                                     "For more details: https://m.tiktok.shop/s/AIu6dbFhs2XW", None, 401)
    refused = _token_ok(sim, st, req)
    if refused is not None:
        return refused
    if req.tt_route is None:
        return envelope(req, E_PARAM, "The API path is not found", None, 404)
    if req.method != "POST":
        return envelope(req, E_PARAM, "Method not allowed", None, 405)
    if q.get("shop_cipher") != st["shop_cipher"]:
        return envelope(req, E_CIPHER, "Invalid shop_cipher. The shop is not authorized for this app.",
                        None, 403)
    try:
        doc = json.loads(body) if body else {}
        if not isinstance(doc, dict):
            raise ValueError
    except ValueError:
        return envelope(req, E_PARAM, "Invalid request body: not a JSON object", None, 400)
    op, parts = req.tt_route
    if op == "products/search":
        return _search(sim, st, req, q, doc)
    if op == "inventory/search":
        return _inventory(sim, st, req, doc)
    return _update(sim, st, req, parts[3], doc)


def _search(sim, st, req, q, doc):
    try:
        size = int(q.get("page_size", ""))
    except ValueError:
        size = 0
    if not 1 <= size <= int(sim.config["tiktok_page_max"]):
        return envelope(req, E_PARAM, "page_size is required and must be 1 to %d"
                        % int(sim.config["tiktok_page_max"]), None, 400)
    off = 0
    if q.get("page_token"):
        try:
            tok = base64.b64decode(q["page_token"], validate=True).decode()
            if not tok.startswith("offset="):
                raise ValueError
            off = int(tok[7:])
        except ValueError:
            return envelope(req, E_PARAM, "Invalid page_token", None, 400)
    sel = st["products"]
    if doc.get("status") and doc["status"] != "ALL":
        sel = [p for p in sel if p["status"] == doc["status"]]
    if doc.get("seller_skus"):
        want = set(doc["seller_skus"])
        sel = [p for p in sel if any(o["seller_sku"] in want for o in p["skus"])]
    page = sel[off:off + size]
    nxt = off + size
    prods = []
    for p in page:
        skus = [OrderedDict([("id", o["id"]), ("seller_sku", o["seller_sku"]),
                             ("price", OrderedDict([("currency", "USD"), ("tax_exclusive_price", "9.99"),
                                                    ("sale_price", "9.99")])),
                             ("inventory", [OrderedDict([("warehouse_id", w), ("quantity", n)])
                                            for w, n in o["inventory"].items()])]) for o in p["skus"]]
        prods.append(OrderedDict([("id", p["id"]), ("title", p["title"]), ("status", p["status"]),
                                  ("skus", skus), ("sales_regions", ["US"]),
                                  ("create_time", 1700000000), ("update_time", 1700000000)]))
    data = OrderedDict([("total_count", len(sel)), ("products", prods),
                        ("next_page_token", base64.b64encode(("offset=%d" % nxt).encode()).decode()
                         if nxt < len(sel) else "")])
    return envelope(req, 0, "Success", data)


def _sku_inventory(o):
    wi = [OrderedDict([("warehouse_id", w), ("available_quantity", n),
                       ("committed_quantity", o["committed"].get(w, 0))]) for w, n in o["inventory"].items()]
    return OrderedDict([("id", o["id"]), ("seller_sku", o["seller_sku"]),
                        ("total_available_quantity", sum(o["inventory"].values())),
                        ("total_committed_quantity", sum(o["committed"].values())),
                        ("warehouse_inventory", wi)])


def _inventory(sim, st, req, doc):
    sids, pids = doc.get("sku_ids"), doc.get("product_ids")
    if sids:  # SKU ids win when both are given (documented)
        if not isinstance(sids, list) or not all(isinstance(x, str) for x in sids) or \
                len(sids) > int(sim.config["tiktok_read_skus"]):
            return envelope(req, E_PARAM, "sku_ids must be a list of at most %d SKU ids"
                            % int(sim.config["tiktok_read_skus"]), None, 400)
        by = OrderedDict()
        for s in sids:
            o = st["by_sid"].get(s)
            if o is not None:
                by.setdefault(o["product"]["id"], []).append(o)
    elif pids:
        if not isinstance(pids, list) or not all(isinstance(x, str) for x in pids) or len(pids) > 100:
            return envelope(req, E_PARAM, "product_ids must be a list of at most 100 product ids", None, 400)
        by = OrderedDict((p, st["by_pid"][p]["skus"]) for p in pids if p in st["by_pid"])
    else:
        return envelope(req, E_PARAM, "Either sku_ids or product_ids is required", None, 400)
    inv = [OrderedDict([("product_id", pid), ("skus", [_sku_inventory(o) for o in skus])])
           for pid, skus in by.items()]
    return envelope(req, 0, "Success", OrderedDict([("inventory", inv)]))


def _update(sim, st, req, pid, doc):
    prod = st["by_pid"].get(pid)
    if prod is None:
        return envelope(req, E_NOT_FOUND, "Product %s does not exist" % pid, None, 404)
    skus = doc.get("skus")
    if not isinstance(skus, list) or not skus:
        return envelope(req, E_PARAM, "skus is required", None, 400)
    errors, plan = [], []
    for s in skus:
        if not isinstance(s, dict) or not isinstance(s.get("id"), str) or not isinstance(s.get("inventory"), list):
            return envelope(req, E_PARAM, "Invalid skus: each needs id and inventory", None, 400)
        o = st["by_sid"].get(s["id"])
        if o is None or o["product"] is not prod:
            errors.append(OrderedDict([("code", E_NOT_FOUND), ("message", "SKU %s does not belong to product %s"
                                                                      % (s["id"], pid)),
                                       ("detail", OrderedDict([("sku_id", s["id"]), ("extra_errors", [])]))]))
            continue
        if not o["live"]:
            errors.append(OrderedDict([("code", E_SKU_NOT_LIVE),
                                       ("message", "The SKU stock can be updated only in live status"),
                                       ("detail", OrderedDict([("sku_id", o["id"]), ("extra_errors", [])]))]))
            continue
        extra = []
        for e in s["inventory"]:
            wid, qty = (e.get("warehouse_id"), e.get("quantity")) if isinstance(e, dict) else (None, None)
            if wid is None and len(o["inventory"]) == 1:
                wid = next(iter(o["inventory"]))  # one default warehouse: warehouse_id optional
            if not isinstance(wid, str) or wid not in st["warehouses"]:
                extra.append(OrderedDict([("warehouse_id", str(wid)), ("code", E_WAREHOUSE),
                                          ("message", "The warehouse does not exist or is not available")]))
            elif isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty < QTY_LIMIT:
                extra.append(OrderedDict([("warehouse_id", wid), ("code", E_QTY),
                                          ("message", "quantity must be 0 to %d" % (QTY_LIMIT - 1))]))
            else:
                plan.append((o, wid, qty))
        if extra:
            errors.append(OrderedDict([("code", E_WAREHOUSE), ("message", "Failed to update some warehouses"),
                                       ("detail", OrderedDict([("sku_id", o["id"]), ("extra_errors", extra)]))]))
    for o, wid, qty in plan:
        before = o["inventory"].get(wid)
        o["inventory"][wid] = qty
        sim.log_write(kind="set", platform=NAME, shop=st["name"], item="%s/%s" % (pid, o["id"]),
                      product_id=pid, sku=o["seller_sku"], location=wid, before=before, after=qty,
                      delta=qty - (before or 0), idempotency_key=None, request_id=req.rid)
    data = OrderedDict()
    if errors:
        data["errors"] = errors
    return envelope(req, 0, "Success", data)


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    out = []
    for p in model[store]["products"]:
        for o in p["skus"]:
            for wid, n in o["inventory"].items():
                if n >= qty or (allow_negative and n > 0):
                    out.append(("%s/%s" % (p["id"], o["id"]), wid))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: available down by qty at a warehouse, committed up by qty."""
    st = model[store]
    o = None
    if item is not None:
        o = st["by_sid"].get(str(item).rsplit("/", 1)[-1])
    elif sku is not None:
        o = st["by_sku"].get(sku)
    if o is None:
        raise core.SimError(404, "no such SKU in shop %s" % store)
    if location is not None:
        wid = str(location)
        if wid not in o["inventory"]:
            raise core.SimError(409, "SKU has no record at warehouse %s" % wid)
    else:
        if not o["inventory"]:
            raise core.SimError(409, "SKU is not stocked anywhere")
        wid = sorted(o["inventory"], key=lambda w: (-o["inventory"][w], w))[0]
    before = o["inventory"][wid]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["inventory"][wid] = before - qty
    o["committed"][wid] = o["committed"].get(wid, 0) + qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", "%s/%s" % (o["product"]["id"], o["id"])),
                        ("sku", o["seller_sku"]), ("location", wid), ("before", before),
                        ("after", before - qty), ("delta", -qty)])
