// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// vxswitch's XDP programs, one object per interface, loaded by
// switch/src/port/xdp_prog.rs. Built by build.rs with clang -target bpf.
//
// xdp_access: on an access port, which the switch owns whole: every frame
//   goes to the AF_XDP socket of its receive queue, or to the kernel when that
//   queue has no socket.
// xdp_uplink: on the uplink, which stays the host's NIC: only IPv4 UDP to our
//   VTEP address and VXLAN port, not fragments, goes to the socket; everything
//   else (ARP, ICMP, TCP to the host, other UDP) passes to the kernel
//   untouched. Only when the VTEP address is not one of the kernel's does ARP
//   go to the switch too, which then answers for it. Each verdict is counted in `verdicts` (per CPU), which
//   `vxctl stats` sums.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// Keep in step with Verdict in xdp_prog.rs.
enum verdict {
	V_REDIRECTED = 0,   // handed to the switch's socket
	V_NO_SOCKET,        // ours, but the queue has no socket: passed
	V_NOT_IPV4,         // passed: ARP, IPv6, anything not IPv4
	V_NOT_UDP,          // passed: ICMP, TCP, ...
	V_NOT_OURS,         // passed: UDP, but not to our VTEP address and port
	V_FRAGMENT,         // passed: IPv4 fragment (the kernel reassembles or drops it)
	V_MALFORMED,        // passed: too short to parse; the kernel decides
	V_COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64); // set to the interface's queue count before load
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct config {
	__u32 vtep_be; // our VTEP IPv4 address, network order
	__u16 port_be; // our VXLAN UDP port, network order
	__u8 arp;      // 1: the VTEP address is not the kernel's, the switch answers ARP
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, V_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int count(__u32 v, int action)
{
	__u64 *c = bpf_map_lookup_elem(&verdicts, &v);
	if (c)
		*c += 1;
	return action;
}

static __always_inline int to_socket(struct xdp_md *ctx)
{
	// XDP_PASS as the fallback: a queue with no socket hands its frames to the kernel.
	int r = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	return count(r == XDP_REDIRECT ? V_REDIRECTED : V_NO_SOCKET, r);
}

SEC("xdp")
int xdp_access(struct xdp_md *ctx)
{
	return to_socket(ctx);
}

// The same for access ports in generic (SKB) mode, where the kernel keeps
// GSO on the veth peer: a frags-aware program gets a 64 KiB super-frame as
// one multi-buffer XDP frame (instead of its being dropped as too big for a
// frame), and the AF_XDP socket, bound with XDP_USE_SG, receives it as a
// chain of UMEM frames, which the switch segments (pipeline::gso).
SEC("xdp.frags")
int xdp_access_frags(struct xdp_md *ctx)
{
	return to_socket(ctx);
}

// With --backend packet, on access ports: passes everything. Attaching any
// XDP program to a veth makes the kernel turn GSO off on its peer, so the
// AF_PACKET socket gets MTU-sized frames instead of 64 KiB GSO super-frames.
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0;

	struct config *c = bpf_map_lookup_elem(&cfg, &zero);
	if (!c)
		return XDP_PASS;
	if ((void *)(eth + 1) > end)
		return count(V_MALFORMED, XDP_PASS);
	if (eth->h_proto == bpf_htons(ETH_P_ARP) && c->arp) {
		// Only requests for the VTEP address, which the switch answers;
		// replies (to the switch's next-hop probes among them) go on to
		// the kernel, where the switch's ARP socket sees them.
		__u8 *arp = (void *)(eth + 1);
		if ((void *)(arp + 28) > end)
			return count(V_MALFORMED, XDP_PASS);
		if (arp[6] == 0 && arp[7] == 1 &&
		    *(__u32 *)(arp + 24) == c->vtep_be)
			return to_socket(ctx);
		return count(V_NOT_IPV4, XDP_PASS);
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return count(V_NOT_IPV4, XDP_PASS);
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return count(V_MALFORMED, XDP_PASS);
	if (ip->protocol != IPPROTO_UDP)
		return count(V_NOT_UDP, XDP_PASS);
	if (ip->daddr != c->vtep_be)
		return count(V_NOT_OURS, XDP_PASS);
	// MF set or a non-zero offset: a fragment.
	if (ip->frag_off & bpf_htons(0x3fff))
		return count(V_FRAGMENT, XDP_PASS);
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return count(V_MALFORMED, XDP_PASS);
	if (udp->dest != c->port_be)
		return count(V_NOT_OURS, XDP_PASS);
	return to_socket(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
