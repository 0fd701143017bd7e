/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The forwarder's ABI: every map key and value shared by the BPF programs and the C++ agent.
 * Included by the BPF programs and by daemon/, both through <linux/types.h>.
 * Changing a layout here changes both sides at once; keep fields naturally aligned.
 */
#ifndef VRFABRIC_VR_ABI_H
#define VRFABRIC_VR_ABI_H

#include <linux/types.h>

#define VR_ETH_ALEN 6

/* Map sizes: the datapath's capacity. */
#define VR_MAX_IFACES 4096
#define VR_MAX_NEXTHOPS 65536
#define VR_MAX_ROUTES 262144
#define VR_MAX_L2 262144
#define VR_MAX_LABELS 65536
#define VR_MAX_VNIS 16384

/* MPLS labels below 16 are reserved (RFC 3032); the agent allocates from here. */
#define VR_LABEL_MIN 16
#define VR_LABEL_MAX ((1u << 20) - 1)

/* Well-known ports of the encapsulations. */
#define VR_VXLAN_PORT 4789   /* RFC 7348 */
#define VR_MPLSUDP_PORT 6635 /* RFC 7510 */

/* Outer Ethernet + IPv4 + UDP + VXLAN: the longest encapsulation. Workload MTU is the
 * fabric MTU less this, so no encapsulated frame exceeds the fabric MTU. */
#define VR_MAX_ENCAP_OVERHEAD 50

/* Interface table: ifindex (in the agent's namespace) -> role and VRF. */
enum vr_iface_kind {
	VR_IFACE_WORKLOAD = 1, /* host end of a workload veth */
	VR_IFACE_FABRIC = 2,   /* underlay link towards other hosts */
};

struct vr_iface {
	__u32 vrf;               /* workload: the VRF it belongs to */
	__u32 nh_id;             /* workload: the next hop that delivers to it */
	__u8 mac[VR_ETH_ALEN];   /* workload: the workload's MAC; fabric: our underlay MAC */
	__u16 kind;              /* enum vr_iface_kind */
	__u32 fabric_ip;         /* fabric: our underlay IPv4 (network order) */
	__u32 flags;             /* VR_IFACE_F_* */
};

#define VR_IFACE_F_POLICY 0x1 /* under policy: flows from or to it go through the flow table */

/* Next hops: what to do with a packet once its destination is known. */
enum vr_nh_type {
	VR_NH_INVALID = 0,
	VR_NH_IFACE = 1,   /* deliver to a local workload interface */
	VR_NH_TUNNEL = 2,  /* encapsulate towards another host */
	VR_NH_DISCARD = 3, /* drop (blackhole) */
	VR_NH_RECEIVE = 4, /* addressed to us (gateway); handed to the agent/stack */
};

enum vr_encap {
	VR_ENCAP_NONE = 0,
	VR_ENCAP_VXLAN = 1,   /* RFC 7348 */
	VR_ENCAP_MPLSUDP = 2, /* RFC 7510 */
	VR_ENCAP_MPLSGRE = 3, /* RFC 4023 */
};

struct vr_nexthop {
	__u8 type;                   /* enum vr_nh_type */
	__u8 encap;                  /* tunnel: enum vr_encap */
	__u16 pad;
	__u32 ifindex;               /* iface: workload veth; tunnel: fabric interface */
	__u8 dmac[VR_ETH_ALEN];      /* iface: workload MAC; tunnel: underlay next-hop MAC */
	__u8 smac[VR_ETH_ALEN];      /* tunnel: our underlay MAC */
	__u32 tun_src;               /* tunnel: outer source IPv4 (network order) */
	__u32 tun_dst;               /* tunnel: outer destination IPv4 (network order) */
};

/*
 * A forwarding entry, the value of both the L3 FIBs and the L2 table: which next hop, the
 * label or VNI the remote end expects, and (for L3 routes to a host) the destination MAC
 * that a routed packet is rewritten to, so routed and bridged packets leave identically.
 */
struct vr_fwd {
	__u32 nh_id;
	__u32 label;                 /* tunnel: MPLS label or VNI, by the next hop's encap */
	__u8 mac[VR_ETH_ALEN];       /* L3 host route: the destination's MAC */
	__u16 flags;                 /* VR_FWD_F_* */
};

#define VR_FWD_F_HAS_MAC 0x1 /* mac is valid (routed packets are rewritten to it) */
#define VR_FWD_F_HOST 0x2    /* a /32 or /128: ARP and ND for this address are answered with mac */

/* LPM keys: prefixlen counts the VRF's 32 bits plus the prefix's own length. */
struct vr_fib4_key {
	__u32 prefixlen;
	__u32 vrf;                   /* always matched whole, so its byte order is free */
	__u32 addr;                  /* network order */
};

struct vr_fib6_key {
	__u32 prefixlen;
	__u32 vrf;
	__u8 addr[16];
};

struct vr_l2_key {
	__u32 vrf;
	__u8 mac[VR_ETH_ALEN];
	__u16 pad;
};

/*
 * Policy (issue 6). The policy compiler maps every endpoint to an endpoint group (EPG): one
 * group per distinct combination of network, tags and security groups, plus groups for
 * CIDRs named by rules. It combines network policies, security groups and firewall policies
 * into one decision per (source EPG, destination EPG, protocol, destination port range), with
 * overlapping ranges already split into disjoint ones, so the datapath makes two lookups per
 * new flow whatever the number of rules.
 */
#define VR_EPG_NONE 0        /* endpoint without policy: its flows skip the flow table */
#define VR_PROTO_ANY 0       /* rule for every IP protocol (looked up after the exact one) */

struct vr_epg4_key {         /* LPM: address in a VRF -> EPG */
	__u32 prefixlen;     /* 32 + prefix length */
	__u32 vrf;
	__u32 addr;          /* network order */
};

struct vr_epg6_key {
	__u32 prefixlen;     /* 32 + prefix length */
	__u32 vrf;
	__u8 addr[16];
};

/* Workload addresses (/32, /128) are most of the entries and every flow looks two up: they
 * sit in an exact-match hash, tried before the LPM tries that hold the CIDR groups. */
struct vr_epg_host_key {
	__u32 vrf;
	__u8 family;         /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];       /* IPv4 in the first 4 bytes */
};

struct vr_rule_key {         /* LPM over the destination port */
	__u32 prefixlen;     /* 32 + 32 + 8 + 8 + port prefix length (0..16) */
	__u32 src_epg;
	__u32 dst_epg;
	__u8 proto;          /* IPPROTO_*, or VR_PROTO_ANY */
	__u8 pad;
	__be16 dport;        /* network order; ICMP: type << 8 | code */
};

enum vr_policy_action {
	VR_ACT_DENY = 0,
	VR_ACT_PASS = 1,
	VR_ACT_MIRROR = 2,   /* pass, and copy each packet to the rule's analyzer (see below) */
};

struct vr_rule {
	__u32 action;        /* enum vr_policy_action */
	__u32 rule_id;       /* which configured rule decided: shown by vrctl, names the analyzer */
};

/*
 * Mirroring: XDP cannot clone a frame, so each packet of a MIRROR flow is forwarded as usual
 * and a copy (up to VR_MIRROR_MAX_BYTES, as it entered the forwarder) goes to the agent
 * through the vr_mirror perf buffer, headed by this; the agent sends it out of the analyzer
 * interface the rule names.
 */
#define VR_MIRROR_MAX_BYTES 1518

struct vr_mirror_meta {
	__u32 rule_id;
	__u32 vrf;
	__u16 len;           /* bytes of frame that follow */
	__u16 pad;
	__u32 pad2;
};

/*
 * Flow table: VRF + 5-tuple -> the decision for the flow, made on its first packet. Both
 * directions of a flow share one entry: the key holds the two ends in a fixed order (see
 * vr_flow_canonical), and VR_FLOW_F_SWAPPED says which end opened the flow. A flow routed
 * into another network on the same host has a second entry in that network's VRF.
 */
#define VR_MAX_FLOWS 262144

struct vr_flow_key {
	__u32 vrf;
	__u8 proto;
	__u8 family;         /* 4 or 6 */
	__be16 sport;        /* of the src end; ICMP echo: the identifier, in both ports */
	__be16 dport;        /* of the dst end */
	__u16 pad;
	__u8 src[16];        /* the lower end; IPv4 in the first 4 bytes */
	__u8 dst[16];
};

#define VR_FLOW_F_SWAPPED 0x1 /* the flow was opened from the key's dst end */
#define VR_FLOW_F_CLOSING 0x2 /* TCP FIN or RST seen: aged out soon */

struct vr_flow {
	__u32 action;        /* enum vr_policy_action */
	__u32 rule_id;
	__u32 generation;    /* policy generation it was decided under; stale ones are re-decided */
	__u32 flags;         /* VR_FLOW_F_* */
	__u32 src_epg;
	__u32 dst_epg;
	__u32 pair_vrf;      /* VRF of the flow's other entry; its own VRF when it has just one */
	__u32 pad;
	__u64 last_seen_ns;  /* bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC_COARSE */
	__u64 packets;
	__u64 bytes;
};

/*
 * Source guard (anti-spoofing, as the reference's vRouter does): a workload sends only from
 * its own addresses and its allowed address pairs. Both tables are keyed by the ingress
 * ifindex, so a packet costs one hash lookup (own address) and, on a miss, one LPM lookup
 * (pairs), whatever the number of ports and pairs on the host.
 */
#define VR_MAX_GUARD_ADDRS 65536
#define VR_MAX_GUARD_PAIRS 16384

struct vr_guard_addr_key {   /* hash: a port's own address -> VR_GUARD_PRESENT */
	__u32 ifindex;
	__u8 family;         /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];       /* IPv4 in the first 4 bytes */
};

#define VR_GUARD_PRESENT 1

struct vr_guard_pair_key {   /* LPM: an allowed address pair of a port */
	__u32 prefixlen;     /* 64 + prefix length: ifindex, family and pad always match whole */
	struct vr_guard_addr_key addr;
};

struct vr_guard_pair {
	__u8 mac[VR_ETH_ALEN];   /* the MAC the pair sends from; all zero: the port's own */
	__u16 pad;
};

/* Per-host settings: one entry in vr_config. */
#define VR_CFG_F_POLICY 0x1 /* some interface is under policy: others check their destination */
struct vr_config {
	__u8 router_mac[VR_ETH_ALEN]; /* the distributed gateway's MAC: the same on every VRF */
	__u16 flags;                  /* VR_CFG_F_* */
	__u32 fabric_ifindex;
	__u32 fabric_ip;              /* network order */
	__u32 policy_generation;      /* bumped by the agent whenever compiled policy changes */
};

/* Per-CPU counters, indexed by these; names for display live in daemon/counters.cpp. */
enum vr_counter {
	VR_CNT_RX_WORKLOAD = 0,
	VR_CNT_RX_FABRIC,
	VR_CNT_FWD_LOCAL,     /* delivered to a local workload */
	VR_CNT_ENCAP_VXLAN,
	VR_CNT_ENCAP_MPLSUDP,
	VR_CNT_ENCAP_MPLSGRE,
	VR_CNT_DECAP_VXLAN,
	VR_CNT_DECAP_MPLSUDP,
	VR_CNT_DECAP_MPLSGRE,
	VR_CNT_ROUTED,        /* crossed subnets through the distributed gateway */
	VR_CNT_ARP_REPLY,
	VR_CNT_ND_REPLY,
	VR_CNT_GW_ECHO_REPLY, /* the distributed gateway answered a ping */
	VR_CNT_PUNT,          /* passed to the host stack / agent */
	VR_CNT_FABRIC_PASS,   /* underlay traffic not for the forwarder (BGP, ARP…) */
	/* drops by reason */
	VR_CNT_DROP_TRUNCATED,
	VR_CNT_DROP_BAD_ETHERTYPE,
	VR_CNT_DROP_BAD_IP,
	VR_CNT_DROP_UNKNOWN_IFACE,
	VR_CNT_DROP_NO_ROUTE,
	VR_CNT_DROP_NO_L2,
	VR_CNT_DROP_BAD_NH,
	VR_CNT_DROP_DISCARD_NH,
	VR_CNT_DROP_TTL,
	VR_CNT_DROP_UNKNOWN_VNI,
	VR_CNT_DROP_UNKNOWN_LABEL,
	VR_CNT_DROP_BAD_VXLAN,
	VR_CNT_DROP_BAD_MPLS,
	VR_CNT_DROP_BAD_GRE,
	VR_CNT_DROP_ARP_UNKNOWN,  /* ARP/NS for an address not in the tables */
	VR_CNT_DROP_FLOOD,        /* broadcast/multicast that is never flooded */
	VR_CNT_DROP_SPOOF,        /* source MAC is not the interface's workload */
	VR_CNT_DROP_SRC_SPOOF,    /* source IP is neither the port's nor an allowed address pair */
	VR_CNT_DROP_NEIGH_SPOOF,  /* ARP/ND claiming an address or MAC that is not the port's */
	VR_CNT_DROP_ENCAP_FAIL,
	VR_CNT_DROP_POLICY,       /* denied by policy (first packet or an established deny flow) */
	VR_CNT_FLOW_NEW,          /* flows decided from the compiled tables */
	VR_CNT_FLOW_HIT,          /* packets of known flows */
	VR_CNT_FLOW_TABLE_FULL,   /* decided but not recorded: the table was full */
	VR_CNT_MIRRORED,          /* packets copied to the agent for an analyzer */
	VR_CNT_MIRROR_FAILED,     /* copies the perf buffer did not take (agent too slow) */
	VR_CNT_MAX,
};

#endif
