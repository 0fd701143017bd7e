/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Answers a workload's ARP requests and IPv6 neighbour solicitations from the FIB, and its
 * pings to the distributed gateway, in place with XDP_TX: nothing is ever flooded.
 */
#ifndef VRFABRIC_VR_NEIGH_BPF_H
#define VRFABRIC_VR_NEIGH_BPF_H

#include "vr_maps.bpf.h"
#include "vr_packet.bpf.h"

/* From <linux/if_arp.h> and <linux/icmp.h>, which drag in libc headers a BPF build cannot use. */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

struct vr_icmp4 {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

struct vr_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

/* IPv6 neighbour solicitation/advertisement body with one link-layer address option. */
struct vr_nd {
	__u8 type;
	__u8 code;
	__sum16 check;
	__be32 flags;
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len;
	__u8 opt_mac[ETH_ALEN];
} __attribute__((packed));

#define VR_ND_RS 133
#define VR_ND_NS 135
#define VR_ND_NA 136
#define VR_ND_OPT_TLLA 2
#define VR_NA_ROUTER 0x80000000u
#define VR_NA_SOLICITED 0x40000000u
#define VR_NA_OVERRIDE 0x20000000u

/* Forwarding entry of exactly this host address, if it can answer for it. */
static __always_inline struct vr_fwd *vr_host4(__u32 vrf, __u32 addr)
{
	struct vr_fib4_key key = {.prefixlen = 64, .vrf = vrf, .addr = addr};
	struct vr_fwd *fwd = bpf_map_lookup_elem(&vr_fib4, &key);
	if (fwd && (fwd->flags & (VR_FWD_F_HOST | VR_FWD_F_HAS_MAC)) == (VR_FWD_F_HOST | VR_FWD_F_HAS_MAC))
		return fwd;
	return 0;
}

static __always_inline struct vr_fwd *vr_host6(__u32 vrf, const __u8 *addr)
{
	struct vr_fib6_key key = {.prefixlen = 32 + 128, .vrf = vrf};
	__builtin_memcpy(key.addr, addr, 16);
	struct vr_fwd *fwd = bpf_map_lookup_elem(&vr_fib6, &key);
	if (fwd && (fwd->flags & (VR_FWD_F_HOST | VR_FWD_F_HAS_MAC)) == (VR_FWD_F_HOST | VR_FWD_F_HAS_MAC))
		return fwd;
	return 0;
}

static __always_inline int vr_answer_arp(struct xdp_md *ctx, const struct vr_iface *ifc)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vr_arp *arp = (void *)(eth + 1);

	if (!VR_FITS(arp, sizeof(*arp), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	if (arp->htype != bpf_htons(ARPHRD_ETHER) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != ETH_ALEN || arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
		return vr_drop(VR_CNT_DROP_ARP_UNKNOWN);

	__u32 spa, tpa;
	__builtin_memcpy(&spa, arp->spa, 4);
	__builtin_memcpy(&tpa, arp->tpa, 4);
	if (spa == tpa) /* gratuitous: nobody to answer */
		return vr_drop(VR_CNT_DROP_ARP_UNKNOWN);
	struct vr_fwd *fwd = vr_host4(ifc->vrf, tpa);
	if (!fwd)
		return vr_drop(VR_CNT_DROP_ARP_UNKNOWN);

	vr_mac_copy(eth->h_dest, eth->h_source);
	vr_mac_copy(eth->h_source, fwd->mac);
	arp->op = bpf_htons(ARPOP_REPLY);
	vr_mac_copy(arp->tha, arp->sha);
	vr_mac_copy(arp->sha, fwd->mac);
	__builtin_memcpy(arp->tpa, &spa, 4);
	__builtin_memcpy(arp->spa, &tpa, 4);
	vr_count(VR_CNT_ARP_REPLY);
	return XDP_TX;
}

/* ICMPv6 checksum over the pseudo-header and an NA of fixed size. */
static __always_inline __u16 vr_nd_csum(struct ipv6hdr *ip6, struct vr_nd *nd)
{
	__u32 sum = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
	sum += bpf_htons(sizeof(*nd)) + bpf_htons(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(0, 0, (__be32 *)nd, sizeof(*nd), sum);
	return vr_csum_fold(sum);
}

/* The distributed gateway's link-local address, fe80:: + modified EUI-64 of its MAC: the
 * source of the agent's router advertisements, so the workloads' default route. */
static __always_inline int vr_is_gateway_ll(const __u8 *a, const __u8 *mac)
{
	__u8 ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
#pragma unroll
	for (int i = 0; i < 16; i++)
		if (a[i] != ll[i])
			return 0;
	return 1;
}

/* Turns a neighbour solicitation into the advertisement that answers it. */
static __always_inline int vr_answer_ns(struct xdp_md *ctx, const struct vr_iface *ifc)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct vr_nd *nd = (void *)(ip6 + 1);
	const __u32 na_len = sizeof(*eth) + sizeof(*ip6) + sizeof(*nd);

	/* An NS without options is 8 bytes shorter than the NA we answer with. */
	if (!VR_FITS(nd, sizeof(*nd) - 8, data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	if (nd->code != 0 || ip6->hop_limit != 255)
		return vr_drop(VR_CNT_DROP_ARP_UNKNOWN);
	/* Duplicate address detection (source ::) must stay unanswered or the address fails. */
	if (ip6->saddr.in6_u.u6_addr32[0] == 0 && ip6->saddr.in6_u.u6_addr32[1] == 0 &&
	    ip6->saddr.in6_u.u6_addr32[2] == 0 && ip6->saddr.in6_u.u6_addr32[3] == 0)
		return vr_drop(VR_CNT_DROP_FLOOD);

	__u8 target[16];
	__builtin_memcpy(target, nd->target, 16);
	__u8 mac[ETH_ALEN];
	__u32 flags = VR_NA_SOLICITED | VR_NA_OVERRIDE;
	struct vr_config *cfg = vr_config();
	if (cfg && vr_is_gateway_ll(target, cfg->router_mac)) {
		vr_mac_copy(mac, cfg->router_mac);
		flags |= VR_NA_ROUTER;
	} else {
		struct vr_fwd *fwd = vr_host6(ifc->vrf, target);
		if (!fwd)
			return vr_drop(VR_CNT_DROP_ARP_UNKNOWN);
		vr_mac_copy(mac, fwd->mac);
		struct vr_nexthop *nh = bpf_map_lookup_elem(&vr_nexthops, &fwd->nh_id);
		if (nh && nh->type == VR_NH_RECEIVE)
			flags |= VR_NA_ROUTER;
	}

	int delta = (int)na_len - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = (void *)(eth + 1);
	nd = (void *)(ip6 + 1);
	if (!VR_FITS(nd, sizeof(*nd), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);

	vr_mac_copy(eth->h_dest, eth->h_source);
	vr_mac_copy(eth->h_source, mac);
	ip6->payload_len = bpf_htons(sizeof(*nd));
	ip6->hop_limit = 255;
	ip6->daddr = ip6->saddr;
	__builtin_memcpy(&ip6->saddr, target, 16);
	nd->type = VR_ND_NA;
	nd->code = 0;
	nd->flags = bpf_htonl(flags);
	nd->opt_type = VR_ND_OPT_TLLA;
	nd->opt_len = 1;
	vr_mac_copy(nd->opt_mac, mac);
	nd->check = 0;
	nd->check = vr_nd_csum(ip6, nd);
	vr_count(VR_CNT_ND_REPLY);
	return XDP_TX;
}

/* Echo reply from the distributed gateway, so a workload can ping its default gateway. */
static __always_inline int vr_answer_ping4(struct xdp_md *ctx, struct iphdr *ip)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct vr_icmp4 *icmp = (void *)(ip + 1);

	if (ip->ihl != 5 || ip->protocol != IPPROTO_ICMP || !VR_FITS(icmp, sizeof(*icmp), data_end) ||
	    icmp->type != ICMP_ECHO || !VR_FITS(eth, sizeof(*eth), data_end))
		return -1;
	__u8 mac[ETH_ALEN];
	vr_mac_copy(mac, eth->h_dest);
	vr_mac_copy(eth->h_dest, eth->h_source);
	vr_mac_copy(eth->h_source, mac);
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->ttl = VR_OUTER_TTL;
	ip->check = vr_ipv4_csum(ip);
	icmp->type = ICMP_ECHOREPLY;
	/* The type moved from 8 to 0: the one's-complement sum grows by 0x0800. */
	__u32 c = icmp->checksum + bpf_htons(ICMP_ECHO << 8);
	icmp->checksum = (__u16)(c + (c >> 16));
	vr_count(VR_CNT_GW_ECHO_REPLY);
	return XDP_TX;
}

#endif
