#!/usr/bin/env python3
"""Self-test of the invkit platform simulator (tests/sim/sim.py).

Standard library only (unittest + urllib + http.client).  Starts the simulator on
port 0 with a known state, exercises both platforms, the cost bucket, every fault kind
and the sales knobs, and stops it with SIGTERM.

    python3 tests/sim/test_sim.py [-v]
"""

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
TOKEN = "shpat_test_t1"
CK, CS = "ck_test_w1", "cs_test_w1"
CK_RO, CS_RO = "ck_test_ro", "cs_test_ro"
VER = "2026-10"
BC_TOKEN, BC_RO = "bc_test_b1", "bc_test_ro"

LOC1, LOC2, LOC3 = ("gid://shopify/Location/%d" % n for n in (1, 2, 3))


def item_gid(n):
    return "gid://shopify/InventoryItem/%d" % n


def make_state():
    items = []
    for i in range(1, 31):
        levels = {"1": 10, "2": 5} if i % 3 else {"1": 10}
        items.append({"id": 1000 + i, "sku": "T-%03d" % i, "levels": levels})
    shop = {"token": TOKEN,
            "locations": [{"id": 1, "name": "Main"}, {"id": 2, "name": "Store"},
                          {"id": 3, "name": "Closed", "active": False}],
            "items": items}
    prods = [{"id": 10 + i, "type": "simple", "sku": "S-%03d" % i, "manage_stock": True, "stock_quantity": 10}
             for i in range(23)]
    prods.append({"id": 40, "type": "simple", "sku": "U-001", "manage_stock": False})
    prods.append({"id": 50, "type": "variable", "sku": "V", "manage_stock": False,
                  "variations": [{"id": 51 + j, "sku": "V-%02d" % j, "manage_stock": True, "stock_quantity": 3}
                                 for j in range(12)]})
    site = {"keys": [{"consumer_key": CK, "consumer_secret": CS, "permissions": "read_write"},
                     {"consumer_key": CK_RO, "consumer_secret": CS_RO, "permissions": "read"}],
            "products": prods}
    bc = {"tokens": [{"token": BC_TOKEN, "scope": "modify"}, {"token": BC_RO, "scope": "read_only"}],
          "locations": [{"id": 1, "code": "L1", "name": "Main"}, {"id": 2, "code": "L2", "name": "Other"}],
          "items": [{"product_id": 7, "variant_id": 70, "sku_id": None, "sku": "B-7", "levels": {"1": 10},
                     "safety_stock": {"1": 2}},
                    {"product_id": 8, "variant_id": 81, "sku_id": 801, "sku": "B-8-S", "levels": {"1": 5, "2": 1}},
                    {"product_id": 8, "variant_id": 82, "sku_id": 802, "sku": "B-8-M", "levels": {}}]}
    return {"shopify": {"t1": shop}, "woocommerce": {"w1": site}, "bigcommerce": {"b1": bc}}


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Client:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def http(self, method, path, body=None, headers=None, timeout=10, raw=False):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        rq = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        if data is not None and "Content-Type" not in rq.headers:
            rq.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(rq, timeout=timeout) as r:
                status, hdrs, payload = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            try:
                status, hdrs, payload = e.code, e.headers, e.read()
            finally:
                e.close()
        if raw:
            return status, hdrs, payload
        try:
            parsed = json.loads(payload.decode("utf-8")) if payload else None
        except ValueError:
            parsed = payload.decode("utf-8", "replace")
        return status, hdrs, parsed

    # control API
    def ctl(self, method, path, body=None):
        s, _, b = self.http(method, "/_sim/" + path, body)
        if s != 200:
            raise AssertionError("control %s %s -> %s %s" % (method, path, s, b))
        return b

    def writes(self):
        return self.ctl("GET", "log?kind=writes")["writes"]

    def requests(self):
        return self.ctl("GET", "log?kind=requests")["requests"]

    # Shopify
    def gql(self, query, variables=None, token=TOKEN, shop="t1", version=VER, timeout=10, **kw):
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        body.update(kw)
        hdrs = {"X-Shopify-Access-Token": token} if token is not None else {}
        return self.http("POST", "/shopify/%s/admin/api/%s/graphql.json" % (shop, version), body, hdrs,
                         timeout=timeout)

    # WooCommerce
    def woo(self, method, path, body=None, auth=(CK, CS), site="w1", timeout=10):
        hdrs = {}
        if auth:
            hdrs["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
        return self.http(method, "/woo/%s/wp-json/wc/v3%s" % (site, path), body, hdrs, timeout=timeout)


SET_MUTATION = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""

ADJUST_MUTATION = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: "%s") {
    inventoryAdjustmentGroup { changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""

LEVEL_QUERY = """
query Level($id: ID!) {
  inventoryItem(id: $id) {
    sku
    inventoryLevels(first: 5) { nodes { location { id } quantities(names: ["available"]) { quantity } } }
  }
}"""


def set_input(quantities, reason="correction"):
    return {"name": "available", "reason": reason, "referenceDocumentUri": "gid://invkit/Run/test",
            "quantities": quantities}


class SimTest(unittest.TestCase):
    proc = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.state_path = os.path.join(cls.tmp.name, "state.json")
        with open(cls.state_path, "w") as fh:
            json.dump(make_state(), fh)
        cls.errf = open(os.path.join(cls.tmp.name, "stderr"), "w+")
        cls.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--seed", "7", "--state", cls.state_path],
                                    stdout=subprocess.PIPE, stderr=cls.errf, text=True)
        line = cls.proc.stdout.readline()
        if not line.startswith("port "):
            cls.proc.kill()
            cls.proc.wait()
            cls.errf.seek(0)
            raise RuntimeError("simulator did not start: %r %s" % (line, cls.errf.read()))
        cls.port = int(line.split()[1])
        cls.c = Client(cls.port)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.proc and cls.proc.poll() is None:
                cls.proc.send_signal(signal.SIGTERM)
                rc = cls.proc.wait(10)
                assert rc == 0, "simulator exit status %s" % rc
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
        self.c.ctl("POST", "reset")

    # ---- helpers ---------------------------------------------------------------
    def available(self, n, loc=LOC1):
        s, _, b = self.c.gql(LEVEL_QUERY, {"id": item_gid(n)})
        self.assertEqual(s, 200, b)
        for node in b["data"]["inventoryItem"]["inventoryLevels"]["nodes"]:
            if node["location"]["id"] == loc:
                return node["quantities"][0]["quantity"]
        raise AssertionError("not stocked")

    def woo_qty(self, pid, parent=None):
        path = "/products/%d" % pid if parent is None else "/products/%d/variations/%d" % (parent, pid)
        s, _, b = self.c.woo("GET", path)
        self.assertEqual(s, 200, b)
        return b["stock_quantity"]

    def set_(self, quantities, key, **kw):
        return self.c.gql(SET_MUTATION, {"input": set_input(quantities), "key": key}, **kw)

    # ---- auth ------------------------------------------------------------------
    def test_shopify_auth_refused(self):
        for token in ("wrong", None, ""):
            s, h, b = self.c.gql("{ shop { name } }", token=token)
            self.assertEqual(s, 401)
            self.assertIn("Invalid API key or access token", b["errors"])
        s, _, b = self.c.gql("{ shop { name } }")
        self.assertEqual((s, b["data"]["shop"]["name"]), (200, "t1"))
        s, _, b = self.c.gql("{ shop { name } }", shop="nope")
        self.assertEqual(s, 404)

    def test_woo_auth_refused(self):
        s, _, b = self.c.woo("GET", "/products", auth=None)
        self.assertEqual((s, b["code"], b["data"]["status"]), (401, "woocommerce_rest_cannot_view", 401))
        s, _, b = self.c.woo("GET", "/products", auth=(CK, "cs_wrong"))
        self.assertEqual((s, b["code"], b["message"]), (401, "woocommerce_rest_authentication_error",
                                                        "Consumer secret is invalid."))
        s, _, b = self.c.woo("GET", "/products", auth=("ck_unknown", CS))
        self.assertEqual((s, b["code"]), (401, "woocommerce_rest_cannot_view"))
        s, _, b = self.c.woo("POST", "/products/batch", {"update": []}, auth=None)
        self.assertEqual((s, b["code"]), (401, "woocommerce_rest_cannot_batch"))
        s, _, b = self.c.woo("PUT", "/products/10", {"stock_quantity": 1}, auth=(CK_RO, CS_RO))
        self.assertEqual((s, b["code"]), (401, "woocommerce_rest_authentication_error"))
        self.assertIn("write permissions", b["message"])
        # query-string fallback
        q = urllib.parse.urlencode({"consumer_key": CK, "consumer_secret": CS, "per_page": 1,
                                    "access_token": "tok_in_query_77", "Session": "sess_in_query_78"})
        s, h, b = self.c.http("GET", "/woo/w1/wp-json/wc/v3/products?" + q)
        self.assertEqual(s, 200)
        self.assertEqual(len(b), 1)
        self.assertEqual(self.c.writes(), [])
        logged = [r["path"] for r in self.c.requests()]
        for secret in (CK, CS, "tok_in_query_77", "sess_in_query_78"):
            self.assertFalse(any(secret in p for p in logged), "secret leaked into the request log")
        self.assertTrue(any("per_page=1" in p for p in logged), logged)

    # ---- pagination ----------------------------------------------------------------
    def test_shopify_items_pagination(self):
        q = """query Items($first: Int!, $after: String) {
                 inventoryItems(first: $first, after: $after) {
                   edges { cursor node { id sku } }
                   pageInfo { hasNextPage endCursor }
                 } }"""
        seen, after, pages = [], None, 0
        while True:
            s, _, b = self.c.gql(q, {"first": 7, "after": after})
            self.assertEqual(s, 200, b)
            conn = b["data"]["inventoryItems"]
            pages += 1
            seen += [e["node"]["sku"] for e in conn["edges"]]
            self.assertEqual(conn["pageInfo"]["endCursor"], conn["edges"][-1]["cursor"])
            cost = b["extensions"]["cost"]
            self.assertEqual(cost["requestedQueryCost"], 2 + 7 * 1)
            self.assertLessEqual(cost["actualQueryCost"], cost["requestedQueryCost"])
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        self.assertEqual(pages, 5)
        self.assertEqual(seen, ["T-%03d" % i for i in range(1, 31)])
        # inline literal arguments, and search syntax
        s, _, b = self.c.gql('{ inventoryItems(first: 50, query: "sku:T-00*") { nodes { sku } } }')
        self.assertEqual([n["sku"] for n in b["data"]["inventoryItems"]["nodes"]], ["T-%03d" % i for i in range(1, 10)])
        s, _, b = self.c.gql('{ inventoryItems(first: 5, query: "sku:T-005 OR sku:\\"t-007\\"") { nodes { sku } } }')
        self.assertEqual([n["sku"] for n in b["data"]["inventoryItems"]["nodes"]], ["T-005", "T-007"])
        s, _, b = self.c.gql('{ inventoryItems(first: 5, query: "color:red sku:T-010") { nodes { sku } } }')
        self.assertEqual([n["sku"] for n in b["data"]["inventoryItems"]["nodes"]], ["T-010"])
        self.assertEqual(b["extensions"]["search"][0]["warnings"][0]["field"], "color")
        # backwards: last/before
        s, _, b = self.c.gql('{ inventoryItems(last: 3) { nodes { sku } pageInfo { hasPreviousPage startCursor } } }')
        conn = b["data"]["inventoryItems"]
        self.assertEqual([n["sku"] for n in conn["nodes"]], ["T-028", "T-029", "T-030"])
        s, _, b = self.c.gql('query($c: String) { inventoryItems(last: 2, before: $c) { nodes { sku } } }',
                             {"c": conn["pageInfo"]["startCursor"]})
        self.assertEqual([n["sku"] for n in b["data"]["inventoryItems"]["nodes"]], ["T-026", "T-027"])

    def test_shopify_locations_and_levels_pagination(self):
        s, _, b = self.c.gql("{ locations(first: 1) { nodes { id name isActive } pageInfo { hasNextPage endCursor } } }")
        page1 = b["data"]["locations"]
        self.assertEqual([n["id"] for n in page1["nodes"]], [LOC1])
        self.assertTrue(page1["pageInfo"]["hasNextPage"])
        s, _, b = self.c.gql('query($a: String) { locations(first: 1, after: $a) { nodes { id } pageInfo { hasNextPage } } }',
                             {"a": page1["pageInfo"]["endCursor"]})
        self.assertEqual([n["id"] for n in b["data"]["locations"]["nodes"]], [LOC2])
        self.assertFalse(b["data"]["locations"]["pageInfo"]["hasNextPage"])  # inactive one hidden
        s, _, b = self.c.gql("{ locations(first: 5, includeInactive: true) { nodes { id } } }")
        self.assertEqual(len(b["data"]["locations"]["nodes"]), 3)
        q = """query($id: ID!, $a: String) { inventoryItem(id: $id) { inventoryLevels(first: 1, after: $a) {
                 edges { node { location { id } quantities(names: ["available", "on_hand", "committed"]) { name quantity } } }
                 pageInfo { hasNextPage endCursor } } } }"""
        s, _, b = self.c.gql(q, {"id": item_gid(1001)})
        lv = b["data"]["inventoryItem"]["inventoryLevels"]
        self.assertEqual(lv["edges"][0]["node"]["quantities"],
                         [{"name": "available", "quantity": 10}, {"name": "on_hand", "quantity": 10},
                          {"name": "committed", "quantity": 0}])
        s, _, b = self.c.gql(q, {"id": item_gid(1001), "a": lv["pageInfo"]["endCursor"]})
        lv2 = b["data"]["inventoryItem"]["inventoryLevels"]
        self.assertEqual(lv2["edges"][0]["node"]["location"]["id"], LOC2)
        self.assertFalse(lv2["pageInfo"]["hasNextPage"])

    def test_woo_pagination(self):
        path, ids, pages = "/products?per_page=10&orderby=id&order=asc", [], 0
        s, h, b = self.c.woo("GET", path)
        self.assertEqual((h["X-WP-Total"], h["X-WP-TotalPages"]), ("25", "3"))
        while True:
            self.assertEqual(s, 200, b)
            pages += 1
            ids += [p["id"] for p in b]
            link = h.get("Link") or ""
            nxt = [part.split(";")[0].strip()[1:-1] for part in link.split(",") if 'rel="next"' in part]
            if not nxt:
                break
            u = urllib.parse.urlsplit(nxt[0])
            self.assertEqual(u.path, "/woo/w1/wp-json/wc/v3/products")
            s, h, b = self.c.woo("GET", "/products?" + u.query)
        self.assertEqual(pages, 3)
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 25)
        self.assertNotIn(51, ids)  # variations are not products
        # default order is date desc; out-of-range page is empty with the totals
        s, h, b = self.c.woo("GET", "/products?per_page=10&page=9")
        self.assertEqual((s, b, h["X-WP-Total"]), (200, [], "25"))
        s, _, b = self.c.woo("GET", "/products?per_page=101")
        self.assertEqual((s, b["code"]), (400, "rest_invalid_param"))
        self.assertIn("per_page", b["data"]["params"])
        # variations, 12 of them, 5 per page
        got = []
        for page in (1, 2, 3):
            s, h, b = self.c.woo("GET", "/products/50/variations?per_page=5&page=%d&orderby=id&order=asc" % page)
            self.assertEqual((h["X-WP-Total"], h["X-WP-TotalPages"]), ("12", "3"))
            got += [v["id"] for v in b]
        self.assertEqual(got, list(range(51, 63)))
        # ?sku= also finds variations, shown with their parent
        s, _, b = self.c.woo("GET", "/products?sku=V-03")
        self.assertEqual([(p["id"], p["type"], p["parent_id"]) for p in b], [(54, "variation", 50)])
        s, _, b = self.c.woo("GET", "/products?sku=S-001,S-002&_fields=sku,stock_quantity")
        self.assertEqual(sorted(p["sku"] for p in b), ["S-001", "S-002"])
        self.assertEqual(set(b[0]), {"id", "sku", "stock_quantity"})

    # ---- Shopify writes ----------------------------------------------------------------
    def test_set_stale_fails_whole_call(self):
        q = [{"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 4, "changeFromQuantity": 10},
             {"inventoryItemId": item_gid(1002), "locationId": LOC1, "quantity": 4, "changeFromQuantity": 9}]
        s, _, b = self.set_(q, "stale-1")
        self.assertEqual(s, 200)
        p = b["data"]["inventorySetQuantities"]
        self.assertIsNone(p["inventoryAdjustmentGroup"])
        self.assertEqual([(e["code"], e["field"]) for e in p["userErrors"]],
                         [("CHANGE_FROM_QUANTITY_STALE", ["input", "quantities", "1", "changeFromQuantity"])])
        self.assertEqual((self.available(1001), self.available(1002)), (10, 10))
        self.assertEqual(self.c.writes(), [])
        # the per-entry knob applies the good entry only
        self.c.ctl("POST", "config", {"stale_mode": "entry"})
        s, _, b = self.set_(q, "stale-2")
        p = b["data"]["inventorySetQuantities"]
        self.assertEqual([e["code"] for e in p["userErrors"]], ["CHANGE_FROM_QUANTITY_STALE"])
        self.assertEqual((self.available(1001), self.available(1002)), (4, 10))
        self.assertEqual([(w["item"], w["before"], w["after"]) for w in self.c.writes()], [(item_gid(1001), 10, 4)])

    def test_set_applies_and_logs(self):
        q = [{"inventoryItemId": item_gid(1004), "locationId": LOC2, "quantity": 0, "changeFromQuantity": 5},
             {"inventoryItemId": item_gid(1005), "locationId": LOC1, "quantity": 12, "changeFromQuantity": None}]
        s, _, b = self.set_(q, "set-ok")
        p = b["data"]["inventorySetQuantities"]
        self.assertEqual(p["userErrors"], [])
        self.assertEqual(p["inventoryAdjustmentGroup"]["reason"], "correction")
        self.assertEqual(p["inventoryAdjustmentGroup"]["referenceDocumentUri"], "gid://invkit/Run/test")
        self.assertIn({"name": "available", "delta": -5, "quantityAfterChange": 0},
                      p["inventoryAdjustmentGroup"]["changes"])
        self.assertEqual((self.available(1004, LOC2), self.available(1005)), (0, 12))
        w = self.c.writes()
        self.assertEqual([(x["kind"], x["item"], x["location"], x["before"], x["after"], x["delta"],
                           x["idempotency_key"]) for x in w],
                         [("set", item_gid(1004), LOC2, 5, 0, -5, "set-ok"),
                          ("set", item_gid(1005), LOC1, 10, 12, 2, "set-ok")])
        rid = w[0]["request_id"]
        self.assertTrue(any(r["request_id"] == rid and r["write"] for r in self.c.requests()))

    def test_adjust_applies_delta(self):
        inp = {"name": "available", "reason": "correction", "referenceDocumentUri": "gid://invkit/Run/adj",
               "changes": [{"delta": -3, "inventoryItemId": item_gid(1007), "locationId": LOC1},
                           {"delta": 4, "inventoryItemId": item_gid(1007), "locationId": LOC2,
                            "changeFromQuantity": 5}]}
        s, _, b = self.c.gql(ADJUST_MUTATION % "adj-1", {"input": inp})
        p = b["data"]["inventoryAdjustQuantities"]
        self.assertEqual(p["userErrors"], [])
        self.assertEqual([c for c in p["inventoryAdjustmentGroup"]["changes"] if c["name"] == "available"],
                         [{"name": "available", "delta": -3, "quantityAfterChange": 7},
                          {"name": "available", "delta": 4, "quantityAfterChange": 9}])
        self.assertEqual((self.available(1007), self.available(1007, LOC2)), (7, 9))
        self.assertEqual([(w["kind"], w["delta"]) for w in self.c.writes()], [("adjust", -3), ("adjust", 4)])
        # stale changeFromQuantity on adjust, and a ledger document on "available"
        inp["changes"] = [{"delta": 1, "inventoryItemId": item_gid(1007), "locationId": LOC1, "changeFromQuantity": 10}]
        s, _, b = self.c.gql(ADJUST_MUTATION % "adj-2", {"input": inp})
        self.assertEqual([e["code"] for e in b["data"]["inventoryAdjustQuantities"]["userErrors"]],
                         ["CHANGE_FROM_QUANTITY_STALE"])
        inp["changes"] = [{"delta": 1, "inventoryItemId": item_gid(1007), "locationId": LOC1,
                           "ledgerDocumentUri": "invkit://x"}]
        s, _, b = self.c.gql(ADJUST_MUTATION % "adj-3", {"input": inp})
        self.assertEqual([e["code"] for e in b["data"]["inventoryAdjustQuantities"]["userErrors"]],
                         ["INVALID_AVAILABLE_DOCUMENT"])
        self.assertEqual(self.available(1007), 7)

    def test_idempotent_replay(self):
        q = [{"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 3, "changeFromQuantity": 10}]
        s1, _, b1 = self.set_(q, "idem-1")
        s2, _, b2 = self.set_(q, "idem-1")
        self.assertEqual((s1, s2), (200, 200))
        self.assertEqual(b1["data"], b2["data"])  # the original result, not a stale error
        self.assertEqual(len(self.c.writes()), 1)
        self.assertTrue(self.c.requests()[-1].get("replayed"))
        adj = {"name": "available", "reason": "correction",
               "changes": [{"delta": -1, "inventoryItemId": item_gid(1002), "locationId": LOC1}]}
        for _ in range(3):
            self.c.gql(ADJUST_MUTATION % "idem-adj", {"input": adj})
        self.assertEqual(self.available(1002), 9)
        # same key, other input
        q[0]["quantity"] = 4
        s, _, b = self.set_(q, "idem-1")
        p = b["data"]["inventorySetQuantities"]
        self.assertEqual([e["code"] for e in p["userErrors"]], ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"])
        self.assertEqual(self.available(1001), 3)
        # no key at all: refused in 2026-10, nothing applied
        s, _, b = self.c.gql("""mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) {
                                  userErrors { code } } }""", {"i": set_input(q)})
        self.assertEqual(b["errors"][0]["extensions"]["code"], "IDEMPOTENCY_KEY_REQUIRED")
        self.assertNotIn("data", b)
        self.assertEqual(self.available(1001), 3)
        # before 2026-04 the directive is optional
        q[0]["changeFromQuantity"] = 3
        s, _, b = self.c.gql("""mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) {
                                  userErrors { code } } }""", {"i": set_input(q)}, version="2025-10")
        self.assertEqual(b["data"]["inventorySetQuantities"]["userErrors"], [])
        self.assertEqual(self.available(1001), 4)

    def test_shopify_input_errors(self):
        def codes(quantities, reason="correction", key=None):
            s, _, b = self.c.gql(SET_MUTATION, {"input": set_input(quantities, reason), "key": key or os.urandom(6).hex()})
            self.assertEqual(s, 200)
            return [(e["code"], e["field"][-1] if e["field"] else None)
                    for e in b["data"]["inventorySetQuantities"]["userErrors"]]

        good = {"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 1, "changeFromQuantity": None}
        self.assertEqual(codes([dict(good, inventoryItemId=item_gid(9999))]), [("INVALID_INVENTORY_ITEM", "inventoryItemId")])
        self.assertEqual(codes([dict(good, locationId="gid://shopify/Location/99")]), [("INVALID_LOCATION", "locationId")])
        self.assertEqual(codes([dict(good, inventoryItemId=item_gid(1003), locationId=LOC2)]),
                         [("ITEM_NOT_STOCKED_AT_LOCATION", "locationId")])
        self.assertEqual(codes([good], reason="because"), [("INVALID_REASON", "reason")])
        self.assertEqual(codes([good, good]), [("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", "1")])
        no_cfq = {k: v for k, v in good.items() if k != "changeFromQuantity"}
        self.assertEqual(codes([no_cfq]), [("COMPARE_QUANTITY_REQUIRED", "changeFromQuantity")])
        # more than 250 entries: a top-level error, nothing applied
        many = [dict(good, quantity=i) for i in range(251)]
        s, _, b = self.c.gql(SET_MUTATION, {"input": set_input(many), "key": "big"})
        self.assertEqual(b["errors"][0]["extensions"]["code"], "MAX_INPUT_SIZE_EXCEEDED")
        self.assertEqual(self.c.writes(), [])
        # Int beyond 32 bits is a variable coercion error
        s, _, b = self.c.gql(SET_MUTATION, {"input": set_input([dict(good, quantity=2 ** 31)]), "key": "int"})
        self.assertEqual(b["errors"][0]["extensions"]["code"], "INVALID_VARIABLE")
        self.assertEqual(self.available(1001), 10)

    def test_graphql_errors(self):
        s, _, b = self.c.gql("{ shop { name }")
        self.assertEqual(s, 200)
        self.assertIn("Parse error", b["errors"][0]["message"])
        self.assertIn("locations", b["errors"][0])
        s, _, b = self.c.gql("{ inventoryItems(first: 1) { nodes { sku colour } } }")
        self.assertEqual(b["errors"][0]["extensions"]["code"], "undefinedField")
        s, _, b = self.c.gql("{ inventoryItems { nodes { sku } } }")
        self.assertEqual(b["errors"][0]["message"], "you must provide one of first or last")
        s, _, b = self.c.gql("query { inventoryItems(first: $n) { nodes { sku } } }")
        self.assertEqual(b["errors"][0]["extensions"]["code"], "variableNotDefined")
        s, _, b = self.c.gql("query($n: Int!) { inventoryItems(first: $n) { nodes { sku } } }", {"n": "ten"})
        self.assertEqual(b["errors"][0]["extensions"]["code"], "INVALID_VARIABLE")
        s, _, b = self.c.gql("query A { shop { name } } query B { shop { id } }")
        self.assertEqual(b["errors"][0]["message"], "An operation name is required")
        s, _, b = self.c.gql("query A { shop { name } } query B { shop { id } }", operationName="B")
        self.assertEqual(list(b["data"]["shop"]), ["id"])
        s, _, b = self.c.gql("{ inventoryItems(first: 2) { nodes { ...F } } } fragment F on InventoryItem { sku __typename }")
        self.assertEqual(b["data"]["inventoryItems"]["nodes"][0], {"sku": "T-001", "__typename": "InventoryItem"})
        s, _, b = self.c.gql("{ shop { name } }", version="2026-10x")
        self.assertEqual(s, 404)
        s, _, b = self.c.http("POST", "/shopify/t1/admin/api/2026-10/graphql.json", b"not json",
                              {"X-Shopify-Access-Token": TOKEN})
        self.assertEqual(s, 400)
        # a mutation with a bad selection is rejected before anything is applied
        q = [{"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 1, "changeFromQuantity": None}]
        s, _, b = self.c.gql("""mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i)
                                @idempotent(key: "bad-sel") { userErrors { code nope } } }""", {"i": set_input(q)})
        self.assertEqual(b["errors"][0]["extensions"]["code"], "undefinedField")
        self.assertEqual(self.available(1001), 10)

    def test_cost_and_max_cost(self):
        s, _, b = self.c.gql("""{ inventoryItems(first: 31) { nodes { id inventoryLevels(first: 10) {
                                  nodes { location { id } quantities(names: ["available"]) { quantity } } } } } }""")
        cost = b["extensions"]["cost"]
        self.assertEqual(cost["requestedQueryCost"], 2 + 31 * (1 + 2 + 10 * 3))
        self.assertEqual(b["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED")
        self.assertIsNone(cost["actualQueryCost"])
        s, _, b = self.c.gql("""{ inventoryItems(first: 25) { nodes { id inventoryLevels(first: 10) {
                                  nodes { location { id } quantities(names: ["available"]) { quantity } } } } } }""")
        cost = b["extensions"]["cost"]
        self.assertEqual(cost["requestedQueryCost"], 2 + 25 * 33)
        self.assertLess(cost["actualQueryCost"], cost["requestedQueryCost"])  # refunded: few levels exist
        ts = cost["throttleStatus"]
        self.assertEqual((ts["maximumAvailable"], ts["restoreRate"]), (2000.0, 100.0))

    # ---- throttling ------------------------------------------------------------------
    def test_throttle_and_recover(self):
        self.c.ctl("POST", "config", {"bucket_size": 100, "restore_rate": 10, "scale": 5})  # 50 points/s
        q = "{ inventoryItems(first: 40) { nodes { id } } }"  # requests 42, costs 32
        throttled = None
        for i in range(10):
            s, _, b = self.c.gql(q)
            self.assertEqual(s, 200)
            if "errors" in b:
                throttled = b
                break
        self.assertIsNotNone(throttled, "never throttled")
        self.assertEqual(throttled["errors"][0]["extensions"]["code"], "THROTTLED")
        cost = throttled["extensions"]["cost"]
        self.assertIsNone(cost["actualQueryCost"])
        self.assertNotIn("data", throttled)
        ts = cost["throttleStatus"]
        self.assertEqual(ts["restoreRate"], 50.0)
        self.assertLess(ts["currentlyAvailable"], 42)
        time.sleep((42 - ts["currentlyAvailable"]) / ts["restoreRate"] + 0.15)
        s, _, b = self.c.gql(q)
        self.assertNotIn("errors", b)
        self.assertEqual(len(b["data"]["inventoryItems"]["nodes"]), 30)
        # HTTP 429 as a knob, with Retry-After; the control API can drain the bucket
        self.c.ctl("POST", "config", {"throttle_status": 429})
        self.c.ctl("POST", "bucket", {"shop": "t1", "available": 0})
        s, h, b = self.c.gql(q)
        self.assertEqual((s, b["errors"][0]["extensions"]["code"]), (429, "THROTTLED"))
        self.assertGreaterEqual(int(h["Retry-After"]), 1)
        writes_logged = [r for r in self.c.requests() if r.get("cost", {}).get("throttled")]
        self.assertGreaterEqual(len(writes_logged), 2)

    # ---- WooCommerce writes ------------------------------------------------------------
    def test_woo_single_update(self):
        s, _, b = self.c.woo("PUT", "/products/10", {"stock_quantity": 7})
        self.assertEqual((s, b["stock_quantity"], b["manage_stock"]), (200, 7, True))
        s, _, b = self.c.woo("PUT", "/products/10", {"stock_quantity": "abc"})
        self.assertEqual((s, b["code"]), (400, "rest_invalid_param"))
        s, _, b = self.c.woo("PUT", "/products/40", {"stock_quantity": 5})  # manage_stock false: ignored
        self.assertEqual((s, b["manage_stock"], b["stock_quantity"]), (200, False, None))
        s, _, b = self.c.woo("GET", "/products/999")
        self.assertEqual((s, b["code"]), (404, "woocommerce_rest_product_invalid_id"))
        s, _, b = self.c.woo("PUT", "/products/999", {"stock_quantity": 1})
        self.assertEqual((s, b["code"]), (400, "woocommerce_rest_product_invalid_id"))
        s, _, b = self.c.woo("PUT", "/products/50/variations/52", {"stock_quantity": 9})
        self.assertEqual((s, b["stock_quantity"]), (200, 9))
        s, _, b = self.c.woo("GET", "/products/50")
        self.assertEqual((b["type"], b["variations"][:2], b["stock_status"]), ("variable", [51, 52], "instock"))
        s, _, b = self.c.woo("PUT", "/products/10", b"{oops", )
        self.assertEqual((s, b["code"]), (400, "rest_invalid_json"))
        w = self.c.writes()
        self.assertEqual([(x["item"], x["before"], x["after"]) for x in w], [(10, 10, 7), (52, 3, 9)])

    def test_woo_batch_limit_and_item_errors(self):
        s, _, b = self.c.woo("POST", "/products/batch", {"update": [{"id": 10, "stock_quantity": 1}] * 101})
        self.assertEqual((s, b["code"], b["data"]["status"]), (413, "woocommerce_rest_request_entity_too_large", 413))
        self.assertEqual(b["message"], "Unable to accept more than 100 items for this request.")
        self.assertEqual(self.c.writes(), [])
        s, _, b = self.c.woo("POST", "/products/batch", {"update": [{"id": 10 + i, "stock_quantity": 20 + i}
                                                                    for i in range(100)][:23]})
        self.assertEqual(s, 200)
        self.assertEqual(len(self.c.writes()), 23)
        s, _, b = self.c.woo("POST", "/products/batch", {"update": [
            {"id": 11, "stock_quantity": 2}, {"id": 999, "stock_quantity": 2}, {"id": 40, "stock_quantity": 2},
            {"id": 53, "stock_quantity": 2}]})
        self.assertEqual(s, 200)
        up = b["update"]
        self.assertEqual(up[0]["stock_quantity"], 2)
        self.assertEqual((up[1]["id"], up[1]["error"]["code"], up[1]["error"]["data"]["status"]),
                         (999, "woocommerce_rest_product_invalid_id", 400))
        self.assertEqual((up[2]["manage_stock"], up[2]["stock_quantity"]), (False, None))
        self.assertEqual(up[3]["error"]["code"], "woocommerce_rest_invalid_product_id")
        s, _, b = self.c.woo("POST", "/products/50/variations/batch",
                             {"update": [{"id": 51, "stock_quantity": 0}, {"id": 11, "stock_quantity": 0}]})
        self.assertEqual((b["update"][0]["stock_quantity"], b["update"][0]["stock_status"]), (0, "outofstock"))
        self.assertEqual(b["update"][1]["error"]["code"], "woocommerce_rest_product_variation_invalid_id")
        s, _, b = self.c.woo("POST", "/products/batch", {"update": []})
        self.assertEqual((s, b), (200, []))
        self.assertEqual((self.woo_qty(11), self.woo_qty(51, 50)), (2, 0))

    # ---- faults ------------------------------------------------------------------------
    def test_fault_429_and_5xx(self):
        self.c.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 2, "retry_after": 3,
                                                 "match": {"platform": "shopify"}}]})
        for _ in range(2):
            s, h, b = self.c.gql("{ shop { name } }")
            self.assertEqual((s, h["Retry-After"]), (429, "3"))
        s, _, b = self.c.woo("GET", "/products?per_page=1")  # other platform unaffected
        self.assertEqual(s, 200)
        s, _, b = self.c.gql("{ shop { name } }")
        self.assertEqual(s, 200)
        for code in ("500", "502", "503"):
            self.c.ctl("POST", "faults", [{"kind": code, "next": 1}])
            s, h, b = self.c.woo("GET", "/products?per_page=1")
            self.assertEqual(s, int(code))
            s, h, b = self.c.woo("GET", "/products?per_page=1")
            self.assertEqual(s, 200)
        self.c.ctl("POST", "faults", [{"kind": "500", "next": 1, "match": {"platform": "shopify"}}])
        s, _, b = self.c.gql("{ shop { name } }")
        self.assertEqual((s, b["errors"][0]["extensions"]["code"]), (500, "INTERNAL_SERVER_ERROR"))
        # skip: the third matching request fails; "after" phase: applied, then an error answer
        self.c.ctl("POST", "faults", [{"kind": "503", "skip": 2, "next": 1, "match": {"method": "GET"}}])
        self.assertEqual([self.c.woo("GET", "/products/10")[0] for _ in range(4)], [200, 200, 503, 200])
        self.c.ctl("POST", "faults", [{"kind": "502", "phase": "after", "next": 1, "match": {"write": True}}])
        s, _, _ = self.c.woo("PUT", "/products/12", {"stock_quantity": 1})
        self.assertEqual(s, 502)
        self.assertEqual(self.woo_qty(12), 1)
        log = self.c.requests()
        self.assertEqual([r["fault"] for r in log if r["fault"]], ["429", "429", "500", "502", "503", "500", "503", "502"])

    def test_fault_probability_is_deterministic(self):
        def pattern():
            self.c.ctl("POST", "faults", {"seed": 42, "rules": [{"kind": "500", "probability": 0.5}]})
            return [self.c.woo("GET", "/products/10")[0] for _ in range(16)]

        p1, p2 = pattern(), pattern()
        self.assertEqual(p1, p2)
        self.assertIn(500, p1)
        self.assertIn(200, p1)

    def test_fault_slow(self):
        self.c.ctl("POST", "faults", [{"kind": "slow", "ms": 400, "next": 1}])
        t0 = time.monotonic()
        s, _, _ = self.c.woo("GET", "/products/10")
        self.assertEqual(s, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        t0 = time.monotonic()
        self.c.woo("GET", "/products/10")
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_fault_drop(self):
        for rst in (False, True):
            self.c.ctl("POST", "faults", [{"kind": "drop", "next": 1, "rst": rst}])
            q = [{"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 1, "changeFromQuantity": None}]
            with self.assertRaises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
                self.set_(q, "drop-%s" % rst)
            self.assertEqual(self.available(1001), 10)  # dropped before processing: not applied
        self.assertEqual(self.c.writes(), [])
        dropped = [r for r in self.c.requests() if r["fault"] == "drop"]
        self.assertEqual([r["status"] for r in dropped], [None, None])

    def test_fault_lost_answer_and_retry(self):
        self.c.ctl("POST", "faults", [{"kind": "lost_answer", "next": 1, "match": {"op": "inventorySetQuantities"}}])
        q = [{"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 6, "changeFromQuantity": 10}]
        with self.assertRaises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            self.set_(q, "lost-1")
        self.assertEqual(self.available(1001), 6)  # applied although no answer came
        s, _, b = self.set_(q, "lost-1")  # the retry with the same key gets the original result
        p = b["data"]["inventorySetQuantities"]
        self.assertEqual(p["userErrors"], [])
        self.assertEqual(p["inventoryAdjustmentGroup"]["changes"][0]["delta"], -4)
        self.assertEqual(len(self.c.writes()), 1)
        # WooCommerce has no idempotency: the lost batch was applied, a re-read shows it
        self.c.ctl("POST", "faults", [{"kind": "lost_answer", "next": 1, "match": {"platform": "woo"}}])
        with self.assertRaises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            self.c.woo("POST", "/products/batch", {"update": [{"id": 13, "stock_quantity": 4}]})
        self.assertEqual(self.woo_qty(13), 4)

    def test_fault_fail_key(self):
        self.c.ctl("POST", "faults", [{"kind": "fail_key", "next": 1}])
        q = [{"inventoryItemId": item_gid(1001), "locationId": LOC1, "quantity": 2, "changeFromQuantity": 10}]
        s, _, b = self.set_(q, "fk-1")
        self.assertEqual(s, 500)
        s, _, b = self.set_(q, "fk-1")
        self.assertEqual([e["code"] for e in b["data"]["inventorySetQuantities"]["userErrors"]],
                         ["IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"])
        self.assertEqual(self.available(1001), 10)
        s, _, b = self.set_(q, "fk-2")
        self.assertEqual(b["data"]["inventorySetQuantities"]["userErrors"], [])
        self.assertEqual(self.available(1001), 2)

    def test_slow_answer_timeout_concurrent_key_then_replay(self):
        self.c.ctl("POST", "faults", [{"kind": "slow", "ms": 1500, "phase": "after", "next": 1,
                                       "match": {"write": True}}])
        q = [{"inventoryItemId": item_gid(1008), "locationId": LOC1, "quantity": 1, "changeFromQuantity": 10}]
        with self.assertRaises((urllib.error.URLError, socket.timeout, TimeoutError)):
            self.set_(q, "slow-1", timeout=0.4)
        s, _, b = self.set_(q, "slow-1")  # the first attempt is still being answered
        self.assertEqual([e["code"] for e in b["data"]["inventorySetQuantities"]["userErrors"]],
                         ["IDEMPOTENCY_CONCURRENT_REQUEST"])
        time.sleep(1.4)
        s, _, b = self.set_(q, "slow-1")
        self.assertEqual(b["data"]["inventorySetQuantities"]["userErrors"], [])
        self.assertEqual(self.available(1008), 1)
        self.assertEqual(len(self.c.writes()), 1)

    # ---- sales ------------------------------------------------------------------------
    def test_sale_endpoint(self):
        r = self.c.ctl("POST", "sale", {"shop": "t1", "sku": "T-002", "location": 1, "qty": 3})
        self.assertEqual((r["sale"]["before"], r["sale"]["after"]), (10, 7))
        self.assertEqual(self.available(1002), 7)
        r = self.c.ctl("POST", "sale", {"shop": "w1", "sku": "V-01"})
        self.assertEqual((r["sale"]["item"], r["sale"]["after"]), (52, 2))
        s, _, b = self.c.http("POST", "/_sim/sale", {"shop": "w1", "item": 40})
        self.assertEqual(s, 409)  # stock not managed
        s, _, b = self.c.http("POST", "/_sim/sale", {"shop": "t1", "sku": "T-001", "qty": 11})
        self.assertEqual(s, 409)  # not enough stock
        w = self.c.writes()
        self.assertEqual([(x["kind"], x["platform"], x["delta"]) for x in w],
                         [("sale", "shopify", -3), ("sale", "woo", -1)])

    def test_random_sales_during_run(self):
        self.c.ctl("POST", "faults", {"seed": 3, "sales": {"every": 3, "platform": "woo"}})
        for _ in range(9):
            self.c.woo("GET", "/products?per_page=1")
        sales = [w for w in self.c.writes() if w["kind"] == "sale"]
        self.assertEqual(len(sales), 3)
        reqs = {r["request_id"]: r for r in self.c.requests()}
        for sale in sales:
            self.assertEqual(sale["source"], "random")
            self.assertIn("sale", reqs[sale["request_id"]])
        st = self.c.ctl("GET", "state")
        woo = {p["id"]: p for p in st["woocommerce"]["w1"]["products"]}
        for p in st["woocommerce"]["w1"]["products"]:
            for v in p.get("variations", []):
                woo[v["id"]] = v
        for sale in sales:
            self.assertLessEqual(woo[sale["item"]]["stock_quantity"], sale["after"])
        # a push interleaved with sales: adjust by delta keeps every sale
        self.c.ctl("POST", "faults", {"seed": 5, "sales": {"every": 2, "platform": "shopify"}})
        before = self.available(1010)
        adj = {"name": "available", "reason": "correction",
               "changes": [{"delta": 5, "inventoryItemId": item_gid(1010), "locationId": LOC1}]}
        self.c.gql(ADJUST_MUTATION % "mix", {"input": adj})
        sold = sum(-w["delta"] for w in self.c.writes() if w["kind"] == "sale" and w["item"] == item_gid(1010)
                   and w["location"] == LOC1)
        self.c.ctl("DELETE", "faults")
        self.assertEqual(self.available(1010), before + 5 - sold)

    # ---- state, control, robustness ------------------------------------------------------
    def test_state_dump_replace_reset(self):
        st = self.c.ctl("GET", "state")
        self.assertEqual(st["shopify"]["t1"]["items"][0]["levels"], {LOC1: 10, LOC2: 5})
        st["shopify"]["t1"]["items"][0]["levels"][LOC1] = 99
        self.c.ctl("POST", "state", st)
        self.assertEqual(self.available(1001), 99)
        s, _, b = self.c.http("POST", "/_sim/state", {"shopify": {"x": {"items": []}}})
        self.assertEqual(s, 400)
        self.c.ctl("POST", "reset")
        self.assertEqual(self.available(1001), 10)
        st0 = self.c.ctl("GET", "state")  # the dump round-trips
        self.c.ctl("POST", "state", st0)
        self.assertEqual(self.c.ctl("GET", "state"), st0)

    def test_keepalive_and_concurrency(self):
        # 8 threads x 20 adjusts of -1 on the same level, each on its own keep-alive connection
        errors = []

        def worker(t):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                for i in range(20):
                    inp = {"name": "available", "reason": "correction",
                           "changes": [{"delta": -1, "inventoryItemId": item_gid(1020), "locationId": LOC1}]}
                    body = json.dumps({"query": ADJUST_MUTATION % ("c-%d-%d" % (t, i)), "variables": {"input": inp}})
                    conn.request("POST", "/shopify/t1/admin/api/%s/graphql.json" % VER, body,
                                 {"X-Shopify-Access-Token": TOKEN, "Content-Type": "application/json"})
                    r = conn.getresponse()
                    data = json.loads(r.read())
                    if r.status != 200 or data["data"]["inventoryAdjustQuantities"]["userErrors"]:
                        errors.append(data)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                conn.close()

        self.c.ctl("POST", "config", {"bucket_size": 100000})
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(self.available(1020), 10 - 160)
        self.assertEqual(len(self.c.writes()), 160)

    # ---- platform plugins: tests/sim/platforms/bigcommerce.py ---------------------------
    def bc(self, method, path, body=None, token=BC_TOKEN, store="b1"):
        hdrs = {"X-Auth-Token": token} if token else {}
        return self.c.http(method, "/bigcommerce/%s/v3/inventory%s" % (store, path), body, hdrs)

    def bc_avail(self, sku, loc):
        s, _, b = self.bc("GET", "/items?sku:in=" + sku)
        locs = {l["location_id"]: l["available_to_sell"] for l in b["data"][0]["locations"]}
        return locs.get(loc)

    def test_plugin_loaded_and_state_round_trip(self):
        st = self.c.ctl("GET", "state")
        self.assertEqual(st["bigcommerce"]["b1"]["items"][0],
                         {"product_id": 7, "variant_id": 70, "sku_id": None, "sku": "B-7", "levels": {"1": 10},
                          "safety_stock": {"1": 2}})
        self.assertIn("bc_quota", self.c.ctl("GET", "config"))
        s, _, b = self.c.http("POST", "/_sim/state", {"bigcommerce": {"b2": {"token": "x", "items": [
            {"product_id": 1, "variant_id": 2, "levels": {"9": 1}}]}}})
        self.assertEqual((s, b["error"]), (400, "bigcommerce.b2.items[0].levels: no location 9"))
        s, _, b = self.c.http("POST", "/_sim/faults", {"rules": [{"kind": "500", "match": {"platform": "nope"}}]})
        # the list names every platform there is, plugins included (whatever is installed)
        self.assertEqual(s, 400)
        self.assertTrue(b["error"].startswith("match.platform must be one of shopify, woo, "), b["error"])
        self.assertIn("bigcommerce", b["error"])

    def test_bc_auth_list_and_pagination(self):
        s, _, b = self.bc("GET", "/items", token="wrong")
        self.assertEqual((s, b["status"]), (401, 401))
        s, h, b = self.bc("GET", "/items?limit=2&page=1")
        self.assertEqual(s, 200)
        self.assertEqual(b["meta"]["pagination"]["total_pages"], 2)
        self.assertEqual(b["meta"]["pagination"]["links"]["next"], "?limit=2&page=2")
        self.assertEqual(b["data"][0]["locations"][0]["available_to_sell"], 8)  # 10 on hand - 2 safety
        self.assertEqual(h["X-Rate-Limit-Requests-Quota"], "150")
        self.assertEqual(h["X-Rate-Limit-Time-Window-Ms"], "30000")
        s, _, b = self.bc("GET", "/items?limit=1001")
        self.assertEqual(s, 422)
        s, _, b = self.bc("GET", "/locations/2/items")
        self.assertEqual([r["identity"]["sku"] for r in b["data"]], ["B-8-S"])

    def test_bc_adjustments(self):
        s, _, b = self.bc("POST", "/adjustments/relative", {"reason": "t", "items": [
            {"location_id": 1, "variant_id": 81, "quantity": -2}, {"location_id": 1, "product_id": 7, "quantity": 3}]})
        self.assertEqual(s, 200)
        self.assertIn("transaction_id", b)
        self.assertEqual((self.bc_avail("B-8-S", 1), self.bc_avail("B-7", 1)), (3, 11))
        # a 422 names the item and applies nothing
        s, _, b = self.bc("POST", "/adjustments/relative", {"items": [
            {"location_id": 1, "variant_id": 81, "quantity": 1}, {"location_id": 1, "variant_id": 70, "quantity": 1}]})
        self.assertEqual((s, b["title"]), (422, "[Item with variant_id 70 is tracked by product, please update "
                                                "stock by product id]"))
        s, _, b = self.bc("POST", "/adjustments/relative", {"items": [{"location_id": 2, "sku": "B-8-M", "quantity": 1}]})
        self.assertEqual((s, b["title"]), (422, "[Items with identity: [sku B-8-M] requires absolute adjustment "
                                                "before relative]"))
        self.assertEqual(self.bc_avail("B-8-S", 1), 3)
        s, _, b = self.bc("PUT", "/adjustments/absolute", {"items": [{"location_id": 2, "sku": "B-8-M", "quantity": 4}]})
        self.assertEqual(s, 200)
        self.assertEqual(self.bc_avail("B-8-M", 2), 4)
        s, _, b = self.bc("PUT", "/adjustments/absolute", {"items": [{"location_id": 2, "sku": "B-8-M", "quantity": 4}]},
                          token=BC_RO)
        self.assertEqual(s, 403)
        w = [(x["kind"], x["sku"], x["location"], x["before"], x["after"]) for x in self.c.writes()]
        self.assertEqual(w, [("adjust", "B-8-S", "1", 5, 3), ("adjust", "B-7", "1", 8, 11), ("set", "B-8-M", "2", None, 4)])
        self.c.ctl("POST", "config", {"bc_batch_limit": 1})
        s, _, b = self.bc("POST", "/adjustments/relative", {"items": [
            {"location_id": 1, "variant_id": 81, "quantity": 1}, {"location_id": 1, "product_id": 7, "quantity": 1}]})
        self.assertEqual((s, b["errors"]), (422, {"items": "at most 1 items in one request (2 sent)"}))

    def test_bc_quota_faults_and_sales(self):
        self.c.ctl("POST", "config", {"bc_quota": 2, "bc_window_ms": 60000})
        self.assertEqual(self.bc("GET", "/items")[0], 200)
        s, h, _ = self.bc("GET", "/items")
        self.assertEqual((s, h["X-Rate-Limit-Requests-Left"]), (200, "0"))
        s, h, b = self.bc("GET", "/items")
        self.assertEqual((s, b["status"], h["X-Rate-Limit-Requests-Left"]), (429, 429, "0"))
        self.assertGreater(int(h["X-Rate-Limit-Time-Reset-Ms"]), 50000)
        self.c.ctl("POST", "config", {"bc_quota": 150, "bc_window_ms": 30000})
        # fault rules match the plugin's platform and ops; a lost answer is applied
        self.c.ctl("POST", "faults", {"rules": [{"kind": "lost_answer", "next": 1,
                                                 "match": {"platform": "bigcommerce",
                                                           "op": "inventory/adjustments/relative"}}]})
        with self.assertRaises(Exception):
            self.bc("POST", "/adjustments/relative", {"items": [{"location_id": 1, "sku": "B-7", "quantity": 1}]})
        self.assertEqual(self.bc_avail("B-7", 1), 9)
        req = [r for r in self.c.requests() if r["write"]][-1]
        self.assertEqual((req["platform"], req["status"], req["fault"]), ("bigcommerce", None, "lost_answer"))
        # the control sale and random sales reach the plugin
        r = self.c.ctl("POST", "sale", {"shop": "b1", "sku": "B-8-S", "location": 2, "qty": 1})
        self.assertEqual((r["sale"]["platform"], r["sale"]["before"], r["sale"]["after"]), ("bigcommerce", 1, 0))
        s, _, _ = self.c.http("POST", "/_sim/sale", {"shop": "b1", "sku": "B-8-S", "location": 2})
        self.assertEqual(s, 409)
        self.c.ctl("POST", "faults", {"seed": 1, "sales": {"every": 1, "platform": "bigcommerce"}})
        self.bc("GET", "/items")
        self.bc("GET", "/items")
        self.c.ctl("DELETE", "faults")
        sales = [w for w in self.c.writes() if w["kind"] == "sale" and w["source"] == "random"]
        self.assertEqual(len(sales), 2)
        self.assertEqual({w["platform"] for w in sales}, {"bigcommerce"})

    def test_plugin_refused_when_incomplete(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "acme.py"), "w") as fh:
                fh.write("NAME = 'acme'\ndef load(s):\n    return s\n")
            code = ("import sys; sys.argv = ['sim.py']; sys.path.insert(0, %r); import sim; "
                    "sim.load_platforms(%r)" % (HERE, d))
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("RuntimeError: platforms/acme.py lacks dump, sample, classify, handle, sale_targets, sale",
                          p.stderr)

    def test_sigterm_with_open_connection(self):
        proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--sample", "3"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = int(proc.stdout.readline().split()[1])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/_sim/health")
            self.assertEqual(conn.getresponse().read()[:1], b"{")
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(5), 0)
            self.assertLess(time.monotonic() - t0, 4)
            conn.close()
            err = proc.stderr.read()
            self.assertNotIn("Traceback", err)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
