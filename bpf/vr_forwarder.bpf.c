/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The vrfabric forwarder: XDP programs for the two kinds of interface.
 *   vr_workload_in  on the host end of every workload veth: ARP/ND answers, bridging inside
 *                   a subnet, routing through the distributed gateway, encapsulation.
 *   vr_fabric_in    on the underlay interface: decapsulation of VXLAN, MPLSoUDP, MPLSoGRE
 *                   addressed to this host; everything else goes on to the host stack.
 *   vr_peer_pass    on the workload end of the veth: lets XDP_REDIRECT/XDP_TX frames into
 *                   the veth pair reach the workload (a veth only accepts them when its
 *                   peer has an XDP program).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "vr_abi.h"
#include "vr_maps.bpf.h"
#include "vr_packet.bpf.h"
#include "vr_neigh.bpf.h"
#include "vr_flow.bpf.h"
#include "vr_source_guard.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int vr_deliver(struct xdp_md *ctx, const struct vr_fwd *fwd)
{
	struct vr_nexthop *nh = bpf_map_lookup_elem(&vr_nexthops, &fwd->nh_id);
	if (!nh)
		return vr_drop(VR_CNT_DROP_BAD_NH);

	switch (nh->type) {
	case VR_NH_IFACE:
		vr_count(VR_CNT_FWD_LOCAL);
		return bpf_redirect(nh->ifindex, 0);
	case VR_NH_TUNNEL:
		if (vr_encap(ctx, nh, fwd->label))
			return vr_drop(VR_CNT_DROP_ENCAP_FAIL);
		vr_count(VR_CNT_ENCAP_VXLAN - VR_ENCAP_VXLAN + nh->encap);
		return bpf_redirect(nh->ifindex, 0);
	case VR_NH_DISCARD:
		return vr_drop(VR_CNT_DROP_DISCARD_NH);
	case VR_NH_RECEIVE:
		vr_count(VR_CNT_PUNT);
		return XDP_PASS;
	}
	return vr_drop(VR_CNT_DROP_BAD_NH);
}

/* Routed IPv4: the workload sent it to the gateway MAC. */
static __always_inline int vr_route4(struct xdp_md *ctx, const struct vr_iface *ifc,
				     const struct vr_config *cfg)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct iphdr *ip = (void *)(eth + 1);

	if (!VR_FITS(ip, sizeof(*ip), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	if (ip->version != 4 || ip->ihl < 5)
		return vr_drop(VR_CNT_DROP_BAD_IP);

	struct vr_fib4_key key = {.prefixlen = 64, .vrf = ifc->vrf, .addr = ip->daddr};
	struct vr_fwd *fwd = bpf_map_lookup_elem(&vr_fib4, &key);
	if (!fwd)
		return vr_drop(VR_CNT_DROP_NO_ROUTE);
	struct vr_nexthop *nh = bpf_map_lookup_elem(&vr_nexthops, &fwd->nh_id);
	if (nh && nh->type == VR_NH_RECEIVE) {
		if (vr_answer_ping4(ctx, ip) == XDP_TX)
			return XDP_TX;
		vr_count(VR_CNT_PUNT);
		return XDP_PASS;
	}
	if (!vr_policy_allows(ctx, ifc, cfg, fwd))
		return XDP_DROP;
	if (ip->ttl <= 1)
		return vr_drop(VR_CNT_DROP_TTL);
	vr_ipv4_dec_ttl(ip);
	vr_mac_copy(eth->h_source, cfg->router_mac);
	vr_mac_copy(eth->h_dest, fwd->mac);
	vr_count(VR_CNT_ROUTED);
	return vr_deliver(ctx, fwd);
}

/* Routed IPv6, and neighbour solicitations sent to the gateway's unicast address. */
static __always_inline int vr_route6(struct xdp_md *ctx, const struct vr_iface *ifc,
				     const struct vr_config *cfg)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);

	if (!VR_FITS(ip6, sizeof(*ip6), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	if (ip6->version != 6)
		return vr_drop(VR_CNT_DROP_BAD_IP);
	if (ip6->nexthdr == IPPROTO_ICMPV6) {
		__u8 *type = (void *)(ip6 + 1);
		if (VR_FITS(type, 1, data_end) && *type == VR_ND_NS)
			return vr_answer_ns(ctx, ifc);
	}

	struct vr_fib6_key key = {.prefixlen = 32 + 128, .vrf = ifc->vrf};
	__builtin_memcpy(key.addr, &ip6->daddr, 16);
	struct vr_fwd *fwd = bpf_map_lookup_elem(&vr_fib6, &key);
	if (!fwd)
		return vr_drop(VR_CNT_DROP_NO_ROUTE);
	if (!vr_policy_allows(ctx, ifc, cfg, fwd))
		return XDP_DROP;
	if (ip6->hop_limit <= 1)
		return vr_drop(VR_CNT_DROP_TTL);
	ip6->hop_limit--;
	vr_mac_copy(eth->h_source, cfg->router_mac);
	vr_mac_copy(eth->h_dest, fwd->mac);
	vr_count(VR_CNT_ROUTED);
	return vr_deliver(ctx, fwd);
}

/* Multicast and broadcast from a workload: answered (ARP, ND), punted (DHCP, router
 * solicitations) or dropped. */
static __always_inline int vr_workload_multicast(struct xdp_md *ctx, const struct vr_iface *ifc,
						 __be16 proto)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__u8 *type = (void *)(ip6 + 1);
		if (VR_FITS(type, 1, data_end) && ip6->nexthdr == IPPROTO_ICMPV6 && *type == VR_ND_NS)
			return vr_answer_ns(ctx, ifc);
		/* Router solicitations are the agent's to answer, with an advertisement. */
		if (VR_FITS(type, 1, data_end) && ip6->nexthdr == IPPROTO_ICMPV6 && *type == VR_ND_RS) {
			vr_count(VR_CNT_PUNT);
			return XDP_PASS;
		}
		struct udphdr *udp6 = (void *)(ip6 + 1);
		/* DHCPv6 is the agent's to answer, as DHCP is. */
		if (VR_FITS(udp6, sizeof(*udp6), data_end) && ip6->nexthdr == IPPROTO_UDP &&
		    udp6->dest == bpf_htons(547)) {
			vr_count(VR_CNT_PUNT);
			return XDP_PASS;
		}
	} else if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);
		/* DHCP is the agent's to answer. */
		if (VR_FITS(udp, sizeof(*udp), data_end) && ip->ihl == 5 && ip->protocol == IPPROTO_UDP &&
		    udp->dest == bpf_htons(67)) {
			vr_count(VR_CNT_PUNT);
			return XDP_PASS;
		}
	}
	return vr_drop(VR_CNT_DROP_FLOOD);
}

SEC("xdp")
int vr_workload_in(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 ifindex = ctx->ingress_ifindex;

	vr_count(VR_CNT_RX_WORKLOAD);
	if (!VR_FITS(eth, sizeof(*eth), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	struct vr_iface *ifc = bpf_map_lookup_elem(&vr_ifaces, &ifindex);
	struct vr_config *cfg = vr_config();
	if (!ifc || ifc->kind != VR_IFACE_WORKLOAD || !cfg)
		return vr_drop(VR_CNT_DROP_UNKNOWN_IFACE);
	/* A workload sends only from its own MAC and addresses (or allowed pairs), and claims
	 * only those in ARP and ND, before anything else looks at the packet. */
	__be16 proto = eth->h_proto;
	__u32 spoof = vr_source_guard(ctx, eth, data_end, ifc);
	if (spoof)
		return vr_drop(spoof);

	if (proto == bpf_htons(ETH_P_ARP))
		return vr_answer_arp(ctx, ifc);
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return vr_drop(VR_CNT_DROP_BAD_ETHERTYPE);
	if (vr_mac_is_multicast(eth->h_dest))
		return vr_workload_multicast(ctx, ifc, proto);
	if (vr_mac_eq(eth->h_dest, cfg->router_mac))
		return proto == bpf_htons(ETH_P_IP) ? vr_route4(ctx, ifc, cfg) : vr_route6(ctx, ifc, cfg);

	struct vr_l2_key key = {.vrf = ifc->vrf};
	vr_mac_copy(key.mac, eth->h_dest);
	struct vr_fwd *fwd = bpf_map_lookup_elem(&vr_l2, &key);
	if (!fwd)
		return vr_drop(VR_CNT_DROP_NO_L2);
	if (!vr_policy_allows(ctx, ifc, cfg, fwd))
		return XDP_DROP;
	return vr_deliver(ctx, fwd);
}

/* Strips hlen bytes of outer headers and hands the inner frame to a local workload. */
static __always_inline int vr_decap_to_iface(struct xdp_md *ctx, __u32 hlen, __u32 nh_id, __u32 cnt)
{
	struct vr_nexthop *nh = bpf_map_lookup_elem(&vr_nexthops, &nh_id);
	if (!nh || nh->type != VR_NH_IFACE) /* never hairpin a tunnel back into the fabric */
		return vr_drop(VR_CNT_DROP_BAD_NH);
	if (bpf_xdp_adjust_head(ctx, hlen))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	/* The receiving side decides too: its tables are the same, and it must not rely on
	 * the sender's host having enforced anything. */
	__u32 ifindex = nh->ifindex;
	struct vr_iface *dst = bpf_map_lookup_elem(&vr_ifaces, &ifindex);
	struct vr_config *cfg = vr_config();
	if (dst && cfg && !vr_policy_allows(ctx, dst, cfg, NULL))
		return XDP_DROP;
	vr_count(cnt);
	vr_count(VR_CNT_FWD_LOCAL);
	return bpf_redirect(nh->ifindex, 0);
}

static __always_inline int vr_decap_vxlan(struct xdp_md *ctx, __u32 *shim)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *inner = (void *)(shim + 2);

	if (!VR_FITS(inner, sizeof(*inner), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	if (!(bpf_ntohl(shim[0]) & (VR_VXLAN_FLAG_I << 24)))
		return vr_drop(VR_CNT_DROP_BAD_VXLAN);
	__u32 vni = bpf_ntohl(shim[1]) >> 8;
	__u32 *vrf = bpf_map_lookup_elem(&vr_vnis, &vni);
	if (!vrf)
		return vr_drop(VR_CNT_DROP_UNKNOWN_VNI);
	if (vr_mac_is_multicast(inner->h_dest))
		return vr_drop(VR_CNT_DROP_FLOOD);
	struct vr_l2_key key = {.vrf = *vrf};
	vr_mac_copy(key.mac, inner->h_dest);
	struct vr_fwd *fwd = bpf_map_lookup_elem(&vr_l2, &key);
	if (!fwd)
		return vr_drop(VR_CNT_DROP_NO_L2);
	return vr_decap_to_iface(ctx, VR_VXLAN_ENCAP_LEN, fwd->nh_id, VR_CNT_DECAP_VXLAN);
}

static __always_inline int vr_decap_mpls(struct xdp_md *ctx, __u32 *shim, __u32 hlen, __u32 cnt)
{
	void *data_end = (void *)(long)ctx->data_end;

	if (!VR_FITS(shim, VR_MPLS_HDR_LEN + sizeof(struct ethhdr), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	__u32 entry = bpf_ntohl(*shim);
	if (!(entry & (1 << 8))) /* one label only: it names the interface */
		return vr_drop(VR_CNT_DROP_BAD_MPLS);
	__u32 label = entry >> 12;
	__u32 *nh_id = bpf_map_lookup_elem(&vr_labels, &label);
	if (!nh_id)
		return vr_drop(VR_CNT_DROP_UNKNOWN_LABEL);
	return vr_decap_to_iface(ctx, hlen, *nh_id, cnt);
}

SEC("xdp")
int vr_fabric_in(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	vr_count(VR_CNT_RX_FABRIC);
	if (!VR_FITS(eth, sizeof(*eth), data_end))
		return vr_drop(VR_CNT_DROP_TRUNCATED);
	struct vr_config *cfg = vr_config();
	if (!cfg || eth->h_proto != bpf_htons(ETH_P_IP) || !VR_FITS(ip, sizeof(*ip), data_end) ||
	    ip->daddr != cfg->fabric_ip)
		goto pass;
	/* Our encapsulations always use a plain 20-byte header and never fragment. */
	if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
		goto pass;

	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip + 1);
		if (!VR_FITS(udp, sizeof(*udp), data_end))
			return vr_drop(VR_CNT_DROP_TRUNCATED);
		if (udp->dest == bpf_htons(VR_VXLAN_PORT)) {
			if (!VR_FITS(udp + 1, VR_VXLAN_HDR_LEN, data_end))
				return vr_drop(VR_CNT_DROP_TRUNCATED);
			return vr_decap_vxlan(ctx, (void *)(udp + 1));
		}
		if (udp->dest == bpf_htons(VR_MPLSUDP_PORT))
			return vr_decap_mpls(ctx, (void *)(udp + 1), VR_MPLSUDP_ENCAP_LEN, VR_CNT_DECAP_MPLSUDP);
		goto pass;
	}
	if (ip->protocol == IPPROTO_GRE) {
		__u32 *gre = (void *)(ip + 1);
		if (!VR_FITS(gre, VR_GRE_HDR_LEN, data_end))
			return vr_drop(VR_CNT_DROP_TRUNCATED);
		/* We only speak the RFC 2784 base header: no checksum, key or sequence, version 0. */
		if (bpf_ntohl(gre[0]) != VR_ETH_P_MPLS_UC)
			return vr_drop(VR_CNT_DROP_BAD_GRE);
		return vr_decap_mpls(ctx, gre + 1, VR_MPLSGRE_ENCAP_LEN, VR_CNT_DECAP_MPLSGRE);
	}
pass:
	vr_count(VR_CNT_FABRIC_PASS);
	return XDP_PASS;
}

SEC("xdp")
int vr_peer_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
