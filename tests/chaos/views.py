#!/usr/bin/env python3
"""The review's view-inflation attacks, against a real server: one address rotating its User-Agent
(500 beacons, then a parallel flood), the GET pixel, and agents no browser sends. One address may
add at most `views.per_address_per_article_per_day` views to an article (3 by default), so neither
its count nor Popular Now moves by more; made-up agents add nothing.
"""
import concurrent.futures
import json
import re
import time

from chaoslib import BROWSER, Server, fail, log, request


def first_beacon(server):
    """The beacon URL of the first story linked from the front page."""
    for path in re.findall(r'href="(/[a-z0-9-]+/[a-z0-9-]+)"', request(f"{server.base}/")[2]):
        match = re.search(r'data-beacon="([^"]+)"', request(f"{server.base}{path}")[2])
        if match:
            return match.group(1)
    fail("no story with a view beacon on the front page")

CAP = 3


def main():
    # No dedupe window: only the per-address caps stand between the flood and the counts.
    server = Server(backend="sqlite", config="[views]\ndedupe_window_secs = 0\nflush_interval_secs = 1\n")
    try:
        started = time.time()
        beacon = first_beacon(server)
        article_id = int(beacon.split("/")[2])
        before = int(server.query(f"SELECT view_count FROM articles WHERE id = {article_id}"))

        def post(n, agent=None):
            status, _, body = request(f"{server.base}{beacon}", data=b"",
                                      headers={"User-Agent": agent or f"{BROWSER} Build/{n}"})
            if status != 200:
                fail(f"beacon answered {status}")
            return json.loads(body)["counted"]

        counted = sum(post(n) for n in range(500))
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            counted += sum(pool.map(post, range(500, 4500)))
        for n in range(200):
            status, _, _ = request(f"{server.base}{beacon}/pixel.gif", headers={"User-Agent": f"{BROWSER} Px/{n}"})
            if status != 200:
                fail(f"pixel answered {status}")
        if counted > CAP:
            fail(f"one address rotating its User-Agent was acknowledged {counted} times, want at most {CAP}")
        junk = sum(post(0, agent) for agent in ["x", "curl/8.5.0", "Mozilla/5.0", "python-requests/2.32"])
        if junk:
            fail(f"{junk} beacons with agents no browser sends were counted")
        server.stop()
        gained = int(server.query(f"SELECT view_count FROM articles WHERE id = {article_id}")) - before
        if gained > CAP:
            fail(f"the article gained {gained} views from one address (4,700 beacons and pixels), want at most {CAP}")
        log(f"4,500 beacons and 200 pixels from one address with rotating agents added {gained} views "
            f"(cap {CAP}); made-up agents added none ({time.time() - started:.1f} s)")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
