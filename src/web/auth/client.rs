//! The client's address, for the per-address limits (report and sign-in rates) and the
//! audit log.
//!
//! Behind a reverse proxy or load balancer every request comes from the proxy's address,
//! so a limit per socket address would be one limit shared by every analyst: on launch
//! day, the thirty-first report of a minute from anyone would be refused. From the
//! addresses and CIDR ranges in `DESK_TRUSTED_PROXIES` (and `DESK_AUTH_PROXY_ADDRS`: an
//! auth proxy is such a proxy too) the desk takes the client from `X-Forwarded-For`
//! instead: read from the right, each hop a trusted proxy added, up to the first address
//! that is not one of them.
//! Anything further left was written by the client and could say anything. From any other
//! address the header is ignored, so a client cannot choose its own address.
//!
//! Hand-written: actix-web's `ConnectionInfo::realip_remote_addr` takes the left-most
//! forwarded address from any peer, which is the spoofable one.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

use crate::state::Desk;

/// The client's address: the socket's peer, or the address a trusted proxy forwarded.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<actix_web::web::Data<Desk>>()
        .map(|desk| desk.auth.trusted_proxies.as_slice())
        .unwrap_or_default();
    Some(forwarded_client(peer, req.headers(), trusted))
}

/// `client_ip` as text, for the audit log.
pub fn client_ip_text(req: &HttpRequest) -> Option<String> {
    client_ip(req).map(|ip| ip.to_string())
}

/// The client behind `peer`, given the proxies trusted to say who it is.
pub fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Several headers count as one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop that is not an address: trust nothing from there on.
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// `203.0.113.7`, `2001:db8::1`, and with a port: `203.0.113.7:4711`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let proxies = [IpNet::from(ip("10.0.0.2")), "10.0.1.0/24".parse().unwrap()];
        let client = |peer: &str, values: &[&str]| {
            forwarded_client(ip(peer), &headers(values), &proxies).to_string()
        };
        // Straight from a client: the header is whatever it wrote, and ignored.
        assert_eq!(client("198.51.100.9", &["203.0.113.7"]), "198.51.100.9");
        // Through the proxy.
        assert_eq!(client("10.0.0.2", &["203.0.113.7"]), "203.0.113.7");
        // A client's own entry on the left does not count; two proxies in a row.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1, 203.0.113.7, 10.0.1.3"]),
            "203.0.113.7"
        );
        // A range: any of its addresses is a proxy.
        assert_eq!(client("10.0.1.200", &["203.0.113.7"]), "203.0.113.7");
        assert_eq!(client("10.0.2.1", &["203.0.113.7"]), "10.0.2.1");
        // The same list across two headers, ports and IPv6.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1", "203.0.113.7:4711"]),
            "203.0.113.7"
        );
        assert_eq!(client("10.0.0.2", &["[2001:db8::1]:4711"]), "2001:db8::1");
        // Nothing forwarded, or only proxies: the last proxy is all there is to go on.
        assert_eq!(client("10.0.0.2", &[]), "10.0.0.2");
        assert_eq!(client("10.0.0.2", &["10.0.1.3"]), "10.0.1.3");
        // Garbage stops the walk at the last address a proxy vouched for.
        assert_eq!(client("10.0.0.2", &["203.0.113.7, unknown"]), "10.0.0.2");
        assert_eq!(client("10.0.0.2", &["unknown, 203.0.113.7"]), "203.0.113.7");
        // An IPv4 peer seen on an IPv6 socket is the same proxy.
        assert_eq!(client("::ffff:10.0.0.2", &["203.0.113.7"]), "203.0.113.7");
    }
}
