//! What the sources' cursor keys and log lines may say of a configured URL: never its userinfo.

/// The host (and port) of `url`, without any userinfo: the key names the source in every log
/// line, so it must never carry a password.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority)
}

/// `rest` (a URL after its `scheme://`) without the `user:password@` of its authority.
pub fn without_userinfo(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    }
}
