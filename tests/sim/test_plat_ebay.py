#!/usr/bin/env python3
"""Self-test of the simulator's eBay plugin (tests/sim/platforms/ebay.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
Sell Inventory API subset: OAuth errors, pages (offset as a page number and as a record
offset), the bulk read, the bulk update with per-entry answers, the batch limit, the
revision limit, the daily quota, faults, sales and the state round trip.

    python3 tests/sim/test_plat_ebay.py [-v]
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
TOKEN, RO, OLD = "v^1.1#i^1#t-write", "v^1.1#i^1#t-read", "v^1.1#i^1#t-expired"
API = "/ebay/s1/sell/inventory/v1"
TOKEN_URL = "/ebay/s1/identity/v1/oauth2/token"
CID, CSEC, REFRESH = "App-PRD-s1", "PRD-s1-secret", "v^1.1#i^1#r^1#s1-refresh"
SCOPE = "https://api.ebay.com/oauth/api_scope/sell.inventory"


def make_state():
    items = [{"sku": "E-%03d" % i, "quantity": i % 6} for i in range(1, 31)]
    items[0] = {"sku": "E-001", "quantity": 7, "distributions": {"WH-1": 4, "WH-2": 3}}
    items[1] = {"sku": "E-002", "quantity": None}
    items[2] = {"sku": "E-003", "quantity": 2, "listed": False}
    return {"ebay": {"s1": {"tokens": [{"token": TOKEN}, {"token": RO, "scope": "sell.inventory.readonly"},
                                       {"token": OLD, "expired": True}],
                            "app": {"client_id": CID, "client_secret": CSEC},
                            "refresh_tokens": [{"token": REFRESH, "scopes": [SCOPE, SCOPE + ".readonly"]},
                                               {"token": "v^1.1#i^1#r^1#revoked", "revoked": True}],
                            "locations": ["WH-1", "WH-2"], "items": items}}}


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EbayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "state.json")
        with open(path, "w") as fh:
            json.dump(make_state(), fh)
        cls.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--state", path],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.proc.stdout.readline()
        if not line.startswith("port "):
            cls.proc.kill()
            cls.proc.wait()
            raise RuntimeError("simulator did not start: %r" % line)
        cls.base = "http://127.0.0.1:%d" % int(line.split()[1])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stdout.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.ctl("POST", "reset", {})

    def http(self, method, path, body=None, token=TOKEN, headers=None):
        data = None if body is None else json.dumps(body).encode()
        rq = urllib.request.Request(self.base + path, data=data, method=method)
        if token is not None:
            rq.add_header("Authorization", "Bearer " + token)
        if data is not None:
            rq.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            rq.add_header(k, v)
        try:
            with _OPENER.open(rq, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read() or b"null")
            finally:
                e.close()

    def ctl(self, method, path, body=None):
        s, b = self.http(method, "/_sim/" + path, body, token=None)
        self.assertEqual(s, 200, b)
        return b

    def update(self, entries, token=TOKEN):
        return self.http("POST", API + "/bulk_update_price_quantity",
                         {"requests": [{"sku": s, "shipToLocationAvailability": {"quantity": q}} for s, q in entries]},
                         token=token)

    def mint(self, form, cid=CID, csec=CSEC, ctype="application/x-www-form-urlencoded"):
        rq = urllib.request.Request(self.base + TOKEN_URL, data=urllib.parse.urlencode(form).encode(), method="POST")
        rq.add_header("Content-Type", ctype)
        if cid is not None:
            rq.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (cid, csec)).encode()).decode())
        try:
            with _OPENER.open(rq, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read())
            finally:
                e.close()

    def test_token_endpoint(self):
        good = {"grant_type": "refresh_token", "refresh_token": REFRESH, "scope": SCOPE}
        s, b = self.mint(good)
        self.assertEqual((s, sorted(b), b["expires_in"], b["token_type"]),
                         (200, ["access_token", "expires_in", "token_type"], 7200, "User Access Token"))
        self.assertNotIn("refresh_token", b)            # eBay does not rotate the refresh token
        tok = b["access_token"]
        self.assertEqual(self.update([("E-004", 3)], token=tok)[0], 200)
        # the refresh token stays valid: a second token, the first one still good
        s, b2 = self.mint(good)
        self.assertEqual(s, 200)
        self.assertNotEqual(b2["access_token"], tok)
        self.assertEqual(self.http("GET", API + "/inventory_item?limit=1", token=tok)[0], 200)
        # a read-only scope gives a token that pulls but cannot write
        s, b = self.mint(dict(good, scope=SCOPE + ".readonly"))
        self.assertEqual(self.http("GET", API + "/inventory_item?limit=1", token=b["access_token"])[0], 200)
        s, e = self.update([("E-004", 1)], token=b["access_token"])
        self.assertEqual((s, e["errors"][0]["errorId"]), (403, 1100))
        # refusals, in eBay's OAuth shape
        cases = [
            (self.mint(good, csec="wrong"), 401, "invalid_client", "client authentication failed"),
            (self.mint(good, cid=None), 401, "invalid_client", "client authentication failed"),
            (self.mint(dict(good, refresh_token="v^1.1#nope")), 400, "invalid_grant",
             "the provided authorization refresh token is invalid or was issued to another client"),
            (self.mint(dict(good, refresh_token="v^1.1#i^1#r^1#revoked")), 400, "invalid_grant",
             "the provided authorization refresh token is invalid or was issued to another client"),
            (self.mint(dict(good, scope=SCOPE + " https://api.ebay.com/oauth/api_scope/sell.account")), 400,
             "invalid_scope", "the requested scope is invalid, unknown, malformed, or exceeds the scope granted "
                              "to the client"),
            (self.mint(dict(good, grant_type="client_credentials")), 400, "unsupported_grant_type",
             "grant type in request is not supported by the authorization server"),
            (self.mint(good, ctype="application/json"), 400, "invalid_request",
             "request is missing a required parameter or malformed"),
        ]
        for (s, b), want_s, want_e, want_d in cases:
            self.assertEqual((s, b), (want_s, {"error": want_e, "error_description": want_d}))
        reqs = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual({tuple(r["ops"]) for r in reqs if "oauth2" in r["path"]}, {("oauth2/token",)})
        self.assertTrue(all(REFRESH not in json.dumps(r) and CSEC not in json.dumps(r) for r in reqs))
        st = self.ctl("GET", "state")["ebay"]["s1"]
        self.assertEqual((st["app"], st["refresh_tokens"][1]),
                         ({"client_id": CID, "client_secret": CSEC},
                          {"token": "v^1.1#i^1#r^1#revoked", "scopes": [SCOPE], "revoked": True}))

    def test_token_expiry(self):
        good = {"grant_type": "refresh_token", "refresh_token": REFRESH, "scope": SCOPE}
        self.ctl("POST", "config", {"ebay_token_calls": 2})
        tok = self.mint(good)[1]["access_token"]
        for _ in range(2):
            self.assertEqual(self.http("GET", API + "/inventory_item?limit=1", token=tok)[0], 200)
        s, b = self.http("GET", API + "/inventory_item?limit=1", token=tok)
        self.assertEqual((s, b["errors"][0]["errorId"], b["errors"][0]["domain"], b["errors"][0]["message"]),
                         (401, 1001, "OAuth", "Invalid access token"))
        self.assertEqual(self.ctl("GET", "log?kind=requests")["requests"][-1]["notes"], ["expired token"])
        self.ctl("POST", "config", {"ebay_token_calls": 0, "ebay_token_life": 1})
        s, b = self.mint(good)
        self.assertEqual((s, b["expires_in"]), (200, 1))
        self.assertEqual(self.http("GET", API + "/inventory_item?limit=1", token=b["access_token"])[0], 200)
        time.sleep(1.05)
        self.assertEqual(self.http("GET", API + "/inventory_item?limit=1", token=b["access_token"])[0], 401)

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")["ebay"]["s1"]
        self.assertEqual(st["items"][0], {"sku": "E-001", "quantity": 7, "distributions": {"WH-1": 4, "WH-2": 3},
                                          "listed": True, "title": "Item E-001"})
        self.assertEqual(st["tokens"][2], {"token": OLD, "scope": "sell.inventory", "expired": True})
        self.ctl("POST", "state", {"ebay": self.ctl("GET", "state")["ebay"]})
        self.assertEqual(self.ctl("GET", "state")["ebay"]["s1"], st)
        s, b = self.http("POST", "/_sim/state", {"ebay": {"x": {"token": "t", "items": [
            {"sku": "A", "quantity": 1, "distributions": {"WH-9": 1}}]}}}, token=None)
        self.assertEqual((s, b["error"]), (400, "ebay.x.items[0].distributions: no location WH-9"))

    def test_oauth_errors(self):
        s, b = self.http("GET", API + "/inventory_item", token=None)
        self.assertEqual((s, b["errors"][0]["errorId"], b["errors"][0]["message"]), (401, 1002, "Missing access token"))
        s, b = self.http("GET", API + "/inventory_item", token=None, headers={"Authorization": "Token x"})
        self.assertEqual((s, b["errors"][0]["errorId"]), (401, 1003))
        for tok in ("nope", OLD):
            s, b = self.http("GET", API + "/inventory_item", token=tok)
            self.assertEqual((s, b["errors"][0]["errorId"], b["errors"][0]["domain"]), (401, 1001, "OAuth"))
        s, _ = self.http("POST", API + "/bulk_get_inventory_item", {"requests": [{"sku": "E-001"}]}, token=RO)
        self.assertEqual(s, 200)
        s, b = self.update([("E-001", 1)], token=RO)
        self.assertEqual((s, b["errors"][0]["errorId"]), (403, 1100))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    def test_pages_offset_is_a_page_number(self):
        s, b = self.http("GET", API + "/inventory_item?limit=8&offset=1")
        self.assertEqual(s, 200)
        self.assertEqual([i["sku"] for i in b["inventoryItems"]], ["E-%03d" % i for i in range(9, 17)])
        self.assertEqual((b["total"], b["size"], b["limit"]), (30, 4, 8))
        self.assertTrue(b["next"].endswith("/sell/inventory/v1/inventory_item?limit=8&offset=2"))
        self.assertTrue(b["prev"].endswith("?limit=8&offset=0"))
        s, b = self.http("GET", API + "/inventory_item?limit=8&offset=3")
        self.assertEqual((len(b["inventoryItems"]), "next" in b), (6, False))
        s, b = self.http("GET", API + "/inventory_item")
        self.assertEqual(len(b["inventoryItems"]), 25)      # the default limit
        s, b = self.http("GET", API + "/inventory_item?limit=201")
        self.assertEqual((s, b["errors"][0]["errorId"]), (400, 25709))
        s, b = self.http("GET", API + "/inventory_item?limit=200")
        items = {i["sku"]: i for i in b["inventoryItems"]}
        self.assertEqual(items["E-001"]["availability"]["shipToLocationAvailability"]["availabilityDistributions"][1],
                         {"merchantLocationKey": "WH-2", "quantity": 3,
                          "fulfillmentTime": {"unit": "BUSINESS_DAY", "value": 1}})
        self.assertEqual(items["E-002"]["availability"], {})

    def test_pages_offset_as_records(self):
        self.ctl("POST", "config", {"ebay_offset_pages": 0})
        s, b = self.http("GET", API + "/inventory_item?limit=8&offset=5")
        self.assertEqual([i["sku"] for i in b["inventoryItems"]], ["E-%03d" % i for i in range(6, 14)])
        self.assertTrue(b["next"].endswith("?limit=8&offset=13"))

    def test_bulk_get(self):
        s, b = self.http("POST", API + "/bulk_get_inventory_item", {"requests": [{"sku": "E-001"}, {"sku": "NOPE"}]})
        self.assertEqual(s, 207)
        self.assertEqual([(r["statusCode"], r["sku"]) for r in b["responses"]], [(200, "E-001"), (404, "NOPE")])
        self.assertEqual(b["responses"][0]["inventoryItem"]["availability"]["shipToLocationAvailability"]["quantity"], 7)
        self.assertEqual(b["responses"][1]["errors"][0]["errorId"], 25710)
        s, b = self.http("POST", API + "/bulk_get_inventory_item", {"requests": [{"sku": "E-%03d" % i} for i in range(26)]})
        self.assertEqual((s, b["errors"][0]["errorId"]), (400, 25709))
        reqs = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([(r["ops"], r["write"]) for r in reqs], [(["bulk_get_inventory_item"], False)] * 2)

    def test_bulk_update(self):
        s, b = self.update([("E-004", 9), ("E-005", 0)])
        self.assertEqual((s, b), (200, {"responses": [{"statusCode": 200, "sku": "E-004"},
                                                      {"statusCode": 200, "sku": "E-005"}]}))
        s, b = self.update([("E-006", 1), ("E-007", -1), ("NOPE", 1)])
        self.assertEqual(s, 207)
        self.assertEqual([(r["sku"], r["statusCode"]) for r in b["responses"]],
                         [("E-006", 200), ("E-007", 400), ("NOPE", 404)])
        self.assertEqual(b["responses"][1]["errors"][0]["longMessage"], "The quantity must be a whole number of 0 or more")
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["sku"], x["before"], x["after"], x["kind"]) for x in w],
                         [("E-004", 4, 9, "set"), ("E-005", 5, 0, "set"), ("E-006", 0, 1, "set")])
        s, b = self.update([("E-%03d" % i, 1) for i in range(1, 27)])
        self.assertEqual((s, b["errors"][0]["errorId"]), (400, 25709))
        s, b = self.http("POST", API + "/bulk_update_price_quantity", {"requests": [{"sku": "E-004"}]},
                         headers={"Content-Type": "text/plain"})
        self.assertEqual(s, 415)
        reqs = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertTrue(all(r["write"] and r["ops"] == ["bulk_update_price_quantity"] for r in reqs))

    def test_revisions_a_day(self):
        self.ctl("POST", "config", {"ebay_max_revisions": 2, "ebay_day_ms": 400})
        self.assertEqual(self.update([("E-004", 1)])[0], 200)
        self.assertEqual(self.update([("E-004", 1)])[0], 200)    # a no-op counts too
        s, b = self.update([("E-004", 2), ("E-003", 5), ("E-003", 6), ("E-003", 7)])
        self.assertEqual([r["statusCode"] for r in b["responses"]], [400, 200, 200, 200])  # E-003 is not listed
        self.assertEqual(b["responses"][0]["errors"][0]["errorId"], 25766)
        self.assertEqual(self.update([("E-004", 2)])[0], 207)
        time.sleep(0.45)                                        # a new day
        self.assertEqual(self.update([("E-004", 2)])[0], 200)

    def test_daily_quota_and_faults(self):
        self.ctl("POST", "config", {"ebay_daily_quota": 2})
        for _ in range(2):
            self.assertEqual(self.http("GET", API + "/inventory_item?limit=1")[0], 200)
        s, b = self.http("GET", API + "/inventory_item?limit=1")
        self.assertEqual((s, b["errors"][0]["errorId"], b["errors"][0]["message"]), (429, 2001, "Too many requests"))
        self.ctl("POST", "reset", {})
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1,
                                               "match": {"platform": "ebay", "op": "bulk_update_price_quantity"}}]})
        s, b = self.update([("E-004", 1)])
        self.assertEqual((s, b["errors"][0]["errorId"]), (429, 2001))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.assertEqual(self.update([("E-004", 1)])[0], 200)

    def test_sales(self):
        r = self.ctl("POST", "sale", {"platform": "ebay", "shop": "s1", "sku": "E-001", "location": "WH-1", "qty": 2})
        self.assertEqual((r["sale"]["before"], r["sale"]["after"]), (7, 5))
        st = self.ctl("GET", "state")["ebay"]["s1"]["items"][0]
        self.assertEqual((st["quantity"], st["distributions"]), (5, {"WH-1": 2, "WH-2": 3}))
        s, _ = self.http("POST", "/_sim/sale", {"platform": "ebay", "shop": "s1", "sku": "E-002"}, token=None)
        self.assertEqual(s, 409)
        self.ctl("POST", "faults", {"seed": 1, "sales": {"every": 1, "platform": "ebay"}})
        self.http("GET", API + "/inventory_item?limit=1")
        sales = [w for w in self.ctl("GET", "log?kind=writes")["writes"] if w["kind"] == "sale"]
        self.assertEqual((len(sales), sales[-1]["platform"], sales[-1]["location"]), (2, "ebay", ""))


if __name__ == "__main__":
    unittest.main()
