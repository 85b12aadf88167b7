"""Kuaishou (快手小店) for the invkit simulator: the e-commerce open platform's item list,
item detail and SKU stock update, with signed requests checked independently of the driver.

URLs: [http://127.0.0.1:PORT/kuaishou/<store>]/open/item/list/get (base_url in brackets
stands for https://openapi.kwaixiaodian.com).

Facts mirrored, with their source (快手电商开放平台, open.kwaixiaodian.com/zone/new/docs,
"API调用说明" and the API pages named):
  - /open/<method with '.' as '/'>, parameters appkey, method, version, param (JSON text),
    access_token, timestamp (Unix milliseconds), signMethod (HMAC_SHA256 | MD5), sign;
    application/x-www-form-urlencoded, in the query or (POST) the body.
  - sign: the parameters but sign sorted by name, "k=v" joined by "&", then
    "&signSecret=<signSecret>"; MD5 lower-case hex, or HMAC-SHA256 keyed by the signSecret
    in base64.  Checked here with hashlib/hmac, not with the driver's code.
  - Envelope {result (1: success), error_msg, code, data, requestId}.
  - open.item.list.get {pageNumber, pageSize}: data {currentPageNumber, pageSize,
    totalPage, totalItemCount, items [{kwaiItemId, title, skuInfos [{kwaiSkuId, skuNick,
    skuStock}]}]}; open.item.get {kwaiItemId}: data {kwaiItemId, title, skuInfos}.
  - open.item.sku.stock.update {kwaiItemId, skuId, skuChangeStock (0 < n < 9999999),
    changeType (1 add, 2 subtract)}: relative only ("增量更新"), one SKU a call.
UNVERIFIED (drivers must be right either way): every result code and message but success
(24 bad token, 25 bad appkey, 28 bad sign, 30 stale timestamp, 4 bad parameter, 40 over the
rate limit, 1001 no such item, 1002 no such SKU, 1003 item under review, 1004 not enough
stock); that errors come with HTTP 200 (but the rate limit: HTTP 429 here); the rate limit
itself (a fixed window of `kuaishou_qps` requests per second per store); the pageSize range
(10 to `kuaishou_page_max`); the timestamp tolerance (10 minutes here); that a stock update
has no idempotency key (none here).
"""

import base64
import hashlib
import hmac
import json
import random
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "kuaishou"
CONFIG = OrderedDict([
    ("kuaishou_qps", 50),         # requests per second per store (UNVERIFIED)
    ("kuaishou_page_max", 100),   # pageSize maximum (UNVERIFIED)
])
CHANGE_LIMIT = 9999999            # skuChangeStock < 9999999
TS_SKEW_MS = 600000               # UNVERIFIED
E_PARAM, E_TOKEN, E_APPKEY, E_SIGN, E_TS, E_RATE = 4, 24, 25, 28, 30, 40
E_ITEM, E_SKU, E_AUDIT, E_STOCK = 1001, 1002, 1003, 1004
M_AUDIT = "商品审核中，暂不支持修改库存"
METHODS = ("open.item.list.get", "open.item.get", "open.item.sku.stock.update")
SIGNED = ("appkey", "method", "version", "param", "access_token", "timestamp", "signMethod")


def _int_id(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise core.BadState(what + " must be a positive integer")
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {app_key, sign_secret, access_token, items: [{id, title, audit, skus: [{id,
    nick, stock}]}]}} -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "kuaishou.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"app_key", "sign_secret", "access_token", "items"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("app_key", "sign_secret", "access_token"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "app_key": s["app_key"], "sign_secret": s["sign_secret"],
              "access_token": s["access_token"], "items": [], "by_iid": {}, "by_sid": {}, "by_nick": {}}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise core.BadState(iw + " must be an object")
            iid = _int_id(it.get("id"), iw + ".id")
            if iid in st["by_iid"]:
                raise core.BadState(iw + ": duplicate id")
            item = {"id": iid, "title": str(it.get("title") or "Item %d" % iid),
                    "audit": it.get("audit", False), "skus": []}
            if not isinstance(item["audit"], bool):
                raise core.BadState(iw + ".audit must be a boolean")
            for k, sk in enumerate(it.get("skus") or []):
                sw = "%s.skus[%d]" % (iw, k)
                if not isinstance(sk, dict):
                    raise core.BadState(sw + " must be an object")
                sid = _int_id(sk.get("id"), sw + ".id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate SKU id")
                nick, stock = sk.get("nick", ""), sk.get("stock", 0)
                if not isinstance(nick, str) or isinstance(stock, bool) or not isinstance(stock, int):
                    raise core.BadState(sw + ": nick is a string, stock an integer")
                o = {"id": sid, "item": item, "nick": nick, "stock": stock}
                item["skus"].append(o)
                st["by_sid"][sid] = o
                if nick:
                    st["by_nick"].setdefault(nick, o)
            st["items"].append(item)
            st["by_iid"][iid] = item
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict((k, st[k]) for k in ("app_key", "sign_secret", "access_token"))
        items = []
        for it in st["items"]:
            e = OrderedDict([("id", it["id"]), ("title", it["title"])])
            if it["audit"]:
                e["audit"] = True
            e["skus"] = [OrderedDict([("id", o["id"]), ("nick", o["nick"]), ("stock", o["stock"])])
                         for o in it["skus"]]
            items.append(e)
        d["items"] = items
        out[name] = d
    return out


def sample(n, seed):
    """Store "demo" (appkey ks_sim_key, signSecret ks_sim_sign_secret, access token
    ks_sim_demo_token) with n items KS-00001...: every 3rd has SKUs -S/-M/-L, the others
    one SKU."""
    rng = random.Random("invkit-sim-kuaishou-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    items, k = [], 0
    for i in range(1, n + 1):
        nick = "KS-%05d" % i
        skus = []
        for suf in (["-S", "-M", "-L"] if i % 3 == 0 else [""]):
            k += 1
            skus.append({"id": 22000000000000 + k, "nick": nick + suf, "stock": rng.choice(qtys)})
        items.append({"id": 21000000000000 + i, "title": "商品 %d" % i, "skus": skus})
    return {"demo": {"app_key": "ks_sim_key", "sign_secret": "ks_sim_sign_secret",
                     "access_token": "ks_sim_demo_token", "items": items}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """The route is the method the path names; only the stock update writes."""
    parts = [p for p in req.rest.split("/") if p]
    m = ".".join(parts)
    req.ks_method = m if m in METHODS and parts[0] == "open" else None
    if req.ks_method:
        req.ops.append(req.ks_method)
    req.is_write = req.ks_method == "open.item.sku.stock.update"


def envelope(req, result, msg=None, data=None, status=200, headers=()):
    if result == 1:
        body = OrderedDict([("result", 1), ("msg", "success"), ("data", data), ("requestId", req.rid)])
    else:
        body = OrderedDict([("result", result), ("error_msg", msg), ("code", str(result)),
                            ("requestId", req.rid)])
    return core.Resp(status, body, list(headers), "application/json;charset=UTF-8")


def expected_sign(secret, params, method):
    """The sign, computed here independently of the driver."""
    s = "&".join("%s=%s" % (k, v) for k, v in sorted(params.items()) if k != "sign")
    s += "&signSecret=" + secret
    if method == "MD5":
        return hashlib.md5(s.encode("utf-8")).hexdigest()
    return base64.b64encode(hmac.new(secret.encode("utf-8"), s.encode("utf-8"),
                                     hashlib.sha256).digest()).decode("ascii")


def _rate(sim, store):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["kuaishou_qps"])


def fault_response(sim, req, code, hdrs):
    """Injected 429/500 in the platform's envelope (codes and messages UNVERIFIED)."""
    if code == 429:
        return envelope(req, E_RATE, "调用频率超过限制，请稍后重试", None, 429, hdrs)
    if code == 500:
        return envelope(req, 500, "系统繁忙，请稍后重试", None, 500, hdrs)
    return None


def _params(req):
    """Query and form body parameters, the body's winning; None when a name repeats."""
    items = list(req.query_items)
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if req.body:
        if ctype != "application/x-www-form-urlencoded":
            return None, "Content-Type仅支持application/x-www-form-urlencoded"
        try:
            items += urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True,
                                            strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return None, "请求体格式错误"
    p = OrderedDict()
    for k, v in items:
        if k in p:
            return None, "参数%s重复" % k
        p[k] = v
    return p, None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return envelope(req, E_APPKEY, "店铺不存在", None, 404)
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return envelope(req, E_RATE, "调用频率超过限制，请稍后重试", None, 429)
    if req.ks_method is None:
        return envelope(req, E_PARAM, "API不存在", None, 404)
    if req.method not in ("GET", "POST"):
        return envelope(req, E_PARAM, "不支持的请求方式", None, 405)
    p, why = _params(req)
    if p is None:
        return envelope(req, E_PARAM, why)
    missing = [k for k in SIGNED + ("sign",) if not p.get(k)]
    if missing:
        return envelope(req, E_PARAM, "缺少必要参数: %s" % ", ".join(missing))
    if p["appkey"] != st["app_key"]:
        return envelope(req, E_APPKEY, "appkey不存在或无效")
    if p["method"] != req.ks_method or p["version"] != "1":
        return envelope(req, E_PARAM, "method或version与请求路径不符")
    if p["signMethod"] not in ("HMAC_SHA256", "MD5"):
        return envelope(req, E_PARAM, "不支持的签名方式: %s" % p["signMethod"])
    ts = p["timestamp"]
    if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > TS_SKEW_MS:
        return envelope(req, E_TS, "timestamp无效或已过期")
    want = expected_sign(st["sign_secret"], {k: p[k] for k in p if k in SIGNED}, p["signMethod"])
    if not hmac.compare_digest(want.encode(), p["sign"].encode()):
        req.notes.append("bad sign")
        return envelope(req, E_SIGN, "签名验证失败")
    if not hmac.compare_digest(p["access_token"].encode(), st["access_token"].encode()):
        return envelope(req, E_TOKEN, "access_token无效或已过期")
    try:
        doc = json.loads(p["param"])
        if not isinstance(doc, dict):
            raise ValueError
    except ValueError:
        return envelope(req, E_PARAM, "param不是合法的JSON对象")
    if req.ks_method == "open.item.list.get":
        return _list(sim, st, req, doc)
    if req.ks_method == "open.item.get":
        return _get(st, req, doc)
    return _update(sim, st, req, doc)


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _item_json(it):
    skus = [OrderedDict([("kwaiSkuId", o["id"]), ("kwaiItemId", it["id"]), ("skuNick", o["nick"]),
                         ("skuStock", o["stock"]), ("skuSalePrice", 990)]) for o in it["skus"]]
    return OrderedDict([("kwaiItemId", it["id"]), ("title", it["title"]),
                        ("auditStatus", 1 if it["audit"] else 2), ("skuInfos", skus)])


def _list(sim, st, req, doc):
    num, size = _int(doc.get("pageNumber", 1)), _int(doc.get("pageSize", 20))
    pmax = int(sim.config["kuaishou_page_max"])
    if num is None or num < 1 or size is None or not 10 <= size <= pmax:
        return envelope(req, E_PARAM, "pageNumber须大于0，pageSize取值范围10-%d" % pmax)
    total = len(st["items"])
    page = st["items"][(num - 1) * size:num * size]
    data = OrderedDict([("currentPageNumber", num), ("pageSize", size),
                        ("totalPage", (total + size - 1) // size), ("totalItemCount", total),
                        ("items", [_item_json(it) for it in page])])
    return envelope(req, 1, data=data)


def _get(st, req, doc):
    iid = _int(doc.get("kwaiItemId"))
    if iid is None:
        return envelope(req, E_PARAM, "kwaiItemId不能为空")
    it = st["by_iid"].get(iid)
    if it is None:
        return envelope(req, E_ITEM, "商品不存在")
    return envelope(req, 1, data=_item_json(it))


def _update(sim, st, req, doc):
    iid, sid = _int(doc.get("kwaiItemId")), _int(doc.get("skuId"))
    n, ct = _int(doc.get("skuChangeStock")), _int(doc.get("changeType"))
    if iid is None or sid is None:
        return envelope(req, E_PARAM, "kwaiItemId和skuId不能为空")
    if n is None or not 0 < n < CHANGE_LIMIT:
        return envelope(req, E_PARAM, "skuChangeStock须大于0且小于%d" % CHANGE_LIMIT)
    if ct not in (1, 2):
        return envelope(req, E_PARAM, "changeType只能为1(增加)或2(减少)")
    it = st["by_iid"].get(iid)
    if it is None:
        return envelope(req, E_ITEM, "商品不存在")
    o = st["by_sid"].get(sid)
    if o is None or o["item"] is not it:
        return envelope(req, E_SKU, "SKU不存在或不属于该商品")
    if it["audit"]:
        return envelope(req, E_AUDIT, M_AUDIT)
    delta = n if ct == 1 else -n
    if o["stock"] + delta < 0:
        return envelope(req, E_STOCK, "库存不足，扣减失败")
    before = o["stock"]
    o["stock"] = before + delta
    sim.log_write(kind="adjust", platform=NAME, shop=st["name"], item="%d/%d" % (iid, sid),
                  sku=o["nick"], location="", before=before, after=o["stock"], delta=delta,
                  idempotency_key=None, request_id=req.rid)
    return envelope(req, 1, data=None)


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    return [("%d/%d" % (it["id"], o["id"]), "") for it in model[store]["items"] for o in it["skus"]
            if o["stock"] >= qty or (allow_negative and o["stock"] > 0)]


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the SKU's stock down by qty (one pool: location is "" or None)."""
    st = model[store]
    o = None
    if item is not None:
        try:
            o = st["by_sid"].get(int(str(item).rsplit("/", 1)[-1]))
        except ValueError:
            o = None
    elif sku is not None:
        o = st["by_nick"].get(sku)
    if o is None:
        raise core.SimError(404, "no such SKU in store %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "Kuaishou has one stock per SKU (location \"\")")
    before = o["stock"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["stock"] = before - qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", "%d/%d" % (o["item"]["id"], o["id"])),
                        ("sku", o["nick"]), ("location", ""), ("before", before),
                        ("after", before - qty), ("delta", -qty)])
