#!/usr/bin/env python3
"""Writes the sample load balancer logs of this directory, deterministically.

    python3 events/alb/generate.py        # from the repository root (or any directory)

Python 3 standard library only. The same script always writes the same bytes (fixed random seed,
gzip members with mtime 0), so the files can be regenerated and diffed.

Lines are written from the formats AWS documents (the access log field table, connection logs,
Classic ELB logs); hosts, addresses and ids are made up (documentation ranges 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32; account 123456789012).

Files:

- the ALB access log ``..._app.web.50dc6c495c0c9188_20261125T1005Z_...log.gz``: multi-member gzip
  (4 members), ~300 lines, every request type and outcome the parser must handle
- a connection log ``conn_log_...log.gz`` (2 members)
- a Classic ELB log ``..._my-classic-lb_...log`` (plain text, as Classic ELB writes it)
- ``manifest.json``: for each file its line count, the blank lines, and the deliberately bad lines
  (1-based line numbers) with why they are bad. Tests compare the parser's results with it.

Deliberately bad lines (each listed in manifest.json with its reason):

- access log: a line cut in the middle of the user agent (unterminated quote), a line cut after
  the status codes (too few fields), an HTTP request line written into the log (garbage), a line of
  binary junk with invalid UTF-8, a line whose time is not a timestamp, a Classic ELB line in the
  ALB file (wrong kind)
- connection log: a line cut after the client address, a line with a non-numeric port
- Classic ELB log: a line whose status code is not a number

Blank lines (one in the access log, one in the connection log) are not errors: they are counted
and skipped.
"""

import gzip
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "123456789012"
REGION = "eu-west-1"
LB_ID = "50dc6c495c0c9188"
ELB = f"app/web/{LB_ID}"

ACCESS_FILE = (
    f"{ACCOUNT}_elasticloadbalancing_{REGION}_app.web.{LB_ID}_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz"
)
CONNECTION_FILE = (
    f"conn_log_{ACCOUNT}_elasticloadbalancing_{REGION}_app.web.{LB_ID}_20261125T1005Z_10.0.1.7_7hx2pc4w.log.gz"
)
CLASSIC_FILE = (
    f"{ACCOUNT}_elasticloadbalancing_{REGION}_my-classic-lb_20261125T1005Z_192.0.2.44_5kq8bz1a.log"
)

TG_WEB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web-tg/73e2d6bc24d8a067"
TG_API = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/api-tg/943f017f100becff"
TG_LAMBDA = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/thumbs-lambda/5a1f2e3d4c5b6a79"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"

WEB_TARGETS = ["10.0.1.10:80", "10.0.1.11:80", "10.0.2.10:80"]
API_TARGETS = ["10.0.1.20:8080", "10.0.2.21:8080", "10.0.2.22:8080"]
CLIENTS_V4 = ["203.0.113.7", "203.0.113.25", "198.51.100.14", "198.51.100.77", "192.0.2.150"]
CLIENTS_V6 = ["2001:db8:85a3::8a2e:370:7334", "2001:db8:4006:812::200e"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "Go-http-client/2.0",
    "kube-probe/1.31",
]
WEB_PATHS = ["/", "/index.html", "/products", "/products/42", "/cart", "/static/app.js", "/static/site.css", "/search?q=red+shoes"]
API_PATHS = ["/api/v1/orders", "/api/v1/orders/1017", "/api/v1/users/me", "/api/v1/cart/items", "/api/v1/health"]
TLS12 = ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2")
TLS13 = ("TLS_AES_128_GCM_SHA256", "TLSv1.3")

rng = random.Random(20261125)


def q(value):
    """A quoted field as ALB writes it (`"` and `\\` escaped inside)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stamp(second, micros):
    minute, sec = divmod(second, 60)
    return f"2026-11-25T10:{minute:02d}:{sec:02d}.{micros:06d}Z"


def secs(value):
    """Seconds with millisecond precision; `-1` (written bare, as ALB does) when not applicable."""
    return "-1" if value is None or value == -1 else f"{value:.3f}"


def trace_id(n):
    return f"Root=1-6744{n:04x}-{rng.getrandbits(96):024x}"


def conn_trace():
    """A random connection trace id (`TID_` and 32 hex digits)."""
    return f"TID_{rng.getrandbits(128):032x}"


def access_line(n, second, *, kind="https", client=None, target="web", request=None,
                status=200, target_status="same", times=(0.001, None, 0.000), actions="forward",
                redirect="-", error_reason="-", targets=None, target_statuses=None,
                classification="-", classification_reason="-", fields=33, extra=None,
                user_agent=None, tls=None, domain="shop.example.com", rule=1,
                received=None, sent=None):
    """One access log line; `fields` cuts it to an older layout (29), `extra` appends unknown
    trailing fields (34+)."""
    micros = rng.randrange(1_000_000)
    client = client or f"{rng.choice(CLIENTS_V4)}:{rng.randrange(1024, 65535)}"
    if target == "web":
        target_addr, tg = rng.choice(WEB_TARGETS), TG_WEB
    elif target == "api":
        target_addr, tg = rng.choice(API_TARGETS), TG_API
    elif target == "lambda":
        target_addr, tg = "-", TG_LAMBDA
    else:  # no target group involved (redirect, fixed response, WAF, errors before routing)
        target_addr, tg = "-", "-"
    if target_status == "same":
        target_status = str(status)
    request_time, target_time, response_time = times
    if target_time is None:
        target_time = round(rng.uniform(0.002, 0.250), 3)
    if request is None:
        path = rng.choice(API_PATHS if target == "api" else WEB_PATHS)
        port = 80 if kind == "http" else 443
        scheme = "http" if kind == "http" else "https"
        request = f"GET {scheme}://{domain}:{port}{path} HTTP/{'2.0' if kind == 'h2' else '1.1'}"
    cipher, protocol = tls or ((TLS13 if n % 3 else TLS12) if kind != "http" and kind != "ws" else ("-", "-"))
    if targets is None:
        targets = "-" if target_addr == "-" else target_addr
    if target_statuses is None:
        target_statuses = "-" if target_status == "-" or targets == "-" else target_status
    created = stamp(max(second - 1, 0), micros)
    parts = [
        kind,
        stamp(second, micros),
        ELB,
        client,
        target_addr,
        secs(request_time),
        secs(target_time),
        secs(response_time),
        str(status),
        target_status,
        str(received if received is not None else rng.randrange(120, 2400)),
        str(sent if sent is not None else rng.randrange(200, 64000)),
        q(request),
        q(user_agent or rng.choice(USER_AGENTS)),
        cipher,
        protocol,
        tg,
        q(trace_id(n)),
        q(domain if kind != "http" else "-"),
        q(CERT if kind not in ("http", "ws") else "-"),
        str(rule),
        created,
        q(actions),
        q(redirect),
        q(error_reason),
        q(targets),
        q(target_statuses),
        q(classification),
        q(classification_reason),
        conn_trace(),
        q("-"),
        q("-"),
        q("-"),
    ]
    line = " ".join(parts[:fields])
    if extra:
        line += " " + extra
    return line


def access_log():
    """Returns (members, bad) where members is a list of lists of lines."""
    lines = []
    bad = {}

    def add(line, why=None):
        lines.append(line)
        if why:
            bad[len(lines)] = why

    second = 0
    for n in range(1, 301):
        second = n  # one request a second or so: 10:00:01 .. 10:05:00
        roll = n % 20
        if roll in (0, 1, 2, 3, 4, 5):
            add(access_line(n, second, kind="https", target="web"))
        elif roll in (6, 7, 8):
            add(access_line(n, second, kind="h2", target="api"))
        elif roll == 9:
            add(access_line(n, second, kind="http", status=301, target_status="-", target="none",
                            times=(0.000, -1, -1), actions="redirect",
                            redirect="https://shop.example.com:443/", rule=2))
        elif roll == 10:
            # 5xx answered by a target.
            add(access_line(n, second, kind="https", target="api", status=500,
                            times=(0.001, 0.731, 0.000)))
        elif roll == 11:
            # 5xx answered by the load balancer itself: no target answered.
            status, reason = [(502, "-"), (503, "-"), (504, "-"), (460, "-")][(n // 20) % 4]
            add(access_line(n, second, kind="https", target="none", status=status,
                            target_status="-", times=(-1, -1, -1), error_reason=reason,
                            actions="forward"))
        elif roll == 12:
            # grpcs to the API target group.
            method = ["pkg.orders.v1.Orders/Get", "pkg.orders.v1.Orders/List"][n % 2]
            add(access_line(n, second, kind="grpcs", target="api",
                            request=f"POST https://grpc.example.com:443/{method} HTTP/2.0",
                            domain="grpc.example.com", user_agent="grpc-go/1.68.0", tls=TLS13))
        elif roll == 13:
            # WebSocket upgrades (ws and wss).
            ws_kind = "ws" if n % 40 == 13 else "wss"
            port, scheme = (80, "http") if ws_kind == "ws" else (443, "https")
            add(access_line(n, second, kind=ws_kind, target="web", status=101,
                            request=f"GET {scheme}://shop.example.com:{port}/live HTTP/1.1",
                            times=(0.001, 0.004, 0.000)))
        elif roll == 14:
            # IPv6 clients, unbracketed as ALB writes them.
            client = f"{rng.choice(CLIENTS_V6)}:{rng.randrange(1024, 65535)}"
            add(access_line(n, second, kind="https", client=client, target="web"))
        elif roll == 15:
            # Fixed response (maintenance page) and WAF blocks alternate.
            if n % 40 == 15:
                add(access_line(n, second, kind="https", target="none", status=503,
                                target_status="-", times=(0.000, -1, -1), actions="fixed-response",
                                rule=5, request="GET https://shop.example.com:443/maintenance HTTP/1.1"))
            else:
                add(access_line(n, second, kind="https", target="none", status=403,
                                target_status="-", times=(-1, -1, -1), actions="waf", rule=0,
                                request="GET https://shop.example.com:443/wp-login.php?<script>alert(1)</script> HTTP/1.1",
                                user_agent="sqlmap/1.8"))
        elif roll == 16:
            # Lambda target: no target address, the function's status.
            status = 502 if n % 60 == 16 else 200
            add(access_line(n, second, kind="https", target="lambda", status=status,
                            target_status="-" if status == 502 else "200",
                            error_reason="LambdaUnhandled" if status == 502 else "-",
                            request="POST https://shop.example.com:443/thumbnails HTTP/1.1",
                            times=(0.001, 0.180 if status == 200 else -1, 0.000 if status == 200 else -1)))
        elif roll == 17:
            # The load balancer retried on a second target: quoted multi-target lists.
            first, second_target = API_TARGETS[0], API_TARGETS[1]
            add(access_line(n, second, kind="https", target="api",
                            targets=f"{first} {second_target}", target_statuses="502 200"))
        elif roll == 18:
            # Desync mitigation: Ambiguous requests are forwarded, Severe ones blocked (400).
            if n % 40 == 18:
                add(access_line(n, second, kind="https", target="web",
                                classification="Ambiguous",
                                classification_reason="UndefinedContentLengthSemantics"))
            else:
                add(access_line(n, second, kind="https", target="none", status=400,
                                target_status="-", times=(-1, -1, -1),
                                classification="Severe", classification_reason="BothTeClPresent"))
        else:  # roll == 19: older and newer layouts
            if n % 40 == 19:
                add(access_line(n, second, kind="https", target="web", fields=29))
            else:
                add(access_line(n, second, kind="https", target="api", extra="10.0.1.7"))

        # The deliberately bad lines and the blank line, spread over the members.
        if n == 40:
            good = access_line(1000 + n, second, target="web")
            # Past the request's closing quote, the space and the user agent's opening quote.
            cut = good.index('"', good.index('"') + 1) + 6
            add(good[:cut], "cut inside the user agent")
        if n == 95:
            good = access_line(1000 + n, second, target="web")
            add(" ".join(good.split(" ")[:10]), "cut after the status codes")
        if n == 130:
            add("")  # blank: skipped, not an error
        if n == 150:
            add("GET /index.html HTTP/1.1", "an HTTP request line, not a log line")
        if n == 210:
            add("\x00\x01garbage \xff\xfe line", "binary junk, invalid UTF-8")
        if n == 240:
            good = access_line(1000 + n, second, target="web").split(" ")
            good[1] = "2026-11-25 10:04:00"  # a space inside the time: not ISO-8601
            add(" ".join(good), "the time is not ISO-8601")
        if n == 280:
            add(classic_line(second, 200, 200), "a Classic ELB line in an ALB file")

    # Four gzip members, as a load balancer node appends to an object.
    cuts = [0, 80, 170, 250, len(lines)]
    members = [lines[a:b] for a, b in zip(cuts, cuts[1:])]
    return members, bad


def classic_line(second, status, backend_status, *, backend="10.0.3.5:80", times=None,
                 request=None, tcp=False):
    micros = rng.randrange(1_000_000)
    client = f"{rng.choice(CLIENTS_V4)}:{rng.randrange(1024, 65535)}"
    if times is None:
        times = (rng.uniform(0.00003, 0.0001), rng.uniform(0.001, 0.2), rng.uniform(0.00002, 0.00009))
    t = " ".join("-1" if v == -1 else f"{v:.6f}" for v in times)
    if tcp:
        # TCP listener: no HTTP request, status codes and user agent.
        return (f"{stamp(second, micros)} my-classic-lb {client} {backend} {t} - - "
                f"{rng.randrange(100, 900)} {rng.randrange(100, 9000)} \"- - - \" \"-\" - -")
    request = request or f"GET http://legacy.example.com:80{rng.choice(WEB_PATHS)} HTTP/1.1"
    return (f"{stamp(second, micros)} my-classic-lb {client} {backend} {t} {status} {backend_status} "
            f"0 {rng.randrange(200, 30000)} {q(request)} {q(rng.choice(USER_AGENTS))} - -")


def classic_log():
    lines, bad = [], {}
    for n in range(1, 26):
        second = n * 11
        if n % 10 == 7:
            lines.append(classic_line(second, 504, "-", backend="-", times=(-1, -1, -1)))
        elif n % 10 == 3:
            lines.append(classic_line(second, 500, 500))
        elif n == 12:
            lines.append(classic_line(second, "-", "-", tcp=True))
        elif n % 5 == 4:
            req = "GET https://legacy.example.com:443/account HTTP/1.1"
            line = classic_line(second, 200, 200, request=req)
            lines.append(line[: -len("- -")] + "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2")
        else:
            lines.append(classic_line(second, 200, 200))
        if n == 18:
            line = classic_line(second, 200, 200).split(" ")
            line[7] = "OK"
            lines.append(" ".join(line))
            bad[len(lines)] = "the status code is not a number"
    return lines, bad


def connection_line(second, *, mtls=False, failed=None, protocol=TLS13):
    micros = rng.randrange(1_000_000)
    client = rng.choice(CLIENTS_V4 + CLIENTS_V6)
    latency = "-1" if failed else f"{rng.uniform(0.001, 0.02):.3f}"
    cipher, version = ("-", "-") if failed else (protocol[0], protocol[1])
    if mtls:
        subject = q("CN=device-17.example.com,O=Example Corp,C=IE")
        validity = "NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z"
        serial = f"{rng.getrandbits(64):016X}"
    else:
        subject, validity, serial = q("-"), "-", "-"
    status = f"Failed:{failed}" if failed else "Success"
    return (f"{stamp(second, micros)} {client} {rng.randrange(1024, 65535)} 443 {version} {cipher} "
            f"{latency} {subject} {validity} {serial} {status} {conn_trace()}")


def connection_log():
    lines, bad = [], {}
    for n in range(1, 31):
        second = n * 9
        if n % 7 == 3:
            lines.append(connection_line(second, mtls=True))
        elif n % 11 == 5:
            lines.append(connection_line(second, mtls=True, failed="ClientCertUntrusted"))
        elif n % 4 == 0:
            lines.append(connection_line(second, protocol=TLS12))
        else:
            lines.append(connection_line(second))
        if n == 10:
            cut = connection_line(second).split(" ")[:3]
            lines.append(" ".join(cut))
            bad[len(lines)] = "cut after the client port"
        if n == 20:
            lines.append("")  # blank: skipped, not an error
        if n == 25:
            parts = connection_line(second).split(" ")
            parts[2] = "port"
            lines.append(" ".join(parts))
            bad[len(lines)] = "the client port is not a number"
    return [lines[:15], lines[15:]], bad


def encode_lines(lines):
    # The binary junk line holds characters \x00..\xff meant as raw bytes: latin-1 keeps them.
    return b"".join(line.encode("latin-1") + b"\n" for line in lines)


def main():
    manifest = {}

    members, bad = access_log()
    data = b""
    for member in members:
        data += gzip.compress(encode_lines(member), compresslevel=9, mtime=0)
    write(ACCESS_FILE, data)
    manifest[ACCESS_FILE] = describe("access", [l for m in members for l in m], bad, len(members))

    conn_members, conn_bad = connection_log()
    data = b"".join(gzip.compress(encode_lines(m), compresslevel=9, mtime=0) for m in conn_members)
    write(CONNECTION_FILE, data)
    manifest[CONNECTION_FILE] = describe(
        "connection", [l for m in conn_members for l in m], conn_bad, len(conn_members))

    classic, classic_bad = classic_log()
    write(CLASSIC_FILE, encode_lines(classic))
    manifest[CLASSIC_FILE] = describe("classic", classic, classic_bad, 0)

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")


def describe(kind, lines, bad, gzip_members_count):
    blank = [i for i, line in enumerate(lines, 1) if line == ""]
    return {
        "kind": kind,
        "gzip_members": gzip_members_count,
        "lines": len(lines),
        "blank_lines": blank,
        "good_lines": len(lines) - len(blank) - len(bad),
        "bad_lines": [{"line": n, "why": why} for n, why in sorted(bad.items())],
    }


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
