#!/usr/bin/env python3
"""Self-test of the ShipBob plugin of the invkit simulator (tests/sim/platforms/shipbob.py).

Standard library only.  Starts the simulator on port 0 with a known state and checks the
inventory-level shapes, auth, cursor pagination, filters, the sliding-window rate limit, the
error shapes, state round trip, sales and the plugin's fault answers.

    python3 tests/sim/test_plat_shipbob.py [-v]
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
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim.py")
TOKEN, OTHER = "sb_test_1", "sb_test_2"
VER = "2026-07"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    items = []
    for i in range(1, 13):
        lv = {"156": {"on_hand": 10 + i, "committed": i % 3, "awaiting": 5}}
        if i % 2:
            lv["228"] = {"on_hand": i, "committed": 0, "internal_transfer": 1}
        items.append({"inventory_id": 700 + i, "sku": "K-%02d" % i, "name": "Kit %d" % i, "levels": lv,
                      "is_active": i != 12, "is_digital": False})
    items.append({"inventory_id": 800, "sku": "E-BOOK", "is_digital": True})
    return {"shipbob": {"s1": {"tokens": [TOKEN, OTHER], "channels": [{"id": 4242, "name": "PAT"}],
                               "locations": [{"id": 156, "name": "Cicero (IL)"},
                                             {"id": 228, "name": "Moreno Valley (CA)", "type": "hub"}],
                               "items": items}}}


class ShipBobSimTest(unittest.TestCase):
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

    def http(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        try:
            with _OPENER.open(rq, timeout=10) as r:
                status, hdrs, payload = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, payload = e.code, e.headers, e.read()
            e.close()
        return status, hdrs, json.loads(payload) if payload else None

    def ctl(self, method, path, body=None):
        s, _, b = self.http(method, "/_sim/" + path, body)
        self.assertEqual(s, 200, b)
        return b

    def sb(self, path, token=TOKEN, method="GET", headers=None, store="s1"):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        return self.http(method, "/shipbob/%s/%s%s" % (store, VER, path) if not path.startswith("//")
                         else "/shipbob/%s%s" % (store, path[1:]), headers=h)

    def all_pages(self, query):
        out, url, pages = [], "/inventory-level/locations?" + query, 0
        while url:
            s, _, b = self.sb(url)
            self.assertEqual(s, 200, b)
            out.extend(b["items"])
            pages += 1
            nxt = b["next"]
            url = nxt[len("/" + VER):] if nxt else None
        return out, pages

    # ---- shapes --------------------------------------------------------------------
    def test_item_shape(self):
        s, h, b = self.sb("/inventory-level/locations?PageSize=2")
        self.assertEqual(s, 200)
        self.assertEqual(sorted(b), ["first", "items", "last", "next", "prev"])
        self.assertEqual((b["first"], b["prev"]), (None, None))
        self.assertEqual(b["items"][0], {
            "inventory_id": 701, "name": "Kit 1", "sku": "K-01", "locations": [
                {"awaiting_quantity": 5, "committed_quantity": 1, "fulfillable_quantity": 10,
                 "internal_transfer_quantity": 0, "location_id": 156, "name": "Cicero (IL)", "on_hand_quantity": 11},
                {"awaiting_quantity": 0, "committed_quantity": 0, "fulfillable_quantity": 1,
                 "internal_transfer_quantity": 1, "location_id": 228, "name": "Moreno Valley (CA)",
                 "on_hand_quantity": 1}]})
        self.assertEqual(h["x-remaining-calls"], "149")
        s, _, b = self.sb("/inventory-level/702/locations")
        self.assertEqual((s, b["sku"], len(b["locations"])), (200, "K-02", 1))
        s, _, b = self.sb("/inventory-level/999/locations")
        self.assertEqual((s, b["status"], b["title"]), (404, 404, "Not Found"))

    def test_pagination_covers_all_once(self):
        items, pages = self.all_pages("PageSize=5")
        self.assertEqual([i["inventory_id"] for i in items], list(range(701, 713)) + [800])
        self.assertEqual(pages, 3)
        s, _, b = self.sb("/inventory-level/locations?PageSize=5")
        self.assertTrue(b["next"].startswith("/%s/inventory-level/locations?PageSize=5&Cursor=" % VER))
        s, _, last = self.sb(b["last"][len("/" + VER):])
        self.assertEqual([i["inventory_id"] for i in last["items"]], [711, 712, 800])
        self.assertEqual((last["next"], last["last"]), (None, None))
        s, _, first = self.sb(last["first"][len("/" + VER):])
        self.assertEqual(first["items"][0]["inventory_id"], 701)
        self.ctl("POST", "config", {"sb_next_absolute": 1})
        s, _, b = self.sb("/inventory-level/locations?PageSize=5")
        self.assertTrue(b["next"].startswith(self.base + "/shipbob/s1/%s/inventory-level/locations?" % VER))

    def test_cursor_is_keyset(self):
        s, _, b = self.sb("/inventory-level/locations?PageSize=5")
        # an item added before the cursor does not shift the next page
        st = self.ctl("GET", "state")
        st["shipbob"]["s1"]["items"].append({"inventory_id": 1, "sku": "NEW", "levels": {"156": 3}})
        self.ctl("POST", "state", st)
        s, _, b2 = self.sb(b["next"][len("/" + VER):])
        self.assertEqual([i["inventory_id"] for i in b2["items"]], [706, 707, 708, 709, 710])
        s, _, b3 = self.sb("/inventory-level/locations?PageSize=5&Cursor=bogus")
        self.assertEqual((s, b3["detail"]), (400, "Cursor is not valid"))

    def test_filters_and_limits(self):
        items, _ = self.all_pages("InventoryIds=703,705&PageSize=10")
        self.assertEqual([i["inventory_id"] for i in items], [703, 705])
        items, _ = self.all_pages("LocationId=228&PageSize=50")
        self.assertEqual([len(i["locations"]) for i in items], [1] * 6)
        items, _ = self.all_pages("IsDigital=true")
        self.assertEqual([(i["inventory_id"], i["locations"]) for i in items], [(800, [])])
        items, _ = self.all_pages("IsActive=false")
        self.assertEqual([i["sku"] for i in items], ["K-12"])
        items, _ = self.all_pages("SearchBy=k-1")
        self.assertEqual([i["sku"] for i in items], ["K-10", "K-11", "K-12"])
        s, _, b = self.sb("/inventory-level/locations?PageSize=251")
        self.assertEqual((s, b["detail"]), (400, "PageSize must be between 1 and 250"))

    # ---- auth, errors ------------------------------------------------------------------
    def test_auth_and_errors(self):
        for tok in (None, "wrong", TOKEN + "x"):
            s, _, b = self.sb("/inventory-level/locations", token=tok)
            self.assertEqual((s, b["title"], b["status"]), (401, "Unauthorized", 401))
        s, _, _ = self.sb("/inventory-level/locations", token=OTHER)
        self.assertEqual(s, 200)
        s, _, b = self.sb("/inventory-level/locations", method="POST")
        self.assertEqual((s, b["title"]), (405, "Method Not Allowed"))
        s, _, b = self.sb("//1.0/inventory-level/locations")
        self.assertEqual((s, b["detail"]), (404, "API version 1.0 has no inventory-level endpoints"))
        s, _, b = self.sb("/inventory-level/locations", headers={"shipbob_channel_id": "4242"})
        self.assertEqual(s, 200)
        s, _, b = self.sb("/inventory-level/locations", headers={"shipbob_channel_id": "1"})
        self.assertEqual((s, b["detail"]), (403, "shipbob_channel_id 1 is not a channel of this account"))
        s, _, b = self.sb("/inventory-level/locations", store="nope")
        self.assertEqual(s, 404)
        req = [r for r in self.ctl("GET", "log?kind=requests")["requests"] if r["method"] == "POST"][0]
        self.assertEqual((req["write"], req["ops"]), (True, ["inventory-level/locations"]))

    # ---- the sliding window ------------------------------------------------------------
    def test_sliding_window(self):
        self.ctl("POST", "config", {"sb_limit": 5, "sb_window_ms": 1500})
        t0 = time.monotonic()
        got = [self.sb("/inventory-level/702/locations")[1]["x-remaining-calls"] for _ in range(5)]
        self.assertEqual(got, ["4", "3", "2", "1", "0"])
        s, h, b = self.sb("/inventory-level/702/locations")
        self.assertEqual((s, h["x-remaining-calls"], b), (429, "0", {
            "statusCode": 429, "message": "Rate limit is exceeded. Try again in %s seconds." % h["x-retry-after"]}))
        self.assertIn(h["x-retry-after"], ("1", "2"))
        # sliding, not fixed: the window frees one call as the oldest one ages out
        time.sleep(max(0, t0 + 1.6 - time.monotonic()))
        s, h, _ = self.sb("/inventory-level/702/locations")
        self.assertEqual(s, 200)
        # a refused call (401) does not count
        self.ctl("POST", "reset")
        self.ctl("POST", "config", {"sb_limit": 2, "sb_window_ms": 60000})
        for _ in range(3):
            self.assertEqual(self.sb("/inventory-level/702/locations", token="bad")[0], 401)
        self.assertEqual([self.sb("/inventory-level/702/locations")[0] for _ in range(3)], [200, 200, 429])
        notes = [r.get("notes") for r in self.ctl("GET", "log?kind=requests")["requests"] if r["status"] != 401]
        self.assertEqual(notes, [["window 1/2"], ["window 2/2"], ["over the rate limit (2 in the window)"]])

    def test_fault_429_is_shipbobs(self):
        self.ctl("POST", "faults", {"rules": [{"kind": "429", "next": 1, "retry_after": 3,
                                               "match": {"platform": "shipbob"}}]})
        s, h, b = self.sb("/inventory-level/702/locations")
        self.assertEqual((s, h["x-retry-after"], h.get("Retry-After"), b["statusCode"]), (429, "3", None, 429))

    # ---- state, sales ------------------------------------------------------------------
    def test_state_round_trip_and_bad_state(self):
        st = self.ctl("GET", "state")
        self.ctl("POST", "state", st)
        self.assertEqual(self.ctl("GET", "state"), st)
        bad = {"shipbob": {"x": {"token": "t", "items": [{"inventory_id": 1, "levels": {"9": 1}}]}}}
        s, _, b = self.http("POST", "/_sim/state", bad)
        self.assertEqual((s, b["error"]), (400, "shipbob.x.items[0].levels: no location 9"))

    def test_sale_commits_stock(self):
        s, _, r = self.http("POST", "/_sim/sale", {"platform": "shipbob", "shop": "s1", "sku": "K-01",
                                                  "location": "156", "qty": 4})
        self.assertEqual((s, r["sale"]["before"], r["sale"]["after"], r["sale"]["item"]), (200, 10, 6, 701))
        loc = self.sb("/inventory-level/701/locations")[2]["locations"][0]
        self.assertEqual((loc["on_hand_quantity"], loc["committed_quantity"], loc["fulfillable_quantity"]),
                         (11, 5, 6))
        s, _, r = self.http("POST", "/_sim/sale", {"platform": "shipbob", "shop": "s1", "sku": "K-01",
                                                  "location": "156", "qty": 7})
        self.assertEqual(s, 409)

    def test_sample(self):
        s, _, b = self.http("GET", "/_sim/health")
        self.assertEqual(s, 200)
        proc = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import sim; "
                               "import json; m = sim.PLATFORMS['shipbob']; "
                               "print(json.dumps(m.dump(m.load(m.sample(30, 1)))))" % HERE],
                              capture_output=True, text=True, check=True)
        d = json.loads(proc.stdout)["demo"]
        self.assertEqual((len(d["items"]), d["tokens"], [l["id"] for l in d["locations"]]),
                         (30, ["sb_sim_demo"], [156, 228, 10]))
        self.assertEqual([i["levels"] for i in d["items"] if i["is_digital"]], [{}] * 4)


if __name__ == "__main__":
    unittest.main()
