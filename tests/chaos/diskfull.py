#!/usr/bin/env python3
"""Disk full on SQLite: the data directory on a small tmpfs is filled while readers read, commenters
comment and an editor autosaves; then the space comes back.

Checks, in two rounds:
  A. with the watermark off, the disk really fills (ENOSPC inside SQLite):
     - readers get 200 throughout; no request answers 500;
     - refused comments get 503 with Retry-After and their text back in the form;
     - an image uploaded while the disk is full gets 503 saying so, and leaves neither a media
       record nor a file behind;
     - once space returns, comments, autosaves and sign-ins work again without a restart;
     - after a clean shutdown every comment that was answered "published" is in the database and
       `PRAGMA integrity_check` says ok.
  B. with the watermark on (storage.min_free_mib), writes are refused before the disk is full,
     /readyz reports "storage_full", and everything resumes once space is back.
Needs root (it mounts a tmpfs). Bounded: about a minute.
"""

import json
import os
import re
import secrets
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from chaoslib import Member, Server, fail, log, request, wait_for  # noqa: E402
from uploads import BOUNDARY, multipart  # noqa: E402

REFERENCE = "/asia/kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un"
TMPFS_MIB = 64


class Episode:
    """Traffic against one server while the disk fills and empties; records every answer."""

    def __init__(self, server, editor, draft_id, section_id):
        self.section_id = section_id
        self.server = server
        self.editor = editor
        self.draft_id = draft_id
        self.stop = threading.Event()
        self.stop_autosaves = threading.Event()
        self.lock = threading.Lock()
        self.published = []  # comment bodies answered "published"
        self.statuses = {"comment": {}, "read": {}, "autosave": {}}
        self.kept_text_on_refusal = 0
        self.refusals = 0
        self.bad = []

    def note(self, kind, status, what=""):
        with self.lock:
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1
            if status == 500 or status == 0:
                self.bad.append(f"{kind} answered {status} {what[:200]}")

    def commenter(self, worker):
        n = 0
        while not self.stop.is_set():
            n += 1
            body = f"Comment {worker}-{n} {secrets.token_hex(4)} from the disk-full test."
            status, headers, page = request(f"{self.server.base}{REFERENCE}/comments",
                                            {"name": f"Reader {worker}", "body": body})
            self.note("comment", status, page)
            if status == 303 and "comment=published" in headers.get("Location", ""):
                with self.lock:
                    self.published.append(body)
            elif status == 503:
                with self.lock:
                    self.refusals += 1
                    if body in page:
                        self.kept_text_on_refusal += 1
                    if not headers.get("Retry-After"):
                        self.bad.append("a refused comment came without Retry-After")
            time.sleep(0.01)

    def reader(self):
        while not self.stop.is_set():
            status, _, _ = request(f"{self.server.base}{REFERENCE}")
            self.note("read", status)
            if status != 200:
                with self.lock:
                    self.bad.append(f"a reader got {status}")
            time.sleep(0.02)

    def autosaver(self):
        # Large drafts, as the review's filler: each save is a new revision of about 400 KB (body and HTML).
        n = 0
        while not self.stop.is_set() and not self.stop_autosaves.is_set():
            n += 1
            text = f"Autosave {n}. " + secrets.token_hex(95_000)
            status, page = autosave(self.editor, self.draft_id, self.section_id, text)
            self.note("autosave", status, page)
            time.sleep(0.05)


def autosave(editor, draft_id, section_id, text):
    """One autosave based on the version the last one made, as the editor's script does."""
    status, _, page = editor.post(f"/admin/articles/{draft_id}/autosave",
                                  [("version", editor.version), ("headline", "A long draft"),
                                   ("section", section_id), ("body", text)])
    if status == 200:
        editor.version = str(json.loads(page)["version"])
    return status, page


def fill(mount, leave_bytes):
    """Creates a filler file that leaves about `leave_bytes` free on the tmpfs."""
    stats = os.statvfs(mount)
    free = stats.f_bavail * stats.f_frsize
    size = max(0, free - leave_bytes)
    path = os.path.join(mount, "filler.bin")
    with open(path, "ab") as f:
        chunk = b"\0" * (1 << 20)
        written = 0
        while written < size:
            try:
                f.write(chunk[: min(len(chunk), size - written)])
                f.flush()
            except OSError:
                break
            written += min(len(chunk), size - written)
    return path


def free_mib(mount):
    stats = os.statvfs(mount)
    return stats.f_bavail * stats.f_frsize / (1 << 20)


def noise_png(side):
    """A valid RGB PNG of random pixels: it cannot be compressed, so its file is about side² × 3
    bytes, larger than what is left on the full disk."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + os.urandom(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def upload_while_full(server, editor, data_dir, name):
    """An upload that cannot be written: 503 with the reason, and nothing recorded or left behind."""
    media_dir = os.path.join(data_dir, "media")
    before = set(os.listdir(media_dir)) if os.path.isdir(media_dir) else set()
    status, headers, page = request(f"{server.base}/admin/media", multipart(editor.csrf, "noise.png", noise_png(800)),
                                    opener=editor.opener, timeout=30,
                                    headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    if status != 503 or "storage is full" not in page or not headers.get("Retry-After"):
        fail(f"round {name}: an upload while the disk was full answered {status}: {page[:300]}")
    left = (set(os.listdir(media_dir)) if os.path.isdir(media_dir) else set()) - before
    if left:
        fail(f"round {name}: the refused upload left files behind: {left}")
    if server.query("SELECT COUNT(*) FROM media WHERE original_name = 'noise.png'") != "0":
        fail(f"round {name}: the refused upload was recorded")
    log(f"round {name}: an upload while full was refused with 503, nothing stored")


def new_draft(editor, section_id):
    status, headers, body = editor.post("/admin/articles", [("headline", "Draft written during the disk test"),
                                                            ("section", section_id), ("body", "First words.")])
    if status != 303:
        fail(f"creating a draft answered {status}: {body[:300]}")
    return int(re.search(r"/admin/articles/(\d+)", headers["Location"]).group(1))


def run_round(mount, name, watermark_mib):
    data_dir = os.path.join(mount, f"data-{name}")
    config = ("[comments]\nper_ip_per_minute = 1000000\n[views]\nflush_interval_secs = 1\n"
              f"[storage]\nmin_free_mib = {watermark_mib}\ncheck_interval_ms = 200\n")
    server = Server(demo=True, config=config, data_dir=data_dir)
    try:
        server.add_user("editor@news.test", "editor")
        editor = Member(server, "editor@news.test")
        if not editor.signed_in:
            fail(f"round {name}: the editor could not sign in before the episode")
        section_id = server.query("SELECT id FROM sections ORDER BY position, id LIMIT 1")
        draft = new_draft(editor, section_id)
        editor.version = re.search(r'name="version" value="(\d+)"', editor.get(f"/admin/articles/{draft}")[2]).group(1)
        episode = Episode(server, editor, draft, section_id)
        threads = [threading.Thread(target=episode.commenter, args=(i,)) for i in range(3)]
        autosaver = threading.Thread(target=episode.autosaver)
        threads += [threading.Thread(target=episode.reader), autosaver]
        for t in threads:
            t.start()
        time.sleep(1)
        # Fill the disk: to 1 MiB free with the watermark off (SQLite then hits ENOSPC), or to
        # just under the watermark with it on.
        leave = (1 << 20) if watermark_mib == 0 else (watermark_mib << 20) // 2
        filler = fill(mount, leave)
        log(f"round {name}: filled the tmpfs, {free_mib(mount):.1f} MiB free")
        time.sleep(4)
        if watermark_mib:
            _, _, ready = request(f"{server.base}/readyz")
            if '"storage_full"' not in ready:
                fail(f"round {name}: /readyz does not report the full disk: {ready}")
            log(f"round {name}: /readyz while full: {ready}")
        with episode.lock:
            refused_while_full = episode.refusals
        if not watermark_mib:
            upload_while_full(server, editor, data_dir, name)
        signin_while_full = Member(server, "editor@news.test", sign_in=False).sign_in("editor@news.test")
        if signin_while_full == 500:
            fail(f"round {name}: a sign-in while the disk was full answered 500")
        os.remove(filler)
        log(f"round {name}: space returned, {free_mib(mount):.1f} MiB free")
        # Recovery without a restart: a comment, an autosave and a sign-in must work again.
        def comment_works():
            body = f"After the episode {secrets.token_hex(4)}"
            status, headers, _ = request(f"{server.base}{REFERENCE}/comments", {"name": "Recovery", "body": body})
            if status == 303 and "comment=published" in headers.get("Location", ""):
                with episode.lock:
                    episode.published.append(body)
                return True
            return False
        took = wait_for(f"round {name}: comments accepted again", comment_works, 15, interval=0.2)
        log(f"round {name}: comments accepted again {took:.2f} s after space returned")
        fresh = Member(server, "editor@news.test", sign_in=False)
        wait_for(f"round {name}: sign-in works again", lambda: fresh.sign_in("editor@news.test") == 303, 15, 0.2)
        # The episode's autosaves stop first: two autosaves of one draft at once would (rightly)
        # refuse the second as based on an old version.
        episode.stop_autosaves.set()
        autosaver.join(timeout=30)
        status, page = autosave(editor, draft, section_id, "Saved after the episode.")
        if status != 200:
            fail(f"round {name}: autosave after recovery answered {status}: {page[:300]}")
        if watermark_mib:
            wait_for(f"round {name}: /readyz ready again",
                     lambda: '"status":"ready"' in request(f"{server.base}/readyz")[2], 5, 0.1)
        time.sleep(1)
        episode.stop.set()
        for t in threads:
            t.join(timeout=30)
        log(f"round {name}: answers {episode.statuses}; {refused_while_full} comments refused while full, "
            f"{episode.kept_text_on_refusal} of {episode.refusals} refusals kept the text")
        if episode.bad:
            fail(f"round {name}: {len(episode.bad)} bad answers, first: {episode.bad[:3]}")
        if refused_while_full == 0:
            fail(f"round {name}: no comment was refused while the disk was full: the episode did not happen")
        if episode.kept_text_on_refusal != episode.refusals:
            fail(f"round {name}: {episode.refusals - episode.kept_text_on_refusal} refused comments lost their text")
        server.stop()
        stored = {row[0] for row in server.rows("SELECT body FROM comments")}
        missing = [b for b in episode.published if b not in stored]
        if missing:
            fail(f"round {name}: {len(missing)} of {len(episode.published)} acknowledged comments are missing")
        integrity = server.query("PRAGMA integrity_check")
        if integrity != "ok":
            fail(f"round {name}: integrity_check says {integrity}")
        log(f"round {name}: all {len(episode.published)} acknowledged comments stored; integrity_check ok")
    finally:
        server.cleanup()


def main():
    if os.geteuid() != 0:
        print("[chaos:diskfull] SKIPPED: mounting a tmpfs needs root", flush=True)
        return
    mount = tempfile.mkdtemp(prefix="broadsheet-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MIB}m", "tmpfs", mount], check=True)
    try:
        run_round(mount, "A", 0)
        run_round(mount, "B", 16)
    finally:
        subprocess.run(["umount", "-l", mount], check=False)
    log("disk-full checks passed")


if __name__ == "__main__":
    main()
