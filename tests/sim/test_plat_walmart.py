#!/usr/bin/env python3
"""Self-test of the Walmart plugin of the invkit simulator (tests/sim/platforms/walmart.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
token endpoint, the required headers, the multi-node list and its cursor, one SKU's read and
update, the error shapes, the per-endpoint buckets and their headers, token expiry, state round
trip and sales, and the inventory feed: upload, delayed processing, per-line outcomes, paged
details, the feed listing and the refusals.

    python3 tests/sim/test_plat_walmart.py [-v]
"""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
CID, CSECRET = "cid-1", "csecret-1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    items = [{"sku": "S-%02d" % i, "levels": {"N1": i, "N2": 2 * i} if i % 2 else {"N1": i}}
             for i in range(1, 24)]
    items[0]["reserved"] = {"N1": 1}
    return {"walmart": {"w1": {"client_id": CID, "client_secret": CSECRET, "default_node": "N1",
                               "nodes": ["N1", "N2", "N3"], "items": items}}}


class WalmartSimTest(unittest.TestCase):
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

    def http(self, method, path, data=None, headers=None):
        rq = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        try:
            with _OPENER.open(rq, timeout=10) as r:
                status, hdrs, payload = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, payload = e.code, e.headers, e.read()
            e.close()
        return status, hdrs, json.loads(payload) if payload else None

    def ctl(self, method, path, body=None):
        s, _, b = self.http(method, "/_sim/" + path, json.dumps(body).encode() if body is not None else None)
        self.assertEqual(s, 200, b)
        return b

    def token(self, cid=CID, secret=CSECRET):
        basic = base64.b64encode(("%s:%s" % (cid, secret)).encode()).decode()
        return self.http("POST", "/walmart/w1/v3/token", b"grant_type=client_credentials",
                         {"Authorization": "Basic " + basic, "WM_SVC.NAME": "t", "WM_QOS.CORRELATION_ID": "c1",
                          "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})

    def wm(self, method, path, body=None, tok=None, headers=None):
        if tok is None:
            s, _, b = self.token()
            self.assertEqual(s, 200, b)
            tok = b["access_token"]
        h = {"WM_SEC.ACCESS_TOKEN": tok, "WM_SVC.NAME": "t", "WM_QOS.CORRELATION_ID": "c2",
             "Accept": "application/json", "Content-Type": "application/json"}
        h.update(headers or {})
        return self.http(method, "/walmart/w1/v3" + path, json.dumps(body).encode() if body is not None else None, h)

    def test_token(self):
        s, _, b = self.token()
        self.assertEqual(s, 200)
        self.assertEqual(sorted(b), ["access_token", "expires_in", "token_type"])
        self.assertEqual((b["token_type"], b["expires_in"]), ("Bearer", 900))
        s, _, b = self.token(secret="nope")
        self.assertEqual(s, 401)
        self.assertEqual(b["errors"][0]["code"], "UNAUTHORIZED.GMP_GATEWAY_API")

    def test_auth_and_headers(self):
        s, _, b = self.wm("GET", "/inventory?sku=S-01", tok="bogus")
        self.assertEqual((s, b["errors"][0]["field"]), (401, "WM_SEC.ACCESS_TOKEN"))
        s, _, b = self.wm("GET", "/inventory?sku=S-01", headers={"WM_QOS.CORRELATION_ID": ""})
        self.assertEqual((s, b["errors"][0]["code"]), (400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API"))

    def test_token_expires(self):
        self.ctl("POST", "config", {"wm_token_ttl": 1})
        tok = self.token()[2]["access_token"]
        self.assertEqual(self.wm("GET", "/inventory?sku=S-01", tok=tok)[0], 200)
        time.sleep(1.1)
        self.assertEqual(self.wm("GET", "/inventory?sku=S-01", tok=tok)[0], 401)

    def test_list_pages(self):
        s, _, b = self.wm("GET", "/inventories")
        self.assertEqual(s, 200)
        self.assertEqual(len(b["elements"]["inventories"]), 10)     # the default
        self.assertEqual(b["elements"]["inventories"][0], {"sku": "S-01", "nodes": [
            {"shipNode": "N1", "inputQty": {"unit": "EACH", "amount": 1},
             "availToSellQty": {"unit": "EACH", "amount": 0}, "reservedQty": {"unit": "EACH", "amount": 1}},
            {"shipNode": "N2", "inputQty": {"unit": "EACH", "amount": 2},
             "availToSellQty": {"unit": "EACH", "amount": 2}, "reservedQty": {"unit": "EACH", "amount": 0}}]})
        skus, cur, pages = [], None, 0
        while True:
            s, _, b = self.wm("GET", "/inventories?limit=10" + ("&nextCursor=" + cur if cur else ""))
            self.assertEqual(s, 200, b)
            self.assertEqual(b["meta"]["totalCount"], 23)
            skus += [i["sku"] for i in b["elements"]["inventories"]]
            pages += 1
            cur = b["meta"].get("nextCursor")
            if not cur:
                break
        self.assertEqual((pages, skus), (3, ["S-%02d" % i for i in range(1, 24)]))
        self.assertEqual(self.wm("GET", "/inventories?limit=51")[0], 400)
        self.assertEqual(self.wm("GET", "/inventories?nextCursor=zzz")[0], 400)

    def test_get_put(self):
        self.assertEqual(self.wm("GET", "/inventory?sku=S-03")[2],
                         {"sku": "S-03", "quantity": {"unit": "EACH", "amount": 3}})
        self.assertEqual(self.wm("GET", "/inventory?sku=S-03&shipNode=N2")[2]["quantity"]["amount"], 6)
        self.assertEqual(self.wm("GET", "/inventory?sku=S-02&shipNode=N2")[0], 404)   # no record there
        self.assertEqual(self.wm("GET", "/inventory?sku=NOPE")[0], 404)
        s, _, b = self.wm("GET", "/inventory?sku=S-03&shipNode=N9")
        self.assertEqual((s, b["errors"][0]["field"]), (400, "shipNode"))
        s, _, b = self.wm("PUT", "/inventory?sku=S-03&shipNode=N2", {"sku": "S-03", "quantity": {"unit": "EACH", "amount": 40}})
        self.assertEqual((s, b), (200, {"sku": "S-03", "quantity": {"unit": "EACH", "amount": 40}}))
        s, _, _ = self.wm("PUT", "/inventory?sku=S-02&shipNode=N3", {"sku": "S-02", "quantity": {"unit": "EACH", "amount": 7}})
        self.assertEqual(s, 200)
        for bad in ({"sku": "S-04", "quantity": {"unit": "EACH", "amount": 1}},
                    {"sku": "S-03", "quantity": {"unit": "CASE", "amount": 1}},
                    {"sku": "S-03", "quantity": {"unit": "EACH", "amount": -1}}):
            self.assertEqual(self.wm("PUT", "/inventory?sku=S-03", bad)[0], 400, bad)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["sku"], x["location"], x["before"], x["after"]) for x in w],
                         [("S-03", "N2", 6, 40), ("S-02", "N3", None, 7)])
        st = self.ctl("GET", "state")["walmart"]["w1"]
        self.assertEqual(st["items"][2]["levels"], {"N1": 3, "N2": 40})

    def test_buckets(self):
        self.ctl("POST", "config", {"wm_bucket": 2, "wm_refill_per_s": 5})
        tok = self.token()[2]["access_token"]
        seen = []
        for _ in range(3):
            s, h, _ = self.wm("GET", "/inventory?sku=S-01", tok=tok)
            seen.append((s, h["x-current-token-count"]))
        self.assertEqual(seen, [(200, "1"), (200, "0"), (429, "0")])
        nxt = int(h["x-next-replenish-time"])
        self.assertGreater(nxt, time.time() * 1000)
        self.assertEqual(self.wm("PUT", "/inventory?sku=S-01", {"sku": "S-01", "quantity": {"unit": "EACH", "amount": 1}},
                                 tok=tok)[0], 200)   # another endpoint, another bucket
        time.sleep(max(0, nxt / 1000 - time.time()) + 0.01)
        self.assertEqual(self.wm("GET", "/inventory?sku=S-01", tok=tok)[0], 200)

    def test_state_round_trip_and_sale(self):
        st = self.ctl("GET", "state")
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state"), st)
        r = self.ctl("POST", "sale", {"platform": "walmart", "shop": "w1", "sku": "S-05", "location": "N2", "qty": 3})
        self.assertEqual((r["sale"]["before"], r["sale"]["after"]), (10, 7))
        self.assertEqual(self.wm("GET", "/inventory?sku=S-05&shipNode=N2")[2]["quantity"]["amount"], 7)

    def upload(self, lines, tok=None, node=None, boundary="b0undary", version="1.4", feed_type="inventory"):
        doc = json.dumps({"InventoryHeader": {"version": version}, "Inventory": lines}).encode()
        body = (b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="file"; filename="f.json"\r\n'
                b"Content-Type: application/json\r\n\r\n" + doc + b"\r\n--" + boundary.encode() + b"--\r\n")
        if tok is None:
            tok = self.token()[2]["access_token"]
        q = "?feedType=" + feed_type + ("&shipNode=" + node if node else "")
        return self.http("POST", "/walmart/w1/v3/feeds" + q, body,
                         {"WM_SEC.ACCESS_TOKEN": tok, "WM_SVC.NAME": "t", "WM_QOS.CORRELATION_ID": "c3",
                          "Accept": "application/json",
                          "Content-Type": "multipart/form-data; boundary=" + boundary})

    def test_feed(self):
        self.ctl("POST", "config", {"wm_feed_delay": 0.3, "wm_feed_page_max": 2})
        self.ctl("POST", "state", self._with_fault({"S-04": "SYSTEM_ERROR", "S-05": "TIMEOUT_ERROR", "S-06": "OMIT"}))
        tok = self.token()[2]["access_token"]
        q = lambda sku, n: {"sku": sku, "quantity": {"unit": "EACH", "amount": n}}
        s, _, b = self.upload([q("S-03", 30), q("S-02", 20), q("S-04", 1), q("S-05", 1), q("S-06", 1), q("NOPE", 1)],
                              tok, node="N2")
        self.assertEqual((s, sorted(b)), (200, ["feedId"]))
        fid = b["feedId"]
        path = "/walmart/w1/v3/feeds/%s?includeDetails=true" % fid.replace("@", "%40")
        st = lambda extra="": self.http("GET", path + extra, None, {"WM_SEC.ACCESS_TOKEN": tok, "WM_SVC.NAME": "t",
                                                                    "WM_QOS.CORRELATION_ID": "c4"})
        s, _, b = st()
        self.assertEqual((s, b["feedStatus"], b["itemsReceived"], b["itemsProcessing"], b["itemDetails"]),
                         (200, "RECEIVED", 6, 6, {"itemIngestionStatus": []}))
        self.assertEqual(self.wm("GET", "/inventory?sku=S-03&shipNode=N2", tok=tok)[2]["quantity"]["amount"], 6)
        time.sleep(0.35)
        lines = []
        for off in range(0, 8, 2):
            s, _, b = st("&offset=%d&limit=1000" % off)
            self.assertEqual((s, b["feedStatus"], b["itemsSucceeded"], b["itemsFailed"], b["limit"]),
                             (200, "PROCESSED", 2, 4, 2))
            lines += b["itemDetails"]["itemIngestionStatus"]
        self.assertEqual([(x["sku"], x["ingestionStatus"]) for x in lines],
                         [("S-03", "SUCCESS"), ("S-02", "SUCCESS"), ("S-04", "SYSTEM_ERROR"), ("S-05", "TIMEOUT_ERROR"),
                          ("NOPE", "DATA_ERROR")])
        self.assertEqual(lines[4]["ingestionErrors"]["ingestionError"][0]["description"], "SKU NOPE was not found")
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["sku"], x["location"], x["before"], x["after"], x["feed"]) for x in w],
                         [("S-03", "N2", 6, 30, fid), ("S-02", "N2", None, 20, fid)])
        s, _, b = self.wm("GET", "/feeds", tok=tok)
        self.assertEqual((s, b["totalResults"], [(f["feedId"], f["feedType"], f["itemsReceived"], f["feedStatus"])
                                                  for f in b["results"]["feed"]]),
                         (200, 1, [(fid, "inventory", 6, "PROCESSED")]))
        self.assertEqual(st()[0], 200)
        self.assertEqual(self.http("GET", "/walmart/w1/v3/feeds/NOPE", None, {"WM_SEC.ACCESS_TOKEN": tok,
                         "WM_SVC.NAME": "t", "WM_QOS.CORRELATION_ID": "c5"})[0], 404)

    def _with_fault(self, faults):
        st = make_state()
        for it in st["walmart"]["w1"]["items"]:
            if it["sku"] in faults:
                it["feed_fault"] = faults[it["sku"]]
        return st

    def test_feed_refusals(self):
        tok = self.token()[2]["access_token"]
        q = {"sku": "S-01", "quantity": {"unit": "EACH", "amount": 1}}
        self.assertEqual(self.upload([q], tok, feed_type="item")[2]["errors"][0]["field"], "feedType")
        self.assertEqual(self.upload([q], tok, node="N9")[2]["errors"][0]["field"], "shipNode")
        self.assertEqual(self.upload([q], tok, version="1.5")[0], 400)
        self.assertEqual(self.upload([{"sku": "S-01", "quantity": {"unit": "CASE", "amount": 1}}], tok)[0], 400)
        self.ctl("POST", "config", {"wm_feed_max_bytes": 100})     # (a new config forgets the tokens)
        s, _, b = self.upload([q])
        self.assertEqual((s, b["errors"][0]["code"]), (413, "REQUEST_ENTITY_TOO_LARGE.GMP_GATEWAY_API"))
        self.ctl("POST", "config", {"wm_feed_error": 1, "wm_feed_delay": 0, "wm_feed_max_bytes": 5242880})
        tok = self.token()[2]["access_token"]
        fid = self.upload([q], tok)[2]["feedId"]
        s, _, b = self.http("GET", "/walmart/w1/v3/feeds/" + fid.replace("@", "%40"), None,
                            {"WM_SEC.ACCESS_TOKEN": tok, "WM_SVC.NAME": "t", "WM_QOS.CORRELATION_ID": "c6"})
        self.assertEqual((s, b["feedStatus"], b["ingestionErrors"]["ingestionError"][0]["code"]),
                         (200, "ERROR", "ERR_INT_SYS_0000002"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        st = self._with_fault({"S-01": "OMIT"})
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["walmart"]["w1"]["items"][0]["feed_fault"], "OMIT")


if __name__ == "__main__":
    unittest.main()
