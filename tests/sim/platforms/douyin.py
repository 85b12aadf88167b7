"""Douyin shop (抖店) for the invkit simulator: the open platform's v2 API (product.listV2,
sku.list, sku.stockNum, sku.syncStock, sku.syncStockBatch), with signed requests checked
independently of the driver.

URLs: [http://127.0.0.1:PORT/douyin/<shop>]/<method with '.' as '/'>  (base_url in brackets
stands for https://openapi-fxg.jinritemai.com).

Facts mirrored, with their source (抖店开放平台 op.jinritemai.com/docs; the official SDKs are
generated from it, e.g. the PHP one mirrored at github.com/westng/doudian-sdk):
  - POST /<method path>?app_key=&method=&v=2&timestamp=&sign_method=&access_token=&sign=, the
    body is param_json (compact, keys sorted at every level).  "签名算法" (guide-docs/10/23),
    DoudianOpClient::request, SignUtil::marshal.
  - sign = hex HMAC-SHA256 keyed by the app secret (sign_method=hmac-sha256) or hex MD5
    (sign_method=md5) of app_secret + "app_key"+k + "method"+m + "param_json"+json +
    "timestamp"+ts + "v2" + app_secret.  SignUtil::sign.
  - timestamp "yyyy-MM-dd HH:mm:ss" in GMT+8, up to 10 minutes off (the guide); the SDKs send
    Unix seconds, so both are taken here.
  - Envelope {code (10000 ok), msg, sub_code, sub_msg, log_id, data}.
  - product.listV2 {page (from 1), size (1..100)} -> data {data [{product_id, name, status,
    ...}], page, size, total}.
  - sku.list {product_id} -> data [{id, product_id, code, stock_num, sku_type, ...}].
  - sku.stockNum {sku_id} -> data {sku_id, code, stock_num, prehold_stock_num, ...}.
  - sku.syncStock {product_id, sku_id, incremental, idempotent_id, stock_num}: false sets,
    true adds (idempotent_id then required); going below zero is refused ("系统错误:更新库存数失败",
    quoted by connector docs of the API).
  - sku.syncStockBatch {product_id, incremental, idempotent_id, sku_sync_list [{sku_id,
    sku_type, stock_num}]}: SKUs of one product only, all or nothing (one entry wrong and none
    is updated); sku_type required in each entry; data {} on success.  "库存批量同步接口"
    (SDK Api/sku_syncStockBatch, SkuSyncStockBatchParam, SkuSyncList; mirrored at
    doc.fw199.com/docs/h7b/h7b-1fkbojco2mb75).  idempotent_id "仅incremental=true时有用".
UNVERIFIED (drivers must be right either way): every error code and sub_code, and the exact
Chinese wording of the messages; that an unsorted param_json fails the sign check (here the
sign is checked over the re-sorted form, as if the gateway re-marshals); the QPS limit (a
fixed window of `douyin_qps` requests a second per shop here) and its answer (HTTP 200, code
50002 here); what a repeated idempotent_id answers (the original answer here, nothing
applied again; the same id with other parameters is refused) and how long it is kept (until
reset here); that a refused write leaves its idempotent_id unused (it does here); the most
entries in one sku.syncStockBatch (`douyin_batch_max` here); that a batch without idempotent_id
is refused when incremental=true (the page marks it optional; required here, as for
sku.syncStock); which entry's fault a refused batch names (the first, in list order, here).
"""

import hashlib
import hmac
import json
import random
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

import sim as core

NAME = "douyin"
CONFIG = OrderedDict([
    ("douyin_qps", 50),          # requests per second per shop (UNVERIFIED)
    ("douyin_page_max", 100),    # product.listV2 size maximum (documented)
    ("douyin_batch_max", 50),    # sku_sync_list entries in one sku.syncStockBatch (UNVERIFIED)
])
TS_SKEW = 600                    # "10 minutes" (documented)
BEIJING = timezone(timedelta(hours=8))
# error codes (UNVERIFIED, see above)
C_OK = 10000
C_UNAVAILABLE = 20000
C_TOKEN = 30001
C_APP_KEY = 30002
C_SIGN = 30005
C_MISSING = 40001
C_PARAM = 40002
C_BIZ = 40004
C_LIMIT = 50002
METHODS = ("product.listV2", "sku.list", "sku.stockNum", "sku.syncStock", "sku.syncStockBatch")
WRITES = ("sku.syncStock", "sku.syncStockBatch")


def _id(v, what):
    if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).isdigit() or str(v)[0] == "0":
        raise core.BadState(what + " must be a positive integer (or a string of digits)")
    if int(v) >= 2 ** 63:
        raise core.BadState(what + " is out of the int64 range")
    return int(v)


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{shop: {app_key, app_secret, access_token, products: [{product_id, name, status,
    skus: [{id, code, stock_num, sku_type?, online?}]}]}} -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "douyin.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"app_key", "app_secret", "access_token", "products"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("app_key", "app_secret", "access_token"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "app_key": s["app_key"], "app_secret": s["app_secret"],
              "access_token": s["access_token"], "products": [], "by_pid": {}, "by_sid": {},
              "by_code": {}}
        for j, p in enumerate(s.get("products") or []):
            pw = "%s.products[%d]" % (what, j)
            if not isinstance(p, dict):
                raise core.BadState(pw + " must be an object")
            pid = _id(p.get("product_id"), pw + ".product_id")
            if pid in st["by_pid"]:
                raise core.BadState(pw + ": duplicate product_id")
            prod = {"product_id": pid, "name": str(p.get("name") or "商品 %d" % pid),
                    "status": p.get("status", 0), "skus": []}
            for k, sk in enumerate(p.get("skus") or []):
                sw = "%s.skus[%d]" % (pw, k)
                if not isinstance(sk, dict):
                    raise core.BadState(sw + " must be an object")
                sid = _id(sk.get("id"), sw + ".id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate SKU id")
                o = {"id": sid, "product": prod, "code": sk.get("code", ""),
                     "stock_num": sk.get("stock_num", 0), "sku_type": sk.get("sku_type", 0),
                     "online": sk.get("online", True), "prehold": sk.get("prehold_stock_num", 0)}
                if not isinstance(o["code"], str) or not isinstance(o["online"], bool):
                    raise core.BadState(sw + ": code is a string, online a boolean")
                for key in ("stock_num", "sku_type", "prehold"):
                    if isinstance(o[key], bool) or not isinstance(o[key], int):
                        raise core.BadState("%s.%s must be an integer" % (sw, key))
                prod["skus"].append(o)
                st["by_sid"][sid] = o
                if o["code"]:
                    st["by_code"].setdefault(o["code"], o)
            st["products"].append(prod)
            st["by_pid"][pid] = prod
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict((k, st[k]) for k in ("app_key", "app_secret", "access_token"))
        prods = []
        for p in st["products"]:
            skus = []
            for o in p["skus"]:
                e = OrderedDict([("id", str(o["id"])), ("code", o["code"]), ("stock_num", o["stock_num"])])
                if o["sku_type"]:
                    e["sku_type"] = o["sku_type"]
                if not o["online"]:
                    e["online"] = False
                if o["prehold"]:
                    e["prehold_stock_num"] = o["prehold"]
                skus.append(e)
            prods.append(OrderedDict([("product_id", str(p["product_id"])), ("name", p["name"]),
                                      ("status", p["status"]), ("skus", skus)]))
        d["products"] = prods
        out[name] = d
    return out


def sample(n, seed):
    """Shop "demo" (app key dy_sim_key, app secret dy_sim_secret, access token
    dy_sim_token) with n products DY-00001...: every 4th has SKUs -S/-M/-L, the others one
    SKU; every 9th SKU is on regional stock (sku_type 1, not in a pull)."""
    rng = random.Random("invkit-sim-douyin-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    prods, k = [], 0
    for i in range(1, n + 1):
        code = "DY-%05d" % i
        skus = []
        for suf in (["-S", "-M", "-L"] if i % 4 == 0 else [""]):
            k += 1
            e = {"id": str(1730000000000000 + k), "code": code + suf, "stock_num": rng.choice(qtys)}
            if k % 9 == 0:
                e["sku_type"] = 1
            skus.append(e)
        prods.append({"product_id": str(3500000000000000000 + i), "name": "商品 %d" % i, "status": 0,
                      "skus": skus})
    return {"demo": {"app_key": "dy_sim_key", "app_secret": "dy_sim_secret",
                     "access_token": "dy_sim_token", "products": prods}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """The route is the path with '/' as '.' (fault rules match it as `op`); only
    sku.syncStock and sku.syncStockBatch write."""
    m = req.rest.strip("/").replace("/", ".")
    req.dy_method = m if m in METHODS else None
    if req.dy_method:
        req.ops.append(m)
    req.is_write = m in WRITES


def envelope(req, code, msg, data=None, sub_code="", sub_msg="", status=200, headers=()):
    body = OrderedDict([("code", code), ("msg", msg), ("sub_code", sub_code), ("sub_msg", sub_msg),
                        ("log_id", req.rid), ("data", data if data is not None else {})])
    # raw UTF-8, as the platform sends Chinese text
    return core.Resp(status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                     list(headers), "application/json; charset=utf-8")


def biz(req, sub, text):
    return envelope(req, C_BIZ, "业务处理失败", None, "isv.business-failed:" + sub, text)


def marshal(doc):
    """param_json as the gateway checks it: compact, keys sorted at every level."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def expected_sign(secret, method_name, app_key, param_json, ts, sign_method):
    """The sign, computed here independently of the driver."""
    s = (secret + "app_key" + app_key + "method" + method_name + "param_json" + param_json +
         "timestamp" + ts + "v2" + secret).encode("utf-8")
    if sign_method == "md5":
        return hashlib.md5(s).hexdigest()
    return hmac.new(secret.encode("utf-8"), s, hashlib.sha256).hexdigest()


def ts_ok(ts):
    """Within 10 minutes: "yyyy-MM-dd HH:mm:ss" read as Beijing time, or Unix seconds."""
    try:
        if ts.isdigit():
            t = int(ts)
        else:
            t = datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).timestamp()
    except ValueError:
        return False
    return abs(t - time.time()) <= TS_SKEW


def _rt(sim, shop):
    return sim.plugin_rt.setdefault(NAME, {}).setdefault(
        shop, {"start": time.monotonic(), "used": 0, "keys": {}})


def _rate(sim, shop):
    rt = _rt(sim, shop)
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["douyin_qps"])


def fault_response(sim, req, code, hdrs):
    """Injected 429/500 in the platform's envelope (codes and messages UNVERIFIED)."""
    if code == 429:
        return envelope(req, C_LIMIT, "调用频率超限", None, "isv.api-call-limited", "请求过于频繁，请稍后重试",
                        429, hdrs)
    if code == 500:
        return envelope(req, C_UNAVAILABLE, "服务不可用", None, "isp.service-error", "服务暂不可用，请稍后重试",
                        500, hdrs)
    return None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid", "店铺不存在", 404)
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return envelope(req, C_LIMIT, "调用频率超限", None, "isv.api-call-limited", "请求过于频繁，请稍后重试")
    q = OrderedDict()
    for k, v in req.query_items:
        q[k] = v
    try:
        body = req.body.decode("utf-8") if req.body else ""
    except UnicodeDecodeError:
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:param_json", "param_json不是UTF-8")
    for k in ("app_key", "method", "v", "timestamp", "sign"):
        if not q.get(k):
            return envelope(req, C_MISSING, "缺少必选参数", None, "isv.missing-parameter:" + k, "缺少参数" + k)
    if q["app_key"] != st["app_key"]:
        return envelope(req, C_APP_KEY, "app_key无效", None, "isv.app-key-invalid", "app_key不存在或已失效")
    if q["v"] != "2":
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:v", "v必须为2")
    if not ts_ok(q["timestamp"]):
        req.notes.append("timestamp out of range: %s" % q["timestamp"])
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:timestamp",
                        "timestamp与服务器时间相差超过10分钟")
    sm = q.get("sign_method") or "md5"
    if sm not in ("md5", "hmac-sha256"):
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:sign_method", "sign_method不合法")
    if req.dy_method is None or q["method"] != req.dy_method:
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:method", "method不存在", 404)
    try:
        doc = json.loads(body) if body else {}
        if not isinstance(doc, dict):
            raise ValueError
    except ValueError:
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:param_json", "param_json不是JSON对象")
    want = expected_sign(st["app_secret"], q["method"], q["app_key"], marshal(doc) if body else "{}",
                         q["timestamp"], sm)
    if not hmac.compare_digest(want.encode(), q["sign"].encode()):
        req.notes.append("bad sign")
        return envelope(req, C_SIGN, "签名校验失败", None, "isv.signature-invalid", "签名不正确，请检查app_secret与签名算法")
    if not hmac.compare_digest((q.get("access_token") or "").encode(), st["access_token"].encode()):
        return envelope(req, C_TOKEN, "access_token无效", None, "isv.access-token-no-existed",
                        "access_token不存在，请使用最新的access_token访问")
    if req.method != "POST":
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid", "仅支持POST", 405)
    m = req.dy_method
    if m == "product.listV2":
        return _list(sim, st, req, doc)
    if m == "sku.list":
        return _sku_list(st, req, doc)
    if m == "sku.stockNum":
        return _stock_num(st, req, doc)
    if m == "sku.syncStockBatch":
        return _sync_batch(sim, st, req, doc)
    return _sync(sim, st, req, doc)


def _int(doc, k):
    v = doc.get(k)
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _sku_json(o):
    return OrderedDict([("id", o["id"]), ("product_id", o["product"]["product_id"]), ("code", o["code"]),
                        ("out_sku_id", 0), ("sku_type", o["sku_type"]),
                        ("stock_num", o["stock_num"] if o["sku_type"] == 0 else 0),
                        ("prehold_stock_num", o["prehold"]), ("step_stock_num", 0),
                        ("spec_detail_name1", o["code"].rsplit("-", 1)[-1])])


def _list(sim, st, req, doc):
    page, size = _int(doc, "page"), _int(doc, "size")
    if page is None or page < 1 or size is None or not 1 <= size <= int(sim.config["douyin_page_max"]):
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:size",
                        "page从1开始，size取值1-%d" % int(sim.config["douyin_page_max"]))
    sel = st["products"]
    part = sel[(page - 1) * size:page * size]
    data = OrderedDict([("data", [OrderedDict([("product_id", p["product_id"]), ("name", p["name"]),
                                               ("status", p["status"]), ("check_status", 3)]) for p in part]),
                        ("page", page), ("size", size), ("total", len(sel))])
    return envelope(req, C_OK, "success", data)


def _sku_list(st, req, doc):
    pid = _int(doc, "product_id")
    prod = st["by_pid"].get(pid)
    if prod is None:
        return biz(req, "10001", "商品不存在")
    return envelope(req, C_OK, "success", [_sku_json(o) for o in prod["skus"]])


def _stock_num(st, req, doc):
    sid = _int(doc, "sku_id")
    o = st["by_sid"].get(sid)
    if o is None:
        return biz(req, "10002", "sku不存在")
    d = _sku_json(o)
    d["sku_id"] = d.pop("id")
    return envelope(req, C_OK, "success", d)


def _sync(sim, st, req, doc):
    pid, sid, n = _int(doc, "product_id"), _int(doc, "sku_id"), _int(doc, "stock_num")
    inc = doc.get("incremental", False)
    key = doc.get("idempotent_id")
    if n is None or not isinstance(inc, bool):
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:stock_num",
                        "stock_num必须为整数，incremental必须为布尔值")
    if inc and (not isinstance(key, str) or not key):
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:idempotent_id",
                        "incremental=true时idempotent_id必填")
    keys = _rt(sim, st["name"])["keys"]
    again = _replay(sim, st, req, doc, key) if inc else None
    if again is not None:
        return again
    o = st["by_sid"].get(sid)
    if o is None or o["product"]["product_id"] != pid:
        return biz(req, "10002", "sku不存在")
    if not o["online"]:
        return biz(req, "10003", "商品已下架，不能修改库存")
    if o["sku_type"] != 0:
        return biz(req, "10004", "区域库存商品请传out_warehouse_id")
    before = o["stock_num"]
    after = before + n if inc else n
    if after < 0:
        return biz(req, "31055", "系统错误:更新库存数失败")
    o["stock_num"] = after
    sim.log_write(kind="adjust" if inc else "set", platform=NAME, shop=st["name"],
                  item="%d/%d" % (pid, sid), sku=o["code"], location="", before=before, after=after,
                  delta=after - before, idempotency_key=key if inc else None, request_id=req.rid)
    data = OrderedDict()
    if inc:
        keys[key] = {"doc": doc, "data": data}
    return envelope(req, C_OK, "success", data)


def _replay(sim, st, req, doc, key):
    """The answer to a repeated idempotent_id (None when it is new): the first answer when
    the parameters are the same, nothing applied again; a refusal when they differ."""
    keys = _rt(sim, st["name"])["keys"]
    if key not in keys:
        return None
    first = keys[key]
    if first["doc"] != doc:
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:idempotent_id",
                        "幂等ID已被其他参数使用")
    req.replayed = True
    req.notes.append("idempotent replay of %s" % key)
    return envelope(req, C_OK, "success", first["data"])


def _sync_batch(sim, st, req, doc):
    """Every entry checked first; then all applied, or none."""
    pid, inc, key = _int(doc, "product_id"), doc.get("incremental"), doc.get("idempotent_id")
    lst = doc.get("sku_sync_list")
    if pid is None or not isinstance(inc, bool) or not isinstance(lst, list) or not lst:
        return envelope(req, C_MISSING, "缺少必选参数", None, "isv.missing-parameter:2010004",
                        "参数缺失: product_id, incremental, sku_sync_list")
    if len(lst) > int(sim.config["douyin_batch_max"]):
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:sku_sync_list",
                        "sku_sync_list最多%d个" % int(sim.config["douyin_batch_max"]))
    if inc and (not isinstance(key, str) or not key):
        return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:idempotent_id",
                        "incremental=true时idempotent_id必填")
    if inc:
        again = _replay(sim, st, req, doc, key)
        if again is not None:
            return again
    prod = st["by_pid"].get(pid)
    if prod is None:
        return biz(req, "10001", "商品不存在")
    plan, seen = [], set()
    for e in lst:
        sid, n, t = (_int(e, k) if isinstance(e, dict) else None for k in ("sku_id", "stock_num", "sku_type"))
        if sid is None or n is None or t is None:
            return envelope(req, C_MISSING, "缺少必选参数", None, "isv.missing-parameter:2010004",
                            "参数缺失: sku_id, sku_type, stock_num")
        if sid in seen:
            return envelope(req, C_PARAM, "非法的参数", None, "isv.parameter-invalid:sku_sync_list",
                            "sku_id重复")
        seen.add(sid)
        o = st["by_sid"].get(sid)
        if o is None or o["product"] is not prod:
            return biz(req, "10002", "sku不存在")
        if not o["online"]:
            return biz(req, "10003", "商品已下架，不能修改库存")
        if o["sku_type"] != 0 or t != 0:
            return biz(req, "10004", "区域库存商品请传out_warehouse_id")
        after = o["stock_num"] + n if inc else n
        if after < 0:
            return biz(req, "31055", "系统错误:更新库存数失败")
        plan.append((o, after))
    for o, after in plan:
        before = o["stock_num"]
        o["stock_num"] = after
        sim.log_write(kind="adjust" if inc else "set", platform=NAME, shop=st["name"],
                      item="%d/%d" % (pid, o["id"]), sku=o["code"], location="", before=before,
                      after=after, delta=after - before, idempotency_key=key if inc else None,
                      request_id=req.rid)
    data = OrderedDict()
    if inc:
        _rt(sim, st["name"])["keys"][key] = {"doc": doc, "data": data}
    return envelope(req, C_OK, "success", data)


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    out = []
    for p in model[store]["products"]:
        for o in p["skus"]:
            if o["sku_type"] == 0 and (o["stock_num"] >= qty or (allow_negative and o["stock_num"] > 0)):
                out.append(("%d/%d" % (p["product_id"], o["id"]), ""))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: stock_num down by qty, prehold up by qty."""
    st = model[store]
    o = None
    try:
        if item is not None:
            o = st["by_sid"].get(int(str(item).rsplit("/", 1)[-1]))
        elif sku is not None:
            o = st["by_code"].get(sku)
    except ValueError:
        o = None
    if o is None:
        raise core.SimError(404, "no such SKU in shop %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "only the ordinary stock (location \"\") is sold here")
    before = o["stock_num"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["stock_num"] = before - qty
    o["prehold"] += qty
    return OrderedDict([("platform", NAME), ("shop", store),
                        ("item", "%d/%d" % (o["product"]["product_id"], o["id"])), ("sku", o["code"]),
                        ("location", ""), ("before", before), ("after", before - qty), ("delta", -qty)])
