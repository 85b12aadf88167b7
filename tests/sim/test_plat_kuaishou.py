#!/usr/bin/env python3
"""Self-test of the Kuaishou plugin of the invkit simulator (tests/sim/platforms/kuaishou.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
signature check (HMAC_SHA256 and MD5, right, wrong, tampered param, parameters in the query
or the body), the other credentials, item list pages, item detail, relative stock updates
and their refusals (Chinese messages), the rate limit, the plugin's fault answers, state
round trip and sales.

    python3 tests/sim/test_plat_kuaishou.py [-v]
"""

import base64
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
KEY, SECRET, TOKEN = "ks_key_1", "ks_sign_secret_1", "ks_token_1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    items = []
    for i in range(1, 6):
        items.append({"id": 100 + i, "title": "商品%d" % i,
                      "skus": [{"id": 1000 + 10 * i + j, "nick": "K%d-%d" % (i, j), "stock": 10 * i + j}
                               for j in range(2)]})
    items[4]["audit"] = True
    return {"kuaishou": {"s1": {"app_key": KEY, "sign_secret": SECRET, "access_token": TOKEN,
                                "items": items}}}


def sign(secret, params, method):
    """The documented rule, a third time (the driver and the plugin have their own)."""
    s = "&".join(k + "=" + v for k, v in sorted(params.items()) if k != "sign") + "&signSecret=" + secret
    if method == "MD5":
        return hashlib.md5(s.encode()).hexdigest()
    return base64.b64encode(hmac.new(secret.encode(), s.encode(), hashlib.sha256).digest()).decode()


class KuaishouSimTest(unittest.TestCase):
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

    def call(self, method, param, secret=SECRET, token=TOKEN, key=KEY, ts=None, sm="HMAC_SHA256",
             in_query=False, bad_sign=None, signed_param=None, path=None):
        """A signed call; returns (HTTP status, answer)."""
        text = json.dumps(param, separators=(",", ":"), ensure_ascii=False)
        p = {"appkey": key, "method": method, "version": "1", "param": text, "access_token": token,
             "timestamp": str(int(time.time() * 1000) if ts is None else ts), "signMethod": sm}
        p["sign"] = bad_sign or sign(secret, dict(p, param=signed_param or text), sm)
        url = "%s/kuaishou/s1/%s" % (self.base, path or method.replace(".", "/"))
        enc = urllib.parse.urlencode(p)
        if in_query:
            req = urllib.request.Request(url + "?" + enc, method="GET")
        else:
            req = urllib.request.Request(url, data=enc.encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    # ---- credentials and the signature ----

    def test_signature(self):
        for kw in ({}, {"sm": "MD5"}, {"in_query": True}):
            st, a = self.call("open.item.get", {"kwaiItemId": 101}, **kw)
            self.assertEqual((st, a["result"]), (200, 1), kw)
            self.assertTrue(a["requestId"].startswith("sim-"))
        for kw in ({"secret": "other"}, {"bad_sign": "A" * 44}, {"sm": "MD5", "secret": "other"},
                   {"signed_param": '{"kwaiItemId":102}'}):
            st, a = self.call("open.item.get", {"kwaiItemId": 101}, **kw)
            self.assertEqual((st, a["result"], a["error_msg"], a["code"]), (200, 28, "签名验证失败", "28"), kw)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([r["status"] for r in log], [200] * 7)
        self.assertEqual(log[-1]["notes"], ["bad sign"])

    def test_other_credentials(self):
        st, a = self.call("open.item.get", {"kwaiItemId": 101}, token="other")
        self.assertEqual((st, a["result"], a["error_msg"]), (200, 24, "access_token无效或已过期"))
        st, a = self.call("open.item.get", {"kwaiItemId": 101}, key="other")
        self.assertEqual((st, a["result"]), (200, 25))
        st, a = self.call("open.item.get", {"kwaiItemId": 101}, ts=int(time.time() * 1000) - 3600000)
        self.assertEqual((st, a["result"]), (200, 30))
        st, a = self.call("open.item.get", {"kwaiItemId": 101}, ts=int(time.time()))  # seconds, not ms
        self.assertEqual((st, a["result"]), (200, 30))
        st, a = self.call("open.item.get", {"kwaiItemId": 101}, sm="SHA1")
        self.assertEqual((st, a["result"]), (200, 4))
        st, a = self.call("open.item.get", {"kwaiItemId": 101}, path="open/item/list/get")
        self.assertEqual((st, a["result"]), (200, 4))
        st, a = self.call("open.nothing", {})
        self.assertEqual((st, a["result"]), (404, 4))

    # ---- reads ----

    def test_item_pages(self):
        st, a = self.call("open.item.list.get", {"pageNumber": 1, "pageSize": 10})
        self.assertEqual((st, a["result"]), (200, 1))
        d = a["data"]
        self.assertEqual((d["totalItemCount"], d["totalPage"], d["currentPageNumber"]), (5, 1, 1))
        self.assertEqual([i["kwaiItemId"] for i in d["items"]], [101, 102, 103, 104, 105])
        self.assertEqual(d["items"][1]["skuInfos"][1]["kwaiSkuId"], 1021)
        self.assertEqual(d["items"][1]["skuInfos"][1]["skuNick"], "K2-1")
        self.assertEqual(d["items"][1]["skuInfos"][1]["skuStock"], 21)
        self.ctl("POST", "config", {"kuaishou_page_max": 2})
        for bad in ({"pageNumber": 0, "pageSize": 10}, {"pageNumber": 1, "pageSize": 9},
                    {"pageNumber": "1", "pageSize": 10}):
            st, a = self.call("open.item.list.get", bad)
            self.assertEqual((st, a["result"]), (200, 4), bad)
        st, a = self.call("open.item.list.get", {"pageNumber": 1, "pageSize": 100})
        self.assertEqual(a["result"], 4)

    def test_item_get(self):
        st, a = self.call("open.item.get", {"kwaiItemId": 103})
        self.assertEqual([(s["kwaiSkuId"], s["skuStock"]) for s in a["data"]["skuInfos"]],
                         [(1030, 30), (1031, 31)])
        st, a = self.call("open.item.get", {"kwaiItemId": 999})
        self.assertEqual((st, a["result"], a["error_msg"]), (200, 1001, "商品不存在"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- writes ----

    def test_update(self):
        up = "open.item.sku.stock.update"
        st, a = self.call(up, {"kwaiItemId": 102, "skuId": 1021, "skuChangeStock": 4, "changeType": 1})
        self.assertEqual((st, a["result"]), (200, 1))
        st, a = self.call(up, {"kwaiItemId": 102, "skuId": 1021, "skuChangeStock": 5, "changeType": 2})
        self.assertEqual((st, a["result"]), (200, 1))
        st, a = self.call("open.item.get", {"kwaiItemId": 102})
        self.assertEqual(a["data"]["skuInfos"][1]["skuStock"], 20)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["before"], x["after"], x["delta"]) for x in w],
                         [("adjust", "102/1021", 21, 25, 4), ("adjust", "102/1021", 25, 20, -5)])
        cases = [({"kwaiItemId": 102, "skuId": 1021, "skuChangeStock": 21, "changeType": 2}, 1004, "库存不足，扣减失败"),
                 ({"kwaiItemId": 105, "skuId": 1050, "skuChangeStock": 1, "changeType": 1}, 1003,
                  "商品审核中，暂不支持修改库存"),
                 ({"kwaiItemId": 102, "skuId": 1031, "skuChangeStock": 1, "changeType": 1}, 1002, None),
                 ({"kwaiItemId": 999, "skuId": 1021, "skuChangeStock": 1, "changeType": 1}, 1001, None),
                 ({"kwaiItemId": 102, "skuId": 1021, "skuChangeStock": 0, "changeType": 1}, 4, None),
                 ({"kwaiItemId": 102, "skuId": 1021, "skuChangeStock": 9999999, "changeType": 1}, 4, None),
                 ({"kwaiItemId": 102, "skuId": 1021, "skuChangeStock": 1, "changeType": 3}, 4, None)]
        for param, code, msg in cases:
            st, a = self.call(up, param)
            self.assertEqual((st, a["result"]), (200, code), param)
            if msg:
                self.assertEqual(a["error_msg"], msg)
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 2)

    # ---- limits, faults, state, sales ----

    def test_rate_limit(self):
        self.ctl("POST", "config", {"kuaishou_qps": 2})
        got = [self.call("open.item.get", {"kwaiItemId": 101}) for _ in range(3)]
        self.assertEqual([g[0] for g in got], [200, 200, 429])
        self.assertEqual(got[2][1]["result"], 40)
        time.sleep(1.05)
        self.assertEqual(self.call("open.item.get", {"kwaiItemId": 101})[0], 200)

    def test_faults(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        self.assertEqual(self.call("open.item.get", {"kwaiItemId": 101})[0], 200)
        st, a = self.call("open.item.sku.stock.update",
                          {"kwaiItemId": 101, "skuId": 1010, "skuChangeStock": 1, "changeType": 1})
        self.assertEqual((st, a["result"]), (429, 40))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.ctl("POST", "faults", {"rules": [{"kind": "500", "next": 1,
                                               "match": {"op": "open.item.list.get"}}]})
        st, a = self.call("open.item.list.get", {"pageNumber": 1, "pageSize": 10})
        self.assertEqual((st, a["result"]), (500, 500))

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        self.assertEqual(st["kuaishou"], make_state()["kuaishou"])
        st["kuaishou"]["s1"]["items"][0]["skus"][0]["stock"] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["kuaishou"]["s1"]["items"][0]["skus"][0]["stock"], 77)
        bad = make_state()
        bad["kuaishou"]["s1"]["items"][1]["skus"][0]["id"] = 1010  # a SKU id twice
        req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 400)

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "kuaishou", "shop": "s1", "item": "102/1021", "qty": 2})["sale"]
        self.assertEqual((r["item"], r["location"], r["before"], r["after"]), ("102/1021", "", 21, 19))
        st, a = self.call("open.item.get", {"kwaiItemId": 102})
        self.assertEqual(a["data"]["skuInfos"][1]["skuStock"], 19)
        req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
            {"platform": "kuaishou", "shop": "s1", "sku": "K1-0", "qty": 11}).encode())
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 409)


if __name__ == "__main__":
    unittest.main()
