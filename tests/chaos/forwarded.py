#!/usr/bin/env python3
"""The review's forwarded-address attack, against a real server: a client rotating the left-most
X-Forwarded-For entry must not escape the per-address sign-in limit, nor count as a new reader.

Run with the old setting (`trust_forwarded_for = true`, one proxy hop): our proxy on 127.0.0.1
appends the address it saw, so the right-most entry is the client, whatever it put to the left.
Then with `trusted_proxies` not naming 127.0.0.1: the header is ignored altogether.
"""
import json
import re
import time

from chaoslib import BROWSER, Server, fail, form_token, log, request


def first_beacon(server):
    """The beacon URL of the first story linked from the front page."""
    for path in re.findall(r'href="(/[a-z0-9-]+/[a-z0-9-]+)"', request(f"{server.base}/")[2]):
        match = re.search(r'data-beacon="([^"]+)"', request(f"{server.base}{path}")[2])
        if match:
            return match.group(1)
    fail("no story with a view beacon on the front page")

ATTEMPTS = 40


def failed_sign_ins(server, forwarded_for):
    """Statuses of ATTEMPTS wrong sign-ins to different (unknown) accounts, so only the per-address
    limit can refuse them; `forwarded_for(n)` is the header of attempt n."""
    statuses = []
    for n in range(ATTEMPTS):
        headers = {"X-Forwarded-For": forwarded_for(n)}
        status, response_headers, page = request(f"{server.base}/admin/login", headers=headers)
        cookie = (response_headers.get("Set-Cookie") or "").split(";")[0]
        fields = {"_csrf": form_token(page) or "", "email": f"ghost{n}@chaos.test", "password": "wrong",
                  "next": "/admin"}
        status, _, _ = request(f"{server.base}/admin/login", fields, headers={**headers, "Cookie": cookie})
        statuses.append(status)
    return statuses


def views_counted(server, forwarded_for, count=50):
    beacon = first_beacon(server)
    counted = 0
    for n in range(count):
        status, _, body = request(f"{server.base}{beacon}", data=b"",
                                  headers={"User-Agent": BROWSER, "X-Forwarded-For": forwarded_for(n)})
        if status != 200:
            fail(f"beacon answered {status}")
        counted += json.loads(body)["counted"]
    return counted


def check(name, config, forwarded_for):
    server = Server(backend="sqlite", config=config)
    try:
        started = time.time()
        statuses = failed_sign_ins(server, forwarded_for)
        refused = statuses.count(429)
        if refused < ATTEMPTS // 2:
            fail(f"{name}: only {refused} of {ATTEMPTS} sign-ins with a rotating spoofed address got 429: {statuses}")
        counted = views_counted(server, forwarded_for)
        if counted != 1:
            fail(f"{name}: 50 views with rotating spoofed addresses counted {counted} times, want 1")
        log(f"{name}: {refused} of {ATTEMPTS} spoofed sign-ins refused with 429, 50 spoofed views counted once "
            f"({time.time() - started:.1f} s)")
    finally:
        server.cleanup()


def main():
    check("one hop (trust_forwarded_for)", "[server]\ntrust_forwarded_for = true\n",
          lambda n: f"198.18.{n}.{n}, 203.0.113.9")
    check("untrusted peer (trusted_proxies)", '[server]\ntrusted_proxies = ["10.0.0.0/8"]\n',
          lambda n: f"198.18.{n}.{n}")


if __name__ == "__main__":
    main()
