"""Taobao/Tmall for the invkit simulator: the Taobao Open Platform (TOP) REST router with
the three calls a stock sync needs, every request's sign checked independently of the driver.

URL: [http://127.0.0.1:PORT/taobao/<shop>]/router/rest  (base_url in brackets, with
/router/rest, stands for https://eco.taobao.com/router/rest).

Facts mirrored, with their source (open.taobao.com API pages, mirrored at
developer.alibaba.com/docs and open.alitrip.com/docs):
  - System parameters method, app_key, session, timestamp ("yyyy-MM-dd HH:mm:ss", GMT+8,
    at most 10 minutes off), format, v=2.0, sign_method (md5 | hmac | hmac-sha256), sign;
    fields in the query or a form body.  sign = upper-case hex of MD5(secret + sorted
    k1v1k2v2... + secret), or of HMAC-MD5 / HMAC-SHA256 keyed by the secret of the sorted
    k1v1k2v2...; sign and empty values left out.  "API调用方法详解" (docId=101617).
  - Errors {"error_response": {code, msg, sub_code?, sub_msg?, request_id}} with HTTP 200:
    7 App Call Limited, 21 Missing Method, 22 Invalid Method, 25 Invalid signature,
    26 Missing session, 27 Invalid session, 28 Missing app key, 29 Invalid app key,
    30 Missing timestamp, 31 Invalid timestamp, 32/33 version, 40 Missing required
    arguments, 41 Invalid arguments, 15 Remote service error (isv.* / isp.* sub_codes).
    "错误码一览" (docId=114).
  - taobao.items.onsale.get (fields, page_no, page_size <= 200, page_no * page_size <=
    20000): {total_results, items: {item: [...]}} of the items on sale.  apiId=18.
  - taobao.items.seller.list.get (fields, num_iids <= 20): {items: {item: [{num_iid, num,
    outer_id, skus: {sku: [{sku_id, quantity, outer_id}]}}]}}; unknown ids left out.
    apiId=40575.
  - taobao.item.quantity.update (num_iid, sku_id | outer_id, quantity, type 1 set / 2
    change; a change may not take the stock below 0): {item: {num_iid, num, modified,
    skus: {sku: [{sku_id, quantity, modified}]}}}.  apiId=10591 / 38973.
  - taobao.skus.quantity.update (num_iid, skuid_quantities "sku_id:quantity;..." of at
    most 20 SKUs of that item, type 1 set / 2 change, default 1): {item: {num_iid, num,
    modified, skus: {sku: [{sku_id, quantity, modified}]}}}.  The Tmall twin's page,
    apiId=38499, and the SDK example on the Taobao page (root skus_quantity_update_response).
UNVERIFIED (drivers must be right either way), each marked where it is done: the sub_codes
and sub_msgs of a refused stock change (Chinese messages here, as the platform's are); the
rate limit (a fixed window of `taobao_qps` calls a second per app here) and the "This ban
will last for N more seconds" wording of code 7; that an item with SKUs refuses a change of
its own num (it does here); the order of onsale.get (newest num_iid first here).  For
taobao.skus.quantity.update: that it is all or nothing (here any unknown sku_id, frozen item
or quantity that would go below 0 refuses the whole call, nothing written: the Tmall page
says instead that a type=2 change below 0 sets the SKU to 0); the refusal of more than 20
SKUs, of a malformed list and of an sku_id given twice (41 Invalid arguments here); that
the answer lists every SKU of the item (it does here).
"""

import calendar
import hashlib
import hmac
import random
import time
import urllib.parse
from collections import OrderedDict

import sim as core

NAME = "taobao"
CONFIG = OrderedDict([
    ("taobao_qps", 50),            # calls a second per app (UNVERIFIED)
    ("taobao_page_max", 200),      # onsale.get page_size maximum (documented)
    ("taobao_list_max", 20000),    # page_no * page_size maximum (documented)
    ("taobao_read_ids", 20),       # seller.list.get num_iids maximum (documented)
    ("taobao_skus_max", 20),       # skus.quantity.update skuid_quantities maximum (documented)
])
TS_SKEW = 600                      # "允许客户端请求最大时间误差为10分钟" (documented)
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
METHODS = ("taobao.items.onsale.get", "taobao.items.seller.list.get", "taobao.item.quantity.update",
           "taobao.skus.quantity.update")
WRITES = ("taobao.item.quantity.update", "taobao.skus.quantity.update")
# sub_codes and sub_msgs of refused stock changes (UNVERIFIED: shapes seen in public reports,
# the exact words are ours)
E_NO_ITEM = ("isv.item-not-exist", "商品不存在或已删除")
E_NO_SKU = ("isv.sku-not-exist", "SKU不存在")
E_FROZEN = ("isv.item-update-service-error:ITEM_FROZEN", "该商品已被冻结，不能修改库存")
E_NEGATIVE = ("isv.item-quantity-update-service-error", "库存更新失败：增量更新后库存不能小于0")
E_HAS_SKUS = ("isv.invalid-parameter:sku_id", "该商品有SKU，请指定sku_id修改SKU库存")
E_FULL_NEGATIVE = ("isv.invalid-parameter:quantity", "全量更新时库存必须大于等于0")


def _int_id(v, what):
    if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).isdigit() or str(v)[0] == "0":
        raise core.BadState(what + " must be a positive integer")
    return int(v)


def _qty(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise core.BadState(what + " must be an integer >= 0")
    return v


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{shop: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "taobao.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"app_key", "app_secret", "session", "items"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        for k in ("app_key", "app_secret", "session"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise core.BadState("%s: %s must be a non-empty string" % (what, k))
        st = {"name": name, "app_key": s["app_key"], "app_secret": s["app_secret"], "session": s["session"],
              "items": [], "by_iid": {}, "by_sid": {}, "by_outer": {}}
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise core.BadState(iw + " must be an object")
            bad = set(it) - {"num_iid", "title", "outer_id", "approve_status", "num", "locked", "skus"}
            if bad:
                raise core.BadState("%s: unknown key(s) %s" % (iw, ", ".join(sorted(bad))))
            iid = _int_id(it.get("num_iid"), iw + ".num_iid")
            if iid in st["by_iid"]:
                raise core.BadState(iw + ": duplicate num_iid")
            o = {"num_iid": iid, "title": str(it.get("title") or "Item %d" % iid),
                 "outer_id": it.get("outer_id", ""), "approve_status": it.get("approve_status", "onsale"),
                 "locked": it.get("locked", False), "num": 0, "skus": []}
            if not isinstance(o["outer_id"], str) or o["approve_status"] not in ("onsale", "instock") or \
                    not isinstance(o["locked"], bool):
                raise core.BadState(iw + ": outer_id is a string, approve_status onsale|instock, "
                                         "locked a boolean")
            for k, sk in enumerate(it.get("skus") or []):
                sw = "%s.skus[%d]" % (iw, k)
                if not isinstance(sk, dict) or not isinstance(sk.get("outer_id", ""), str):
                    raise core.BadState(sw + " must be an object with a string outer_id")
                sid = _int_id(sk.get("sku_id"), sw + ".sku_id")
                if sid in st["by_sid"]:
                    raise core.BadState(sw + ": duplicate sku_id")
                so = {"sku_id": sid, "item": o, "outer_id": sk.get("outer_id", ""),
                      "quantity": _qty(sk.get("quantity"), sw + ".quantity")}
                o["skus"].append(so)
                st["by_sid"][sid] = so
                if so["outer_id"]:
                    st["by_outer"].setdefault(so["outer_id"], so)
            if o["skus"]:
                o["num"] = sum(x["quantity"] for x in o["skus"])
            else:
                o["num"] = _qty(it.get("num"), iw + ".num")
                if o["outer_id"]:
                    st["by_outer"].setdefault(o["outer_id"], o)
            st["items"].append(o)
            st["by_iid"][iid] = o
        out[name] = st
    return out


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict((k, st[k]) for k in ("app_key", "app_secret", "session"))
        items = []
        for o in st["items"]:
            e = OrderedDict([("num_iid", o["num_iid"]), ("title", o["title"]), ("outer_id", o["outer_id"]),
                             ("approve_status", o["approve_status"])])
            if o["locked"]:
                e["locked"] = True
            if o["skus"]:
                e["skus"] = [OrderedDict([("sku_id", s["sku_id"]), ("outer_id", s["outer_id"]),
                                          ("quantity", s["quantity"])]) for s in o["skus"]]
            else:
                e["num"] = o["num"]
            items.append(e)
        d["items"] = items
        out[name] = d
    return out


def sample(n, seed):
    """Shop "demo" (app key tb_sim_key, app secret tb_sim_secret, session
    6100tb_sim_session) with n items TB-00001...: every 3rd has SKUs -S/-M/-L, the others
    none; every 10th is in the warehouse (instock), not on sale."""
    rng = random.Random("invkit-sim-taobao-%s" % seed)
    qtys = [0, 1, 2, 3, 5, 8, 10, 12, 20, 35]
    items, k = [], 0
    for i in range(1, n + 1):
        outer = "TB-%05d" % i
        it = OrderedDict([("num_iid", 600000000000 + i), ("title", "商品 %d" % i), ("outer_id", outer),
                          ("approve_status", "instock" if i % 10 == 0 else "onsale")])
        if i % 3 == 0:
            skus = []
            for suf in ("-S", "-M", "-L"):
                k += 1
                skus.append(OrderedDict([("sku_id", 5000000000000 + k), ("outer_id", outer + suf),
                                         ("quantity", rng.choice(qtys))]))
            it["skus"] = skus
        else:
            it["num"] = rng.choice(qtys)
        items.append(it)
    return {"demo": {"app_key": "tb_sim_key", "app_secret": "tb_sim_secret", "session": "6100tb_sim_session",
                     "items": items}}


# ---- requests ---------------------------------------------------------------------------

def _params(req):
    """The call's fields: the query, then a form body (a field twice: the body's wins)."""
    p = OrderedDict(req.query_items)
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if req.body and ctype == "application/x-www-form-urlencoded":
        try:
            p.update(urllib.parse.parse_qsl(req.body.decode("utf-8"), keep_blank_values=True,
                                            strict_parsing=False))
        except UnicodeDecodeError:
            return None
    return p


def classify(req):
    """`op` is the API method name; only the two quantity updates write."""
    req.tb_params = _params(req) if req.rest in ("/router/rest", "/router/rest/") else None
    m = (req.tb_params or {}).get("method")
    if m:
        req.ops.append(m)
    req.is_write = m in WRITES


def error(req, code, msg, sub=None, status=200):
    e = OrderedDict([("code", code), ("msg", msg)])
    if sub:
        e["sub_code"], e["sub_msg"] = sub
    e["request_id"] = req.rid
    return core.Resp(status, OrderedDict([("error_response", e)]), [], "application/json;charset=UTF-8")


def answer(req, method, body):
    body["request_id"] = req.rid
    return core.Resp(200, OrderedDict([(method[len("taobao."):].replace(".", "_") + "_response", body)]), [],
                     "application/json;charset=UTF-8")


def expected_sign(method, secret, params):
    """The sign, computed here independently of the driver."""
    s = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v != "")
    if method == "md5":
        d = hashlib.md5((secret + s + secret).encode("utf-8")).hexdigest()
    elif method == "hmac":
        d = hmac.new(secret.encode("utf-8"), s.encode("utf-8"), hashlib.md5).hexdigest()
    else:
        d = hmac.new(secret.encode("utf-8"), s.encode("utf-8"), hashlib.sha256).hexdigest()
    return d.upper()


def parse_timestamp(ts):
    """Unix seconds of a "yyyy-MM-dd HH:mm:ss" read as GMT+8, or None."""
    try:
        return calendar.timegm(time.strptime(ts, "%Y-%m-%d %H:%M:%S")) - 8 * 3600
    except ValueError:
        return None


def _rate(sim, app_key):
    rt = sim.plugin_rt.setdefault(NAME, {}).setdefault(app_key, {"start": time.monotonic(), "used": 0})
    now = time.monotonic()
    if now - rt["start"] >= 1.0:
        rt["start"], rt["used"] = now, 0
    rt["used"] += 1
    return rt["used"] <= int(sim.config["taobao_qps"])


def _limited(req):
    # UNVERIFIED wording and length of the ban
    return error(req, 7, "App Call Limited", ("accesscontrol.limited-by-app-access-count",
                                             "This ban will last for 1 more seconds"))


def fault_response(sim, req, code, hdrs):
    """Injected 429: flow control as TOP answers it (HTTP 200, code 7).  Injected 500: a
    remote service failure (isp.*: the platform's own trouble; UNVERIFIED wording)."""
    if code == 429:
        r = _limited(req)
    elif code == 500:
        r = error(req, 15, "Remote service error", ("isp.top-remote-connection-timeout", "远程服务调用超时"))
    else:
        return None
    r.headers.extend(hdrs)
    return r


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    p = req.tb_params
    if st is None or p is None:
        return core.Resp(404, b"<html><body>404 Not Found</body></html>", [], "text/html")
    if not p.get("method"):
        return error(req, 21, "Missing method")
    if not p.get("app_key"):
        return error(req, 28, "Missing app key")
    if p["app_key"] != st["app_key"]:
        return error(req, 29, "Invalid app key")
    if not _rate(sim, st["app_key"]):
        req.notes.append("over the rate limit")
        return _limited(req)
    if not p.get("timestamp"):
        return error(req, 30, "Missing timestamp")
    t = parse_timestamp(p["timestamp"])
    if t is None or abs(t - time.time()) > TS_SKEW:
        req.notes.append("timestamp not within 10 minutes of now in GMT+8")
        return error(req, 31, "Invalid timestamp")
    sm = p.get("sign_method") or "md5"
    if sm not in SIGN_METHODS:
        return error(req, 25, "Invalid signature", ("isv.invalid-signature-method", "不支持的签名方法"))
    want = expected_sign(sm, st["app_secret"], p)
    if not hmac.compare_digest(want.encode(), (p.get("sign") or "").encode()):
        req.notes.append("bad sign")
        return error(req, 25, "Invalid signature")
    if p.get("v") != "2.0":
        return error(req, 32 if not p.get("v") else 33, "Missing version" if not p.get("v") else "Invalid version")
    if p["method"] not in METHODS:
        return error(req, 22, "Invalid method")
    if not p.get("session"):
        return error(req, 26, "Missing session")
    if not hmac.compare_digest(p["session"].encode(), st["session"].encode()):
        return error(req, 27, "Invalid session", ("invalid-sessionkey", "SessionKey非法"))
    if p.get("format") != "json":
        req.notes.append("format is not json: the simulator answers json anyway")
    m = p["method"]
    if m == "taobao.items.onsale.get":
        return _onsale(sim, st, req, p)
    if m == "taobao.items.seller.list.get":
        return _seller_list(sim, st, req, p)
    if m == "taobao.skus.quantity.update":
        return _skus_update(sim, st, req, p)
    return _update(sim, st, req, p)


def _missing(req, name):
    return error(req, 40, "Missing required arguments:%s" % name)


def _invalid(req, name):
    return error(req, 41, "Invalid arguments:%s" % name)


def _num(s):
    return int(s) if s and (s.isdigit() or (s[0] == "-" and s[1:].isdigit())) else None


def _item_out(o, fields):
    e = OrderedDict()
    for f in ("num_iid", "title", "outer_id", "approve_status", "num"):
        if f in fields:
            e[f] = o[f]
    if "sku" in fields and o["skus"]:
        e["skus"] = {"sku": [OrderedDict([("sku_id", s["sku_id"]), ("quantity", s["quantity"]),
                                          ("outer_id", s["outer_id"])]) for s in o["skus"]]}
    return e


def _onsale(sim, st, req, p):
    if not p.get("fields"):
        return _missing(req, "fields")
    no, size = _num(p.get("page_no") or "1"), _num(p.get("page_size") or "40")
    if no is None or no < 1:
        return _invalid(req, "page_no")
    if size is None or not 1 <= size <= int(sim.config["taobao_page_max"]):
        return _invalid(req, "page_size")
    if no * size > int(sim.config["taobao_list_max"]):
        return error(req, 15, "Remote service error", ("isv.invalid-parameter:page_no",
                                                       "翻页获取的条数超过上限，请细化搜索条件"))
    fields = set(p["fields"].split(","))
    sel = sorted((o for o in st["items"] if o["approve_status"] == "onsale"), key=lambda o: -o["num_iid"])
    page = sel[(no - 1) * size:no * size]
    body = OrderedDict([("total_results", len(sel))])
    if page:
        body["items"] = {"item": [_item_out(o, fields - {"sku"}) for o in page]}
    return answer(req, "taobao.items.onsale.get", body)


def _seller_list(sim, st, req, p):
    if not p.get("fields"):
        return _missing(req, "fields")
    if not p.get("num_iids"):
        return _missing(req, "num_iids")
    ids = p["num_iids"].split(",")
    if len(ids) > int(sim.config["taobao_read_ids"]) or not all(x.isdigit() for x in ids):
        return _invalid(req, "num_iids")
    fields = set(p["fields"].split(","))
    out, seen = [], set()
    for x in ids:
        o = st["by_iid"].get(int(x))
        if o is not None and o["num_iid"] not in seen:
            seen.add(o["num_iid"])
            out.append(_item_out(o, fields))
    body = OrderedDict()
    if out:
        body["items"] = {"item": out}
    return answer(req, "taobao.items.seller.list.get", body)


def _update(sim, st, req, p):
    if not p.get("num_iid"):
        return _missing(req, "num_iid")
    if p.get("quantity") in (None, ""):
        return _missing(req, "quantity")
    iid, qty, typ = _num(p["num_iid"]), _num(p["quantity"]), p.get("type") or "1"
    if iid is None:
        return _invalid(req, "num_iid")
    if qty is None:
        return _invalid(req, "quantity")
    if typ not in ("1", "2"):
        return _invalid(req, "type")
    o = st["by_iid"].get(iid)
    if o is None:
        return error(req, 15, "Remote service error", E_NO_ITEM)
    target = None
    if p.get("sku_id"):
        sid = _num(p["sku_id"])
        target = st["by_sid"].get(sid) if sid is not None else None
        if target is None or target["item"] is not o:
            return error(req, 15, "Remote service error", E_NO_SKU)
    elif p.get("outer_id"):
        target = next((s for s in o["skus"] if s["outer_id"] == p["outer_id"]), None)
        if target is None:
            return error(req, 15, "Remote service error", E_NO_SKU)
    elif o["skus"]:
        return error(req, 15, "Remote service error", E_HAS_SKUS)   # UNVERIFIED
    if o["locked"]:
        return error(req, 15, "Remote service error", E_FROZEN)
    before = target["quantity"] if target else o["num"]
    if typ == "1" and qty < 0:
        return error(req, 15, "Remote service error", E_FULL_NEGATIVE)
    after = qty if typ == "1" else before + qty
    if after < 0:
        return error(req, 15, "Remote service error", E_NEGATIVE)
    if target:
        target["quantity"] = after
        o["num"] = sum(s["quantity"] for s in o["skus"])
        item, sku = "%d/%d" % (iid, target["sku_id"]), target["outer_id"]
    else:
        o["num"] = after
        item, sku = "%d" % iid, o["outer_id"]
    sim.log_write(kind="adjust" if typ == "2" else "set", platform=NAME, shop=st["name"], item=item, sku=sku,
                  location="", before=before, after=after, delta=after - before, idempotency_key=None,
                  request_id=req.rid)
    return answer(req, "taobao.item.quantity.update", OrderedDict([("item", _item_after(o))]))


def _item_after(o):
    """The item as a stock change answers it."""
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 8 * 3600))
    it = OrderedDict([("num_iid", o["num_iid"]), ("num", o["num"]), ("modified", now)])
    if o["skus"]:
        it["skus"] = {"sku": [OrderedDict([("sku_id", s["sku_id"]), ("quantity", s["quantity"]),
                                           ("modified", now)]) for s in o["skus"]]}
    return it


def _skus_update(sim, st, req, p):
    """Up to 20 SKUs of one item; every pair checked before any is written (UNVERIFIED)."""
    if not p.get("num_iid"):
        return _missing(req, "num_iid")
    if not p.get("skuid_quantities"):
        return _missing(req, "skuid_quantities")
    iid, typ = _num(p["num_iid"]), p.get("type") or "1"
    if iid is None:
        return _invalid(req, "num_iid")
    if typ not in ("1", "2"):
        return _invalid(req, "type")
    pairs = []
    for part in p["skuid_quantities"].split(";"):
        sid, colon, q = part.partition(":")
        if not colon or _num(sid) is None or _num(q) is None or _num(sid) < 1:
            return _invalid(req, "skuid_quantities")
        pairs.append((_num(sid), _num(q)))
    if len(pairs) > int(sim.config["taobao_skus_max"]) or len({x for x, _ in pairs}) != len(pairs):
        return _invalid(req, "skuid_quantities")
    o = st["by_iid"].get(iid)
    if o is None:
        return error(req, 15, "Remote service error", E_NO_ITEM)
    plan = []
    for sid, q in pairs:
        target = st["by_sid"].get(sid)
        if target is None or target["item"] is not o:
            return error(req, 15, "Remote service error", E_NO_SKU)
        if typ == "1" and q < 0:
            return error(req, 15, "Remote service error", E_FULL_NEGATIVE)
        after = q if typ == "1" else target["quantity"] + q
        if after < 0:
            return error(req, 15, "Remote service error", E_NEGATIVE)
        plan.append((target, after))
    if o["locked"]:
        return error(req, 15, "Remote service error", E_FROZEN)
    for target, after in plan:
        before = target["quantity"]
        target["quantity"] = after
        sim.log_write(kind="adjust" if typ == "2" else "set", platform=NAME, shop=st["name"],
                      item="%d/%d" % (iid, target["sku_id"]), sku=target["outer_id"], location="",
                      before=before, after=after, delta=after - before, idempotency_key=None,
                      request_id=req.rid)
    o["num"] = sum(s["quantity"] for s in o["skus"])
    return answer(req, "taobao.skus.quantity.update", OrderedDict([("item", _item_after(o))]))


# ---- sales ------------------------------------------------------------------------------

def _stocks(st):
    for o in st["items"]:
        if o["skus"]:
            for s in o["skus"]:
                yield "%d/%d" % (o["num_iid"], s["sku_id"]), s
        else:
            yield "%d" % o["num_iid"], o


def sale_targets(sim, model, store, qty, allow_negative):
    out = []
    for item, x in _stocks(model[store]):
        n = x["quantity"] if "quantity" in x else x["num"]
        if n >= qty or (allow_negative and n > 0):
            out.append((item, ""))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """An order: the SKU's (or SKU-less item's) stock down by qty."""
    st = model[store]
    x = None
    for it, s in _stocks(st):
        if (item is not None and it == str(item)) or (item is None and sku is not None and s["outer_id"] == sku):
            x, item = s, it
            break
    if x is None:
        raise core.SimError(404, "no such item or SKU in shop %s" % store)
    if location not in (None, ""):
        raise core.SimError(409, "Taobao keeps one stock per item or SKU (location \"\")")
    key = "quantity" if "quantity" in x else "num"
    before = x[key]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %d available" % before)
    x[key] = before - qty
    if key == "quantity":
        x["item"]["num"] = sum(s["quantity"] for s in x["item"]["skus"])
    return OrderedDict([("platform", NAME), ("shop", store), ("item", item), ("sku", x["outer_id"]),
                        ("location", ""), ("before", before), ("after", before - qty), ("delta", -qty)])
