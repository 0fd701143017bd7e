/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The forwarder's maps. Layouts are in vr_abi.h; the agent fills every map. */
#ifndef VRFABRIC_VR_MAPS_BPF_H
#define VRFABRIC_VR_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "vr_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_IFACES);
	__type(key, __u32); /* ifindex */
	__type(value, struct vr_iface);
} vr_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VR_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct vr_nexthop);
} vr_nexthops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VR_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vr_fib4_key);
	__type(value, struct vr_fwd);
} vr_fib4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VR_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vr_fib6_key);
	__type(value, struct vr_fwd);
} vr_fib6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_L2);
	__type(key, struct vr_l2_key);
	__type(value, struct vr_fwd);
} vr_l2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_LABELS);
	__type(key, __u32);   /* MPLS label */
	__type(value, __u32); /* next-hop id */
} vr_labels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_VNIS);
	__type(key, __u32);   /* VNI */
	__type(value, __u32); /* VRF */
} vr_vnis SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vr_config);
} vr_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_ROUTES);
	__type(key, struct vr_epg_host_key);
	__type(value, __u32);
} vr_epg_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VR_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vr_epg4_key);
	__type(value, __u32);
} vr_epg4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VR_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vr_epg6_key);
	__type(value, __u32);
} vr_epg6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VR_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vr_rule_key);
	__type(value, struct vr_rule);
} vr_rules SEC(".maps");

/* A plain hash, not LRU: when full, new flows are decided but not recorded, and no
 * established flow is ever evicted to make room. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_FLOWS);
	__type(key, struct vr_flow_key);
	__type(value, struct vr_flow);
} vr_flows SEC(".maps");

/* Copies of mirrored packets for the agent (struct vr_mirror_meta, then the frame). */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} vr_mirror SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VR_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vr_counters SEC(".maps");

static __always_inline void vr_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&vr_counters, &idx);
	if (c)
		*c += 1;
}

/* Every drop goes through here so that it is counted by reason. */
static __always_inline int vr_drop(__u32 reason)
{
	vr_count(reason);
	return XDP_DROP;
}

static __always_inline struct vr_config *vr_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&vr_cfg, &zero);
}

#endif
