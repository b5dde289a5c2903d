//! Who may use the station: the access token, and same-origin for every change.
//!
//! The checks are pure functions of the request's headers, so they are tested alone; the
//! middleware in [`super::server`] applies them to every request.

use axum::http::{HeaderMap, Method, header};

/// Name of the cookie that keeps the access token after `/?token=...`.
pub const TOKEN_COOKIE: &str = "hv_token";

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A token is configured and the request does not carry it.
    NoToken,
    /// A state-changing request from another site.
    CrossSite,
    /// Without a token, a request addressed to another host name (DNS rebinding).
    NotLocal,
}

/// True when the request carries the token: `Authorization: Bearer`, the cookie, or the
/// `token` query parameter.
pub fn has_token(headers: &HeaderMap, query: Option<&str>, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='));
    let queried = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|p| p.strip_prefix("token="));
    bearer
        .into_iter()
        .chain(cookies)
        .chain(queried)
        .any(|given| same_secret(given, token))
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn same_secret(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, &x) in b.iter().enumerate() {
        diff |= usize::from(x ^ a.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// A state-changing request (anything but GET and HEAD) must come from the station's own
/// pages: a browser says so in `Sec-Fetch-Site` or `Origin`. A request carrying neither
/// comes from a script (curl), which a cross-site page cannot forge.
pub fn same_origin(method: &Method, headers: &HeaderMap) -> bool {
    if method == Method::GET || method == Method::HEAD {
        return true;
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site == "same-origin" || site == "none";
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }
        (Some(_), None) => false,
    }
}

/// True when the request is addressed to this machine by a loopback name or address
/// (`Host`). A station without a token serves only those: a page whose name was made to
/// point at 127.0.0.1 (DNS rebinding) is not answered.
pub fn local_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The checks in order: token (when configured, else a local `Host`), then same-origin.
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    token: Option<&str>,
) -> Result<(), Refusal> {
    if let Some(token) = token
        && !has_token(headers, query, token)
    {
        return Err(Refusal::NoToken);
    }
    if token.is_none() && !local_host(headers) {
        return Err(Refusal::NotLocal);
    }
    if !same_origin(method, headers) {
        return Err(Refusal::CrossSite);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TOKEN: &str = "0123456789abcdefXYZ";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_token_is_needed_when_configured_and_taken_from_any_carrier() {
        let get = Method::GET;
        assert_eq!(check(&get, &headers(&[]), None, None), Ok(()));
        assert_eq!(
            check(&get, &headers(&[]), None, Some(TOKEN)),
            Err(Refusal::NoToken)
        );
        let bearer = format!("Bearer {TOKEN}");
        assert!(has_token(
            &headers(&[("authorization", &bearer)]),
            None,
            TOKEN
        ));
        let cookie = format!("a=b; {TOKEN_COOKIE}={TOKEN}");
        assert!(has_token(&headers(&[("cookie", &cookie)]), None, TOKEN));
        assert!(has_token(
            &headers(&[]),
            Some(&format!("x=1&token={TOKEN}")),
            TOKEN
        ));
        assert!(!has_token(
            &headers(&[]),
            Some("token=0123456789abcdefXY"),
            TOKEN
        ));
        assert!(!has_token(
            &headers(&[]),
            Some("token=0123456789abcdefXYZZ"),
            TOKEN
        ));
        assert!(!has_token(
            &headers(&[("authorization", "Bearer ")]),
            None,
            TOKEN
        ));
    }

    #[test]
    fn without_a_token_only_requests_addressed_to_this_machine_are_served() {
        for host in [
            "127.0.0.1:8080",
            "localhost:1",
            "[::1]:80",
            "127.0.0.2",
            "LOCALHOST",
        ] {
            assert!(local_host(&headers(&[("host", host)])), "{host}");
        }
        for host in [
            "evil.example:8080",
            "192.168.1.5:8080",
            "[fe80::1]:80",
            "localhost.evil",
        ] {
            let h = headers(&[("host", host)]);
            assert!(!local_host(&h), "{host}");
            assert_eq!(check(&Method::GET, &h, None, None), Err(Refusal::NotLocal));
        }
        let lan = headers(&[("host", "192.168.1.5:8080")]);
        assert_eq!(
            check(
                &Method::GET,
                &lan,
                Some(&format!("token={TOKEN}")),
                Some(TOKEN)
            ),
            Ok(())
        );
    }

    #[test]
    fn changes_from_another_site_are_refused() {
        let post = Method::POST;
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&post, &headers(&[host])), "a script");
        assert!(same_origin(
            &post,
            &headers(&[host, ("origin", "http://127.0.0.1:8080")])
        ));
        assert!(!same_origin(
            &post,
            &headers(&[host, ("origin", "http://evil.example")])
        ));
        assert!(!same_origin(
            &post,
            &headers(&[
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:8080")
            ])
        ));
        assert!(!same_origin(
            &post,
            &headers(&[host, ("sec-fetch-site", "same-site")])
        ));
        assert!(same_origin(
            &post,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(same_origin(
            &Method::GET,
            &headers(&[host, ("origin", "http://evil.example")])
        ));
        assert_eq!(
            check(
                &post,
                &headers(&[host, ("origin", "http://evil.example")]),
                None,
                None
            ),
            Err(Refusal::CrossSite)
        );
    }
}
