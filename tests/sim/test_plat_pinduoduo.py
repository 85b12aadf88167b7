#!/usr/bin/env python3
"""Self-test of the Pinduoduo plugin of the invkit simulator (tests/sim/platforms/pinduoduo.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
signature check (right, wrong, a changed parameter, sign left out of it), the other
credentials and the timestamp, goods list pages, SKU reads, absolute and relative stock
updates and their refusals (below zero, promotion slot, unknown SKU) in the platform's
error_response shape, the throttle, the plugin's fault answers, state round trip and sales.

    python3 tests/sim/test_plat_pinduoduo.py [-v]
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
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
CLIENT, SECRET, TOKEN = "pdd_client_1", "pdd_secret_1", "pdd_token_1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    goods = []
    for i in range(1, 6):
        skus = [{"sku_id": 7000 + 10 * i + j, "outer_id": "G%d-%d" % (i, j), "quantity": 10 * i + j}
                for j in range(2)]
        goods.append({"goods_id": 900 + i, "goods_name": "商品%d" % i, "is_onsale": 1, "skus": skus})
    goods[4]["skus"][1]["slot"] = True
    return {"pinduoduo": {"s1": {"client_id": CLIENT, "client_secret": SECRET, "access_token": TOKEN,
                                 "goods": goods}}}


def sign(secret, params):
    """The documented rule, a third time (the driver and the plugin have their own)."""
    s = secret + "".join(k + v for k, v in sorted(params.items()) if k != "sign") + secret
    return hashlib.md5(s.encode()).hexdigest().upper()


class PinduoduoSimTest(unittest.TestCase):
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

    def call(self, type_, params=None, secret=SECRET, token=TOKEN, client=CLIENT, ts=None, bad_sign=None,
             tamper=None, path="/api/router"):
        """A signed form POST to the router; returns (HTTP status, answer)."""
        p = {"type": type_, "client_id": client, "access_token": token, "data_type": "JSON",
             "timestamp": str(int(time.time()) if ts is None else ts)}
        p.update(params or {})
        p["sign"] = bad_sign or sign(secret, p)
        p.update(tamper or {})
        req = urllib.request.Request(self.base + "/pinduoduo/s1" + path, method="POST",
                                     data=urllib.parse.urlencode(p).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = e.read()
            return e.code, json.loads(body) if body.startswith(b"{") else body.decode()

    def err(self, a):
        e = a["error_response"]
        return e["error_code"], e["error_msg"], e["sub_msg"]

    # ---- credentials and the signature ----

    def test_signature(self):
        st, a = self.call("pdd.goods.list.get", {"page": "1", "page_size": "2"})
        self.assertEqual(st, 200)
        self.assertEqual(a["goods_list_get_response"]["total_count"], 5)
        for kw in ({"secret": "other"}, {"bad_sign": "0" * 32},
                   {"tamper": {"page_size": "3"}},           # a parameter changed after signing
                   {"bad_sign": sign(SECRET, {"x": "y"})}):
            st, a = self.call("pdd.goods.list.get", {"page": "1", "page_size": "2"}, **kw)
            self.assertEqual(st, 200, kw)
            self.assertEqual(a["error_response"], {"error_msg": "签名验证失败", "sub_msg": "签名验证失败",
                                                   "sub_code": "20004", "error_code": 20004,
                                                   "request_id": a["error_response"]["request_id"]})
        # lower-case hex is not the platform's sign
        p = {"page": "1", "page_size": "2"}
        full = dict(p, type="pdd.goods.list.get", client_id=CLIENT, access_token=TOKEN, data_type="JSON",
                    timestamp=str(int(time.time())))
        st, a = self.call("pdd.goods.list.get", p, bad_sign=sign(SECRET, full).lower())
        self.assertEqual(self.err(a)[0], 20004)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([r.get("notes", []) for r in log], [[]] + [["bad sign"]] * 5)
        self.assertEqual([r["ops"] for r in log], [["pdd.goods.list.get"]] * 6)

    def test_other_credentials(self):
        st, a = self.call("pdd.goods.list.get", token="other")
        self.assertEqual((st, self.err(a)[:2]), (200, (10019, "access_token已过期")))
        st, a = self.call("pdd.goods.list.get", client="other")
        self.assertEqual(self.err(a)[0], 10016)
        for ts in (int(time.time()) - 3600, int(time.time()) + 8 * 3600, "2026-11-26 10:00:00"):
            st, a = self.call("pdd.goods.list.get", ts=ts)
            self.assertEqual(self.err(a)[0], 10002, ts)
        st, a = self.call("pdd.goods.nothing")
        self.assertEqual(self.err(a)[0], 10001)
        st, a = self.call("pdd.goods.list.get", path="/api/other")
        self.assertEqual(st, 404)
        self.assertIn("404 Not Found", a)

    # ---- reads ----

    def test_list_pages(self):
        got = []
        for page in (1, 2, 3):
            st, a = self.call("pdd.goods.list.get", {"page": str(page), "page_size": "2"})
            r = a["goods_list_get_response"]
            self.assertEqual(r["total_count"], 5)
            got += r["goods_list"]
        self.assertEqual([g["goods_id"] for g in got], [901, 902, 903, 904, 905])
        self.assertEqual(got[1]["sku_list"][1]["sku_id"], 7021)
        self.assertEqual(got[1]["sku_list"][1]["sku_quantity"], 21)
        self.assertEqual(got[1]["sku_list"][1]["outer_id"], "G2-1")
        self.assertEqual(got[1]["goods_quantity"], 41)
        st, a = self.call("pdd.goods.list.get", {"page": "4", "page_size": "2"})
        self.assertEqual(a["goods_list_get_response"]["goods_list"], [])
        for size in ("0", "101", "x"):
            st, a = self.call("pdd.goods.list.get", {"page_size": size})
            self.assertEqual(self.err(a)[0], 10000, size)
        st, a = self.call("pdd.goods.list.get", {"outer_id": "G3-1"})
        self.assertEqual([g["goods_id"] for g in a["goods_list_get_response"]["goods_list"]], [903])

    def test_sku_read(self):
        st, a = self.call("pdd.goods.skus.get", {"goods_id": "902", "sku_id": "7021"})
        r = a["goods_sku_get_response"]
        self.assertEqual((r["goods_id"], r["sku_id"], r["quantity"], r["out_sku_sn"]), (902, 7021, 21, "G2-1"))
        for p, sub in (({"goods_id": "902", "sku_id": "7031"}, "sku不存在"),     # another goods' SKU
                       ({"goods_id": "999", "sku_id": "7021"}, "商品不存在")):
            st, a = self.call("pdd.goods.skus.get", p)
            self.assertEqual(self.err(a), (50001, "业务服务错误", sub))

    # ---- writes ----

    def update(self, **p):
        return self.call("pdd.goods.quantity.update", {k: str(v) for k, v in p.items()})

    def test_updates(self):
        st, a = self.update(goods_id=901, sku_id=7010, quantity=-4, update_type=2)
        self.assertEqual(a, {"goods_quantity_update_response": {"is_success": True}})
        st, a = self.update(goods_id=901, sku_id=7011, quantity=3)          # absolute by default
        self.assertEqual(a["goods_quantity_update_response"]["is_success"], True)
        st, a = self.update(goods_id=902, outer_id="G2-0", quantity=5, update_type=2)
        self.assertEqual(a["goods_quantity_update_response"]["is_success"], True)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["before"], x["after"], x["delta"]) for x in w],
                         [("adjust", "901/7010", 10, 6, -4), ("set", "901/7011", 11, 3, -8),
                          ("adjust", "902/7020", 20, 25, 5)])
        # refusals: below zero, a promotion slot going down, an unknown SKU, bad parameters
        st, a = self.update(goods_id=901, sku_id=7010, quantity=-7, update_type=2)
        self.assertEqual(self.err(a), (50001, "业务服务错误", "增量更新后库存不能小于0"))
        st, a = self.update(goods_id=905, sku_id=7051, quantity=-1, update_type=2)
        self.assertEqual(self.err(a), (50001, "业务服务错误", "商品在资源位上，不能减少库存"))
        st, a = self.update(goods_id=905, sku_id=7051, quantity=60)         # going up is allowed
        self.assertEqual(a["goods_quantity_update_response"]["is_success"], True)
        st, a = self.update(goods_id=901, sku_id=7999, quantity=1, update_type=2)
        self.assertEqual(self.err(a)[2], "sku不存在")
        st, a = self.update(goods_id=901, sku_id=7010, quantity=1, update_type=3)
        self.assertEqual(self.err(a)[0], 10000)
        st, a = self.update(goods_id=901, sku_id=7010, quantity=-1)          # absolute below zero
        self.assertEqual(self.err(a)[0], 50001)
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 4)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertTrue(all(r["write"] for r in log))

    # ---- limits and faults ----

    def test_throttle(self):
        self.ctl("POST", "config", {"pdd_qps": 2})
        codes = []
        for _ in range(4):
            st, a = self.call("pdd.goods.skus.get", {"goods_id": "901", "sku_id": "7010"})
            codes.append((st, a["error_response"]["error_code"] if "error_response" in a else 0))
        self.assertEqual(codes, [(200, 0), (200, 0), (200, 70031), (200, 70031)])
        time.sleep(1.05)
        st, a = self.call("pdd.goods.skus.get", {"goods_id": "901", "sku_id": "7010"})
        self.assertIn("goods_sku_get_response", a)

    def test_fault_answers(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"op": "pdd.goods.quantity.update"}},
                                              {"kind": "500", "next": 1, "match": {"op": "pdd.goods.list.get"}}]})
        st, a = self.update(goods_id=901, sku_id=7010, quantity=1, update_type=2)
        self.assertEqual((st, self.err(a)[:2]), (429, (70031, "调用已被限流")))
        st, a = self.call("pdd.goods.skus.get", {"goods_id": "901", "sku_id": "7010"})   # not matched
        self.assertEqual(a["goods_sku_get_response"]["quantity"], 10)                 # and not applied
        st, a = self.call("pdd.goods.list.get")
        self.assertEqual((st, self.err(a)[0]), (500, 50000))
        self.ctl("DELETE", "faults")

    # ---- state and sales ----

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        self.assertEqual(st["pinduoduo"], make_state()["pinduoduo"])
        st["pinduoduo"]["s1"]["goods"][0]["skus"][0]["quantity"] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["pinduoduo"]["s1"]["goods"][0]["skus"][0]["quantity"], 77)
        bad = make_state()
        bad["pinduoduo"]["s1"]["goods"][0]["skus"][0]["quantity"] = -1
        req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 400)
        self.ctl("POST", "state", make_state())

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "pinduoduo", "shop": "s1", "item": "902/7021", "qty": 2})["sale"]
        self.assertEqual((r["item"], r["location"], r["before"], r["after"]), ("902/7021", "", 21, 19))
        st, a = self.call("pdd.goods.skus.get", {"goods_id": "902", "sku_id": "7021"})
        self.assertEqual(a["goods_sku_get_response"]["quantity"], 19)
        r = self.ctl("POST", "sale", {"platform": "pinduoduo", "shop": "s1", "sku": "G1-0"})["sale"]
        self.assertEqual((r["item"], r["after"]), ("901/7010", 9))
        req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
            {"platform": "pinduoduo", "shop": "s1", "sku": "G1-0", "qty": 100}).encode())
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 409)


if __name__ == "__main__":
    unittest.main()
