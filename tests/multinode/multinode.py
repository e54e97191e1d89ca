#!/usr/bin/env python3
"""Several Broadsheet nodes on one PostgreSQL database, and PostgreSQL going away.

Runs real `broadsheet serve` processes against a fresh database on the local PostgreSQL server and
checks, over HTTP and in the database:
  1. an article published on node A is on node B's (cached) front page within 1 s;
  2. 10,000 views sent to both nodes add up exactly;
  3. a scheduled article is published exactly once while both nodes run;
  4. a comment posted on A is visible on B;
  5. killing node A (SIGKILL) in the middle of a stream of comments loses no acknowledged comment;
  6. with the database unreachable (a TCP relay in between is cut), pages that need it answer 503
     within 5 s, cached pages still answer, and the node recovers by itself when it returns.
Standard library only. Exits non-zero on the first failed check.
"""

import concurrent.futures
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("BROADSHEET_BIN", os.path.join(ROOT, "target", "debug", "broadsheet"))
PG_SERVER = os.environ.get("BROADSHEET_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery staple"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def log(message):
    print(f"[multinode] {message}", flush=True)


def fail(message):
    print(f"[multinode] FAILED: {message}", flush=True)
    sys.exit(1)


def psql(database_url, sql):
    out = subprocess.run(["psql", database_url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Node:
    def __init__(self, name, database_url, media_dir, demo=False, flush_secs=1, ops=False):
        self.name = name
        self.data_dir = tempfile.mkdtemp(prefix=f"broadsheet-{name}-")
        config = os.path.join(self.data_dir, "broadsheet.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nmedia_dir = "{media_dir}"\ntrust_forwarded_for = true\n[views]\nflush_interval_secs = {flush_secs}\n'
                    '[database]\nacquire_timeout_ms = 2000\n')
        args = [BINARY, "serve", "--config", config, "--data-dir", self.data_dir, "--addr", "127.0.0.1:0",
                "--database-url", database_url]
        if demo:
            args.append("--demo")
        if ops:
            args += ["--ops-addr", "127.0.0.1:0"]
        # The node's log, so that a failed check can show what the node itself said.
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(self.log_path, "a"), text=True)
        deadline = time.time() + 60
        self.base = None
        self.ops = None  # the operations listener (/metrics, the detailed /readyz), when asked for
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                fail(f"node {name} exited with {self.process.returncode}")
            match = re.search(r"running at (http://[^/\s]+)/", line)
            if match:
                self.base = match.group(1)
            match = re.search(r"Operations .* at (http://[^/\s]+)/", line)
            if match:
                self.ops = match.group(1)
            if self.base and (self.ops or not ops):
                break
        if not self.base:
            fail(f"node {name} did not start")
        if ops and not self.ops:
            fail(f"node {name} did not print its operations address")
        threading.Thread(target=self.keep_log, daemon=True).start()
        log(f"node {name} at {self.base}")

    def keep_log(self):
        """Copies what the node prints from now on (its log is on standard output) into its log."""
        with open(self.log_path, "a") as log_file:
            for line in self.process.stdout:
                log_file.write(line)
                log_file.flush()

    def errors(self):
        """The node's ERROR and WARN lines so far (the last five), for a failed check's message."""
        with open(self.log_path, errors="replace") as f:
            lines = [line.strip() for line in f if " ERROR " in line or " WARN " in line]
        return " | ".join(lines[-5:]) or "nothing at WARN or above"

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def request(url, data=None, headers=None, opener=None, timeout=10):
    """(status, headers, body) without following redirects; never raises for HTTP statuses."""
    opener = opener or urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(data).encode() if isinstance(data, (dict, list)) else data
    req = urllib.request.Request(url, data=body, headers={"User-Agent": BROWSER, **(headers or {})})
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode(errors="replace")


class Member:
    """A signed-in newsroom member on one node (cookies and the form token)."""

    def __init__(self, node, email):
        self.node = node
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(self.jar))
        _, _, page = request(f"{node.base}/admin/login", opener=self.opener)
        token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
        status, _, _ = request(f"{node.base}/admin/login", {"_csrf": token, "email": email, "password": PASSWORD,
                                                            "next": "/admin"}, opener=self.opener)
        if status != 303:
            fail(f"sign-in on node {node.name} answered {status}")
        _, _, page = request(f"{node.base}/admin", opener=self.opener)
        self.csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)

    def post(self, path, fields):
        return request(f"{self.node.base}{path}", [("_csrf", self.csrf)] + list(fields), opener=self.opener)


def create_article(member, headline, section_id):
    status, headers, body = member.post("/admin/articles", [("headline", headline), ("section", section_id),
                                                           ("body", "Filed from the multi-node test.")])
    if status != 303:
        fail(f"creating an article answered {status}: {body[:300]}")
    return int(re.search(r"/admin/articles/(\d+)", headers["Location"]).group(1))


def wait_for(what, check, timeout):
    started = time.time()
    while time.time() - started < timeout:
        if check():
            return time.time() - started
        time.sleep(0.01)
    fail(f"{what}: not within {timeout} s")


class Relay:
    """A TCP relay in front of PostgreSQL that can be cut and restored, to simulate an outage."""

    def __init__(self, target_port=5432):
        self.target_port = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.up = False
        self.start()

    def start(self):
        if self.server is None:
            self.server = socket.socket()
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.server.bind(("127.0.0.1", self.port))
        self.server.listen(64)
        self.up = True
        threading.Thread(target=self.accept, args=(self.server,), daemon=True).start()

    def accept(self, server):
        while self.up:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    def pipe(self, source, sink):
        # A connection accepted just as the relay was cut is not in the list cut() closed: stop
        # forwarding on it at its first use, so no connection outlives the cut.
        try:
            while (data := source.recv(65536)) and self.up:
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        self.server.close()
        self.server = None
        for s in self.connections:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.connections = []


def main():
    if not os.path.exists(BINARY):
        fail(f"{BINARY} is missing: run cargo build first")
    database = f"bs_multinode_{secrets.token_hex(6)}"
    server = urllib.parse.urlsplit(PG_SERVER)
    database_url = urllib.parse.urlunsplit(server._replace(path=f"/{database}"))
    psql(PG_SERVER, f"CREATE DATABASE {database}")
    media = tempfile.mkdtemp(prefix="broadsheet-media-")
    nodes = []
    try:
        subprocess.run([BINARY, "user", "add", "--email", "editor@news.test", "--name", "Edna Editor", "--role",
                        "editor", "--password-stdin", "--database-url", database_url],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        a = Node("A", database_url, media, demo=True)
        nodes.append(a)
        b = Node("B", database_url, media)
        nodes.append(b)
        run_checks(a, b, database_url, media, nodes)
    finally:
        for node in nodes:
            try:
                node.stop()
            except Exception:  # noqa: BLE001 - best effort at the end
                node.process.kill()
        psql(PG_SERVER, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    log("all multi-node checks passed")


def run_checks(a, b, database_url, media, nodes):
    section_id = psql(database_url, "SELECT id FROM sections ORDER BY position, id LIMIT 1")
    section_slug = psql(database_url, f"SELECT slug FROM sections WHERE id = {section_id}")
    editor_a = Member(a, "editor@news.test")

    # 1. Publish on A, see it on B's front page (which B has cached) within a second.
    request(f"{b.base}/")
    headline = f"Ferry service resumes across the strait {secrets.token_hex(3)}"
    article = create_article(editor_a, headline, section_id)
    status, _, _ = editor_a.post(f"/admin/articles/{article}/workflow", [("step", "publish")])
    if status != 303:
        fail(f"publishing on A answered {status}")
    published_at = time.time()
    elapsed = wait_for("the article on B's front page", lambda: headline in request(f"{b.base}/")[2], 1.0)
    log(f"1. published on A, on B's front page after {elapsed * 1000:.0f} ms (limit 1000 ms)")

    # 2. 10,000 views spread over both nodes add up exactly.
    slug = psql(database_url, f"SELECT slug FROM articles WHERE id = {article}")
    page = request(f"{a.base}/{section_slug}/{slug}")[2]
    beacon = re.search(r'data-beacon="([^"]+)"', page).group(1)
    before = int(psql(database_url, f"SELECT view_count FROM articles WHERE id = {article}"))

    def view(i):
        node = a if i % 2 == 0 else b
        # A reader is an address (a new user agent is not a new reader): each view comes from its
        # own address, as the proxy in front (trust_forwarded_for, one hop) reports it.
        reader = f"10.20.{i // 256}.{i % 256}"
        status, _, body = request(f"{node.base}{beacon}", data=b"", headers={"X-Forwarded-For": reader})
        return status == 200 and json.loads(body)["counted"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        counted = sum(pool.map(view, range(10_000)))
    if counted != 10_000:
        fail(f"only {counted} of 10,000 views were acknowledged as counted")
    wait_for("all views flushed", lambda: int(psql(
        database_url, f"SELECT view_count FROM articles WHERE id = {article}")) - before >= 10_000, 10)
    total = int(psql(database_url, f"SELECT view_count FROM articles WHERE id = {article}")) - before
    buckets = int(psql(database_url, f"SELECT COALESCE(SUM(views), 0) FROM view_buckets WHERE article_id = {article}"))
    if total != 10_000 or buckets < 10_000:
        fail(f"views: {total} counted in the total, {buckets} in buckets, want 10,000")
    log(f"2. 10,000 views over two nodes: total grew by exactly {total}")

    # 3. A scheduled article fires exactly once with both nodes running.
    scheduled = create_article(editor_a, f"Night market reopens {secrets.token_hex(3)}", section_id)
    due = time.gmtime(time.time() + 3)
    status, _, body = editor_a.post(f"/admin/articles/{scheduled}/workflow",
                                    [("step", "schedule"), ("publish_at", time.strftime("%Y-%m-%dT%H:%M:%S", due))])
    if status != 303:
        fail(f"scheduling answered {status}: {body[:300]}")
    wait_for("the scheduled article to go live", lambda: psql(
        database_url, f"SELECT status FROM articles WHERE id = {scheduled}") == "published", 10)
    time.sleep(2)  # both schedulers get another pass; a second firing would show now
    fired = int(psql(database_url, f"SELECT COUNT(*) FROM workflow_events WHERE article_id = {scheduled} "
                                   "AND to_status = 'published'"))
    if fired != 1:
        fail(f"the scheduled article was published {fired} times")
    log("3. scheduled article published exactly once with two nodes running")

    # 4. A comment posted on A is visible on B.
    article_path = f"/{section_slug}/{slug}"
    request(f"{b.base}{article_path}")
    comment = f"Good to have the ferry back {secrets.token_hex(3)}"
    status, _, _ = request(f"{a.base}{article_path}/comments", {"name": "Min-jun", "body": comment, "website": ""})
    if status != 303:
        fail(f"posting a comment on A answered {status}")
    elapsed = wait_for("the comment on B", lambda: comment in request(f"{b.base}{article_path}")[2], 2.0)
    log(f"4. comment posted on A, visible on B after {elapsed * 1000:.0f} ms")

    # 5. Kill A in the middle of a stream of comments: every acknowledged one is stored.
    acknowledged = []
    stop = threading.Event()

    def writer(worker):
        n = 0
        while not stop.is_set():
            body = f"durability probe {worker}-{n}"
            try:
                status, _, _ = request(f"{a.base}{article_path}/comments", {"name": "Probe", "body": body, "website": ""},
                                       headers={"X-Forwarded-For": f"10.9.{worker}.{n % 250}"}, timeout=5)
            except (OSError, urllib.error.URLError):
                return
            if status == 303:
                acknowledged.append(body)
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    a.kill()
    stop.set()
    for t in threads:
        t.join()
    stored = set(psql(database_url, f"SELECT body FROM comments WHERE article_id = {article} "
                                    "AND body LIKE 'durability probe %'").splitlines())
    lost = [c for c in acknowledged if c not in stored]
    if not acknowledged:
        fail("no comment was acknowledged before the kill")
    if lost:
        fail(f"{len(lost)} acknowledged comments were lost, e.g. {lost[:3]}")
    log(f"5. node A killed mid-stream: all {len(acknowledged)} acknowledged comments are stored")

    # 6. Outage: a node whose database goes away answers 503 quickly and recovers by itself.
    relay = Relay()
    relayed_url = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    if relayed_url == database_url:
        fail("the outage check needs the database at 127.0.0.1:5432")
    c = Node("C", relayed_url, media, ops=True)
    nodes.append(c)
    request(f"{c.base}{article_path}")  # cached from now on
    relay.cut()
    started = time.time()
    status, headers, _ = request(f"{c.base}/authors/edna-editor?page=1", timeout=10)
    took = time.time() - started
    if status != 503 or took > 5:
        fail(f"with the database down an uncached page answered {status} after {took:.1f} s (want 503 within 5 s); "
             f"node C logged: {c.errors()}")
    if headers.get("Retry-After") is None:
        fail("the 503 has no Retry-After")
    ready, _, ready_body = request(f"{c.base}/readyz", timeout=10)
    ops_ready, _, ops_body = request(f"{c.ops}/readyz", timeout=10)
    cached = request(f"{c.base}{article_path}", timeout=10)[0]
    log(f"6. database down: uncached page 503 in {took:.2f} s, /readyz {ready} (ops listener {ops_ready}), "
        f"cached article {cached}")
    if ready != 503 or ops_ready != 503:
        fail(f"/readyz answered {ready} (ops listener {ops_ready}) with the database down")
    public_ready = json.loads(ready_body)
    if (public_ready.get("status"), public_ready.get("code")) != ("unavailable", "database_unreachable") \
            or "detail" in public_ready:
        fail(f"the public /readyz should give a status and a code and no error text: {ready_body!r}")
    if not json.loads(ops_body).get("detail"):
        fail(f"the ops listener's /readyz gives no detail: {ops_body!r}")
    if cached != 200:
        fail(f"a page cached before the outage answered {cached}; it should still be served")
    # A comment sent meanwhile is refused like every other write: 503 with Retry-After, not 500.
    status, headers, _ = request(f"{c.base}{article_path}/comments",
                                 {"name": "Reader", "body": "Sent while the database was away."}, timeout=10)
    if status != 503 or headers.get("Retry-After") is None:
        fail(f"a comment during the outage answered {status} (Retry-After {headers.get('Retry-After')}); want 503")
    log("6. a comment during the outage: 503 with Retry-After")
    relay.start()
    elapsed = wait_for("recovery after the database returned",
                       lambda: request(f"{c.base}/authors/edna-editor?page=1", timeout=10)[0] == 200, 30)
    log(f"6. database back: node recovered by itself after {elapsed:.1f} s")
    # Changes made while C was cut off reach it after it reconnects (the catch-up).
    late = f"Harbour lights switched back on {secrets.token_hex(3)}"
    editor_b = Member(b, "editor@news.test")
    late_id = create_article(editor_b, late, section_id)
    editor_b.post(f"/admin/articles/{late_id}/workflow", [("step", "publish")])
    elapsed = wait_for("node C to show a story published on B after the outage",
                       lambda: late in request(f"{c.base}/")[2], 5)
    log(f"6. story published on B after the outage is on C's front page after {elapsed * 1000:.0f} ms")


if __name__ == "__main__":
    main()
