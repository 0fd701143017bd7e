/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Benchmark traffic generator, not part of the forwarder: run with BPF_PROG_TEST_RUN in
 * live-frames mode on a workload's interface, XDP_TX sends each frame out of it, so packets
 * enter the path under test at line rate without a userspace sender in the way.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int vr_gen_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}
