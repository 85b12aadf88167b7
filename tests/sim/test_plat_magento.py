#!/usr/bin/env python3
"""Self-test of the simulator's Magento 2 plugin (tests/sim/platforms/magento.py).

Standard library only.  Starts tests/sim/sim.py on port 0 with a small Magento shop and
checks the source-items API as a driver sees it: auth and ACL, searchCriteria filters,
sorting and paging, the input limits, the save's validation (all or nothing), the CDN
rate limit, fault answers, shipments, and the state round trip.

    python3 tests/sim/test_plat_magento.py [-v]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
TOKEN, RO = "mg_test_all", "mg_test_read"
API = "/magento/m1/rest/default/V1/inventory/source-items"
ITEM_TYPE = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"


def make_state():
    prods = [{"sku": "P-%02d" % i, "source_items": {"default": i, "eu": {"quantity": 2 * i, "status": 1}}
              if i % 2 else {"default": i}} for i in range(1, 26)]
    prods.append({"sku": "A,B", "source_items": {"default": 7}})
    prods.append({"sku": "Z-0", "source_items": {"default": {"quantity": 0, "status": 0}}})
    return {"magento": {"m1": {"tokens": [{"token": TOKEN, "acl": "all"}, {"token": RO, "acl": "read"}],
                               "sources": [{"code": "default"}, {"code": "eu", "name": "EU"}],
                               "products": prods}}}


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def crit(groups=(), page_size=None, page=None, sort=()):
    """searchCriteria query string: groups = [[(field, value, cond), ...], ...]."""
    q = []
    for g, filters in enumerate(groups):
        for f, (field, value, cond) in enumerate(filters):
            p = "searchCriteria[filter_groups][%d][filters][%d]" % (g, f)
            q += [(p + "[field]", field), (p + "[value]", value)]
            if cond:
                q.append((p + "[condition_type]", cond))
    for i, (field, d) in enumerate(sort):
        q += [("searchCriteria[sortOrders][%d][field]" % i, field),
              ("searchCriteria[sortOrders][%d][direction]" % i, d)]
    if page_size is not None:
        q.append(("searchCriteria[pageSize]", str(page_size)))
    if page is not None:
        q.append(("searchCriteria[currentPage]", str(page)))
    return "?" + urllib.parse.urlencode(q)


class MagentoSimTest(unittest.TestCase):
    proc = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "state.json")
        with open(path, "w") as fh:
            json.dump(make_state(), fh)
        cls.errf = open(os.path.join(cls.tmp.name, "stderr"), "w+")
        cls.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--seed", "2", "--state", path],
                                    stdout=subprocess.PIPE, stderr=cls.errf, text=True)
        line = cls.proc.stdout.readline()
        if not line.startswith("port "):
            cls.proc.kill()
            cls.proc.wait()
            cls.errf.seek(0)
            raise RuntimeError("simulator did not start: %r %s" % (line, cls.errf.read()))
        cls.base = "http://127.0.0.1:%d" % int(line.split()[1])

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.proc and cls.proc.poll() is None:
                cls.proc.send_signal(signal.SIGTERM)
                assert cls.proc.wait(10) == 0
        finally:
            if cls.proc:
                cls.proc.stdout.close()
            cls.errf.seek(0)
            err = cls.errf.read()
            cls.errf.close()
            cls.tmp.cleanup()
            if "Traceback" in err:
                raise AssertionError("simulator stderr has a traceback:\n" + err)

    def setUp(self):
        self.ctl("POST", "reset")

    # ---- helpers ----------------------------------------------------------------
    def http(self, method, path, body=None, headers=None):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        rq = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        if data is not None:
            rq.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(rq, timeout=10) as r:
                status, hdrs, payload = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, payload = e.code, e.headers, e.read()
            e.close()
        try:
            return status, hdrs, json.loads(payload.decode()) if payload else None
        except ValueError:
            return status, hdrs, payload.decode("utf-8", "replace")

    def ctl(self, method, path, body=None):
        s, _, b = self.http(method, "/_sim/" + path, body)
        self.assertEqual(s, 200, b)
        return b

    def get(self, query="", token=TOKEN, path=API):
        return self.http("GET", path + query, headers={"Authorization": "Bearer " + token} if token else {})

    def save(self, items, token=TOKEN):
        return self.http("POST", API, {"sourceItems": items}, {"Authorization": "Bearer " + token})

    def qty(self, sku, src="default"):
        s, _, b = self.get(crit([[("sku", sku, "eq")], [("source_code", src, "eq")]], 10))
        self.assertEqual(s, 200, b)
        return [(i["quantity"], i["status"]) for i in b["items"]]

    # ---- auth and routes --------------------------------------------------------
    def test_auth(self):
        s, _, b = self.get(crit(page_size=5), token=None)
        self.assertEqual((s, b), (401, {"message": "The consumer isn't authorized to access %resources.",
                                        "parameters": {"resources": "Magento_InventoryApi::source"}}))
        self.assertEqual(self.get(crit(page_size=5), token="nope")[0], 401)
        self.assertEqual(self.get(crit(page_size=5), token=RO)[0], 200)
        s, _, b = self.save([{"sku": "P-01", "source_code": "default", "quantity": 3, "status": 1}], token=RO)
        self.assertEqual((s, b["parameters"]), (401, {"resources": "Magento_InventoryApi::stock_source_item_assign"}))
        self.assertEqual(self.qty("P-01"), [(1.0, 1)])
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    def test_routes(self):
        s, _, b = self.get("", path="/magento/m1/rest/default/V1/inventory/nothing")
        self.assertEqual((s, b), (404, {"message": "Request does not match any route."}))
        s, _, b = self.get(crit(page_size=1), path="/magento/m1/rest/nostore/V1/inventory/source-items")
        self.assertEqual(s, 400)
        self.assertEqual(self.get(crit(page_size=1), path="/magento/m1/rest/V1/inventory/source-items")[0], 200)
        self.assertEqual(self.get(crit(page_size=1), path="/magento/m2" + API[len("/magento/m1"):])[0], 404)

    # ---- reading ----------------------------------------------------------------
    def test_paging(self):
        s, _, b = self.get(crit(page_size=10, page=1, sort=[("sku", "ASC"), ("source_code", "ASC")]))
        self.assertEqual(s, 200)
        self.assertEqual(b["total_count"], 40)   # 27 products, 13 of them also at eu
        self.assertEqual(b["items"][0], {"sku": "A,B", "source_code": "default", "quantity": 7.0, "status": 1})
        seen = []
        for p in range(1, 5):
            seen += self.get(crit(page_size=10, page=p, sort=[("sku", "ASC"), ("source_code", "ASC")]))[2]["items"]
        self.assertEqual(len({(i["sku"], i["source_code"]) for i in seen}), 40)
        # past the end: the last page again
        last = self.get(crit(page_size=10, page=4, sort=[("sku", "ASC")]))[2]["items"]
        self.assertEqual(self.get(crit(page_size=10, page=9, sort=[("sku", "ASC")]))[2]["items"], last)
        desc = self.get(crit(page_size=1, sort=[("quantity", "DESC")]))[2]["items"]
        self.assertEqual(desc[0]["quantity"], 50.0)

    def test_page_limits(self):
        s, _, b = self.get(crit(page_size=301))
        self.assertEqual((s, b), (400, {"message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": 300}}))
        self.assertEqual(len(self.get(crit())[2]["items"]), 20)      # the default page size
        self.ctl("POST", "config", {"mg_input_limits": 0})
        self.assertEqual(len(self.get(crit())[2]["items"]), 40)      # no limits: everything
        self.assertEqual(self.get(crit(page_size=1000))[0], 200)

    def test_filters(self):
        s, _, b = self.get(crit([[("sku", "P-01,P-02,A,B", "in")]], 50))
        self.assertEqual(sorted((i["sku"], i["source_code"]) for i in b["items"]),
                         [("P-01", "default"), ("P-01", "eu"), ("P-02", "default")])
        # a comma in a SKU: an eq filter, OR-ed in the same group
        b = self.get(crit([[("sku", "A,B", "eq"), ("sku", "P-02", None)]], 50))[2]
        self.assertEqual(sorted(i["sku"] for i in b["items"]), ["A,B", "P-02"])
        # groups are AND-ed
        b = self.get(crit([[("sku", "P-01,P-03", "in")], [("source_code", "eu", "eq")]], 50))[2]
        self.assertEqual(sorted(i["sku"] for i in b["items"]), ["P-01", "P-03"])
        self.assertEqual(b["total_count"], 2)
        b = self.get(crit([[("status", "0", "eq")]], 50))[2]
        self.assertEqual([i["sku"] for i in b["items"]], ["Z-0"])
        b = self.get(crit([[("quantity", "48", "gt")]], 50))[2]
        self.assertEqual([(i["sku"], i["source_code"]) for i in b["items"]], [("P-25", "eu")])
        b = self.get(crit([[("sku", "P-2%", "like")], [("source_code", "default", "eq")]], 50))[2]
        self.assertEqual(b["total_count"], 6)
        self.assertEqual(self.get(crit([[("colour", "red", "eq")]], 5))[0], 400)

    # ---- writing ----------------------------------------------------------------
    def test_save_absolute(self):
        s, _, b = self.save([{"sku": "P-01", "source_code": "default", "quantity": 9, "status": 1},
                             {"sku": "P-02", "source_code": "eu", "quantity": 4, "status": 1}])
        self.assertEqual((s, b), (200, []))
        self.assertEqual(self.qty("P-01"), [(9.0, 1)])
        self.assertEqual(self.qty("P-02", "eu"), [(4.0, 1)])
        w = [(x["kind"], x["item"], x["location"], x["before"], x["after"], x["delta"])
             for x in self.ctl("GET", "log?kind=writes")["writes"]]
        self.assertEqual(w, [("set", "P-01", "default", 1, 9, 8), ("set", "P-02", "eu", None, 4, 4)])
        # the status is kept when not given, and set when given
        self.save([{"sku": "P-01", "source_code": "default", "quantity": 0}])
        self.assertEqual(self.qty("P-01"), [(0.0, 1)])
        self.save([{"sku": "P-01", "source_code": "default", "quantity": 0, "status": 0}])
        self.assertEqual(self.qty("P-01"), [(0.0, 0)])

    def test_save_list_limit(self):
        items = [{"sku": "P-%02d" % i, "source_code": "default", "quantity": 5, "status": 1} for i in range(1, 22)]
        s, _, b = self.save(items)
        self.assertEqual((s, b), (400, {"message": 'Maximum items of type "%type" is %max',
                                        "parameters": {"type": ITEM_TYPE, "max": 20}}))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.assertEqual(self.save(items[:20])[0], 200)
        self.ctl("POST", "config", {"mg_input_list_limit": 25})
        self.assertEqual(self.save(items)[0], 200)
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 41)

    def test_save_all_or_nothing(self):
        s, _, b = self.save([{"sku": "P-01", "source_code": "default", "quantity": 9, "status": 1},
                             {"sku": "NOPE", "source_code": "default", "quantity": 1, "status": 1}])
        self.assertEqual(s, 400)
        self.assertEqual(b["message"], 'Validation Failed: Product with requested "sku": "NOPE" was was not found.')
        self.assertEqual(b["errors"], [{"message": 'Product with requested "%field": "%value" was was not found.',
                                        "parameters": {"field": "sku", "value": "NOPE"}}])
        self.assertEqual(self.qty("P-01"), [(1.0, 1)])
        s, _, b = self.save([{"sku": "P-01", "source_code": "default", "quantity": 9, "status": 1},
                             {"sku": "P-02", "source_code": "mars", "quantity": 1, "status": 1}])
        self.assertEqual((s, b), (400, {"message": "Could not save Source Item"}))
        self.assertEqual(self.qty("P-01"), [(1.0, 1)])
        s, _, b = self.save([{"sku": "P-01", "source_code": "de fault", "quantity": 1}])
        self.assertEqual(b["message"], 'Validation Failed: "source_code" can not contain whitespaces.')
        self.assertEqual(self.save([])[2], {"message": "Input data is empty"})
        s, _, b = self.http("POST", API, {"items": []}, {"Authorization": "Bearer " + TOKEN})
        self.assertEqual((s, b["parameters"]), (400, {"fieldName": "sourceItems"}))
        self.assertEqual(self.http("POST", API, b"{", {"Authorization": "Bearer " + TOKEN})[0], 400)
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- limits, faults, sales, state --------------------------------------------
    def test_rate_limit(self):
        self.ctl("POST", "config", {"mg_rate_limit": 3, "mg_rate_window_ms": 60000})
        codes = [self.get(crit(page_size=1))[0] for _ in range(4)]
        self.assertEqual(codes, [200, 200, 200, 429])
        s, h, b = self.get(crit(page_size=1))
        self.assertEqual((s, h["Content-Type"].split(";")[0]), (429, "text/html"))
        self.assertTrue(1 <= int(h["Retry-After"]) <= 60)

    def test_faults(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "500", "next": 1, "match": {"op": "source-items/save"}},
                                              {"kind": "lost_answer", "next": 1, "match": {"write": True}}]})
        s, _, b = self.save([{"sku": "P-01", "source_code": "default", "quantity": 9, "status": 1}])
        self.assertEqual(s, 500)
        self.assertTrue(b["message"].startswith("Internal Error. Details are available in Magento log file."))
        self.assertEqual(self.qty("P-01"), [(1.0, 1)])
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(urllib.request.Request(
                self.base + API, data=json.dumps({"sourceItems": [{"sku": "P-01", "source_code": "default",
                                                                   "quantity": 9, "status": 1}]}).encode(),
                method="POST", headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}),
                timeout=10).read()
        self.assertEqual(self.qty("P-01"), [(9.0, 1)])   # applied, answer lost

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "magento", "shop": "m1", "sku": "P-03", "location": "default", "qty": 3})
        self.assertEqual((r["sale"]["before"], r["sale"]["after"], r["sale"]["delta"]), (3, 0, -3))
        self.assertEqual(self.qty("P-03"), [(0.0, 0)])   # out of stock at 0
        s, b = self.http("POST", "/_sim/sale", {"platform": "magento", "shop": "m1", "sku": "P-02", "qty": 5})[::2]
        self.assertEqual(s, 409)
        s = self.http("POST", "/_sim/sale", {"platform": "magento", "shop": "m1", "sku": "P-02", "location": "eu"})[0]
        self.assertEqual(s, 409)
        self.ctl("POST", "faults", {"seed": 1, "sales": {"every": 1, "platform": "magento"}})
        self.get(crit(page_size=1))
        sales = [w for w in self.ctl("GET", "log?kind=writes")["writes"] if w["kind"] == "sale"]
        self.assertEqual(len(sales), 2)
        self.assertEqual(sales[-1]["platform"], "magento")

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        self.assertEqual(st["magento"]["m1"]["products"][0],
                         {"sku": "P-01", "source_items": {"default": {"quantity": 1, "status": 1},
                                                          "eu": {"quantity": 2, "status": 1}}})
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state"), st)
        s, _, b = self.http("POST", "/_sim/state", {"magento": {"x": {"token": "t", "products": [
            {"sku": "Q", "source_items": {"nowhere": 1}}]}}})
        self.assertEqual((s, b["error"]), (400, "magento.x.products[0].source_items: no source nowhere"))

    def test_sample(self):
        sys.path.insert(0, HERE)
        import importlib.util
        spec = importlib.util.spec_from_file_location("mgplug", os.path.join(HERE, "platforms", "magento.py"))
        sys.modules.setdefault("sim", __import__("sim"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        a, b = mod.sample(60, 5), mod.sample(60, 5)
        self.assertEqual(a, b)
        skus = [p["sku"] for p in a["demo"]["products"]]
        self.assertIn("MG-00050,X", skus)
        self.assertIn("MG-00060&Y", skus)
        self.assertEqual(a["demo"]["products"][6]["source_items"]["default"], {"quantity": 0, "status": 0})
        mod.load(a)   # loads


if __name__ == "__main__":
    unittest.main()
