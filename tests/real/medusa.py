#!/usr/bin/env python3
"""tests/real/medusa.py - the second client of tests/real/medusa.sh.

Everything the test does to a real Medusa 2 server other than through
invkit: create the admin's secret API key, seed the catalogue, read the
levels back with a client of its own (no invkit code), change stock behind
invkit's back (absolute sets, reservations as orders make them, a stream of
reservations racing a push), and a reverse proxy with a body limit, as nginx
puts in front of a server.  The secret key is read from a file and never
printed.  Standard library only.

    medusa.py key BASE EMAIL PASSFILE KEYFILE
    medusa.py seed BASE KEYFILE OUT.json NPRODUCTS NVARIANTS
    medusa.py state BASE KEYFILE                 -> TSV item sku loc stocked reserved available
    medusa.py set BASE KEYFILE < TSV item loc stocked
    medusa.py reserve BASE KEYFILE < TSV item loc qty
    medusa.py race BASE KEYFILE LOG SECONDS < TSV item loc
    medusa.py proxy BASE LIMIT                   -> prints "port N", serves until killed
"""
import base64
import concurrent.futures
import http.client
import http.server
import json
import os
import random
import socketserver
import sys
import time
import urllib.parse


class Api:
    def __init__(self, base, keyfile=None, bearer=None):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.hdr = {"Content-Type": "application/json", "Accept": "application/json"}
        if keyfile:
            with open(keyfile) as f:
                key = f.readline().strip()
            self.hdr["Authorization"] = "Basic " + base64.b64encode((key + ":").encode()).decode()
        if bearer:
            self.hdr["Authorization"] = "Bearer " + bearer

    def call(self, method, path, body=None, ok=(200,)):
        c = http.client.HTTPConnection(self.host, self.port, timeout=120)
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers=self.hdr)
        r = c.getresponse()
        raw = r.read()
        c.close()
        if r.status not in ok:
            raise SystemExit("medusa.py: %s %s: HTTP %d: %s" % (method, path.split("?")[0],
                             r.status, raw[:300].decode(errors="replace")))
        return json.loads(raw) if raw else None


def cmd_key(base, email, passfile, keyfile):
    with open(passfile) as f:
        pw = f.readline().strip()
    tok = Api(base).call("POST", "/auth/user/emailpass", {"email": email, "password": pw})["token"]
    k = Api(base, bearer=tok).call("POST", "/admin/api-keys", {"title": "invkit", "type": "secret"})
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (k["api_key"]["token"] + "\n").encode())
    os.close(fd)


def cmd_seed(base, keyfile, out, nprod, nvar):
    """Products with variants that manage inventory (Medusa makes an inventory
    item per variant), two stock locations, levels and reservations."""
    a = Api(base, keyfile)
    locs = [a.call("POST", "/admin/stock-locations", {"name": n})["stock_location"]["id"]
            for n in ("Warehouse A", "Warehouse B")]
    skus = []
    for p0 in range(0, nprod, 10):
        prods = []
        for p in range(p0, min(nprod, p0 + 10)):
            vals = ["v%d" % v for v in range(nvar)]
            vs = []
            for v in vals:
                sku = "MED-%03d-%s" % (p, v)
                skus.append(sku)
                vs.append({"title": sku, "sku": sku, "manage_inventory": True,
                           "options": {"Size": v}, "prices": [{"currency_code": "eur", "amount": 10}]})
            prods.append({"title": "Product %03d" % p, "status": "published",
                          "options": [{"title": "Size", "values": vals}], "variants": vs})
        a.call("POST", "/admin/products/batch", {"create": prods})
    ids = {}
    off = 0
    while True:
        r = a.call("GET", "/admin/inventory-items?limit=500&offset=%d&fields=id,sku" % off)
        for it in r["inventory_items"]:
            ids[it["sku"]] = it["id"]
        off += len(r["inventory_items"])
        if not r["inventory_items"] or off >= r["count"]:
            break
    assert len(ids) == len(skus), (len(ids), len(skus))
    items, create, reserve = [], [], []
    for i, sku in enumerate(skus):
        lv = {locs[0]: {"stocked": (i * 7) % 50, "reserved": 0}}
        if i % 3:
            lv[locs[1]] = {"stocked": (i * 13) % 40 + 5, "reserved": 0}
        if i % 10 == 0 and lv[locs[0]]["stocked"] > 0:
            lv[locs[0]]["reserved"] = min(2, lv[locs[0]]["stocked"])
        for loc, q in lv.items():
            create.append({"inventory_item_id": ids[sku], "location_id": loc,
                           "stocked_quantity": q["stocked"]})
            if q["reserved"]:
                reserve.append((ids[sku], loc, q["reserved"]))
        items.append({"id": ids[sku], "sku": sku, "levels": lv})
    for k in range(0, len(create), 500):
        a.call("POST", "/admin/inventory-items/location-levels/batch", {"create": create[k:k + 500]})
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda t: a.call("POST", "/admin/reservations", {
            "inventory_item_id": t[0], "location_id": t[1], "quantity": t[2],
            "description": "seeded order"}), reserve))
    with open(out, "w") as f:
        json.dump({"locations": locs, "items": items}, f)


def cmd_state(base, keyfile):
    """Every level, as the list route gives them with all their fields (Python's
    own client: no invkit code between the server and the test)."""
    a = Api(base, keyfile)
    rows, off = [], 0
    while True:
        r = a.call("GET", "/admin/inventory-items?limit=500&offset=%d&order=id"
                   "&fields=id,sku,*location_levels" % off)
        for it in r["inventory_items"]:
            for l in it["location_levels"]:
                rows.append((it["id"], it["sku"] or "", l["location_id"], l["stocked_quantity"],
                             l["reserved_quantity"], l["available_quantity"]))
        off += len(r["inventory_items"])
        if not r["inventory_items"] or off >= r["count"]:
            break
    for row in sorted(rows):
        print("\t".join(str(x) for x in row))


def read_tsv():
    return [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]


def cmd_set(base, keyfile):
    a = Api(base, keyfile)
    up = [{"inventory_item_id": i, "location_id": l, "stocked_quantity": int(q)}
          for i, l, q in read_tsv()]
    a.call("POST", "/admin/inventory-items/location-levels/batch", {"update": up})


def cmd_reserve(base, keyfile):
    a = Api(base, keyfile)
    for i, l, q in read_tsv():
        a.call("POST", "/admin/reservations", {"inventory_item_id": i, "location_id": l,
                                               "quantity": int(q), "description": "order"})


def cmd_race(base, keyfile, log, seconds):
    """Reserve one unit at random levels, one after another, until the time is
    up or SIGTERM; log each reservation the server accepted (item, loc)."""
    import signal
    a = Api(base, keyfile)
    rows = read_tsv()
    rnd = random.Random(7)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    end = time.monotonic() + float(seconds)
    with open(log, "w") as f:
        while not stop[0] and time.monotonic() < end:
            i, l = rnd.choice(rows)[:2]
            a.call("POST", "/admin/reservations", {"inventory_item_id": i, "location_id": l,
                                                   "quantity": 1, "description": "race"})
            f.write("%s\t%s\n" % (i, l))
            f.flush()
            time.sleep(0.01)


def cmd_proxy(base, limit):
    """Forward to BASE; answer 413 (as nginx's client_max_body_size does) to a
    body over LIMIT bytes without passing it on."""
    u = urllib.parse.urlsplit(base)
    limit = int(limit)

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def fwd(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            if n > limit:
                msg = b"<html><head><title>413 Request Entity Too Large</title></head></html>\r\n"
                self.send_response(413)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
            hdr = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            c.request(self.command, self.path, body=body, headers=hdr)
            r = c.getresponse()
            raw = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            c.close()

        do_GET = do_POST = fwd

    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    s = S(("127.0.0.1", 0), H)
    print("port %d" % s.server_address[1], flush=True)
    s.serve_forever()


def main():
    cmds = {"key": cmd_key, "seed": cmd_seed, "state": cmd_state, "set": cmd_set,
            "reserve": cmd_reserve, "race": cmd_race, "proxy": cmd_proxy}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        raise SystemExit(__doc__)
    args = sys.argv[2:]
    if sys.argv[1] == "seed":
        args[3:] = [int(x) for x in args[3:]]
    cmds[sys.argv[1]](*args)


if __name__ == "__main__":
    main()
