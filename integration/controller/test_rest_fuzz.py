"""Schema-driven REST fuzzing of a real vr-controller (issue 10, "what must be shown").

The generator reads the controller's own schema (GET /schema) and, with the tokens of two
projects (admin, member, reader each) and the global admin, sends valid, boundary and
malformed requests for every type and verb: create, read, update, delete and list with
filters; references to own, foreign and missing objects; fq_name edge cases; huge strings,
bytes that are not UTF-8, deep and wide JSON, wrong types, bad paths and queries.

Oracles, checked on every answer:
  * no 5xx, and the controller process is alive throughout (and /healthz answers);
  * tenant isolation: an answer to one project's token never contains the other project's
    uuids or names unless the request itself carried them, and a request naming the other
    project's object is answered exactly like the same request naming a made-up object of
    the same shape (a twin request is sent and the two answers compared);
  * a reader never writes, a tenant never gets another project's object by its uuid.
Regression cases for the findings of the first run are checked first (see `regressions`).

usage: python3 test_rest_fuzz.py PATH/TO/vr-controller [--seconds 60] [--seed N]
A failure prints the seed and the request; rerun with --seed to reproduce."""
import argparse
import json
import os
import random
import re
import socket
import sys
import time
import traceback
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlharness import Controller  # noqa: E402

D = "default-domain"
# Names the generator makes carry 8+ random hex digits; only those count as a tenant's
# secrets (a boundary name like "x" * 255 may exist in both projects).
DISTINCT = re.compile(r"[0-9a-f]{8,}")
MAX_BODY = 1 << 20


# ---------------------------------------------------------------- raw HTTP
class Http:
    """One keep-alive connection sending exactly the bytes it is given (paths and bodies
    may be invalid UTF-8, which http.client refuses to send)."""

    def __init__(self, port, token, source="127.0.0.1"):
        self.port, self.token, self.source = port, token, source
        self.sock = None

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30, source_address=(self.source, 0))
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def _check_idle(self):
        """Bytes waiting before a request is sent are an answer to no request: the server
        framed the previous exchange wrongly (a body taken for a request)."""
        self.sock.setblocking(False)
        try:
            extra = self.buf + self.sock.recv(65536)
        except BlockingIOError:
            extra = self.buf
        except (ConnectionError, OSError):
            extra = b""
            self.close()
            self._connect()
        finally:
            if self.sock:
                self.sock.setblocking(True)
                self.sock.settimeout(30)
        if extra:
            self.close()
            self._connect()
            raise Unframed(extra)

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a response")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), headers

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a response body")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def request(self, method, target, body=None, token=None):
        """target and body are str or bytes; returns (status, body text)."""
        if isinstance(target, str):
            target = target.encode()
        if isinstance(body, str):
            body = body.encode()
        tok = self.token if token is None else token
        head = b"%s %s HTTP/1.1\r\nHost: fuzz\r\n" % (method.encode(), target)
        if tok:
            head += b"Authorization: Bearer " + tok.encode() + b"\r\n"
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        data = head + b"\r\n" + (body or b"")
        for attempt in range(2):
            try:
                if self.sock is None:
                    self._connect()
                self._check_idle()
                self.sock.sendall(data)
                status, headers = self._read_head()
                break
            except (ConnectionError, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        if headers.get("transfer-encoding") == "chunked":
            payload = b""
            while True:
                size_line = self._read_until_crlf()
                n = int(size_line.split(b";")[0], 16)
                payload += self._read_exact(n)
                self._read_exact(2)
                if n == 0:
                    break
        else:
            payload = self._read_exact(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, payload.decode("utf-8", "replace")

    def _read_until_crlf(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a chunked body")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line


class Unframed(Exception):
    pass


def jbody(obj):
    return json.dumps(obj).encode()


def loads(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


# ---------------------------------------------------------------- the world
class Tenant:
    """One project: its fq name, uuid, tokens and the objects it owns (type -> list of
    {uuid, fq})."""

    def __init__(self, name):
        self.name = name
        self.fq = [D, name]
        self.uuid = None
        self.tokens = {}
        self.objects = {}

    def add(self, type_, uuid, fq):
        self.objects.setdefault(type_, []).append({"uuid": uuid, "fq": list(fq)})

    def forget(self, uuid):
        for lst in self.objects.values():
            lst[:] = [o for o in lst if o["uuid"] != uuid]

    def secrets(self):
        """Strings that must never reach the other tenant unless it sent them: the
        project's name, its objects' uuids and their own (last) names."""
        out = {self.name, self.uuid}
        for lst in self.objects.values():
            for o in lst:
                out.add(o["uuid"])
                out.update(n for n in o["fq"][2:] if DISTINCT.search(n))
        return out


class Failures(Exception):
    pass


class Fuzzer:
    def __init__(self, ctl, seed):
        self.ctl = ctl
        self.seed = seed
        self.rng = random.Random(seed)
        self.schema = None
        self.types = {}
        self.structs = {}
        self.tenants = []
        self.admin = None
        self.conns = {}
        self.count = 0
        self.by_status = {}
        self.by_op = {}
        self.failures = []
        self.log = []  # the last requests, for the report
        self.slow = []  # (seconds, request) of answers slower than 0.5 s

    # ---------- plumbing
    def conn(self, token, source="127.0.0.1"):
        key = (token, source)
        if key not in self.conns:
            self.conns[key] = Http(self.ctl.port, token, source)
        return self.conns[key]

    def send(self, token, method, target, body=None, source="127.0.0.1"):
        t0 = time.time()
        try:
            status, text = self.conn(token, source).request(method, target, body)
        except Unframed as e:
            self.fail("unexpected bytes after the previous answer", "%s then %r" % (self.log[-3:], short(bytes(e.args[0]))))
            status, text = self.conn(token, source).request(method, target, body)
        self.count += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        entry = "%s %s %s -> %d %s" % (method, short(target), short(body), status, short(text))
        took = time.time() - t0
        if took > 0.5:
            self.slow.append((took, entry))
        self.log = (self.log + [entry])[-5:]
        if status >= 500:
            self.fail("5xx answer", entry)
        if self.ctl.proc.poll() is not None:
            self.fail("controller exited (rc %s)" % self.ctl.proc.returncode, entry)
            raise Failures()
        return status, text

    def fail(self, what, detail):
        self.failures.append("%s: %s" % (what, detail))
        print("FAIL (seed %d, request #%d) %s: %s" % (self.seed, self.count, what, detail), flush=True)
        if len(self.failures) >= 30:
            raise Failures()

    def must(self, token, method, target, body=None, expect=(200, 201)):
        status, text = self.send(token, method, target, jbody(body) if body is not None else None)
        if status not in expect:
            raise AssertionError("setup %s %s: %d %s" % (method, target, status, text))
        return loads(text)

    # ---------- setup
    def setup(self):
        admin = self.ctl.admin
        self.admin = admin
        self.schema = loads(self.send(None, "GET", "/schema")[1])
        self.types = {t["name"]: t for t in self.schema["types"]}
        self.structs = self.schema["structs"]
        tag = "%06x" % self.rng.getrandbits(24)
        for letter in "ab":
            t = Tenant("tenant-%s-%s" % (letter, tag))
            t.uuid = self.must(admin, "POST", "/projects", {"project": {"fq_name": t.fq}})["project"]["uuid"]
            for role in ("admin", "member", "reader"):
                t.tokens[role] = self.must(admin, "POST", "/tokens", {"project": ":".join(t.fq), "role": role})["token"]
            self.tenants.append(t)
            self.seed_objects(t, letter)
        self.cross_references()

    def create(self, tenant, token, type_, obj, query=""):
        plural = self.types[type_]["plural"]
        out = self.must(token, "POST", "/" + plural + query, {type_: obj})
        o = out[type_]
        tenant.add(type_, o["uuid"], o["fq_name"])
        for iip in out.get("instance_ips", []) or []:
            tenant.add("instance-ip", iip["uuid"], iip["fq_name"])
        return o

    def seed_objects(self, t, letter):
        """A few objects of every project type, with distinctive names (the oracle
        looks for them in the other tenant's answers)."""
        tok = t.tokens["admin"]
        n = lambda kind: "%s-%s-%s" % (letter, kind, uuidlib.uuid4().hex[:10])  # noqa: E731
        ipam = self.create(t, tok, "network-ipam", {"fq_name": t.fq + [n("ipam")]})
        pol = self.create(t, tok, "network-policy", {"fq_name": t.fq + [n("pol")], "rules": []})
        vn = self.create(t, tok, "virtual-network", {
            "fq_name": t.fq + [n("net")],
            "network_ipam_refs": [{"to": ipam["fq_name"], "attr": {"ipam_subnets": [
                {"subnet": "10.%d.0.0/24" % (1 + "ab".index(letter))}, {"subnet": "fd00:%s::/64" % letter}]}}],
            "network_policy_refs": [{"to": pol["fq_name"], "attr": {"sequence": "1.0"}}]})
        self.must(tok, "PUT", "/network-policy/" + pol["uuid"], {"network-policy": {"rules": [
            {"direction": "<>", "protocol": "any", "src_networks": [":".join(vn["fq_name"])],
             "dst_networks": [":".join(vn["fq_name"])], "action": "pass"}]}})
        vm = self.create(t, tok, "virtual-machine", {"fq_name": t.fq + [n("vm")], "server_type": "container"})
        self.create(t, tok, "virtual-machine-interface", {
            "fq_name": t.fq + [n("port")], "host_id": "host-" + letter,
            "virtual_network_refs": [{"to": vn["fq_name"]}], "virtual_machine_refs": [{"uuid": vm["uuid"]}]},
            query="?allocate_ip=both")
        self.create(t, tok, "security-group", {"fq_name": t.fq + [n("sg")], "rules": [
            {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "remote_cidr": "0.0.0.0/0",
             "ports": [{"start_port": 22, "end_port": 22}]}]})
        value = n("tagv")
        self.create(t, tok, "tag", {"fq_name": t.fq + ["label=" + value], "tag_type_name": "label", "tag_value": value})
        ag = self.create(t, tok, "address-group", {"fq_name": t.fq + [n("ag")], "prefixes": ["192.0.2.0/24"]})
        svg = self.create(t, tok, "service-group", {"fq_name": t.fq + [n("svg")], "services": [{"protocol": "tcp"}]})
        fwr = self.create(t, tok, "firewall-rule", {
            "fq_name": t.fq + [n("fwr")], "action": "pass", "direction": "<>",
            "endpoint_1": {"any": True}, "endpoint_2": {"address_group": ":".join(ag["fq_name"])},
            "service_group_refs": [{"uuid": svg["uuid"]}]})
        fwp = self.create(t, tok, "firewall-policy", {"fq_name": t.fq + [n("fwp")],
                                                      "firewall_rule_refs": [{"uuid": fwr["uuid"], "attr": {"sequence": "1"}}]})
        self.create(t, tok, "application-policy-set", {"fq_name": t.fq + [n("aps")],
                                                       "firewall_policy_refs": [{"uuid": fwp["uuid"]}]})
        pool = self.create(t, tok, "floating-ip-pool", {"fq_name": vn["fq_name"] + [n("pool")]})
        self.create(t, tok, "floating-ip", {"fq_name": pool["fq_name"] + [n("fip")],
                                            "project_refs": [{"uuid": t.uuid}]})

    def cross_references(self):
        """Objects the global admin makes in one project that reference the other's:
        the tenants must see neither the names nor the uuids through them."""
        a, b = self.tenants
        for src, dst in ((a, b), (b, a)):
            pol = dst.objects["network-policy"][0]
            ipam = src.objects["network-ipam"][0]
            self.create(src, self.admin, "virtual-network", {
                "fq_name": src.fq + ["x-net-" + uuidlib.uuid4().hex[:10]],
                "network_ipam_refs": [{"uuid": ipam["uuid"], "attr": {"ipam_subnets": [{"subnet": "172.16.0.0/24"}]}}],
                "network_policy_refs": [{"uuid": pol["uuid"], "attr": {"sequence": "2.0"}}]})

    # ---------- principals
    def principals(self):
        """(token, own tenant or None, other tenant or None, role)."""
        a, b = self.tenants
        out = [(self.admin, None, None, "global")]
        for own, other in ((a, b), (b, a)):
            for role, tok in own.tokens.items():
                out.append((tok, own, other, role))
        return out

    # ---------- value generation from the schema
    def field_spec(self, spec):
        return {"type": spec} if isinstance(spec, str) else spec

    def valid_value(self, spec, own):
        spec = self.field_spec(spec)
        kind = spec.get("type", "enum" if "enum" in spec else "string")
        r = self.rng
        if "enum" in spec and kind in ("enum", "string"):
            return r.choice(spec["enum"])
        if kind.startswith("list<"):
            inner = kind[5:-1]
            elem = dict(spec, type=inner) if inner == "enum" else {"type": inner}
            return [self.valid_value(elem, own) for _ in range(r.randint(0, 3))]
        if kind in self.structs:
            return self.valid_struct(kind, own)
        if kind == "integer":
            lo, hi = spec.get("min", 0), spec.get("max", 1 << 31)
            return r.choice([lo, hi, r.randint(lo, hi)])
        if kind == "port":
            return r.choice([0, 1, 65535, r.randint(0, 65535)])
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "ip":
            return r.choice(["10.%d.0.%d" % (r.randint(1, 2), r.randint(1, 254)), "fd00:a::%x" % r.randint(1, 999)])
        if kind == "cidr":
            return r.choice(["10.%d.%d.0/24" % (r.randint(3, 250), r.randint(0, 255)), "fd00:%x::/64" % r.randint(1, 9999)])
        if kind == "mac":
            return "02:00:%02x:%02x:%02x:%02x" % tuple(r.randint(0, 255) for _ in range(4))
        if kind == "uuid":
            return str(uuidlib.UUID(int=r.getrandbits(128)))
        if kind == "route_target":
            return "target:64512:%d" % r.randint(1, 1 << 20)
        if kind == "name":
            return self.name()
        if kind == "json":
            return {"k": r.randint(0, 9)}
        if own and r.random() < 0.3:  # strings that name objects (policy rules, endpoints)
            return self.own_fq_string(own)
        return r.choice(["", "x", "text " + self.name(), "ünïcödé ✓"])

    def valid_struct(self, name, own):
        out = {}
        for k, spec in self.structs[name].items():
            spec = self.field_spec(spec)
            if spec.get("required") or self.rng.random() < 0.4:
                out[k] = self.valid_value(spec, own)
        return out

    def name(self):
        return "f%x" % self.rng.getrandbits(40)

    def own_fq_string(self, own):
        objs = [o for lst in own.objects.values() for o in lst]
        return ":".join(self.rng.choice(objs)["fq"]) if objs else "any"

    def ref_entry(self, ref, own, style="own"):
        """A reference entry to an own/foreign/missing object of the target type."""
        target = ref["to"]
        r = self.rng
        if style == "own" and own and own.objects.get(target):
            o = r.choice(own.objects[target])
            e = {"uuid": o["uuid"]} if r.random() < 0.5 else {"to": r.choice([o["fq"], ":".join(o["fq"])])}
        elif style == "missing":
            e = r.choice([{"uuid": str(uuidlib.uuid4())}, {"to": (own.fq if own else [D, "nope"]) + [self.name()]}])
        else:
            return None
        if ref.get("attr") and r.random() < 0.7:
            e["attr"] = self.valid_struct(ref["attr"], own)
        return e

    def valid_body(self, t, own, parent=None):
        """A create body for type t in tenant `own` (None: global admin, global object)."""
        r = self.rng
        if parent is None:
            parent = self.pick_parent(t, own)
        fq = (parent or []) + [self.name()]
        obj = {"fq_name": fq}
        for k, spec in t.get("properties", {}).items():
            spec = self.field_spec(spec)
            if spec.get("required") or r.random() < 0.5:
                obj[k] = self.valid_value(spec, own)
        if t["name"] == "tag":
            obj["tag_type_name"] = r.choice(["label", "tier", "application", "fz" + self.name()[:5]])
            obj["tag_value"] = self.name()
            obj["fq_name"] = fq[:-1] + ["%s=%s" % (obj["tag_type_name"], obj["tag_value"])]
            obj.pop("tag_id", None)
        if own:  # tenants may not choose identifiers (403), so leave them to the controller mostly
            for k in ("vni", "route_target_list"):
                if k in obj and r.random() < 0.9:
                    del obj[k]
            # A shared network may be named by the other tenant's policies: keep every
            # tenant network private so that naming one is always a foreign reference.
            for k in ("is_shared", "router_external"):
                if k in obj:
                    obj[k] = False
        for k, ref in t.get("refs", {}).items():
            if ref.get("required") or r.random() < 0.4:
                e = self.ref_entry(ref, own)
                if e:
                    obj[k] = [e]
        return obj

    def pick_parent(self, t, own):
        parents = [p for p in t.get("parents", []) if p]
        r = self.rng
        if "" in t.get("parents", []) and (not own or r.random() < 0.2):
            return []
        if "project" in parents and own:
            return list(own.fq)
        if "domain" in parents:
            return [D]
        for p in parents:
            if own and own.objects.get(p):
                return list(r.choice(own.objects[p])["fq"])
        return list(own.fq) if own else [D]

    # ---------- malformed and boundary values
    def junk(self, depth=0):
        r = self.rng
        choices = [
            None, True, 0, -1, 1.5, 1 << 63, -(1 << 63) - 1, 1 << 64, 1e308, "", "x" * r.choice([255, 256, 4097, 70000]),
            "\u0000", "a:b", "a/b", "with space", "ünï", "\U0001F600", [], {}, [1, "a", None], {"a": {"b": []}},
        ]
        v = r.choice(choices)
        if depth < 2 and r.random() < 0.2:
            v = [self.junk(depth + 1) for _ in range(r.randint(1, 3))]
        return v

    def bad_fq(self, t, own, other):
        r = self.rng
        base = own.fq if own else [D]
        cands = [
            [], [""], [D], None, 42, {}, "", ":", "::", [1, 2], [D, None], base + ["a:b"], base + ["a/b"],
            base + [" "], base + ["x" * 256], base + ["x" * 255], base + ["ok", "extra", "more"],
            [D, "missing-" + self.name(), self.name()], ["other-domain"] + base[1:] + [self.name()],
            ":".join(base) + "::x", [self.name()], [D] * 300, base + ["naïve-✓"], base + ["\u0000x"],
        ]
        if other:
            cands.append(other.fq + [self.name()])
            cands.append(self.foreign_object(other)["fq"] + [self.name()])
        return r.choice(cands)

    def foreign_object(self, other, type_=None):
        lists = [l for k, l in other.objects.items() if l and (type_ is None or k == type_)]
        if not lists:
            lists = [l for l in other.objects.values() if l]
        return self.rng.choice(self.rng.choice(lists))

    def deep(self, n):
        return ("[" * n + "]" * n).encode()

    def mutate(self, t, obj, own, other):
        """Applies one malformation; returns (obj, foreign secrets placed)."""
        r = self.rng
        props = list(t.get("properties", {}).items())
        refs = list(t.get("refs", {}).items())
        foreign = []
        m = r.choice(["prop_junk", "prop_bound", "fq", "ref_junk", "ref_foreign", "ref_missing", "unknown",
                      "meta", "null", "struct_junk", "huge_list", "foreign_name_string"])
        if m == "prop_junk" and props:
            k, _ = r.choice(props)
            obj[k] = self.junk()
        elif m == "prop_bound" and props:
            k, spec = r.choice(props)
            spec = self.field_spec(spec)
            lo, hi = spec.get("min", 0), spec.get("max", 65535 if spec.get("type") == "port" else 1 << 31)
            obj[k] = r.choice([lo - 1, hi + 1, lo, hi, -(1 << 63), (1 << 64) - 1, str(lo), float(hi)])
        elif m == "fq":
            obj["fq_name"] = self.bad_fq(t, own, other)
            if other and isinstance(obj["fq_name"], list) and other.name in obj["fq_name"]:
                foreign.append(other.name)
                foreign += [n for n in obj["fq_name"] if isinstance(n, str) and n in other.secrets() and n != other.name]
        elif m in ("ref_junk", "ref_foreign", "ref_missing") and refs:
            k, ref = r.choice(refs)
            if m == "ref_junk":
                obj[k] = r.choice([self.junk(), [self.junk()], [{"to": self.junk()}], [{"uuid": "not-a-uuid"}],
                                   [{"to": [D], "uuid": str(uuidlib.uuid4())}], [{"attr": {}}],
                                   [{"uuid": str(uuidlib.uuid4()), "attr": self.junk()}],
                                   [self.ref_entry(ref, own) or {"uuid": str(uuidlib.uuid4())}] * r.choice([2, 500])])
            elif m == "ref_missing":
                obj[k] = [self.ref_entry(ref, own, "missing")]
            elif other:
                o = self.foreign_object(other, ref["to"])
                if r.random() < 0.5:
                    obj[k] = [{"uuid": o["uuid"]}]
                    foreign.append(o["uuid"])
                else:
                    obj[k] = [{"to": o["fq"]}]
                    foreign += [n for n in o["fq"] if n in other.secrets()]
        elif m == "unknown":
            obj[r.choice(["bogus", "virtual_network_ref", "name ", "", "ü"])] = self.junk()
        elif m == "meta":
            k = r.choice(["uuid", "parent_type", "parent_uuid", "href", "revision", "created_at", "name",
                          "created_with_interface", "x_back_refs"])
            obj[k] = r.choice([self.junk(), str(uuidlib.uuid4()), "project", "domain", "virtual-network"])
            if k == "uuid" and other and r.random() < 0.5:
                obj[k] = other.uuid
                foreign.append(other.uuid)
        elif m == "null" and obj:
            obj[r.choice(list(obj))] = None
        elif m == "struct_junk" and props:
            k, spec = r.choice(props)
            obj[k] = r.choice([[{}], [{"x": 1}], {"start": "x"}, [[]], [self.junk()]])
        elif m == "huge_list" and props:
            k, _ = r.choice(props)
            obj[k] = ["x"] * r.choice([1000, 20000])
        elif m == "foreign_name_string" and other:
            # A policy/endpoint field naming the other tenant's network.
            o = self.foreign_object(other, "virtual-network")
            name = ":".join(o["fq"])
            if t["name"] == "network-policy":
                obj["rules"] = [{"direction": "<>", "protocol": "any", "src_networks": [name],
                                 "dst_networks": ["any"], "action": "pass"}]
            elif t["name"] == "firewall-rule":
                obj["endpoint_2"] = {"virtual_network": name}
            else:
                return obj, foreign
            foreign += [n for n in o["fq"] if n in other.secrets()]
        if own:
            for k in ("is_shared", "router_external"):  # see valid_body
                if obj.get(k) is True:
                    obj[k] = False
        return obj, foreign

    # ---------- the oracles
    def isolation_check(self, own, other, req_text, resp_text, entry):
        if not own:
            return
        for s in other.secrets():
            if s in resp_text and s not in req_text:
                self.fail("tenant %s saw %s's %r" % (own.name, other.name, s), entry)
                return

    def fake_like(self, s):
        try:
            uuidlib.UUID(s)
            return str(uuidlib.UUID(int=self.rng.getrandbits(128)))
        except ValueError:
            alphabet = "qwertyuiopzxcvbnm"
            return "".join(self.rng.choice(alphabet) for _ in s)

    def exchange(self, op, token, own, other, method, target, body=None, foreign=(), source="127.0.0.1"):
        """Sends a request and checks every oracle; with foreign secrets in it, also
        sends the twin naming made-up objects instead and compares the answers."""
        self.by_op[op] = self.by_op.get(op, 0) + 1
        tb = target.encode() if isinstance(target, str) else target
        bb = body.encode() if isinstance(body, str) else body
        status, text = self.send(token, method, tb, bb, source)
        req_text = (tb + b" " + (bb or b"")).decode("utf-8", "replace")
        entry = "[%s] %s %s %s -> %d %s" % (op, method, short(tb), short(bb), status, short(text))
        self.isolation_check(own, other, req_text, text, entry)
        foreign = [f for f in set(foreign) if f and f.encode() in tb + (bb or b"")]
        if own and foreign:
            mutation = method in ("POST", "PUT", "DELETE") and not target_is_lookup(tb)
            if mutation and status < 300:
                self.fail("a write naming another tenant's object was accepted", entry)
            elif not (mutation and status < 300):
                subst = {f: self.fake_like(f) for f in sorted(foreign, key=len, reverse=True)}
                t2, b2 = tb, bb
                for f, fake in subst.items():
                    t2 = t2.replace(f.encode(), fake.encode())
                    if b2 is not None:
                        b2 = b2.replace(f.encode(), fake.encode())
                s2, text2 = self.send(token, method, t2, b2, source)
                for f, fake in subst.items():
                    text2 = text2.replace(fake, f)
                if (s2, text2) != (status, text):
                    self.fail("existence oracle: answer differs for a made-up object",
                              "%s\n    twin -> %d %s" % (entry, s2, short(text2)))
        return status, text

    # ---------- one random operation
    def step(self):
        r = self.rng
        token, own, other, role = r.choice(self.principals())
        t = self.types[r.choice(list(self.types))]
        op = r.choices(["create", "create_bad", "read", "update", "delete", "list", "lookup", "raw"],
                       [4, 6, 3, 4, 2, 4, 2, 2])[0]
        getattr(self, "op_" + op)(op, token, own, other, role, t)

    def record_create(self, own, t, status, text):
        if status != 201:
            return
        out = loads(text)
        if not out:
            return
        tenant = own
        o = out.get(t["name"])
        if not o:
            self.fail("a 201 answer without the created object", short(text))
            return
        if tenant is None:  # the global admin: file it under the project that owns it
            tenant = next((x for x in self.tenants if o["fq_name"][:2] == x.fq), None)
        if tenant:
            tenant.add(t["name"], o["uuid"], o["fq_name"])
            for iip in out.get("instance_ips", []) or []:
                tenant.add("instance-ip", iip["uuid"], iip["fq_name"])

    def op_create(self, op, token, own, other, role, t):
        obj = self.valid_body(t, own)
        query = ""
        if t["name"] == "virtual-machine-interface" and self.rng.random() < 0.5:
            query = "?allocate_ip=" + self.rng.choice(["v4", "v6", "both"])
        status, text = self.exchange(op, token, own, other, "POST", "/" + t["plural"] + query, jbody({t["name"]: obj}))
        if role == "reader" and status < 300:
            self.fail("a reader created an object", "%s %s" % (t["name"], obj))
        self.record_create(own, t, status, text)

    def op_create_bad(self, op, token, own, other, role, t):
        r = self.rng
        kind = r.choices(["mutate", "shape", "bytes", "deep", "wide", "huge", "query"], [10, 2, 2, 1, 1, 1, 2])[0]
        target = "/" + t["plural"]
        foreign = []
        if kind == "mutate":
            obj, foreign = self.mutate(t, self.valid_body(t, own), own, other)
            body = jbody({t["name"]: obj})
        elif kind == "shape":
            body = r.choice([b"", b"null", b"[]", b"42", b'"x"', b"{}", jbody({"wrong-type": {}}),
                             jbody({t["name"]: []}), jbody({t["name"]: {}, "extra": 1}), b"{" * 3, b'{"a":1,}',
                             jbody({t["name"]: self.valid_body(t, own)})[:-3], b'{"%s": {"fq_name": NaN}}' % t["name"].encode(),
                             b'{"%s": {"fq_name": ["a"], "fq_name": ["b"]}}' % t["name"].encode()])
        elif kind == "bytes":
            good = jbody({t["name"]: self.valid_body(t, own)})
            cut = r.randint(0, len(good))
            body = good[:cut] + r.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\xe2\x82"]) + good[cut:]
        elif kind == "deep":
            n = r.choice([63, 64, 65, 1000, 100000])
            body = b'{"%s": {"description": ' % t["name"].encode() + self.deep(n) + b"}}"
        elif kind == "wide":
            n = r.choice([99990, 100001, 150000])
            body = b'{"%s": {"fq_name": [' % t["name"].encode() + b",".join([b"1"] * n) + b"]}}"
        elif kind == "huge":
            body = b'{"%s": {"description": "' % t["name"].encode() + b"x" * r.choice([MAX_BODY - 100, MAX_BODY + 10]) + b'"}}'
        else:
            target += r.choice(["?allocate_ip=v5", "?allocate_ip=", "?x=1", "?allocate_ip=v4&allocate_ip=v6",
                                "?%ff=1", "?allocate_ip=%ff", "?" + "a=1&" * 500])
            body = jbody({t["name"]: self.valid_body(t, own)})
        status, text = self.exchange(op, token, own, other, "POST", target, body, foreign)
        self.record_create(own, t, status, text)

    def pick_uuid(self, own, other, t=None):
        """(uuid text, foreign secrets) for a path: own, foreign, missing or garbage."""
        r = self.rng
        style = r.choice(["own", "foreign", "missing", "garbage"])
        if style == "own" and own:
            lst = own.objects.get(t["name"]) if t else None
            if lst:
                return r.choice(lst)["uuid"], []
        if style == "foreign" and other:
            o = self.foreign_object(other, t["name"] if t else None)
            return o["uuid"], [o["uuid"]]
        if style == "garbage":
            return r.choice(["x", "%ff%fe", "..%2f..", "00000000-0000-0000-0000-00000000000g", "a" * 5000,
                             "%00", "%c0%80", "%ed%a0%80", str(uuidlib.uuid4()).upper(), "%20"]), []
        return str(uuidlib.uuid4()), []

    def op_read(self, op, token, own, other, role, t):
        u, foreign = self.pick_uuid(own, other, t)
        query = self.rng.choice(["", "", "?back_refs=false", "?back_refs=maybe", "?bogus=1", "?back_refs=%ff"])
        status, _ = self.exchange(op, token, own, other, "GET", "/%s/%s%s" % (t["name"], u, query), None, foreign)
        if own and foreign and status == 200:
            self.fail("read another tenant's object", "%s %s" % (t["name"], u))

    def op_update(self, op, token, own, other, role, t):
        r = self.rng
        u, foreign = self.pick_uuid(own, other, t)
        patch = {k: v for k, v in self.valid_body(t, own).items() if r.random() < 0.4}
        if r.random() < 0.6:
            patch, more = self.mutate(t, patch, own, other)
            foreign += more
        if r.random() < 0.2:
            patch["fq_name"] = self.bad_fq(t, own, other)
        body = jbody({t["name"]: patch}) if r.random() < 0.9 else r.choice([b"", b"[]", b"\xff", jbody(patch)])
        status, _ = self.exchange(op, token, own, other, "PUT", "/%s/%s" % (t["name"], u), body, foreign)
        if role == "reader" and status < 300:
            self.fail("a reader updated an object", "%s %s" % (t["name"], u))

    def op_delete(self, op, token, own, other, role, t):
        u, foreign = self.pick_uuid(own, other, t)
        status, _ = self.exchange(op, token, own, other, "DELETE", "/%s/%s" % (t["name"], u), None, foreign)
        if status < 300:
            if role == "reader":
                self.fail("a reader deleted an object", "%s %s" % (t["name"], u))
            for x in self.tenants:
                x.forget(u)

    def filter_value(self, kind, own, other):
        """(value, foreign secrets) for a list filter."""
        r = self.rng
        style = r.choice(["own", "foreign", "missing", "garbage"])
        if style == "foreign" and other:
            o = self.foreign_object(other)
            if kind in ("project",):
                return r.choice([(other.uuid, [other.uuid]), (":".join(other.fq), [other.name])])
            if kind in ("parent_id",):
                return o["uuid"], [o["uuid"]]
            return ":".join(o["fq"]), [n for n in o["fq"] if n in other.secrets()]
        if style == "own" and own:
            o = self.rng.choice([x for l in own.objects.values() for x in l])
            if kind == "project":
                return r.choice([own.uuid, ":".join(own.fq)]), []
            if kind == "parent_id":
                return o["uuid"], []
            return ":".join(o["fq"]), []
        if style == "garbage":
            return r.choice(["", ":", "a::b", "%ff", "x" * 3000, "%00", "not-a-uuid", "label%3D", "%2F"]), []
        if kind in ("project", "parent_id") and r.random() < 0.5:
            return str(uuidlib.uuid4()), []
        return "%s:made-%s:%s" % (D, self.name(), self.name()), []

    def op_list(self, op, token, own, other, role, t):
        r = self.rng
        params, foreign = [], []
        for k in ("parent_id", "parent_fq_name", "fq_name", "tag", "project"):
            if r.random() < 0.3:
                v, f = self.filter_value(k, own, other)
                params.append("%s=%s" % (k, v))
                foreign += f
        if r.random() < 0.4:
            params.append("detail=" + r.choice(["true", "false", "1", "yes"]))
        if r.random() < 0.3:
            params.append("limit=" + r.choice(["1", "0", "10001", "-1", "x", "200"]))
        if r.random() < 0.2:
            params.append("marker=" + r.choice(["0", "5", "-3", "9" * 30]))
        if r.random() < 0.05:
            params.append(r.choice(["bogus=1", "=1", "&&", "detail"]))
        target = "/" + t["plural"] + ("?" + "&".join(params) if params else "")
        self.exchange(op, token, own, other, "GET", target, None, foreign)

    def op_lookup(self, op, token, own, other, role, t):
        r = self.rng
        if r.random() < 0.5:
            fq, foreign = None, []
            style = r.choice(["own", "foreign", "missing", "bad"])
            if style == "own" and own and own.objects.get(t["name"]):
                fq = r.choice(own.objects[t["name"]])["fq"]
            elif style == "foreign" and other and other.objects.get(t["name"]):
                fq = r.choice(other.objects[t["name"]])["fq"]
                foreign = [n for n in fq if n in other.secrets()]
            elif style == "bad":
                fq = self.bad_fq(t, own, other)
            else:
                fq = (own.fq if own else [D]) + [self.name()]
            typ = t["name"] if r.random() < 0.9 else r.choice(["nope", 5, None, t["plural"]])
            body = jbody({"type": typ, "fq_name": fq} if r.random() < 0.9 else {"fq_name": fq})
            self.exchange(op, token, own, other, "POST", "/fqname-to-id", body, foreign)
        else:
            u, foreign = self.pick_uuid(own, other, t)
            body = jbody(r.choice([{"uuid": u}, {"uuid": 5}, {}, [u]]))
            self.exchange(op, token, own, other, "POST", "/id-to-fqname", body, foreign)

    def op_raw(self, op, token, own, other, role, t):
        r = self.rng
        method = r.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        target = r.choice([b"/", b"/" + t["plural"].encode() + b"/x", b"/" + t["name"].encode(), b"/\xff", b"/%ff",
                           b"/" + t["name"].encode() + b"/\xc3\x28", b"//", b"/" + t["plural"].encode() + b"?\xff=1",
                           b"/" + t["plural"].encode() + b"?detail=\xe2\x82", b"/schema?x=%ff", b"/healthz",
                           b"/watch?since=x", b"/watch?types=nope", b"/tokens", b"/token/x", b"/policy-status",
                           b"/agents/register", b"/agents/x/config", b"/" + t["name"].encode() + b"/" + b"a" * 9000, b"/metrics"])
        body = r.choice([None, None, b"{}", b"\xff\xfe", jbody({"project": "x", "role": "admin"})])
        if method == "HEAD" or target.startswith(b"/watch"):
            # a HEAD answer carries no body and a watch answer does not end: keep the framing simple
            method = "GET" if not target.startswith(b"/watch") else "GET"
            if target.startswith(b"/watch") and b"since=x" not in target and b"types=nope" not in target:
                return
        tok = token
        source = "127.0.0.1"
        if r.random() < 0.1:  # wrong tokens from their own address, so throttling hits only that one
            tok, source = "0" * 48, "127.0.0.2"
        self.by_op[op] = self.by_op.get(op, 0) + 1
        status, text = self.send(tok, method, target, body, source)
        entry = "[raw] %s %s -> %d %s" % (method, short(target), status, short(text))
        if tok == token:
            self.isolation_check(own, other, (target + b" " + (body or b"")).decode("utf-8", "replace"), text, entry)

    # ---------- run
    def run(self, seconds):
        deadline = time.time() + seconds
        last_health = 0
        while time.time() < deadline:
            self.step()
            if time.time() - last_health > 2:
                status, _ = self.send(None, "GET", "/healthz")
                if status != 200:
                    self.fail("/healthz", str(status))
                last_health = time.time()


def target_is_lookup(target):
    return target.startswith(b"/fqname-to-id") or target.startswith(b"/id-to-fqname")


def short(x, n=160):
    if x is None:
        return ""
    if isinstance(x, bytes):
        x = x.decode("utf-8", "backslashreplace")
    return x if len(x) <= n else x[:n] + "...(%d)" % len(x)


# ---------------------------------------------------------------- regressions
def regressions(fz):
    """The findings of the first run, each checked directly (they must stay fixed)."""
    a, b = fz.tenants
    bt, at = b.tokens["member"], a.tokens["member"]
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("REGRESSION FAILED: " + what, flush=True)

    def call(token, method, target, body=None):
        return fz.send(token, method, target, jbody(body) if body is not None else None)

    a_vn = a.objects["virtual-network"][0]
    # (a) fqname-to-id of another tenant's object: the 404 is the one of a missing name.
    s1, t1 = call(bt, "POST", "/fqname-to-id", {"type": "virtual-network", "fq_name": a_vn["fq"]})
    fake = a_vn["fq"][:2] + ["z" * len(a_vn["fq"][2])]
    s2, t2 = call(bt, "POST", "/fqname-to-id", {"type": "virtual-network", "fq_name": fake})
    check(s1 == 404 and a_vn["uuid"] not in t1, "(a) fqname-to-id leaks the uuid: %d %s" % (s1, t1))
    check(t1.replace(a_vn["fq"][2], "z" * len(a_vn["fq"][2])) == t2, "(a) fqname-to-id answers differ: %s / %s" % (t1, t2))

    # (b) PUT with an invalid fq_name is a 400 naming the field.
    b_vn = b.objects["virtual-network"][0]
    for bad in ([D, "x:y"], 5, [1], "", [""]):
        s, t = call(bt, "PUT", "/virtual-network/" + b_vn["uuid"], {"virtual-network": {"fq_name": bad}})
        check(s == 400 and (loads(t) or {}).get("error", {}).get("field") == "fq_name",
              "(b) PUT fq_name=%r: %d %s" % (bad, s, t))

    # (c) DELETE 409: referrers of other projects (cross references by the admin) are
    # counted, not named.
    b_pol = b.objects["network-policy"][0]
    s, t = call(bt, "DELETE", "/network-policy/" + b_pol["uuid"])
    err = (loads(t) or {}).get("error", {})
    check(s == 409, "(c) delete of a referenced policy: %d %s" % (s, t))
    leaked = [x for x in a.secrets() if x in t]
    check(not leaked, "(c) 409 names another project's referrer: %s in %s" % (leaked, t))
    check(err.get("details", {}).get("other_referrers") == 1, "(c) 409 does not count the hidden referrer: %s" % t)
    check(any(r.get("uuid") == b_vn["uuid"] for r in err.get("details", {}).get("referrers", [])),
          "(c) 409 must still list the caller's own referrer: %s" % t)

    # (d) list filters naming another project answer exactly like made-up ones, and the
    # order of checks leaks nothing.
    made_up = "%s:%s" % (D, "q" * len(a.name))
    other_made_up = "%s:%s" % (D, "w" * len(a.name))
    fake_uuid = str(uuidlib.uuid4())
    a_fq, b_fq = ":".join(a.fq), ":".join(b.fq)
    for real, fake, query in (
            (a_fq, made_up, "project=%s"),
            (a.uuid, fake_uuid, "project=%s"),
            (a_fq, made_up, "parent_fq_name=%s"),
            (a.uuid, fake_uuid, "parent_id=%s"),
            (a_fq, made_up, "parent_fq_name=%s&project=" + other_made_up),
            (a_fq, made_up, "parent_fq_name=" + other_made_up + "&project=%s"),
            (a_fq, made_up, "parent_fq_name=" + b_fq + "&project=%s"),
            (a_fq, made_up, "project=" + b_fq + "&parent_fq_name=%s")):
        r1 = call(bt, "GET", "/virtual-networks?" + query % real)
        r2 = call(bt, "GET", "/virtual-networks?" + query % fake)
        check(r1[0] < 500 and (r1[0], r1[1]) == (r2[0], r2[1].replace(fake, real)),
              "(d) list ?%s -> %s vs %s" % (query % real, r1, r2))

    # (e) an object the global admin made in B that references A's objects shows B
    # neither A's names nor uuids: not in a read, a detailed list or the watch stream.
    x_vn = next(o for o in b.objects["virtual-network"] if o["fq"][-1].startswith("x-net-"))
    s, t = call(bt, "GET", "/virtual-network/" + x_vn["uuid"])
    body = (loads(t) or {}).get("virtual-network", {})
    check(s == 200 and not [x for x in a.secrets() if x in t], "(e) read shows A's objects: %s" % t)
    check(body.get("network_policy_refs") in (None, []) and body.get("hidden_refs", {}).get("network_policy_refs") == 1,
          "(e) hidden reference not counted: %s" % t)
    s, t = call(bt, "GET", "/virtual-networks?detail=true")
    check(s == 200 and not [x for x in a.secrets() if x in t], "(e) detailed list shows A's objects")
    s, t = watch_once(fz, bt)
    check(s == 200 and x_vn["uuid"] in t and not [x for x in a.secrets() if x in t],
          "(e) the watch stream shows A's objects (or lacks B's): %s" % short(t, 400))
    # B's update of its own object keeps the reference it cannot see.
    s, t = call(bt, "PUT", "/virtual-network/" + x_vn["uuid"], {"virtual-network": {"description": "b was here"}})
    check(s == 200, "(e) B's update of its object: %d %s" % (s, t))
    s, t = call(fz.admin, "GET", "/virtual-network/" + x_vn["uuid"])
    check(len((loads(t) or {}).get("virtual-network", {}).get("network_policy_refs", [])) == 1,
          "(e) B's update dropped the admin's reference: %s" % t)
    return failures


def watch_once(fz, token, seconds=1.5):
    """Reads what /watch?since=0 sends within a moment (the stream does not end)."""
    s = socket.create_connection(("127.0.0.1", fz.ctl.port), timeout=seconds)
    try:
        s.sendall(b"GET /watch?since=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token.encode())
        data = b""
        end = time.time() + seconds
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    text = data.decode("utf-8", "replace")
    status = int(text.split()[1]) if text.startswith("HTTP/") else 0
    return status, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    print("rest fuzz: seed %d (rerun with --seed %d), %g s" % (seed, seed, args.seconds), flush=True)
    ctl = Controller(args.binary, extra_args=["--log-level", "warn"]).start()
    fz = Fuzzer(ctl, seed)
    ok = False
    try:
        fz.setup()
        failures = regressions(fz)
        try:
            fz.run(args.seconds)
        except Failures:
            pass
        alive = ctl.proc.poll() is None
        print("requests %d; by status %s" % (fz.count, dict(sorted(fz.by_status.items()))))
        print("by operation %s" % dict(sorted(fz.by_op.items())))
        for took, entry in sorted(fz.slow, reverse=True)[:5]:
            print("slow answer %.1f s: %s" % (took, entry))
        print("objects: " + ", ".join("%s %d" % (t.name, sum(len(l) for l in t.objects.values())) for t in fz.tenants))
        if not alive:
            print("controller died; last requests:\n  " + "\n  ".join(fz.log))
        ok = alive and not failures and not fz.failures
        if not ok:
            print("FAILED (seed %d): %d regression failures, %d fuzz failures" % (seed, len(failures), len(fz.failures)))
            with open(ctl.log_path) as f:
                print("controller log tail:\n" + "".join(f.readlines()[-20:]))
    except Exception:
        traceback.print_exc()
        print("seed %d; last requests:\n  %s" % (seed, "\n  ".join(fz.log)))
    finally:
        for c in fz.conns.values():
            c.close()
        ctl.cleanup()
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
