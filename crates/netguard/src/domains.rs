//! avoidDomains matching on host names, before any DNS lookup.

/// True when `host` is one of `avoid`, or a subdomain of one.
///
/// Matching is case-insensitive and ignores a trailing dot (`ads.example.`
/// is `ads.example`) and IPv6 brackets. Entries may be written `ads.example`,
/// `.ads.example` or `*.ads.example`; all three cover the domain and every
/// subdomain. `xads.example` is *not* covered by `ads.example`: only whole
/// labels match.
pub fn host_avoided(host: &str, avoid: &[String]) -> bool {
    let host = normalize(host);
    if host.is_empty() {
        return false;
    }
    avoid.iter().any(|entry| {
        let entry = normalize(entry.trim_start_matches("*.").trim_start_matches('.'));
        !entry.is_empty()
            && (host == entry
                || (host.len() > entry.len()
                    && host.ends_with(entry.as_str())
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.'))
    })
}

fn normalize(name: &str) -> String {
    let name = name.trim();
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    name.trim_end_matches('.').to_ascii_lowercase()
}
