"""Crash safety: SIGKILL vr-controller in the middle of a burst of writes (ports created
with their instance IP in one request), restart it on the same database, and check that
every acknowledged write is there, nothing is half-applied (no port without its address,
no address without its port, no duplicate address) and the revision sequence has no gaps.
usage: python3 test_crash.py PATH/TO/vr-controller"""
import os
import signal
import sqlite3
import sys
import threading
import time
import unittest

from ctlharness import Controller, network

BINARY = None
D = "default-domain"


class CrashTest(unittest.TestCase):
    def test_sigkill_during_writes(self):
        ctl = Controller(BINARY).start()
        try:
            c = ctl.client()
            vn = network(c, "crash", "net", ["10.80.0.0/16"])
            acked = {}  # vmi uuid -> address, only for writes answered 201
            lock = threading.Lock()
            stop = threading.Event()

            def writer(w):
                cl = ctl.client()
                i = 0
                while not stop.is_set():
                    try:
                        st, body = cl.create("virtual-machine-interface", "virtual-machine-interfaces", {
                            "fq_name": [D, "crash", "w%d-%d" % (w, i)], "virtual_network_refs": [{"uuid": vn}]},
                            "?allocate_ip=v4")
                    except OSError:
                        return  # controller killed mid-request: that write was never acknowledged
                    if st == 201:
                        with lock:
                            acked[body["virtual-machine-interface"]["uuid"]] = \
                                body["instance-ips"][0]["instance_ip_address"]
                    i += 1
            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            ctl.proc.send_signal(signal.SIGKILL)
            ctl.proc.wait()
            stop.set()
            for t in threads:
                t.join(30)
            self.assertGreater(len(acked), 50, "the burst was too small to mean anything")

            with sqlite3.connect(ctl.db) as db:  # the file is consistent before the controller touches it
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            ctl.start()
            c = ctl.client()
            vmis = {}
            marker = 0
            while True:
                page = c.must(c.get("/virtual-machine-interfaces?detail=true&limit=1000&marker=%d" % marker))
                for v in page["virtual-machine-interfaces"]:
                    vmis[v["uuid"]] = v
                if "next_marker" not in page:
                    break
                marker = page["next_marker"]
            iips = {}
            for ip in c.must(c.get("/instance-ips?detail=true&limit=10000"))["instance-ips"]:
                iips[ip["virtual_machine_interface_refs"][0]["uuid"]] = ip["instance_ip_address"]
            missing = [u for u in acked if u not in vmis]
            self.assertEqual(missing, [], "acknowledged ports lost after SIGKILL")
            for u, addr in acked.items():
                self.assertEqual(iips.get(u), addr)
            self.assertEqual(set(vmis), set(iips), "a port without its address or vice versa")
            self.assertEqual(len(set(iips.values())), len(iips), "duplicate address")
            with sqlite3.connect(ctl.db) as db:
                revs = [r[0] for r in db.execute("SELECT rev FROM changes ORDER BY rev")]
                self.assertEqual(revs, list(range(1, len(revs) + 1)), "gap in the revision sequence")
                n_alloc = db.execute("SELECT count(*) FROM ip_alloc").fetchone()[0]
                self.assertEqual(n_alloc, len(iips), "allocation table disagrees with instance-ips")
            # and the restarted controller keeps allocating without collisions
            st, body = c.create("virtual-machine-interface", "virtual-machine-interfaces", {
                "fq_name": [D, "crash", "after"], "virtual_network_refs": [{"uuid": vn}]}, "?allocate_ip=v4")
            self.assertEqual(st, 201, body)
            self.assertNotIn(body["instance-ips"][0]["instance_ip_address"], set(iips.values()))
            print("acknowledged %d, present %d after SIGKILL" % (len(acked), len(vmis)), file=sys.stderr)
        finally:
            ctl.cleanup()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
