/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Benchmark programs, not part of the forwarder.
 *
 * vr_gen_tx: the traffic generator. Run with BPF_PROG_TEST_RUN in live-frames mode on a
 * workload's interface, XDP_TX sends each frame out of it, so packets enter the path under
 * test without a userspace sender (socket, skb) in the way. With mode VR_GEN_SAME_FLOW or
 * VR_GEN_NEW_FLOWS, each frame's Ethernet, IP and UDP headers are first rewritten from the
 * template: live frames are recycled without resetting their contents, and a routing path
 * (TTL, MAC rewrite) would otherwise send its own rewritten headers around again. With
 * VR_GEN_NEW_FLOWS every frame also gets the next UDP port pair, so that each packet is the
 * first of a new flow.
 *
 * vr_sink_drop: the receiver. Attached on the receiving workload's interface, it counts each
 * IPv4 UDP frame (what the generator sends; not the workload's own IPv6 chatter) and the time
 * of the last one, per CPU, and drops every frame, so the receiving side costs the same
 * small, fixed amount whatever path delivered the frame.
 *
 * vr_pass: XDP_PASS, for a veth end that must accept XDP frames but has nothing to decide.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define VR_GEN_HDR_LEN 42 /* Ethernet + IPv4 + UDP */

enum { VR_GEN_PLAIN, VR_GEN_SAME_FLOW, VR_GEN_NEW_FLOWS };

const volatile __u32 mode = VR_GEN_PLAIN;
__u32 sequence = 0;
/* The frame's headers as userspace built them (set before loading). */
__u8 template_hdr[VR_GEN_HDR_LEN] = {};

SEC("xdp")
int vr_gen_tx(struct xdp_md *ctx)
{
	if (mode != VR_GEN_PLAIN) {
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		struct ethhdr *eth = data;
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end) /* the VR_GEN_HDR_LEN bytes */
			return XDP_ABORTED;
		__builtin_memcpy(data, template_hdr, VR_GEN_HDR_LEN);
		if (mode != VR_GEN_NEW_FLOWS)
			return XDP_TX;
		__u32 seq = sequence++; /* one generator runs on one CPU */
		/* 64000 source ports x 16 destination ports: 1,024,000 distinct flows before
		 * repeating. UDP checksum stays 0 (none) so no checksum needs fixing. */
		udp->source = bpf_htons(1024 + seq % 64000);
		udp->dest = bpf_htons(10000 + (seq / 64000) % 16);
	}
	return XDP_TX;
}

struct vr_sink_stats {
	__u64 packets;
	__u64 last_ns;	/* bpf_ktime_get_ns (CLOCK_MONOTONIC) of the last frame */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vr_sink_stats);
} vr_sink SEC(".maps");

SEC("xdp")
int vr_sink_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP)
		return XDP_DROP;
	__u32 zero = 0;
	struct vr_sink_stats *s = bpf_map_lookup_elem(&vr_sink, &zero);
	if (s) {
		s->packets++;
		s->last_ns = bpf_ktime_get_ns();
	}
	return XDP_DROP;
}

SEC("xdp")
int vr_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
