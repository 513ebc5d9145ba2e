//! `url`: scheme, host and path only; the query string, fragment, user name, password and port
//! are dropped, and so are path parameters (`;jsessionid=…`).
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
        out.push_str(segment.split(';').next().unwrap_or(""));
    }
    true
}

pub fn expr(input: Expr, tally: Tally) -> Expr {
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
        assert_eq!(g("mailto:a@b.kz"), None);
        assert_eq!(g("not a url"), None);
    }
}
