"""Two tenants on the same hosts, each with its own member token, and tenant A playing the
hostile one against B through the REST API (as any customer can), on real agents with real
traffic:
1. both attach an allow-all network policy to their own network: each tenant's workloads
   reach each other, never the other tenant's (no route, no ping), and naming the other
   tenant's network in a policy is refused without telling whether it exists;
2. A names a virtual machine after B's workload namespace and binds a port to B's host:
   nothing of A enters B's namespace, B's workload keeps working, and even the host's
   runtime cannot attach a second port there;
3. route targets, VNIs and uuids are the controller's to allocate: A cannot take B's route
   target, nor learn B's objects from conflict errors;
4. a policy that cannot compile fails closed for its own project only: the documented
   one-request port path compiles, a mirror on a deny rule is refused, and B's firewall rule
   that does not compile denies B's workloads while A's keep their rules; each tenant sees
   only its own problems in GET /policy-status.

usage: test_tenant_isolation.py VR_AGENT VRCTL VR_CONTROLLER
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_end_to_end as e2e  # noqa: E402  (controller and agent set-up)
from harness import IP, sh, wait_for  # noqa: E402

D = "default-domain"
# name: (tenant, host, address). a1 and b1 share host 1, a2 and b2 host 2.
WORKLOADS = {"a1": ("a", 1, "10.51.0.10"), "a2": ("a", 2, "10.51.0.11"),
             "b1": ("b", 1, "10.52.0.20"), "b2": ("b", 2, "10.52.0.21")}
SUBNET = {"a": "10.51.0.0/24", "b": "10.52.0.0/24"}
token = {}


def project(t):
    return f"{e2e.fabric.prefix}-{t}"


def net(t):
    return [D, project(t), "net"]


def create(t, type_, plural, obj, query=""):
    """POST as tenant T (None = the global admin); returns (status, body)."""
    return e2e.rest("POST", f"/{plural}{query}", {type_: obj}, token.get(t))


def must(status_body, expect=(200, 201)):
    status, body = status_body
    assert status in expect, (status, body)
    return body


def allow_all(t, name="allow-all"):
    return {"fq_name": [D, project(t), name], "rules": [
        {"direction": "<>", "protocol": "any", "src_networks": ["any"], "dst_networks": ["any"], "action": "pass"}]}


def workload(t, name, host, address):
    p = project(t)
    must(create(t, "virtual-machine", "virtual-machines", {"fq_name": [D, p, name]}))
    must(create(t, "virtual-machine-interface", "virtual-machine-interfaces", {
        "fq_name": [D, p, f"{name}-eth0"], "host_id": f"node-{host}", "virtual_network_refs": [{"to": net(t)}],
        "virtual_machine_refs": [{"to": [D, p, name]}]}))
    must(create(t, "instance-ip", "instance-ips", {
        "fq_name": [D, p, f"{name}-ip"], "instance_ip_address": address, "virtual_network_refs": [{"to": net(t)}],
        "virtual_machine_interface_refs": [{"to": [D, p, f"{name}-eth0"]}]}))


def routes(host, t):
    r = host.api.call("route.list", vrf=":".join(net(t)))
    return {x["prefix"] for x in r["result"]} if r["ok"] else set()


def status_of(t):
    return must(e2e.rest("GET", "/policy-status", token=token[t]))["problems"]


def setUpModule():
    e2e.WORKLOADS = [(n, t, h) for n, (t, h, _) in WORKLOADS.items()]
    e2e.setUpModule(hosts=2)
    for t in ("a", "b"):
        must(create(None, "project", "projects", {"fq_name": [D, project(t)]}))
        token[t] = must(e2e.rest("POST", "/tokens", {"project": f"{D}:{project(t)}", "role": "member"}))["token"]


def tearDownModule():
    e2e.tearDownModule()


class TenantIsolation(unittest.TestCase):
    def test_1_allow_all_policies_do_not_connect_tenants(self):
        for t in ("a", "b"):
            p = project(t)
            must(create(t, "network-ipam", "network-ipams", {"fq_name": [D, p, "ipam"]}))
            must(create(t, "network-policy", "network-policies", allow_all(t)))
            must(create(t, "virtual-network", "virtual-networks", {
                "fq_name": net(t), "network_ipam_refs": [{"to": [D, p, "ipam"],
                                                          "attr": {"ipam_subnets": [{"subnet": SUBNET[t]}]}}],
                "network_policy_refs": [{"to": [D, p, "allow-all"], "attr": {"sequence": "1.0"}}]}))
        for name, (t, host, address) in WORKLOADS.items():
            workload(t, name, host, address)
        for name, (t, _, address) in WORKLOADS.items():
            e2e.wait_for_interface(name, project(t))
            self.assertEqual(e2e.dhcp(name), address)
        h1, h2 = e2e.fabric.hosts
        wait_for("each tenant's routes", lambda: "10.51.0.11/32" in routes(h1, "a") and "10.52.0.21/32" in routes(h1, "b"))
        # Positive control: inside each tenant, across hosts, the allow-all policy passes.
        self.assertTrue(e2e.ping("a1", "10.51.0.11"), "a1 -> a2")
        self.assertTrue(e2e.ping("b2", "10.52.0.20"), "b2 -> b1")
        # Across tenants: no route in either VRF, no ping on the same host or across hosts.
        for h in (h1, h2):
            self.assertFalse({r for r in routes(h, "a") if r.startswith("10.52.")}, f"B's routes in A's VRF on {h.name}")
            self.assertFalse({r for r in routes(h, "b") if r.startswith("10.51.")}, f"A's routes in B's VRF on {h.name}")
            imports = {v["name"]: v["imports"] for v in h.api("vrf.list")}
            self.assertEqual((imports[":".join(net("a"))], imports[":".join(net("b"))]), ([], []),
                             "a network imports another's route target")
        for src, dst in (("a1", "10.52.0.20"), ("a1", "10.52.0.21"), ("b1", "10.51.0.10"), ("b2", "10.51.0.10")):
            self.assertFalse(e2e.ping(src, dst, count=1), f"{src} reached {dst}")
        # Naming B's network in A's policy is refused, worded as for a network that does not exist.
        other = allow_all("a", "sneaky")
        other["rules"][0]["dst_networks"] = [":".join(net("b"))]
        status, body = create("a", "network-policy", "network-policies", other)
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "rules[0].dst_networks[0]")
        self.assertIn("is neither of this project nor shared with it", body["error"]["message"])
        other["rules"][0]["dst_networks"] = [f"{D}:{project('b')}:no-such-net"]
        status, body2 = create("a", "network-policy", "network-policies", other)
        self.assertEqual(body2["error"]["message"].replace("no-such-net", "net"), body["error"]["message"])

    def test_2_a_vm_named_after_another_tenants_namespace_plugs_nothing_there(self):
        b1_ns = e2e.ns("b1")
        before = sh(IP, "-o", "link", "show", ns=b1_ns).stdout
        p = project("a")
        must(create("a", "virtual-machine", "virtual-machines", {"fq_name": [D, p, b1_ns]}))
        must(create("a", "virtual-machine-interface", "virtual-machine-interfaces", {
            "fq_name": [D, p, "hostile-eth0"], "host_id": "node-1", "virtual_network_refs": [{"to": net("a")}],
            "virtual_machine_refs": [{"to": [D, p, b1_ns]}]}, "?allocate_ip=v4"))
        uuid, _ = e2e.port_of("hostile", p)
        h1 = e2e.fabric.hosts[0]
        time.sleep(3)  # a few config turns of host 1's agent
        self.assertEqual(sh(IP, "-o", "link", "show", ns=b1_ns).stdout, before, "B's namespace changed")
        plugged = {i["name"]: i["netns"] for i in h1.api("interface.list")}
        self.assertEqual(sorted(plugged.values()), sorted([e2e.ns("a1"), b1_ns]), "A's port was plugged somewhere")
        self.assertTrue(e2e.ping("b1", "10.52.0.21"), "B's workload keeps working")
        # Even the host's runtime cannot plug a second port's eth0 into B's namespace.
        r = h1.api.call("port.attach", uuid=uuid, netns=b1_ns)
        self.assertFalse(r["ok"])
        self.assertIn("already holds eth0 of another port", r["error"])

    def test_3_route_targets_vnis_and_uuids_are_not_the_tenants(self):
        status, b_net = e2e.rest("GET", "/virtual-networks?detail=true&parent_fq_name=" + f"{D}:{project('b')}",
                                 token=token["b"])
        b_rt = b_net["virtual-networks"][0]["route_target_list"]
        a_uuid = must(e2e.rest("POST", "/fqname-to-id", {"type": "virtual-network", "fq_name": net("a")},
                               token["a"]))["uuid"]
        status, body = e2e.rest("PUT", f"/virtual-network/{a_uuid}", {"virtual-network": {"route_target_list": b_rt}},
                                token["a"])
        self.assertEqual((status, body["error"]["field"]), (403, "route_target_list"), body)
        status, body = create("a", "virtual-network", "virtual-networks", {
            "fq_name": [D, project("a"), "rt"], "route_target_list": ["target:64512:8000001"]})
        self.assertEqual(status, 403, body)
        b_vni = b_net["virtual-networks"][0]["vni"]
        status, body = create("a", "virtual-network", "virtual-networks", {"fq_name": [D, project("a"), "v"],
                                                                           "vni": b_vni})
        self.assertEqual((status, body["error"]["field"]), (403, "vni"), body)
        self.assertNotIn(project("b"), str(body))
        b_uuid = b_net["virtual-networks"][0]["uuid"]
        status, body = create("a", "virtual-network", "virtual-networks", {"fq_name": [D, project("a"), "u"],
                                                                           "uuid": b_uuid})
        self.assertEqual((status, body["error"]["field"]), (403, "uuid"), body)
        self.assertNotIn("in use", body["error"]["message"])
        # A's route target is unchanged, and B's VRF still imports nothing of A.
        a_net = must(e2e.rest("GET", f"/virtual-network/{a_uuid}", token=token["a"]))["virtual-network"]
        self.assertNotEqual(a_net["route_target_list"], b_rt)
        # The global admin may choose a VNI (and is told who holds one).
        status, body = create(None, "virtual-network", "virtual-networks", {"fq_name": [D, project("a"), "admin-vni"],
                                                                            "vni": b_vni})
        self.assertEqual(status, 409, body)
        self.assertIn(":".join(net("b")), body["error"]["message"])

    def test_4_a_policy_that_does_not_compile_fails_closed_for_its_project_only(self):
        # The documented one-request port path (its instance-ip carries created_with_interface).
        self.assertFalse([p for p in status_of("a") if "does not compile" in p["message"]], status_of("a"))
        self.assertTrue(e2e.ping("a1", "10.51.0.11"))
        # A mirror on a deny rule is refused at write time, naming the field.
        bad = allow_all("b", "mirror-deny")
        bad["rules"][0].update(action="deny", mirror_to=f"{D}:{project('b')}:b1-eth0")
        status, body = create("b", "network-policy", "network-policies", bad)
        self.assertEqual((status, body["error"]["field"]), (400, "rules[0].mirror_to"), body)
        # A rule naming a network of B's own that does not exist is accepted (vrctl apply writes
        # policies first) and reported until it exists.
        later = allow_all("b", "later")
        later["rules"][0]["dst_networks"] = [f"{D}:{project('b')}:later-net"]
        must(create("b", "network-policy", "network-policies", later))
        wait_for("B's status to report the missing network", lambda: any(
            "later-net does not exist" in p["message"] for p in status_of("b")))
        # B's firewall rule that does not compile: B fails closed, A keeps its rules.
        must(create("b", "firewall-rule", "firewall-rules", {
            "fq_name": [D, project("b"), "broken"], "action": "pass", "direction": "<>",
            "endpoint_1": {"any": True}, "endpoint_2": {"any": True}, "match_tags": ["colour"]}))
        wait_for("B's status to report the compile error", lambda: any(
            "does not compile" in p["message"] and "colour" in p["message"] for p in status_of("b")))
        wait_for("B's workloads to be denied", lambda: not e2e.ping("b1", "10.52.0.21", count=1))
        self.assertTrue(e2e.ping("a1", "10.51.0.11"), "A's policy must survive B's broken one")
        self.assertTrue(e2e.ping("a2", "10.51.0.10"))
        self.assertFalse([p for p in status_of("a") if project("b") in str(p)], "A sees B's problems")
        # Fixed: B's traffic flows again.
        fw = must(e2e.rest("POST", "/fqname-to-id", {"type": "firewall-rule",
                                                     "fq_name": [D, project("b"), "broken"]}, token["b"]))["uuid"]
        must(e2e.rest("DELETE", f"/firewall-rule/{fw}", token=token["b"]))
        wait_for("B's workloads to pass again", lambda: e2e.ping("b1", "10.52.0.21", count=1))


    def test_5_no_allowed_pairs_in_another_project_s_network(self):
        # Even a port the global admin puts in A's (shared) network for B may not claim extra
        # addresses there: they could be A's workloads', which B cannot see.
        a_uuid = must(e2e.rest("POST", "/fqname-to-id", {"type": "virtual-network", "fq_name": net("a")},
                               token["a"]))["uuid"]
        must(e2e.rest("PUT", f"/virtual-network/{a_uuid}", {"virtual-network": {"is_shared": True}}, token["a"]))
        field = "virtual_machine_interface_allowed_address_pairs"
        try:
            status, body = create(None, "virtual-machine-interface", "virtual-machine-interfaces", {
                "fq_name": [D, project("b"), "in-shared"], "host_id": "node-1", "virtual_network_refs": [{"to": net("a")}],
                field: [{"ip": {"ip_prefix": "10.51.0.10", "ip_prefix_len": 32}}]})
            self.assertEqual((status, body["error"]["field"]), (400, field), body)
            # A pair in its own network is still B's to set (positive control).
            own = {"fq_name": [D, project("b"), "own-pair"], "host_id": "node-1", "virtual_network_refs": [{"to": net("b")}],
                   field: [{"ip": {"ip_prefix": "10.52.0.200", "ip_prefix_len": 32}}]}
            uuid = must(create("b", "virtual-machine-interface", "virtual-machine-interfaces", own))[
                "virtual-machine-interface"]["uuid"]
            must(e2e.rest("DELETE", f"/virtual-machine-interface/{uuid}", token=token["b"]))
        finally:
            must(e2e.rest("PUT", f"/virtual-network/{a_uuid}", {"virtual-network": {"is_shared": False}}, token["a"]))

if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
