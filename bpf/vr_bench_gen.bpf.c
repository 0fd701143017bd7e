/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Benchmark traffic generator, not part of the forwarder: run with BPF_PROG_TEST_RUN in
 * live-frames mode on a workload's interface, XDP_TX sends each frame out of it, so packets
 * enter the path under test at line rate without a userspace sender in the way.
 * With new_flows set, every frame gets the next UDP source port (and source address low
 * bits), so that each packet is the first of a new flow.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 new_flows = 0;
__u32 sequence = 0;

SEC("xdp")
int vr_gen_tx(struct xdp_md *ctx)
{
	if (new_flows) {
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		struct ethhdr *eth = data;
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return XDP_ABORTED;
		__u32 seq = sequence++; /* one generator runs on one CPU */
		/* 65535 ports x 16 destination ports: ~1M distinct flows before repeating. UDP
		 * checksum stays 0 (none) so no checksum needs fixing. */
		udp->source = bpf_htons(1024 + seq % 64000);
		udp->dest = bpf_htons(10000 + (seq / 64000) % 16);
	}
	return XDP_TX;
}
