#!/usr/bin/env python3
"""Raced attempt limits and old set-password links, against a real server (issue 9, findings 4 and 7).

  1. 120 wrong passwords for one account, sent all at once from 120 different (forwarded)
     addresses, so only the per-account limit (5) applies: at most 5 may be checked (401); the rest
     must be refused (429), and afterwards even the right password is refused for that account.
  2. An administrator issues two set-password links for one person; the newer one is used; the
     older one must then be refused, and the person's other sessions must have ended.

    python3 tests/chaos/limits.py [--backend postgres]
"""

import argparse
import concurrent.futures
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chaoslib import PASSWORD, Member, Server, fail, form_token, log, request  # noqa: E402

PARALLEL = 120
ACCOUNT_LIMIT = 5


def raced_sign_ins(server):
    server.add_user("target@chaos.test", "author")

    def attempt(i):
        member = Member(server, "target@chaos.test", sign_in=False)
        headers = {"X-Forwarded-For": f"10.77.{i // 250}.{i % 250 + 1}"}
        return member.sign_in("target@chaos.test", password=f"wrong guess {i}", headers=headers)

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(attempt, range(PARALLEL)))
    counts = {status: answers.count(status) for status in sorted(set(answers))}
    checked = counts.get(401, 0)
    log(f"1. {PARALLEL} parallel wrong passwords for one account in {time.time() - started:.1f} s: {counts}")
    if set(counts) - {401, 429, 503}:
        fail(f"unexpected answers to raced sign-ins: {counts}")
    if checked > ACCOUNT_LIMIT:
        fail(f"{checked} wrong passwords were checked; the account limit is {ACCOUNT_LIMIT}")
    if counts.get(429, 0) == 0:
        fail("no raced sign-in was refused by the account limit")
    status = Member(server, "target@chaos.test", sign_in=False).sign_in(
        "target@chaos.test", headers={"X-Forwarded-For": "10.78.0.1"})
    if status != 429:
        fail(f"the right password right after the race answered {status}; the account should be locked")
    log(f"1. {checked} of {PARALLEL} checked (limit {ACCOUNT_LIMIT}); the account is locked afterwards")


def old_links(server):
    server.add_user("admin@chaos.test", "admin")
    server.add_user("person@chaos.test", "author")
    admin = Member(server, "admin@chaos.test", headers=headers_for_sign_in())
    person = Member(server, "person@chaos.test", headers=headers_for_sign_in())
    if not (admin.signed_in and person.signed_in):
        fail("the administrator or the person could not sign in")
    user_id = server.query("SELECT id FROM users WHERE email = 'person@chaos.test'")

    def new_link():
        status, _, page = admin.post(f"/admin/users/{user_id}", [("action", "reset")])
        match = re.search(r'value="(https?://[^"]+/admin/set-password/[^"]+)"', page)
        if status != 200 or not match:
            fail(f"issuing a link answered {status}")
        return match.group(1).split("/admin/set-password/")[1]

    older, newer = new_link(), new_link()

    def use(token, password):
        jar = Member(server, "person@chaos.test", sign_in=False)
        _, _, page = jar.get(f"/admin/set-password/{token}")
        return request(f"{server.base}/admin/set-password/{token}",
                       [("_csrf", form_token(page) or ""), ("password", password), ("confirm", password)],
                       opener=jar.opener)

    status, _, _ = use(newer, "a brand new passphrase 1")
    if status != 303:
        fail(f"using the newer link answered {status}")
    status, _, page = use(older, "an attacker's passphrase 2")
    if status == 303:
        fail("the older link still set a password after a newer one was used")
    if Member(server, "person@chaos.test", "an attacker's passphrase 2", headers=headers_for_sign_in()).signed_in:
        fail("the password set through the older link works")
    status, _, _ = person.get("/admin")
    if status == 200:
        fail("the person's other session still works after the password was set through a link")
    log(f"2. the older link is refused ({status} for the old session, the link answered with the form again)")


_next_address = [0]


def headers_for_sign_in():
    """A fresh forwarded address per sign-in, so part 1's locked addresses play no part here."""
    _next_address[0] += 1
    return {"X-Forwarded-For": f"10.79.0.{_next_address[0]}"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    server = Server(backend=args.backend, demo=False, config="[server]\nproxy_hops = 1\n")
    try:
        raced_sign_ins(server)
        old_links(server)
    finally:
        server.cleanup()
    log(f"{args.backend}: passed")


if __name__ == "__main__":
    main()
