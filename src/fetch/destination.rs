//! Destination policy for server-side fetches of client-supplied image URLs (SSRF guard).
//!
//! Pure Rust, no I/O, no `worker` types; every function is total (never panics).
//!
//! Flow:
//! 1. [`parse_image_url`] validates the client's `image_url` param (syntax only:
//!    length, absolute, http/https, no credentials). Failure => `invalid-param`.
//! 2. [`check_destination`] applies the destination policy to the parsed URL.
//!    Failure => `forbidden-destination`.
//! 3. For every redirect the fetch layer sees, [`next_hop`] resolves the `Location`
//!    header against the current URL and re-applies both the parse rules and the
//!    destination policy.
//!
//! Non-ASCII hosts: the worker ships the url crate's IDNA without Unicode tables (Cargo.lock pins
//! `idna_adapter` 1.0), which rejects every non-ASCII host; the edge punycodes real
//! international names with the runtime's URL parser first (`edge::ascii_url`). Whatever reaches
//! this module unnormalised is refused before IDNA sees it (see [`parse_without_idna`]).
//!
//! Limits of what this module can do: it only looks at the URL. A public-looking DNS
//! name that *resolves* to a private address (e.g. `127.0.0.1.nip.io`, DNS rebinding)
//! cannot be detected here, because the Workers runtime does not expose resolution.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Maximum length, in bytes, of an accepted URL (raw input, and the serialized
/// result after parsing / redirect resolution).
pub const MAX_URL_BYTES: usize = 2048;

/// Why an `image_url` param is not acceptable at all (the API answers `invalid-param`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// Longer than [`MAX_URL_BYTES`] (raw input, or its normalised serialization).
    TooLong,
    /// Empty, relative, surrounded by whitespace / control characters, containing
    /// tab / CR / LF, or otherwise not parseable as an absolute URL (this includes
    /// malformed hosts such as IPv6 zone ids `[fe80::1%25eth0]`).
    NotAbsolute,
    /// Scheme other than `http` or `https`.
    UnsupportedScheme,
    /// A non-empty username or any password (`user:pass@`, `user@`, `:pass@`).
    Credentials,
}

impl UrlProblem {
    /// Machine-readable reason string for API error bodies.
    pub fn reason(self) -> &'static str {
        match self {
            UrlProblem::TooLong => "too-long",
            UrlProblem::NotAbsolute => "not-absolute-url",
            UrlProblem::UnsupportedScheme => "unsupported-scheme",
            UrlProblem::Credentials => "credentials",
        }
    }
}

/// Parse the client's `image_url`.
///
/// Rules, checked in this order:
/// * raw input longer than [`MAX_URL_BYTES`] bytes => `TooLong` (checked before parsing);
/// * empty input, leading/trailing ASCII whitespace or C0 control characters, or an
///   ASCII tab / CR / LF anywhere => `NotAbsolute` (the WHATWG parser would silently
///   strip these; we refuse instead of guessing);
/// * not parseable as an absolute URL => `NotAbsolute`;
/// * scheme not `http` / `https` => `UnsupportedScheme`;
/// * non-empty username or any password => `Credentials`;
/// * normalised serialization longer than [`MAX_URL_BYTES`] (percent-encoding can
///   expand the input) => `TooLong`.
///
/// The fragment, if any, is kept; callers fetching the URL never send it anyway.
pub fn parse_image_url(raw: &str) -> Result<Url, UrlProblem> {
    if raw.len() > MAX_URL_BYTES {
        return Err(UrlProblem::TooLong);
    }
    let bytes = raw.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            if first <= b' ' || last <= b' ' {
                return Err(UrlProblem::NotAbsolute);
            }
        }
        _ => return Err(UrlProblem::NotAbsolute),
    }
    if bytes
        .iter()
        .any(|&b| b == b'\t' || b == b'\n' || b == b'\r')
    {
        return Err(UrlProblem::NotAbsolute);
    }
    let url = parse_without_idna(raw, Url::parse).map_err(|_| UrlProblem::NotAbsolute)?;
    validate_parsed(&url)?;
    Ok(url)
}

/// True if a character or a percent-escape of `text` could put a non-ASCII character into a host
/// (hosts are percent-decoded before IDNA): a non-ASCII character, or `%XX` with XX >= 0x80.
pub fn may_hold_non_ascii_host(text: &str) -> bool {
    matches!(non_ascii_masked(text), Cow::Owned(_))
}

/// `text` with each non-ASCII character and each escape of a byte >= 0x80 replaced by `%25`.
fn non_ascii_masked(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let (mut masked, mut copied, mut i) = (String::new(), 0, 0);
    while i < bytes.len() {
        let unit = match &bytes[i..] {
            [b'%', b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F', lo, ..] if lo.is_ascii_hexdigit() => 3,
            [first, ..] if !first.is_ascii() => text[i..].chars().next().map_or(1, char::len_utf8),
            _ => {
                i += 1;
                continue;
            }
        };
        masked.push_str(&text[copied..i]);
        masked.push_str("%25");
        i += unit;
        copied = i;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    masked.push_str(&text[copied..]);
    Cow::Owned(masked)
}

/// `parse(text)` (a parse or a join of the url crate), never handing IDNA a non-ASCII host.
///
/// The IDNA back end the worker ships rejects such a host in release builds, and a `debug_assert`
/// in it panics on one that also holds an ASCII capital (`http://A%C3%A9.example/`), so debug
/// and release builds would disagree. `text` is first parsed with every unit that could decode
/// to non-ASCII masked as `%25`: in a host that decodes to `%`, which no host may hold, anywhere
/// else it is harmless, and a masked unit can never change the URL's structure. So the masked
/// parse fails exactly when the real one would fail, or would reach IDNA with non-ASCII.
///
/// The same back end cannot see what an ASCII `xn--` label decodes to: one holding a bidi
/// control, which IDNA disallows everywhere, passes in release and trips another `debug_assert`,
/// so such a label is refused here.
fn parse_without_idna(text: &str, parse: impl Fn(&str) -> Result<Url, url::ParseError>) -> Result<Url, url::ParseError> {
    if has_bidi_control_label(text) {
        return Err(url::ParseError::InvalidDomainCharacter);
    }
    if let Cow::Owned(masked) = non_ascii_masked(text) {
        parse(&masked)?;
    }
    parse(text)
}

/// Bidirectional formatting characters: disallowed in every IDNA label (RFC 5892, UTS #46).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// True if `text`, with its escapes decoded as a host's are, holds an `xn--` label whose
/// Punycode decodes to a bidi control. Looked for anywhere in `text`: the label may be in the
/// host of a relative Location, and such a label in a path is no loss.
fn has_bidi_control_label(text: &str) -> bool {
    // Escapes of non-ASCII bytes decode to characters no label holds, so lossy is fine.
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy().to_ascii_lowercase();
    decoded.match_indices("xn--").any(|(at, _)| {
        let label: String = decoded[at + 4..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        idna::punycode::decode(&label).is_some_and(|chars| chars.into_iter().any(is_bidi_control))
    })
}

/// Scheme, credential and (serialized) length rules shared by the initial URL and
/// every redirect hop.
fn validate_parsed(url: &Url) -> Result<(), UrlProblem> {
    if !is_fetch_scheme(url) {
        return Err(UrlProblem::UnsupportedScheme);
    }
    if has_credentials(url) {
        return Err(UrlProblem::Credentials);
    }
    if url.as_str().len() > MAX_URL_BYTES {
        return Err(UrlProblem::TooLong);
    }
    Ok(())
}

fn is_fetch_scheme(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Destination policy, applied to the first URL and again to every redirect hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Local development only (`FETCH_ALLOW_PRIVATE="true"`): lets loopback / private /
    /// special-purpose addresses and local names through. Scheme and credential rules
    /// still apply.
    pub allow_private: bool,
}

/// Why a destination (first URL or redirect hop) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The destination is not allowed by the policy.
    Forbidden,
    /// A redirect could not be followed (missing, empty or unparseable `Location`).
    Unreachable,
}

impl Refusal {
    /// Machine-readable reason string for API error bodies.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Forbidden => "forbidden-destination",
            Refusal::Unreachable => "unreachable",
        }
    }
}

/// Ok if the URL may be fetched: http/https, no credentials, port 80 or 443, host not
/// special-purpose. Always `Refusal::Forbidden` when refused.
///
/// Ports (unless `policy.allow_private`): 80 or 443, explicit or the scheme's default, whatever
/// the scheme (`http://host:443/` and `https://host:80/` pass): anything else would let a client
/// probe which ports of a public host answer.
///
/// Refused hosts (unless `policy.allow_private`):
///
/// * **IPv4** (any spelling; the URL parser normalises `127.1`, `2130706433`, `0x7f.1`,
///   `017700000001`, ...): `0.0.0.0/8`, `10/8`, `100.64/10`, `127/8`, `169.254/16`,
///   `172.16/12`, `192.0.0/24`, `192.0.2/24`, `192.88.99/24`, `192.168/16`,
///   `198.18/15`, `198.51.100/24`, `203.0.113/24`, `224/4`, `240/4` (incl.
///   `255.255.255.255`).
/// * **IPv6**: only global unicast `2000::/3` is allowed, minus `2001::/23` (IETF
///   special, incl. Teredo), `2001:db8::/32` and `3fff::/20` (documentation) and
///   `2002::/16` (6to4). Everything outside `2000::/3` is refused: `::`, `::1`,
///   `::/96` (IPv4-compatible), `::ffff:0:0:0/96` (IPv4-translated), `64:ff9b::/96` and
///   `64:ff9b:1::/48` (NAT64), `100::/64` (discard), `fc00::/7`, `fe80::/10`,
///   `fec0::/10`, `ff00::/8`, unassigned space. Exception: IPv4-mapped
///   `::ffff:a.b.c.d` is judged by the IPv4 rules on `a.b.c.d`.
///   Zone ids (`[fe80::1%25eth0]`) do not parse at all, so never get here.
/// * **Names** (case-insensitive, one trailing dot ignored): `localhost` and
///   `*.localhost`, and anything under `.local`, `.localdomain`, `.internal`,
///   `.home.arpa`, `.intranet`, `.lan`; any single-label name (no dot, e.g. `printer`,
///   `metadata`: only resolvable via a search domain); names with empty labels.
/// * A URL without a host.
pub fn check_destination(url: &Url, policy: Policy) -> Result<(), Refusal> {
    if !is_fetch_scheme(url) || has_credentials(url) {
        return Err(Refusal::Forbidden);
    }
    let port_ok = policy.allow_private || matches!(url.port_or_known_default(), Some(80 | 443));
    let host_ok = match url.host() {
        None => false,
        Some(_) if policy.allow_private => true,
        Some(Host::Ipv4(addr)) => ipv4_is_public(addr),
        Some(Host::Ipv6(addr)) => ipv6_is_public(addr),
        Some(Host::Domain(name)) => domain_is_public(name),
    };
    if port_ok && host_ok {
        Ok(())
    } else {
        Err(Refusal::Forbidden)
    }
}

/// Resolve one redirect. `location` is the raw `Location` header value (`None` if absent).
///
/// * Missing, empty (after trimming header whitespace) or unparseable `Location` =>
///   `Unreachable`. A relative `Location` is resolved against `current`.
/// * https -> http downgrade => `Forbidden`.
/// * The resolved URL must pass the parse rules (http/https, no credentials, at most
///   [`MAX_URL_BYTES`]) and [`check_destination`]; any failure => `Forbidden`.
/// * The fragment of the result is dropped.
pub fn next_hop(current: &Url, location: Option<&str>, policy: Policy) -> Result<Url, Refusal> {
    let loc = location
        .map(|l| l.trim_matches(|c: char| c.is_ascii_whitespace()))
        .unwrap_or("");
    if loc.is_empty() {
        return Err(Refusal::Unreachable);
    }
    if loc.len() > MAX_URL_BYTES {
        return Err(Refusal::Forbidden);
    }
    let mut next = parse_without_idna(loc, |text| current.join(text)).map_err(|_| Refusal::Unreachable)?;
    next.set_fragment(None);
    if current.scheme() == "https" && next.scheme() == "http" {
        return Err(Refusal::Forbidden);
    }
    validate_parsed(&next).map_err(|_| Refusal::Forbidden)?;
    check_destination(&next, policy)?;
    Ok(next)
}

/// `true` if `addr` lies in `base/len`.
fn v4_in(addr: u32, base: [u8; 4], len: u32) -> bool {
    let base = u32::from_be_bytes(base);
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - len.min(32))
    };
    addr & mask == base & mask
}

const V4_REFUSED: &[([u8; 4], u32)] = &[
    ([0, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([127, 0, 0, 0], 8),
    ([169, 254, 0, 0], 16),
    ([172, 16, 0, 0], 12),
    ([192, 0, 0, 0], 24),
    ([192, 0, 2, 0], 24),
    ([192, 88, 99, 0], 24),
    ([192, 168, 0, 0], 16),
    ([198, 18, 0, 0], 15),
    ([198, 51, 100, 0], 24),
    ([203, 0, 113, 0], 24),
    ([224, 0, 0, 0], 4),
    ([240, 0, 0, 0], 4), // also covers 255.255.255.255
];

fn ipv4_is_public(addr: Ipv4Addr) -> bool {
    let a = u32::from(addr);
    !V4_REFUSED.iter().any(|&(base, len)| v4_in(a, base, len))
}

/// `true` if `addr` lies in `base/len`.
fn v6_in(addr: u128, base: [u16; 8], len: u32) -> bool {
    let base = u128::from(Ipv6Addr::from(base));
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len.min(128))
    };
    addr & mask == base & mask
}

const V6_REFUSED_IN_GLOBAL: &[([u16; 8], u32)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, incl. Teredo
    ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
];

fn ipv6_is_public(addr: Ipv6Addr) -> bool {
    let a = u128::from(addr);
    // IPv4-mapped ::ffff:a.b.c.d: judge the embedded IPv4 address.
    if v6_in(a, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) {
        // Truncation keeps exactly the low 32 bits, i.e. the embedded IPv4 address.
        return ipv4_is_public(Ipv4Addr::from(a as u32));
    }
    // Allow-list: only global unicast 2000::/3. This refuses ::, ::1, ::/96,
    // 64:ff9b::/96, 64:ff9b:1::/48, 100::/64, fc00::/7, fe80::/10, fec0::/10,
    // ff00::/8, ::ffff:0:0:0/96 and all unassigned space.
    if !v6_in(a, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return false;
    }
    !V6_REFUSED_IN_GLOBAL
        .iter()
        .any(|&(base, len)| v6_in(a, base, len))
}

/// Suffixes (label-aligned) of names that only make sense on a local network.
const LOCAL_SUFFIXES: &[&str] = &[
    "localhost",
    "local",
    "localdomain",
    "internal",
    "home.arpa",
    "intranet",
    "lan",
];

fn domain_is_public(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || !name.contains('.') {
        // Empty, or a single label (incl. bare `localhost`): refused.
        return false;
    }
    if name.split('.').any(str::is_empty) {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    !LOCAL_SUFFIXES.iter().any(|suffix| {
        lower == *suffix
            || lower
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUB: Policy = Policy {
        allow_private: false,
    };
    const DEV: Policy = Policy {
        allow_private: true,
    };

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Want {
        /// parse ok, destination ok (also with allow_private).
        Pass,
        /// parse fails with this problem.
        Bad(UrlProblem),
        /// parse ok, destination Forbidden; allowed with allow_private.
        Private,
    }
    use Want::*;

    fn check_table(cases: &[(&str, Want)]) {
        for &(raw, want) in cases {
            let parsed = parse_image_url(raw);
            match want {
                Bad(p) => assert_eq!(parsed.err(), Some(p), "parse {raw:?}"),
                Pass | Private => {
                    let url = match parsed {
                        Ok(u) => u,
                        Err(e) => panic!("parse {raw:?} failed: {e:?}"),
                    };
                    let expect = if want == Pass {
                        Ok(())
                    } else {
                        Err(Refusal::Forbidden)
                    };
                    assert_eq!(
                        check_destination(&url, PUB),
                        expect,
                        "check {raw:?} -> {url}"
                    );
                    assert_eq!(check_destination(&url, DEV), Ok(()), "dev {raw:?}");
                }
            }
        }
    }

    #[test]
    fn table() {
        let long_ok = format!("http://example.com/{}", "a".repeat(MAX_URL_BYTES - 19));
        assert_eq!(long_ok.len(), MAX_URL_BYTES);
        let long_bad = format!("{long_ok}a");
        let cases: &[(&str, Want)] = &[
            // --- IPv4, all spellings ---
            ("http://0.0.0.0/", Private),
            ("http://0/", Private),
            ("http://127.0.0.1/", Private),
            ("http://127.1/", Private),
            ("http://2130706433/", Private),
            ("http://0x7f.1/", Private),
            ("http://0x7f000001/", Private),
            ("http://017700000001/", Private),
            ("http://0177.0.0.1/", Private),
            ("http://127.0.0.1./", Private),
            ("http://127.255.255.254:8080/x", Private),
            ("http://%31%32%37.0.0.1/", Private),
            // Non-ASCII hosts: the edge first turns them into ASCII with the runtime's URL
            // parser (RawParams::normalize_image_url); what reaches this module raw is refused.
            // The Miniflare suite checks these spellings end to end.
            ("http://127\u{3002}0\u{3002}0\u{3002}1/", Bad(UrlProblem::NotAbsolute)),
            ("http://\u{ff11}\u{ff12}\u{ff17}.0.0.1/", Bad(UrlProblem::NotAbsolute)),
            ("http://10.0.0.1/", Private),
            ("http://10.255.255.255/", Private),
            ("http://100.64.0.1/", Private),
            ("http://100.100.100.200/", Private),
            ("http://100.127.255.255/", Private),
            ("http://100.128.0.1/", Pass),
            ("http://100.63.255.255/", Pass),
            ("http://169.254.169.254/latest/meta-data/", Private),
            ("http://172.16.0.1/", Private),
            ("http://172.31.255.255/", Private),
            ("http://172.32.0.1/", Pass),
            ("http://172.15.255.255/", Pass),
            ("http://192.0.0.8/", Private),
            ("http://192.0.2.1/", Private),
            ("http://192.88.99.1/", Private),
            ("http://192.168.0.1/", Private),
            ("http://192.168.1.1/", Private),
            ("http://198.18.0.1/", Private),
            ("http://198.19.255.255/", Private),
            ("http://198.20.0.1/", Pass),
            ("http://198.51.100.7/", Private),
            ("http://203.0.113.9/", Private),
            ("http://224.0.0.1/", Private),
            ("http://239.255.255.250/", Private),
            ("http://240.0.0.1/", Private),
            ("http://255.255.255.255/", Private),
            ("http://8.8.8.8/", Pass),
            ("https://1.1.1.1/", Pass),
            ("http://1.2.3.4.5/", Bad(UrlProblem::NotAbsolute)),
            ("http://256.0.0.1/", Bad(UrlProblem::NotAbsolute)),
            // --- IPv6 ---
            ("http://[::]/", Private),
            ("http://[::1]/", Private),
            ("http://[0:0:0:0:0:0:0:1]/", Private),
            ("http://[::ffff:127.0.0.1]/", Private),
            ("http://[::ffff:7f00:1]/", Private),
            ("http://[::ffff:a9fe:a9fe]/", Private),
            ("http://[::ffff:10.0.0.1]/", Private),
            ("http://[::ffff:8.8.8.8]/", Pass),
            ("http://[::127.0.0.1]/", Private),
            ("http://[::8.8.8.8]/", Private),
            ("http://[::ffff:0:7f00:1]/", Private),
            ("http://[64:ff9b::a00:1]/", Private),
            ("http://[64:ff9b::808:808]/", Private),
            ("http://[64:ff9b:1::1]/", Private),
            ("http://[100::1]/", Private),
            ("http://[2001::1]/", Private),
            ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", Private),
            ("http://[2001:1ff::1]/", Private),
            ("http://[2001:db8::1]/", Private),
            ("http://[2002:a00:1::]/", Private),
            ("http://[2002:7f00:1::1]/", Private),
            ("http://[3fff::1]/", Private),
            ("http://[fc00::1]/", Private),
            ("http://[fd00::1]/", Private),
            ("http://[fe80::1]/", Private),
            ("http://[febf::1]/", Private),
            ("http://[fec0::1]/", Private),
            ("http://[ff02::1]/", Private),
            ("http://[fe80::1%25eth0]/", Bad(UrlProblem::NotAbsolute)),
            ("http://[fe80::1%eth0]/", Bad(UrlProblem::NotAbsolute)),
            ("http://[::1/", Bad(UrlProblem::NotAbsolute)),
            ("http://[2606:4700:4700::1111]/", Pass),
            ("https://[2001:4860:4860::8888]:443/a", Pass),
            ("http://[2001:200::1]/", Pass),
            // --- names ---
            ("http://localhost/", Private),
            ("http://LOCALHOST./", Private),
            ("http://localhost:8787/img.png", Private),
            ("http://a.localhost/", Private),
            ("http://A.B.LocalHost./", Private),
            ("http://printer.local/", Private),
            (
                "http://metadata.google.internal/computeMetadata/v1/",
                Private,
            ),
            ("http://nas.localdomain/", Private),
            ("http://router.home.arpa/", Private),
            ("http://wiki.intranet/", Private),
            ("http://box.lan/", Private),
            ("http://printer/", Private),
            ("http://metadata/", Private),
            (
                "http://\u{ff4c}\u{ff4f}\u{ff43}\u{ff41}\u{ff4c}\u{ff48}\u{ff4f}\u{ff53}\u{ff54}/",
                Bad(UrlProblem::NotAbsolute),
            ),
            ("http://%6c%6f%63%61%6c%68%6f%73%74/", Private),
            ("http://example.com/", Pass),
            // --- ports: 80 or 443 whatever the scheme (Private: allowed with allow_private) ---
            ("https://images.example.org:8443/cat.png", Private),
            ("http://example.com:8080/", Private),
            ("http://example.com:22/", Private),
            ("http://example.com:0/", Private),
            ("https://example.com:65535/", Private),
            ("http://example.com:80/", Pass),
            ("https://example.com:443/", Pass),
            ("http://example.com:443/", Pass),
            ("https://example.com:80/", Pass),
            ("http://example.com:0080/", Pass),
            ("https://notlocalhost.com/", Pass),
            ("https://localhost.example.com/", Pass),
            ("https://local.example.com/x", Pass),
            ("https://lan.example/", Pass),
            ("https://b\u{fc}cher.example/bild.jpg", Bad(UrlProblem::NotAbsolute)),
            ("https://xn--bcher-kva.example/bild.jpg", Pass),
            // Percent-escaped non-ASCII hosts are refused before IDNA (which would panic in a
            // debug build on a capital next to them); non-ASCII elsewhere is fine.
            ("http://A%C3%A9.example/", Bad(UrlProblem::NotAbsolute)),
            ("http://%41%c3%a9.example/", Bad(UrlProblem::NotAbsolute)),
            ("http://\u{e9}A.example/", Bad(UrlProblem::NotAbsolute)),
            ("http://[::1%C3%A9]/", Bad(UrlProblem::NotAbsolute)),
            ("http://example.com:8%C3%A9/", Bad(UrlProblem::NotAbsolute)),
            // An ASCII label whose Punycode holds a bidi control (here U+200F, U+202E), even
            // escaped: refused before IDNA (a debug build panicked on it).
            ("https://xn--ab-s1t.example/", Bad(UrlProblem::NotAbsolute)),
            ("https://XN--3ug.example/", Bad(UrlProblem::NotAbsolute)),
            ("https://%78n--xy-g4t.example/", Bad(UrlProblem::NotAbsolute)),
            ("https://example.com/xn--bcher-kva/a.png", Pass),
            ("https://example.com/caf%C3%A9.png?q=%E2%82%AC#%FF", Pass),
            ("https://example.com/caf\u{e9}.png?q=\u{20ac}#\u{e9}", Pass),
            ("http://%C3%A9@example.com/", Bad(UrlProblem::Credentials)),
            ("http://%41.example/", Pass),
            ("https://example.com/a.png?w=100&h=200#frag", Pass),
            ("HTTPS://EXAMPLE.COM/Pic.PNG", Pass),
            ("http:///example.com/a", Pass),
            // empty userinfo is dropped by the parser: nothing is sent, so it passes
            ("http://@example.com/", Pass),
            ("http:\\\\evil.local\\x", Private),
            // --- credentials ---
            (
                "http://user:pass@example.com/",
                Bad(UrlProblem::Credentials),
            ),
            ("http://user@example.com/", Bad(UrlProblem::Credentials)),
            ("http://:pass@example.com/", Bad(UrlProblem::Credentials)),
            ("https://user:@example.com/", Bad(UrlProblem::Credentials)),
            // --- schemes ---
            (
                "ftp://example.com/a.png",
                Bad(UrlProblem::UnsupportedScheme),
            ),
            ("file:///etc/passwd", Bad(UrlProblem::UnsupportedScheme)),
            (
                "data:image/png;base64,iVBORw0KGgo=",
                Bad(UrlProblem::UnsupportedScheme),
            ),
            ("javascript:alert(1)", Bad(UrlProblem::UnsupportedScheme)),
            ("gopher://example.com/", Bad(UrlProblem::UnsupportedScheme)),
            ("ws://example.com/", Bad(UrlProblem::UnsupportedScheme)),
            ("wss://example.com/", Bad(UrlProblem::UnsupportedScheme)),
            (
                "blob:https://example.com/uuid",
                Bad(UrlProblem::UnsupportedScheme),
            ),
            ("localhost:8080/a.png", Bad(UrlProblem::UnsupportedScheme)),
            // --- relative / malformed ---
            ("", Bad(UrlProblem::NotAbsolute)),
            ("/images/a.png", Bad(UrlProblem::NotAbsolute)),
            ("a.png", Bad(UrlProblem::NotAbsolute)),
            ("//example.com/a.png", Bad(UrlProblem::NotAbsolute)),
            ("example.com/a.png", Bad(UrlProblem::NotAbsolute)),
            ("?x=1", Bad(UrlProblem::NotAbsolute)),
            (" http://example.com/", Bad(UrlProblem::NotAbsolute)),
            ("http://example.com/ ", Bad(UrlProblem::NotAbsolute)),
            ("\thttp://example.com/", Bad(UrlProblem::NotAbsolute)),
            ("http://example.com/\n", Bad(UrlProblem::NotAbsolute)),
            ("\u{0}http://example.com/", Bad(UrlProblem::NotAbsolute)),
            ("http://exam\nple.com/", Bad(UrlProblem::NotAbsolute)),
            ("http://exa mple.com/", Bad(UrlProblem::NotAbsolute)),
            ("http://", Bad(UrlProblem::NotAbsolute)),
            ("http://user@/", Bad(UrlProblem::NotAbsolute)),
            // --- length ---
            (&long_ok, Pass),
            (&long_bad, Bad(UrlProblem::TooLong)),
        ];
        assert!(cases.len() >= 70, "only {} cases", cases.len());
        check_table(cases);
    }

    #[test]
    fn url_crate_normalises_ipv4_spellings() {
        for raw in [
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://0x7F.0.0.1/",
            "http://127.0.0.1./",
        ] {
            let url = parse_image_url(raw).unwrap();
            assert_eq!(
                url.host(),
                Some(Host::Ipv4(Ipv4Addr::new(127, 0, 0, 1))),
                "{raw}"
            );
        }
        let url = parse_image_url("http://[::ffff:7f00:1]/").unwrap();
        assert_eq!(
            url.host(),
            Some(Host::Ipv6("::ffff:127.0.0.1".parse().unwrap()))
        );
    }

    #[test]
    fn serialized_length_is_bounded() {
        // 2048 raw bytes whose percent-encoded form is ~3x longer.
        let raw = format!("http://example.com/{}", "\"".repeat(MAX_URL_BYTES - 19));
        assert_eq!(raw.len(), MAX_URL_BYTES);
        assert_eq!(parse_image_url(&raw), Err(UrlProblem::TooLong));
        // Multi-byte: counted in bytes, not chars.
        let raw = format!("http://example.com/{}", "\u{e9}".repeat(1100));
        assert_eq!(parse_image_url(&raw), Err(UrlProblem::TooLong));
    }

    #[test]
    fn reasons() {
        assert_eq!(UrlProblem::TooLong.reason(), "too-long");
        assert_eq!(UrlProblem::NotAbsolute.reason(), "not-absolute-url");
        assert_eq!(UrlProblem::UnsupportedScheme.reason(), "unsupported-scheme");
        assert_eq!(UrlProblem::Credentials.reason(), "credentials");
        assert_eq!(Refusal::Forbidden.reason(), "forbidden-destination");
        assert_eq!(Refusal::Unreachable.reason(), "unreachable");
        assert_eq!(Policy::default(), PUB);
    }

    #[test]
    fn check_destination_rejects_non_http_and_credentials_even_in_dev() {
        for raw in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://user:pass@example.com/",
            "http://user@example.com/",
            "data:text/plain,hi",
        ] {
            let url = Url::parse(raw).unwrap();
            assert_eq!(
                check_destination(&url, PUB),
                Err(Refusal::Forbidden),
                "{raw}"
            );
            assert_eq!(
                check_destination(&url, DEV),
                Err(Refusal::Forbidden),
                "{raw}"
            );
        }
    }

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn next_hop_cases() {
        let https = u("https://images.example.com/a/b.png?x=1#f");
        let http = u("http://images.example.com/a/b.png");
        type R = Result<&'static str, Refusal>;
        let cases: &[(&Url, Option<&str>, Policy, R)] = &[
            // relative / absolute
            (
                &https,
                Some("c.png"),
                PUB,
                Ok("https://images.example.com/a/c.png"),
            ),
            (
                &https,
                Some("/c.png"),
                PUB,
                Ok("https://images.example.com/c.png"),
            ),
            (
                &https,
                Some("../c.png?y=2#top"),
                PUB,
                Ok("https://images.example.com/c.png?y=2"),
            ),
            (
                &https,
                Some("?v=2"),
                PUB,
                Ok("https://images.example.com/a/b.png?v=2"),
            ),
            (
                &https,
                Some("#other"),
                PUB,
                Ok("https://images.example.com/a/b.png?x=1"),
            ),
            (
                &https,
                Some("https://cdn.example.net/z.png"),
                PUB,
                Ok("https://cdn.example.net/z.png"),
            ),
            (
                &https,
                Some("  https://cdn.example.net/z.png  "),
                PUB,
                Ok("https://cdn.example.net/z.png"),
            ),
            (
                &https,
                Some("//cdn.example.net/z.png"),
                PUB,
                Ok("https://cdn.example.net/z.png"),
            ),
            (&https, Some("//evil.local/x"), PUB, Err(Refusal::Forbidden)),
            // ports, on every hop
            (&https, Some("https://images.example.com:22/"), PUB, Err(Refusal::Forbidden)),
            (&http, Some("//images.example.com:8080/x"), PUB, Err(Refusal::Forbidden)),
            (&https, Some("https://images.example.com:22/"), DEV, Ok("https://images.example.com:22/")),
            (&http, Some("http://images.example.com:443/x"), PUB, Ok("http://images.example.com:443/x")),
            // non-ASCII hosts never reach IDNA; non-ASCII paths are fine
            (&https, Some("https://A%C3%A9.example/"), PUB, Err(Refusal::Unreachable)),
            (&https, Some("//\u{c9}X.example/"), DEV, Err(Refusal::Unreachable)),
            (&https, Some("/caf%C3%A9.png"), PUB, Ok("https://images.example.com/caf%C3%A9.png")),
            (&https, Some("/caf\u{e9}.png"), PUB, Ok("https://images.example.com/caf%C3%A9.png")),
            (&http, Some("//evil.local/x"), PUB, Err(Refusal::Forbidden)),
            // scheme changes
            (
                &https,
                Some("http://images.example.com/b.png"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("http://127.0.0.1/"),
                DEV,
                Err(Refusal::Forbidden),
            ),
            (
                &http,
                Some("https://images.example.com/b.png"),
                PUB,
                Ok("https://images.example.com/b.png"),
            ),
            (
                &http,
                Some("http:c.png"),
                PUB,
                Ok("http://images.example.com/a/c.png"),
            ),
            (
                &https,
                Some("ftp://example.com/x"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("file:///etc/passwd"),
                DEV,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("javascript:alert(1)"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("data:image/png;base64,AAAA"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            // credentials
            (
                &https,
                Some("https://u:p@example.com/"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("https://u@example.com/"),
                DEV,
                Err(Refusal::Forbidden),
            ),
            // missing / empty / garbage
            (&https, None, PUB, Err(Refusal::Unreachable)),
            (&https, Some(""), PUB, Err(Refusal::Unreachable)),
            (&https, Some("   "), PUB, Err(Refusal::Unreachable)),
            (&https, Some("http://[::1"), PUB, Err(Refusal::Unreachable)),
            (
                &https,
                Some("https://exa mple.com/"),
                PUB,
                Err(Refusal::Unreachable),
            ),
            (
                &https,
                Some("https://[fe80::1%25eth0]/"),
                DEV,
                Err(Refusal::Unreachable),
            ),
            (
                &https,
                Some("https://999.1.1.1/"),
                PUB,
                Err(Refusal::Unreachable),
            ),
            // private destinations
            (
                &https,
                Some("https://127.0.0.1/"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("https://2130706433/"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("https://[::ffff:169.254.169.254]/"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &http,
                Some("http://169.254.169.254/latest/meta-data/"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("https://metadata.google.internal/"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            (
                &https,
                Some("https://localhost./"),
                PUB,
                Err(Refusal::Forbidden),
            ),
            // allow_private
            (
                &https,
                Some("https://127.0.0.1:8443/x#y"),
                DEV,
                Ok("https://127.0.0.1:8443/x"),
            ),
            (
                &http,
                Some("http://localhost:8787/img"),
                DEV,
                Ok("http://localhost:8787/img"),
            ),
            (&http, Some("http://[::1]/"), DEV, Ok("http://[::1]/")),
        ];
        for &(cur, loc, policy, want) in cases {
            let got = next_hop(cur, loc, policy);
            let got = got.as_ref().map(Url::as_str).map_err(|e| *e);
            assert_eq!(got, want, "from {cur} Location {loc:?} policy {policy:?}");
        }
    }

    #[test]
    fn next_hop_length() {
        let cur = u("https://example.com/");
        let path_ok = format!("/{}", "a".repeat(MAX_URL_BYTES - 20));
        let got = next_hop(&cur, Some(&path_ok), PUB).unwrap();
        assert_eq!(got.as_str().len(), MAX_URL_BYTES);
        let path_bad = format!("/{}", "a".repeat(MAX_URL_BYTES - 19));
        assert_eq!(
            next_hop(&cur, Some(&path_bad), PUB),
            Err(Refusal::Forbidden)
        );
        let huge = "a".repeat(100_000);
        assert_eq!(next_hop(&cur, Some(&huge), PUB), Err(Refusal::Forbidden));
    }

    #[test]
    fn no_panics_on_odd_input() {
        let odd = [
            "http://[",
            "http://]",
            "http://[::ffff:]/",
            "http://%/",
            "http://%ff/",
            "http://\u{10ffff}/",
            "http://xn--/",
            "http://xn--zz/",
            "http://a..b/",
            "http://./",
            "http://../",
            "http://.a/",
            "\u{feff}http://example.com/",
            "http://example.com:99999/",
            "http://example.com:/",
            "http:",
            ":",
            "\u{0}",
            "\u{7f}",
        ];
        let base = u("https://example.com/a");
        for raw in odd {
            if let Ok(url) = parse_image_url(raw) {
                let _ = check_destination(&url, PUB);
                let _ = check_destination(&url, DEV);
            }
            let _ = next_hop(&base, Some(raw), PUB);
            let _ = next_hop(&base, Some(raw), DEV);
        }
        // Hosts the parser accepts with empty labels are refused.
        for raw in [
            "http://a..b/",
            "http://.example.com/",
            "http://example.com../",
        ] {
            let url = parse_image_url(raw).unwrap();
            assert_eq!(
                check_destination(&url, PUB),
                Err(Refusal::Forbidden),
                "{raw}"
            );
        }
    }

    #[test]
    fn masks_what_could_decode_to_non_ascii() {
        for (text, masked) in [
            ("http://example.com/a%41%7f", None),
            ("%C3%a9", Some("%25%25")),
            ("x\u{e9}y\u{20ac}", Some("x%25y%25")),
            ("%%C3%C", Some("%%25%C")),
            ("%8", None),
            ("%8g\u{1f600}", Some("%8g%25")),
        ] {
            let got = non_ascii_masked(text);
            assert_eq!(matches!(got, Cow::Borrowed(_)), masked.is_none(), "{text}");
            assert_eq!(got, masked.unwrap_or(text), "{text}");
            assert_eq!(may_hold_non_ascii_host(text), masked.is_some(), "{text}");
        }
        // A masked unit in a host fails the parse: `%25` decodes to `%`, which no host may hold.
        assert!(Url::parse("http://a%25b.example/").is_err());
    }

    #[test]
    fn domain_rules_direct() {
        assert!(domain_is_public("example.com"));
        assert!(domain_is_public("example.com."));
        assert!(!domain_is_public(""));
        assert!(!domain_is_public("."));
        assert!(!domain_is_public("com"));
        assert!(!domain_is_public("example.com.."));
        assert!(!domain_is_public("x.HOME.ARPA"));
        assert!(domain_is_public("home.arpa.example"));
        assert!(domain_is_public("xlocal.com"));
        assert!(!domain_is_public("xn--bcher-kva.local"));
    }
}
