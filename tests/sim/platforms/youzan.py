"""Youzan (有赞) for the invkit simulator: the 有赞云 open API's token service, item lists,
item detail and stock update, with the credentials checked here independently of the driver.

URLs: [http://127.0.0.1:PORT/youzan/<store>]/auth/token and .../api/<api>/<version>?access_token=
(base_url in brackets stands for https://open.youzanyun.com).

Facts mirrored, with their source (doc.youzanyun.com: "获取 access_token", the gateway and global
error-code pages, the 限流 page, and the API pages named; the official SDKs youzan/open-sdk-php and
open-sdk-node build the same requests):
  - POST /auth/token, JSON {client_id, client_secret, authorize_type: "silent", grant_id
    (the shop's kdt_id), refresh} -> {success: true, code: 200, data: {access_token, expires
    (Unix ms), scope, authority_id}, message}; refused {success: false, code, data: null,
    message} (1103 "Client 不存在" seen on the live service; 1000 a wrong client_secret).
  - POST /api/<api>/<version>?access_token=TOKEN, a JSON body.  There is no request signature:
    the token is the credential, so what is checked here is the client_secret (compared with
    hmac.compare_digest) and, on every call, the token the service issued.
  - Gateway refusals, HTTP 200: {gw_err_resp: {trace_id, err_msg, err_code}}: 4005 非法的API,
    4007 非法的请求姿势 (not JSON), 4101 请求太频繁, 4201 非法的请求凭证 (no token), 4203
    Token 不存在.  Service answers {trace_id, code (200 ok), data, success, message}.
  - youzan.items.onsale.get / youzan.items.inventory.get 3.0.0 {page_no (default 1), page_size
    (default 40, at most 300), update_time_start/_end (Unix ms)}: data {count, items [{item_id,
    alias, title, item_no, quantity, price, created_time, update_time}]}.
  - youzan.item.get 3.0.0 {item_id}: data {item: {item_id, kdt_id, title, item_no, quantity,
    is_listing, skus [{item_id, sku_id, item_no, quantity, price}]}}.
  - youzan.item.quantity.update 3.0.0 {item_id, sku_id (required when the item has
    specifications), quantity, type (0 set, the default; 1 change)}: data {is_success: true}.
    Error codes from the global table: 123005001 商品不存在, 123004002 SKU不存在, 123003023
    开启了库存同步，修改库存不生效.
UNVERIFIED (drivers must be right either way): the message of 1000 and of a wrong grant_id;
the code and words for a bad page_size, a missing sku_id, a change below zero and a negative
set (made up here, Chinese like the real ones); that type=1 takes a negative quantity (it does
here); the rate limit (a fixed window of `youzan_qps` requests a second a store; the documented
30/s for writes, 300/s for reads); the HTTP status of a 4101 (200 here, 429 for an injected
fault); that a token lives 7 days.
"""

import hmac
import json
import random
import time
from collections import OrderedDict

import sim as core

NAME = "youzan"
CONFIG = OrderedDict([
    ("youzan_qps", 50),           # requests per second per store (UNVERIFIED)
])
PAGE_MAX = 300
TOKEN_LIFE_MS = 7 * 86400 * 1000
E_CLIENT, E_SECRET, E_GRANT = 1103, 1000, 1105
GW_API, GW_POSE, GW_RATE, GW_NOCRED, GW_NOTOKEN = 4005, 4007, 4101, 4201, 4203
E_PARAM, E_ITEM, E_SKU, E_SYNC, E_STOCK = 5002, 123005001, 123004002, 123003023, 123003018
M_SYNC = "开启了库存同步，修改库存不生效"
APIS = {("youzan.items.onsale.get", "3.0.0"), ("youzan.items.inventory.get", "3.0.0"),
        ("youzan.item.get", "3.0.0"), ("youzan.item.quantity.update", "3.0.0")}
KEYS = ("client_id", "client_secret", "kdt_id", "access_token", "items")


def _int_id(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise core.BadState(what + " must be a positive integer")
    return v


def _qty(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        raise core.BadState(what + " must be an integer")
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {client_id, client_secret, kdt_id, access_token, items: [{id, item_no, title,
    listed, stock_sync, updated, quantity | skus: [{id, item_no, quantity}]}]}} -> the model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "youzan.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - set(KEYS)
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("client_id", "client_secret", "access_token"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "client_id": s["client_id"], "client_secret": s["client_secret"],
              "kdt_id": _int_id(s.get("kdt_id"), what + ".kdt_id"),
              "access_token": s["access_token"], "items": [], "by_iid": {}, "by_sid": {},
              "by_code": {}}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise core.BadState(iw + " must be an object")
            bad = set(it) - {"id", "item_no", "title", "listed", "stock_sync", "updated",
                             "quantity", "skus"}
            if bad:
                raise core.BadState("%s: unknown key(s) %s" % (iw, ", ".join(sorted(bad))))
            iid = _int_id(it.get("id"), iw + ".id")
            if iid in st["by_iid"]:
                raise core.BadState(iw + ": duplicate id")
            item = {"id": iid, "item_no": it.get("item_no", ""), "title": it.get("title") or "商品 %d" % iid,
                    "listed": it.get("listed", True), "stock_sync": it.get("stock_sync", False),
                    "updated": _qty(it.get("updated", 0), iw + ".updated"), "quantity": 0, "skus": []}
            if not isinstance(item["item_no"], str) or not isinstance(item["title"], str):
                raise core.BadState(iw + ": item_no and title are strings")
            if not isinstance(item["listed"], bool) or not isinstance(item["stock_sync"], bool):
                raise core.BadState(iw + ": listed and stock_sync are booleans")
            skus = it.get("skus") or []
            if skus and "quantity" in it:
                raise core.BadState(iw + ": an item with skus has no quantity of its own")
            for k, sk in enumerate(skus):
                sw = "%s.skus[%d]" % (iw, k)
                if not isinstance(sk, dict):
                    raise core.BadState(sw + " must be an object")
                sid = _int_id(sk.get("id"), sw + ".id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate SKU id")
                code = sk.get("item_no", "")
                if not isinstance(code, str):
                    raise core.BadState(sw + ".item_no must be a string")
                o = {"id": sid, "item": item, "item_no": code,
                     "quantity": _qty(sk.get("quantity", 0), sw + ".quantity")}
                item["skus"].append(o)
                st["by_sid"][sid] = o
                if code:
                    st["by_code"].setdefault(code, o)
            if not skus:
                item["quantity"] = _qty(it.get("quantity", 0), iw + ".quantity")
                if item["item_no"]:
                    st["by_code"].setdefault(item["item_no"], item)
            st["items"].append(item)
            st["by_iid"][iid] = item
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict((k, st[k]) for k in KEYS if k != "items")
        items = []
        for it in st["items"]:
            e = OrderedDict([("id", it["id"]), ("item_no", it["item_no"]), ("title", it["title"]),
                             ("listed", it["listed"])])
            if it["stock_sync"]:
                e["stock_sync"] = True
            if it["updated"]:
                e["updated"] = it["updated"]
            if it["skus"]:
                e["skus"] = [OrderedDict([("id", o["id"]), ("item_no", o["item_no"]),
                                          ("quantity", o["quantity"])]) for o in it["skus"]]
            else:
                e["quantity"] = it["quantity"]
            items.append(e)
        d["items"] = items
        out[name] = d
    return out


def sample(n, seed):
    """Store "demo" (client_id yz_sim_client, client_secret yz_sim_client_secret, kdt_id
    91234567, token yz_sim_demo_token) with n items YZ-00001...: every 3rd has SKUs -S/-M/-L,
    every 5th is in the warehouse (not on sale)."""
    rng = random.Random("invkit-sim-youzan-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    items, k = [], 0
    for i in range(1, n + 1):
        code = "YZ-%05d" % i
        it = OrderedDict([("id", 300000000 + i), ("item_no", code), ("title", "商品 %d" % i),
                          ("listed", i % 5 != 0)])
        if i % 3 == 0:
            skus = []
            for suf in ("-S", "-M", "-L"):
                k += 1
                skus.append({"id": 400000000 + k, "item_no": code + suf, "quantity": rng.choice(qtys)})
            it["skus"] = skus
        else:
            it["quantity"] = rng.choice(qtys)
        items.append(it)
    return {"demo": {"client_id": "yz_sim_client", "client_secret": "yz_sim_client_secret",
                     "kdt_id": 91234567, "access_token": "yz_sim_demo_token", "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """/auth/token, or /api/<api>/<version>: the route is the API's name."""
    parts = [p for p in req.rest.split("/") if p]
    req.yz_api = None
    if parts == ["auth", "token"]:
        req.ops.append("auth.token")
    elif len(parts) == 3 and parts[0] == "api":
        req.yz_api = (parts[1], parts[2])
        req.ops.append(parts[1])
    req.is_write = req.yz_api == ("youzan.item.quantity.update", "3.0.0")


def ok(req, data, status=200, headers=()):
    body = OrderedDict([("trace_id", req.rid), ("code", 200), ("data", data), ("success", True),
                        ("message", "successful")])
    return core.Resp(status, body, list(headers), "application/json;charset=UTF-8")


def refuse(req, code, msg, status=200, headers=()):
    body = OrderedDict([("trace_id", req.rid), ("code", code), ("data", None), ("success", False),
                        ("message", msg)])
    return core.Resp(status, body, list(headers), "application/json;charset=UTF-8")


def gateway(req, code, msg, status=200, headers=()):
    body = {"gw_err_resp": OrderedDict([("trace_id", req.rid), ("err_msg", msg), ("err_code", code)])}
    return core.Resp(status, body, list(headers), "application/json;charset=UTF-8")


def fault_response(sim, req, code, hdrs):
    """Injected 429/500 in the gateway's shape."""
    if code == 429:
        return gateway(req, GW_RATE, "请求太频繁", 429, hdrs)
    if code == 500:
        return gateway(req, 5001, "系统异常", 500, hdrs)
    return None


def _rate(sim, store):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["youzan_qps"])


def _json_body(req):
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return None, "非法的请求姿势，httpMethod:%s, contentType:%s" % (req.method, ctype or "null")
    try:
        doc = json.loads(req.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return None, "非法的Content"
    return (doc, None) if isinstance(doc, dict) else (None, "非法的Content")


def _num(v):
    """An integer parameter: a JSON integer or a string of digits (the gateway converts)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.lstrip("-").isdigit() and v.count("-") <= 1:
        return int(v)
    return None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return gateway(req, GW_API, "非法的请求地址", 404)
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return gateway(req, GW_RATE, "请求太频繁")
    if req.method != "POST" and req.yz_api is None:
        return gateway(req, GW_POSE, "非法的请求姿势")
    if "auth.token" in req.ops:
        return _token(st, req)
    if req.yz_api is None:
        return gateway(req, 4001, "非法请求地址", 404)
    if req.yz_api not in APIS:
        return gateway(req, GW_API, "非法的API")
    if req.method != "POST":
        return gateway(req, GW_POSE, "非法的请求姿势，httpMethod:%s" % req.method)
    toks = [v for k, v in req.query_items if k == "access_token"]
    if not toks or not toks[0]:
        return gateway(req, GW_NOCRED, "非法的请求凭证")
    if len(toks) > 1 or not hmac.compare_digest(toks[0].encode(), st["access_token"].encode()):
        req.notes.append("bad token")
        return gateway(req, GW_NOTOKEN, "Token 不存在")
    doc, why = _json_body(req)
    if doc is None:
        return gateway(req, GW_POSE if "姿势" in why else 4004, why)
    api = req.yz_api[0]
    if api in ("youzan.items.onsale.get", "youzan.items.inventory.get"):
        return _list(st, req, doc, api == "youzan.items.onsale.get")
    if api == "youzan.item.get":
        return _get(st, req, doc)
    return _update(sim, st, req, doc)


def _token(st, req):
    doc, why = _json_body(req)
    if doc is None:
        return refuse(req, 1000, why)
    if doc.get("client_id") != st["client_id"]:
        return refuse(req, E_CLIENT, "Client 不存在")
    sec = doc.get("client_secret")
    if not isinstance(sec, str) or not hmac.compare_digest(sec.encode(), st["client_secret"].encode()):
        req.notes.append("bad client_secret")
        return refuse(req, E_SECRET, "client_secret 不正确")
    if doc.get("authorize_type") != "silent" or _num(doc.get("grant_id")) != st["kdt_id"]:
        return refuse(req, E_GRANT, "店铺未授权该应用")
    data = OrderedDict([("expires", int(time.time() * 1000) + TOKEN_LIFE_MS),
                        ("scope", "item trade"), ("access_token", st["access_token"]),
                        ("authority_id", str(st["kdt_id"]))])
    return ok(req, data)


def _list_json(it):
    q = sum(o["quantity"] for o in it["skus"]) if it["skus"] else it["quantity"]
    return OrderedDict([("item_id", it["id"]), ("alias", "yz%x" % it["id"]), ("title", it["title"]),
                        ("item_no", it["item_no"]), ("quantity", q), ("price", 990),
                        ("created_time", "2026-01-05 10:00:00"), ("update_time", "2026-01-05 10:00:00")])


def _list(st, req, doc, onsale):
    no, size = _num(doc.get("page_no", 1)), _num(doc.get("page_size", 40))
    start, end = _num(doc.get("update_time_start", 0)), _num(doc.get("update_time_end", 0))
    if no is None or size is None or start is None or end is None:
        return refuse(req, E_PARAM, "参数类型错误")
    no, size = no or 1, size or 40
    if no < 1 or not 1 <= size <= PAGE_MAX:
        return refuse(req, E_PARAM, "每页最多显示%d条数据" % PAGE_MAX)
    sel = [it for it in st["items"] if it["listed"] == onsale and it["updated"] >= start
           and (not end or it["updated"] <= end)]
    page = sel[(no - 1) * size:no * size]
    return ok(req, OrderedDict([("count", len(sel)), ("items", [_list_json(it) for it in page])]))


def _item_json(st, it):
    skus = [OrderedDict([("item_id", it["id"]), ("sku_id", o["id"]), ("item_no", o["item_no"]),
                         ("quantity", o["quantity"]), ("price", 990),
                         ("properties_name_json", json.dumps([{"k": "尺码", "v": o["item_no"][-1:]}],
                                                             ensure_ascii=False))])
            for o in it["skus"]]
    q = sum(o["quantity"] for o in it["skus"]) if it["skus"] else it["quantity"]
    return OrderedDict([("item_id", it["id"]), ("kdt_id", st["kdt_id"]), ("title", it["title"]),
                        ("item_no", it["item_no"]), ("quantity", q), ("is_listing", it["listed"]),
                        ("skus", skus)])


def _get(st, req, doc):
    iid = _num(doc.get("item_id"))
    if iid is None:
        return refuse(req, E_PARAM, "item_id不能为空")
    it = st["by_iid"].get(iid)
    if it is None:
        return refuse(req, E_ITEM, "商品不存在")
    return ok(req, {"item": _item_json(st, it)})


def _update(sim, st, req, doc):
    iid, n = _num(doc.get("item_id")), _num(doc.get("quantity"))
    sid = _num(doc.get("sku_id")) if doc.get("sku_id") not in (None, "") else None
    kind = _num(doc.get("type", 0))
    if iid is None or n is None or kind not in (0, 1):
        return refuse(req, E_PARAM, "参数错误：item_id、quantity必填，type只能为0或1")
    it = st["by_iid"].get(iid)
    if it is None:
        return refuse(req, E_ITEM, "商品不存在")
    if it["skus"]:
        if sid is None:
            return refuse(req, E_SKU, "多规格商品必须传sku_id")
        o = st["by_sid"].get(sid)
        if o is None or o["item"] is not it:
            return refuse(req, E_SKU, "SKU不存在")
    else:
        if sid is not None:
            return refuse(req, E_SKU, "SKU不存在")
        o = it
    if it["stock_sync"]:
        return refuse(req, E_SYNC, M_SYNC)
    before = o["quantity"]
    after = before + n if kind == 1 else n
    if after < 0:
        return refuse(req, E_STOCK, "库存不能小于0")
    o["quantity"] = after
    it["updated"] = int(time.time() * 1000)
    item = "%d/%d" % (iid, o["id"]) if it["skus"] else "%d" % iid
    sim.log_write(kind="adjust" if kind == 1 else "set", platform=NAME, shop=st["name"], item=item,
                  sku=o["item_no"], location="", before=before, after=after, delta=after - before,
                  idempotency_key=None, request_id=req.rid)
    return ok(req, {"is_success": True})


# ---- sales ------------------------------------------------------------------------------

def _stocks(st):
    for it in st["items"]:
        if it["skus"]:
            for o in it["skus"]:
                yield "%d/%d" % (it["id"], o["id"]), o, it
        else:
            yield "%d" % it["id"], it, it


def sale_targets(sim, model, store, qty, allow_negative):
    return [(item, "") for item, o, _ in _stocks(model[store])
            if o["quantity"] >= qty or (allow_negative and o["quantity"] > 0)]


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the SKU's (or item's) stock down by qty (one pool: location "" or None)."""
    st = model[store]
    o = it = name = None
    for nm, oo, ii in _stocks(st):
        if (item is not None and str(item) == nm) or (item is None and sku is not None and oo["item_no"] == sku):
            o, it, name = oo, ii, nm
            break
    if o is None:
        raise core.SimError(404, "no such SKU in store %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "Youzan has one stock per SKU (location \"\")")
    before = o["quantity"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["quantity"] = before - qty
    it["updated"] = int(time.time() * 1000)
    return OrderedDict([("platform", NAME), ("shop", store), ("item", name), ("sku", o["item_no"]),
                        ("location", ""), ("before", before), ("after", before - qty), ("delta", -qty)])
