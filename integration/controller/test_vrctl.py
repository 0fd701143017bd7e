"""vrctl against a real vr-controller: apply of the example YAML (idempotent second apply,
dry-run, prune, errors naming file/document/field), get/describe/create/delete/edit,
tokens, watch, and configuration through flags, environment and config file.
usage: python3 test_vrctl.py PATH/TO/vr-controller PATH/TO/vrctl EXAMPLES_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

from ctlharness import Controller

CONTROLLER = VRCTL = EXAMPLES = None
TWO = "default-domain:two-tier"
FIN = "default-domain:finance"


class VrctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ctl = Controller(CONTROLLER).start()
        cls.home = tempfile.mkdtemp(prefix="vrctl-home-")
        cls.env = dict(os.environ, HOME=cls.home, VRCTL_SERVER=cls.ctl.url(), VRCTL_TOKEN=cls.ctl.admin)
        cls.env.pop("XDG_CONFIG_HOME", None)
        cls.env.pop("VRCTL_PROJECT", None)

    @classmethod
    def tearDownClass(cls):
        cls.ctl.cleanup()
        subprocess.run(["rm", "-rf", cls.home])

    def run_vrctl(self, *args, expect=0, env=None):
        p = subprocess.run([VRCTL] + list(args), capture_output=True, text=True, env=env or self.env, timeout=60)
        if expect is not None:
            self.assertEqual(p.returncode, expect, "vrctl %s\nstdout: %s\nstderr: %s" % (args, p.stdout, p.stderr))
        return p

    def get_json(self, *args):
        return json.loads(self.run_vrctl("get", *args, "-o", "json").stdout)

    def write(self, name, text):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def docs(self, path):
        with open(path) as f:
            return f.read().split("\n---\n")

    # ------------------------------------------------------------------ apply
    def test_1_apply_two_tier_idempotent_dry_run_prune(self):
        src = os.path.join(EXAMPLES, "two-tier-app.yaml")
        out = self.run_vrctl("apply", "-f", src).stdout
        self.assertIn("12 created, 0 updated, 0 unchanged", out)
        # creation order followed references: the policy before the networks using it
        self.assertLess(out.index("network-policy"), out.index("virtual-network " + TWO + ":frontend"))
        out = self.run_vrctl("apply", "-f", src).stdout
        self.assertIn("0 created, 0 updated, 12 unchanged, 0 deleted", out)
        ips = {i["fq_name"][-1]: i["instance_ip_address"] for i in self.get_json("iip", "-p", TWO)}
        self.assertEqual(ips["web-1-ip"], "10.1.1.10")
        self.assertTrue(ips["app-1-ip"].startswith("10.1.2."))

        # dry-run of a change shows the diff and changes nothing
        with open(src) as f:
            changed = self.write("changed.yaml", f.read().replace("host_id: node-2", "host_id: node-7"))
        out = self.run_vrctl("apply", "-f", changed, "--dry-run").stdout
        self.assertIn("~ update virtual-machine-interface " + TWO + ":app-1-eth0", out)
        self.assertIn('host_id: "node-2" -> "node-7"', out)
        self.assertIn("dry run: 0 created, 1 updated", out)
        self.assertEqual(self.get_json("vmi", "app-1-eth0", "-p", TWO)[0]["host_id"], "node-2")
        self.assertIn("1 updated", self.run_vrctl("apply", "-f", changed).stdout)
        self.assertEqual(self.get_json("vmi", "app-1-eth0", "-p", TWO)[0]["host_id"], "node-7")

        # prune: drop app-1 (its VM, port and address) from the files
        kept = [d for d in self.docs(changed) if not re.search(r"fq_name: .*:app-1(-eth0|-ip)?\n", d + "\n")]
        self.assertEqual(len(kept), 9)
        trimmed = self.write("trimmed.yaml", "\n---\n".join(kept))
        self.run_vrctl("apply", "-f", trimmed, "--prune", expect=1)  # needs an explicit scope
        out = self.run_vrctl("apply", "-f", trimmed, "--prune", "--project", TWO, "--dry-run").stdout
        for what in ("instance-ip " + TWO + ":app-1-ip", "virtual-machine-interface " + TWO + ":app-1-eth0",
                     "virtual-machine " + TWO + ":app-1"):
            self.assertIn("- delete " + what, out)
        self.assertEqual(len(self.get_json("vm", "-p", TWO)), 2)
        out = self.run_vrctl("apply", "-f", trimmed, "--prune", "--project", TWO).stdout
        self.assertIn("3 deleted", out)
        self.assertEqual([v["fq_name"][-1] for v in self.get_json("vm", "-p", TWO)], ["web-1"])
        self.assertIn("0 created, 0 updated, 9 unchanged, 0 deleted",
                      self.run_vrctl("apply", "-f", trimmed, "--prune", "--project", TWO).stdout)

    def test_2_finance_portal(self):
        src = os.path.join(EXAMPLES, "finance-portal.yaml")
        self.assertIn("36 created", self.run_vrctl("apply", "-f", src).stdout)
        self.assertIn("0 created, 0 updated, 36 unchanged", self.run_vrctl("apply", "-f", src).stdout)
        web = sorted(v["fq_name"][-1] for v in self.get_json("vm", "--tag", "tier=web", "-p", FIN))
        self.assertEqual(web, ["web-dev", "web-prod"])
        rules = {r["fq_name"][-1]: r for r in self.get_json("fwr", "-p", FIN)}
        self.assertEqual(rules["web-to-app"]["match_tags"], ["deployment"])
        self.assertEqual(rules["web-to-app"]["endpoint_1"]["tags"], ["tier=web"])
        svc = {s["fq_name"][-1]: s for s in self.get_json("service-group", "-p", FIN)}
        self.assertEqual(sorted(x["dst_ports"]["start_port"] for x in svc["db-service"]["services"]), [1521, 1630])
        self.assertEqual(svc["app-service"]["services"][0]["dst_ports"]["start_port"], 8080)
        aps = self.get_json("aps", "FinancePortal", "-p", FIN)[0]
        self.assertEqual(aps["tag_refs"][0]["to"][-1], "application=FinancePortal")
        self.assertEqual(aps["firewall_policy_refs"][0]["to"][-1], "Portal-3-Tier")
        fwp = self.get_json("fwp", "Portal-3-Tier", "-p", FIN)[0]
        self.assertEqual([r["to"][-1] for r in fwp["firewall_rule_refs"]], ["web-to-app", "app-to-db"])
        # a tenant reader of finance sees finance only, and cannot write
        tok = self.run_vrctl("token", "create", "--project", FIN, "--role", "reader").stdout.strip()
        env = dict(self.env, VRCTL_TOKEN=tok)
        names = self.run_vrctl("get", "vn", env=env).stdout
        self.assertIn(FIN + ":web-net", names)
        self.assertNotIn("two-tier", names)
        p = self.run_vrctl("create", "vm", "intruder", "-p", FIN, env=env, expect=1)
        self.assertIn("may not create", p.stderr)

    def test_3_errors_name_file_document_and_field(self):
        bad = self.write("bad.yaml", "kind: project\nfq_name: default-domain:errs\n---\n"
                         "kind: virtual-network\nfq_name: default-domain:errs:net\nvni: abc\n")
        p = self.run_vrctl("apply", "-f", bad, expect=1)
        self.assertIn("bad.yaml: document 2 (virtual-network default-domain:errs:net): field 'vni'", p.stderr)
        self.assertEqual(self.run_vrctl("get", "project", "errs", expect=1).returncode, 1)  # nothing applied
        unknown = self.write("unknown.yaml", "kind: virtual-network\nfq_name: default-domain:errs:net\ncolour: red\n")
        self.assertIn("unknown.yaml: document 1 (virtual-network default-domain:errs:net): unknown field 'colour'",
                      self.run_vrctl("apply", "-f", unknown, expect=1).stderr)
        kind = self.write("kind.yaml", "kind: virtual-netwrok\nfq_name: a:b:c\n")
        self.assertIn("kind.yaml: document 1: field 'kind': unknown type 'virtual-netwrok'",
                      self.run_vrctl("apply", "-f", kind, expect=1).stderr)
        syntax = self.write("syntax.yaml", "kind: project\nfq_name: [unclosed\n")
        self.assertIn("syntax.yaml: invalid YAML at line", self.run_vrctl("apply", "-f", syntax, expect=1).stderr)
        # errors only the server can see (overlap of subnets) still name file, document and field
        overlap = self.write("overlap.yaml", "kind: project\nfq_name: default-domain:errs\n---\n"
                             "kind: network-ipam\nfq_name: default-domain:errs:ipam\n---\n"
                             "kind: virtual-network\nfq_name: default-domain:errs:net\nnetwork_ipam_refs:\n"
                             "  - to: default-domain:errs:ipam\n    attr:\n      ipam_subnets:\n"
                             "        - {subnet: 10.9.0.0/16}\n        - {subnet: 10.9.3.0/24}\n")
        p = self.run_vrctl("apply", "-f", overlap, expect=1)
        self.assertIn("overlap.yaml: document 3 (virtual-network default-domain:errs:net): "
                      "field 'network_ipam_refs[0].attr.ipam_subnets[1]'", p.stderr)
        self.assertIn("overlaps", p.stderr)

    # ------------------------------------------------------------ commands
    def test_4_imperative_commands(self):
        self.run_vrctl("apply", "-f", os.path.join(EXAMPLES, "two-tier-app.yaml"))
        self.run_vrctl("create", "vn", "extra", "-p", TWO, "--set", "vni=4242", "--set", "forwarding_mode=l3",
                       "--ref", "network_ipam_refs=ipam")
        vn = self.get_json("vn", "extra", "-p", TWO)[0]
        self.assertEqual((vn["vni"], vn["forwarding_mode"]), (4242, "l3"))
        out = self.run_vrctl("get", "vn", "-p", TWO).stdout
        self.assertRegex(out, r"FQ_NAME\s+FORWARDING_MODE")
        self.assertIn("4242", out)
        p = self.run_vrctl("create", "vn", "extra2", "-p", TWO, "--set", "vni=4242", expect=1)
        self.assertIn("already used", p.stderr)
        p = self.run_vrctl("create", "vn", "extra3", "-p", TWO, "--set", "vni=big", expect=1)
        self.assertIn("field 'vni'", p.stderr)
        out = self.run_vrctl("create", "vmi", "port9", "-p", TWO, "--ref", "virtual_network_refs=backend",
                             "--allocate-ip", "v4").stdout
        self.assertRegex(out, r"instance-ip 10\.1\.2\.\d+")
        p = self.run_vrctl("delete", "vn", "backend", "-p", TWO, expect=1)
        self.assertIn("still referenced by", p.stderr)
        desc = self.run_vrctl("describe", "vmi", "port9", "-p", TWO).stdout
        self.assertIn("instance_ip_back_refs", desc)
        self.assertIn("mac_address:", desc)
        # edit through $EDITOR (a sed script standing in for a person)
        editor = self.write("editor.sh", "#!/bin/sh\nsed -i 's/^host_id: .*/host_id: node-9/' \"$1\"\n"
                            "grep -q host_id \"$1\" || echo 'host_id: node-9' >> \"$1\"\n")
        os.chmod(editor, 0o755)
        out = self.run_vrctl("edit", "vmi", "port9", "-p", TWO, env=dict(self.env, EDITOR=editor)).stdout
        self.assertIn("updated", out)
        self.assertEqual(self.get_json("vmi", "port9", "-p", TWO)[0]["host_id"], "node-9")
        # the address allocated with the port goes with it
        self.assertIn("port9-ip0", [i["fq_name"][-1] for i in self.get_json("iip", "-p", TWO)])
        self.run_vrctl("delete", "vmi", "port9", "-p", TWO)
        self.run_vrctl("get", "vmi", "port9", "-p", TWO, expect=1)
        self.assertNotIn("port9-ip0", [i["fq_name"][-1] for i in self.get_json("iip", "-p", TWO)])
        # an explicitly declared instance-ip still protects its port
        p = self.run_vrctl("delete", "vmi", "web-1-eth0", "-p", TWO, expect=1)
        self.assertIn("instance-ip " + TWO + ":web-1-ip", p.stderr)
        types = self.run_vrctl("types").stdout
        self.assertEqual(len(types.strip().splitlines()), 20)  # header + 19 types, from the schema
        self.assertIn("network_ipam_refs: to network-ipam with attr vn_subnets", self.run_vrctl("explain", "vn").stdout)
        self.assertIn("unknown type", self.run_vrctl("get", "vnet", expect=1).stderr)

    def test_4b_reference_cycle(self):
        # two BGP routers peering with each other: neither can be created first with its
        # reference; apply creates both, then sets the forward reference
        peers = self.write("peers.yaml", "".join(
            "---\nkind: bgp-router\nfq_name: %s\nbgp_router_parameters: {router_type: %s, address: %s, "
            "autonomous_system: 64512}\nbgp_router_refs: [{to: %s}]\n" % (me, kind, addr, other)
            for me, kind, addr, other in (("cn1", "control-node", "10.0.0.1", "gw1"),
                                          ("gw1", "router", "10.0.0.254", "cn1"))))
        self.assertIn("2 created", self.run_vrctl("apply", "-f", peers).stdout)
        routers = {r["fq_name"][0]: r for r in self.get_json("bgp-router")}
        self.assertEqual(routers["cn1"]["bgp_router_refs"][0]["to"], ["gw1"])
        self.assertEqual(routers["gw1"]["bgp_router_refs"][0]["to"], ["cn1"])
        self.assertIn("2 unchanged", self.run_vrctl("apply", "-f", peers).stdout)

    def test_6_create_and_delete_from_files(self):
        src = os.path.join(EXAMPLES, "finance-portal.yaml")
        self.run_vrctl("apply", "-f", src)
        self.assertIn("36 deleted", self.run_vrctl("delete", "-f", src).stdout)
        self.run_vrctl("get", "project", FIN, expect=1)
        self.assertIn("36 created", self.run_vrctl("create", "-f", src).stdout)
        p = self.run_vrctl("create", "-f", src, expect=1)
        self.assertIn("finance-portal.yaml: document 1 (project default-domain:finance): already exists", p.stderr)

    def test_5_config_sources_and_watch(self):
        env = dict(self.env)
        del env["VRCTL_SERVER"], env["VRCTL_TOKEN"]
        self.assertIn("cannot reach controller", self.run_vrctl("get", "projects", env=env, expect=1).stderr)
        os.makedirs(os.path.join(self.home, ".config", "vrctl"), exist_ok=True)
        self.write(".config/vrctl/config.yaml", "server: %s\ntoken: %s\n" % (self.ctl.url(), self.ctl.admin))
        self.assertIn("default-domain:default-project", self.run_vrctl("get", "projects", env=env).stdout)
        p = self.run_vrctl("get", "projects", "--token", "wrong", env=env, expect=1)  # flag beats file
        self.assertIn("invalid or missing bearer token", p.stderr)
        w = subprocess.Popen([VRCTL, "watch", "--since", "0", "--types", "domain", "-o", "json"], env=env,
                             stdout=subprocess.PIPE, text=True)
        try:
            first = json.loads(w.stdout.readline())
            self.assertEqual((first["op"], first["type"]), ("create", "domain"))
        finally:
            w.kill()
            w.wait()
            w.stdout.close()


if __name__ == "__main__":
    CONTROLLER, VRCTL, EXAMPLES = sys.argv[1:4]
    del sys.argv[1:4]
    unittest.main(verbosity=2)
