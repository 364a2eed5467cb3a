//! classify() and host_avoided() as tables.

use std::net::IpAddr;

use wayfarer_netguard::{BlockReason, classify, host_avoided};

const LINK: Option<BlockReason> = Some(BlockReason::LinkLocal);
const PRIV: Option<BlockReason> = Some(BlockReason::PrivateNetwork);
const OK: Option<BlockReason> = None;

/// (address, verdict with block_private off, verdict with block_private on)
const TABLE: &[(&str, Option<BlockReason>, Option<BlockReason>)] = &[
    // Link-local and metadata: refused either way.
    ("169.254.169.254", LINK, LINK),
    ("169.254.0.1", LINK, LINK),
    ("169.254.255.255", LINK, LINK),
    ("100.100.100.200", LINK, LINK),
    ("fe80::1", LINK, LINK),
    ("febf:ffff::1", LINK, LINK),
    ("fd00:ec2::254", LINK, LINK),
    ("::ffff:169.254.169.254", LINK, LINK),
    ("::ffff:100.100.100.200", LINK, LINK),
    ("64:ff9b::169.254.169.254", LINK, LINK),
    // Loopback and private: refused only when block_private.
    ("127.0.0.1", OK, PRIV),
    ("127.255.255.254", OK, PRIV),
    ("10.0.0.1", OK, PRIV),
    ("10.255.255.255", OK, PRIV),
    ("172.16.0.1", OK, PRIV),
    ("172.31.255.255", OK, PRIV),
    ("192.168.1.1", OK, PRIV),
    ("0.0.0.0", OK, PRIV),
    ("0.1.2.3", OK, PRIV),
    ("100.64.0.1", OK, PRIV),
    ("100.127.255.255", OK, PRIV),
    ("::1", OK, PRIV),
    ("::", OK, PRIV),
    ("fc00::1", OK, PRIV),
    ("fd12:3456::1", OK, PRIV),
    ("fec0::1", OK, PRIV),
    ("::ffff:127.0.0.1", OK, PRIV),
    ("::ffff:10.1.2.3", OK, PRIV),
    ("::ffff:0.0.0.0", OK, PRIV),
    ("64:ff9b::10.0.0.1", OK, PRIV),
    // Public: never refused.
    ("93.184.215.14", OK, OK),
    ("8.8.8.8", OK, OK),
    ("172.15.255.255", OK, OK),
    ("172.32.0.1", OK, OK),
    ("192.169.0.1", OK, OK),
    ("100.63.255.255", OK, OK),
    ("100.128.0.1", OK, OK),
    ("169.253.255.255", OK, OK),
    ("169.255.0.1", OK, OK),
    ("2606:4700::1111", OK, OK),
    ("fe00::1", OK, OK),
    ("::ffff:8.8.8.8", OK, OK),
    ("fd00:ec2::253", OK, PRIV),
];

#[test]
fn classify_table() {
    let mut failures = Vec::new();
    for &(addr, off, on) in TABLE {
        let ip: IpAddr = addr.parse().unwrap();
        if classify(ip, false) != off {
            failures.push(format!(
                "{addr} block_private=off: got {:?}, want {off:?}",
                classify(ip, false)
            ));
        }
        if classify(ip, true) != on {
            failures.push(format!(
                "{addr} block_private=on: got {:?}, want {on:?}",
                classify(ip, true)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn host_avoided_matches_domain_and_subdomains_only() {
    let avoid = vec![
        "ads.example".to_owned(),
        "*.tracker.test".to_owned(),
        ".cdn.test".to_owned(),
        "10.9.8.7".to_owned(),
    ];
    let yes = [
        "ads.example",
        "x.ads.example",
        "a.b.ads.example",
        "ADS.Example",
        "ads.example.",
        "tracker.test",
        "t.tracker.test",
        "cdn.test",
        "x.cdn.test",
        "10.9.8.7",
    ];
    let no = [
        "example",
        "xads.example",
        "ads.example.com",
        "notads.example",
        "tracker.test.evil",
        "10.9.8.70",
        "",
    ];
    for host in yes {
        assert!(host_avoided(host, &avoid), "{host} should be avoided");
    }
    for host in no {
        assert!(!host_avoided(host, &avoid), "{host} should not be avoided");
    }
    assert!(!host_avoided("ads.example", &[]));
    assert!(!host_avoided(
        "ads.example",
        &[String::new(), "*.".to_owned()]
    ));
    assert!(host_avoided("[::1]", &["::1".to_owned()]));
}

#[test]
fn block_reason_wire_names() {
    assert_eq!(BlockReason::AvoidedDomain.as_str(), "avoided_domain");
    assert_eq!(BlockReason::LinkLocal.to_string(), "link_local");
    assert_eq!(BlockReason::PrivateNetwork.as_str(), "private_network");
    assert_eq!(BlockReason::Unresolvable.as_str(), "unresolvable");
}
