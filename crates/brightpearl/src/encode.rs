//! Percent-encoding of URL parts. Query values are encoded strictly (space
//! as `%20`, `+` as `%2B`) because Brightpearl reads a bare `+` as a space,
//! which breaks e-mail addresses and UTC offsets.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes one query value or path segment.
pub(crate) fn component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Builds `name=value&...` with every name and value encoded.
pub(crate) fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", component(name), component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_space_are_encoded() {
        assert_eq!(component("a+b@example.com"), "a%2Bb%40example.com");
        assert_eq!(component("Test Product"), "Test%20Product");
        assert_eq!(component("#0001"), "%230001");
        assert_eq!(
            component("2024-05-01T00:00:00+00:00/"),
            "2024-05-01T00%3A00%3A00%2B00%3A00%2F"
        );
    }

    #[test]
    fn query_joins_encoded_pairs() {
        assert_eq!(
            query([("primaryEmail", "ap+x@b.example"), ("pageSize", "500")]),
            "primaryEmail=ap%2Bx%40b.example&pageSize=500"
        );
    }
}
