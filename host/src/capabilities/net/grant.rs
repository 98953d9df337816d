//! Net grants: which `host[:port]` pairs a script may reach, parsed with the
//! same WHATWG host parser (`url`) that parses request URLs, so a grant and
//! a URL naming the same host always compare equal (`EXAMPLE.com`,
//! `0x7f.1` and `127.0.0.1`, `[0:0::1]` and `[::1]` are normalised alike).

use std::fmt;

use url::{Host, Url};

use crate::error::Error;

/// One parsed grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    host: Host<String>,
    /// `None`: every port of the host.
    port: Option<u16>,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Host`'s Display brackets IPv6 literals.
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

impl Grant {
    /// Parses `host`, `host:port`, `1.2.3.4[:port]`, `[v6]`, `[v6]:port` or
    /// a bare IPv6 literal (no port).
    pub(crate) fn parse(text: &str) -> Result<Grant, Error> {
        let bad = |why: &str| {
            Error::InvalidOptions {
                option: "allow_net",
                reason: format!("{text:?}: {why} (expected HOST, HOST:PORT, an IP address, or [IPv6]:PORT)"),
            }
        };
        let text_trimmed = text.trim();
        if text_trimmed.is_empty() {
            return Err(bad("empty"));
        }
        if text_trimmed.contains("://") || text_trimmed.contains(['/', '@', '?', '#', '*']) {
            return Err(bad("a grant is a host and optional port, not a URL or pattern"));
        }
        let (host, port) = if let Some(rest) = text_trimmed.strip_prefix('[') {
            let end = rest.find(']').ok_or_else(|| bad("unclosed '['"))?;
            let after = &rest[end + 1..];
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            };
            (&text_trimmed[..end + 2], port)
        } else if text_trimmed.matches(':').count() > 1 {
            // A bare IPv6 literal: no port possible without brackets.
            let ip: std::net::Ipv6Addr = text_trimmed.parse().map_err(|_| bad("not an IPv6 address"))?;
            return Ok(Grant { host: Host::Ipv6(ip), port: None });
        } else {
            match text_trimmed.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text_trimmed, None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("bad port"))?),
            None => None,
        };
        let host = Host::parse(host).map_err(|e| bad(&e.to_string()))?;
        Ok(Grant { host, port })
    }

    fn covers(&self, host: &Host<&str>, port: u16) -> bool {
        let same_host = match (&self.host, host) {
            (Host::Domain(a), Host::Domain(b)) => a == b,
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        };
        same_host && self.port.is_none_or(|p| p == port)
    }
}

/// The grants of a factory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grants {
    grants: Vec<Grant>,
}

/// The host and port a URL reaches, as the grants see them.
pub(crate) fn target(url: &Url) -> Result<(Host<&str>, u16), Error> {
    let host = url.host().ok_or_else(|| Error::InvalidValue(format!("fetch: {url} has no host")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Error::InvalidValue(format!("fetch: {url} has no port")))?;
    Ok((host, port))
}

/// `host:port` as a user would write it in a grant.
pub(crate) fn display_target(host: &Host<&str>, port: u16) -> String {
    format!("{host}:{port}")
}

impl Grants {
    /// Parses every grant.
    pub(crate) fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Grants, Error> {
        Ok(Grants { grants: texts.iter().map(|t| Grant::parse(t.as_ref())).collect::<Result<_, _>>()? })
    }

    /// Checks a URL against the grants: `Ok` when one covers its host and
    /// port, else [`Error::NotGranted`] naming the grants.
    pub(crate) fn check(&self, url: &Url) -> Result<(), Error> {
        let (host, port) = target(url)?;
        if self.grants.iter().any(|g| g.covers(&host, port)) {
            return Ok(());
        }
        let granted = if self.grants.is_empty() {
            "none".to_string()
        } else {
            self.grants.iter().map(Grant::to_string).collect::<Vec<_>>().join(", ")
        };
        Err(Error::NotGranted { grant: "net", wanted: display_target(&host, port), detail: format!("net grant: {granted}") })
    }

    /// Whether an IP literal in a URL is named by a grant (IP literals skip
    /// DNS, so the grant check is the whole check).
    #[cfg(test)]
    pub(crate) fn covers_ip(&self, ip: std::net::IpAddr, port: u16) -> bool {
        use std::net::IpAddr;
        let host = match ip {
            IpAddr::V4(v4) => Host::Ipv4(v4),
            IpAddr::V6(v6) => Host::Ipv6(v6),
        };
        self.grants.iter().any(|g| g.covers(&host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_every_form() {
        for (text, shown) in [
            ("example.com", "example.com"),
            ("EXAMPLE.com:8080", "example.com:8080"),
            ("127.0.0.1", "127.0.0.1"),
            ("127.0.0.1:9000", "127.0.0.1:9000"),
            ("localhost:3000", "localhost:3000"),
            ("[::1]", "[::1]"),
            ("[::1]:8443", "[::1]:8443"),
            ("::1", "[::1]"),
            ("[0:0::1]", "[::1]"),
            ("0x7f.1", "127.0.0.1"),
        ] {
            assert_eq!(Grant::parse(text).unwrap().to_string(), shown, "{text}");
        }
        for bad in ["", "http://example.com", "example.com/path", "a:b", "host:0", "host:70000", "[::1", "[::1]x", "*.example.com", "user@host"] {
            assert!(matches!(Grant::parse(bad), Err(Error::InvalidOptions { option: "allow_net", .. })), "{bad}");
        }
    }

    #[test]
    fn checks_host_and_port() {
        let g = Grants::parse(&["127.0.0.1:8080", "example.com", "[::1]:9000"]).unwrap();
        assert!(g.check(&url("http://127.0.0.1:8080/x")).is_ok());
        assert!(g.check(&url("http://127.0.0.1:8081/x")).is_err());
        assert!(g.check(&url("http://127.1:8080/")).is_ok(), "normalised like the URL parser");
        assert!(g.check(&url("https://EXAMPLE.com/")).is_ok());
        assert!(g.check(&url("http://example.com:1234/")).is_ok(), "no port in the grant: any port");
        assert!(g.check(&url("http://www.example.com/")).is_err(), "no subdomains");
        assert!(g.check(&url("http://example.com.evil.net/")).is_err());
        assert!(g.check(&url("http://[::1]:9000/")).is_ok());
        assert!(g.check(&url("http://[::1]:9001/")).is_err());
        assert!(g.covers_ip("127.0.0.1".parse().unwrap(), 8080));
        match g.check(&url("http://10.0.0.1/")) {
            Err(e @ Error::NotGranted { grant: "net", .. }) => {
                let m = e.to_string();
                assert!(m.contains("net: 10.0.0.1:80 is not granted (net grant: 127.0.0.1:8080, example.com, [::1]:9000)"), "{m}");
                assert!(!m.contains("--allow"), "the library names no CLI flag: {m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn default_ports_count() {
        let g = Grants::parse(&["example.com:443"]).unwrap();
        assert!(g.check(&url("https://example.com/")).is_ok());
        assert!(g.check(&url("http://example.com/")).is_err(), "http is port 80");
    }
}
