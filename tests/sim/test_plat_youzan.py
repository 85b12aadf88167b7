#!/usr/bin/env python3
"""Self-test of the Youzan plugin of the invkit simulator (tests/sim/platforms/youzan.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
token service (right and wrong client_id, client_secret, grant_id), the token check of every
call and the gateway's error shape, the on-sale and warehouse item pages, item detail, stock
updates (change and set) and their refusals (Chinese messages), the rate limit, the plugin's
fault answers, state round trip and sales.

    python3 tests/sim/test_plat_youzan.py [-v]
"""

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
CID, SECRET, KDT, TOKEN = "yz_client_1", "yz_secret_1", 4242, "yz_token_1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    items = [{"id": 101, "item_no": "A", "title": "单品", "listed": True, "quantity": 7},
             {"id": 102, "item_no": "B", "title": "多规格", "listed": True,
              "skus": [{"id": 1021, "item_no": "B-S", "quantity": 3}, {"id": 1022, "item_no": "B-M", "quantity": 4}]},
             {"id": 103, "item_no": "C", "title": "仓库中", "listed": False, "quantity": 5},
             {"id": 104, "item_no": "D", "title": "库存同步", "listed": True, "stock_sync": True, "quantity": 1}]
    return {"youzan": {"s1": {"client_id": CID, "client_secret": SECRET, "kdt_id": KDT,
                              "access_token": TOKEN, "items": items}}}


class YouzanSimTest(unittest.TestCase):
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

    def post(self, path, body, ctype="application/json;charset=UTF-8"):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(self.base + "/youzan/s1" + path, data=data, method="POST",
                                     headers={"Content-Type": ctype})
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def call(self, api, params, token=TOKEN, version="3.0.0", **kw):
        q = "" if token is None else "?access_token=" + token
        return self.post("/api/%s/%s%s" % (api, version, q), params, **kw)

    # ---- credentials ----

    def test_token(self):
        body = {"client_id": CID, "client_secret": SECRET, "authorize_type": "silent",
                "grant_id": str(KDT), "refresh": False}
        t0 = int(time.time() * 1000)
        st, a = self.post("/auth/token", body)
        self.assertEqual((st, a["success"], a["code"], a["data"]["access_token"]), (200, True, 200, TOKEN))
        self.assertGreater(a["data"]["expires"], t0 + 6 * 86400 * 1000)
        st, a = self.post("/auth/token", dict(body, grant_id=KDT))
        self.assertEqual(a["data"]["access_token"], TOKEN)
        for bad, code, msg in ((dict(body, client_secret="other"), 1000, "client_secret 不正确"),
                               (dict(body, client_id="other"), 1103, "Client 不存在"),
                               (dict(body, grant_id="4243"), 1105, None),
                               (dict(body, authorize_type="authorization_code"), 1105, None)):
            st, a = self.post("/auth/token", bad)
            self.assertEqual((st, a["success"], a["code"], a["data"]), (200, False, code, None), bad)
            if msg:
                self.assertEqual(a["message"], msg)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual(log[2]["notes"], ["bad client_secret"])
        self.assertEqual(log[2]["ops"], ["auth.token"])

    def test_gateway(self):
        st, a = self.call("youzan.item.get", {"item_id": 101}, token=None)
        self.assertEqual((st, a["gw_err_resp"]["err_code"], a["gw_err_resp"]["err_msg"]), (200, 4201, "非法的请求凭证"))
        st, a = self.call("youzan.item.get", {"item_id": 101}, token="other")
        self.assertEqual((st, a["gw_err_resp"]["err_code"], a["gw_err_resp"]["err_msg"]), (200, 4203, "Token 不存在"))
        self.assertNotIn("success", a)
        st, a = self.call("youzan.item.get", {"item_id": 101}, version="9.9.9")
        self.assertEqual((st, a["gw_err_resp"]["err_code"]), (200, 4005))
        st, a = self.call("youzan.item.get", b"item_id=101", ctype="application/x-www-form-urlencoded")
        self.assertEqual((st, a["gw_err_resp"]["err_code"]), (200, 4007))
        st, a = self.call("youzan.item.get", b"{not json")
        self.assertEqual((st, a["gw_err_resp"]["err_code"]), (200, 4004))

    # ---- reads ----

    def test_lists(self):
        st, a = self.call("youzan.items.onsale.get", {"page_no": 1, "page_size": 2})
        self.assertEqual((st, a["success"], a["code"], a["data"]["count"]), (200, True, 200, 3))
        self.assertEqual([i["item_id"] for i in a["data"]["items"]], [101, 102])
        self.assertEqual(a["data"]["items"][1]["quantity"], 7)
        st, a = self.call("youzan.items.onsale.get", {"page_no": 2, "page_size": 2})
        self.assertEqual([i["item_id"] for i in a["data"]["items"]], [104])
        st, a = self.call("youzan.items.inventory.get", {"page_no": "1", "page_size": "300"})
        self.assertEqual([i["item_id"] for i in a["data"]["items"]], [103])
        st, a = self.call("youzan.items.onsale.get", {"page_size": 301})
        self.assertEqual((st, a["success"], a["message"]), (200, False, "每页最多显示300条数据"))
        # update_time_start: only what changed since (a sale stamps the item)
        t = int(time.time() * 1000)
        self.ctl("POST", "sale", {"platform": "youzan", "shop": "s1", "item": "102/1022", "qty": 1})
        st, a = self.call("youzan.items.onsale.get", {"update_time_start": t})
        self.assertEqual([i["item_id"] for i in a["data"]["items"]], [102])

    def test_item_get(self):
        st, a = self.call("youzan.item.get", {"item_id": 102})
        it = a["data"]["item"]
        self.assertEqual((it["item_id"], it["kdt_id"], it["item_no"], it["quantity"]), (102, KDT, "B", 7))
        self.assertEqual([(s["sku_id"], s["item_no"], s["quantity"]) for s in it["skus"]],
                         [(1021, "B-S", 3), (1022, "B-M", 4)])
        st, a = self.call("youzan.item.get", {"item_id": "101"})
        self.assertEqual((a["data"]["item"]["quantity"], a["data"]["item"]["skus"]), (7, []))
        st, a = self.call("youzan.item.get", {"item_id": 999})
        self.assertEqual((st, a["success"], a["code"], a["message"]), (200, False, 123005001, "商品不存在"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    # ---- writes ----

    def test_update(self):
        up = "youzan.item.quantity.update"
        st, a = self.call(up, {"item_id": 102, "sku_id": 1021, "quantity": 4, "type": 1})
        self.assertEqual((st, a["success"], a["data"]), (200, True, {"is_success": True}))
        st, a = self.call(up, {"item_id": 102, "sku_id": 1021, "quantity": -2, "type": 1})
        self.assertEqual(a["success"], True)
        st, a = self.call(up, {"item_id": 101, "quantity": 9})   # type 0 by default: set
        self.assertEqual(a["success"], True)
        st, a = self.call("youzan.item.get", {"item_id": 102})
        self.assertEqual(a["data"]["item"]["skus"][0]["quantity"], 5)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["sku"], x["before"], x["after"], x["delta"]) for x in w],
                         [("adjust", "102/1021", "B-S", 3, 7, 4), ("adjust", "102/1021", "B-S", 7, 5, -2),
                          ("set", "101", "A", 7, 9, 2)])
        cases = [({"item_id": 102, "sku_id": 1021, "quantity": -6, "type": 1}, 123003018, "库存不能小于0"),
                 ({"item_id": 104, "quantity": 1, "type": 1}, 123003023, "开启了库存同步，修改库存不生效"),
                 ({"item_id": 102, "quantity": 1, "type": 1}, 123004002, None),
                 ({"item_id": 102, "sku_id": 1011, "quantity": 1, "type": 1}, 123004002, "SKU不存在"),
                 ({"item_id": 101, "sku_id": 1021, "quantity": 1, "type": 1}, 123004002, None),
                 ({"item_id": 999, "quantity": 1, "type": 1}, 123005001, "商品不存在"),
                 ({"item_id": 101, "quantity": 1, "type": 2}, 5002, None),
                 ({"item_id": 101, "quantity": "x", "type": 1}, 5002, None)]
        for param, code, msg in cases:
            st, a = self.call(up, param)
            self.assertEqual((st, a["success"], a["code"]), (200, False, code), param)
            if msg:
                self.assertEqual(a["message"], msg)
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 3)

    # ---- limits, faults, state, sales ----

    def test_rate_limit(self):
        self.ctl("POST", "config", {"youzan_qps": 2})
        got = [self.call("youzan.item.get", {"item_id": 101}) for _ in range(3)]
        self.assertEqual([g[0] for g in got], [200, 200, 200])
        self.assertEqual(got[2][1], {"gw_err_resp": {"trace_id": got[2][1]["gw_err_resp"]["trace_id"],
                                                     "err_msg": "请求太频繁", "err_code": 4101}})
        time.sleep(1.05)
        self.assertEqual(self.call("youzan.item.get", {"item_id": 101})[1]["success"], True)

    def test_faults(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        self.assertEqual(self.call("youzan.item.get", {"item_id": 101})[0], 200)
        st, a = self.call("youzan.item.quantity.update", {"item_id": 101, "quantity": 1, "type": 1})
        self.assertEqual((st, a["gw_err_resp"]["err_code"]), (429, 4101))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.ctl("POST", "faults", {"rules": [{"kind": "500", "next": 1,
                                               "match": {"op": "youzan.items.onsale.get"}}]})
        st, a = self.call("youzan.items.onsale.get", {})
        self.assertEqual((st, a["gw_err_resp"]["err_code"]), (500, 5001))

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        self.assertEqual(st["youzan"], make_state()["youzan"])
        st["youzan"]["s1"]["items"][1]["skus"][0]["quantity"] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["youzan"]["s1"]["items"][1]["skus"][0]["quantity"], 77)
        for mutate in (lambda s: s["items"][1]["skus"][1].update(id=1021),       # a SKU id twice
                       lambda s: s["items"][1].update(quantity=3),               # skus and quantity
                       lambda s: s.update(kdt_id="4242")):
            bad = make_state()
            mutate(bad["youzan"]["s1"])
            req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
            with self.assertRaises(urllib.error.HTTPError) as cm:
                _OPENER.open(req)
            self.assertEqual(cm.exception.code, 400)

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "youzan", "shop": "s1", "item": "102/1022", "qty": 2})["sale"]
        self.assertEqual((r["item"], r["sku"], r["location"], r["before"], r["after"]), ("102/1022", "B-M", "", 4, 2))
        r = self.ctl("POST", "sale", {"platform": "youzan", "shop": "s1", "sku": "A", "qty": 1})["sale"]
        self.assertEqual((r["item"], r["before"], r["after"]), ("101", 7, 6))
        st, a = self.call("youzan.item.get", {"item_id": 102})
        self.assertEqual(a["data"]["item"]["skus"][1]["quantity"], 2)
        req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
            {"platform": "youzan", "shop": "s1", "sku": "B-S", "qty": 11}).encode())
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 409)


if __name__ == "__main__":
    unittest.main()
