//! Which IP addresses the guard refuses, and why.
//!
//! This is the heart of the guard and is deliberately a pure function of the
//! address: every connection is checked against the addresses it will
//! actually use, so the name that led there does not matter.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::policy::BlockReason;

/// Alibaba Cloud's metadata service lives outside 169.254/16.
const ALIBABA_METADATA: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);
/// AWS's IPv6 instance metadata endpoint (Nitro), outside fe80::/10.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// Classifies `ip`: `Some(reason)` when the guard must refuse to connect.
///
/// - Link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10,
///   100.100.100.200, fd00:ec2::254) are always refused: they reach the
///   host's own metadata service, whatever the deployment.
/// - Loopback, private, "this network", carrier-grade NAT and unique-local
///   ranges (127/8, 10/8, 172.16/12, 192.168/16, 100.64/10, 0/8, ::1, ::,
///   fc00::/7, fec0::/10) are refused only when `block_private` is on.
///
/// IPv6 addresses that embed an IPv4 address — IPv4-mapped
/// (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) — are judged by the
/// embedded address, since that is where the packets end up.
pub fn classify(ip: IpAddr, block_private: bool) -> Option<BlockReason> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4, block_private),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4, block_private),
            None => classify_v6(v6, block_private),
        },
    }
}

fn classify_v4(ip: Ipv4Addr, block_private: bool) -> Option<BlockReason> {
    if ip.is_link_local() || ip == ALIBABA_METADATA {
        return Some(BlockReason::LinkLocal);
    }
    let [a, b, ..] = ip.octets();
    // 0.0.0.0/8: on Linux a connect to 0.0.0.0 reaches the local host.
    let this_network = a == 0;
    // 100.64.0.0/10: carrier-grade NAT space, also used by overlay networks (Tailscale).
    let shared = a == 100 && (64..128).contains(&b);
    let private = ip.is_loopback() || ip.is_private() || this_network || shared;
    (private && block_private).then_some(BlockReason::PrivateNetwork)
}

fn classify_v6(ip: Ipv6Addr, block_private: bool) -> Option<BlockReason> {
    let first = ip.segments()[0];
    if (first & 0xffc0) == 0xfe80 || ip == AWS_METADATA_V6 {
        return Some(BlockReason::LinkLocal);
    }
    let unique_local = (first & 0xfe00) == 0xfc00;
    // fec0::/10, deprecated site-local: still private if anything routes it.
    let site_local = (first & 0xffc0) == 0xfec0;
    let private = ip.is_loopback() || ip.is_unspecified() || unique_local || site_local;
    (private && block_private).then_some(BlockReason::PrivateNetwork)
}

/// The IPv4 address an IPv6 address carries to, if it is IPv4-mapped or NAT64.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    // 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052).
    if s[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}
