"""Magento 2 / Adobe Commerce for the invkit simulator: Multi-Source Inventory source items
(GET and POST /V1/inventory/source-items) with Bearer token auth, searchCriteria paging,
the Web API input limits and Magento's error shapes.

URLs: [http://127.0.0.1:PORT/magento/<store>/rest/<store_code>]/V1/inventory/source-items
(base_url in brackets stands for https://<shop>/rest/<store_code>; /rest/V1/... without a
store code works too).

Facts mirrored, with their source:
  - GET /V1/inventory/source-items (SourceItemRepositoryInterface::getList, ACL resource
    Magento_InventoryApi::source) and POST /V1/inventory/source-items (SourceItemsSaveInterface,
    Magento_InventoryApi::stock_source_item_assign) with {"sourceItems": [{sku, source_code,
    quantity (float), status (1 in stock, 0 out of stock)}]}: an absolute set, no
    compare-and-set, no relative form, no idempotency key.
    https://developer.adobe.com/commerce/webapi/rest/inventory/manage-source-items/ and
    github.com/magento/inventory InventoryApi/etc/webapi.xml
  - searchCriteria[filter_groups][g][filters][f][field|value|condition_type] (filters of a
    group OR-ed, groups AND-ed; `in`/`nin` take a comma-separated list; condition_type
    defaults to eq), searchCriteria[sortOrders][i][field|direction], [pageSize],
    [currentPage]; the answer {items, search_criteria, total_count}, total_count unpaged.
    https://developer.adobe.com/commerce/webapi/rest/use-rest/performing-searches/
  - Web API input limits: an entity array over the input list limit (default 20) is a 400
    "Maximum items of type \"%type\" is %max"; a pageSize over the maximum page size (300) is a
    400 "Maximum SearchCriteria pageSize is %max"; a missing pageSize gets the default page
    size (20).  https://developer.adobe.com/commerce/webapi/get-started/api-security/ and
    the Framework\\Webapi validators (the message texts).
  - A save validates every item first ("Validation Failed: " + the first error, e.g.
    Product with requested "sku": "X" was was not found.) and refuses the whole request;
    then one multi-row insert; a failure there is "Could not save Source Item".
    github.com/magento/inventory Inventory/Model/SourceItem/Command/Handler/
    SourceItemsSaveHandler.php, Inventory/Model/Validators/NotExistentSku.php,
    Inventory/Model/SourceItem/Validator/SourceCodeValidator.php
  - Errors {"message", "parameters"} with 400, 401 (token or ACL), 404 ("Request does not
    match any route."); 401 "The consumer isn't authorized to access %resources.".
    https://developer.adobe.com/commerce/webapi/get-started/gs-web-api-response/
  - Shipments deduct source quantities (orders only reserve) and set the status to out of
    stock at 0 (InventorySourceDeductionApi SourceDeductionService).
UNVERIFIED (drivers must be right either way): quantities printed as floats (5.0 here);
a currentPage past the end answers the last page again (the classic collection behaviour);
an unknown source_code fails the insert ("Could not save Source Item", 400, nothing saved);
the "errors" list of a validation failure; exact (case-sensitive) SKU matching (MySQL would
compare case-insensitively); 429s come from a CDN/WAF in front (Fastly), not from Magento,
as text/html with Retry-After (knobs mg_rate_limit / mg_rate_window_ms, off by default).
"""

import hmac
import json
import math
import random
import re
import time
from collections import OrderedDict

import sim as core

NAME = "magento"
CONFIG = OrderedDict([
    ("mg_input_limits", 1),         # Web Api Input Limits enabled (2.4.3 default; later: off)
    ("mg_input_list_limit", 20),    # documented default input list limit
    ("mg_max_page_size", 300),      # documented default maximum page size
    ("mg_default_page_size", 20),   # documented default page size
    ("mg_rate_limit", 0),           # requests per window at the CDN (0: no limit)
    ("mg_rate_window_ms", 1000),
])
ITEM_TYPE = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"
PATH_RE = re.compile(r"^/rest(?:/(?P<code>[A-Za-z0-9_]+))?/V1/inventory/source-items/?$")
ANY_REST_RE = re.compile(r"^/rest(?:/[A-Za-z0-9_]+)?/V1/")
KEY_RE = re.compile(r"^searchCriteria((?:\[[^\[\]]*\])+)$")
FIELDS = ("sku", "source_code", "quantity", "status")


def _err(status, message, parameters=None, headers=(), **extra):
    body = OrderedDict([("message", message)])
    if parameters is not None:
        body["parameters"] = parameters
    body.update(extra)
    return core.Resp(status, body, list(headers))


# ---- state ------------------------------------------------------------------------------

def load(section):
    """{store: {...}} of the state file -> the internal model."""
    out = OrderedDict()
    for name, s in section.items():
        what = "magento.%s" % name
        if not isinstance(s, dict):
            raise core.BadState(what + " must be an object")
        bad = set(s) - {"token", "tokens", "sources", "products", "store_codes"}
        if bad:
            raise core.BadState("%s: unknown key(s) %s" % (what, ", ".join(sorted(bad))))
        toks = s.get("tokens") if "tokens" in s else [{"token": s.get("token"), "acl": "all"}]
        if not isinstance(toks, list) or not toks:
            raise core.BadState(what + ": give token or tokens")
        tokens = []
        for t in toks:
            if not isinstance(t, dict) or not isinstance(t.get("token"), str) or not t["token"] or \
                    t.get("acl", "all") not in ("all", "read"):
                raise core.BadState(what + ': a token is {"token": "...", "acl": "all"|"read"}')
            tokens.append({"token": t["token"], "acl": t.get("acl", "all")})
        codes = s.get("store_codes", ["default", "all"])
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise core.BadState(what + ".store_codes must be a list of strings")
        st = {"name": name, "tokens": tokens, "store_codes": list(codes), "sources": OrderedDict(),
              "products": OrderedDict(), "items": OrderedDict(), "next_id": 1}
        for j, src in enumerate(s.get("sources") or [{"code": "default"}]):
            sw = "%s.sources[%d]" % (what, j)
            if not isinstance(src, dict) or not isinstance(src.get("code"), str) or not src["code"] \
                    or re.search(r"\s", src["code"]) or src["code"] in st["sources"]:
                raise core.BadState(sw + ": code must be a unique string without spaces")
            st["sources"][src["code"]] = {"code": src["code"], "name": str(src.get("name") or src["code"]),
                                          "enabled": bool(src.get("enabled", True))}
        for j, p in enumerate(s.get("products") or []):
            pw = "%s.products[%d]" % (what, j)
            if not isinstance(p, dict) or not isinstance(p.get("sku"), str) or not p["sku"]:
                raise core.BadState(pw + ".sku must be a non-empty string")
            if p["sku"] in st["products"]:
                raise core.BadState("%s: duplicate sku %s" % (pw, p["sku"]))
            st["products"][p["sku"]] = {"sku": p["sku"]}
            si = p.get("source_items") or {}
            if not isinstance(si, dict):
                raise core.BadState(pw + ".source_items must be an object")
            for code, v in si.items():
                if code not in st["sources"]:
                    raise core.BadState("%s.source_items: no source %s" % (pw, code))
                if not isinstance(v, dict):
                    v = {"quantity": v}
                q, status = v.get("quantity"), v.get("status", None)
                if isinstance(q, bool) or not isinstance(q, (int, float)):
                    raise core.BadState("%s.source_items.%s: quantity must be a number" % (pw, code))
                if status is None:
                    status = 1 if q > 0 else 0
                if status not in (0, 1):
                    raise core.BadState("%s.source_items.%s: status must be 0 or 1" % (pw, code))
                _put(st, p["sku"], code, q, status)
        out[name] = st
    return out


def _put(st, sku, code, qty, status):
    key = (sku, code)
    it = st["items"].get(key)
    if it is None:
        it = st["items"][key] = {"id": st["next_id"], "sku": sku, "source_code": code}
        st["next_id"] += 1
    it["quantity"] = float(qty)
    it["status"] = int(status)
    return it


def dump(model):
    out = OrderedDict()
    for name, st in model.items():
        d = OrderedDict()
        d["tokens"] = [dict(t) for t in st["tokens"]]
        d["store_codes"] = list(st["store_codes"])
        d["sources"] = [dict(v) for v in st["sources"].values()]
        prods = OrderedDict((sku, OrderedDict([("sku", sku), ("source_items", OrderedDict())]))
                            for sku in st["products"])
        for it in st["items"].values():
            q = it["quantity"]
            prods[it["sku"]]["source_items"][it["source_code"]] = OrderedDict([
                ("quantity", int(q) if q == int(q) else q), ("status", it["status"])])
        d["products"] = list(prods.values())
        out[name] = d
    return out


def sample(n, seed):
    """Store "demo" (token mg_sim_demo, sources default, eu-wh, us-wh) with n products
    MG-00001...: all at default, every 2nd also at eu-wh, every 3rd also at us-wh; every 7th
    out of stock (0) at default; every 50th SKU has a comma in it (",X"), every 60th an
    ampersand ("&Y")."""
    rng = random.Random("invkit-sim-magento-%s" % seed)
    qtys = [1, 2, 3, 5, 8, 10, 12, 20, 35, 100]
    prods = []
    for i in range(1, n + 1):
        sku = "MG-%05d" % i
        if i % 50 == 0:
            sku += ",X"
        elif i % 60 == 0:
            sku += "&Y"
        si = OrderedDict()
        si["default"] = {"quantity": 0, "status": 0} if i % 7 == 0 else {"quantity": rng.choice(qtys), "status": 1}
        if i % 2 == 0:
            si["eu-wh"] = {"quantity": rng.choice(qtys), "status": 1}
        if i % 3 == 0:
            si["us-wh"] = {"quantity": rng.choice(qtys), "status": 1}
        prods.append({"sku": sku, "source_items": si})
    return {"demo": {"token": "mg_sim_demo",
                     "sources": [{"code": "default", "name": "Default Source"},
                                 {"code": "eu-wh", "name": "EU warehouse"},
                                 {"code": "us-wh", "name": "US warehouse"}],
                     "products": prods}}


# ---- requests ---------------------------------------------------------------------------

def classify(req):
    """Name the route (fault rules match it as `op`) and say whether it writes."""
    m = PATH_RE.match(req.rest or "")
    req.is_write = req.method in ("POST", "PUT", "PATCH", "DELETE")
    req.mg_route = m
    if m:
        req.ops.append("source-items" if req.method == "GET" else "source-items/save")


def _rt(sim, store):
    return sim.plugin_rt.setdefault(NAME, {}).setdefault(store, {"start": time.monotonic(), "used": 0})


def fault_response(sim, req, code, hdrs):
    """Injected faults as a Magento host answers them: 429/503 from the CDN (HTML), 500 from
    Magento's error processor."""
    if code == 500:
        return _err(500, "Internal Error. Details are available in Magento log file. Report ID: "
                    "webapi-%s" % req.rid, headers=hdrs)
    if code in (429, 503):
        r = core.Resp(code, b"<html><body><h1>%d %s</h1></body></html>\n" % (
            code, b"Too Many Requests" if code == 429 else b"Service Unavailable"), hdrs,
            "text/html; charset=utf-8")
        return r
    return None


def handle(sim, req):
    st = sim.state[NAME].get(req.shop)
    if st is None:
        return core.Resp(404, b"<html><body>Not Found</body></html>\n", [], "text/html")
    limit = int(sim.config["mg_rate_limit"])
    if limit > 0:
        rt = _rt(sim, req.shop)
        window = max(1, int(sim.config["mg_rate_window_ms"]))
        now = time.monotonic()
        if (now - rt["start"]) * 1000 >= window:
            rt["start"], rt["used"] = now, 0
        if rt["used"] >= limit:
            left = window / 1000.0 - (now - rt["start"])
            req.notes.append("over the rate limit")
            return core.Resp(429, b"<html><body><h1>429 Too Many Requests</h1></body></html>\n",
                             [("Retry-After", str(max(1, int(math.ceil(left)))))], "text/html; charset=utf-8")
        rt["used"] += 1
    m = req.mg_route
    if m is None:
        if ANY_REST_RE.match(req.rest or ""):
            return _err(404, "Request does not match any route.")
        return core.Resp(404, b"<html><body>Not Found</body></html>\n", [], "text/html")
    if m.group("code") is not None and m.group("code") not in st["store_codes"]:
        return _err(400, "The store that was requested wasn't found. Verify the store and try again.")
    auth = req.headers.get("Authorization") or ""
    tok = None
    if auth.startswith("Bearer "):
        given = auth[7:].strip().encode()
        tok = next((t for t in st["tokens"] if hmac.compare_digest(t["token"].encode(), given)), None)
    if req.method == "GET":
        if tok is None:
            return _err(401, "The consumer isn't authorized to access %resources.",
                        {"resources": "Magento_InventoryApi::source"})
        return _list(sim, st, req)
    if req.method == "POST":
        if tok is None or tok["acl"] != "all":
            return _err(401, "The consumer isn't authorized to access %resources.",
                        {"resources": "Magento_InventoryApi::stock_source_item_assign"})
        return _save(sim, st, req)
    return _err(404, "Request does not match any route.")


def _criteria(req):
    """The searchCriteria query parameters as nested dicts ({"filter_groups": {"0": ...}})."""
    root = {}
    for k, v in req.query_items:
        m = KEY_RE.match(k)
        if not m:
            continue
        parts = re.findall(r"\[([^\[\]]*)\]", m.group(1))
        d = root
        for p in parts[:-1]:
            nxt = d.get(p)
            if not isinstance(nxt, dict):
                nxt = d[p] = {}
            d = nxt
        d[parts[-1]] = v
    return root


def _indexed(d):
    if not isinstance(d, dict):
        return []
    try:
        return [d[k] for k in sorted(d, key=int)]
    except ValueError:
        raise _Bad("searchCriteria indexes must be numbers")


class _Bad(Exception):
    pass


def _match(it, f):
    field, value, cond = f.get("field"), f.get("value", ""), f.get("condition_type") or "eq"
    if field not in FIELDS:
        raise _Bad('"%s" is not a valid filter field' % field)
    have = it[field]
    if field in ("quantity", "status"):
        try:
            conv = float
            vals = [conv(x) for x in str(value).split(",")] if cond in ("in", "nin") else conv(value)
        except ValueError:
            raise _Bad("Invalid value of \"%s\" provided for the %s field." % (value, field))
    else:
        vals = str(value).split(",") if cond in ("in", "nin") else str(value)
    if cond == "eq":
        return have == vals
    if cond == "neq":
        return have != vals
    if cond == "in":
        return have in vals
    if cond == "nin":
        return have not in vals
    if cond in ("like", "nlike"):
        rx = "^" + ".*".join(re.escape(x).replace("_", ".") for x in str(value).split("%")) + "$"
        hit = re.match(rx, str(have), re.S) is not None
        return hit if cond == "like" else not hit
    try:
        a, b = (float(have), float(vals)) if field in ("quantity", "status") else (have, vals)
    except ValueError:
        raise _Bad("Invalid value")
    ops = {"gt": a > b, "gteq": a >= b, "moreq": a >= b, "lt": a < b, "lteq": a <= b,
           "from": a >= b, "to": a <= b}
    if cond in ops:
        return ops[cond]
    raise _Bad('Invalid condition type "%s"' % cond)


def _list(sim, st, req):
    limits = bool(sim.config["mg_input_limits"])
    try:
        sc = _criteria(req)
        groups = [[f for f in _indexed(g.get("filters")) if isinstance(f, dict)]
                  for g in _indexed(sc.get("filter_groups")) if isinstance(g, dict)]
        sel = [it for it in st["items"].values() if all(any(_match(it, f) for f in g) for g in groups if g)]
        for so in reversed(_indexed(sc.get("sortOrders"))):
            if not isinstance(so, dict) or so.get("field") not in FIELDS:
                raise _Bad("Invalid sort order field")
            sel.sort(key=lambda it: it[so["field"]], reverse=str(so.get("direction", "ASC")).upper() == "DESC")
    except _Bad as e:
        return _err(400, e.args[0])
    try:
        size = int(sc["pageSize"]) if "pageSize" in sc else None
        page = int(sc.get("currentPage", "1") or 1)
    except ValueError:
        return _err(400, "pageSize and currentPage must be integers")
    if size is None and limits:
        size = int(sim.config["mg_default_page_size"])
    if size is not None and limits and size > int(sim.config["mg_max_page_size"]):
        return _err(400, "Maximum SearchCriteria pageSize is %max", {"max": int(sim.config["mg_max_page_size"])})
    total = len(sel)
    if size is not None and size > 0:
        last = max(1, (total + size - 1) // size)
        page = min(max(page, 1), last)   # past the end: the last page again (UNVERIFIED)
        rows = sel[(page - 1) * size: page * size]
    else:
        rows = sel
    items = [OrderedDict([("sku", it["sku"]), ("source_code", it["source_code"]),
                          ("quantity", float(it["quantity"])), ("status", it["status"])]) for it in rows]
    crit = OrderedDict([("filter_groups", [{"filters": g} for g in groups])])
    if size is not None:
        crit["page_size"] = size
        crit["current_page"] = page
    return core.Resp(200, OrderedDict([("items", items), ("search_criteria", crit), ("total_count", total)]))


def _save(sim, st, req):
    try:
        body = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return _err(400, "Decoding error: Syntax error")
    if not isinstance(body, dict) or "sourceItems" not in body:
        return _err(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "sourceItems"})
    items = body["sourceItems"]
    if not isinstance(items, list):
        return _err(400, "Invalid type for value: \"%s\". Expected Type: \"%s\"." % (
            type(items).__name__, ITEM_TYPE + "[]"))
    lim = int(sim.config["mg_input_list_limit"])
    if sim.config["mg_input_limits"] and len(items) > lim:
        return _err(400, 'Maximum items of type "%type" is %max', {"type": ITEM_TYPE, "max": lim})
    if not items:
        return _err(400, "Input data is empty")
    plan, errors = [], []
    for e in items:
        if not isinstance(e, dict):
            return _err(400, "Invalid type for value: \"%s\". Expected Type: \"%s\"." % (
                type(e).__name__, ITEM_TYPE))
        sku, code = e.get("sku"), e.get("source_code")
        q, status = e.get("quantity", 0), e.get("status", None)
        if not isinstance(sku, str) or not sku.strip():
            errors.append(('"%field" can not be empty.', {"field": "sku"}))
            continue
        if sku not in st["products"]:
            errors.append(('Product with requested "%field": "%value" was was not found.',
                           {"field": "sku", "value": sku}))
            continue
        if not isinstance(code, str) or not code:
            errors.append(('"%field" can not be empty.', {"field": "source_code"}))
            continue
        if re.search(r"\s", code):
            errors.append(('"%field" can not contain whitespaces.', {"field": "source_code"}))
            continue
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            errors.append(('"%field" should be numeric.', {"field": "quantity"}))
            continue
        if status is not None and status not in (0, 1):
            errors.append(('"%field" should a known status.', {"field": "status"}))
            continue
        plan.append((sku, code, q, status))
    if errors:
        msg, params = errors[0]
        text = msg
        for k, v in params.items():
            text = text.replace("%" + k, str(v))
        return _err(400, "Validation Failed: " + text,
                    errors=[OrderedDict([("message", m), ("parameters", p)]) for m, p in errors])
    if any(code not in st["sources"] for _, code, _, _ in plan):
        # the source_code foreign key fails the one multi-row insert: nothing saved
        req.notes.append("unknown source_code")
        return _err(400, "Could not save Source Item")
    for sku, code, q, status in plan:
        before = st["items"].get((sku, code))
        bq = None if before is None else before["quantity"]
        if status is None:
            status = before["status"] if before is not None else (1 if q > 0 else 0)
        it = _put(st, sku, code, q, status)
        sim.log_write(kind="set", platform=NAME, shop=st["name"], item=sku, sku=sku, location=code,
                      before=None if bq is None else _num(bq), after=_num(it["quantity"]),
                      delta=_num(it["quantity"] - (bq or 0)), status=it["status"],
                      idempotency_key=None, request_id=req.rid)
    return core.Resp(200, [])


def _num(x):
    return int(x) if float(x) == int(x) else x


# ---- sales ------------------------------------------------------------------------------

def sale_targets(sim, model, store, qty, allow_negative):
    """(sku, source) pairs with enough quantity, in stock."""
    out = []
    for it in model[store]["items"].values():
        if it["status"] == 1 and (it["quantity"] >= qty or (allow_negative and it["quantity"] > 0)):
            out.append((it["sku"], it["source_code"]))
    return out


def sale(sim, model, store, sku=None, item=None, location=None, qty=1, allow_negative=False):
    """A shipment: the source deduction takes qty from the source item (status 0 at 0)."""
    st = model[store]
    s = item if item is not None else sku
    if s is None or s not in st["products"]:
        raise core.SimError(404, "no such product in store %s" % store)
    cands = [it for it in st["items"].values() if it["sku"] == s]
    if location is not None:
        cands = [it for it in cands if it["source_code"] == str(location)]
        if not cands:
            raise core.SimError(409, "no source item for %s at source %s" % (s, location))
    if not cands:
        raise core.SimError(409, "the product is assigned to no source")
    it = sorted(cands, key=lambda x: (-x["quantity"], x["id"]))[0]
    before = it["quantity"]
    if before < qty and not allow_negative:
        raise core.SimError(409, "insufficient stock: %s at the source" % _num(before))
    it["quantity"] = before - qty
    if it["quantity"] <= 0:
        it["status"] = 0
    return OrderedDict([("platform", NAME), ("shop", store), ("item", it["sku"]), ("sku", it["sku"]),
                        ("location", it["source_code"]), ("before", _num(before)),
                        ("after", _num(it["quantity"])), ("delta", -qty)])
