#!/usr/bin/env python3
"""Self-test of the Amazon plugin of the invkit simulator (tests/sim/platforms/amazon.py).

Standard library only.  Starts the simulator with a known state and checks the LWA token
endpoint, the Listings Items shapes, auth (expired and unknown tokens), pagination, the
per-operation rate limits, INVALID submissions, asynchronous application, state round trip
and sales.

    python3 tests/sim/test_plat_amazon.py [-v]
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
CID, CSEC, RTOK = "amzn1.application-oa2-client.t", "amzn1.oa2-cs.v1.t", "Atzr|t"
SELLER, MKT = "ASELLER1", "A1PA6795UKMFR9"
P = "/amazon/s1/listings/2021-08-01/items/" + SELLER
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_state():
    items = [{"sku": "S-%02d" % i, "asin": "B0T%07d" % i, "product_type": "HOME", "mfn": i} for i in range(1, 26)]
    items.append({"sku": "Z-FBA 1,x", "product_type": "TOYS", "mfn": None,
                  "fba": {"fulfillable": 7, "inbound_shipped": 3, "reserved": 1, "unfulfillable": 2}})
    items.append({"sku": "Z-FBA-2", "product_type": "TOYS", "mfn": None, "fba": {"fulfillable": 0}})
    items.append({"sku": "Z-FBA-3", "product_type": "TOYS", "mfn": None, "fba": {"researching": 4}})
    return {"amazon": {"s1": {"seller_id": SELLER, "marketplaces": [MKT],
                              "apps": [{"client_id": CID, "client_secret": CSEC, "refresh_token": RTOK}],
                              "items": items}}}


def _load(b):
    """JSON, or the raw bytes of a document store's (S3's) XML answer."""
    try:
        return json.loads(b or b"null")
    except ValueError:
        return b


class AmazonSimTest(unittest.TestCase):
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

    def raw(self, method, path, data=None, headers=None):
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with _OPENER.open(req) as r:
                return r.status, r.headers, _load(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.headers, _load(e.read())

    def ctl(self, method, path, body=None):
        return self.raw(method, "/_sim/" + path, json.dumps(body).encode() if body is not None else None)[2]

    def token(self, **over):
        f = {"grant_type": "refresh_token", "refresh_token": RTOK, "client_id": CID, "client_secret": CSEC}
        f.update(over)
        return self.raw("POST", "/amazon/s1/auth/o2/token", urllib.parse.urlencode(f).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})

    def api(self, method, rest, tok, body=None):
        return self.raw(method, P + rest, json.dumps(body).encode() if body is not None else None,
                        {"x-amz-access-token": tok})

    def patch(self, tok, sku, qty, ptype="HOME"):
        return self.api("PATCH", "/%s?marketplaceIds=%s" % (urllib.parse.quote(sku, safe=""), MKT), tok,
                        {"productType": ptype, "patches": [{"op": "replace",
                                                            "path": "/attributes/fulfillment_availability",
                                                            "value": [{"fulfillment_channel_code": "DEFAULT",
                                                                       "quantity": qty}]}]})

    def test_token(self):
        s, _, b = self.token()
        self.assertEqual(s, 200)
        self.assertEqual((b["token_type"], b["expires_in"]), ("bearer", 3600))
        self.assertTrue(b["access_token"].startswith("Atza|"))
        self.assertEqual(self.token(client_secret="x")[:3:2], (401, {"error": "invalid_client",
                                                                      "error_description": "Client authentication failed"}))
        self.assertEqual(self.token(refresh_token="x")[2]["error"], "invalid_grant")
        self.assertEqual(self.token(grant_type="client_credentials")[2]["error"], "unsupported_grant_type")

    def test_auth(self):
        s, _, b = self.api("GET", "/S-01?marketplaceIds=" + MKT, "Atza|nope")
        self.assertEqual((s, b["errors"][0]["code"]), (403, "Unauthorized"))
        self.ctl("POST", "config", {"amz_token_ttl": 1})
        tok = self.token()[2]["access_token"]
        self.assertEqual(self.api("GET", "/S-01?marketplaceIds=" + MKT, tok)[0], 200)
        time.sleep(1.1)
        s, _, b = self.api("GET", "/S-01?marketplaceIds=" + MKT, tok)
        self.assertEqual((s, b["errors"][0]["details"]), (403, "The access token you provided has expired."))
        s, _, b = self.raw("GET", "/amazon/s1/listings/2021-08-01/items/OTHER/S-01?marketplaceIds=" + MKT,
                           headers={"x-amz-access-token": self.token()[2]["access_token"]})
        self.assertEqual(s, 403)

    def test_search_pages(self):
        tok = self.token()[2]["access_token"]
        q = "?marketplaceIds=%s&includedData=summaries,fulfillmentAvailability&pageSize=20" % MKT
        s, h, b = self.api("GET", q, tok)
        self.assertEqual((s, b["numberOfResults"], len(b["items"])), (200, 28, 20))
        self.assertEqual(h["x-amzn-RateLimit-Limit"], "5.0")
        self.assertEqual(b["items"][0]["fulfillmentAvailability"], [{"fulfillmentChannelCode": "DEFAULT", "quantity": 1}])
        self.assertEqual(b["items"][0]["summaries"][0]["productType"], "HOME")
        s, _, b2 = self.api("GET", q + "&pageToken=" + urllib.parse.quote(b["pagination"]["nextToken"]), tok)
        self.assertEqual(len(b2["items"]), 8)
        self.assertNotIn("nextToken", b2["pagination"])
        self.assertEqual(b2["items"][-3]["fulfillmentAvailability"], [{"fulfillmentChannelCode": "AMAZON_NA"}])
        self.assertEqual(self.api("GET", q.replace("pageSize=20", "pageSize=21"), tok)[0], 400)
        self.assertEqual(self.api("GET", q.replace(MKT, "ATVPDKIKX0DER"), tok)[0], 400)
        self.ctl("POST", "config", {"amz_search_max": 10})
        tok = self.token()[2]["access_token"]
        b = self.api("GET", q.replace("pageSize=20", "pageSize=10"), tok)[2]
        self.assertEqual((b["numberOfResults"], len(b["items"]), "nextToken" in b["pagination"]), (28, 10, False))

    def test_patch_and_invalid(self):
        tok = self.token()[2]["access_token"]
        s, _, b = self.patch(tok, "S-02", 9)
        self.assertEqual((s, b["status"], b["issues"]), (200, "ACCEPTED", []))
        self.assertEqual(self.api("GET", "/S-02?marketplaceIds=%s&includedData=fulfillmentAvailability" % MKT,
                                  tok)[2]["fulfillmentAvailability"][0]["quantity"], 9)
        s, _, b = self.patch(tok, "S-03", 4, ptype="SHOES")
        self.assertEqual((s, b["status"], b["issues"][0]["code"]), (200, "INVALID", "SIM_PRODUCT_TYPE"))
        s, _, b = self.patch(tok, "S-03", -1)
        self.assertEqual((b["status"], b["issues"][0]["code"]), ("INVALID", "SIM_QUANTITY"))
        self.assertEqual(self.api("GET", "/NOPE?marketplaceIds=" + MKT, tok)[0], 404)
        w = [x for x in self.ctl("GET", "log?kind=writes")["writes"] if x["kind"] == "set"]
        self.assertEqual([(x["sku"], x["before"], x["after"], x["location"]) for x in w], [("S-02", 2, 9, "")])
        self.assertEqual(self.ctl("GET", "state")["amazon"]["s1"]["items"][2]["mfn"], 3)

    def test_async_apply(self):
        self.ctl("POST", "config", {"amz_apply_ms": 400})
        tok = self.token()[2]["access_token"]
        self.assertEqual(self.patch(tok, "S-04", 40)[2]["status"], "ACCEPTED")
        g = "/S-04?marketplaceIds=%s&includedData=fulfillmentAvailability" % MKT
        self.assertEqual(self.api("GET", g, tok)[2]["fulfillmentAvailability"][0]["quantity"], 4)
        time.sleep(0.5)
        self.assertEqual(self.api("GET", g, tok)[2]["fulfillmentAvailability"][0]["quantity"], 40)

    def test_rate_limit(self):
        self.ctl("POST", "config", {"amz_patch_rate": 1, "amz_patch_burst": 2})
        tok = self.token()[2]["access_token"]
        st = [self.patch(tok, "S-05", 7)[0] for _ in range(3)]
        self.assertEqual(st, [200, 200, 429])
        s, h, b = self.patch(tok, "S-05", 7)
        self.assertEqual((s, b["errors"][0]["code"]), (429, "QuotaExceeded"))
        self.assertIsNone(h.get("x-amzn-RateLimit-Limit"))

    def fba(self, tok, query):
        return self.raw("GET", "/amazon/s1/fba/inventory/v1/summaries?" + query, headers={"x-amz-access-token": tok})

    def test_fba_summaries(self):
        self.ctl("POST", "config", {"amz_fba_page": 2})
        tok = self.token()[2]["access_token"]
        q = "details=true&granularityType=Marketplace&granularityId=%s&marketplaceIds=%s" % (MKT, MKT)
        s, h, b = self.fba(tok, q)
        self.assertEqual((s, h["x-amzn-RateLimit-Limit"]), (200, "2.0"))
        self.assertEqual(b["payload"]["granularity"], {"granularityType": "Marketplace", "granularityId": MKT})
        first = b["payload"]["inventorySummaries"][0]
        self.assertEqual((first["sellerSku"], first["inventoryDetails"]["fulfillableQuantity"],
                          first["inventoryDetails"]["inboundShippedQuantity"],
                          first["inventoryDetails"]["reservedQuantity"]["totalReservedQuantity"],
                          first["inventoryDetails"]["unfulfillableQuantity"]["totalUnfulfillableQuantity"],
                          first["inventoryDetails"]["researchingQuantity"]["totalResearchingQuantity"],
                          first["totalQuantity"]), ("Z-FBA 1,x", 7, 3, 1, 2, 0, 13))
        self.assertEqual(len(b["payload"]["inventorySummaries"]), 2)
        time.sleep(0.6)
        s, _, b2 = self.fba(tok, q + "&nextToken=" + urllib.parse.quote(b["pagination"]["nextToken"]))
        self.assertEqual([x["sellerSku"] for x in b2["payload"]["inventorySummaries"]], ["Z-FBA-3"])
        self.assertNotIn("pagination", b2)
        self.assertEqual(b2["payload"]["inventorySummaries"][0]["inventoryDetails"]["researchingQuantity"]
                         ["totalResearchingQuantity"], 4)
        time.sleep(0.6)
        s, _, b3 = self.fba(tok, q.replace("details=true", "details=false") + "&sellerSkus=Z-FBA-2,S-01")
        self.assertEqual([(x["sellerSku"], "inventoryDetails" in x) for x in b3["payload"]["inventorySummaries"]],
                         [("Z-FBA-2", False)])
        time.sleep(0.6)
        self.assertEqual(self.fba(tok, q + "&nextToken=bogus")[0], 400)
        time.sleep(0.6)
        self.assertEqual(self.fba(tok, q.replace("granularityType=Marketplace", "granularityType=X"))[0], 400)
        self.assertIn(429, [self.fba(tok, q)[0] for _ in range(3)])      # 2/s, burst 2

    def feed_api(self, method, rest, tok, body=None):
        return self.raw(method, "/amazon/s1/feeds/2021-06-30/" + rest,
                        json.dumps(body).encode() if body is not None else None, {"x-amz-access-token": tok})

    def test_feed(self):
        tok = self.token()[2]["access_token"]
        ct = "application/json; charset=UTF-8"
        s, _, d = self.feed_api("POST", "documents", tok, {"contentType": ct})
        self.assertEqual(s, 201)
        url = d["url"]
        self.assertTrue(url.startswith(self.base + "/amazon/s1/_s3/"))
        patch = lambda q: [{"op": "replace", "path": "/attributes/fulfillment_availability",
                            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": q}]}]
        doc = {"header": {"sellerId": SELLER, "version": "2.0", "issueLocale": "en_US"},
               "messages": [{"messageId": 1, "sku": "S-07", "operationType": "PATCH", "productType": "HOME",
                             "patches": patch(70)},
                            {"messageId": 2, "sku": "S-08", "operationType": "PATCH", "productType": "HOME",
                             "patches": patch(-1)},
                            {"messageId": 3, "sku": "NOPE", "operationType": "PATCH", "productType": "HOME",
                             "patches": patch(1)}]}
        path = url[len(self.base):]
        body = json.dumps(doc).encode()
        self.assertEqual(self.raw("PUT", path, body, {"Content-Type": "text/plain"})[0], 403)
        self.assertEqual(self.raw("PUT", path.replace("Signature=", "Signature=0"), body,
                                  {"Content-Type": ct})[0], 403)
        self.assertEqual(self.raw("PUT", path, body, {"Content-Type": ct, "x-amz-access-token": tok})[0], 400)
        req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ct})
        with _OPENER.open(req) as r:
            self.assertEqual(r.status, 200)
        self.ctl("POST", "config", {"amz_feed_ms": 600})
        tok = self.token()[2]["access_token"]
        s, _, f = self.feed_api("POST", "feeds", tok, {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [MKT],
                                                       "inputFeedDocumentId": d["feedDocumentId"]})
        self.assertEqual(s, 400)    # config changes empty the per-run data: the document is gone
        s, _, d = self.feed_api("POST", "documents", tok, {"contentType": ct})
        req = urllib.request.Request(d["url"], data=body, method="PUT", headers={"Content-Type": ct})
        with _OPENER.open(req) as r:
            self.assertEqual(r.status, 200)
        s, _, f = self.feed_api("POST", "feeds", tok, {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [MKT],
                                                       "inputFeedDocumentId": d["feedDocumentId"]})
        self.assertEqual(s, 202)
        s, _, g = self.feed_api("GET", "feeds/" + f["feedId"], tok)
        self.assertEqual((s, g["processingStatus"], "resultFeedDocumentId" in g), (200, "IN_QUEUE", False))
        time.sleep(0.7)
        s, _, g = self.feed_api("GET", "feeds/" + f["feedId"], tok)
        self.assertEqual(g["processingStatus"], "DONE")
        s, _, rd = self.feed_api("GET", "documents/" + g["resultFeedDocumentId"], tok)
        with _OPENER.open(rd["url"]) as r:
            rep = json.loads(r.read())
        self.assertEqual(rep["summary"], {"errors": 2, "warnings": 0, "messagesProcessed": 3,
                                          "messagesAccepted": 1, "messagesInvalid": 2})
        self.assertEqual([(i["messageId"], i["code"], i["severity"]) for i in rep["issues"]],
                         [(2, "SIM_QUANTITY", "ERROR"), (3, "SIM_NO_LISTING", "ERROR")])
        items = {o["sku"]: o["mfn"] for o in self.ctl("GET", "state")["amazon"]["s1"]["items"]}
        self.assertEqual((items["S-07"], items["S-08"]), (70, 8))
        w = [x for x in self.ctl("GET", "log?kind=writes")["writes"] if x["kind"] == "set"]
        self.assertEqual([(x["sku"], x["after"], x["feed_id"], x["message_id"]) for x in w],
                         [("S-07", 70, f["feedId"], 1)])

    def test_feed_bad_document(self):
        tok = self.token()[2]["access_token"]
        s, _, d = self.feed_api("POST", "documents", tok, {"contentType": "application/json"})
        req = urllib.request.Request(d["url"], data=b"{}", method="PUT", headers={"Content-Type": "application/json"})
        with _OPENER.open(req) as r:
            self.assertEqual(r.status, 200)
        s, _, f = self.feed_api("POST", "feeds", tok, {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [MKT],
                                                       "inputFeedDocumentId": d["feedDocumentId"]})
        s, _, g = self.feed_api("GET", "feeds/" + f["feedId"], tok)
        self.assertEqual(g["processingStatus"], "FATAL")
        self.assertEqual(self.feed_api("POST", "feeds", tok, {"feedType": "POST_PRODUCT_DATA",
                                                              "marketplaceIds": [MKT],
                                                              "inputFeedDocumentId": d["feedDocumentId"]})[0], 400)


    def test_sale_and_state(self):
        r = self.ctl("POST", "sale", {"platform": "amazon", "shop": "s1", "sku": "S-06", "qty": 2})
        self.assertEqual((r["sale"]["before"], r["sale"]["after"], r["sale"]["location"]), (6, 4, ""))
        s, _, b = self.raw("POST", "/_sim/sale", json.dumps({"platform": "amazon", "shop": "s1",
                                                            "sku": "Z-FBA 1,x"}).encode())
        self.assertEqual(s, 409)
        st = self.ctl("GET", "state")
        self.assertEqual(self.raw("POST", "/_sim/state", json.dumps(st).encode())[0], 200)
        self.assertEqual(self.ctl("GET", "state"), st)


if __name__ == "__main__":
    unittest.main()
