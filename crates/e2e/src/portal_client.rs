//! An HTTP client for the portal's pages in tests, without a browser: it
//! keeps cookies, does not follow redirects, and sends the CSRF token of
//! the last page it read with every form.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::TestApp;

/// Password every test user gets from [`TestApp::add_user`].
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// One answer of the portal.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect points, if this is one.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
    }

    /// The value of the first hidden `_csrf` field on the page.
    pub fn csrf(&self) -> Option<String> {
        attribute_after(&self.body, "name=\"_csrf\"", "value")
    }
}

/// Reads `name="..."` from the first tag that contains `marker`.
fn attribute_after(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{name}=\"");
    let value_at = tag.find(&key)? + key.len();
    let value = &tag[value_at..];
    Some(value[..value.find('"')?].to_owned())
}

/// A browser-like client without JavaScript.
pub struct PortalClient {
    base_url: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
}

impl PortalClient {
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("a client without TLS settings builds");
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    /// The CSRF token this client sends with forms.
    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }

    /// The value of a cookie the portal set.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub async fn get(&mut self, path: &str) -> Result<Page> {
        let request = self.http.get(self.url(path));
        self.send(request).await
    }

    /// Posts a URL-encoded form with the last page's `_csrf` added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let csrf = self
            .csrf
            .clone()
            .context("no page with a CSRF token was read yet")?;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let request = self.http.post(self.url(path)).form(&all);
        self.send(request).await
    }

    /// Posts a URL-encoded form exactly as given, without a CSRF token.
    pub async fn post_without_csrf(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let request = self.http.post(self.url(path)).form(fields);
        self.send(request).await
    }

    /// Posts a file as a multipart form, with the CSRF token in the query.
    pub async fn post_file(
        &mut self,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<Page> {
        let csrf = self
            .csrf
            .clone()
            .context("no page with a CSRF token was read yet")?;
        let separator = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{separator}_csrf={csrf}");
        self.post_file_without_csrf(&path, field, file_name, bytes)
            .await
    }

    /// Posts a file as a multipart form exactly as given, without a CSRF token.
    pub async fn post_file_without_csrf(
        &mut self,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<Page> {
        let url = self.url(path);
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
        let request = self.http.post(url).multipart(form);
        self.send(request).await
    }

    /// Follows a redirect answer with a GET, as a browser would.
    pub async fn follow(&mut self, page: &Page) -> Result<Page> {
        let location = page
            .location()
            .context("the answer is not a redirect")?
            .to_owned();
        self.get(&location).await
    }

    /// Logs in through the login form and returns the page its redirects end at.
    pub async fn log_in(&mut self, email: &str, password: &str) -> Result<Page> {
        self.get("/login").await?;
        let answer = self
            .post(
                "/login",
                &[("email", email), ("password", password), ("next", "")],
            )
            .await?;
        anyhow::ensure!(
            answer.status == 303 || answer.status == 302 || answer.status == 307,
            "login as {email} failed with {}: {}",
            answer.status,
            answer.body
        );
        let mut page = self.follow(&answer).await?;
        for _ in 0..5 {
            if page.location().is_none() {
                break;
            }
            page = self.follow(&page).await?;
        }
        Ok(page)
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<Page> {
        let cookie_header = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie_header.is_empty() {
            request
        } else {
            request.header(COOKIE, cookie_header)
        };
        let response = request.send().await.context("the portal did not answer")?;
        for value in response.headers().get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let Some((pair, attributes)) = text.split_once(';').or(Some((text, ""))) else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let removed = attributes.to_ascii_lowercase().contains("max-age=0");
            if removed || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let page = Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response
                .text()
                .await
                .context("reading the portal's answer")?,
        };
        if let Some(token) = page.csrf() {
            self.csrf = Some(token);
        }
        Ok(page)
    }
}

impl TestApp {
    /// Adds a portal user with [`TEST_PASSWORD`] to this app's account.
    pub async fn add_user(&self, email: &str) -> Result<pobridge_store::User> {
        add_user_to(self, self.account.id, email).await
    }

    /// A client for this app's portal, logged in as a new user `email`.
    pub async fn portal_as(&self, email: &str) -> Result<PortalClient> {
        self.add_user(email).await?;
        let mut client = PortalClient::new(&self.base_url);
        client.log_in(email, TEST_PASSWORD).await?;
        Ok(client)
    }

    /// A second account on the same install, with a logged-in client of its
    /// own: for proving that one account never sees another's records.
    pub async fn other_account(
        &self,
        slug: &str,
    ) -> Result<(pobridge_store::Account, PortalClient)> {
        let store = self.store();
        let parsed = pobridge_core::AccountSlug::parse(slug)?;
        let now = self.engine.clock.now();
        let email = format!("ops@{slug}.example");
        let account = store.create_account(&parsed, &email, now).await?;
        add_user_to(self, account.id, &email).await?;
        let mut client = PortalClient::new(&self.base_url);
        client.log_in(&email, TEST_PASSWORD).await?;
        Ok((account, client))
    }
}

async fn add_user_to(
    app: &TestApp,
    account: pobridge_core::AccountId,
    email: &str,
) -> Result<pobridge_store::User> {
    let store = app.store();
    let now = app.engine.clock.now();
    let user = store.create_user(account, email, now).await?;
    let hash = pobridge_portal::auth::hash_password(TEST_PASSWORD.to_owned())
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    store
        .set_password_hash(account, user.id, &hash, now)
        .await?;
    Ok(store.user(account, user.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_csrf_field_in_either_attribute_order() {
        let html =
            r#"<form><input type="hidden" name="_csrf" value="abc123"><input name="x"></form>"#;
        assert_eq!(
            attribute_after(html, "name=\"_csrf\"", "value").as_deref(),
            Some("abc123")
        );
        let reordered = r#"<input value="def" type="hidden" name="_csrf">"#;
        assert_eq!(
            attribute_after(reordered, "name=\"_csrf\"", "value").as_deref(),
            Some("def")
        );
        assert_eq!(
            attribute_after("<p>none</p>", "name=\"_csrf\"", "value"),
            None
        );
    }
}
