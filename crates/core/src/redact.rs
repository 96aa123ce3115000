//! Keeping passwords out of messages that repeat a URL someone typed.

/// The text shown in place of a password.
const HIDDEN: &str = "****";

/// Returns `text` with the password of its user information, the part
/// between `:` and `@` before the host, shown as `****`.
///
/// It works on the text rather than on a parsed URL, because the messages
/// that need it are mainly about text that does not parse: a URL with a
/// space, an unknown scheme or none, such as `bob:pw@host/db`. Text without `@`
/// before its path comes back unchanged.
pub fn hide_url_password(text: &str) -> String {
    let authority_start = text.find("://").map_or(0, |at| at + 3);
    let authority_end = text[authority_start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |at| authority_start + at);
    let authority = &text[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return text.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return text.to_owned();
    };
    let password_start = authority_start + colon + 1;
    let password_end = authority_start + at;
    format!(
        "{}{HIDDEN}{}",
        &text[..password_start],
        &text[password_end..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_hidden_in_every_form() {
        let cases = [
            (
                "postgres://bob:hunter2pw@127.0.0.1:5498/db",
                "postgres://bob:****@127.0.0.1:5498/db",
            ),
            ("mysql://bob:hunter2pw@x/db", "mysql://bob:****@x/db"),
            (
                "https://u:hunter2pw@ex ample.com",
                "https://u:****@ex ample.com",
            ),
            ("http://u:hunter2pw@[::1", "http://u:****@[::1"),
            ("u:hunter2pw@pob.example.com", "u:****@pob.example.com"),
            ("ftp://u:p@ss@x/y?z", "ftp://u:****@x/y?z"),
        ];
        for (text, shown) in cases {
            assert_eq!(hide_url_password(text), shown, "{text}");
        }
    }

    #[test]
    fn text_without_password_is_unchanged() {
        for text in [
            "sqlite://pobridge.db",
            "postgres://bob@127.0.0.1/db",
            "https://coupa.example/cxml?user=a:b@c",
            "https://coupa.example/a:b@c",
            "not a url",
            "",
        ] {
            assert_eq!(hide_url_password(text), text);
        }
    }
}
