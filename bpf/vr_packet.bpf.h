/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header access, checksums, and the three tunnel encapsulations, built and parsed here. */
#ifndef VRFABRIC_VR_PACKET_BPF_H
#define VRFABRIC_VR_PACKET_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vr_abi.h"

#define VR_ETH_P_MPLS_UC 0x8847

/* Outer header sizes: Ethernet + IPv4 + (UDP + VXLAN | UDP + MPLS | GRE + MPLS). */
#define VR_VXLAN_HDR_LEN 8
#define VR_MPLS_HDR_LEN 4
#define VR_GRE_HDR_LEN 4
#define VR_OUTER_IP_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr))
#define VR_VXLAN_ENCAP_LEN (VR_OUTER_IP_LEN + sizeof(struct udphdr) + VR_VXLAN_HDR_LEN)
#define VR_MPLSUDP_ENCAP_LEN (VR_OUTER_IP_LEN + sizeof(struct udphdr) + VR_MPLS_HDR_LEN)
#define VR_MPLSGRE_ENCAP_LEN (VR_OUTER_IP_LEN + VR_GRE_HDR_LEN + VR_MPLS_HDR_LEN)

_Static_assert(VR_VXLAN_ENCAP_LEN == VR_MAX_ENCAP_OVERHEAD, "vr_abi.h: VR_MAX_ENCAP_OVERHEAD");

#define VR_OUTER_TTL 64
#define VR_VXLAN_FLAG_I 0x08

/* True if [p, p + len) lies inside the packet. */
#define VR_FITS(p, len, end) ((void *)(p) + (len) <= (void *)(end))

static __always_inline int vr_mac_eq(const __u8 *a, const __u8 *b)
{
	return ((const __u16 *)a)[0] == ((const __u16 *)b)[0] &&
	       ((const __u16 *)a)[1] == ((const __u16 *)b)[1] &&
	       ((const __u16 *)a)[2] == ((const __u16 *)b)[2];
}

static __always_inline void vr_mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, VR_ETH_ALEN);
}

static __always_inline int vr_mac_is_multicast(const __u8 *mac)
{
	return mac[0] & 1;
}

static __always_inline __u16 vr_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline __u16 vr_ipv4_csum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;
	ip->check = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	return vr_csum_fold(sum);
}

/* RFC 1624 incremental update for the one-byte TTL decrement, as ip_decrease_ttl() does. */
static __always_inline void vr_ipv4_dec_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

/* Flow entropy for the outer UDP source port (RFC 7348 §5, RFC 7510 §3). */
static __always_inline __u16 vr_entropy_port(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	__u32 h = 0x9e3779b9;
	if (!VR_FITS(eth, sizeof(*eth), data_end))
		return 49152;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if (VR_FITS(ip, sizeof(*ip), data_end))
			h ^= ip->saddr * 0x85ebca6b ^ ip->daddr * 0xc2b2ae35 ^ ip->protocol;
	} else {
		h ^= *(__u32 *)eth->h_source * 0x85ebca6b ^ *(__u32 *)eth->h_dest * 0xc2b2ae35;
	}
	h ^= h >> 16;
	return 49152 | (h & 0x3fff);
}

static __always_inline __u32 vr_encap_len(__u8 encap)
{
	switch (encap) {
	case VR_ENCAP_VXLAN: return VR_VXLAN_ENCAP_LEN;
	case VR_ENCAP_MPLSUDP: return VR_MPLSUDP_ENCAP_LEN;
	case VR_ENCAP_MPLSGRE: return VR_MPLSGRE_ENCAP_LEN;
	}
	return 0;
}

static __always_inline __u32 vr_mpls_entry(__u32 label)
{
	/* label(20) | TC(3)=0 | S(1)=1: one label, bottom of stack | TTL(8) */
	return bpf_htonl((label << 12) | (1 << 8) | VR_OUTER_TTL);
}

/*
 * Prepends Ethernet/IPv4/(UDP|GRE)/(VXLAN|MPLS) in front of the frame. The inner frame is
 * always an Ethernet frame: the label or VNI and inner MAC are what the far end needs.
 * Returns 0 on success.
 */
static __always_inline int vr_encap(struct xdp_md *ctx, const struct vr_nexthop *nh, __u32 label)
{
	__u32 hlen = vr_encap_len(nh->encap);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 inner_len = data_end - data;
	__u16 sport = vr_entropy_port(data, data_end);

	if (hlen == 0 || bpf_xdp_adjust_head(ctx, -(int)hlen))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* The longest outer header; shorter ones are followed by at least an inner Ethernet header. */
	if (!VR_FITS(data, VR_VXLAN_ENCAP_LEN, data_end))
		return -1;

	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	void *l4 = ip + 1;

	vr_mac_copy(eth->h_dest, nh->dmac);
	vr_mac_copy(eth->h_source, nh->smac);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(hlen - sizeof(struct ethhdr) + inner_len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = VR_OUTER_TTL;
	ip->saddr = nh->tun_src;
	ip->daddr = nh->tun_dst;

	if (nh->encap == VR_ENCAP_MPLSGRE) {
		__u32 *gre = l4;
		ip->protocol = IPPROTO_GRE;
		/* RFC 2784 base header: no checksum, version 0, protocol MPLS unicast (RFC 4023). */
		gre[0] = bpf_htonl(VR_ETH_P_MPLS_UC);
		gre[1] = vr_mpls_entry(label);
	} else {
		struct udphdr *udp = l4;
		ip->protocol = IPPROTO_UDP;
		udp->source = bpf_htons(sport);
		udp->len = bpf_htons(hlen - VR_OUTER_IP_LEN + inner_len);
		/* A zero UDP checksum over IPv4 is allowed by RFC 7348 §5 and RFC 7510 §3. */
		udp->check = 0;
		__u32 *shim = (void *)(udp + 1);
		if (nh->encap == VR_ENCAP_VXLAN) {
			udp->dest = bpf_htons(VR_VXLAN_PORT);
			shim[0] = bpf_htonl(VR_VXLAN_FLAG_I << 24);
			shim[1] = bpf_htonl(label << 8);
		} else {
			udp->dest = bpf_htons(VR_MPLSUDP_PORT);
			shim[0] = vr_mpls_entry(label);
		}
	}
	ip->check = vr_ipv4_csum(ip);
	return 0;
}

#endif
