#!/usr/bin/env python3
"""Self-test of the WeChat Channels shop plugin of the invkit simulator
(tests/sim/platforms/wechat.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
stable access token (right and wrong appid and secret), the token check on every call (none,
wrong, right), the product list pages, stock batchget and get, relative and absolute stock
updates and their refusals (the platform's Chinese messages), the rate limit, the plugin's
fault answers, state round trip and sales.

    python3 tests/sim/test_plat_wechat.py [-v]
"""

import hashlib
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
APPID, SECRET = "wx_test_appid", "wx_test_secret_1"
# the token the plugin must issue, derived here a second time
TOKEN = "wxat_" + hashlib.sha256(("%s:%s" % (APPID, SECRET)).encode()).hexdigest()[:40]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    prods = []
    for i in range(1, 36):
        prods.append({"id": 1000 + i, "skus": [{"id": 50000 + 10 * i + j, "stock": i + j}
                                                for j in range(2 if i <= 3 else 1)]})
    prods[2]["edit_status"] = 2            # 1003: its draft under review
    prods[3]["status"] = 6                 # 1004: in the recycle bin, not listed
    prods[4]["skus"][0]["warehouse"] = 9   # 1005: regional stock too
    return {"wechat": {"s1": {"appid": APPID, "secret": SECRET, "products": prods}}}


class WechatSimTest(unittest.TestCase):
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

    def post(self, path, body, token=TOKEN, raw=None, method="POST"):
        """A call; returns (HTTP status, answer)."""
        url = "%s/wechat/s1%s" % (self.base, path)
        if token is not None:
            url += "?access_token=" + token
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(url, data=data if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    # ---- credentials ----

    def test_stable_token(self):
        body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        st, a = self.post("/cgi-bin/stable_token", body, token=None)
        self.assertEqual((st, a), (200, {"access_token": TOKEN, "expires_in": 7200}))
        st, a = self.post("/cgi-bin/stable_token", dict(body, secret="other"), token=None)
        self.assertEqual((st, a["errcode"], a["errmsg"]), (200, 40125, "invalid appsecret"))
        st, a = self.post("/cgi-bin/stable_token", dict(body, appid="wx_other"), token=None)
        self.assertEqual((st, a["errcode"], a["errmsg"]), (200, 40013, "invalid appid"))
        st, a = self.post("/cgi-bin/stable_token", dict(body, grant_type="password"), token=None)
        self.assertEqual(a["errcode"], 40002)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([r["ops"] for r in log], [["stable_token"]] * 4)

    def test_token_checked(self):
        body = {"product_id": "1001", "sku_id": "50010"}
        st, a = self.post("/channels/ec/product/stock/get", body)
        self.assertEqual((st, a["errcode"], a["errmsg"]), (200, 0, "ok"))
        st, a = self.post("/channels/ec/product/stock/get", body, token="wxat_forged")
        self.assertEqual((st, a["errcode"]), (200, 40001))
        self.assertEqual(a["errmsg"], "invalid credential, access_token is invalid or not latest")
        st, a = self.post("/channels/ec/product/stock/get", body, token=None)
        self.assertEqual((st, a["errcode"]), (200, 41001))
        st, a = self.post("/channels/ec/product/stock/get", body, token=SECRET)
        self.assertEqual((st, a["errcode"]), (200, 40001))
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual(log[-1]["notes"], ["secret in the URL", "bad token"])
        st, a = self.post("/channels/ec/product/stock/get", None, raw=b"not json")
        self.assertEqual((st, a["errcode"]), (200, 47001))
        st, a = self.post("/channels/ec/product/stock/get", None, method="GET")
        self.assertEqual((st, a["errcode"]), (200, 43002))
        st, a = self.post("/channels/ec/nothing", body)
        self.assertEqual(st, 404)

    # ---- reads ----

    def test_list_pages(self):
        st, a = self.post("/channels/ec/product/list/get", {"page_size": 30})
        self.assertEqual((st, a["errcode"], a["total_num"], len(a["product_ids"])), (200, 0, 34, 30))
        self.assertEqual(a["product_ids"][:4], ["1001", "1002", "1003", "1005"])
        st, b = self.post("/channels/ec/product/list/get", {"page_size": 30, "next_key": a["next_key"]})
        self.assertEqual((b["product_ids"], b["next_key"]), (["1032", "1033", "1034", "1035"], ""))
        for bad in ({"page_size": 31}, {"page_size": 0}, {}, {"page_size": 10, "next_key": "zz"}):
            st, c = self.post("/channels/ec/product/list/get", bad)
            self.assertEqual((st, c["errcode"], c["errmsg"]), (200, 10020051, "参数错误,请开发者按照文档传参"), bad)

    def test_batchget(self):
        st, a = self.post("/channels/ec/product/stock/batchget", {"product_id": ["1001", "1005", "9999"]})
        self.assertEqual((st, a["errcode"]), (200, 0))
        spus = a["data"]["spu_stock_list"]
        self.assertEqual([s["product_id"] for s in spus], ["1001", "1005"])
        self.assertEqual([(k["sku_id"], k["normal_stock_num"]) for k in spus[0]["sku_stock"]],
                         [("50010", 1), ("50011", 2)])
        k = spus[1]["sku_stock"][0]
        self.assertEqual((k["normal_stock_num"], k["total_stock_num"], k["warehouse_stocks"][0]["num"]),
                         (5, 14, 9))
        st, a = self.post("/channels/ec/product/stock/batchget", {"product_id": [str(1000 + i) for i in range(1, 52)]})
        self.assertEqual(a["errcode"], 10020051)
        st, a = self.post("/channels/ec/product/stock/batchget", {"product_id": []})
        self.assertEqual(a["errcode"], 10020051)

    def test_get(self):
        st, a = self.post("/channels/ec/product/stock/get", {"product_id": "1002", "sku_id": "50021"})
        self.assertEqual(a["data"]["normal_stock_num"], 3)
        for body in ({"product_id": "1002", "sku_id": "50010"}, {"product_id": "9", "sku_id": "50021"}):
            st, a = self.post("/channels/ec/product/stock/get", body)
            self.assertEqual((st, a["errcode"], a["errmsg"]), (200, 10020052, "商品不存在"), body)
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- writes ----

    def test_update(self):
        up = "/channels/ec/product/stock/update"
        st, a = self.post(up, {"product_id": "1002", "sku_id": "50021", "diff_type": 1, "num": 4})
        self.assertEqual((st, a), (200, {"errcode": 0, "errmsg": "ok"}))
        st, a = self.post(up, {"product_id": "1002", "sku_id": "50021", "diff_type": 2, "num": 5})
        self.assertEqual(a["errcode"], 0)
        st, a = self.post(up, {"product_id": "1001", "sku_id": "50010", "diff_type": 3, "num": 9})
        self.assertEqual(a["errcode"], 0)
        st, a = self.post("/channels/ec/product/stock/get", {"product_id": "1002", "sku_id": "50021"})
        self.assertEqual(a["data"]["normal_stock_num"], 2)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["before"], x["after"], x["delta"]) for x in w],
                         [("adjust", "1002/50021", 3, 7, 4), ("adjust", "1002/50021", 7, 2, -5),
                          ("set", "1001/50010", 1, 9, 8)])
        cases = [({"product_id": "1002", "sku_id": "50021", "diff_type": 2, "num": 3}, 10020219, "库存不足以减扣"),
                 ({"product_id": "1003", "sku_id": "50030", "diff_type": 1, "num": 1}, 10020217,
                  "当前商品状态草稿状态为审核中,不允许直接更新库存"),
                 ({"product_id": "1002", "sku_id": "50021", "diff_type": 1, "num": 0}, 10020218, "增加减少数量为0"),
                 ({"product_id": "1002", "sku_id": "50010", "diff_type": 1, "num": 1}, 10020052, "商品不存在"),
                 ({"product_id": "1002", "sku_id": "50021", "diff_type": 4, "num": 1}, 10020051, None),
                 ({"product_id": "1002", "sku_id": "50021", "diff_type": 1, "num": -1}, 10020051, None),
                 ({"product_id": "x", "sku_id": "50021", "diff_type": 1, "num": 1}, 10020051, None)]
        for body, code, msg in cases:
            st, a = self.post(up, body)
            self.assertEqual((st, a["errcode"]), (200, code), body)
            if msg:
                self.assertEqual(a["errmsg"], msg)
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 3)

    # ---- limits, faults, state, sales ----

    def test_rate_limit(self):
        self.ctl("POST", "config", {"wechat_qps": 2})
        body = {"product_id": "1001", "sku_id": "50010"}
        got = [self.post("/channels/ec/product/stock/get", body) for _ in range(3)]
        self.assertEqual([(g[0], g[1]["errcode"]) for g in got], [(200, 0), (200, 0), (200, 45011)])
        time.sleep(1.05)
        self.assertEqual(self.post("/channels/ec/product/stock/get", body)[1]["errcode"], 0)

    def test_faults(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        self.assertEqual(self.post("/channels/ec/product/stock/get", {"product_id": "1001", "sku_id": "50010"})[1]["errcode"], 0)
        st, a = self.post("/channels/ec/product/stock/update",
                          {"product_id": "1001", "sku_id": "50010", "diff_type": 1, "num": 1})
        self.assertEqual((st, a["errcode"]), (200, 45011))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.ctl("POST", "faults", {"rules": [{"kind": "500", "next": 1, "match": {"op": "product.list.get"}}]})
        st, a = self.post("/channels/ec/product/list/get", {"page_size": 10})
        self.assertEqual((st, a["errcode"], a["errmsg"]), (200, -1, "system error"))

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        self.assertEqual(st["wechat"], make_state()["wechat"])
        st["wechat"]["s1"]["products"][0]["skus"][0]["stock"] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["wechat"]["s1"]["products"][0]["skus"][0]["stock"], 77)
        bad = make_state()
        bad["wechat"]["s1"]["products"][1]["skus"][0]["id"] = 50010  # a SKU id twice
        req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 400)

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "wechat", "shop": "s1", "item": "1002/50021", "qty": 2})["sale"]
        self.assertEqual((r["item"], r["location"], r["before"], r["after"]), ("1002/50021", "", 3, 1))
        st, a = self.post("/channels/ec/product/stock/get", {"product_id": "1002", "sku_id": "50021"})
        self.assertEqual(a["data"]["normal_stock_num"], 1)
        req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
            {"platform": "wechat", "shop": "s1", "item": "1001/50010", "qty": 5}).encode())
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 409)


if __name__ == "__main__":
    unittest.main()
