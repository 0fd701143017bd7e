#!/usr/bin/env python3
"""vr-bgpd's HTTP API: on loopback by default, every request needs the bearer token.

In a namespace of its own: without --api-token-file the API is off (nothing listens on
its port); with one, the token file is created 0600, the API listens on 127.0.0.1 only,
a request without the token or with a wrong one is answered 401 (also POST /routes,
which must not originate anything), vr-bgpctl with --token-file works and without it
refuses; a token file that the group can read, or a symlink, stops vr-bgpd at start.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, log, main_test, run, wait_until  # noqa: E402

API = "127.0.0.1:50179"

CLIENT = r"""
import json, sys, urllib.request, urllib.error
method, path, token = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request("http://127.0.0.1:50179" + path, method=method,
                             data=sys.argv[4].encode() if method == "POST" else None)
if token:
    req.add_header("Authorization", "Bearer " + token)
try:
    r = urllib.request.urlopen(req, timeout=5)
    print(json.dumps({"status": r.status, "body": r.read().decode()}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read().decode()}))
"""


ROUTE = json.dumps({"family": "evpn", "type": "multicast", "rd": "192.0.2.1:100", "label": 100, "rt": ["65000:100"],
                    "next-hop": "192.0.2.1"})


def http(lab, ns, method, path, token=""):
    r = lab.nsrun(ns, [sys.executable, "-c", CLIENT, method, path, token, ROUTE])
    return json.loads(r.stdout)


def listening(lab, ns):
    return run(["ip", "netns", "exec", ns, "ss", "-Hltn", "sport", "= :50179"]).stdout


def body(lab):
    ns = lab.netns("auth")
    bgpd = os.path.join(lab.bin, "vr-bgpd")
    ctl = os.path.join(lab.bin, "vr-bgpctl")
    base = [bgpd, "--local-as", "65000", "--router-id", "192.0.2.1", "--no-listen"]

    p = lab.spawn(ns, base, "no-token.log")
    wait_until("vr-bgpd up", lambda: "HTTP API off" in open(os.path.join(lab.tmp, "no-token.log")).read(), 15)
    check(listening(lab, ns).strip() == "", "without --api-token-file nothing listens on the API port")
    p.terminate()
    p.wait(10)

    token_file = os.path.join(lab.tmp, "api.token")
    lab.spawn(ns, base + ["--api-token-file", token_file], "bgpd.log")
    wait_until("API listening", lambda: listening(lab, ns).strip(), 15)
    check(os.stat(token_file).st_mode & 0o777 == 0o600, "token file created with mode 0600")
    token = open(token_file).read().strip()
    check(len(token) >= 32, "a random token of 32 hex digits")
    local = [line.split()[3] for line in listening(lab, ns).splitlines()]  # State Recv-Q Send-Q Local Peer
    check(local == [API], f"API on loopback only by default: {local}")

    for method, path in (("GET", "/summary"), ("GET", "/neighbors"), ("GET", "/rib?family=evpn"), ("GET", "/metrics"),
                         ("POST", "/routes"), ("POST", "/neighbors/reset?address=192.0.2.9")):
        r = http(lab, ns, method, path)
        check(r["status"] == 401 and "bearer token" in r["body"], f"{method} {path} without a token: 401")
    r = http(lab, ns, "POST", "/routes", "0" * len(token))
    check(r["status"] == 401, "POST /routes with a wrong token of the right length: 401")
    r = http(lab, ns, "GET", "/summary", token)
    check(r["status"] == 200 and json.loads(r["body"])["families"]["evpn"]["routes"] == 0,
          "the right token: 200, and the refused POSTs originated nothing")
    r = http(lab, ns, "POST", "/routes", token)
    check(r["status"] == 200, f"the same POST /routes with the token originates the route: {r['body']}")
    r = http(lab, ns, "GET", "/summary", token)
    check(json.loads(r["body"])["families"]["evpn"]["routes"] == 1, "one EVPN route now")

    out = lab.nsrun(ns, [ctl, "--api", API, "--token-file", token_file, "-j", "show", "summary"])
    check("families" in json.loads(out.stdout), "vr-bgpctl --token-file shows the summary")
    bad = lab.nsrun(ns, [ctl, "--api", API, "-j", "show", "summary"], check=False)
    check(bad.returncode != 0 and "--token-file" in bad.stderr, "vr-bgpctl without a token file refuses: " + bad.stderr.strip())

    # Secrets others can read, or a symlink someone planted, stop the daemon at start.
    loose = os.path.join(lab.tmp, "loose.token")
    with open(loose, "w") as f:
        f.write("x" * 32 + "\n")
    os.chmod(loose, 0o640)
    link = os.path.join(lab.tmp, "link.token")
    os.symlink(token_file, link)
    for path, why in ((loose, "readable by group or others"), (link, "symbolic link")):
        r = run(["ip", "netns", "exec", ns] + base + ["--api", "127.0.0.1:50180", "--api-token-file", path],
                check=False, timeout=15)
        check(r.returncode != 0 and why in r.stdout + r.stderr, f"vr-bgpd refuses a token file: {why}")
    check(open(token_file).read().strip() == token, "the symlink's target was not overwritten")
    log(f"done in {time.process_time():.1f} s of CPU")


if __name__ == "__main__":
    sys.exit(main_test("bgp_api_auth", body))
