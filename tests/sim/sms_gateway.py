#!/usr/bin/env python3
"""sms_gateway.py - an SMS gateway simulator for s48's tests (stdlib only).

One HTTP server speaks the three shapes of SPEC section 7 at once:
  infobip  GET  /sms/1/inbox/reports?limit=N      destructive pull, App key
           GET  /sms/1/inbox/logs?receivedSince=[&receivedUntil=][&limit=]
                non-destructive log: the newest `limit` (default 50, max
                1000) of the window, newest first
           POST /sms/2/text/advanced               send
  twilio   GET  /2010-04-01/Accounts/AC/Messages.json?To=&PageSize=&PageToken=
                newest first, includes our outbound messages, HTTP Basic
           POST /2010-04-01/Accounts/AC/Messages.json   form To/From/Body, 201
  generic  GET  /generic/inbox?after=N[&limit=M]   cursor "next"; without
                after: the messages not acked yet
           POST /generic/ack   {"ids": [...]}
           POST /generic/send  {"to": ..., "text": ...}
Control API (no auth):
  POST /_sim/inbound  {"from", "text" | "text_b64", "received"?, "to"?,
                       "count"?, "direction"?, "created"? (twilio's
                       date_created when not "received", the time the list
                       is sorted by, as date_sent), "created_raw"? (twilio:
                       date_created verbatim, e.g. "garbage" or null)}
                       or {"messages": [...]}:
                       inject inbound SMS
                       (text_b64 lets a test inject bytes that are not UTF-8)
  GET  /_sim/sent     what was sent, in order
  POST /_sim/fault    {"only"?: one endpoint kind (e.g. "infobip_logs"),
                       "mode": "none"|"500"|"429"|"timeout"|"garbage"|
                       "every_other"|"reject"|"stop21610"|"bad_next"
                       (twilio: next_page_uri on another host)|"page_gone"
                       (twilio: 404 for every page after the first)|
                       "duplicate" (every message of a pull twice), "count"?: N
                       requests then back to none, "delay"?: seconds}
  GET  /_sim/stats    request counters;  POST /_sim/reset;  GET /_sim/messages
Faults apply to the gateway paths only.  "timeout" does the work, then
answers only after "delay" seconds (default 30): an infobip pull that timed
out has consumed its messages, as a real gateway would.
Options: --port-file F (the port, written after binding port 0),
--state F (queue persisted across restarts), --key, --account, --number,
--tls-cert/--tls-key (HTTPS instead of HTTP).
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("none", "500", "429", "timeout", "garbage", "every_other", "reject", "stop21610",
         "bad_next", "page_gone", "duplicate")


def jenc(v):
    """JSON bytes; bytes values are emitted raw (they may be invalid UTF-8)."""
    if isinstance(v, bytes):
        out = bytearray(b'"')
        for c in v:
            if c == 0x22:
                out += b'\\"'
            elif c == 0x5C:
                out += b'\\\\'
            elif c < 0x20:
                out += b'\\u%04x' % c
            else:
                out.append(c)
        out += b'"'
        return bytes(out)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).encode()
    if isinstance(v, dict):
        return b"{" + b",".join(jenc(k) + b":" + jenc(x) for k, x in v.items()) + b"}"
    if isinstance(v, (list, tuple)):
        return b"[" + b",".join(jenc(x) for x in v) + b"]"
    return json.dumps(v).encode()


def iso_infobip(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(ts))


def rfc2822(ts):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))


def parse_time(s):
    if s is None or s == "":
        return None
    if isinstance(s, (int, float)):
        return int(s)
    s = s.strip()
    if s.isdigit():
        return int(s)
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"):
        try:
            return int(datetime.datetime.strptime(s.replace("Z", "+0000"), fmt).timestamp())
        except ValueError:
            pass
    return int(datetime.datetime.fromisoformat(s).timestamp())


class Sim:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.reset()
        if args.state and os.path.exists(args.state):
            self.load()

    def reset(self):
        self.seq = 0
        self.msgs = []          # dicts, text as bytes
        self.queue = []         # infobip: seqs not handed out yet
        self.sent = []
        self.acked = set()
        self.fault = {"mode": "none", "count": None, "delay": 30.0}
        self.fault_n = 0
        self.stats = {}

    # -- persistence (--state) --
    def save(self):
        if not self.args.state:
            return
        d = {"seq": self.seq, "queue": self.queue, "sent": self.sent,
             "acked": sorted(self.acked),
             "msgs": [dict(m, text=base64.b64encode(m["text"]).decode()) for m in self.msgs]}
        tmp = self.args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f)
        os.replace(tmp, self.args.state)

    def load(self):
        with open(self.args.state) as f:
            d = json.load(f)
        self.seq = d["seq"]
        self.queue = d["queue"]
        self.sent = d["sent"]
        self.acked = set(d["acked"])
        self.msgs = [dict(m, text=base64.b64decode(m["text"])) for m in d["msgs"]]

    def count(self, key):
        self.stats[key] = self.stats.get(key, 0) + 1

    def add(self, frm, text, to=None, received=None, direction="inbound", created=None):
        self.seq += 1
        s = self.seq
        h = hashlib.sha256(b"s48sim %d %s" % (s, self.args.account.encode())).hexdigest()
        m = {"seq": s, "sid": "SM" + h[:32], "mid": "ib" + h[32:56],
             "from": frm, "to": to or self.args.number, "text": text,
             "received": int(received if received is not None else time.time()),
             "direction": direction}
        if created is not None:
            m["created"] = int(created)    # twilio: date_created apart from date_sent
        self.msgs.append(m)
        if direction == "inbound":
            self.queue.append(s)
        return m

    def by_seq(self, s):
        # outbound sends take sequence numbers too, so msgs[s - 1] is not it
        if not hasattr(self, "_by_seq") or len(self._by_seq) != len(self.msgs):
            self._by_seq = {m["seq"]: m for m in self.msgs}
        return self._by_seq[s]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "s48-sms-sim/1"
    # headers and body in one segment, no Nagle: otherwise each keep-alive
    # answer waits ~40 ms for a delayed ACK
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, fmt, *a):
        if self.server.sim.args.verbose:
            sys.stderr.write("sim: " + (fmt % a) + "\n")

    # -- plumbing --
    def reply(self, code, body, ctype="application/json"):
        if not isinstance(body, bytes):
            body = jenc(body)
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def jbody(self):
        b = self.body()
        return json.loads(b) if b else {}

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        sim = self.server.sim
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        p = u.path
        try:
            if p.startswith("/_sim/"):
                return self.control(method, p, q)
            acct = "/2010-04-01/Accounts/%s/Messages.json" % sim.args.account
            if p == "/sms/1/inbox/reports" and method == "GET":
                kind, prof = "infobip_pull", "infobip"
            elif p == "/sms/1/inbox/logs" and method == "GET":
                kind, prof = "infobip_logs", "infobip"
            elif p == "/sms/2/text/advanced" and method == "POST":
                kind, prof = "infobip_send", "infobip"
            elif p == acct and method == "GET":
                kind, prof = "twilio_list", "twilio"
            elif p == acct and method == "POST":
                kind, prof = "twilio_send", "twilio"
            elif p == "/generic/inbox" and method == "GET":
                kind, prof = "generic_inbox", "generic"
            elif p == "/generic/ack" and method == "POST":
                kind, prof = "generic_ack", "generic"
            elif p == "/generic/send" and method == "POST":
                kind, prof = "generic_send", "generic"
            else:
                self.body()
                return self.reply(404, {"error": "no such path", "path": p})
            with sim.lock:
                sim.count("requests")
                sim.count(kind)
            data = self.body() if method == "POST" else b""
            if not self.authorised(prof):
                with sim.lock:
                    sim.count("unauthorized")
                return self.reply(401, self.unauth_body(prof))
            with sim.lock:
                mode = sim.fault["mode"]
                delay = sim.fault["delay"]
                if sim.fault.get("only") and sim.fault["only"] != kind:
                    mode = "none"       # the fault is for another endpoint
                if mode == "page_gone" and not (kind == "twilio_list" and "PageToken" in q):
                    mode = "none"       # only a page after the first is gone
                if mode != "none":
                    sim.fault_n += 1
                    n = sim.fault_n
                    if sim.fault["count"] is not None and n >= sim.fault["count"]:
                        sim.fault = {"mode": "none", "count": None, "delay": 30.0}
                    if mode == "every_other":
                        mode = "500" if n % 2 == 1 else "none"
                if mode in ("500", "429", "garbage"):
                    sim.count("faulted")
            if mode == "500":
                return self.reply(500, {"error": "simulated server error"})
            if mode == "429":
                return self.reply(429, {"error": "too many requests", "code": 20429})
            if mode == "page_gone":
                with sim.lock:
                    sim.count("faulted")
                return self.reply(404, {"code": 20404, "message": "The requested resource "
                                        "was not found", "status": 404})
            if mode == "garbage":
                return self.reply(200, b"<html>\xff\xfe garbage {{{ \"results\": [", "text/html")
            code, out = getattr(self, kind)(q, data, mode)
            if mode == "duplicate" and isinstance(out, dict):
                # every message of a pull twice in the answer
                for k in ("results", "messages"):
                    if isinstance(out.get(k), list) and method == "GET":
                        out[k] = [m for m in out[k] for _ in (0, 1)]
            if mode == "timeout":
                with sim.lock:
                    sim.count("faulted")
                time.sleep(delay)
            return self.reply(code, out)
        except Exception as e:  # a broken test request must not kill the simulator
            return self.reply(400, {"error": "simulator: %s: %s" % (type(e).__name__, e)})

    def authorised(self, prof):
        a = self.server.sim.args
        h = self.headers.get("Authorization", "")
        if prof == "infobip":
            return h == "App " + a.key
        if prof == "generic":
            return h == "Bearer " + a.key
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return False
        return user == a.account and pw == a.key

    @staticmethod
    def unauth_body(prof):
        if prof == "infobip":
            return {"requestError": {"serviceException": {
                "messageId": "UNAUTHORIZED", "text": "Invalid login details"}}}
        if prof == "twilio":
            return {"code": 20003, "message": "Authenticate", "status": 401}
        return {"error": "unauthorized"}

    # -- control API --
    def control(self, method, p, q):
        sim = self.server.sim
        if p == "/_sim/inbound" and method == "POST":
            d = self.jbody()
            items = d["messages"] if "messages" in d else [d]
            out = []
            with sim.lock:
                for it in items:
                    if "text_b64" in it:
                        text = base64.b64decode(it["text_b64"])
                    else:
                        text = it.get("text", "").encode()
                    n = int(it.get("count", 1))
                    for i in range(n):
                        t = text if n == 1 else text + (b" %d" % (i + 1))
                        m = sim.add(it.get("from", "+381641234567"), t, it.get("to"),
                                    parse_time(it.get("received")),
                                    it.get("direction", "inbound"),
                                    parse_time(it.get("created")))
                        if "created_raw" in it:
                            # twilio: date_created verbatim (a string that is
                            # no date, or null), as a broken list gives it
                            m["created_raw"] = it["created_raw"]
                        out.append({"seq": m["seq"], "sid": m["sid"], "messageId": m["mid"]})
                sim.save()
            return self.reply(200, {"added": len(out), "messages": out})
        if p == "/_sim/sent" and method == "GET":
            with sim.lock:
                return self.reply(200, list(sim.sent))
        if p == "/_sim/fault" and method == "POST":
            d = self.jbody()
            if d.get("mode") not in MODES:
                return self.reply(400, {"error": "mode must be one of %s" % ",".join(MODES)})
            with sim.lock:
                sim.fault = {"mode": d["mode"], "count": d.get("count"),
                             "delay": float(d.get("delay", 30)), "only": d.get("only")}
                sim.fault_n = 0
            return self.reply(200, {"mode": d["mode"]})
        if p == "/_sim/stats" and method == "GET":
            with sim.lock:
                st = dict(sim.stats)
                st["queued"] = len(sim.queue)
                st["messages"] = len(sim.msgs)
                st["acked"] = len(sim.acked)
                st["sent"] = len(sim.sent)
            return self.reply(200, st)
        if p == "/_sim/messages" and method == "GET":
            with sim.lock:
                return self.reply(200, [dict(m, text=m["text"]) for m in sim.msgs])
        if p == "/_sim/reset" and method == "POST":
            self.body()
            with sim.lock:
                sim.reset()
                sim.save()
            return self.reply(200, {"reset": True})
        self.body()
        return self.reply(404, {"error": "no such control path"})

    # -- infobip --
    @staticmethod
    def ib_msg(m):
        return {"messageId": m["mid"], "from": m["from"].lstrip("+"), "to": m["to"].lstrip("+"),
                "text": m["text"], "cleanText": m["text"], "keyword": "",
                "receivedAt": iso_infobip(m["received"]), "smsCount": 1,
                "price": {"pricePerMessage": 0, "currency": "EUR"}, "callbackData": None}

    def infobip_pull(self, q, data, mode):
        sim = self.server.sim
        limit = max(1, min(1000, int((q.get("limit") or ["50"])[0])))
        with sim.lock:
            take, sim.queue = sim.queue[:limit], sim.queue[limit:]
            res = [self.ib_msg(sim.by_seq(s)) for s in take]
            pending = len(sim.queue)
            if take:
                sim.save()
        return 200, {"results": res, "messageCount": len(res), "pendingMessageCount": pending}

    def infobip_logs(self, q, data, mode):
        # like Infobip: the newest `limit` (default 50, at most 1000) of the
        # window receivedSince <= t < receivedUntil, newest first
        sim = self.server.sim
        since = parse_time((q.get("receivedSince") or [""])[0]) or 0
        until = parse_time((q.get("receivedUntil") or [""])[0])
        limit = max(1, min(1000, int((q.get("limit") or ["50"])[0])))
        with sim.lock:
            sel = [m for m in sim.msgs if m["direction"] == "inbound" and m["received"] >= since
                   and (until is None or m["received"] < until)]
            sel.sort(key=lambda m: m["received"], reverse=True)
            res = [self.ib_msg(m) for m in sel[:limit]]
        return 200, {"results": res, "messageCount": len(res), "pendingMessageCount": 0}

    def infobip_send(self, q, data, mode):
        sim = self.server.sim
        d = json.loads(data)
        out = []
        with sim.lock:
            for msg in d["messages"]:
                for dest in msg["destinations"]:
                    sim.seq += 1
                    mid = "ibout%d" % sim.seq
                    if mode == "reject":
                        st = {"groupId": 5, "groupName": "REJECTED", "id": 6,
                              "name": "REJECTED_DESTINATION",
                              "description": "Destination address rejected"}
                    else:
                        sim.sent.append({"profile": "infobip", "to": dest["to"],
                                         "from": msg.get("from"), "text": msg["text"],
                                         "at": int(time.time())})
                        st = {"groupId": 1, "groupName": "PENDING", "id": 26,
                              "name": "PENDING_ACCEPTED",
                              "description": "Message sent to next instance"}
                    out.append({"to": dest["to"], "status": st, "messageId": mid})
            sim.save()
        return 200, {"messages": out}

    # -- twilio --
    def tw_msg(self, m):
        a = self.server.sim.args
        return {"sid": m["sid"], "account_sid": a.account, "from": m["from"], "to": m["to"],
                "body": m["text"], "direction": m["direction"],
                "status": "received" if m["direction"] == "inbound" else "queued",
                "num_segments": "1",
                "date_created": m["created_raw"] if "created_raw" in m else
                rfc2822(m.get("created", m["received"])),
                "date_sent": rfc2822(m["received"]), "date_updated": rfc2822(m["received"]),
                "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (a.account, m["sid"])}

    def twilio_list(self, q, data, mode):
        sim = self.server.sim
        a = sim.args
        to = (q.get("To") or [None])[0]
        size = max(1, min(1000, int((q.get("PageSize") or ["50"])[0])))
        token = (q.get("PageToken") or [""])[0]
        page = int((q.get("Page") or ["0"])[0])
        with sim.lock:
            lst = [m for m in sim.msgs if to is None or m["to"] == to or m["from"] == to]
            lst.sort(key=lambda m: (m["received"], m["seq"]), reverse=True)
            start = 0
            if token.startswith("PA"):
                sids = [m["sid"] for m in lst]
                start = sids.index(token[2:]) + 1 if token[2:] in sids else len(lst)
            chunk = lst[start:start + size]
            res = [self.tw_msg(m) for m in chunk]
            more = start + size < len(lst)
        base = "/2010-04-01/Accounts/%s/Messages.json" % a.account
        qs = ("To=%s&" % urllib.parse.quote(to, safe="") if to is not None else "") + \
            "PageSize=%d" % size
        nxt = "%s?%s&Page=%d&PageToken=PA%s" % (base, qs, page + 1, chunk[-1]["sid"]) \
            if more and chunk else None
        if nxt and mode == "bad_next":
            nxt = "https://evil.example" + nxt    # a page elsewhere: credentials would follow
        return 200, {"messages": res, "next_page_uri": nxt, "page": page, "page_size": size,
                     "first_page_uri": "%s?%s&Page=0" % (base, qs), "previous_page_uri": None,
                     "start": start, "end": start + len(res) - 1 if res else start,
                     "uri": self.path}

    def twilio_send(self, q, data, mode):
        sim = self.server.sim
        f = urllib.parse.parse_qs(data.decode(), keep_blank_values=True)
        to, frm, body = (f.get(k, [None])[0] for k in ("To", "From", "Body"))
        if not to or not frm or body is None:
            return 400, {"code": 21604, "message": "A 'To', 'From' and 'Body' are required",
                         "status": 400}
        if mode == "stop21610":
            return 400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                         "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}
        if mode == "reject":
            return 400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
        with sim.lock:
            m = sim.add(frm, body.encode(), to, None, "outbound-api")
            sim.sent.append({"profile": "twilio", "to": to, "from": frm, "text": body,
                             "at": int(time.time())})
            sim.save()
            return 201, self.tw_msg(m)

    # -- generic --
    def generic_inbox(self, q, data, mode):
        sim = self.server.sim
        limit = max(1, min(10000, int((q.get("limit") or ["100"])[0])))
        after = (q.get("after") or [None])[0]
        with sim.lock:
            inb = [m for m in sim.msgs if m["direction"] == "inbound"]
            if after is not None:
                a = int(after) if after.strip() else 0
                sel = [m for m in inb if m["seq"] > a][:limit]
            else:
                sel = [m for m in inb if m["seq"] not in sim.acked][:limit]
            res = [{"id": m["seq"], "from": m["from"], "text": m["text"],
                    "received": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m["received"]))}
                   for m in sel]
            nxt = str(sel[-1]["seq"]) if sel else (after or "")
        return 200, {"messages": res, "next": nxt}

    def generic_ack(self, q, data, mode):
        sim = self.server.sim
        ids = json.loads(data)["ids"]
        with sim.lock:
            for i in ids:
                sim.acked.add(int(i))
            sim.save()
        return 200, {"acked": len(ids)}

    def generic_send(self, q, data, mode):
        sim = self.server.sim
        d = json.loads(data)
        if mode == "reject":
            return 400, {"error": "rejected by the simulated gateway"}
        with sim.lock:
            sim.seq += 1
            sim.sent.append({"profile": "generic", "to": d["to"], "from": None,
                             "text": d["text"], "at": int(time.time())})
            sim.save()
            return 200, {"id": "gout%d" % sim.seq}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--state")
    ap.add_argument("--key", default="s48-test-key")
    ap.add_argument("--account", default="AC00000000000000000000000000000048")
    ap.add_argument("--number", default="+381601234567")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="its private key (PEM)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.sim = Sim(args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    else:
        print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
