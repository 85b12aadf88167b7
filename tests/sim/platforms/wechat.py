"""WeChat Channels shop (微信小店) for the invkit simulator: the stable access token, the
product list, stock batchget / get and the quick stock update.

URLs: [http://127.0.0.1:PORT/wechat/<store>]/channels/ec/product/list/get?access_token=...
(base_url in brackets stands for https://api.weixin.qq.com).

Facts mirrored, with their source (developers.weixin.qq.com/doc/store/shop/API, the
"微信小店" server API, and the pages named):
  - POST /cgi-bin/stable_token {grant_type: client_credential, appid, secret,
    force_refresh?} -> {access_token, expires_in} ("获取稳定版接口调用凭据"); in the normal
    mode the same token comes back while it is valid.  A bad appid -> 40013, a bad secret
    -> 40125.  The token (not the secret) is the whole credential of every other call: no
    request signature exists on these APIs, so what is checked here, independently of the
    driver, is the token - issued here, derived with hashlib from the store's appid and
    secret - and that the secret never appears in a URL.
  - Every other call: POST <path>?access_token=..., JSON body, an answer {errcode (0 ok),
    errmsg, ...}, HTTP 200 for errors too.  40001 a bad token, 41001 none.
  - /channels/ec/product/list/get {status?, page_size (<= 30), next_key?} -> {product_ids,
    next_key, total_num} (products in the recycle bin, status 6, are not listed).
  - /channels/ec/product/stock/batchget {product_id: [<= 50]} -> data.spu_stock_list
    [{product_id, sku_stock [{sku_id, normal_stock_num, limited_discount_stock_num,
    warehouse_stocks, finder_total_num, total_stock_num}]}].
  - /channels/ec/product/stock/get {product_id, sku_id} -> data {normal_stock_num, ...};
    10020052 商品不存在.
  - /channels/ec/product/stock/update {product_id, sku_id, diff_type 1 add / 2 subtract /
    3 set, num}: 10020052 商品不存在, 10020217 draft under review (edit_status 2),
    10020218 a change of 0, 10020219 库存不足以减扣, 10020051 bad parameters.  No
    idempotency key.  The error messages are the pages' own words.
UNVERIFIED (drivers must be right either way): that diff_type changes normal_stock_num
(here it does, and total_stock_num follows); the rate limit and its answer (here a fixed
window of `wechat_qps` requests a second per store, answered HTTP 200 errcode 45011 with the
platform's usual English text); how an unknown product id in batchget is answered (left out
here); the next_key format (an opaque offset here); what ends the list (an empty next_key on
the last page here); that an unlisted SKU id gives 10020052 too.
"""

import hashlib
import hmac
import json
import random
import time
from collections import OrderedDict

import sim as core

NAME = "wechat"
CONFIG = OrderedDict([
    ("wechat_qps", 100),          # requests per second per store (UNVERIFIED)
])
PAGE_MAX = 30
BATCH_MAX = 50
TOKEN_TTL = 7200
E_BUSY, E_TOKEN, E_NOTOKEN, E_APPID, E_SECRET = -1, 40001, 41001, 40013, 40125
E_RATE, E_PARAM, E_NOPROD, E_AUDIT, E_ZERO, E_SHORT = 45011, 10020051, 10020052, 10020217, 10020218, 10020219
M = {
    E_BUSY: "system error",
    E_TOKEN: "invalid credential, access_token is invalid or not latest",
    E_NOTOKEN: "access_token missing",
    E_APPID: "invalid appid",
    E_SECRET: "invalid appsecret",
    E_RATE: "api minute-quota reach limit  mustslower  retry next minute",
    E_PARAM: "参数错误,请开发者按照文档传参",
    E_NOPROD: "商品不存在",
    E_AUDIT: "当前商品状态草稿状态为审核中,不允许直接更新库存",
    E_ZERO: "增加减少数量为0",
    E_SHORT: "库存不足以减扣",
}
PATHS = {
    "/cgi-bin/stable_token": "stable_token",
    "/channels/ec/product/list/get": "product.list.get",
    "/channels/ec/product/stock/batchget": "stock.batchget",
    "/channels/ec/product/stock/get": "stock.get",
    "/channels/ec/product/stock/update": "stock.update",
}


def _int_id(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise core.BadState(what + " must be a positive integer")
    return v


def token_of(appid, secret):
    """The access token this simulator issues for an appid and secret."""
    return "wxat_" + hashlib.sha256(("%s:%s" % (appid, secret)).encode("utf-8")).hexdigest()[:40]


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {appid, secret, products: [{id, status (5), edit_status (0), skus: [{id,
    stock, warehouse?}]}]}} -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "wechat.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"appid", "secret", "products"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("appid", "secret"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "appid": s["appid"], "secret": s["secret"], "products": [],
              "by_pid": {}, "by_sid": {}}
        for j, p in enumerate(s.get("products") or []):
            pw = "%s.products[%d]" % (what, j)
            if not isinstance(p, dict):
                raise core.BadState(pw + " must be an object")
            pid = _int_id(p.get("id"), pw + ".id")
            if pid in st["by_pid"]:
                raise core.BadState(pw + ": duplicate id")
            prod = {"id": pid, "status": p.get("status", 5), "edit_status": p.get("edit_status", 0),
                    "skus": []}
            for k in ("status", "edit_status"):
                if isinstance(prod[k], bool) or not isinstance(prod[k], int):
                    raise core.BadState("%s.%s must be an integer" % (pw, k))
            for k, sk in enumerate(p.get("skus") or []):
                sw = "%s.skus[%d]" % (pw, k)
                if not isinstance(sk, dict):
                    raise core.BadState(sw + " must be an object")
                sid = _int_id(sk.get("id"), sw + ".id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate SKU id")
                stock, wh = sk.get("stock", 0), sk.get("warehouse", 0)
                if any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in (stock, wh)):
                    raise core.BadState(sw + ": stock and warehouse are integers >= 0")
                o = {"id": sid, "product": prod, "stock": stock, "warehouse": wh}
                prod["skus"].append(o)
                st["by_sid"][sid] = o
            st["products"].append(prod)
            st["by_pid"][pid] = prod
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        prods = []
        for p in st["products"]:
            e = OrderedDict([("id", p["id"])])
            if p["status"] != 5:
                e["status"] = p["status"]
            if p["edit_status"]:
                e["edit_status"] = p["edit_status"]
            skus = []
            for o in p["skus"]:
                so = OrderedDict([("id", o["id"]), ("stock", o["stock"])])
                if o["warehouse"]:
                    so["warehouse"] = o["warehouse"]
                skus.append(so)
            e["skus"] = skus
            prods.append(e)
        out[name] = OrderedDict([("appid", st["appid"]), ("secret", st["secret"]), ("products", prods)])
    return out


def sample(n, seed):
    """Store "demo" (appid wx_sim_appid, AppSecret wx_sim_app_secret) with n products: every
    4th has three SKUs, the others one; every 5th SKU also has regional stock."""
    rng = random.Random("invkit-sim-wechat-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    prods, k = [], 0
    for i in range(1, n + 1):
        skus = []
        for _ in range(3 if i % 4 == 0 else 1):
            k += 1
            s = {"id": 600000000 + k, "stock": rng.choice(qtys)}
            if k % 5 == 0:
                s["warehouse"] = 7
            skus.append(s)
        prods.append({"id": 10000000000000 + i, "skus": skus})
    return {"demo": {"appid": "wx_sim_appid", "secret": "wx_sim_app_secret", "products": prods}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """The route is the path; only the stock update writes."""
    op = PATHS.get(req.rest.rstrip("/") if req.rest != "/" else req.rest)
    req.wx_op = op
    if op:
        req.ops.append(op)
    req.is_write = op == "stock.update"


def answer(req, code, data=None, status=200, headers=(), extra=None):
    body = OrderedDict([("errcode", code), ("errmsg", "ok" if code == 0 else M.get(code, "error"))])
    if extra:
        body.update(extra)
    if data is not None:
        body["data"] = data
    return core.Resp(status, body, list(headers), "application/json; encoding=utf-8")


def _raw(code, msg):
    return core.Resp(200, OrderedDict([("errcode", code), ("errmsg", msg)]), [],
                     "application/json; encoding=utf-8")


def fault_response(sim, req, code, hdrs):
    """Injected 429/500 as WeChat answers them: HTTP 200 and an errcode (UNVERIFIED)."""
    if code == 429:
        return answer(req, E_RATE, headers=hdrs)
    if code == 500:
        return answer(req, E_BUSY, headers=hdrs)
    return None


def _rate(sim, store):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["wechat_qps"])


def _body(req):
    try:
        doc = json.loads(req.body.decode("utf-8")) if req.body else None
    except (UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None or req.wx_op is None:
        return core.Resp(404, {"errcode": 404, "errmsg": "Not Found"}, [], "application/json")
    if req.method != "POST":
        return _raw(43002, "require POST method")
    q = dict(req.query_items)
    if any(st["secret"] in v for _, v in req.query_items):
        req.notes.append("secret in the URL")
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return answer(req, E_RATE)
    doc = _body(req)
    if req.wx_op == "stable_token":
        return _token(st, req, doc)
    tok = q.get("access_token")
    if not tok:
        return answer(req, E_NOTOKEN)
    if not hmac.compare_digest(tok.encode(), token_of(st["appid"], st["secret"]).encode()):
        req.notes.append("bad token")
        return answer(req, E_TOKEN)
    if doc is None:
        return _raw(47001, "data format error")
    if req.wx_op == "product.list.get":
        return _list(st, req, doc)
    if req.wx_op == "stock.batchget":
        return _batchget(st, req, doc)
    if req.wx_op == "stock.get":
        return _get(st, req, doc)
    return _update(sim, st, req, doc)


def _token(st, req, doc):
    if doc is None or doc.get("grant_type") != "client_credential":
        return _raw(40002, "invalid grant_type")
    if doc.get("appid") != st["appid"]:
        return answer(req, E_APPID)
    if not isinstance(doc.get("secret"), str) or \
            not hmac.compare_digest(doc["secret"].encode(), st["secret"].encode()):
        req.notes.append("bad secret")
        return answer(req, E_SECRET)
    body = OrderedDict([("access_token", token_of(st["appid"], st["secret"])), ("expires_in", TOKEN_TTL)])
    return core.Resp(200, body, [], "application/json; encoding=utf-8")


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _uid(v):
    """A uint64 id given as a string of digits (or a number); None when not one."""
    if isinstance(v, str) and v.isdigit() and not v.startswith("0"):
        return int(v)
    return v if _int(v) is not None and v > 0 else None


def _listed(st):
    return [p for p in st["products"] if p["status"] not in (0, 6, 9)]


def _list(st, req, doc):
    size = _int(doc.get("page_size"))
    if size is None or not 1 <= size <= PAGE_MAX:
        return answer(req, E_PARAM)
    nk = doc.get("next_key", "")
    if not isinstance(nk, str) or (nk and not (nk.startswith("o") and nk[1:].isdigit())):
        return answer(req, E_PARAM)
    off = int(nk[1:]) if nk else 0
    prods = _listed(st)
    page = prods[off:off + size]
    end = off + len(page)
    return answer(req, 0, extra=OrderedDict([
        ("product_ids", [str(p["id"]) for p in page]),
        ("next_key", "o%d" % end if end < len(prods) else ""),
        ("total_num", len(prods))]))


def _sku_json(o):
    wh = [OrderedDict([("out_warehouse_id", "wh1"), ("num", o["warehouse"]), ("lock_stock", 0)])] \
        if o["warehouse"] else []
    return OrderedDict([("sku_id", str(o["id"])), ("normal_stock_num", o["stock"]),
                        ("limited_discount_stock_num", 0), ("warehouse_stocks", wh),
                        ("finder_total_num", 0), ("total_stock_num", o["stock"] + o["warehouse"])])


def _batchget(st, req, doc):
    ids = doc.get("product_id")
    if not isinstance(ids, list) or not 1 <= len(ids) <= BATCH_MAX:
        return answer(req, E_PARAM)
    out = []
    for v in ids:
        pid = _uid(v)
        if pid is None:
            return answer(req, E_PARAM)
        p = st["by_pid"].get(pid)
        if p is None or p["status"] == 9:
            continue
        out.append(OrderedDict([("product_id", str(pid)), ("sku_stock", [_sku_json(o) for o in p["skus"]])]))
    return answer(req, 0, data=OrderedDict([("spu_stock_list", out)]))


def _find(st, doc):
    pid, sid = _uid(doc.get("product_id")), _uid(doc.get("sku_id"))
    if pid is None or sid is None:
        return None, E_PARAM
    p = st["by_pid"].get(pid)
    o = st["by_sid"].get(sid)
    if p is None or p["status"] == 9 or o is None or o["product"] is not p:
        return None, E_NOPROD
    return o, 0


def _get(st, req, doc):
    o, err = _find(st, doc)
    if o is None:
        return answer(req, err)
    d = _sku_json(o)
    del d["sku_id"], d["finder_total_num"]
    return answer(req, 0, data=d)


def _update(sim, st, req, doc):
    o, err = _find(st, doc)
    dt, n = _int(doc.get("diff_type")), _int(doc.get("num"))
    if err == E_PARAM or dt not in (1, 2, 3) or n is None or n < 0:
        return answer(req, E_PARAM)
    if o is None:
        return answer(req, err)
    if o["product"]["edit_status"] == 2:
        return answer(req, E_AUDIT)
    if dt != 3 and n == 0:
        return answer(req, E_ZERO)
    before = o["stock"]
    after = before + n if dt == 1 else before - n if dt == 2 else n
    if after < 0:
        return answer(req, E_SHORT)
    o["stock"] = after
    sim.log_write(kind="set" if dt == 3 else "adjust", platform=NAME, shop=st["name"],
                  item="%d/%d" % (o["product"]["id"], o["id"]), sku="", location="", before=before,
                  after=after, delta=after - before, idempotency_key=None, request_id=req.rid)
    return answer(req, 0)


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    return [("%d/%d" % (p["id"], o["id"]), "") for p in _listed(model[store]) for o in p["skus"]
            if o["stock"] >= qty or (allow_negative and o["stock"] > 0)]


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the SKU's common stock down by qty (location "" or None)."""
    st = model[store]
    o = None
    if item is not None:
        try:
            o = st["by_sid"].get(int(str(item).rsplit("/", 1)[-1]))
        except ValueError:
            o = None
    if o is None:
        raise core.SimError(404, "no such SKU in store %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "the driver's stock is the common one (location \"\")")
    before = o["stock"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["stock"] = before - qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", "%d/%d" % (o["product"]["id"], o["id"])),
                        ("sku", ""), ("location", ""), ("before", before),
                        ("after", before - qty), ("delta", -qty)])
