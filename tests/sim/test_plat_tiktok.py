#!/usr/bin/env python3
"""Self-test of the TikTok Shop plugin of the invkit simulator (tests/sim/platforms/tiktok.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
signature check (right, wrong, tampered body, access_token and sign left out of it), the
other credentials, product search pages, inventory search, inventory updates with per-SKU
errors inside a code 0 answer, the rate limit, the plugin's fault answers, state round
trip and sales; and the token endpoint of refresh mode (GET /api/v2/token/refresh): its
answer's fields, wrong app credentials, a wrong, spent or expired refresh token, the
rotation of the refresh token, and issued access tokens that expire (by time or by use)
with the expired-token answer.

    python3 tests/sim/test_plat_tiktok.py [-v]
"""

import hashlib
import hmac
import json
import os
import signal
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
KEY, SECRET, TOKEN, CIPHER = "tk_key_1", "tk_secret_1", "TTP_token_1", "ROW_cipher_1"
REFRESH = "TTR_refresh_1"
W1, W2, W9 = "7000000000000000001", "7000000000000000002", "7000000000000000009"
API = "/product/202309"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    prods = []
    for i in range(1, 6):
        skus = [{"id": "%d%02d" % (900 + i, j), "seller_sku": "P%d-%d" % (i, j),
                 "inventory": {W1: 10 * i + j, W2: j} if j else {W1: 10 * i}} for j in range(2)]
        prods.append({"id": str(800 + i), "title": "P%d" % i, "status": "ACTIVATE", "skus": skus})
    prods[4]["skus"][1]["live"] = False
    return {"tiktok": {"s1": {"app_key": KEY, "app_secret": SECRET, "access_token": TOKEN,
                              "refresh_token": REFRESH, "shop_cipher": CIPHER,
                              "warehouses": [{"id": W1, "name": "Main"}, {"id": W2, "name": "Second"}],
                              "products": prods}}}


def sign(secret, path, params, body):
    """The documented rule, a third time (the driver and the plugin have their own)."""
    s = secret + path + "".join(k + v for k, v in sorted(params.items())
                                if k not in ("sign", "access_token")) + body + secret
    return hmac.new(secret.encode(), s.encode(), hashlib.sha256).hexdigest()


class TikTokSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "state.json")
        with open(path, "w") as fh:
            json.dump(make_state(), fh)
        cls.errf = open(os.path.join(cls.tmp.name, "stderr"), "w+")
        cls.proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--seed", "3", "--state", path],
                                    stdout=subprocess.PIPE, stderr=cls.errf, text=True)
        line = cls.proc.stdout.readline()
        if not line.startswith("port "):
            cls.proc.kill()
            cls.proc.wait()
            raise RuntimeError("simulator did not start: %r" % line)
        cls.base = "http://127.0.0.1:%d" % int(line.split()[1])

    @classmethod
    def tearDownClass(cls):
        try:
            cls.proc.send_signal(signal.SIGTERM)
            assert cls.proc.wait(10) == 0
        finally:
            cls.proc.stdout.close()
            cls.errf.seek(0)
            err = cls.errf.read()
            cls.errf.close()
            cls.tmp.cleanup()
            if "Traceback" in err:
                raise AssertionError("simulator stderr has a traceback:\n" + err)

    def setUp(self):
        self.ctl("POST", "reset")

    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/_sim/" + path, data=data, method=method)
        with _OPENER.open(req) as r:
            return json.loads(r.read())

    def call(self, path, body=None, extra=None, secret=SECRET, token=TOKEN, ts=None, raw_body=None,
             signed_body=None, key=KEY, cipher=CIPHER, bad_sign=None):
        """A signed POST to the shop's API; returns (HTTP status, answer)."""
        params = {"app_key": key, "timestamp": str(int(time.time()) if ts is None else ts),
                  "shop_cipher": cipher}
        params.update(extra or {})
        text = raw_body if raw_body is not None else json.dumps(body if body is not None else {})
        params["sign"] = bad_sign or sign(secret, path, params, text if signed_body is None else signed_body)
        url = "%s/tiktok/s1%s?%s" % (self.base, path, urllib.parse.urlencode(params))
        req = urllib.request.Request(url, data=text.encode(), method="POST",
                                     headers={"Content-Type": "application/json", "x-tts-access-token": token})
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    # ---- credentials and the signature ----

    def test_signature(self):
        st, a = self.call(API + "/products/search", {}, {"page_size": "2"})
        self.assertEqual((st, a["code"], a["message"]), (200, 0, "Success"))
        self.assertTrue(a["request_id"].startswith("sim-"))
        # access_token in the query is not part of the sign
        st, a = self.call(API + "/products/search", {}, {"page_size": "2", "access_token": "x"})
        self.assertEqual((st, a["code"]), (200, 0))
        bad = {"code": 106001, "data": None,
               "message": "Invalid credentials. The 'sign' query parameter is invalid. For more details: "
                          "https://m.tiktok.shop/s/AIu6dbFhs2XW"}
        for kw in ({"secret": "other"}, {"bad_sign": "0" * 64},
                   {"signed_body": '{"status":"ALL"}'}):  # signed for another body
            st, a = self.call(API + "/products/search", {}, {"page_size": "2"}, **kw)
            self.assertEqual(st, 401, kw)
            self.assertEqual({k: a[k] for k in ("code", "data", "message")}, bad)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([r["status"] for r in log], [200, 200, 401, 401, 401])
        self.assertEqual(log[-1]["notes"], ["bad sign"])

    def test_other_credentials(self):
        st, a = self.call(API + "/products/search", {}, {"page_size": "2"}, token="TTP_other")
        self.assertEqual((st, a["code"]), (401, 105001))
        st, a = self.call(API + "/products/search", {}, {"page_size": "2"}, key="other")
        self.assertEqual((st, a["code"]), (401, 106002))
        st, a = self.call(API + "/products/search", {}, {"page_size": "2"}, ts=int(time.time()) - 3600)
        self.assertEqual((st, a["code"]), (401, 106003))
        st, a = self.call(API + "/products/search", {}, {"page_size": "2"}, cipher="ROW_other")
        self.assertEqual((st, a["code"]), (403, 106011))
        st, a = self.call(API + "/nothing/here", {})
        self.assertEqual((st, a["code"]), (404, 36009001))

    # ---- refresh mode: the token endpoint ----

    def refresh(self, key=KEY, secret=SECRET, rt=REFRESH, grant="refresh_token", method="GET"):
        """GET /api/v2/token/refresh (no sign); returns (HTTP status, answer)."""
        q = urllib.parse.urlencode({"app_key": key, "app_secret": secret, "refresh_token": rt,
                                    "grant_type": grant})
        req = urllib.request.Request("%s/tiktok/s1/api/v2/token/refresh?%s" % (self.base, q), method=method,
                                     data=b"" if method == "POST" else None)
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_refresh(self):
        t0 = int(time.time())
        st, a = self.refresh()
        self.assertEqual((st, a["code"], a["message"]), (200, 0, "success"))
        d = a["data"]
        self.assertEqual(sorted(d), sorted(["access_token", "access_token_expire_in", "refresh_token",
                                            "refresh_token_expire_in", "open_id", "seller_name",
                                            "seller_base_region", "user_type", "granted_scopes"]))
        # Unix times, not durations: a week for the access token, by default
        self.assertTrue(t0 + 7 * 86400 <= d["access_token_expire_in"] <= int(time.time()) + 7 * 86400)
        self.assertGreater(d["refresh_token_expire_in"], d["access_token_expire_in"])
        self.assertTrue(d["access_token"].startswith("TTP_") and d["access_token"] != TOKEN)
        # rotated: the new refresh token is the shop's, the one sent is spent
        self.assertNotEqual(d["refresh_token"], REFRESH)
        self.assertEqual(self.ctl("GET", "state")["tiktok"]["s1"]["refresh_token"], d["refresh_token"])
        st, a = self.refresh()
        self.assertEqual((st, a["code"], a["data"]), (200, 36004004, None))
        self.assertEqual(a["message"], "The refresh_token is invalid or has expired.")
        st, a2 = self.refresh(rt=d["refresh_token"])
        self.assertEqual((st, a2["code"]), (200, 0))
        # both issued access tokens work (until they expire), and so does the fixed one
        for tok in (d["access_token"], a2["data"]["access_token"], TOKEN):
            st, a = self.call(API + "/products/search", {}, {"page_size": "1"}, token=tok)
            self.assertEqual((st, a["code"]), (200, 0))
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([(r["method"], r["ops"], r["notes"]) for r in log[:3]],
                         [("GET", ["token/refresh"], ["refresh token rotated"]),
                          ("GET", ["token/refresh"], ["bad refresh token"]),
                          ("GET", ["token/refresh"], ["refresh token rotated"])])

    def test_refresh_not_rotated(self):
        self.ctl("POST", "config", {"tiktok_rotate_refresh": 0})
        for _ in range(2):
            st, a = self.refresh()
            self.assertEqual((st, a["code"], a["data"]["refresh_token"]), (200, 0, REFRESH))

    def test_refresh_refused(self):
        for kw, code in (({"key": "other"}, 36004003), ({"secret": "other"}, 36004003),
                         ({"rt": "TTR_other"}, 36004004), ({"grant": "authorized_code"}, 36004005)):
            st, a = self.refresh(**kw)
            self.assertEqual((st, a["code"], a["data"]), (200, code, None), kw)
        st, a = self.refresh(method="POST")
        self.assertEqual((st, a["code"]), (405, 36009001))
        # nothing refused spent the refresh token
        self.assertEqual(self.ctl("GET", "state")["tiktok"]["s1"]["refresh_token"], REFRESH)
        # an expired refresh token
        state = make_state()
        state["tiktok"]["s1"]["refresh_token_expire_in"] = int(time.time()) - 1
        self.ctl("POST", "state", state)
        st, a = self.refresh()
        self.assertEqual((st, a["code"]), (200, 36004004))
        self.assertEqual(self.ctl("GET", "log?kind=requests")["requests"][-1]["notes"], ["refresh token expired"])

    def test_issued_token_expires(self):
        expired = {"code": 105002, "data": None, "message": "Expired credentials. The access token has expired."}
        self.ctl("POST", "config", {"tiktok_token_ttl": 1})
        st, a = self.refresh()
        tok = a["data"]["access_token"]
        self.assertLessEqual(a["data"]["access_token_expire_in"], int(time.time()) + 1)
        time.sleep(1.1)
        st, a = self.call(API + "/products/search", {}, {"page_size": "1"}, token=tok)
        self.assertEqual(st, 401)
        self.assertEqual({k: a[k] for k in expired}, expired)
        # by use: refused after two accepted calls, a new one accepted
        self.ctl("POST", "reset")
        self.ctl("POST", "config", {"tiktok_token_uses": 2})
        tok = self.refresh()[1]["data"]["access_token"]
        got = [self.call(API + "/products/search", {}, {"page_size": "1"}, token=tok)[0] for _ in range(3)]
        self.assertEqual(got, [200, 200, 401])
        st, a = self.refresh(rt=self.ctl("GET", "state")["tiktok"]["s1"]["refresh_token"])
        st, a = self.call(API + "/products/search", {}, {"page_size": "1"}, token=a["data"]["access_token"])
        self.assertEqual((st, a["code"]), (200, 0))
        # a token never issued is invalid, not expired
        st, a = self.call(API + "/products/search", {}, {"page_size": "1"}, token="TTP_never")
        self.assertEqual((st, a["code"]), (401, 105001))

    # ---- reads ----

    def test_product_pages(self):
        got, tok, pages = [], None, 0
        while True:
            extra = {"page_size": "2"}
            if tok:
                extra["page_token"] = tok
            st, a = self.call(API + "/products/search", {}, extra)
            self.assertEqual((st, a["code"]), (200, 0))
            pages += 1
            self.assertEqual(a["data"]["total_count"], 5)
            got += a["data"]["products"]
            tok = a["data"]["next_page_token"]
            if not tok:
                break
        self.assertEqual(pages, 3)
        self.assertEqual([p["id"] for p in got], ["801", "802", "803", "804", "805"])
        self.assertEqual(got[1]["skus"][1]["inventory"], [{"warehouse_id": W1, "quantity": 21},
                                                          {"warehouse_id": W2, "quantity": 1}])
        self.assertEqual(got[1]["skus"][1]["seller_sku"], "P2-1")
        for size in ("0", "101", "x"):
            st, a = self.call(API + "/products/search", {}, {"page_size": size})
            self.assertEqual((st, a["code"]), (400, 36009001), size)
        st, a = self.call(API + "/products/search", {}, {"page_size": "2", "page_token": "!!"})
        self.assertEqual((st, a["code"], a["message"]), (400, 36009001, "Invalid page_token"))
        st, a = self.call(API + "/products/search", {"seller_skus": ["P3-1"]}, {"page_size": "10"})
        self.assertEqual([p["id"] for p in a["data"]["products"]], ["803"])

    def test_inventory_search(self):
        st, a = self.call(API + "/inventory/search", {"sku_ids": ["90201", "90100", "999"]})
        self.assertEqual((st, a["code"]), (200, 0))
        inv = a["data"]["inventory"]
        self.assertEqual([(p["product_id"], [s["id"] for s in p["skus"]]) for p in inv],
                         [("802", ["90201"]), ("801", ["90100"])])
        self.assertEqual(inv[0]["skus"][0]["warehouse_inventory"],
                         [{"warehouse_id": W1, "available_quantity": 21, "committed_quantity": 0},
                          {"warehouse_id": W2, "available_quantity": 1, "committed_quantity": 0}])
        self.assertEqual(inv[0]["skus"][0]["total_available_quantity"], 22)
        # sku_ids win over product_ids
        st, a = self.call(API + "/inventory/search", {"sku_ids": ["90100"], "product_ids": ["802"]})
        self.assertEqual([p["product_id"] for p in a["data"]["inventory"]], ["801"])
        st, a = self.call(API + "/inventory/search", {"product_ids": ["802"]})
        self.assertEqual([s["id"] for s in a["data"]["inventory"][0]["skus"]], ["90200", "90201"])
        st, a = self.call(API + "/inventory/search", {"sku_ids": [str(i) for i in range(601)]})
        self.assertEqual((st, a["code"]), (400, 36009001))
        st, a = self.call(API + "/inventory/search", {})
        self.assertEqual((st, a["code"]), (400, 36009001))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- writes ----

    def test_update(self):
        body = {"skus": [{"id": "90201", "inventory": [{"warehouse_id": W1, "quantity": 3},
                                                       {"warehouse_id": W2, "quantity": 0}]},
                         {"id": "90200", "inventory": [{"warehouse_id": W2, "quantity": 7}]}]}
        st, a = self.call(API + "/products/802/inventory/update", body)
        self.assertEqual((st, a["code"], a["data"]), (200, 0, {}))
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["location"], x["before"], x["after"], x["sku"]) for x in w],
                         [("set", "802/90201", W1, 21, 3, "P2-1"), ("set", "802/90201", W2, 1, 0, "P2-1"),
                          ("set", "802/90200", W2, None, 7, "P2-0")])
        st, a = self.call(API + "/inventory/search", {"sku_ids": ["90200"]})
        self.assertEqual(a["data"]["inventory"][0]["skus"][0]["warehouse_inventory"],
                         [{"warehouse_id": W1, "available_quantity": 20, "committed_quantity": 0},
                          {"warehouse_id": W2, "available_quantity": 7, "committed_quantity": 0}])

    def test_partial_failure(self):
        body = {"skus": [{"id": "90501", "inventory": [{"warehouse_id": W1, "quantity": 3}]},
                         {"id": "90500", "inventory": [{"warehouse_id": W9, "quantity": 1},
                                                       {"warehouse_id": W1, "quantity": 99999}]},
                         {"id": "90100", "inventory": [{"warehouse_id": W1, "quantity": 1}]}]}
        self.call(API + "/products/805/inventory/update",
                  {"skus": [{"id": "90500", "inventory": [{"warehouse_id": W1, "quantity": 4}]}]})
        st, a = self.call(API + "/products/805/inventory/update", body)
        self.assertEqual((st, a["code"]), (200, 0))
        self.assertEqual(a["data"]["errors"], [
            {"code": 12019025, "message": "The SKU stock can be updated only in live status",
             "detail": {"sku_id": "90501", "extra_errors": []}},
            {"code": 12019026, "message": "Failed to update some warehouses",
             "detail": {"sku_id": "90500", "extra_errors": [
                 {"warehouse_id": W9, "code": 12019026, "message": "The warehouse does not exist or is not available"},
                 {"warehouse_id": W1, "code": 12019027, "message": "quantity must be 0 to 99998"}]}},
            {"code": 12052700, "message": "SKU 90100 does not belong to product 805",
             "detail": {"sku_id": "90100", "extra_errors": []}}])
        # only the first, separate update applied
        self.assertEqual([(x["item"], x["after"]) for x in self.ctl("GET", "log?kind=writes")["writes"]],
                         [("805/90500", 4)])
        st, a = self.call(API + "/products/999/inventory/update", body)
        self.assertEqual((st, a["code"]), (404, 12052700))
        st, a = self.call(API + "/products/805/inventory/update", {"skus": []})
        self.assertEqual((st, a["code"]), (400, 36009001))

    # ---- limits, faults, state, sales ----

    def test_rate_limit(self):
        self.ctl("POST", "config", {"tiktok_qps": 2})
        got = [self.call(API + "/inventory/search", {"sku_ids": ["90100"]}) for _ in range(3)]
        self.assertEqual([g[0] for g in got], [200, 200, 429])
        self.assertEqual(got[2][1]["code"], 36009004)
        time.sleep(1.05)
        self.assertEqual(self.call(API + "/inventory/search", {"sku_ids": ["90100"]})[0], 200)

    def test_faults(self):
        # the searches are POSTs but not writes: a write fault passes them by
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        self.assertEqual(self.call(API + "/inventory/search", {"sku_ids": ["90100"]})[0], 200)
        st, a = self.call(API + "/products/801/inventory/update",
                          {"skus": [{"id": "90100", "inventory": [{"warehouse_id": W1, "quantity": 1}]}]})
        self.assertEqual((st, a["code"]), (429, 36009004))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.ctl("POST", "faults", {"rules": [{"kind": "500", "next": 1}]})
        st, a = self.call(API + "/inventory/search", {"sku_ids": ["90100"]})
        self.assertEqual((st, a["code"]), (500, 36009999))

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        self.assertEqual(st["tiktok"], make_state()["tiktok"])
        st["tiktok"]["s1"]["products"][0]["skus"][0]["inventory"][W1] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["tiktok"]["s1"]["products"][0]["skus"][0]["inventory"][W1], 77)
        bad = make_state()
        bad["tiktok"]["s1"]["products"][0]["skus"][0]["inventory"] = {W9: 1}
        req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 400)

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "tiktok", "shop": "s1", "item": "802/90201",
                                      "location": W1, "qty": 2})
        r = r["sale"]
        self.assertEqual((r["item"], r["location"], r["before"], r["after"]), ("802/90201", W1, 21, 19))
        st, a = self.call(API + "/inventory/search", {"sku_ids": ["90201"]})
        self.assertEqual(a["data"]["inventory"][0]["skus"][0]["warehouse_inventory"][0],
                         {"warehouse_id": W1, "available_quantity": 19, "committed_quantity": 2})
        req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
            {"platform": "tiktok", "shop": "s1", "sku": "P1-0", "location": W2}).encode())
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 409)


if __name__ == "__main__":
    unittest.main()
