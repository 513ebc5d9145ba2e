//! `url`: scheme, host and path only, as a template; the query string, fragment, user name,
//! password and port are dropped, and so are path parameters (`;jsessionid=…`).
//!
//! Query strings carry anything: search terms, tracking ids, e-mail addresses from newsletter
//! links, session tokens. The page a person visited is what analysts need, not whose page it
//! was: a path segment that could name a person or a session becomes `*`
//! (`/users/1000001/profile` is `/users/*/profile`): a number, a segment with a run of six
//! digits or more, a UUID, a long hex or base64 token, a segment that decodes to a person's name
//! (capitalized words: `Aigerim%20Nurlanovna`, and so also `Home%20Appliances`), and anything
//! the identifier patterns match (see [`crate::identifiers`]). So
//! does a host label holding an identifier (`77011234567.shop.kz`, `95-56-12-34.dyn.kz`), and a
//! host that is an IP address. A segment equal to a value of a dropped column that passes
//! all of this is caught by the leak scan, which fails the run. Parsing uses the WHATWG URL
//! parser of the `url` crate; a relative or malformed URL is invalid.

use std::sync::LazyLock;

use regex::Regex;

use crate::identifiers::{decoded, pattern};
use std::sync::Arc;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params};

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
        .expect("valid")
});
static LONG_HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?i)[0-9a-f]{16,}$").expect("valid"));
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_+/=-]{16,}$").expect("valid"));

pub fn generalize(raw: &str, out: &mut String) -> bool {
    let Ok(u) = ::url::Url::parse(raw.trim()) else {
        return false;
    };
    let Some(host) = u.host() else {
        return false;
    };
    out.push_str(u.scheme());
    out.push_str("://");
    match host {
        ::url::Host::Domain(d) => {
            for (i, label) in d.split('.').enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(if label_identifies(label) { "*" } else { label });
            }
        }
        // A server's address, or a person's: either way not a page.
        ::url::Host::Ipv4(_) | ::url::Host::Ipv6(_) => out.push('*'),
    }
    // Path parameters (`/cart;jsessionid=…`) carry session ids, not pages: cut each segment at
    // its `;`.
    for (i, segment) in u.path().split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let segment = segment.split(';').next().unwrap_or("");
        out.push_str(if segment_identifies(segment) {
            "*"
        } else {
            segment
        });
    }
    true
}

/// Whether a path segment could name a person, an account or a session (see the module).
fn segment_identifies(segment: &str) -> bool {
    // Most segments are words (`catalog`, `black-friday`): without a digit, a capital, `%`, `@`
    // or `:` none of the rules below can match, and the regexes are skipped.
    if !segment
        .bytes()
        .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || matches!(b, b'%' | b'@' | b':'))
        && segment.is_ascii()
    {
        return false;
    }
    let d = decoded(segment);
    let d = d.as_ref();
    let count = |f: fn(&u8) -> bool| d.as_bytes().iter().filter(|b| f(b)).count();
    let (digits, upper) = (count(u8::is_ascii_digit), count(u8::is_ascii_uppercase));
    let longest_run = crate::identifiers::longest_digit_run(d);
    // A random token mixes cases and digits; a product slug (`Samsung-Galaxy-S24-Ultra`) has
    // words between its dashes and few digits.
    let token = TOKEN.is_match(d)
        && upper > 0
        && count(u8::is_ascii_lowercase) > 0
        && digits > 0
        && (!d.contains(['-', '_']) || (digits >= 4 && upper >= 4));
    digits == d.len()
        || longest_run >= 6
        || UUID.is_match(d)
        || LONG_HEX.is_match(d)
        || token
        || crate::identifiers::person_like(d)
        || pattern(d).is_some()
}

/// Whether a host label holds an identifier: six digits or more, or an identifier pattern (an
/// address spelled with dashes).
fn label_identifies(label: &str) -> bool {
    // Every rule needs digits (a host label holds no `@`).
    let digits = label.bytes().filter(u8::is_ascii_digit).count();
    digits > 0 && (digits >= 6 || pattern(label).is_some())
}

/// The template of `raw` at `level` (see [`Url::describe`]) into `out`: the whole template,
/// its first path segment, its host, or `*`. False when `raw` is not a URL.
fn at_level(raw: &str, level: usize, out: &mut String) -> bool {
    let start = out.len();
    if !generalize(raw, out) {
        return false;
    }
    if level == 0 {
        return true;
    }
    if level >= 3 {
        out.truncate(start);
        out.push('*');
        return true;
    }
    // The template is `scheme://host/path…`: cut after the host, or after the first segment.
    let after_scheme = out[start..].find("://").map_or(start, |i| start + i + 3);
    let host_end = out[after_scheme..]
        .find('/')
        .map_or(out.len(), |i| after_scheme + i);
    let end = if level == 2 {
        host_end
    } else {
        out[host_end + 1.min(out.len() - host_end)..]
            .find('/')
            .map_or(out.len(), |i| host_end + 1 + i)
    };
    out.truncate(end);
    true
}

/// `method = "url"`: no keys; four levels, from the page's template to nothing.
#[derive(Debug)]
pub struct Url;

impl Method for Url {
    fn name(&self) -> &'static str {
        "url"
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn build(&self, _: &Params<'_>) -> Result<Generalizer, String> {
        Ok(Arc::new(Url))
    }
}

impl Generalize for Url {
    fn method(&self) -> &'static str {
        "url"
    }

    fn levels(&self) -> usize {
        4
    }

    fn default_level(&self) -> Option<usize> {
        Some(0)
    }

    fn describe(&self, level: usize) -> String {
        match level {
            0 => "scheme, host, path",
            1 => "scheme, host, first path segment",
            2 => "scheme and host",
            _ => "*",
        }
        .into()
    }

    fn level_name(&self, level: usize) -> String {
        match level {
            0 => "path",
            1 => "first segment",
            2 => "host",
            _ => "*",
        }
        .into()
    }

    fn output(&self, _: usize) -> Output {
        Output::Text
    }

    // Not cached per batch as user agents are: about half of a batch's URLs repeat, but the
    // cache's allocations cost more than parsing them again (`cargo bench --bench stages --
    // url`: 2.8 M values/s without, 2.2 M with).
    fn apply(&self, level: usize, value: &str, _: &Env, out: &mut String) -> Outcome {
        if at_level(value, level, out) {
            Outcome::Text
        } else {
            Outcome::Invalid
        }
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        base.is_some_and(|b| at_level(b, level, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Option<String> {
        let mut o = String::new();
        generalize(s, &mut o).then_some(o)
    }

    #[test]
    fn the_ladder_climbs_from_the_path_to_the_host() {
        let at = |raw: &str, level: usize| {
            let mut o = String::from("x");
            at_level(raw, level, &mut o).then(|| o[1..].to_string())
        };
        let raw = "https://shop.kz/catalog/phones/123?q=iphone";
        assert_eq!(
            at(raw, 0).as_deref(),
            Some("https://shop.kz/catalog/phones/*")
        );
        assert_eq!(at(raw, 1).as_deref(), Some("https://shop.kz/catalog"));
        assert_eq!(at(raw, 2).as_deref(), Some("https://shop.kz"));
        assert_eq!(at(raw, 3).as_deref(), Some("*"));
        assert_eq!(
            at("https://shop.kz", 1).as_deref(),
            Some("https://shop.kz/")
        );
        assert_eq!(
            at("https://shop.kz/cart", 1).as_deref(),
            Some("https://shop.kz/cart")
        );
        assert_eq!(
            at("https://shop.kz/cart", 2).as_deref(),
            Some("https://shop.kz")
        );
        assert_eq!(at("/relative", 3), None);
        assert_eq!(Url.levels(), 4);
    }

    #[test]
    fn keeps_scheme_host_path_only() {
        assert_eq!(
            g("https://shop.kz/catalog/phones/123?q=iphone&email=a.b%40mail.kz#reviews").as_deref(),
            Some("https://shop.kz/catalog/phones/*")
        );
        assert_eq!(
            g("https://user:secret@Shop.KZ:8443/cart?x=1").as_deref(),
            Some("https://shop.kz/cart")
        );
        assert_eq!(g("https://shop.kz").as_deref(), Some("https://shop.kz/"));
        assert_eq!(
            g("https://shop.kz/cart;jsessionid=ABC123/items;v=2?x").as_deref(),
            Some("https://shop.kz/cart/items")
        );
        assert_eq!(g("/catalog?q=1"), None);
        // Identifiers in the path (regression: found by the `values` fuzz target's invariant).
        assert_eq!(
            g("https://shop.kz/unsubscribe/ivan@mail.kz").as_deref(),
            Some("https://shop.kz/unsubscribe/*")
        );
        assert_eq!(
            g("https://shop.kz/u/ivan.petrov%40mail.kz/settings").as_deref(),
            Some("https://shop.kz/u/*/settings")
        );
        assert_eq!(
            g("https://taxi.kz/call/+77011234567").as_deref(),
            Some("https://taxi.kz/call/*")
        );
        assert_eq!(
            g("https://shop.kz/catalog/item/123456").as_deref(),
            Some("https://shop.kz/catalog/item/*")
        );
        assert_eq!(g("mailto:a@b.kz"), None);
        assert_eq!(g("not a url"), None);
    }

    /// What the hostile review found in paths and hosts: each becomes `*`, pages stay.
    #[test]
    fn identifiers_in_paths_and_hosts_become_stars() {
        for (url, want) in [
            (
                "https://shop.kz/users/1000001/profile",
                "https://shop.kz/users/*/profile",
            ),
            (
                "https://shop.kz/u/u1000001/orders",
                "https://shop.kz/u/*/orders",
            ),
            (
                "https://shop.kz/c/0f3a9b2c4d5e6f708192a3b4c5d6e7f8/view",
                "https://shop.kz/c/*/view",
            ),
            (
                "https://shop.kz/s/3fa85f64-5717-4562-b3fc-2c963f66afa6",
                "https://shop.kz/s/*",
            ),
            (
                "https://shop.kz/t/dGhpc0lzQVRva2VuMTIz/x",
                "https://shop.kz/t/*/x",
            ),
            (
                "https://shop.kz/profile/Aigerim%20Nurlanovna",
                "https://shop.kz/profile/*",
            ),
            (
                "https://shop.kz/u/%D0%90%D0%B9%D0%B3%D0%B5%D1%80%D0%B8%D0%BC%20%D0%9D%D1%83%D1%80%D0%BB%D0%B0%D0%BD%D0%BE%D0%B2%D0%BD%D0%B0",
                "https://shop.kz/u/*",
            ),
            ("https://shop.kz/u/a.b%2540mail.kz", "https://shop.kz/u/*"),
            ("https://shop.kz/call/77011234567", "https://shop.kz/call/*"),
            ("https://77011234567.shop.kz/cart", "https://*.shop.kz/cart"),
            (
                "https://95-56-12-34.dyn.example.kz/",
                "https://*.dyn.example.kz/",
            ),
            ("http://95.56.12.34/login", "http://*/login"),
            // Pages stay pages.
            (
                "https://shop.kz/catalog/phones",
                "https://shop.kz/catalog/phones",
            ),
            (
                "https://shop.kz/catalog/iphone-15-pro-max",
                "https://shop.kz/catalog/iphone-15-pro-max",
            ),
            (
                "https://shop.kz/promo/black-friday",
                "https://shop.kz/promo/black-friday",
            ),
            (
                "https://www2.shop.kz/v2/cart",
                "https://www2.shop.kz/v2/cart",
            ),
            (
                "https://shop.kz/%D0%BA%D0%B0%D1%82%D0%B0%D0%BB%D0%BE%D0%B3",
                "https://shop.kz/%D0%BA%D0%B0%D1%82%D0%B0%D0%BB%D0%BE%D0%B3",
            ),
        ] {
            assert_eq!(g(url).as_deref(), Some(want), "{url}");
        }
    }
}
