#!/usr/bin/env python3
"""SIGKILL loop: the server is killed again and again while readers comment, an editor saves and
publishes drafts, and views pour in; after every restart the work goes on.

At the end (after a clean shutdown) every write the server acknowledged must be there:
  - every comment answered "published" is stored, once;
  - every draft created is stored, and its body is the last acknowledged save or one sent after it
    (a save in flight at the kill may or may not have landed, never an older one);
  - every article whose publication was acknowledged is published;
  - view counts are consistent: each article's total equals the sum of its hourly buckets (views
    are buffered for a second by design, so the count itself is not compared);
  - SQLite's `PRAGMA integrity_check` is ok.

  python3 tests/chaos/killloop.py --backend sqlite --kills 50      # the CI form
  python3 tests/chaos/killloop.py --backend postgres --kills 1000  # the long form
"""

import argparse
import html
import os
import random
import re
import secrets
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from chaoslib import BROWSER, Member, Server, fail, log, request  # noqa: E402

REFERENCE = "/asia/kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un"


class Ledger:
    """What the server acknowledged, and what was sent but not (yet) acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.comments = []
        self.drafts = {}  # id -> {"acked": body, "later": [bodies sent after it]}
        self.published = set()
        self.answers = {}
        self.server_errors = []

    def note(self, what, status, page=""):
        with self.lock:
            self.answers[(what, status)] = self.answers.get((what, status), 0) + 1
            if status >= 500 and status != 503:
                self.server_errors.append(f"{what} answered {status}: {page[:200]}")


def hidden_fields(page):
    """The hidden inputs of the editor's form (the form token, the version the save is based on…)."""
    fields = []
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields.append((name.group(1), html.unescape(value.group(1)) if value else ""))
    return fields


def commenter(server, ledger, stop, worker):
    n = 0
    while not stop.is_set():
        n += 1
        body = f"Kill-loop comment {worker}-{n}-{secrets.token_hex(4)}"
        status, headers, page = request(f"{server.base}{REFERENCE}/comments", {"name": "Reader", "body": body},
                                        timeout=5)
        if status == 0:
            return  # the server is gone
        ledger.note("comment", status, page)
        if status == 303 and "comment=published" in headers.get("Location", ""):
            with ledger.lock:
                ledger.comments.append(body)


def editor_work(server, member, ledger, stop, section_id):
    while not stop.is_set():
        roll = random.random()
        with ledger.lock:
            drafts = list(ledger.drafts)
        if roll < 0.3 or not drafts:
            body = f"First version {secrets.token_hex(6)}"
            status, headers, page = member.post("/admin/articles", [("headline", f"Kill loop {secrets.token_hex(4)}"),
                                                                    ("section", section_id), ("body", body)])
            if status == 0:
                return
            ledger.note("create", status, page)
            if status == 303:
                article = int(re.search(r"/admin/articles/(\d+)", headers["Location"]).group(1))
                with ledger.lock:
                    ledger.drafts[article] = {"acked": body, "later": []}
        elif roll < 0.85:
            article = random.choice(drafts)
            status, _, page = member.get(f"/admin/articles/{article}")
            if status == 0:
                return
            if status != 200:
                continue
            headline = html.unescape(re.search(r'name="headline"[^>]*value="([^"]*)"', page).group(1))
            body = f"Saved version {secrets.token_hex(6)}"
            fields = [f for f in hidden_fields(page) if f[0] not in ("headline", "section", "body", "intent")]
            fields += [("headline", headline), ("section", section_id), ("body", body), ("intent", "save")]
            with ledger.lock:
                ledger.drafts[article]["later"].append(body)
            status, _, page = member.post(f"/admin/articles/{article}", [f for f in fields if f[0] != "_csrf"])
            if status == 0:
                return
            ledger.note("save", status, page)
            if status == 303:
                with ledger.lock:
                    entry = ledger.drafts[article]
                    entry["later"] = entry["later"][entry["later"].index(body) + 1:]
                    entry["acked"] = body
        else:
            with ledger.lock:
                unpublished = [d for d in drafts if d not in ledger.published]
            if not unpublished:
                continue
            article = random.choice(unpublished)
            status, _, page = member.post(f"/admin/articles/{article}/workflow", [("step", "publish")])
            if status == 0:
                return
            ledger.note("publish", status, page)
            if status == 303:
                with ledger.lock:
                    ledger.published.add(article)


def viewer(server, ledger, stop, beacon):
    while not stop.is_set():
        status, _, _ = request(f"{server.base}{beacon}", data=b"",
                               headers={"User-Agent": BROWSER, "X-Forwarded-For": f"10.9.{random.randint(0, 255)}."
                                                                                  f"{random.randint(1, 254)}"},
                               timeout=5)
        if status == 0:
            return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    log(f"{args.backend}: {args.kills} kills, seed {seed}")

    # Viewers come from many addresses, through a proxy on 127.0.0.1 that names them.
    config = ("[server]\ntrust_forwarded_for = true\n[comments]\nper_ip_per_minute = 1000000\n"
              "[views]\nflush_interval_secs = 1\n")
    server = Server(backend=args.backend, demo=True, config=config)
    ledger = Ledger()
    started = time.time()
    try:
        server.add_user("editor@news.test", "editor")
        member = Member(server, "editor@news.test")
        if not member.signed_in:
            fail("the editor could not sign in")
        section_id = server.query("SELECT id FROM sections ORDER BY position, id LIMIT 1")
        before_views = view_totals(server)
        page = request(f"{server.base}{REFERENCE}")[2]
        beacon = html.unescape(re.search(r'data-beacon="([^"]+)"', page).group(1))
        def work_for(seconds, then):
            stop = threading.Event()
            workers = [threading.Thread(target=commenter, args=(server, ledger, stop, i)) for i in range(2)]
            workers.append(threading.Thread(target=editor_work, args=(server, member, ledger, stop, section_id)))
            workers.append(threading.Thread(target=viewer, args=(server, ledger, stop, beacon)))
            for w in workers:
                w.start()
            time.sleep(seconds)
            then()
            stop.set()
            for w in workers:
                w.join(timeout=30)

        for kill in range(args.kills):
            work_for(random.uniform(0.3, 1.5), server.kill)
            server.start()
            if (kill + 1) % 10 == 0:
                log(f"{kill + 1} kills, {len(ledger.comments)} comments and {len(ledger.drafts)} drafts acknowledged "
                    f"({time.time() - started:.0f} s)")
        # A last stretch ends with a clean stop, which writes the buffered views.
        work_for(2.0, server.stop)
        check(server, ledger, before_views)
        log(f"{args.backend}: {args.kills} kills in {time.time() - started:.0f} s; answers "
            f"{dict(sorted((f'{k[0]} {k[1]}', v) for k, v in ledger.answers.items()))}")
    finally:
        server.cleanup()


VIEW_TOTALS = ("SELECT a.id, a.view_count, (SELECT COALESCE(SUM(v.views), 0) FROM view_buckets v "
               "WHERE v.article_id = a.id) FROM articles a")


def view_totals(server):
    """{article id: (view_count, sum of its hourly buckets)}"""
    return {int(r[0]): (int(r[1]), int(r[2])) for r in server.rows(VIEW_TOTALS)}


def check(server, ledger, before_views):
    if ledger.server_errors:
        fail(f"{len(ledger.server_errors)} answers were server errors, first: {ledger.server_errors[:3]}")
    stored = [r[0] for r in server.rows("SELECT body FROM comments")]
    counts = {}
    for body in stored:
        counts[body] = counts.get(body, 0) + 1
    missing = [c for c in ledger.comments if counts.get(c, 0) == 0]
    doubled = [c for c in ledger.comments if counts.get(c, 0) > 1]
    if missing or doubled:
        fail(f"comments: {len(missing)} acknowledged missing, {len(doubled)} stored twice "
             f"(of {len(ledger.comments)})")
    for article, entry in ledger.drafts.items():
        body = server.query(f"SELECT markdown FROM article_bodies WHERE article_id = {article}")
        if body == "":
            fail(f"article {article} was acknowledged as created and is missing")
        if body != entry["acked"] and body not in entry["later"]:
            fail(f"article {article} has body {body!r}; last acknowledged {entry['acked']!r}")
    for article in ledger.published:
        status = server.query(f"SELECT status FROM articles WHERE id = {article}")
        if status != "published":
            fail(f"article {article} was acknowledged as published and is {status!r}")
    after = view_totals(server)
    inconsistent = [a for a, (total, buckets) in after.items()
                    if total - before_views.get(a, (0, 0))[0] != buckets - before_views.get(a, (0, 0))[1]]
    if inconsistent:
        fail(f"{len(inconsistent)} articles gained a different number of views in their total than in their "
             f"hourly buckets, e.g. {inconsistent[:3]}")
    gained = sum(total - before_views.get(a, (0, 0))[0] for a, (total, _) in after.items())
    if server.backend == "sqlite":
        integrity = server.query("PRAGMA integrity_check")
        if integrity != "ok":
            fail(f"integrity_check says {integrity}")
    log(f"every acknowledged write is there: {len(ledger.comments)} comments, {len(ledger.drafts)} drafts "
        f"(their last saves), {len(ledger.published)} publications; {gained} views written, totals match buckets")


if __name__ == "__main__":
    main()
