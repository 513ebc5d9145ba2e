//! `url`: scheme, host and path only; the query string, fragment, user name, password and port
//! are dropped, and so are path parameters (`;jsessionid=…`); a path segment that looks like an
//! identifier (an e-mail address, a phone number, …: the leak scan's patterns) becomes `*`.
//!
//! Query strings carry anything: search terms, tracking ids, e-mail addresses from newsletter
//! links, session tokens. The page a person visited is what analysts need. Parsing uses the
//! WHATWG URL parser of the `url` crate; a relative or malformed URL is invalid.

use polars::prelude::*;

use super::Tally;

pub fn generalize(raw: &str, out: &mut String) -> bool {
    let Ok(u) = ::url::Url::parse(raw.trim()) else {
        return false;
    };
    let Some(host) = u.host_str() else {
        return false;
    };
    out.push_str(u.scheme());
    out.push_str("://");
    out.push_str(host);
    // Path parameters (`/cart;jsessionid=…`) carry session ids, not pages: cut each segment at
    // its `;`.
    for (i, segment) in u.path().split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let segment = segment.split(';').next().unwrap_or("");
        // `/unsubscribe/ivan@mail.kz`, `/call/+77011234567`: a segment the leak scan would
        // call an identifier is not a page; it becomes `*`.
        if may_identify(segment) && crate::identifiers::pattern(segment).is_some() {
            out.push('*');
        } else {
            out.push_str(segment);
        }
    }
    true
}

/// Whether a path segment could hold one of the leak scan's patterns at all (an `@` or `%40`,
/// a `:`, or four digits): most segments are words, and skip the patterns' regexes.
fn may_identify(segment: &str) -> bool {
    segment.contains(['@', '%', ':']) || segment.bytes().filter(u8::is_ascii_digit).count() >= 4
}

pub fn expr(input: Expr, tally: Tally) -> Expr {
    // Not cached per batch as user agents are: about half of a batch's URLs repeat, but the
    // cache's allocations cost more than parsing them again (`cargo bench --bench stages --
    // url`: 2.8 M values/s without, 2.2 M with).
    super::map_text(input, tally, generalize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Option<String> {
        let mut o = String::new();
        generalize(s, &mut o).then_some(o)
    }

    #[test]
    fn keeps_scheme_host_path_only() {
        assert_eq!(
            g("https://shop.kz/catalog/phones/123?q=iphone&email=a.b%40mail.kz#reviews").as_deref(),
            Some("https://shop.kz/catalog/phones/123")
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
            Some("https://shop.kz/catalog/item/123456")
        );
        assert_eq!(g("mailto:a@b.kz"), None);
        assert_eq!(g("not a url"), None);
    }
}
