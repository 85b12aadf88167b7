#!/usr/bin/env python3
"""Self-test of the Taobao/Tmall (TOP) plugin of the invkit simulator
(tests/sim/platforms/taobao.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
sign check (md5, hmac, hmac-sha256; wrong secret, tampered field, empty fields and sign left
out), the GMT+8 timestamp window, the other credentials, the pages of items on sale, the
detail reads, stock changes (one SKU or item, and up to 20 SKUs of one item in one call, all
or nothing) and their refusals in the platform's (Chinese) words, the rate limit, the plugin's fault answers, state round trip and sales.

    python3 tests/sim/test_plat_taobao.py [-v]
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

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
KEY, SECRET, SESSION = "tb_key_1", "tb_secret_1", "6100session_1"
UPD = "taobao.item.quantity.update"
SKUS = "taobao.skus.quantity.update"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    return {"taobao": {"s1": {"app_key": KEY, "app_secret": SECRET, "session": SESSION, "items": [
        {"num_iid": 601, "title": "A", "outer_id": "A-1", "approve_status": "onsale", "num": 10},
        {"num_iid": 602, "title": "B", "outer_id": "B", "approve_status": "onsale",
         "skus": [{"sku_id": 5021, "outer_id": "B-S", "quantity": 3}, {"sku_id": 5022, "outer_id": "B-M", "quantity": 0}]},
        {"num_iid": 603, "title": "C", "outer_id": "C-1", "approve_status": "instock", "num": 4},
        {"num_iid": 604, "title": "D", "outer_id": "D-1", "approve_status": "onsale", "locked": True, "num": 7},
        {"num_iid": 605, "title": "E", "outer_id": "E", "approve_status": "onsale",
         "skus": [{"sku_id": 5051, "outer_id": "E-S", "quantity": 2}]}]}}}


def sign(method, secret, params):
    """The documented rule, a third time (the driver and the plugin have their own)."""
    s = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v != "")
    if method == "md5":
        return hashlib.md5((secret + s + secret).encode()).hexdigest().upper()
    h = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), s.encode(), h).hexdigest().upper()


def gmt8(t=None):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime((time.time() if t is None else t) + 8 * 3600))


class TaobaoSimTest(unittest.TestCase):
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

    def call(self, method, fields=None, secret=SECRET, session=SESSION, key=KEY, ts=None, sm="md5",
             tamper=None, in_query=False, path="/router/rest"):
        """A signed call; returns the answer (HTTP 200 expected, as TOP answers)."""
        p = {"method": method, "app_key": key, "session": session, "timestamp": ts or gmt8(),
             "format": "json", "v": "2.0", "sign_method": sm}
        p.update(fields or {})
        p = {k: v for k, v in p.items() if v is not None}
        p["sign"] = sign(sm, secret, p)
        p.update(tamper or {})
        form = urllib.parse.urlencode(p)
        url = self.base + "/taobao/s1" + path + ("?" + form if in_query else "")
        req = urllib.request.Request(url, data=b"" if in_query else form.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        try:
            with _OPENER.open(req) as r:
                self.assertEqual(r.status, 200)
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return {"http": e.code}

    def err(self, a):
        e = a["error_response"]
        return (e["code"], e["msg"], e.get("sub_code"), e.get("sub_msg"))

    def onsale(self, **kw):
        return self.call("taobao.items.onsale.get", dict({"fields": "num_iid,num,outer_id", "page_size": "2"}, **kw))

    # ---- credentials, the sign and the timestamp ----

    def test_sign_methods(self):
        for sm in ("md5", "hmac", "hmac-sha256"):
            a = self.call("taobao.items.onsale.get", {"fields": "num_iid", "page_size": "2"}, sm=sm)
            self.assertEqual(a["items_onsale_get_response"]["total_results"], 4, sm)
        # an empty field is left out of the sign, as the documentation says
        a = self.call("taobao.items.onsale.get", {"fields": "num_iid", "page_size": "2", "q": ""})
        self.assertIn("items_onsale_get_response", a)
        # fields in the query string, not the body, are signed the same way
        a = self.call("taobao.items.onsale.get", {"fields": "num_iid", "page_size": "2"}, in_query=True)
        self.assertIn("items_onsale_get_response", a)

    def test_bad_sign(self):
        bad = (25, "Invalid signature", None, None)
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", {"fields": "num_iid"}, secret="x")), bad)
        # a field changed after signing
        a = self.call("taobao.items.onsale.get", {"fields": "num_iid", "page_size": "2"},
                      tamper={"page_size": "3"})
        self.assertEqual(self.err(a), bad)
        # signed with md5 but sent as hmac
        a = self.call("taobao.items.onsale.get", {"fields": "num_iid"}, tamper={"sign_method": "hmac"})
        self.assertEqual(self.err(a), bad)
        a = self.call("taobao.items.onsale.get", {"fields": "num_iid"}, sm="sha1")
        self.assertEqual(self.err(a)[0], 25)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual(log[0]["notes"], ["bad sign"])
        self.assertEqual(log[0]["ops"], ["taobao.items.onsale.get"])
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    def test_timestamp(self):
        f = {"fields": "num_iid"}
        self.assertIn("items_onsale_get_response", self.call("taobao.items.onsale.get", f,
                                                             ts=gmt8(time.time() - 540)))
        # UTC instead of GMT+8: eight hours off
        utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, ts=utc)), (31, "Invalid timestamp", None, None))
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, ts=gmt8(time.time() + 660)))[0], 31)
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, ts="1700000000"))[0], 31)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual(log[1]["notes"], ["timestamp not within 10 minutes of now in GMT+8"])

    def test_other_credentials(self):
        f = {"fields": "num_iid"}
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, session="6100other")),
                         (27, "Invalid session", "invalid-sessionkey", "SessionKey非法"))
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, session=None))[:2], (26, "Missing session"))
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, key="other"))[:2], (29, "Invalid app key"))
        self.assertEqual(self.err(self.call("taobao.items.onsale.get", f, key=None))[:2], (28, "Missing app key"))
        self.assertEqual(self.err(self.call("taobao.nothing.get", f))[:2], (22, "Invalid method"))
        self.assertEqual(self.err(self.call(None, f))[:2], (21, "Missing method"))
        self.assertEqual(self.call("taobao.items.onsale.get", f, path="/router/other"), {"http": 404})

    # ---- reads ----

    def test_onsale_pages(self):
        a = self.onsale()["items_onsale_get_response"]
        self.assertEqual(a["total_results"], 4)
        self.assertEqual(a["items"]["item"], [{"num_iid": 605, "outer_id": "E", "num": 2},
                                              {"num_iid": 604, "outer_id": "D-1", "num": 7}])
        self.assertTrue(a["request_id"].startswith("sim-"))
        a = self.onsale(page_no="2")["items_onsale_get_response"]
        self.assertEqual([x["num_iid"] for x in a["items"]["item"]], [602, 601])
        a = self.onsale(page_no="3")["items_onsale_get_response"]
        self.assertEqual(a, {"total_results": 4, "request_id": a["request_id"]})
        self.assertEqual(self.err(self.onsale(page_size="201"))[:2], (41, "Invalid arguments:page_size"))
        self.assertEqual(self.err(self.onsale(page_size="200", page_no="101"))[:3],
                         (15, "Remote service error", "isv.invalid-parameter:page_no"))
        self.assertEqual(self.err(self.onsale(fields=None))[:2], (40, "Missing required arguments:fields"))

    def test_seller_list(self):
        f = {"fields": "num_iid,num,outer_id,sku", "num_iids": "602,999,603"}
        a = self.call("taobao.items.seller.list.get", f)["items_seller_list_get_response"]
        self.assertEqual(a["items"]["item"], [
            {"num_iid": 602, "outer_id": "B", "num": 3,
             "skus": {"sku": [{"sku_id": 5021, "quantity": 3, "outer_id": "B-S"},
                              {"sku_id": 5022, "quantity": 0, "outer_id": "B-M"}]}},
            {"num_iid": 603, "outer_id": "C-1", "num": 4}])
        a = self.call("taobao.items.seller.list.get", dict(f, num_iids="998"))["items_seller_list_get_response"]
        self.assertNotIn("items", a)
        ids = ",".join(str(600 + i) for i in range(21))
        self.assertEqual(self.err(self.call("taobao.items.seller.list.get", dict(f, num_iids=ids)))[:2],
                         (41, "Invalid arguments:num_iids"))
        self.assertEqual(self.err(self.call("taobao.items.seller.list.get", dict(f, num_iids=None)))[0], 40)

    # ---- writes ----

    def test_update(self):
        a = self.call(UPD, {"num_iid": "602", "sku_id": "5021", "quantity": "-2", "type": "2"})
        it = a["item_quantity_update_response"]["item"]
        self.assertEqual((it["num_iid"], it["num"]), (602, 1))
        self.assertEqual([(s["sku_id"], s["quantity"]) for s in it["skus"]["sku"]], [(5021, 1), (5022, 0)])
        a = self.call(UPD, {"num_iid": "601", "quantity": "5", "type": "1"})
        self.assertEqual(a["item_quantity_update_response"]["item"]["num"], 5)
        self.assertNotIn("skus", a["item_quantity_update_response"]["item"])
        a = self.call(UPD, {"num_iid": "602", "outer_id": "B-M", "quantity": "4", "type": "2"})
        self.assertEqual(a["item_quantity_update_response"]["item"]["num"], 5)
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["sku"], x["location"], x["before"], x["after"], x["delta"])
                          for x in w],
                         [("adjust", "602/5021", "B-S", "", 3, 1, -2), ("set", "601", "A-1", "", 10, 5, -5),
                          ("adjust", "602/5022", "B-M", "", 0, 4, 4)])
        self.assertEqual(self.ctl("GET", "log?kind=requests")["requests"][0]["write"], True)

    def test_refusals(self):
        cases = [
            ({"num_iid": "602", "sku_id": "5021", "quantity": "-4", "type": "2"},
             ("isv.item-quantity-update-service-error", "库存更新失败：增量更新后库存不能小于0")),
            ({"num_iid": "604", "quantity": "1", "type": "2"},
             ("isv.item-update-service-error:ITEM_FROZEN", "该商品已被冻结，不能修改库存")),
            ({"num_iid": "602", "sku_id": "5051", "quantity": "1", "type": "2"}, ("isv.sku-not-exist", "SKU不存在")),
            ({"num_iid": "602", "quantity": "1", "type": "2"},
             ("isv.invalid-parameter:sku_id", "该商品有SKU，请指定sku_id修改SKU库存")),
            ({"num_iid": "699", "quantity": "1", "type": "2"}, ("isv.item-not-exist", "商品不存在或已删除")),
            ({"num_iid": "601", "quantity": "-1", "type": "1"},
             ("isv.invalid-parameter:quantity", "全量更新时库存必须大于等于0")),
        ]
        for f, sub in cases:
            self.assertEqual(self.err(self.call(UPD, f)), (15, "Remote service error") + sub, f)
        self.assertEqual(self.err(self.call(UPD, {"num_iid": "601", "quantity": "1", "type": "3"}))[:2],
                         (41, "Invalid arguments:type"))
        self.assertEqual(self.err(self.call(UPD, {"num_iid": "601"}))[:2], (40, "Missing required arguments:quantity"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])

    def quantities(self, iid):
        a = self.call("taobao.items.seller.list.get", {"fields": "num_iid,num,sku", "num_iids": str(iid)})
        it = a["items_seller_list_get_response"]["items"]["item"][0]
        return it["num"], [(s["sku_id"], s["quantity"]) for s in it["skus"]["sku"]]

    def test_skus_update(self):
        a = self.call(SKUS, {"num_iid": "602", "skuid_quantities": "5021:-2;5022:4", "type": "2"})
        it = a["skus_quantity_update_response"]["item"]
        self.assertEqual((it["num_iid"], it["num"]), (602, 5))
        self.assertEqual([(s["sku_id"], s["quantity"]) for s in it["skus"]["sku"]], [(5021, 1), (5022, 4)])
        self.assertRegex(it["modified"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        # type 1 (the default): set
        a = self.call(SKUS, {"num_iid": "602", "skuid_quantities": "5022:9"})
        self.assertEqual(a["skus_quantity_update_response"]["item"]["num"], 10)
        self.assertEqual(self.quantities(602), (10, [(5021, 1), (5022, 9)]))
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["sku"], x["before"], x["after"], x["delta"]) for x in w],
                         [("adjust", "602/5021", "B-S", 3, 1, -2), ("adjust", "602/5022", "B-M", 0, 4, 4),
                          ("set", "602/5022", "B-M", 4, 9, 5)])
        reqs = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([(r["ops"], r["write"]) for r in reqs[:2]], [([SKUS], True), ([SKUS], True)])
        # both changes of the first call carry its request id, the third the second's
        self.assertEqual([x["request_id"] for x in w], [reqs[0]["request_id"]] * 2 + [reqs[1]["request_id"]])

    def test_skus_refusals(self):
        st = self.ctl("GET", "state")
        st["taobao"]["s1"]["items"][4]["locked"] = True     # 605
        self.ctl("POST", "state", st)
        cases = [
            # one SKU of another item: nothing written, not even 5021
            ({"num_iid": "602", "skuid_quantities": "5021:1;5051:1", "type": "2"}, ("isv.sku-not-exist", "SKU不存在")),
            # the second would go below 0: the first is not written either
            ({"num_iid": "602", "skuid_quantities": "5021:1;5022:-1", "type": "2"},
             ("isv.item-quantity-update-service-error", "库存更新失败：增量更新后库存不能小于0")),
            ({"num_iid": "601", "skuid_quantities": "601:1", "type": "2"}, ("isv.sku-not-exist", "SKU不存在")),
            ({"num_iid": "699", "skuid_quantities": "5021:1", "type": "2"}, ("isv.item-not-exist", "商品不存在或已删除")),
            ({"num_iid": "602", "skuid_quantities": "5021:1;5022:-1", "type": "1"},
             ("isv.invalid-parameter:quantity", "全量更新时库存必须大于等于0")),
            ({"num_iid": "605", "skuid_quantities": "5051:1", "type": "2"},
             ("isv.item-update-service-error:ITEM_FROZEN", "该商品已被冻结，不能修改库存")),
        ]
        for f, sub in cases:
            self.assertEqual(self.err(self.call(SKUS, f)), (15, "Remote service error") + sub, f)
        many = ";".join("%d:1" % (5021 + i) for i in range(21))
        for bad in ("5021=1", "5021:1;", "5021:1;5021:2", "5021:x", many):
            self.assertEqual(self.err(self.call(SKUS, {"num_iid": "602", "skuid_quantities": bad, "type": "2"}))[:2],
                             (41, "Invalid arguments:skuid_quantities"), bad)
        self.assertEqual(self.err(self.call(SKUS, {"num_iid": "602", "skuid_quantities": "5021:1", "type": "3"}))[:2],
                         (41, "Invalid arguments:type"))
        self.assertEqual(self.err(self.call(SKUS, {"num_iid": "602"}))[:2],
                         (40, "Missing required arguments:skuid_quantities"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.assertEqual(self.quantities(602), (3, [(5021, 3), (5022, 0)]))

    def test_skus_faults(self):
        # the answer lost after the change: applied all the same
        self.ctl("POST", "faults", {"rules": [{"kind": "lost_answer", "next": 1, "match": {"op": SKUS}}]})
        with self.assertRaises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
            self.call(SKUS, {"num_iid": "602", "skuid_quantities": "5021:2;5022:1", "type": "2"})
        self.assertEqual(self.quantities(602), (6, [(5021, 5), (5022, 1)]))
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 2)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual((log[0]["ops"], log[0]["fault"], log[0]["notes"]),
                         ([SKUS], "lost_answer", ["applied, answer (200) not sent"]))
        # a write fault: flow control before anything is written
        self.ctl("DELETE", "log")
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        a = self.call(SKUS, {"num_iid": "602", "skuid_quantities": "5021:1;5022:1", "type": "2"})
        self.assertEqual(self.err(a)[0], 7)
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.assertEqual(self.quantities(602), (6, [(5021, 5), (5022, 1)]))

    # ---- limits, faults, state, sales ----

    def test_rate_limit(self):
        self.ctl("POST", "config", {"taobao_qps": 2})
        got = [self.onsale() for _ in range(3)]
        self.assertIn("items_onsale_get_response", got[1])
        self.assertEqual(self.err(got[2]), (7, "App Call Limited", "accesscontrol.limited-by-app-access-count",
                                            "This ban will last for 1 more seconds"))
        time.sleep(1.05)
        self.assertIn("items_onsale_get_response", self.onsale())

    def test_faults(self):
        # reads are not writes: a write fault passes them by
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        self.assertIn("items_onsale_get_response", self.onsale())
        a = self.call(UPD, {"num_iid": "601", "quantity": "1", "type": "2"})
        self.assertEqual(self.err(a)[0], 7)
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.ctl("POST", "faults", {"rules": [{"kind": "500", "next": 1, "match": {"op": UPD}}]})
        a = self.call(UPD, {"num_iid": "601", "quantity": "1", "type": "2"})
        self.assertEqual(self.err(a), (15, "Remote service error", "isp.top-remote-connection-timeout", "远程服务调用超时"))

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        want = make_state()["taobao"]
        for it in want["s1"]["items"]:
            if "skus" in it:
                it.pop("num", None)
        self.assertEqual(st["taobao"], want)
        st["taobao"]["s1"]["items"][0]["num"] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["taobao"]["s1"]["items"][0]["num"], 77)
        bad = make_state()
        bad["taobao"]["s1"]["items"][1]["skus"][0]["quantity"] = -1
        req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 400)

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "taobao", "shop": "s1", "item": "602/5021", "qty": 2})["sale"]
        self.assertEqual((r["item"], r["sku"], r["location"], r["before"], r["after"]), ("602/5021", "B-S", "", 3, 1))
        a = self.call("taobao.items.seller.list.get", {"fields": "num_iid,num,sku", "num_iids": "602"})
        self.assertEqual(a["items_seller_list_get_response"]["items"]["item"][0]["num"], 1)
        r = self.ctl("POST", "sale", {"platform": "taobao", "shop": "s1", "sku": "A-1", "qty": 1})["sale"]
        self.assertEqual((r["item"], r["before"], r["after"]), ("601", 10, 9))
        for body in ({"item": "602/5022", "qty": 1}, {"item": "601", "location": "W1", "qty": 1}):
            req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
                dict(body, platform="taobao", shop="s1")).encode())
            with self.assertRaises(urllib.error.HTTPError) as cm:
                _OPENER.open(req)
            self.assertEqual(cm.exception.code, 409)


if __name__ == "__main__":
    unittest.main()
