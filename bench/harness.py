#!/usr/bin/env python3
"""Broadsheet's load benchmark, driven by bench/run.

For each dataset size it starts the release binary on a generated newsroom, measures start-up,
then runs every scenario with wrk on loopback, interleaved round by round with nginx serving the
same article page as a static file, so each figure has a ratio to nginx measured in the same round.

With --postgres it runs the page scenarios on PostgreSQL instead (the local server, a database per
dataset size), first with one node and then with two nodes sharing the database (one wrk per node,
at the same time, their throughput summed).
Standard library only.
"""
import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BINARY = ROOT / "target" / "release" / "broadsheet"
DATASETS = HERE / "datasets"
RESULTS = HERE / "results"
TICK = os.sysconf("SC_CLK_TCK")

MODES = {
    "smoke": dict(sizes=[300], rounds=1, duration=1, connections=8),
    "quick": dict(sizes=[10_000], rounds=2, duration=3, connections=64),
    "full": dict(sizes=[10_000, 100_000, 1_000_000], rounds=3, duration=8, connections=64),
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_dataset(size):
    """Generates (once) and returns the data directory of a newsroom with `size` articles."""
    path = DATASETS / str(size)
    marker = path / "complete"
    if marker.exists():
        return path
    if path.exists():
        shutil.rmtree(path)
    log(f"generating a newsroom of {size:,} articles in {path} ...")
    started = time.time()
    subprocess.run([str(BINARY), "generate", "--articles", str(size), "--data-dir", str(path)], check=True)
    marker.write_text(f"{time.time() - started:.1f} seconds\n")
    return path


PG_SERVER = os.environ.get("BROADSHEET_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


def pg_url(size):
    base, _, _ = PG_SERVER.rpartition("/")
    return f"{base}/bs_bench_{size}"


def psql(url, sql):
    return subprocess.run(["psql", url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


def ensure_pg_dataset(size):
    """Generates (once) a newsroom of `size` articles in its own PostgreSQL database."""
    url = pg_url(size)
    exists = psql(PG_SERVER, f"SELECT 1 FROM pg_database WHERE datname = 'bs_bench_{size}'")
    if exists:
        done = psql(url, "SELECT to_regclass('bench_complete') IS NOT NULL")
        if done == "t":
            return url
        psql(PG_SERVER, f"DROP DATABASE bs_bench_{size} WITH (FORCE)")
    psql(PG_SERVER, f"CREATE DATABASE bs_bench_{size}")
    log(f"generating a newsroom of {size:,} articles in PostgreSQL database bs_bench_{size} ...")
    scratch = tempfile.mkdtemp(prefix="broadsheet-bench-pg-")
    subprocess.run([str(BINARY), "generate", "--articles", str(size), "--data-dir", scratch,
                    "--database-url", url], check=True)
    psql(url, "CREATE TABLE bench_complete (done BOOLEAN)")
    return url


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, IndexError, ValueError):
            pass
    return total


def rss_mib(pid, field="RssAnon"):
    """Resident memory the process holds itself (RssAnon). The server reads SQLite through a memory
    map, and VmRSS would also count the database's pages it has touched, once per connection's
    mapping: those are the kernel's page cache, shared and reclaimable, which the same reads made
    with read() would fill just the same without showing in VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def parse_wrk(text):
    def ms(label):
        m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", text).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    extra = {k: int(v) for k, v in re.findall(r"^BENCH (\w+) (\d+)$", text, re.M)}
    return dict(requests=requests, rps=rps, p50=ms("50"), p99=ms("99"), errors=errors, **extra)


def wrk(url, duration, connections, script=None, pids=()):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script:
        command += ["-s", str(script)]
    before = cpu_ticks(pids)
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    result = parse_wrk(out)
    used = (cpu_ticks(pids) - before) / TICK
    result["cpu_us_per_req"] = used * 1e6 / max(result["requests"], 1)
    return result


class Nginx:
    def __init__(self, work, page_bytes):
        self.work = work
        work.mkdir(parents=True)
        # nginx's workers drop root: every folder up to the page must be readable by them.
        os.chmod(work.parent, 0o755)
        www = work / "www"
        www.mkdir()
        (www / "article.html").write_bytes(page_bytes)
        os.chmod(work, 0o755)
        os.chmod(www, 0o755)
        os.chmod(www / "article.html", 0o644)
        self.port = free_port()
        (work / "nginx-tmp").mkdir()
        conf = work / "nginx.conf"
        conf.write_text(f"""
worker_processes auto;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  types {{ text/html html; }}
  client_body_temp_path {work}/nginx-tmp;
  server {{ listen 127.0.0.1:{self.port}; root {www}; location / {{ try_files $uri =404; }} }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run([nginx, "-c", str(conf), "-p", str(work)], check=True)
        time.sleep(0.3)
        self.url = f"http://127.0.0.1:{self.port}/article.html"
        with urllib.request.urlopen(self.url) as response:
            if response.read() != page_bytes:
                raise RuntimeError("nginx does not serve the saved page")

    def pids(self):
        master = int((self.work / "nginx.pid").read_text())
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        return [master] + [int(c) for c in children]

    def stop(self):
        try:
            os.kill(int((self.work / "nginx.pid").read_text()), signal.SIGQUIT)
        except (FileNotFoundError, ProcessLookupError):
            pass


class Server:
    def __init__(self, data_dir, log_path, database_url=None):
        self.port = free_port()
        env = dict(os.environ, BROADSHEET__SERVER__PROXY_HOPS="1", RUST_LOG="warn")
        command = [str(BINARY), "serve", "--data-dir", str(data_dir), "--addr", f"127.0.0.1:{self.port}"]
        if database_url:
            command += ["--database-url", database_url]
        started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"), env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server did not start; see {log_path}")
                time.sleep(0.002)
        self.startup_ms = (time.perf_counter() - started) * 1000

    def get(self, path):
        with urllib.request.urlopen(self.base + path) as response:
            return response.read()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def lua_paths(work, name, paths):
    listing = work / f"{name}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = work / f"{name}.lua"
    script.write_text(f"""
local paths = {{}}
for line in io.lines("{listing}") do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
""")
    return script


def lua_posts(work, name, path, body_template, count_pattern):
    """POSTs from a distinct forwarded address each time; counts responses matching a pattern."""
    script = work / f"{name}.lua"
    script.write_text(f"""
local threads = {{}}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  matched = 0
end
-- A reader's browser: an empty user agent is treated as a bot and not counted.
local agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
request = function()
  n = n + 1
  -- A distinct address per request: the thread picks the first octet, the count the rest. The
  -- server believes it (proxy_hops = 1), so every beacon is a new reader: neither the dedupe nor
  -- the per-address caps refuse one, and the scenario measures the whole counting path.
  local ip = string.format("%d.%d.%d.%d", 10 + tid, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  local body = string.format("{body_template}", tid, n)
  local headers = {{["X-Forwarded-For"] = ip, ["User-Agent"] = agent,
    ["Content-Type"] = "application/x-www-form-urlencoded"}}
  return wrk.format("POST", "{path}", headers, body)
end
response = function(status, headers, body)
  if {count_pattern} then matched = matched + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("matched") end
  io.write(string.format("BENCH matched %d\\n", total))
end
""")
    return script


def db_scalar(data_dir, sql):
    with sqlite3.connect(f"file:{data_dir / 'broadsheet.db'}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchone()[0]


def pick_paths(data_dir, limit):
    with sqlite3.connect(f"file:{data_dir / 'broadsheet.db'}?mode=ro", uri=True) as db:
        newest = db.execute(
            "SELECT s.slug, a.slug FROM articles a JOIN sections s ON s.id = a.section_id "
            "WHERE a.status = 'published' ORDER BY a.published_at DESC LIMIT 1").fetchone()
        count = db.execute("SELECT MAX(id) FROM articles").fetchone()[0]
        ids = random.Random(7).sample(range(1, count + 1), min(limit, count))
        rows = []
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            rows += db.execute(
                "SELECT s.slug, a.slug FROM articles a JOIN sections s ON s.id = a.section_id "
                f"WHERE a.status = 'published' AND a.id IN ({','.join('?' * len(part))})", part).fetchall()
        section = db.execute("SELECT slug FROM sections ORDER BY position LIMIT 1").fetchone()[0]
        author = db.execute(
            "SELECT au.slug FROM authors au JOIN article_authors aa ON aa.author_id = au.id "
            "GROUP BY au.id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    return f"/{newest[0]}/{newest[1]}", [f"/{s}/{a}" for s, a in rows], f"/{section}", f"/authors/{author}"


def summarize(rounds):
    """Median figures over the rounds of each scenario."""
    return {
        name: {
            "req_per_sec": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50"] for r in runs),
            "p99_ms": statistics.median(r["p99"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "cpu_us_per_req": statistics.median(r.get("cpu_us_per_req", float("nan")) for r in runs),
            "rss_mib": max((r.get("rss_mib", float("nan")) for r in runs), default=float("nan")),
            "ratio_to_nginx": statistics.median(r.get("ratio", 1.0) for r in runs),
            "rounds_req_per_sec": [r["rps"] for r in runs],
        }
        for name, runs in rounds.items()
    }


def read_through(path):
    """Reads a file once, so that its pages are in the system's page cache.

    A dataset generated in this run is in the cache from being written; one reused from an earlier
    run may have been dropped from it since (seen here: 4.3 of the 1M dataset's 9.2 GB), and the
    long tail then measured the disk (1,320 pages/s where the same binary served 6,600-7,500 with
    the file cached). The page scenarios are about the server, not the disk."""
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def bench_size(size, mode, work):
    data_dir = ensure_dataset(size)
    read_through(data_dir / "broadsheet.db")
    article, long_tail, section, author = pick_paths(data_dir, 20_000)
    views_before = db_scalar(data_dir, "SELECT COALESCE(SUM(view_count), 0) FROM articles")
    comments_before = db_scalar(data_dir, "SELECT COUNT(*) FROM comments")

    # A first start applies any pending migrations (a one-time cost after an upgrade), so that the
    # measured start-up is the everyday one.
    Server(data_dir, work / f"server-{size}-prepare.log").stop()
    server = Server(data_dir, work / f"server-{size}.log")
    startup_ms = server.startup_ms
    rss_idle = rss_mib(server.process.pid)
    page = server.get(article)
    beacon = re.search(rb'data-beacon="([^"]+)"', page).group(1).decode()
    nginx = Nginx(work / f"nginx-{size}", page)
    scripts = {
        "long_tail": lua_paths(work, f"longtail-{size}", long_tail),
        "beacon": lua_posts(work, f"beacon-{size}", beacon, "", 'body:find("\\"counted\\":true", 1, true)'),
        "comments": lua_posts(work, f"comments-{size}", article + "/comments",
                              "name=Bench+reader&body=Comment+%d+%d+from+the+benchmark", "status == 303"),
    }
    scenarios = [
        ("article_warm", server.base + article, None),
        ("long_tail", server.base + "/", scripts["long_tail"]),
        ("home", server.base + "/", None),
        ("section", server.base + section, None),
        ("author", server.base + author, None),
        ("beacon", server.base + beacon, scripts["beacon"]),
        ("comments", server.base + article + "/comments", scripts["comments"]),
    ]
    rounds = {name: [] for name, _, _ in [("nginx", None, None)] + scenarios}
    d, c = mode["duration"], mode["connections"]
    for round_number in range(1, mode["rounds"] + 1):
        log(f"  {size:,} articles: round {round_number}/{mode['rounds']}")
        reference = wrk(nginx.url, d, c, pids=nginx.pids())
        rounds["nginx"].append(reference)
        for name, url, script in scenarios:
            # Comments are durable writes: fewer connections, as a newsroom's readers would send.
            result = wrk(url, d, min(c, 16) if name == "comments" else c, script, pids=[server.process.pid])
            result["rss_mib"] = rss_mib(server.process.pid)
            result["ratio"] = result["rps"] / reference["rps"]
            rounds[name].append(result)
    peak_rss = max([r["rss_mib"] for runs in rounds.values() for r in runs if "rss_mib" in r] + [rss_idle])
    peak_with_mapped = rss_mib(server.process.pid, "VmHWM")
    server.stop()
    nginx.stop()

    in_flight = mode["connections"] * mode["rounds"]
    counted = sum(r.get("matched", 0) for r in rounds["beacon"])
    acknowledged = sum(r.get("matched", 0) for r in rounds["comments"])
    views_after = db_scalar(data_dir, "SELECT COALESCE(SUM(view_count), 0) FROM articles")
    comments_after = db_scalar(data_dir, "SELECT COUNT(*) FROM comments")
    summary = summarize(rounds)
    return {
        "articles": size,
        "startup_ms": startup_ms,
        "rss_idle_mib": rss_idle,
        "rss_peak_mib": peak_rss,
        "vm_hwm_mib": peak_with_mapped,
        "paths": {"article": article, "section": section, "author": author, "long_tail_sample": len(long_tail)},
        "scenarios": summary,
        # wrk stops reading at the deadline, so up to one request per connection per run is
        # processed by the server without wrk seeing the answer: the totals may exceed what wrk
        # saw acknowledged by at most that, and must never fall short of it.
        "checks": {
            "views_accepted": counted,
            "views_added_to_totals": views_after - views_before,
            "views_exact": 0 <= (views_after - views_before) - counted <= in_flight,
            "comments_acknowledged": acknowledged,
            "comments_stored": comments_after - comments_before,
            "comments_durable": 0 <= (comments_after - comments_before) - acknowledged <= in_flight,
            "in_flight_bound": in_flight,
        },
    }


def pg_paths(url, limit):
    rows = psql(url, "SELECT s.slug || '/' || a.slug FROM articles a JOIN sections s ON s.id = a.section_id "
                     "WHERE a.status = 'published' ORDER BY a.published_at DESC LIMIT 1")
    article = "/" + rows
    sample = psql(url, "SELECT s.slug || '/' || a.slug FROM articles a JOIN sections s ON s.id = a.section_id "
                       f"WHERE a.status = 'published' ORDER BY md5(a.id::text) LIMIT {limit}").splitlines()
    section = psql(url, "SELECT slug FROM sections ORDER BY position LIMIT 1")
    author = psql(url, "SELECT au.slug FROM authors au JOIN article_authors aa ON aa.author_id = au.id "
                       "GROUP BY au.id ORDER BY COUNT(*) DESC LIMIT 1")
    return article, ["/" + p for p in sample], f"/{section}", f"/authors/{author}"


def bench_postgres(size, mode, work):
    """The page scenarios on PostgreSQL: one node, then two nodes on the same database."""
    url = ensure_pg_dataset(size)
    article, long_tail, section, author = pg_paths(url, 20_000)
    data_a, data_b = work / f"pg-{size}-a", work / f"pg-{size}-b"
    data_a.mkdir()
    data_b.mkdir()
    node_a = Server(data_a, work / f"pg-{size}-a.log", url)
    startup_ms = node_a.startup_ms
    page = node_a.get(article)
    nginx = Nginx(work / f"nginx-pg-{size}", page)
    script = lua_paths(work, f"pg-longtail-{size}", long_tail)
    scenarios = [("article_warm", article, None), ("long_tail", "/", script), ("home", "/", None),
                 ("section", section, None), ("author", author, None)]
    d, c = mode["duration"], mode["connections"]
    results = {"nginx": []}
    for nodes in (1, 2):
        servers = [node_a] if nodes == 1 else [node_a, Server(data_b, work / f"pg-{size}-b.log", url)]
        for round_number in range(1, mode["rounds"] + 1):
            log(f"  PostgreSQL, {size:,} articles, {nodes} node(s): round {round_number}/{mode['rounds']}")
            reference = wrk(nginx.url, d, c, pids=nginx.pids())
            results["nginx"].append(reference)
            for name, path, lua in scenarios:
                key = f"{name}_{nodes}node"
                pids = [s.process.pid for s in servers]
                if nodes == 1:
                    run = wrk(node_a.base + path, d, c, lua, pids=pids)
                else:
                    # One wrk per node at the same time, each with half the connections.
                    procs = [subprocess.Popen(
                        ["wrk", "-t1", f"-c{c // 2}", f"-d{d}s", "--latency", "--timeout", "5s"]
                        + (["-s", str(lua)] if lua else []) + [s.base + path],
                        stdout=subprocess.PIPE, text=True) for s in servers]
                    outs = [parse_wrk(p.communicate()[0]) for p in procs]
                    run = dict(rps=sum(o["rps"] for o in outs), p50=max(o["p50"] for o in outs),
                               p99=max(o["p99"] for o in outs), errors=sum(o["errors"] for o in outs),
                               requests=sum(o["requests"] for o in outs), cpu_us_per_req=float("nan"))
                run["ratio"] = run["rps"] / reference["rps"]
                run["rss_mib"] = max(rss_mib(s.process.pid) for s in servers)
                results.setdefault(key, []).append(run)
        if nodes == 2:
            servers[1].stop()
    node_a.stop()
    nginx.stop()
    summary = summarize(results)
    return {"articles": size, "backend": "postgres", "startup_ms": startup_ms, "rss_idle_mib": float("nan"),
            "rss_peak_mib": float("nan"), "paths": {"article": article, "section": section, "author": author},
            "scenarios": summary, "checks": None}


def print_table(report):
    for result in report["sizes"]:
        print(f"\n{result['articles']:,} articles: start-up {result['startup_ms']:.0f} ms, "
              f"RSS idle {result['rss_idle_mib']:.0f} MiB, peak {result['rss_peak_mib']:.0f} MiB (anonymous; "
              f"{result.get('vm_hwm_mib', float('nan')):.0f} MiB counting the mapped database)")
        print(f"{'scenario':<20}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU µs/req':>12}{'RSS MiB':>9}{'vs nginx':>10}")
        for name, s in result["scenarios"].items():
            rss = "" if s["rss_mib"] != s["rss_mib"] else f"{s['rss_mib']:.0f}"
            print(f"{name:<20}{s['req_per_sec']:>10.0f}{s['p50_ms']:>9.2f}{s['p99_ms']:>9.2f}{s['errors']:>8}"
                  f"{s['cpu_us_per_req']:>12.1f}{rss:>9}{s['ratio_to_nginx']:>9.2f}x")
        checks = result["checks"]
        if checks is None:
            continue
        print(f"views: {checks['views_accepted']} acknowledged as counted, {checks['views_added_to_totals']} in totals "
              f"({'none lost' if checks['views_exact'] else 'MISMATCH'}); comments: {checks['comments_acknowledged']} "
              f"acknowledged, {checks['comments_stored']} stored ({'none lost' if checks['comments_durable'] else 'MISMATCH'}); "
              f"at most {checks['in_flight_bound']} answered after wrk's deadline")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=MODES, default="full")
    parser.add_argument("--sizes", help="comma-separated dataset sizes, overriding the mode's")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=int)
    parser.add_argument("--postgres", action="store_true",
                        help="run the page scenarios on PostgreSQL, with one and with two nodes")
    args = parser.parse_args()
    mode = dict(MODES[args.mode])
    if args.sizes:
        mode["sizes"] = [int(s) for s in args.sizes.split(",")]
    if args.rounds:
        mode["rounds"] = args.rounds
    if args.duration:
        mode["duration"] = args.duration
    report = {
        "mode": args.mode,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "load": {"tool": "wrk", "threads": 2, "connections": mode["connections"],
                 "seconds_per_run": mode["duration"], "rounds": mode["rounds"]},
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="broadsheet-bench-") as tmp:
        for size in mode["sizes"]:
            run = bench_postgres if args.postgres else bench_size
            report["sizes"].append(run(size, mode, Path(tmp)))
    RESULTS.mkdir(exist_ok=True)
    suffix = f"{args.mode}-postgres" if args.postgres else args.mode
    out = RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{suffix}.json"
    out.write_text(json.dumps(report, indent=2))
    print_table(report)
    print(f"\nwritten to {out.relative_to(ROOT)}")
    failed = [r["articles"] for r in report["sizes"]
              if r["checks"] is not None and not (r["checks"]["views_exact"] and r["checks"]["comments_durable"])]
    if failed:
        print(f"correctness checks failed at {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
