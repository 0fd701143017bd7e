/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Source guard: what a workload sends must come from its own addresses or its allowed
 * address pairs, and its ARP and neighbour discovery may claim only those, checked on
 * ingress before any forwarding or policy decision (policy picks the source endpoint group
 * by the source address, so a forged source would otherwise pass another port's rules).
 *
 * Per packet: one hash lookup (the port's own address) and, on a miss, one LPM lookup (its
 * pairs); both are keyed by the ingress ifindex, so neither grows with the ports or pairs of
 * the host. Exceptions, all of which the port needs before it has an address:
 *   0.0.0.0 -> UDP 67 (DHCP discover/request), :: -> multicast (DAD, MLD),
 *   fe80:: + the modified EUI-64 of the port's MAC (its kernel's link-local address).
 */
#ifndef VRFABRIC_VR_SOURCE_GUARD_BPF_H
#define VRFABRIC_VR_SOURCE_GUARD_BPF_H

#include "vr_maps.bpf.h"
#include "vr_packet.bpf.h"
#include "vr_neigh.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_GUARD_ADDRS);
	__type(key, struct vr_guard_addr_key);
	__type(value, __u8);
} vr_guard_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VR_MAX_GUARD_PAIRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vr_guard_pair_key);
	__type(value, struct vr_guard_pair);
} vr_guard_pairs SEC(".maps");

#define VR_ND_RA 134
#define VR_ND_REDIRECT 137
#define VR_ND_OPT_SLLA 1
#define VR_ND_MAX_OPTS 4 /* link-layer address, nonce, …: more is not neighbour discovery */
#define VR_IP6_MAX_EXT 3 /* extension headers walked to find an ICMPv6 header behind them */

/*
 * The MAC the port may send from this address with, or NULL when the address is not the
 * port's. addr is 4 (family 4) or 16 bytes.
 */
static __always_inline const __u8 *vr_guard_mac_of(__u32 ifindex, const struct vr_iface *ifc, __u8 family,
						   const void *addr)
{
	struct vr_guard_addr_key k = {.ifindex = ifindex, .family = family};

	if (family == 4) {
		__builtin_memcpy(k.addr, addr, 4);
	} else {
		__builtin_memcpy(k.addr, addr, 16);
		if (vr_is_gateway_ll(k.addr, ifc->mac)) /* the same EUI-64 rule, for the port's MAC */
			return ifc->mac;
	}
	if (bpf_map_lookup_elem(&vr_guard_addrs, &k))
		return ifc->mac;
	struct vr_guard_pair_key pk = {.prefixlen = 64 + (family == 4 ? 32 : 128), .addr = k};
	struct vr_guard_pair *pair = bpf_map_lookup_elem(&vr_guard_pairs, &pk);
	if (!pair)
		return 0;
	const __u8 *m = pair->mac;
	return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) ? pair->mac : ifc->mac;
}

/* Source MAC and address together: which drop reason, or 0 when the port may send so. */
static __always_inline __u32 vr_guard_source(__u32 ifindex, const struct vr_iface *ifc, __u8 family,
					     const void *addr, const __u8 *smac)
{
	const __u8 *mac = vr_guard_mac_of(ifindex, ifc, family, addr);
	int own_mac = vr_mac_eq(smac, ifc->mac);
	if (!mac)
		return own_mac ? VR_CNT_DROP_SRC_SPOOF : VR_CNT_DROP_SPOOF;
	return vr_mac_eq(smac, mac) ? 0 : VR_CNT_DROP_SPOOF;
}

/* ARP: the sender (address, MAC) pair must be the port's; 0.0.0.0 is an address probe. */
static __always_inline __u32 vr_guard_arp(struct xdp_md *ctx, struct ethhdr *eth, void *data_end,
					   const struct vr_iface *ifc)
{
	struct vr_arp *arp = (void *)(eth + 1);

	if (!vr_mac_eq(eth->h_source, ifc->mac))
		return VR_CNT_DROP_SPOOF;
	if (!VR_FITS(arp, sizeof(*arp), data_end))
		return VR_CNT_DROP_TRUNCATED;
	if (!vr_mac_eq(arp->sha, eth->h_source))
		return VR_CNT_DROP_NEIGH_SPOOF;
	__u32 spa;
	__builtin_memcpy(&spa, arp->spa, 4);
	if (spa == 0)
		return 0;
	const __u8 *mac = vr_guard_mac_of(ctx->ingress_ifindex, ifc, 4, &spa);
	return mac && vr_mac_eq(mac, arp->sha) ? 0 : VR_CNT_DROP_NEIGH_SPOOF;
}

/* A header too broken to check: a stranger's frame is a spoof before it is anything else. */
static __always_inline __u32 vr_guard_broken(const struct ethhdr *eth, const struct vr_iface *ifc, __u32 reason)
{
	return vr_mac_eq(eth->h_source, ifc->mac) ? reason : VR_CNT_DROP_SPOOF;
}

static __always_inline __u32 vr_guard_ipv4(struct xdp_md *ctx, struct ethhdr *eth, void *data_end,
					   const struct vr_iface *ifc)
{
	struct iphdr *ip = (void *)(eth + 1);

	if (!VR_FITS(ip, sizeof(*ip), data_end))
		return vr_guard_broken(eth, ifc, VR_CNT_DROP_TRUNCATED);
	if (ip->version != 4 || ip->ihl < 5)
		return vr_guard_broken(eth, ifc, VR_CNT_DROP_BAD_IP);
	__be32 saddr = ip->saddr;
	if (saddr == 0) {
		struct udphdr *udp = (void *)(ip + 1);
		if (ip->ihl == 5 && ip->protocol == IPPROTO_UDP && VR_FITS(udp, sizeof(*udp), data_end) &&
		    udp->dest == bpf_htons(67) && vr_mac_eq(eth->h_source, ifc->mac))
			return 0;
	}
	return vr_guard_source(ctx->ingress_ifindex, ifc, 4, &saddr, eth->h_source);
}

/* Link-layer address options of an NS (source) or NA (target) must carry mac. */
static __always_inline __u32 vr_guard_nd_options(__u8 *opt, void *data_end, __u8 want_type, const __u8 *mac)
{
#pragma unroll
	for (int i = 0; i < VR_ND_MAX_OPTS; i++) {
		if (!VR_FITS(opt, 2, data_end))
			return 0;
		__u32 len = (__u32)opt[1] * 8;
		if (len == 0) /* RFC 4861 4.6: a zero-length option is invalid */
			return VR_CNT_DROP_NEIGH_SPOOF;
		if (opt[0] == want_type) {
			if (!VR_FITS(opt, 8, data_end) || !vr_mac_eq(opt + 2, mac))
				return VR_CNT_DROP_NEIGH_SPOOF;
		}
		opt += len & 0x7f8;
	}
	return VR_FITS(opt, 1, data_end) ? VR_CNT_DROP_NEIGH_SPOOF : 0;
}

/* Neighbour discovery from a workload: its NS carry its own MAC, its NA claim only its own
 * addresses with its own MAC, and it never speaks as a router (RA, redirect). */
static __always_inline __u32 vr_guard_nd(struct xdp_md *ctx, void *data_end, const struct vr_iface *ifc,
					 __u8 *icmp, const __u8 *smac)
{

	if (!VR_FITS(icmp, 1, data_end))
		return 0;
	__u8 type = icmp[0];
	if (type == VR_ND_RA || type == VR_ND_REDIRECT)
		return VR_CNT_DROP_NEIGH_SPOOF;
	if (type == VR_ND_NS)
		return vr_guard_nd_options(icmp + 24, data_end, VR_ND_OPT_SLLA, smac);
	if (type != VR_ND_NA)
		return 0;
	struct vr_nd *nd = (void *)icmp;
	if (!VR_FITS(nd, 24, data_end))
		return VR_CNT_DROP_TRUNCATED;
	__u8 target[16];
	__builtin_memcpy(target, nd->target, 16);
	const __u8 *mac = vr_guard_mac_of(ctx->ingress_ifindex, ifc, 6, target);
	if (!mac || !vr_mac_eq(mac, smac))
		return VR_CNT_DROP_NEIGH_SPOOF;
	return vr_guard_nd_options(icmp + 24, data_end, VR_ND_OPT_TLLA, smac);
}

static __always_inline int vr_ip6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS;
}

static __always_inline __u32 vr_guard_ipv6(struct xdp_md *ctx, struct ethhdr *eth, void *data_end,
					   const struct vr_iface *ifc)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);

	if (!VR_FITS(ip6, sizeof(*ip6), data_end))
		return vr_guard_broken(eth, ifc, VR_CNT_DROP_TRUNCATED);
	if (ip6->version != 6)
		return vr_guard_broken(eth, ifc, VR_CNT_DROP_BAD_IP);
	__u8 saddr[16];
	__builtin_memcpy(saddr, &ip6->saddr, 16);
	__u32 *s32 = (__u32 *)saddr;
	__u32 reason;
	if ((s32[0] | s32[1] | s32[2] | s32[3]) == 0)
		/* Unspecified: only before the port has an address, and never to anyone in particular. */
		reason = ip6->daddr.in6_u.u6_addr8[0] == 0xff && vr_mac_eq(eth->h_source, ifc->mac)
				 ? 0 : VR_CNT_DROP_SRC_SPOOF;
	else
		reason = vr_guard_source(ctx->ingress_ifindex, ifc, 6, saddr, eth->h_source);
	if (reason)
		return reason;

	/* Neighbour discovery may sit behind extension headers (not fragments: RFC 6980). */
	__u8 nexthdr = ip6->nexthdr;
	__u8 *l4 = (void *)(ip6 + 1);
#pragma unroll
	for (int i = 0; i < VR_IP6_MAX_EXT; i++) {
		if (!vr_ip6_is_ext(nexthdr))
			break;
		if (!VR_FITS(l4, 2, data_end))
			return VR_CNT_DROP_TRUNCATED;
		nexthdr = l4[0];
		l4 += ((__u32)l4[1] + 1) * 8;
	}
	if (nexthdr == IPPROTO_ICMPV6)
		return vr_guard_nd(ctx, data_end, ifc, l4, eth->h_source);
	return vr_ip6_is_ext(nexthdr) ? VR_CNT_DROP_BAD_IP : 0;
}

/* Everything a workload sends: which drop reason, or 0 to go on. */
static __always_inline __u32 vr_source_guard(struct xdp_md *ctx, struct ethhdr *eth, void *data_end,
					     const struct vr_iface *ifc)
{
	__be16 proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_IP))
		return vr_guard_ipv4(ctx, eth, data_end, ifc);
	if (proto == bpf_htons(ETH_P_IPV6))
		return vr_guard_ipv6(ctx, eth, data_end, ifc);
	if (proto == bpf_htons(ETH_P_ARP))
		return vr_guard_arp(ctx, eth, data_end, ifc);
	return vr_mac_eq(eth->h_source, ifc->mac) ? 0 : VR_CNT_DROP_SPOOF;
}

#endif
