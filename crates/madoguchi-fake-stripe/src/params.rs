//! Stripe's request parameters: `application/x-www-form-urlencoded` bodies and query strings
//! with bracket keys (`line_items[0][price_data][currency]=jpy`, `expand[]=payment_intent`),
//! read into pairs and looked up by their decoded key.

use std::collections::BTreeMap;

/// The decoded pairs of one body or query string, in the order they came.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads a form body or a query string. Anything that is not `key=value&…` is refused, as
    /// Stripe answers 400 to a body it cannot read.
    pub fn parse(raw: &[u8]) -> Result<Params, String> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)
            .map(Params)
            .map_err(|e| format!("Invalid request body: {e}"))
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The value of `key` (the last one, when a key is repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The values of a list parameter, sent either as `name[]=a&name[]=b` or as
    /// `name[0]=a&name[1]=b` (ordered by index).
    pub fn list(&self, name: &str) -> Vec<String> {
        let open = format!("{name}[");
        let mut indexed: Vec<(usize, usize, String)> = Vec::new();
        for (position, (k, v)) in self.0.iter().enumerate() {
            let Some(rest) = k.strip_prefix(&open) else {
                continue;
            };
            let Some(index) = rest.strip_suffix(']') else {
                continue;
            };
            if index.is_empty() {
                indexed.push((usize::MAX, position, v.clone()));
            } else if let Ok(i) = index.parse::<usize>() {
                indexed.push((i, position, v.clone()));
            }
        }
        indexed.sort_by_key(|(i, position, _)| (*i, *position));
        indexed.into_iter().map(|(_, _, v)| v).collect()
    }

    /// The entries of a hash parameter: `metadata[key]=value` for `prefix` `metadata`.
    pub fn map(&self, prefix: &str) -> BTreeMap<String, String> {
        let open = format!("{prefix}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let inner = k.strip_prefix(&open)?.strip_suffix(']')?;
                (!inner.contains('[')).then(|| (inner.to_owned(), v.clone()))
            })
            .collect()
    }

    /// The parameters in a canonical order: two requests are "the same" for idempotency when
    /// these are equal (a client may send hash entries in any order).
    pub fn canonical(&self) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        pairs.sort();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_keys_are_read_encoded_or_not() {
        let p = Params::parse(
            b"line_items%5B0%5D%5Bquantity%5D=1&metadata[a]=x&metadata%5Bb%5D=y&expand[0]=pi&expand[1]=pi.latest_charge",
        )
        .unwrap();
        assert_eq!(p.get("line_items[0][quantity]"), Some("1"));
        assert_eq!(p.map("metadata").len(), 2);
        assert_eq!(p.list("expand"), vec!["pi", "pi.latest_charge"]);
    }

    #[test]
    fn empty_brackets_make_a_list_in_order() {
        let p = Params::parse(b"expand[]=a&expand[]=b").unwrap();
        assert_eq!(p.list("expand"), vec!["a", "b"]);
    }

    #[test]
    fn the_canonical_form_ignores_order() {
        let a = Params::parse(b"metadata[a]=1&metadata[b]=2").unwrap();
        let b = Params::parse(b"metadata[b]=2&metadata[a]=1").unwrap();
        assert_eq!(a.canonical(), b.canonical());
    }
}
