"""JD (京东) for the invkit simulator: the JOS router (/routerjson) with the two methods the
driver uses, jingdong.sku.read.searchSkuList and jingdong.stock.write.updateSkuStock, with
signed calls checked independently of the driver.

URL: [http://127.0.0.1:PORT/jd/<shop>]/routerjson  (base_url in brackets stands for
https://api.jd.com).

Facts mirrored, with their source:
  - System parameters method, access_token, app_key, sign, timestamp, v (2.0); the API's own
    parameters in 360buy_param_json (a JSON object, keys in alphabetical order); timestamp
    "yyyy-MM-dd HH:mm:ss" in Beijing time (GMT+8), 6 minutes of clock error allowed.
    "开发规范", help.jd.com/jos/question-580.html.  Parameters come in the query or in an
    application/x-www-form-urlencoded body (JD's SDK posts a form); both are read here.
  - sign = upper-case hex MD5 of app_secret + every parameter but sign, sorted by name, each
    name then value + app_secret.  Same page; JD's SDK, jd/api/base.py sign().
  - Refusals: {"error_response": {"code", "zh_desc", "en_desc"}} with the gateway codes
    2 App Call Limited, 4 Missing Version, 5 Unsupported Version, 7 Missing Timestamp,
    8 Invalid Timestamp, 11 Missing Signature, 12 Invalid Signature, 14 Missing Method,
    15 Invalid Method (JOS's table, reproduced in blog.csdn.net/DianSan_ERP/article/
    details/142364242).  Success: {"<method with dots as underscores>_responce": {...}}.
  - searchSkuList {skuId?, wareId?, field, pageNo, page_size} -> page {data [{skuId,
    wareId, outerId, stockNum, ...}], pageNo, pageSize, totalItem} (JD's SDK class
    SkuReadSearchSkuListRequest).
  - updateSkuStock {skuId, stockNum, storeId?}: absolute; {"code": "0", "success": true}.
UNVERIFIED (drivers must be right either way), each marked where it is done: the codes and
words of an unknown app key (9) and of a bad access token (19); the business error codes and
their shape (error_response here, with a per-SKU `refuse` text in the state standing for a
refusal such as a SKU locked by a promotion); the per-second rate limit (`jd_qps` calls a
second per shop, fixed window) and its answer (HTTP 200, code 2 here; an injected 429 fault
answers the same); page_size maximum (100) and default (20); skuIds per call (at most
`jd_read_skus`, comma-separated string or list); which SKU statuses are listed (1 on sale
and 2 off shelf, not 4 deleted, unless skuStatuValue says); the stock limit (0 to 999999999).
Keys of 360buy_param_json that are not sorted are noted in the request log, not refused.
"""

import calendar
import hashlib
import hmac
import json
import random
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "jd"
CONFIG = OrderedDict([
    ("jd_qps", 50),          # calls per second per shop (UNVERIFIED)
    ("jd_page_max", 100),    # searchSkuList page_size maximum (UNVERIFIED)
    ("jd_read_skus", 20),    # skuIds in one searchSkuList (UNVERIFIED)
])
TS_SKEW = 360                # "允许客户端请求时间误差为6分钟" (documented)
GMT8 = 8 * 3600
QTY_MAX = 999999999          # UNVERIFIED
M_LIST = "jingdong.sku.read.searchSkuList"
M_SET = "jingdong.stock.write.updateSkuStock"
METHODS = (M_LIST, M_SET)
# gateway codes (documented table) and the business ones (UNVERIFIED)
E_LIMIT = ("2", "限制时间内调用失败次数", "App Call Limited")
E_NO_VERSION = ("4", "缺少版本参数", "Missing Version")
E_VERSION = ("5", "不支持的版本号", "Unsupported Version")
E_NO_TS = ("7", "缺少时间戳参数", "Missing Timestamp")
E_TS = ("8", "非法的时间戳参数", "Invalid Timestamp")
E_APP_KEY = ("9", "无效的App Key", "Invalid App Key")                       # UNVERIFIED
E_NO_SIGN = ("11", "缺少签名参数", "Missing Signature")
E_SIGN = ("12", "无效签名", "Invalid Signature")
E_NO_METHOD = ("14", "缺少方法名参数", "Missing Method")
E_METHOD = ("15", "不存在的方法名", "Invalid Method")
E_TOKEN = ("19", "token已过期或者不存在，请重新授权访问", "Invalid access_token")  # UNVERIFIED
E_PARAM = "1010"             # UNVERIFIED
E_SKU = ("1030", "SKU不存在或不属于当前商家", "sku not found")                  # UNVERIFIED
E_REFUSED = "1040"           # UNVERIFIED: with the SKU's own `refuse` text


def _int_id(v, what):
    if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).isdigit() or int(v) <= 0:
        raise core.BadState(what + " must be a positive integer")
    return int(v)


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{shop: {app_key, app_secret, access_token, skus: [{skuId, wareId, outerId, stockNum,
    status (1 on sale, 2 off shelf, 4 deleted), refuse?}]}} -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "jd.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"app_key", "app_secret", "access_token", "skus"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("app_key", "app_secret", "access_token"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "app_key": s["app_key"], "app_secret": s["app_secret"],
              "access_token": s["access_token"], "skus": OrderedDict(), "by_outer": {}}
        for j, k in enumerate(s.get("skus") or []):
            w = "%s.skus[%d]" % (what, j)
            if not isinstance(k, dict):
                raise core.BadState(w + " must be an object")
            bad = set(k) - {"skuId", "wareId", "outerId", "stockNum", "status", "refuse", "skuName"}
            if bad:
                raise core.BadState("%s: unknown key(s) %s" % (w, ", ".join(sorted(bad))))
            sid = _int_id(k.get("skuId"), w + ".skuId")
            if sid in st["skus"]:
                raise core.BadState(w + ": duplicate skuId")
            o = {"skuId": sid, "wareId": _int_id(k.get("wareId", 1), w + ".wareId"),
                 "outerId": k.get("outerId", ""), "stockNum": k.get("stockNum", 0),
                 "status": k.get("status", 1), "refuse": k.get("refuse"),
                 "skuName": k.get("skuName") or "SKU %d" % sid}
            if not isinstance(o["outerId"], str):
                raise core.BadState(w + ".outerId must be a string")
            if isinstance(o["stockNum"], bool) or not isinstance(o["stockNum"], int):
                raise core.BadState(w + ".stockNum must be an integer")
            if o["status"] not in (1, 2, 4):
                raise core.BadState(w + ".status must be 1, 2 or 4")
            if o["refuse"] is not None and (not isinstance(o["refuse"], str) or not o["refuse"]):
                raise core.BadState(w + ".refuse must be a non-empty string")
            st["skus"][sid] = o
            if o["outerId"]:
                st["by_outer"].setdefault(o["outerId"], o)
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict((k, st[k]) for k in ("app_key", "app_secret", "access_token"))
        skus = []
        for o in st["skus"].values():
            e = OrderedDict((k, o[k]) for k in ("skuId", "wareId", "outerId", "stockNum", "status", "skuName"))
            if o["refuse"] is not None:
                e["refuse"] = o["refuse"]
            skus.append(e)
        d["skus"] = skus
        out[name] = d
    return out


def sample(n, seed):
    """Shop "demo" (app key jd_sim_key, app secret jd_sim_secret, access token jd_sim_token)
    with n wares JD-00001...: every 4th has SKUs -S/-M/-L, the others one SKU; every 10th SKU
    is off shelf (status 2, still listed and writable)."""
    rng = random.Random("invkit-sim-jd-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35, 100]
    skus, k = [], 0
    for i in range(1, n + 1):
        outer = "JD-%05d" % i
        for suf in (["-S", "-M", "-L"] if i % 4 == 0 else [""]):
            k += 1
            skus.append(OrderedDict([("skuId", 100012340000 + k), ("wareId", 10023450000 + i),
                                     ("outerId", outer + suf), ("stockNum", rng.choice(qtys)),
                                     ("status", 2 if k % 10 == 0 else 1)]))
    return {"demo": {"app_key": "jd_sim_key", "app_secret": "jd_sim_secret",
                     "access_token": "jd_sim_token", "skus": skus}}


# ---- requests ---------------------------------------------------------------------------

def _params(req):
    """The call's parameters: the query, then a form body (a later value wins)."""
    p = OrderedDict(req.query_items)
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if req.body and ctype in ("application/x-www-form-urlencoded", ""):
        try:
            for k, v in urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True,
                                               strict_parsing=False):
                p[k] = v
        except UnicodeDecodeError:
            pass
    return p


def classify(req):
    """The op is the JOS method; only updateSkuStock writes."""
    req.jd_params = _params(req) if req.rest.rstrip("/") == "/routerjson" else None
    m = (req.jd_params or {}).get("method")
    if m:
        req.ops.append(m)
    req.is_write = m == M_SET


def _error(err, status=200, headers=(), code=None, zh=None):
    c, z, e = err if isinstance(err, tuple) else (err, zh, zh)
    body = {"error_response": OrderedDict([("code", code or c), ("zh_desc", zh or z), ("en_desc", e)])}
    return core.Resp(status, body, list(headers), "application/json;charset=utf-8")


def _ok(method, payload):
    body = {method.replace(".", "_") + "_responce": payload}
    return core.Resp(200, body, [], "application/json;charset=utf-8")


def expected_sign(secret, params):
    """The sign, computed here independently of the driver: app_secret + every parameter
    but sign (and empty ones), sorted by name, name then value + app_secret, MD5, upper hex."""
    s = secret + "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v != "") + secret
    return hashlib.md5(s.encode("utf-8")).hexdigest().upper()


def parse_timestamp(ts):
    """Seconds since the epoch of a "yyyy-MM-dd HH:mm:ss" Beijing time, or None."""
    try:
        t = time.strptime(ts, "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return None
    return calendar.timegm(t) - GMT8


def _rate(sim, shop):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(shop, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["jd_qps"])


def fault_response(sim, req, code, hdrs):
    """An injected 429 in JOS's shape (HTTP 200, code 2: UNVERIFIED); the others generic."""
    if code == 429:
        return _error(E_LIMIT, 200, hdrs)
    return None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None or req.jd_params is None:
        return core.Resp(404, b"<html><body><h1>404 Not Found</h1></body></html>", [], "text/html")
    p = req.jd_params
    if not p.get("method"):
        return _error(E_NO_METHOD)
    if not p.get("v"):
        return _error(E_NO_VERSION)
    if p["v"] != "2.0":
        return _error(E_VERSION)
    if not p.get("timestamp"):
        return _error(E_NO_TS)
    t = parse_timestamp(p["timestamp"])
    if t is None or abs(t - time.time()) > TS_SKEW:
        req.notes.append("timestamp %r is not Beijing time now" % p["timestamp"])
        return _error(E_TS)
    if p.get("app_key") != st["app_key"]:
        return _error(E_APP_KEY)
    if not p.get("sign"):
        return _error(E_NO_SIGN)
    if not hmac.compare_digest(expected_sign(st["app_secret"], p).encode(), p["sign"].encode()):
        req.notes.append("bad sign")
        return _error(E_SIGN)
    if not hmac.compare_digest((p.get("access_token") or "").encode(), st["access_token"].encode()):
        return _error(E_TOKEN)
    if p["method"] not in METHODS:
        return _error(E_METHOD)
    if not _rate(sim, req.shop):
        req.notes.append("over the rate limit")
        return _error(E_LIMIT)
    try:
        pj = json.loads(p.get("360buy_param_json") or "{}", object_pairs_hook=OrderedDict)
        if not isinstance(pj, dict):
            raise ValueError
    except ValueError:
        return _error(E_PARAM, zh="360buy_param_json不是合法的JSON对象")
    if list(pj) != sorted(pj):
        req.notes.append("360buy_param_json keys not sorted")
    if p["method"] == M_LIST:
        return _search(sim, st, req, pj)
    return _update(sim, st, req, pj)


def _ids(v):
    """skuId as a number, a comma-separated string or a list -> ints; None when malformed."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return [v]
    if isinstance(v, str):
        v = [x.strip() for x in v.split(",") if x.strip()]
    if not isinstance(v, list):
        return None
    out = []
    for x in v:
        if isinstance(x, bool) or not str(x).isdigit():
            return None
        out.append(int(x))
    return out


def _search(sim, st, req, pj):
    def num(k, dflt):
        v = pj.get(k, dflt)
        return int(v) if (isinstance(v, int) and not isinstance(v, bool)) or \
            (isinstance(v, str) and v.isdigit()) else None
    page, size = num("pageNo", 1), num("page_size", 20)
    pmax = int(sim.config["jd_page_max"])
    if page is None or page < 1 or size is None or not 1 <= size <= pmax:
        return _error(E_PARAM, zh="分页参数错误：pageNo从1开始，page_size为1到%d" % pmax)
    statuses = (1, 2)
    if "skuStatuValue" in pj:
        statuses = tuple(_ids(pj["skuStatuValue"]) or ())
    sel = [o for o in st["skus"].values() if o["status"] in statuses]
    if pj.get("skuId") not in (None, ""):
        ids = _ids(pj["skuId"])
        if ids is None or len(ids) > int(sim.config["jd_read_skus"]):
            return _error(E_PARAM, zh="skuId最多%d个" % int(sim.config["jd_read_skus"]))
        want = set(ids)
        sel = [o for o in sel if o["skuId"] in want]
    if pj.get("wareId") not in (None, ""):
        wids = set(_ids(pj["wareId"]) or ())
        sel = [o for o in sel if o["wareId"] in wids]
    sel.sort(key=lambda o: o["skuId"])
    fields = set(f.strip() for f in str(pj.get("field") or "").split(","))
    data = []
    for o in sel[(page - 1) * size:page * size]:
        e = OrderedDict([("skuId", o["skuId"]), ("wareId", o["wareId"]), ("status", o["status"])])
        for f in ("outerId", "stockNum", "skuName"):
            if f in fields:
                e[f] = o[f]
        data.append(e)
    return _ok(M_LIST, OrderedDict([("code", "0"), ("page", OrderedDict([
        ("data", data), ("pageNo", page), ("pageSize", size), ("totalItem", len(sel))]))]))


def _update(sim, st, req, pj):
    ids = _ids(pj.get("skuId"))
    q = pj.get("stockNum")
    if not ids or len(ids) != 1 or isinstance(q, bool) or not isinstance(q, int):
        return _error(E_PARAM, zh="参数错误：skuId和stockNum必填")
    if not 0 <= q <= QTY_MAX:
        return _error(E_PARAM, zh="库存数必须在0到%d之间" % QTY_MAX)
    o = st["skus"].get(ids[0])
    if o is None or o["status"] == 4:
        return _error(E_SKU)
    if o["refuse"]:
        return _error(E_REFUSED, zh=o["refuse"])
    before = o["stockNum"]
    o["stockNum"] = q
    sim.log_write(kind="set", platform=NAME, shop=st["name"], item=str(o["skuId"]), sku=o["outerId"],
                  location="", before=before, after=q, delta=q - before, idempotency_key=None,
                  request_id=req.rid)
    return _ok(M_SET, OrderedDict([("code", "0"), ("success", True)]))


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    return [(str(o["skuId"]), "") for o in model[store]["skus"].values()
            if o["status"] != 4 and (o["stockNum"] >= qty or (allow_negative and o["stockNum"] > 0))]


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the SKU's stock down by qty."""
    st = model[store]
    o = None
    if item is not None and str(item).isdigit():
        o = st["skus"].get(int(item))
    elif sku is not None:
        o = st["by_outer"].get(sku)
    if o is None or o["status"] == 4:
        raise core.SimError(404, "no such SKU in shop %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "JD has one stock pool per SKU: location must be \"\"")
    before = o["stockNum"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    o["stockNum"] = before - qty
    return OrderedDict([("platform", NAME), ("shop", store), ("item", str(o["skuId"])),
                        ("sku", o["outerId"]), ("location", ""), ("before", before),
                        ("after", before - qty), ("delta", -qty)])
