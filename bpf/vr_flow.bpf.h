/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow-based policy enforcement. The first packet of a flow (VRF + 5-tuple) is decided in
 * the datapath from the compiled tables: the endpoint group of each address (exact hash,
 * then LPM), then the rule for the pair of groups, the protocol and the destination port
 * (LPM over the port; exact protocol first, then any). One entry serves both directions, so
 * the return traffic passes; later packets of the flow cost one hash lookup. A policy change
 * bumps the generation and each flow is re-decided at its next packet, as its initiator sent
 * it. Packets of MIRROR flows are also copied to the agent for the rule's analyzer.
 */
#ifndef VRFABRIC_VR_FLOW_BPF_H
#define VRFABRIC_VR_FLOW_BPF_H

#include <linux/tcp.h>
#include "vr_maps.bpf.h"
#include "vr_packet.bpf.h"

#define VR_TCP_FIN 0x01
#define VR_TCP_RST 0x04

struct vr_l4 {
	__be16 sport, dport;   /* flow key ports */
	__be16 rule_port;      /* what rules match: destination port, or ICMP type << 8 | code */
	__u8 tcp_flags;
};

/* Ports of the packet whose L4 header starts at l4; 0 when there is none to read. */
static __always_inline int vr_l4_ports(void *l4, void *data_end, __u8 proto, struct vr_l4 *out)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;	/* ports sit at the same offsets in TCP and UDP */
		if (!VR_FITS(uh, sizeof(*uh), data_end))
			return -1;
		out->sport = uh->source;
		out->dport = uh->dest;
		out->rule_port = uh->dest;
		if (proto == IPPROTO_TCP) {
			__u8 *flags = (__u8 *)l4 + 13;
			if (!VR_FITS(flags, 1, data_end))
				return -1;
			out->tcp_flags = *flags;
		}
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		__u8 *icmp = l4;
		if (!VR_FITS(icmp, 8, data_end))
			return -1;
		/* Echo request and reply share the identifier: one flow for both directions. */
		out->sport = out->dport = *(__be16 *)(icmp + 4);
		__u8 type = icmp[0];
		if (type == 0)
			type = 8; /* replies are decided as the request they answer */
		else if (type == 129)
			type = 128;
		out->rule_port = bpf_htons((__u16)type << 8 | icmp[1]);
	}
	return 0;
}

static __always_inline __u32 vr_epg_of(__u32 vrf, __u8 family, const __u8 *addr)
{
	struct vr_epg_host_key h = {.vrf = vrf, .family = family};
	__builtin_memcpy(h.addr, addr, 16);
	__u32 *epg = bpf_map_lookup_elem(&vr_epg_hosts, &h);
	if (epg)
		return *epg;
	if (family == 4) {
		struct vr_epg4_key k = {.prefixlen = 64, .vrf = vrf};
		__builtin_memcpy(&k.addr, addr, 4);
		epg = bpf_map_lookup_elem(&vr_epg4, &k);
	} else {
		struct vr_epg6_key k = {.prefixlen = 32 + 128, .vrf = vrf};
		__builtin_memcpy(k.addr, addr, 16);
		epg = bpf_map_lookup_elem(&vr_epg6, &k);
	}
	return epg ? *epg : VR_EPG_NONE;
}

static __always_inline struct vr_rule *vr_rule_for(__u32 src, __u32 dst, __u8 proto, __be16 port)
{
	struct vr_rule_key k = {.prefixlen = 32 + 32 + 8 + 8 + 16, .src_epg = src, .dst_epg = dst,
				.proto = proto, .dport = port};
	struct vr_rule *r = bpf_map_lookup_elem(&vr_rules, &k);
	if (r)
		return r;
	k.proto = VR_PROTO_ANY;
	return bpf_map_lookup_elem(&vr_rules, &k);
}

/* A copy of the frame as it is now, for the analyzer of the rule that decided the flow. */
static __always_inline void vr_mirror_copy(struct xdp_md *ctx, __u32 vrf, __u32 rule_id)
{
	__u64 len = (__u64)ctx->data_end - ctx->data;
	if (len > VR_MIRROR_MAX_BYTES)
		len = VR_MIRROR_MAX_BYTES;
	struct vr_mirror_meta meta = {.rule_id = rule_id, .vrf = vrf, .len = (__u16)len};
	if (bpf_perf_event_output(ctx, &vr_mirror, BPF_F_CURRENT_CPU | (len << 32), &meta, sizeof(meta)))
		vr_count(VR_CNT_MIRROR_FAILED);
	else
		vr_count(VR_CNT_MIRRORED);
}

/*
 * Puts the two ends of the flow in a fixed order (any total order does: address words, then
 * ports), so that both directions of a flow share one key and one entry. Returns 1 when
 * the ends were swapped, i.e. the packet goes from the key's dst side to its src side.
 */
static __always_inline int vr_flow_canonical(struct vr_flow_key *k)
{
	__u32 *a = (__u32 *)k->src, *b = (__u32 *)k->dst;
	int swap = bpf_ntohs(k->sport) > bpf_ntohs(k->dport);
#pragma unroll
	for (int i = 3; i >= 0; i--)
		if (a[i] != b[i])
			swap = a[i] > b[i];
	if (swap) {
		__u8 t[16];
		__builtin_memcpy(t, k->src, 16);
		__builtin_memcpy(k->src, k->dst, 16);
		__builtin_memcpy(k->dst, t, 16);
		__be16 p = k->sport;
		k->sport = k->dport;
		k->dport = p;
	}
	return swap;
}

/* The local workload interface a forwarding entry delivers to, if it is one. */
static __always_inline struct vr_iface *vr_local_dst(const struct vr_fwd *fwd)
{
	if (!fwd)
		return NULL;
	struct vr_nexthop *nh = bpf_map_lookup_elem(&vr_nexthops, &fwd->nh_id);
	if (!nh || nh->type != VR_NH_IFACE)
		return NULL;
	__u32 ifindex = nh->ifindex;
	return bpf_map_lookup_elem(&vr_ifaces, &ifindex);
}

/*
 * The VRF the return traffic of a flow starts in: the destination workload's own when the
 * route delivers straight to a local interface of another network (routes leaked between
 * networks a policy connects), else the flow's own. Only looked up for a flow's first packet.
 */
static __always_inline __u32 vr_return_vrf(__u32 vrf, const struct vr_fwd *fwd)
{
	struct vr_iface *dst = vr_local_dst(fwd);
	return dst ? dst->vrf : vrf;
}

/*
 * The decision for the IP packet at l3 (an IPv4 or IPv6 header, already bounds-checked by
 * the caller for its fixed part). Returns the action; never looks at packets of interfaces
 * without policy (the caller only calls it for those). fwd is the route the packet takes
 * when it was routed, NULL when it stays in its VRF.
 */
static __always_inline __u32 vr_flow_decide(struct xdp_md *ctx, __u32 vrf, void *l3, __u8 family,
					    const struct vr_config *cfg, const struct vr_fwd *fwd)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct vr_flow_key key = {.vrf = vrf, .family = family};
	struct vr_l4 l4 = {};
	void *l4p;
	int has_ports = 1;
	__u64 len = (__u64)(data_end - l3);

	if (family == 4) {
		struct iphdr *ip = l3;
		key.proto = ip->protocol;
		__builtin_memcpy(key.src, &ip->saddr, 4);
		__builtin_memcpy(key.dst, &ip->daddr, 4);
		l4p = l3 + ip->ihl * 4;
		/* Later fragments carry no ports: they go with the flow of port 0. */
		if (ip->frag_off & bpf_htons(0x1fff))
			has_ports = 0;
	} else {
		struct ipv6hdr *ip6 = l3;
		key.proto = ip6->nexthdr;
		__builtin_memcpy(key.src, &ip6->saddr, 16);
		__builtin_memcpy(key.dst, &ip6->daddr, 16);
		l4p = ip6 + 1;
	}
	if (has_ports && vr_l4_ports(l4p, data_end, key.proto, &l4))
		return VR_ACT_DENY; /* a truncated transport header is not a flow */
	key.sport = l4.sport;
	key.dport = l4.dport;
	int swapped = vr_flow_canonical(&key);

	__u64 now = bpf_ktime_get_coarse_ns(); /* ageing needs milliseconds, not nanoseconds */
	struct vr_flow *flow = bpf_map_lookup_elem(&vr_flows, &key);
	if (flow && flow->generation == cfg->policy_generation) {
		flow->last_seen_ns = now;
		flow->packets++;
		flow->bytes += len;
		if (l4.tcp_flags & (VR_TCP_FIN | VR_TCP_RST))
			flow->flags |= VR_FLOW_F_CLOSING;
		vr_count(VR_CNT_FLOW_HIT);
		if (flow->action == VR_ACT_MIRROR)
			vr_mirror_copy(ctx, vrf, flow->rule_id);
		return flow->action;
	}

	/*
	 * First packet, or the policy changed since: decide from the compiled tables, always as
	 * the flow's initiator sent it. A reply that finds its flow stale is decided as the
	 * packet that opened the flow, so a policy change never cuts established return traffic
	 * that the new policy still allows.
	 */
	int initiator_swapped = flow ? !!(flow->flags & VR_FLOW_F_SWAPPED) : swapped;
	__u8 *from = initiator_swapped ? key.dst : key.src, *to = initiator_swapped ? key.src : key.dst;
	__be16 rule_port = l4.rule_port;
	if (key.proto == IPPROTO_TCP || key.proto == IPPROTO_UDP)
		rule_port = initiator_swapped ? key.sport : key.dport;
	struct vr_flow f = {.generation = cfg->policy_generation, .last_seen_ns = now, .packets = 1, .bytes = len};
	if (initiator_swapped)
		f.flags |= VR_FLOW_F_SWAPPED;
	if (flow) { /* keep the counts of a flow that is only re-decided */
		f.packets += flow->packets;
		f.bytes += flow->bytes;
	}
	f.src_epg = vr_epg_of(vrf, family, from);
	f.dst_epg = vr_epg_of(vrf, family, to);
	if (f.src_epg == VR_EPG_NONE || f.dst_epg == VR_EPG_NONE) {
		f.action = VR_ACT_PASS; /* an address outside every group is not under policy */
	} else {
		struct vr_rule *r = vr_rule_for(f.src_epg, f.dst_epg, key.proto, rule_port);
		f.action = r ? r->action : VR_ACT_DENY;
		f.rule_id = r ? r->rule_id : 0;
	}
	if (l4.tcp_flags & (VR_TCP_FIN | VR_TCP_RST))
		f.flags |= VR_FLOW_F_CLOSING;
	vr_count(VR_CNT_FLOW_NEW);
	if (f.action == VR_ACT_MIRROR)
		vr_mirror_copy(ctx, vrf, f.rule_id);
	/* The reply starts in the destination's VRF when the route crossed into another network
	 * on this host: the flow then has a second entry there, and each names the other's VRF. */
	__u32 rvrf = vr_return_vrf(vrf, fwd);
	f.pair_vrf = rvrf;
	/* An existing (stale) entry is replaced in place; a new one may not fit. */
	if (bpf_map_update_elem(&vr_flows, &key, &f, BPF_ANY)) {
		vr_count(VR_CNT_FLOW_TABLE_FULL);
		return f.action;
	}
	if (rvrf != vrf) {
		key.vrf = rvrf;
		f.pair_vrf = vrf;
		if (bpf_map_update_elem(&vr_flows, &key, &f, BPF_ANY))
			vr_count(VR_CNT_FLOW_TABLE_FULL);
	}
	return f.action;
}

/*
 * Policy for the Ethernet frame at the start of the packet, received on ifc and forwarded by
 * fwd, when either end is under policy: its own interface, or the local interface it is
 * delivered to (a destination on another host is decided there, when it arrives).
 */
static __always_inline int vr_policy_allows(struct xdp_md *ctx, const struct vr_iface *ifc,
					    const struct vr_config *cfg, const struct vr_fwd *fwd)
{
	if (!(ifc->flags & VR_IFACE_F_POLICY)) {
		if (!(cfg->flags & VR_CFG_F_POLICY))
			return 1; /* no policy on this host: no lookup of the destination either */
		struct vr_iface *dst = vr_local_dst(fwd);
		if (!dst || !(dst->flags & VR_IFACE_F_POLICY))
			return 1;
	}
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	void *l3 = eth + 1;
	__u32 action;

	if (!VR_FITS(eth, sizeof(*eth), data_end))
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if (!VR_FITS(ip, sizeof(*ip), data_end) || ip->ihl < 5)
			return 0;
		action = vr_flow_decide(ctx, ifc->vrf, l3, 4, cfg, fwd);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (!VR_FITS(l3, sizeof(struct ipv6hdr), data_end))
			return 0;
		action = vr_flow_decide(ctx, ifc->vrf, l3, 6, cfg, fwd);
	} else {
		return 1;
	}
	if (action == VR_ACT_DENY) {
		vr_count(VR_CNT_DROP_POLICY);
		return 0;
	}
	return 1;
}

#endif
