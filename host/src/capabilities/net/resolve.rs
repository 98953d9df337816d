//! The DNS step of every connection the net client makes. reqwest connects
//! to exactly the addresses this resolver returns (IP-literal URLs skip it),
//! so checking them here, once, pins the connection: a second DNS answer
//! cannot switch a checked name to another address between the check and
//! the connect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::is_public;

/// A DNS answer the address policy refused; found again in reqwest's error
/// chain and turned into [`crate::Error::Denied`].
#[derive(Debug)]
pub(crate) struct AddressRefused {
    pub(crate) name: String,
    pub(crate) addresses: Vec<IpAddr>,
}

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.addresses.iter().map(IpAddr::to_string).collect();
        write!(
            f,
            "net: {} resolved only to non-public addresses ({}); a hostname grant reaches public addresses only, grant the IP address itself to reach it",
            self.name,
            list.join(", ")
        )
    }
}

impl std::error::Error for AddressRefused {}

/// `localhost` is answered without asking the system (so `/etc/hosts`
/// cannot point it elsewhere); every other name goes to the system
/// resolver and keeps only its public addresses.
pub(crate) struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            if name == "localhost" {
                // Port 0: reqwest puts in the URL's port.
                let addrs: Addrs = Box::new(
                    [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, 0)),
                );
                return Ok(addrs);
            }
            let all: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            // Boxed once, as itself, so the client finds it in the error chain.
            let public = keep_public(name, all).map_err(|r| Box::new(r) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The public addresses of a DNS answer, or the refusal when it has none.
fn keep_public(name: String, all: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, AddressRefused> {
    let (public, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = all.into_iter().partition(|a| is_public(a.ip()));
    if public.is_empty() {
        let addresses = refused.iter().map(SocketAddr::ip).collect();
        return Err(AddressRefused { name, addresses });
    }
    if !refused.is_empty() {
        tracing::warn!(%name, ?refused, "net: dropped non-public addresses from a DNS answer");
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| SocketAddr::new(a.parse().unwrap(), 0)).collect()
    }

    #[test]
    fn a_rebinding_answer_is_refused_or_trimmed() {
        let refused = keep_public("evil.example".into(), addrs(&["127.0.0.1", "169.254.169.254", "::1"])).unwrap_err();
        assert_eq!(refused.addresses.len(), 3);
        let text = refused.to_string();
        assert!(text.starts_with("net: evil.example resolved only to non-public addresses (127.0.0.1, 169.254.169.254, ::1)"), "{text}");
        let kept = keep_public("mixed.example".into(), addrs(&["10.0.0.1", "93.184.215.14"])).unwrap();
        assert_eq!(kept, addrs(&["93.184.215.14"]));
        assert!(keep_public("none.example".into(), vec![]).is_err());
    }

    #[test]
    fn localhost_is_answered_without_dns() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let name: Name = "LocalHost".parse().unwrap();
        let got: Vec<SocketAddr> = rt.block_on(CheckedResolver.resolve(name)).unwrap().collect();
        assert_eq!(got, addrs(&["127.0.0.1", "::1"]));
    }
}
