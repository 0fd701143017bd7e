"""REST API of vr-controller over real HTTP: CRUD, references, conflicts, auth and
tenant isolation, IPAM (fixed, exhaustion, concurrency), bad input, watch, metrics.
usage: python3 test_api.py PATH/TO/vr-controller"""
import hashlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import unittest

from ctlharness import Controller, network

BINARY = None
D = "default-domain"


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ctl = Controller(BINARY, extra_args=["--max-body-bytes", "65536"]).start()
        cls.c = cls.ctl.client()

    @classmethod
    def tearDownClass(cls):
        cls.ctl.cleanup()

    def err(self, resp, status, *fragments):
        code, body = resp
        self.assertEqual(code, status, body)
        msg = body["error"]["message"]
        for f in fragments:
            self.assertIn(f, msg)
        return body["error"]

    def revision(self):
        return int([l for l in self.c.get("/metrics")[1].splitlines()
                    if l.startswith("vrf_controller_revision ")][0].split()[1])

    # ---------------------------------------------------------------- CRUD
    def test_crud_and_filters(self):
        c = self.c
        vn = network(c, "crud", "web", ["10.10.0.0/24"])
        got = c.must(c.get("/virtual-network/" + vn))["virtual-network"]
        self.assertEqual(got["fq_name"], [D, "crud", "web"])
        self.assertTrue(1 <= got["vni"] <= 16777215)
        self.assertRegex(got["route_target_list"][0], r"^target:64512:8\d{6}$")
        sub = got["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]
        self.assertEqual(sub["default_gateway"], "10.10.0.1")
        # partial update keeps the rest
        upd = c.must(c.put("/virtual-network/" + vn, {"virtual-network": {"display_name": "Web tier"}}))
        self.assertEqual(upd["virtual-network"]["display_name"], "Web tier")
        self.assertEqual(upd["virtual-network"]["vni"], got["vni"])
        self.assertGreater(upd["virtual-network"]["revision"], got["revision"])
        self.err(c.put("/virtual-network/" + vn, {"virtual-network": {"fq_name": [D, "crud", "x"]}}), 400, "fq_name")
        # filters
        for i in range(5):
            c.must(c.create("virtual-network", "virtual-networks", {"fq_name": [D, "crud", "n%d" % i]}))
        lst = c.must(c.get("/virtual-networks?parent_fq_name=default-domain:crud"))["virtual-networks"]
        self.assertEqual(len(lst), 6)
        one = c.must(c.get("/virtual-networks?fq_name=default-domain:crud:n3&detail=true"))["virtual-networks"]
        self.assertEqual(len(one), 1)
        self.assertIn("vni", one[0])
        # pagination: limit + marker walk returns everything exactly once
        seen, marker = [], 0
        while True:
            page = c.must(c.get("/virtual-networks?parent_fq_name=default-domain:crud&limit=4&marker=%d" % marker))
            seen += [x["uuid"] for x in page["virtual-networks"]]
            if "next_marker" not in page:
                break
            marker = page["next_marker"]
        self.assertEqual(sorted(seen), sorted(x["uuid"] for x in lst))
        self.err(c.get("/virtual-networks?colour=red"), 400, "colour")
        # fq_name <-> id
        self.assertEqual(c.must(c.post("/fqname-to-id", {"type": "virtual-network",
                                                          "fq_name": [D, "crud", "web"]}))["uuid"], vn)
        self.assertEqual(c.must(c.post("/id-to-fqname", {"uuid": vn}))["fq_name"], [D, "crud", "web"])
        self.err(c.post("/fqname-to-id", {"type": "virtual-network", "fq_name": [D, "crud", "nope"]}), 404)
        # delete
        n0 = c.must(c.post("/fqname-to-id", {"type": "virtual-network", "fq_name": [D, "crud", "n0"]}))["uuid"]
        c.must(c.delete("/virtual-network/" + n0))
        self.err(c.get("/virtual-network/" + n0), 404)

    def test_tags_and_tag_filter(self):
        c = self.c
        c.create("project", "projects", {"fq_name": [D, "tagged"]})
        t = c.must(c.create("tag", "tags", {"fq_name": [D, "tagged", "tier=web"], "tag_type_name": "tier",
                                           "tag_value": "web"}))["tag"]
        self.assertEqual(t["tag_id"] >> 16, 2)
        self.err(c.create("tag", "tags", {"fq_name": [D, "tagged", "web"], "tag_type_name": "tier",
                                         "tag_value": "web"}), 400, "tier=web")
        c.must(c.create("virtual-machine", "virtual-machines", {"fq_name": [D, "tagged", "vm1"],
                                                              "tag_refs": [{"to": [D, "tagged", "tier=web"]}]}))
        c.must(c.create("virtual-machine", "virtual-machines", {"fq_name": [D, "tagged", "vm2"]}))
        vms = c.must(c.get("/virtual-machines?tag=tier%3Dweb"))["virtual-machines"]
        self.assertEqual([v["fq_name"][-1] for v in vms], ["vm1"])
        custom = c.must(c.create("tag", "tags", {"fq_name": [D, "tagged", "instance=a"],
                                                "tag_type_name": "instance", "tag_value": "a"}))["tag"]
        custom2 = c.must(c.create("tag", "tags", {"fq_name": [D, "tagged", "instance=b"],
                                                 "tag_type_name": "instance", "tag_value": "b"}))["tag"]
        self.assertEqual(custom["tag_id"] >> 16, custom2["tag_id"] >> 16)
        self.assertNotEqual(custom["tag_id"], custom2["tag_id"])

    # ---------------------------------------------------------- references
    def test_reference_integrity(self):
        c = self.c
        vn = network(c, "refs", "net", ["10.20.0.0/24"])
        e = self.err(c.create("virtual-machine-interface", "virtual-machine-interfaces", {
            "fq_name": [D, "refs", "p1"], "virtual_network_refs": [{"to": [D, "refs", "ghost"]}]}),
            400, "virtual_network_refs[0]", "ghost")
        self.assertEqual(e["field"], "virtual_network_refs[0]")
        self.err(c.create("virtual-machine-interface", "virtual-machine-interfaces",
                          {"fq_name": [D, "refs", "p1"]}), 400, "virtual_network_refs")
        vmi = c.must(c.create("virtual-machine-interface", "virtual-machine-interfaces", {
            "fq_name": [D, "refs", "p1"], "virtual_network_refs": [{"to": [D, "refs", "net"]}]}))
        vmi = vmi["virtual-machine-interface"]
        e = self.err(c.delete("/virtual-network/" + vn), 409, "still referenced", "virtual-machine-interface",
                     "default-domain:refs:p1")
        self.assertEqual(e["details"]["referrers"][0]["uuid"], vmi["uuid"])
        self.assertIn("virtual_machine_interface_back_refs", c.must(c.get("/virtual-network/" + vn))["virtual-network"])
        self.err(c.create("virtual-machine-interface", "virtual-machine-interfaces", {
            "fq_name": [D, "refs", "p1"], "virtual_network_refs": [{"uuid": vn}]}), 409, "already exists")
        proj = c.must(c.post("/fqname-to-id", {"type": "project", "fq_name": [D, "refs"]}))["uuid"]
        self.err(c.delete("/project/" + proj), 409, "children")
        self.err(c.create("virtual-network", "virtual-networks", {"fq_name": [D, "nowhere", "x"]}),
                 400, "parent default-domain:nowhere")
        c.must(c.delete("/virtual-machine-interface/" + vmi["uuid"]))
        c.must(c.delete("/virtual-network/" + vn))

    # ------------------------------------------------------ auth / tenancy
    def test_auth_and_tenant_isolation(self):
        admin = self.c
        a_vn = network(admin, "tenant-a", "net", ["10.30.0.0/24"])
        b_vn = network(admin, "tenant-b", "net", ["10.31.0.0/24"])
        for tok in (None, "", "bogus"):
            cl = self.ctl.client(token=tok or "")
            if tok is None:
                cl.token = None
            self.err(cl.get("/virtual-networks"), 401)
        member_a = self.ctl.client(admin.token_for("default-domain:tenant-a", "member"))
        reader_a = self.ctl.client(admin.token_for("default-domain:tenant-a", "reader"))
        # member sees own objects, not the other tenant's
        names = [x["fq_name"] for x in member_a.must(member_a.get("/virtual-networks"))["virtual-networks"]]
        self.assertIn([D, "tenant-a", "net"], names)
        self.assertNotIn([D, "tenant-b", "net"], names)
        self.err(member_a.get("/virtual-network/" + b_vn), 404)
        self.err(member_a.put("/virtual-network/" + b_vn, {"virtual-network": {"display_name": "pwned"}}), 404)
        self.err(member_a.delete("/virtual-network/" + b_vn), 404)
        self.err(member_a.create("virtual-network", "virtual-networks", {"fq_name": [D, "tenant-b", "evil"]}), 400)
        self.err(member_a.create("virtual-machine-interface", "virtual-machine-interfaces", {
            "fq_name": [D, "tenant-a", "sneaky"], "virtual_network_refs": [{"uuid": b_vn}]}), 400)
        self.err(member_a.create("project", "projects", {"fq_name": [D, "tenant-c"]}), 403)
        self.err(member_a.post("/tokens", {"project": "default-domain:tenant-a", "role": "admin"}), 403)
        member_a.must(member_a.put("/virtual-network/" + a_vn, {"virtual-network": {"display_name": "ours"}}))
        self.assertNotEqual(admin.must(admin.get("/virtual-network/" + b_vn))["virtual-network"].get("display_name"),
                            "pwned")
        # reader reads, never writes
        reader_a.must(reader_a.get("/virtual-network/" + a_vn))
        self.err(reader_a.put("/virtual-network/" + a_vn, {"virtual-network": {"display_name": "x"}}), 403)
        self.err(reader_a.create("virtual-machine", "virtual-machines", {"fq_name": [D, "tenant-a", "vm"]}), 403)
        # global objects are readable, not writable
        member_a.must(member_a.get("/global-system-configs"))
        gsc = member_a.must(member_a.get("/global-system-configs"))["global-system-configs"][0]["uuid"]
        self.err(member_a.put("/global-system-config/" + gsc, {"global-system-config": {"ibgp_auto_mesh": True}}), 403)
        # revoked tokens stop working
        toks = admin.must(admin.get("/tokens"))["tokens"]
        tid = [t for t in toks if t["role"] == "reader"][-1]["id"]
        admin.must(admin.delete("/token/" + tid))
        self.err(reader_a.get("/virtual-networks"), 401)

    # ------------------------------------------------------------- IPAM
    def test_fixed_ips_and_release(self):
        c = self.c
        vn = network(c, "ipam", "fixed", ["10.40.0.0/24", "2001:db8:40::/64"])
        def iip(name, **props):
            body = {"fq_name": [D, "ipam", name], "virtual_network_refs": [{"uuid": vn}]}
            body.update(props)
            return c.create("instance-ip", "instance-ips", body)
        a = c.must(iip("a", instance_ip_address="10.40.0.77"))["instance-ip"]
        self.assertEqual(a["instance_ip_address"], "10.40.0.77")
        e = self.err(iip("b", instance_ip_address="10.40.0.77"), 409, "10.40.0.77 is already allocated")
        self.assertEqual(e["field"], "instance_ip_address")
        self.err(iip("c", instance_ip_address="10.41.0.5"), 400, "not in any subnet")
        self.err(iip("d", instance_ip_address="10.40.0.1"), 409, "gateway")
        self.err(iip("e", instance_ip_address="10.40.0.255"), 409, "broadcast")
        v6 = c.must(iip("f", instance_ip_family="v6"))["instance-ip"]
        self.assertTrue(v6["instance_ip_address"].startswith("2001:db8:40::"))
        self.err(c.put("/instance-ip/" + a["uuid"], {"instance-ip": {"instance_ip_address": "10.40.0.78"}}),
                 400, "cannot be changed")
        c.must(c.delete("/instance-ip/" + a["uuid"]))
        again = c.must(iip("g", instance_ip_address="10.40.0.77"))["instance-ip"]  # released -> reusable
        self.assertEqual(again["instance_ip_address"], "10.40.0.77")
        # addresses allocated with a port are released with it
        port = c.must(c.create("virtual-machine-interface", "virtual-machine-interfaces", {
            "fq_name": [D, "ipam", "port"], "virtual_network_refs": [{"uuid": vn}],
            "mac_address": "02:00:00:00:00:01"}, "?allocate_ip=both"))
        self.assertEqual(port["virtual-machine-interface"]["mac_address"], "02:00:00:00:00:01")
        addrs = [i["instance_ip_address"] for i in port["instance-ips"]]
        self.assertEqual(len(addrs), 2)
        c.must(c.delete("/virtual-machine-interface/" + port["virtual-machine-interface"]["uuid"]))
        for i in port["instance-ips"]:
            self.err(c.get("/instance-ip/" + i["uuid"]), 404)
        self.assertEqual(c.must(iip("h", instance_ip_address=addrs[0]))["instance-ip"]["instance_ip_address"], addrs[0])
        # a fixed address requested with the port is honoured or the port is not created
        self.err(c.post("/virtual-machine-interfaces", {
            "virtual-machine-interface": {"fq_name": [D, "ipam", "port2"], "virtual_network_refs": [{"uuid": vn}]},
            "instance_ips": [{"instance_ip_address": addrs[0]}]}), 409, "already allocated")
        self.assertEqual(c.must(c.get("/virtual-machine-interfaces?fq_name=default-domain:ipam:port2"))
                         ["virtual-machine-interfaces"], [])
        # a subnet with allocations cannot be removed; VNI collisions are refused
        self.err(c.put("/virtual-network/" + vn, {"virtual-network": {"network_ipam_refs": []}}), 409, "allocated")
        vni = c.must(c.get("/virtual-network/" + vn))["virtual-network"]["vni"]
        self.err(c.create("virtual-network", "virtual-networks", {"fq_name": [D, "ipam", "dupvni"], "vni": vni}),
                 409, "already used")

    def test_concurrent_allocation_until_exhausted(self):
        c = self.c
        vn = network(c, "conc", "net", ["10.50.0.0/24"])
        results, errors = [], []
        lock = threading.Lock()

        def worker(w):
            cl = self.ctl.client()
            for i in range(40):
                st, body = cl.create("virtual-machine-interface", "virtual-machine-interfaces", {
                    "fq_name": [D, "conc", "w%d-%d" % (w, i)], "virtual_network_refs": [{"uuid": vn}]},
                    "?allocate_ip=v4")
                with lock:
                    if st == 201:
                        results.append(body["instance-ips"][0]["instance_ip_address"])
                    else:
                        errors.append((st, body))
        threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 253)
        self.assertEqual(len(set(results)), 253)
        self.assertEqual(len(errors), 320 - 253)
        for st, body in errors:
            self.assertEqual(st, 409)
            self.assertIn("pool exhausted", body["error"]["message"])
            self.assertIn("253", body["error"]["message"])
        # a failed port create left no port behind (the port and its address are one transaction)
        vmis = c.must(c.get("/virtual-machine-interfaces?parent_fq_name=default-domain:conc&limit=1000"))
        self.assertEqual(len(vmis["virtual-machine-interfaces"]), 253)

    def test_floating_ips(self):
        c = self.c
        pub = network(c, "fip", "public", ["192.0.2.0/29"])
        pool = c.must(c.create("floating-ip-pool", "floating-ip-pools",
                               {"fq_name": [D, "fip", "public", "pool"]}))["floating-ip-pool"]
        self.assertEqual(pool["parent_uuid"], pub)
        got = []
        for i in range(5):  # a /29 has 8 addresses: network, gateway, broadcast reserved
            f = c.must(c.create("floating-ip", "floating-ips",
                                {"fq_name": [D, "fip", "public", "pool", "f%d" % i]}))["floating-ip"]
            got.append(f["floating_ip_address"])
        self.assertEqual(got, ["192.0.2.%d" % i for i in range(2, 7)])
        self.err(c.create("floating-ip", "floating-ips", {"fq_name": [D, "fip", "public", "pool", "f9"]}),
                 409, "pool exhausted")
        fid = c.must(c.post("/fqname-to-id", {"type": "floating-ip", "fq_name": [D, "fip", "public", "pool", "f2"]}))
        c.must(c.delete("/floating-ip/" + fid["uuid"]))
        again = c.must(c.create("floating-ip", "floating-ips", {"fq_name": [D, "fip", "public", "pool", "f9"],
                                                               "floating_ip_address": "192.0.2.4"}))
        self.assertEqual(again["floating-ip"]["floating_ip_address"], "192.0.2.4")
        self.err(c.delete("/virtual-network/" + pub), 409, "children")

    def test_watch_is_tenant_scoped(self):
        admin = self.c
        network(admin, "w-a", "net", ["10.90.0.0/24"])
        network(admin, "w-b", "net", ["10.91.0.0/24"])
        member = self.ctl.client(admin.token_for("default-domain:w-a", "member"))
        conn = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=15)
        conn.request("GET", "/watch?since=0&types=virtual-network",
                     headers={"Authorization": "Bearer " + member.token})
        r = conn.getresponse()
        seen = []
        while True:
            line = r.fp.readline().decode()
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["object"]["fq_name"])
                if seen[-1] == [D, "w-a", "marker"]:
                    break
                if len(seen) == 1:  # the backlog is streamed; now create the marker
                    admin.must(admin.create("virtual-network", "virtual-networks", {"fq_name": [D, "w-b", "hidden"]}))
                    admin.must(admin.create("virtual-network", "virtual-networks", {"fq_name": [D, "w-a", "marker"]}))
        conn.close()
        self.assertIn([D, "w-a", "net"], seen)
        self.assertFalse([fq for fq in seen if fq[1] != "w-a"], seen)

    # --------------------------------------------------------- bad input
    def test_bad_input_is_refused_and_not_stored(self):
        c = self.c
        network(c, "bad", "net", ["10.60.0.0/24"])
        before = self.revision()
        cases = [
            (c.raw("POST", "/virtual-networks", '{"virtual-network": {"fq_name": '), 400, "malformed JSON", None),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "x"], "vni": "12"}),
             400, "expected an integer", "vni"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "x"], "colour": "red"}),
             400, "unknown field 'colour'", "colour"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "x"], "network_ipam_refs": [
                {"to": [D, "bad", "ipam"], "attr": {"ipam_subnets": [{"subnet": "10.0.0.0/33"}]}}]}),
             400, "prefix length", "network_ipam_refs[0].attr.ipam_subnets[0].subnet"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "x"], "network_ipam_refs": [
                {"to": [D, "bad", "ipam"], "attr": {"ipam_subnets": [{"subnet": "banana/8"}]}}]}),
             400, "not an IPv4 or IPv6 address", "network_ipam_refs[0].attr.ipam_subnets[0].subnet"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "x"], "network_ipam_refs": [
                {"to": [D, "bad", "ipam"], "attr": {"ipam_subnets": [{"subnet": "10.0.0.0/16"},
                                                                      {"subnet": "10.0.5.0/24"}]}}]}),
             400, "overlaps", "network_ipam_refs[0].attr.ipam_subnets[1]"),
            (c.post("/virtual-networks", {"vn": {}}), 400, "unknown top-level key 'vn'", "vn"),
            (c.post("/virtual-networks", [1, 2]), 400, "must be", None),
            (c.raw("POST", "/virtual-networks", ""), 400, "empty", None),
            (c.create("virtual-machine-interface", "virtual-machine-interfaces", {
                "fq_name": [D, "bad", "p"], "virtual_network_refs": [{"to": [D, "bad", "net"]}],
                "mac_address": "zz"}), 400, "MAC", "mac_address"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "u"], "uuid": "nope"}),
             400, "expected a UUID", "uuid"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": [D, "bad", "u"], "parent_type": 5}),
             400, "not a parent type", "parent_type"),
            (c.create("virtual-network", "virtual-networks", {"fq_name": "default-domain:bad:a b"}),
             400, "not a valid name", "fq_name"),
            (c.create("security-group", "security-groups", {"fq_name": [D, "bad", "sg"], "rules": [
                {"direction": "sideways", "ethertype": "IPv4", "protocol": "tcp"}]}),
             400, "sideways", "rules[0].direction"),
        ]
        for resp, status, fragment, field in cases:
            e = self.err(resp, status, fragment)
            if field:
                self.assertEqual(e.get("field"), field, e)
        big = json.dumps({"virtual-network": {"fq_name": [D, "bad", "big"], "description": "x" * 70000}})
        self.err(c.raw("POST", "/virtual-networks", big), 413, "too large")
        c.conn.close()  # httplib may close after a 413
        c.conn = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=30)
        self.assertEqual(self.revision(), before)
        self.assertEqual(c.must(c.get("/virtual-networks?parent_fq_name=default-domain:bad"))["virtual-networks"][0]
                         ["fq_name"][-1], "net")
        self.assertEqual(len(c.must(c.get("/virtual-networks?parent_fq_name=default-domain:bad"))
                             ["virtual-networks"]), 1)

    # ------------------------------------------------------ watch, metrics
    def test_watch_streams_and_resumes(self):
        c = self.c
        c.create("project", "projects", {"fq_name": [D, "watch"]})
        start = self.revision()
        events = []

        def read_events(since, n, headers=None):
            conn = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=15)
            h = {"Authorization": "Bearer " + self.ctl.admin}
            h.update(headers or {})
            conn.request("GET", "/watch?since=%d&types=virtual-machine" % since if since is not None
                         else "/watch?types=virtual-machine", headers=h)
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
            got, cur = [], {}
            while len(got) < n:
                line = r.fp.readline().decode().rstrip("\n")
                if line.startswith("id: "):
                    cur["id"] = int(line[4:])
                elif line.startswith("data: "):
                    cur["data"] = json.loads(line[6:])
                elif line == "" and cur:
                    got.append(cur)
                    cur = {}
            conn.close()
            return got
        t = threading.Thread(target=lambda: events.extend(read_events(start, 3)))
        t.start()
        uuids = [c.must(c.create("virtual-machine", "virtual-machines", {"fq_name": [D, "watch", "vm%d" % i]}))
                 ["virtual-machine"]["uuid"] for i in range(3)]
        t.join(10)
        self.assertEqual([e["data"]["uuid"] for e in events], uuids)
        ids = [e["id"] for e in events]
        self.assertEqual(ids, sorted(ids))
        # disconnected; more changes happen; resume from the last id seen misses nothing
        c.must(c.delete("/virtual-machine/" + uuids[0]))
        c.must(c.put("/virtual-machine/" + uuids[1], {"virtual-machine": {"display_name": "renamed"}}))
        resumed = read_events(None, 2, {"Last-Event-ID": str(ids[-1])})
        self.assertEqual([(e["data"]["op"], e["data"]["uuid"]) for e in resumed],
                         [("delete", uuids[0]), ("update", uuids[1])])
        # other tenants' changes are not streamed to a member
        member = self.ctl.client(c.token_for("default-domain:watch", "member"))
        self.assertEqual(member.get("/watch?since=0&types=bogus")[0], 400)

    def test_metrics(self):
        st, text = self.c.get("/metrics")
        self.assertEqual(st, 200)
        self.assertIn("vrf_controller_http_requests_total{", text)
        self.assertIn('vrf_controller_objects{type="virtual-network"}', text)
        self.assertIn("vrf_controller_http_request_seconds_bucket{", text)


class LifecycleTest(unittest.TestCase):
    def test_sigterm_is_clean_and_state_survives(self):
        ctl = Controller(BINARY).start()
        try:
            c = ctl.client()
            vn = network(c, "life", "net", ["10.70.0.0/24"])
            self.assertEqual(ctl.stop(signal.SIGTERM), 0)
            ctl.start()  # same db, token file is not rewritten: the admin token still works
            self.assertEqual(ctl.client().must(ctl.client().get("/virtual-network/" + vn))["virtual-network"]
                             ["fq_name"][-1], "net")
            with open(ctl.log_path) as f:
                log = f.read()
            self.assertEqual(log.count("admin token created, written to"), 1)
            self.assertNotIn(ctl.admin, log)
            self.assertIn("shutting down", log)
            ctl.stop()
            with sqlite3.connect(ctl.db) as db:  # tokens are kept as digests only
                stored = [r[0] for r in db.execute("SELECT token_sha256 FROM tokens")]
                self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 2)
            self.assertNotIn(ctl.admin, stored)
            self.assertIn(hashlib.sha256(ctl.admin.encode()).hexdigest(), stored)
        finally:
            ctl.cleanup()

    def test_change_log_retention_and_watch_reset(self):
        ctl = Controller(BINARY, extra_args=["--change-log-keep", "10"]).start()
        try:
            c = ctl.client()
            c.create("project", "projects", {"fq_name": [D, "ret"]})
            for i in range(30):
                c.must(c.create("virtual-machine", "virtual-machines", {"fq_name": [D, "ret", "vm%d" % i]}))
            with sqlite3.connect(ctl.db) as db:
                lo, hi = db.execute("SELECT min(rev), max(rev) FROM changes").fetchone()
            self.assertLessEqual(hi - lo + 1, 12)  # trimmed in batches of a tenth

            def first_events(since, n):
                conn = http.client.HTTPConnection("127.0.0.1", ctl.port, timeout=15)
                conn.request("GET", "/watch?since=%d" % since, headers={"Authorization": "Bearer " + ctl.admin})
                r = conn.getresponse()
                got, ev = [], {}
                while len(got) < n:
                    line = r.fp.readline().decode().rstrip("\n")
                    if line.startswith("event: "):
                        ev["event"] = line[7:]
                    elif line.startswith("data: "):
                        ev["data"] = json.loads(line[6:])
                    elif line == "" and ev:
                        got.append(ev)
                        ev = {}
                conn.close()
                return got
            reset = first_events(0, 1)[0]  # too far behind: told to re-list, never silently skipped
            self.assertEqual(reset["event"], "reset")
            self.assertEqual(reset["data"]["revision"], hi)
            recent = first_events(hi - 3, 3)
            self.assertEqual([e["data"]["revision"] for e in recent], [hi - 2, hi - 1, hi])
        finally:
            ctl.cleanup()

    def test_help_and_config_file(self):
        out = subprocess.run([BINARY, "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--admin-token-file", out.stdout)
        bad = subprocess.run([BINARY, "--bogus"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("unknown option --bogus", bad.stderr)
        ctl = Controller(BINARY)
        try:
            cfg = os.path.join(ctl.dir, "controller.yaml")
            with open(cfg, "w") as f:
                f.write("max_body_bytes: 2000\nautonomous_system: 65001\nlog_level: debug\n")
            ctl.extra_args = ["--config", cfg]
            ctl.start()
            c = ctl.client()
            gsc = c.must(c.get("/global-system-configs?detail=true"))["global-system-configs"][0]
            self.assertEqual(gsc["autonomous_system"], 65001)
            vn = network(c, "cfg", "net", ["10.95.0.0/24"])
            self.assertRegex(c.must(c.get("/virtual-network/" + vn))["virtual-network"]["route_target_list"][0],
                             r"^target:65001:")
            st, _ = c.raw("POST", "/virtual-networks", json.dumps({"virtual-network": {
                "fq_name": [D, "cfg", "big"], "description": "x" * 3000}}))
            self.assertEqual(st, 413)
            ctl.stop()
            with open(cfg, "w") as f:
                f.write("colour: red\n")
            bad = subprocess.run([BINARY, "--config", cfg], capture_output=True, text=True)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("unknown key 'colour'", bad.stderr)
        finally:
            ctl.cleanup()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
