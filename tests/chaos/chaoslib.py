"""Shared pieces of the reliability suite: start a real `broadsheet serve` on SQLite or on a fresh
PostgreSQL database, talk to it over HTTP, sign newsroom members in, and read the process's memory.
Standard library only, so the suite runs wherever Python 3 does.
"""

import http.cookiejar
import os
import re
import secrets
import shutil
import signal
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
_NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0]


def log(message):
    print(f"[chaos:{_NAME}] {message}", flush=True)


def fail(message):
    print(f"[chaos:{_NAME}] FAILED: {message}", flush=True)
    sys.exit(1)


def psql(database_url, sql):
    out = subprocess.run(["psql", database_url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def sqlite(path, sql):
    """Runs one statement on a SQLite file with Python's own sqlite3 module; returns all rows."""
    import sqlite3
    connection = sqlite3.connect(path, timeout=30)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def rss_mib(pid):
    """Resident memory of a process, in MiB (from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Server:
    """One `broadsheet serve` process on a port of its own.

    backend: "sqlite" (a file in `data_dir`) or "postgres" (a fresh database on PG_SERVER, dropped
    by `cleanup()`). `config` is extra TOML appended to the server's settings file."""

    def __init__(self, backend="sqlite", demo=True, config="", data_dir=None, database_url=None, args=()):
        self.backend = backend
        self.own_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="broadsheet-chaos-")
        self.database_url = database_url
        self.own_database = None
        if backend == "postgres" and database_url is None:
            self.own_database = f"bs_chaos_{secrets.token_hex(6)}"
            server = urllib.parse.urlsplit(PG_SERVER)
            self.database_url = urllib.parse.urlunsplit(server._replace(path=f"/{self.own_database}"))
            psql(PG_SERVER, f"CREATE DATABASE {self.own_database}")
        self.config_path = os.path.join(tempfile.mkdtemp(prefix="broadsheet-chaos-config-"), "broadsheet.toml")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.demo = demo
        self.extra_args = list(args)
        self.process = None
        self.base = None
        self.start()

    @property
    def pid(self):
        return self.process.pid

    @property
    def sqlite_path(self):
        return os.path.join(self.data_dir, "broadsheet.db")

    def _common_args(self):
        args = ["--data-dir", self.data_dir]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def start(self, timeout=60):
        """Starts (or restarts) the process on a new port and waits until it prints its URL."""
        args = [BINARY, "serve", "--config", self.config_path, "--addr", "127.0.0.1:0"] + self._common_args()
        if self.demo:
            args.append("--demo")
        args += self.extra_args
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.time() + timeout
        self.base = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                fail(f"the server exited with {self.process.returncode} while starting")
            match = re.search(r"running at (http://[^/\s]+)/", line)
            if match:
                self.base = match.group(1)
                break
        if not self.base:
            self.process.kill()
            fail("the server did not start")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        return self

    def add_user(self, email, role="editor", password=PASSWORD, name="Chaos Tester"):
        subprocess.run([BINARY, "user", "add", "--email", email, "--name", name, "--role", role,
                        "--password-stdin"] + self._common_args(),
                       input=password + "\n", text=True, check=True, capture_output=True)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)

    def cleanup(self):
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - best effort at the end
            self.process.kill()
        if self.own_database:
            psql(PG_SERVER, f"DROP DATABASE IF EXISTS {self.own_database} WITH (FORCE)")
        if self.own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(os.path.dirname(self.config_path), ignore_errors=True)

    def rows(self, sql):
        """Rows read straight from the server's database, each a tuple of strings (NULL is '')."""
        if self.backend == "postgres":
            out = subprocess.run(["psql", self.database_url, "-At", "-F", "\x1f", "-R", "\x1e", "-v",
                                  "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True).stdout
            return [tuple(row.split("\x1f")) for row in out.rstrip("\n").split("\x1e") if row != ""]
        return [tuple("" if v is None else str(v) for v in row) for row in sqlite(self.sqlite_path, sql)]

    def query(self, sql):
        """The first column of the first row, as a string ('' when there is none)."""
        rows = self.rows(sql)
        return rows[0][0] if rows else ""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def request(url, data=None, headers=None, opener=None, timeout=15, method=None):
    """(status, headers, body) without following redirects; never raises for HTTP statuses.
    A connection that fails answers status 0 with the error text as the body."""
    opener = opener or urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(data).encode() if isinstance(data, (dict, list)) else data
    req = urllib.request.Request(url, data=body, headers={"User-Agent": BROWSER, **(headers or {})}, method=method)
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        return 0, {}, str(e)


def form_token(page):
    match = re.search(r'name="_csrf" value="([^"]+)"', page)
    return match.group(1) if match else None


class Member:
    """A newsroom member with their own cookies; `signed_in` tells whether sign-in worked."""

    def __init__(self, server, email, password=PASSWORD, sign_in=True, headers=None):
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None
        self.signed_in = False
        self.last_status = None
        if sign_in:
            self.sign_in(email, password, headers=headers)

    def sign_in(self, email, password=PASSWORD, headers=None):
        """Posts the sign-in form; returns the status (303 on success)."""
        _, _, page = request(f"{self.server.base}/admin/login", opener=self.opener, headers=headers)
        token = form_token(page)
        status, _, _ = request(f"{self.server.base}/admin/login",
                               {"_csrf": token or "", "email": email, "password": password, "next": "/admin"},
                               opener=self.opener, headers=headers)
        self.last_status = status
        if status == 303:
            self.signed_in = True
            _, _, page = request(f"{self.server.base}/admin", opener=self.opener)
            self.csrf = form_token(page)
        return status

    def get(self, path, headers=None):
        return request(f"{self.server.base}{path}", opener=self.opener, headers=headers)

    def post(self, path, fields, headers=None):
        return request(f"{self.server.base}{path}", [("_csrf", self.csrf or "")] + list(fields), opener=self.opener,
                       headers=headers)


def wait_for(what, check, timeout, interval=0.02):
    started = time.time()
    while time.time() - started < timeout:
        if check():
            return time.time() - started
        time.sleep(interval)
    fail(f"{what}: not within {timeout} s")
