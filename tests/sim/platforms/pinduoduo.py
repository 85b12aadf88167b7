"""Pinduoduo (拼多多) for the invkit simulator: the open platform's API router (goods list, SKU
read, stock update), with signed calls checked independently of the driver.

URL: [http://127.0.0.1:PORT/pinduoduo/<shop>]/api/router  (the part in brackets stands for
https://gw-api.pinduoduo.com).  Every call is a form-encoded POST; the API is named by its
`type` parameter, which is also the route name (`op`) that fault rules match.

Facts mirrored, with their source (the open platform's API pages, open.pinduoduo.com, as
reproduced field by field in the SDKs generated from them: the pdd crate on docs.rs,
src/requests/*.rs, and a TypeScript SDK's shangPin/*.ts):
  - Common parameters type, client_id, access_token, timestamp (Unix seconds), data_type
    (JSON), sign.  sign = upper-case hex MD5 of client_secret + every parameter but sign,
    sorted by name, each name then value + client_secret.  A wrong sign: {"error_response":
    {"error_msg": "签名验证失败", "sub_msg": "签名验证失败", "sub_code": "20004", "error_code":
    20004, "request_id": "..."}} (answers captured in public code).
  - Answers {"<name>_response": {...}} or {"error_response": {error_code, error_msg, sub_code,
    sub_msg, request_id}}; an expired token is 10019 "access_token已过期".
  - pdd.goods.list.get: page (from 1), page_size (default 100, at most 100), filters outer_id,
    is_onsale, goods_name -> goods_list_get_response {total_count, goods_list [{goods_id,
    goods_name, goods_quantity, is_onsale, is_more_sku, sku_list [{sku_id, outer_id,
    outer_goods_id, sku_quantity, is_sku_onsale, reserve_quantity, spec}]}]}; 600 calls a
    minute.
  - pdd.goods.skus.get {goods_id, sku_id} -> goods_sku_get_response {goods_id, sku_id,
    out_sku_sn, quantity, reserve_quantity, is_onsale, spec}.
  - pdd.goods.quantity.update {goods_id, sku_id | outer_id (sku_id wins), quantity,
    update_type 1 (absolute, the default) | 2 (relative; the sum may not go below 0)} ->
    goods_quantity_update_response {is_success}; goods on a promotion slot (资源位) cannot go
    down.
UNVERIFIED (drivers must be right either way), each marked where it is done: every error
code but 20004 and 10019, and the words of the others; that errors come with HTTP 200; the
throttle (a fixed window of `pdd_qps` calls a second per shop here, answered with error 70031
"调用已被限流"); the timestamp tolerance (600 s here); the answer of skus.get for an unknown SKU
(business error 50001 here).
"""

import hashlib
import hmac
import random
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "pinduoduo"
CONFIG = OrderedDict([
    ("pdd_qps", 50),          # calls a second per shop (UNVERIFIED)
    ("pdd_page_max", 100),    # page_size maximum (documented)
])
TS_SKEW = 600                 # UNVERIFIED
E_PARAM = 10000               # 参数错误 (seen in public code)
E_CLIENT = 10016              # UNVERIFIED
E_TOKEN = 10019               # access_token已过期 (seen in public code)
E_TIMESTAMP = 10002           # UNVERIFIED
E_TYPE = 10001                # UNVERIFIED
E_SIGN = 20004                # 签名验证失败 (seen in public code)
E_BIZ = 50001                 # 业务服务错误 (seen in public code, for other APIs)
E_RATE = 70031                # UNVERIFIED
TYPES = ("pdd.goods.list.get", "pdd.goods.skus.get", "pdd.goods.quantity.update")
MSG_SLOT = "商品在资源位上，不能减少库存"          # UNVERIFIED words
MSG_BELOW = "增量更新后库存不能小于0"             # UNVERIFIED words


def _int_id(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise core.BadState(what + " must be a positive integer")
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{shop: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "pinduoduo.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"client_id", "client_secret", "access_token", "goods"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("client_id", "client_secret", "access_token"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "client_id": s["client_id"], "client_secret": s["client_secret"],
              "access_token": s["access_token"], "goods": [], "by_gid": {}, "by_sid": {}, "by_outer": {}}
        for j, g in enumerate(s.get("goods") or []):
            gw = "%s.goods[%d]" % (what, j)
            if not isinstance(g, dict):
                raise core.BadState(gw + " must be an object")
            gid = _int_id(g.get("goods_id"), gw + ".goods_id")
            if gid in st["by_gid"]:
                raise core.BadState(gw + ": duplicate goods_id")
            goods = {"goods_id": gid, "goods_name": str(g.get("goods_name") or "Goods %d" % gid),
                     "is_onsale": 1 if g.get("is_onsale", 1) else 0, "skus": []}
            for k, sk in enumerate(g.get("skus") or []):
                sw = "%s.skus[%d]" % (gw, k)
                if not isinstance(sk, dict):
                    raise core.BadState(sw + " must be an object")
                sid = _int_id(sk.get("sku_id"), sw + ".sku_id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate sku_id")
                q, slot = sk.get("quantity", 0), sk.get("slot", False)
                if isinstance(q, bool) or not isinstance(q, int) or q < 0 or not isinstance(slot, bool):
                    raise core.BadState(sw + ": quantity is an integer >= 0, slot a boolean")
                o = {"sku_id": sid, "goods": goods, "outer_id": str(sk.get("outer_id") or ""),
                     "quantity": q, "reserve": 0, "slot": slot, "spec": str(sk.get("spec") or "")}
                goods["skus"].append(o)
                st["by_sid"][sid] = o
                if o["outer_id"]:
                    st["by_outer"].setdefault(o["outer_id"], o)
            st["goods"].append(goods)
            st["by_gid"][gid] = goods
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict((k, st[k]) for k in ("client_id", "client_secret", "access_token"))
        goods = []
        for g in st["goods"]:
            skus = []
            for o in g["skus"]:
                e = OrderedDict([("sku_id", o["sku_id"]), ("outer_id", o["outer_id"]),
                                 ("quantity", o["quantity"])])
                if o["spec"]:
                    e["spec"] = o["spec"]
                if o["slot"]:
                    e["slot"] = True
                skus.append(e)
            goods.append(OrderedDict([("goods_id", g["goods_id"]), ("goods_name", g["goods_name"]),
                                      ("is_onsale", g["is_onsale"]), ("skus", skus)]))
        d["goods"] = goods
        out[name] = d
    return out


def sample(n, seed):
    """Shop "demo" (client_id pdd_sim_client, client secret pdd_sim_secret, access token
    pdd_sim_token_demo) with n goods PDD-00001...: every 3rd has SKUs -S/-M/-L, the others
    one SKU."""
    rng = random.Random("invkit-sim-pinduoduo-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    goods, k = [], 0
    for i in range(1, n + 1):
        code = "PDD-%05d" % i
        suffixes = ["-S", "-M", "-L"] if i % 3 == 0 else [""]
        skus = []
        for suf in suffixes:
            k += 1
            skus.append({"sku_id": 1100000000 + k, "outer_id": code + suf, "quantity": rng.choice(qtys),
                         "spec": suf[1:]})
        goods.append({"goods_id": 400000000000 + i, "goods_name": "商品 %d" % i, "is_onsale": 1,
                      "skus": skus})
    return {"demo": {"client_id": "pdd_sim_client", "client_secret": "pdd_sim_secret",
                     "access_token": "pdd_sim_token_demo", "goods": goods}}


# ---- requests ---------------------------------------------------------------------------

def _params(req):
    """The call's parameters: the form body, then the query (a name given twice: the first)."""
    out = OrderedDict()
    try:
        body = req.body.decode("utf-8") if req.body else ""
    except UnicodeDecodeError:
        body = ""
    for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True) + list(req.query_items):
        out.setdefault(k, v)
    return out


def classify(req):
    """The route is the `type` parameter; only pdd.goods.quantity.update writes."""
    req.pdd_params = _params(req) if req.method == "POST" else OrderedDict()
    t = req.pdd_params.get("type", "")
    req.pdd_type = t if t in TYPES else None
    if req.pdd_type:
        req.ops.append(t)
    req.is_write = req.pdd_type == "pdd.goods.quantity.update"


def error(req, code, msg, sub_msg=None, sub_code=None, status=200, headers=()):
    e = OrderedDict([("error_msg", msg), ("sub_msg", msg if sub_msg is None else sub_msg),
                     ("sub_code", str(code) if sub_code is None else sub_code), ("error_code", code),
                     ("request_id", req.rid)])
    return core.Resp(status, OrderedDict([("error_response", e)]), list(headers),
                     "application/json;charset=UTF-8")


def ok(key, data):
    return core.Resp(200, OrderedDict([(key, data)]), [], "application/json;charset=UTF-8")


def expected_sign(secret, params):
    """The sign, computed here independently of the driver: client_secret + sorted name+value
    pairs (sign left out) + client_secret, MD5, upper-case hex."""
    s = secret + "".join(k + v for k, v in sorted(params.items()) if k != "sign") + secret
    return hashlib.md5(s.encode("utf-8")).hexdigest().upper()


def _rate(sim, shop):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(shop, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["pdd_qps"])


def fault_response(sim, req, code, hdrs):
    """Injected 429/500 with an error_response body (codes and words UNVERIFIED)."""
    if code == 429:
        return error(req, E_RATE, "调用已被限流", status=429, headers=hdrs)
    if code == 500:
        return error(req, 50000, "系统异常", status=500, headers=hdrs)
    return None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return error(req, E_CLIENT, "client_id不存在", status=404)
    if req.rest.rstrip("/") != "/api/router":
        return core.Resp(404, b"<html><body><h1>404 Not Found</h1></body></html>", [], "text/html")
    if req.method != "POST":
        return error(req, E_PARAM, "参数错误: 只支持POST", status=405)
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return error(req, E_RATE, "调用已被限流")
    q = req.pdd_params
    if q.get("client_id") != st["client_id"]:
        return error(req, E_CLIENT, "client_id不存在")
    ts = q.get("timestamp", "")
    if not ts.isdigit() or abs(int(ts) - time.time()) > TS_SKEW:
        return error(req, E_TIMESTAMP, "timestamp已过期或格式错误")
    want = expected_sign(st["client_secret"], q)
    if not hmac.compare_digest(want.encode(), q.get("sign", "").encode()):
        req.notes.append("bad sign")
        return error(req, E_SIGN, "签名验证失败")
    if not hmac.compare_digest(q.get("access_token", "").encode(), st["access_token"].encode()):
        return error(req, E_TOKEN, "access_token已过期")
    if req.pdd_type is None:
        return error(req, E_TYPE, "接口不存在: type=%s" % q.get("type", ""))
    if q.get("data_type", "JSON").upper() != "JSON":
        return error(req, E_PARAM, "参数错误: data_type")
    if req.pdd_type == "pdd.goods.list.get":
        return _list(sim, st, req, q)
    if req.pdd_type == "pdd.goods.skus.get":
        return _sku(st, req, q)
    return _update(sim, st, req, q)


def _num(q, k, default=None):
    v = q.get(k)
    if v is None or v == "":
        return default
    if not v.lstrip("-").isdigit() or v in ("-",):
        raise ValueError(k)
    return int(v)


def _list(sim, st, req, q):
    try:
        page, size = _num(q, "page", 1), _num(q, "page_size", 100)
    except ValueError as e:
        return error(req, E_PARAM, "参数错误: %s" % e)
    if page < 1 or not 1 <= size <= int(sim.config["pdd_page_max"]):
        return error(req, E_PARAM, "参数错误: page从1开始, page_size最大%d" % int(sim.config["pdd_page_max"]))
    sel = st["goods"]
    if q.get("is_onsale") in ("0", "1"):
        sel = [g for g in sel if g["is_onsale"] == int(q["is_onsale"])]
    elif q.get("outer_id"):
        sel = [g for g in sel if any(o["outer_id"] == q["outer_id"] for o in g["skus"])]
    lst = []
    for g in sel[(page - 1) * size:page * size]:
        skus = [OrderedDict([("spec", o["spec"]), ("sku_id", o["sku_id"]), ("sku_quantity", o["quantity"]),
                             ("outer_id", o["outer_id"]), ("outer_goods_id", ""),
                             ("is_sku_onsale", g["is_onsale"]), ("reserve_quantity", o["reserve"])])
                for o in g["skus"]]
        lst.append(OrderedDict([("thumb_url", ""), ("goods_id", g["goods_id"]), ("goods_name", g["goods_name"]),
                                ("image_url", ""), ("is_more_sku", 1 if len(skus) > 1 else 0),
                                ("goods_quantity", sum(o["quantity"] for o in g["skus"])),
                                ("is_onsale", g["is_onsale"]), ("sku_list", skus),
                                ("goods_reserve_quantity", sum(o["reserve"] for o in g["skus"]))]))
    return ok("goods_list_get_response", OrderedDict([("total_count", len(sel)), ("goods_list", lst)]))


def _find(st, q):
    """The SKU a call names (goods_id and sku_id, or outer_id when sku_id is absent), or an
    error message."""
    try:
        gid, sid = _num(q, "goods_id"), _num(q, "sku_id")
    except ValueError as e:
        return None, "参数错误: %s" % e
    g = st["by_gid"].get(gid)
    if g is None:
        return None, "商品不存在"
    if sid is not None:
        o = st["by_sid"].get(sid)
    else:
        o = next((x for x in g["skus"] if q.get("outer_id") and x["outer_id"] == q["outer_id"]), None)
    if o is None or o["goods"] is not g:
        return None, "sku不存在"
    return o, None


def _sku(st, req, q):
    o, why = _find(st, q)
    if o is None:
        return error(req, E_BIZ, "业务服务错误", why, "goods.sku.not.exist")  # UNVERIFIED
    g = o["goods"]
    return ok("goods_sku_get_response", OrderedDict([
        ("goods_id", g["goods_id"]), ("is_onsale", g["is_onsale"]), ("multi_price", 990),
        ("out_sku_sn", o["outer_id"]), ("quantity", o["quantity"]), ("reserve_quantity", o["reserve"]),
        ("single_price", 1290), ("sku_id", o["sku_id"]),
        ("spec", [OrderedDict([("parent_spec_id", 1), ("parent_spec_name", "规格"), ("spec_id", 1),
                               ("spec_name", o["spec"]), ("spec_note", "")])] if o["spec"] else [])]))


def _update(sim, st, req, q):
    o, why = _find(st, q)
    if o is None:
        return error(req, E_BIZ, "业务服务错误", why, "goods.sku.not.exist")
    try:
        qty, kind = _num(q, "quantity"), _num(q, "update_type", 1)
    except ValueError as e:
        return error(req, E_PARAM, "参数错误: %s" % e)
    if qty is None or kind not in (1, 2):
        return error(req, E_PARAM, "参数错误: quantity必填, update_type为1或2")
    before = o["quantity"]
    after = qty if kind == 1 else before + qty
    if after < 0:
        return error(req, E_BIZ, "业务服务错误", (MSG_BELOW if kind == 2 else "库存不能小于0"))
    if o["slot"] and after < before:
        return error(req, E_BIZ, "业务服务错误", MSG_SLOT, "goods.in.resource.slot")
    o["quantity"] = after
    g = o["goods"]
    sim.log_write(kind="adjust" if kind == 2 else "set", platform=NAME, shop=st["name"],
                  item="%d/%d" % (g["goods_id"], o["sku_id"]), goods_id=g["goods_id"], sku=o["outer_id"],
                  location="", before=before, after=after, delta=after - before, idempotency_key=None,
                  request_id=req.rid)
    return ok("goods_quantity_update_response", OrderedDict([("is_success", True)]))


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    """SKUs that can sell qty (Pinduoduo holds no negative stock: allow_negative is moot)."""
    out = []
    for g in model[store]["goods"]:
        for o in g["skus"]:
            if o["quantity"] >= qty:
                out.append(("%d/%d" % (g["goods_id"], o["sku_id"]), ""))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the SKU's quantity down by qty (Pinduoduo holds no negative stock)."""
    st = model[store]
    o = None
    if item is not None:
        try:
            o = st["by_sid"].get(int(str(item).rsplit("/", 1)[-1]))
        except ValueError:
            o = None
    elif sku is not None:
        o = st["by_outer"].get(sku)
    if o is None:
        raise core.SimError(404, "no such SKU in shop %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "Pinduoduo has one stock pool per SKU: location must be empty")
    before = o["quantity"]
    if before < qty:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["quantity"] = before - qty
    return OrderedDict([("platform", NAME), ("shop", store),
                        ("item", "%d/%d" % (o["goods"]["goods_id"], o["sku_id"])), ("sku", o["outer_id"]),
                        ("location", ""), ("before", before), ("after", before - qty), ("delta", -qty)])
