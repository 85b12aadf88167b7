#!/usr/bin/env python3
"""Self-test of the Douyin (抖店) plugin of the invkit simulator (tests/sim/platforms/douyin.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
signature check (HMAC-SHA256 and MD5, wrong secret, unsorted param_json, tampered body), the
other credentials and the timestamp window (Beijing time), product pages, SKU lists, stock
reads, incremental writes with idempotent_id (replay, mismatch, below zero), absolute writes,
batch writes (one product, all or nothing, replay, lost answers), the Chinese error messages, the rate limit, the plugin's fault answers, state round trip and
sales.

    python3 tests/sim/test_plat_douyin.py [-v]
"""

import hashlib
import hmac
import http.client
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
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
KEY, SECRET, TOKEN = "dy_key_1", "dy_secret_1", "dy_token_1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    prods = []
    for i in range(1, 6):
        skus = [{"id": str(9000 + 10 * i + j), "code": "D%d-%d" % (i, j), "stock_num": 10 * i + j}
                for j in range(2)]
        prods.append({"product_id": str(800 + i), "name": "商品%d" % i, "status": 0, "skus": skus})
    prods[4]["skus"][1]["online"] = False
    prods[3]["skus"][1]["sku_type"] = 1
    return {"douyin": {"s1": {"app_key": KEY, "app_secret": SECRET, "access_token": TOKEN,
                              "products": prods}}}


def beijing(t=None):
    """The documented timestamp: Beijing time, computed here from UTC."""
    return datetime.fromtimestamp(time.time() if t is None else t, timezone(timedelta(hours=8))) \
        .strftime("%Y-%m-%d %H:%M:%S")


def sign(secret, method, key, pj, ts, md5=False):
    """The documented rule, a third time (the driver and the plugin have their own)."""
    s = (secret + "app_key" + key + "method" + method + "param_json" + pj + "timestamp" + ts + "v2" +
         secret).encode()
    return hashlib.md5(s).hexdigest() if md5 else hmac.new(secret.encode(), s, hashlib.sha256).hexdigest()


def pj(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class DouyinSimTest(unittest.TestCase):
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

    def call(self, method, doc=None, secret=SECRET, token=TOKEN, key=KEY, ts=None, raw=None, md5=False,
             bad_sign=None, signed=None):
        """A signed POST; returns (HTTP status, answer, raw answer bytes)."""
        text = raw if raw is not None else pj(doc if doc is not None else {})
        ts = beijing() if ts is None else ts
        q = {"app_key": key, "method": method, "v": "2", "timestamp": ts,
             "sign_method": "md5" if md5 else "hmac-sha256", "access_token": token}
        q["sign"] = bad_sign or sign(secret, method, key, text if signed is None else signed, ts, md5)
        url = "%s/douyin/s1/%s?%s" % (self.base, method.replace(".", "/"), urllib.parse.urlencode(q))
        req = urllib.request.Request(url, data=text.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(req) as r:
                b = r.read()
                return r.status, json.loads(b), b
        except urllib.error.HTTPError as e:
            b = e.read()
            return e.code, json.loads(b), b

    # ---- credentials, the signature, the timestamp ----

    def test_signature(self):
        st, a, _ = self.call("product.listV2", {"page": 1, "size": 2})
        self.assertEqual((st, a["code"], a["msg"]), (200, 10000, "success"))
        self.assertTrue(a["log_id"].startswith("sim-"))
        st, a, _ = self.call("product.listV2", {"page": 1, "size": 2}, md5=True)
        self.assertEqual((st, a["code"]), (200, 10000))
        for kw in ({"secret": "other"}, {"bad_sign": "0" * 64},
                   {"signed": '{"page":1,"size":3}'},                 # signed for another body
                   {"raw": '{"size":2,"page":1}', "signed": '{"size":2,"page":1}'}):  # keys not sorted
            st, a, raw = self.call("product.listV2", {"page": 1, "size": 2}, **kw)
            self.assertEqual((st, a["code"], a["msg"], a["sub_code"]), (200, 30005, "签名校验失败",
                                                                         "isv.signature-invalid"), kw)
            self.assertIn("签名不正确".encode(), raw)  # raw UTF-8, not \\u escapes
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual(log[-1]["notes"], ["bad sign"])

    def test_other_credentials(self):
        st, a, _ = self.call("product.listV2", {"page": 1, "size": 2}, token="other")
        self.assertEqual((st, a["code"], a["sub_code"]), (200, 30001, "isv.access-token-no-existed"))
        st, a, _ = self.call("product.listV2", {"page": 1, "size": 2}, key="other")
        self.assertEqual(a["code"], 30002)
        st, a, _ = self.call("nothing.here", {})
        self.assertEqual((st, a["code"], a["sub_msg"]), (404, 40002, "method不存在"))

    def test_timestamp(self):
        now = time.time()
        # Beijing time within 10 minutes; Unix seconds too
        for ts in (beijing(now - 500), beijing(now + 500), str(int(now))):
            st, a, _ = self.call("product.listV2", {"page": 1, "size": 1}, ts=ts)
            self.assertEqual(a["code"], 10000, ts)
        # UTC or another zone's wall clock as if it were Beijing time: refused
        for ts in (beijing(now - 700), datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                   beijing(now - 3600), "2026-13-01 00:00:00"):
            st, a, _ = self.call("product.listV2", {"page": 1, "size": 1}, ts=ts)
            self.assertEqual((a["code"], a["sub_code"]), (40002, "isv.parameter-invalid:timestamp"), ts)

    # ---- reads ----

    def test_pages_and_skus(self):
        got, page = [], 1
        while True:
            st, a, _ = self.call("product.listV2", {"page": page, "size": 2})
            self.assertEqual(a["data"]["total"], 5)
            got += a["data"]["data"]
            if len(a["data"]["data"]) < 2:
                break
            page += 1
        self.assertEqual(page, 3)
        self.assertEqual([p["product_id"] for p in got], [801, 802, 803, 804, 805])
        for bad in ({"page": 0, "size": 2}, {"page": 1, "size": 101}, {"page": 1}):
            st, a, _ = self.call("product.listV2", bad)
            self.assertEqual(a["code"], 40002, bad)
        st, a, _ = self.call("sku.list", {"product_id": 804})
        self.assertEqual([(s["id"], s["code"], s["stock_num"], s["sku_type"]) for s in a["data"]],
                         [(9040, "D4-0", 40, 0), (9041, "D4-1", 0, 1)])
        st, a, raw = self.call("sku.list", {"product_id": 999})
        self.assertEqual((a["code"], a["sub_msg"]), (40004, "商品不存在"))
        st, a, _ = self.call("sku.stockNum", {"sku_id": 9021})
        self.assertEqual((a["data"]["sku_id"], a["data"]["stock_num"], a["data"]["code"]), (9021, 21, "D2-1"))
        st, a, _ = self.call("sku.stockNum", {"sku_id": 1})
        self.assertEqual((a["code"], a["sub_msg"]), (40004, "sku不存在"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- writes ----

    def sync(self, **kw):
        return self.call("sku.syncStock", kw)[1]

    def test_incremental_idempotent(self):
        a = self.sync(product_id=802, sku_id=9021, incremental=True, idempotent_id="k1", stock_num=-5)
        self.assertEqual(a["code"], 10000)
        # the same id and parameters: the original answer, nothing applied again
        a = self.sync(product_id=802, sku_id=9021, incremental=True, idempotent_id="k1", stock_num=-5)
        self.assertEqual(a["code"], 10000)
        # the same id, other parameters: refused
        a = self.sync(product_id=802, sku_id=9021, incremental=True, idempotent_id="k1", stock_num=-6)
        self.assertEqual((a["code"], a["sub_msg"]), (40002, "幂等ID已被其他参数使用"))
        a = self.sync(product_id=802, sku_id=9021, incremental=True, stock_num=1)
        self.assertEqual((a["code"], a["sub_code"]), (40002, "isv.parameter-invalid:idempotent_id"))
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["before"], x["after"], x["delta"], x["idempotency_key"])
                          for x in w], [("adjust", "802/9021", 21, 16, -5, "k1")])
        reqs = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([r.get("replayed", False) for r in reqs], [False, True, False, False])

    def test_below_zero_and_refusals(self):
        a = self.sync(product_id=801, sku_id=9010, incremental=True, idempotent_id="k2", stock_num=-11)
        self.assertEqual((a["code"], a["msg"], a["sub_code"], a["sub_msg"]),
                         (40004, "业务处理失败", "isv.business-failed:31055", "系统错误:更新库存数失败"))
        # a refused write leaves its id unused
        a = self.sync(product_id=801, sku_id=9010, incremental=True, idempotent_id="k2", stock_num=-10)
        self.assertEqual(a["code"], 10000)
        a = self.sync(product_id=805, sku_id=9051, incremental=True, idempotent_id="k3", stock_num=1)
        self.assertEqual(a["sub_msg"], "商品已下架，不能修改库存")
        a = self.sync(product_id=801, sku_id=9021, incremental=True, idempotent_id="k4", stock_num=1)
        self.assertEqual(a["sub_msg"], "sku不存在")  # a SKU of another product
        a = self.sync(product_id=802, sku_id=9020, incremental=False, stock_num=7)
        self.assertEqual(a["code"], 10000)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["before"], x["after"]) for x in w], [("adjust", 10, 0), ("set", 20, 7)])

    def test_rate_limit_and_faults(self):
        self.ctl("POST", "config", {"douyin_qps": 2})
        codes = [self.call("sku.stockNum", {"sku_id": 9010})[1]["code"] for _ in range(4)]
        self.assertEqual(codes[:2], [10000, 10000])
        self.assertIn(50002, codes[2:])
        self.ctl("POST", "reset")
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"platform": "douyin"}},
                                              {"kind": "500", "next": 1, "match": {"op": "sku.syncStock"}}]})
        st, a, _ = self.call("sku.stockNum", {"sku_id": 9010})
        self.assertEqual((st, a["code"]), (429, 50002))
        st, a, _ = self.call("sku.syncStock", {"product_id": 801, "sku_id": 9010, "incremental": True,
                                               "idempotent_id": "k5", "stock_num": 1})
        self.assertEqual((st, a["code"]), (500, 20000))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- batch writes ----

    def batch(self, pid, entries, key=None, inc=True, **kw):
        doc = {"product_id": pid, "incremental": inc,
               "sku_sync_list": [{"sku_id": s, "sku_type": 0, "stock_num": n} for s, n in entries]}
        if key is not None:
            doc["idempotent_id"] = key
        return self.call("sku.syncStockBatch", doc, **kw)

    def stock(self, sid):
        return self.call("sku.stockNum", {"sku_id": sid})[1]["data"]["stock_num"]

    def test_batch_applied_and_replayed(self):
        st, a, _ = self.batch(801, [(9010, -3), (9011, 4)], "b1")
        self.assertEqual((st, a["code"], a["msg"], a["data"]), (200, 10000, "success", {}))
        # the same id and parameters: the first answer, nothing applied again
        st, a, _ = self.batch(801, [(9010, -3), (9011, 4)], "b1")
        self.assertEqual((st, a["code"]), (200, 10000))
        # the same id, other parameters: refused
        st, a, _ = self.batch(801, [(9010, -3), (9011, 5)], "b1")
        self.assertEqual((a["code"], a["sub_msg"]), (40002, "幂等ID已被其他参数使用"))
        self.assertEqual((self.stock(9010), self.stock(9011)), (7, 15))
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["before"], x["after"], x["delta"], x["idempotency_key"])
                          for x in w], [("adjust", "801/9010", 10, 7, -3, "b1"), ("adjust", "801/9011", 11, 15, 4, "b1")])
        reqs = [r for r in self.ctl("GET", "log?kind=requests")["requests"] if r["ops"] == ["sku.syncStockBatch"]]
        self.assertEqual([(r["write"], r.get("replayed", False)) for r in reqs],
                         [(True, False), (True, True), (True, False)])
        self.assertEqual(reqs[1]["notes"], ["idempotent replay of b1"])
        # absolute: sets each entry
        st, a, _ = self.batch(802, [(9020, 3), (9021, 0)], inc=False)
        self.assertEqual(a["code"], 10000)
        self.assertEqual((self.stock(9020), self.stock(9021)), (3, 0))
        # the signature covers the batch as any call
        st, a, _ = self.batch(801, [(9010, 1), (9011, 1)], "b9", secret="other")
        self.assertEqual(a["code"], 30005)

    def test_batch_all_or_nothing(self):
        cases = [
            (802, [(9020, 5), (9021, -22)], (40004, "isv.business-failed:31055", "系统错误:更新库存数失败")),
            (801, [(9010, 1), (9021, 1)], (40004, "isv.business-failed:10002", "sku不存在")),
            (805, [(9050, 1), (9051, 1)], (40004, "isv.business-failed:10003", "商品已下架，不能修改库存")),
            (804, [(9040, 1), (9041, 1)], (40004, "isv.business-failed:10004", "区域库存商品请传out_warehouse_id")),
            (801, [(9010, 1), (9010, 2)], (40002, "isv.parameter-invalid:sku_sync_list", "sku_id重复")),
            (999, [(9010, 1), (9011, 1)], (40004, "isv.business-failed:10001", "商品不存在")),
        ]
        for pid, entries, want in cases:
            st, a, raw = self.batch(pid, entries, "b2")
            self.assertEqual((st, a["code"], a["sub_code"], a["sub_msg"]), (200,) + want, (pid, entries))
            self.assertIn(want[2].encode(), raw)  # raw UTF-8
        st, a, _ = self.batch(801, [(9010, 1), (9011, 1)])
        self.assertEqual((a["code"], a["sub_code"]), (40002, "isv.parameter-invalid:idempotent_id"))
        st, a, _ = self.call("sku.syncStockBatch", {"product_id": 801, "incremental": True, "idempotent_id": "b3",
                                                    "sku_sync_list": [{"sku_id": 9010, "stock_num": 1}]})
        self.assertEqual((a["code"], a["sub_code"]), (40001, "isv.missing-parameter:2010004"))
        self.ctl("POST", "config", {"douyin_batch_max": 1})
        st, a, _ = self.batch(801, [(9010, 1), (9011, 1)], "b4")
        self.assertEqual((a["code"], a["sub_msg"]), (40002, "sku_sync_list最多1个"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.assertEqual((self.stock(9020), self.stock(9021), self.stock(9010)), (20, 21, 10))
        # a refused batch leaves its id unused
        self.ctl("POST", "config", {"douyin_batch_max": 50})
        st, a, _ = self.batch(802, [(9020, 5), (9021, -21)], "b2")
        self.assertEqual(a["code"], 10000)
        self.assertEqual((self.stock(9020), self.stock(9021)), (25, 0))

    def test_batch_lost_answer(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "lost_answer", "next": 1,
                                               "match": {"op": "sku.syncStockBatch"}}]})
        with self.assertRaises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            self.batch(803, [(9030, 2), (9031, -1)], "b5")
        self.assertEqual((self.stock(9030), self.stock(9031)), (32, 30))  # applied, the answer lost
        st, a, _ = self.batch(803, [(9030, 2), (9031, -1)], "b5")
        self.assertEqual(a["code"], 10000)
        self.assertEqual((self.stock(9030), self.stock(9031)), (32, 30))  # not applied again
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["item"], x["delta"]) for x in w], [("803/9030", 2), ("803/9031", -1)])
        reqs = [r for r in self.ctl("GET", "log?kind=requests")["requests"] if r["ops"] == ["sku.syncStockBatch"]]
        self.assertEqual([(r["fault"], r.get("replayed", False)) for r in reqs], [("lost_answer", False), (None, True)])

    # ---- state and sales ----

    def test_state_round_trip_and_sale(self):
        s = self.ctl("GET", "state")["douyin"]
        self.assertEqual(s, make_state()["douyin"] | {"s1": s["s1"]})
        self.assertEqual(s["s1"]["products"][4]["skus"][1]["online"], False)
        self.ctl("POST", "state", {"douyin": s})
        self.assertEqual(self.ctl("GET", "state")["douyin"], s)
        e = self.ctl("POST", "sale", {"platform": "douyin", "shop": "s1", "item": "801/9011", "qty": 3})["sale"]
        self.assertEqual((e["before"], e["after"], e["location"]), (11, 8, ""))
        st, a, _ = self.call("sku.stockNum", {"sku_id": 9011})
        self.assertEqual((a["data"]["stock_num"], a["data"]["prehold_stock_num"]), (8, 3))


if __name__ == "__main__":
    unittest.main()
