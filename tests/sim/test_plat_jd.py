#!/usr/bin/env python3
"""Self-test of the JD plugin of the invkit simulator (tests/sim/platforms/jd.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
sign check (right, wrong, a tampered parameter, a known answer), the GMT+8 timestamp and its
6-minute window, the other credentials, searchSkuList pages and skuId lists, updateSkuStock
with its refusals (a Chinese message passed as it is), the rate limit, the plugin's fault
answers, the state round trip and sales.

    python3 tests/sim/test_plat_jd.py [-v]
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
KEY, SECRET, TOKEN = "jd_key_1", "jd_secret_1", "jd_token_1"
LIST, SET = "jingdong.sku.read.searchSkuList", "jingdong.stock.write.updateSkuStock"
REFUSE = "该商品正在参加促销活动，库存已锁定，不允许修改"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    skus = [{"skuId": 5000 + i, "wareId": 700 + i // 2, "outerId": "J-%d" % i, "stockNum": 10 * i,
             "status": 1, "skuName": "S%d" % i} for i in range(1, 8)]
    skus[5]["status"] = 4        # 5006 deleted: not listed, not writable
    skus[6]["refuse"] = REFUSE   # 5007 refused
    return {"jd": {"s1": {"app_key": KEY, "app_secret": SECRET, "access_token": TOKEN, "skus": skus}}}


def sign(secret, params):
    """The documented rule, a third time (the driver and the plugin have their own)."""
    s = secret + "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v != "") + secret
    return hashlib.md5(s.encode("utf-8")).hexdigest().upper()


def beijing(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t + 8 * 3600))


class JdSimTest(unittest.TestCase):
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

    def call(self, method, pj, secret=SECRET, token=TOKEN, key=KEY, ts=None, tamper=None,
             in_query=False, v="2.0"):
        """A signed call through the router; returns (HTTP status, answer)."""
        params = {"method": method, "app_key": key, "access_token": token, "v": v,
                  "timestamp": beijing(time.time()) if ts is None else ts,
                  "360buy_param_json": json.dumps(pj, sort_keys=True, separators=(",", ":"),
                                                  ensure_ascii=False)}
        params["sign"] = sign(secret, params)
        params.update(tamper or {})
        url = self.base + "/jd/s1/routerjson"
        enc = urllib.parse.urlencode(params)
        if in_query:
            req = urllib.request.Request(url + "?" + enc, method="POST")
        else:
            req = urllib.request.Request(url, data=enc.encode(), method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
        try:
            with _OPENER.open(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def err(self, answer):
        e = answer["error_response"]
        return e["code"], e["zh_desc"]

    # ---- credentials, the sign and the timestamp ----

    def test_known_answer(self):
        # the sign of a fixed call, computed by hand: secret + sorted name+value pairs + secret
        p = {"method": LIST, "app_key": KEY, "access_token": TOKEN, "v": "2.0",
             "timestamp": "2026-11-26 10:30:00", "360buy_param_json": '{"pageNo":1}'}
        s = (SECRET + '360buy_param_json{"pageNo":1}access_token' + TOKEN + "app_key" + KEY +
             "method" + LIST + "timestamp2026-11-26 10:30:00v2.0" + SECRET)
        self.assertEqual(sign(SECRET, p), hashlib.md5(s.encode()).hexdigest().upper())
        sys.path.insert(0, HERE)
        from platforms import jd as plugin  # noqa: E402 (the plugin's own implementation)
        self.assertEqual(plugin.expected_sign(SECRET, p), sign(SECRET, p))
        self.assertEqual(plugin.parse_timestamp("1970-01-01 08:00:00"), 0)

    def test_signature(self):
        st, a = self.call(LIST, {"pageNo": 1, "page_size": 2, "field": "stockNum"})
        self.assertEqual(st, 200)
        self.assertEqual(a[LIST.replace(".", "_") + "_responce"]["code"], "0")
        # in the query string instead of a form body: the same
        st, a = self.call(LIST, {"pageNo": 1, "page_size": 2}, in_query=True)
        self.assertIn(LIST.replace(".", "_") + "_responce", a)
        for kw in ({"secret": "other"}, {"tamper": {"sign": "0" * 32}},
                   {"tamper": {"360buy_param_json": '{"pageNo":2}'}}):
            st, a = self.call(LIST, {"pageNo": 1}, **kw)
            self.assertEqual((st, self.err(a)), (200, ("12", "无效签名")), kw)
        log = self.ctl("GET", "log?kind=requests")["requests"]
        self.assertEqual([r["status"] for r in log], [200] * 5)
        self.assertEqual(log[-1]["notes"], ["bad sign"])
        self.assertEqual(log[-1]["ops"], [LIST])

    def test_timestamp(self):
        now = time.time()
        for t, ok in ((now - 300, True), (now + 300, True), (now - 400, False), (now + 400, False),
                      (now - 8 * 3600, False)):  # UTC written as if it were Beijing time
            st, a = self.call(LIST, {"pageNo": 1}, ts=beijing(t) if t != now - 8 * 3600 else
                              time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)))
            if ok:
                self.assertIn(LIST.replace(".", "_") + "_responce", a)
            else:
                self.assertEqual(self.err(a), ("8", "非法的时间戳参数"))
        st, a = self.call(LIST, {"pageNo": 1}, ts="2026-11-26T10:30:00+08:00")
        self.assertEqual(self.err(a), ("8", "非法的时间戳参数"))

    def test_other_credentials(self):
        self.assertEqual(self.err(self.call(LIST, {}, token="other")[1]),
                         ("19", "token已过期或者不存在，请重新授权访问"))
        self.assertEqual(self.err(self.call(LIST, {}, key="other")[1])[0], "9")
        self.assertEqual(self.err(self.call(LIST, {}, v="1.0")[1])[0], "5")
        self.assertEqual(self.err(self.call("jingdong.no.such", {})[1]), ("15", "不存在的方法名"))
        st, a = self.call(LIST, {}, tamper={"sign": ""})
        self.assertEqual(self.err(a)[0], "11")

    # ---- the two methods ----

    def test_pages(self):
        got, page = [], 1
        while True:
            st, a = self.call(LIST, {"pageNo": page, "page_size": 2, "field": "outerId,stockNum"})
            p = a[LIST.replace(".", "_") + "_responce"]["page"]
            self.assertEqual((p["pageNo"], p["pageSize"], p["totalItem"]), (page, 2, 6))
            got += p["data"]
            if len(p["data"]) < 2:
                break
            page += 1
        self.assertEqual(page, 4)
        self.assertEqual([d["skuId"] for d in got], [5001, 5002, 5003, 5004, 5005, 5007])
        self.assertEqual(got[0], {"skuId": 5001, "wareId": 700, "status": 1, "outerId": "J-1", "stockNum": 10})
        # without the field, no stockNum
        st, a = self.call(LIST, {"pageNo": 1, "page_size": 1})
        self.assertNotIn("stockNum", a[LIST.replace(".", "_") + "_responce"]["page"]["data"][0])
        st, a = self.call(LIST, {"pageNo": 1, "page_size": 101})
        self.assertEqual(self.err(a)[0], "1010")

    def test_sku_ids(self):
        st, a = self.call(LIST, {"skuId": "5003,5001,5006,9999", "field": "stockNum", "page_size": 100})
        data = a[LIST.replace(".", "_") + "_responce"]["page"]["data"]
        self.assertEqual([(d["skuId"], d["stockNum"]) for d in data], [(5001, 10), (5003, 30)])
        st, a = self.call(LIST, {"skuId": ",".join(str(5000 + i) for i in range(21))})
        self.assertEqual(self.err(a), ("1010", "skuId最多20个"))

    def test_update(self):
        st, a = self.call(SET, {"skuId": 5002, "stockNum": 7})
        self.assertEqual(a, {SET.replace(".", "_") + "_responce": {"code": "0", "success": True}})
        w = self.ctl("GET", "log?kind=writes")["writes"]
        self.assertEqual([(x["kind"], x["item"], x["location"], x["before"], x["after"], x["delta"]) for x in w],
                         [("set", "5002", "", 20, 7, -13)])
        self.assertEqual(self.ctl("GET", "state")["jd"]["s1"]["skus"][1]["stockNum"], 7)
        # refusals: the SKU's own words, untouched; unknown and deleted SKUs; bad numbers
        st, a = self.call(SET, {"skuId": 5007, "stockNum": 1})
        self.assertEqual((st, self.err(a)), (200, ("1040", REFUSE)))
        for sid in (5006, 9999):
            self.assertEqual(self.err(self.call(SET, {"skuId": sid, "stockNum": 1})[1])[0], "1030")
        for q in (-1, "3", 1.5, True):
            self.assertEqual(self.err(self.call(SET, {"skuId": 5002, "stockNum": q})[1])[0], "1010", q)
        self.assertEqual(len(self.ctl("GET", "log?kind=writes")["writes"]), 1)

    def test_raw_utf8(self):
        # the Chinese words travel as UTF-8, not as \\u escapes
        params = {"method": SET, "app_key": KEY, "access_token": TOKEN, "v": "2.0",
                  "timestamp": beijing(time.time()), "360buy_param_json": '{"skuId":5007,"stockNum":1}'}
        params["sign"] = sign(SECRET, params)
        req = urllib.request.Request(self.base + "/jd/s1/routerjson", method="POST",
                                     data=urllib.parse.urlencode(params).encode())
        with _OPENER.open(req) as r:
            self.assertIn(REFUSE.encode("utf-8"), r.read())

    # ---- limits, faults, state, sales ----

    def test_rate_limit(self):
        self.ctl("POST", "config", {"jd_qps": 2})
        got = [self.call(LIST, {"pageNo": 1})[1] for _ in range(3)]
        self.assertIn(LIST.replace(".", "_") + "_responce", got[1])
        self.assertEqual(self.err(got[2]), ("2", "限制时间内调用失败次数"))
        time.sleep(1.05)
        self.assertIn(LIST.replace(".", "_") + "_responce", self.call(LIST, {"pageNo": 1})[1])

    def test_faults(self):
        # a write fault passes the reads by; an injected 429 is JOS's code 2
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "match": {"write": True}}]})
        self.assertIn(LIST.replace(".", "_") + "_responce", self.call(LIST, {"pageNo": 1})[1])
        st, a = self.call(SET, {"skuId": 5002, "stockNum": 1})
        self.assertEqual((st, self.err(a)[0]), (200, "2"))
        self.assertEqual(self.ctl("GET", "log?kind=writes")["writes"], [])
        self.ctl("POST", "faults", {"rules": [{"kind": "lost_answer", "next": 1, "match": {"op": SET}}]})
        with self.assertRaises(Exception):
            self.call(SET, {"skuId": 5002, "stockNum": 4})
        self.assertEqual(self.ctl("GET", "state")["jd"]["s1"]["skus"][1]["stockNum"], 4)

    def test_state_round_trip(self):
        st = self.ctl("GET", "state")
        want = make_state()["jd"]
        self.assertEqual(st["jd"], want)
        st["jd"]["s1"]["skus"][0]["stockNum"] = 77
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state")["jd"]["s1"]["skus"][0]["stockNum"], 77)
        bad = make_state()
        bad["jd"]["s1"]["skus"][0]["status"] = 3
        req = urllib.request.Request(self.base + "/_sim/state", data=json.dumps(bad).encode(), method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            _OPENER.open(req)
        self.assertEqual(cm.exception.code, 400)

    def test_sale(self):
        r = self.ctl("POST", "sale", {"platform": "jd", "shop": "s1", "item": "5003", "qty": 2})["sale"]
        self.assertEqual((r["item"], r["location"], r["before"], r["after"]), ("5003", "", 30, 28))
        r = self.ctl("POST", "sale", {"platform": "jd", "shop": "s1", "sku": "J-4"})["sale"]
        self.assertEqual((r["item"], r["after"]), ("5004", 39))
        for body in ({"item": "5006"}, {"item": "5001", "qty": 11}, {"item": "5001", "location": "2"}):
            req = urllib.request.Request(self.base + "/_sim/sale", method="POST", data=json.dumps(
                dict(body, platform="jd", shop="s1")).encode())
            with self.assertRaises(urllib.error.HTTPError) as cm:
                _OPENER.open(req)
            self.assertIn(cm.exception.code, (404, 409), body)


if __name__ == "__main__":
    unittest.main()
