//! Headless Chromium for end-to-end tests of pages, driven over WebDriver.
//!
//! Each [`Browser`] starts its own chromedriver on a free loopback port and
//! one session with a new, empty Chromium profile, so browser tests may run
//! in parallel threads of one test binary. Dropping a `Browser`, also while a
//! test panics, kills Chromium and chromedriver and removes the profile.
//!
//! The WebDriver client is fantoccini. It maps the W3C WebDriver commands one
//! to one onto async methods on tokio, builds without a TLS stack for a
//! loopback chromedriver, and supports the workspace's Rust 1.85. thirtyfour
//! 0.38 needs Rust 1.88, and its default features include a driver manager
//! that downloads browsers, which CI here must not do.
//!
//! ```no_run
//! # async fn example(base_url: &str) -> anyhow::Result<()> {
//! use pobridge_e2e::browser::{Browser, BrowserOptions, WindowSize};
//!
//! let browser = Browser::start_with(BrowserOptions {
//!     window: WindowSize::PHONE,
//!     ..BrowserOptions::default()
//! })
//! .await?;
//! browser.goto(&format!("{base_url}/login")).await?;
//! browser.fill("email", "ops@acme.example").await?;
//! browser.click_text("Sign in").await?;
//! browser.wait_for_text("Dashboard").await?;
//! browser.screenshot("dashboard").await?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::portal_client::TEST_PASSWORD;
use crate::TestApp;

/// Environment variable naming the Chromium binary.
///
/// NOTE: `pobridge` reads every `POBRIDGE_` variable as configuration and
/// rejects unknown ones, so exporting this variable (or
/// [`CHROMEDRIVER_VARIABLE`]) in a shell that also runs `pobridge` or its
/// tests makes the binary fail with "unknown field". Either add both names to
/// the ignored variables in `crates/pobridge/src/config.rs` or drop the prefix.
pub const CHROMIUM_VARIABLE: &str = "POBRIDGE_CHROMIUM";
/// Environment variable naming the chromedriver binary.
pub const CHROMEDRIVER_VARIABLE: &str = "POBRIDGE_CHROMEDRIVER";

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Chromium flags for a headless run as root on a machine without network.
/// The background-networking, component-update and sync flags stop Chromium's
/// own connections to Google's services, which fail noisily without network.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Fixes the Accept-Language header and number formats whatever the
    // machine's locale is.
    "--lang=en-US",
];

/// Time allowed for chromedriver to report its port and respond on `/status`,
/// and then for Chromium to start a session, on a loaded 2-core machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Session timeouts in milliseconds: a page that never finishes loading or a
/// script that never returns fails the command instead of hanging the test.
const PAGE_LOAD_TIMEOUT_MS: u64 = 30_000;
const SCRIPT_TIMEOUT_MS: u64 = 10_000;
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Time allowed on drop for Chromium's processes to exit after SIGKILL.
const PROCESS_EXIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Characters of the page's text that an error message quotes.
const PAGE_TEXT_IN_ERRORS: usize = 600;
/// Slack in CSS pixels for fractional layout when comparing an element's
/// edges with the viewport's.
const LAYOUT_TOLERANCE: f64 = 0.5;

/// Size of the page's viewport in CSS pixels, and whether Chromium emulates
/// a phone there.
///
/// Chromium's `--window-size` sets the outer window. Measured with Debian's
/// headless Chromium 148, the viewport of a 1280x800 window is 1280x661, and a
/// window narrower than 500 pixels is widened to 500. So the session also sets the viewport through chromedriver's
/// `mobileEmulation` device metrics, which fixes it at exactly this size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub width: u32,
    pub height: u32,
    /// Emulates a phone: the page's `<meta name="viewport">` applies, touch
    /// events are on, and a page wider than the viewport is zoomed out to
    /// fit, as on a phone. The user agent stays Chromium's desktop one.
    pub mobile: bool,
}

impl WindowSize {
    /// A laptop screen.
    pub const DESKTOP: Self = Self {
        width: 1280,
        height: 800,
        mobile: false,
    };
    /// A phone held upright (the CSS viewport of an iPhone 12 to 14).
    pub const PHONE: Self = Self {
        width: 390,
        height: 844,
        mobile: true,
    };
}

/// Settings of [`Browser::start_with`].
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Viewport size, [`WindowSize::DESKTOP`] by default.
    pub window: WindowSize,
    /// How long [`Browser::wait_for`] and [`Browser::wait_for_text`] poll
    /// before they fail, 10 seconds by default.
    pub wait_timeout: Duration,
    /// Folder name under `target/portal-screenshots`. By default it is the
    /// name of the current thread, which libtest sets to the test's name, so
    /// set it when the browser starts on another thread (a spawned task).
    /// That name includes the test's module, so `browser_smoke::saves`
    /// saves under `browser_smoke__saves`.
    pub test_name: Option<String>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            window: WindowSize::DESKTOP,
            wait_timeout: Duration::from_secs(10),
            test_name: None,
        }
    }
}

/// A headless Chromium session with its own chromedriver and profile.
pub struct Browser {
    client: Client,
    window: WindowSize,
    wait_timeout: Duration,
    screenshots: ScreenshotFolder,
    /// Kills Chromium and chromedriver and removes the profile on drop.
    driver: Chromedriver,
}

impl Browser {
    /// Starts chromedriver and a Chromium session at the desktop window size.
    pub async fn start() -> Result<Self> {
        Self::start_with(BrowserOptions::default()).await
    }

    /// Starts chromedriver and a Chromium session with these options.
    pub async fn start_with(options: BrowserOptions) -> Result<Self> {
        let chromium = find_binary(CHROMIUM_VARIABLE, DEFAULT_CHROMIUM)?;
        let chromedriver = find_binary(CHROMEDRIVER_VARIABLE, DEFAULT_CHROMEDRIVER)?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;

        let driver = Chromedriver::start(&chromedriver, deadline).await?;
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(session_capabilities(
            &chromium,
            &driver.profile,
            options.window,
        ));
        let driver_url = driver.url();
        let client = tokio::time::timeout_at(deadline.into(), builder.connect(&driver_url))
            .await
            .map_err(|_| {
                driver.failure(&format!(
                    "Chromium ({}) did not start a session within {STARTUP_TIMEOUT:?}",
                    chromium.display()
                ))
            })?
            .map_err(|error| {
                driver.failure(&format!(
                    "Chromium ({}) failed to start a session: {error}",
                    chromium.display()
                ))
            })?;

        Ok(Self {
            client,
            window: options.window,
            wait_timeout: options.wait_timeout,
            screenshots: ScreenshotFolder::for_test(options.test_name.as_deref()),
            driver,
        })
    }

    /// Returns the WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Returns the window size the session started with.
    pub fn window(&self) -> WindowSize {
        self.window
    }

    /// Loads `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("loading {url}"))
    }

    /// Returns the URL of the current page.
    pub async fn current_url(&self) -> Result<String> {
        let url = self
            .client
            .current_url()
            .await
            .context("reading the current URL")?;
        Ok(url.to_string())
    }

    /// Types `value` into the first displayed form field named `name`
    /// (an `<input>` or `<textarea>`), replacing what it contained.
    pub async fn fill(&self, name: &str, value: &str) -> Result<()> {
        let selector = format!("[name={}]", css_string(name));
        let field = self
            .require_displayed(&selector, &format!("form field named {name:?}"))
            .await?;
        if field.tag_name().await?.eq_ignore_ascii_case("select") {
            bail!("form field {name:?} is a <select>: use Browser::select to pick an option");
        }
        field.clear().await?;
        field
            .send_keys(value)
            .await
            .with_context(|| format!("typing into form field {name:?}"))
    }

    /// Picks the option of the `<select>` named `name` whose visible text or
    /// `value` attribute equals `option`.
    pub async fn select(&self, name: &str, option: &str) -> Result<()> {
        let selector = format!("select[name={}]", css_string(name));
        let select = self
            .require_displayed(&selector, &format!("<select> named {name:?}"))
            .await?;
        let mut offered = Vec::new();
        for candidate in select.find_all(Locator::Css("option")).await? {
            let text = candidate.text().await?;
            let value = candidate.prop("value").await?.unwrap_or_default();
            if text.trim() == option || value == option {
                return candidate
                    .click()
                    .await
                    .with_context(|| format!("choosing {option:?} in <select> {name:?}"));
            }
            offered.push(format!("{:?} (value {value:?})", text.trim()));
        }
        bail!(
            "no option {option:?} in <select> named {name:?}; its options are: {}",
            offered.join(", ")
        )
    }

    /// Ticks or clears the first displayed checkbox named `name`.
    pub async fn set_checkbox(&self, name: &str, checked: bool) -> Result<()> {
        let selector = format!("input[type=checkbox][name={}]", css_string(name));
        let checkbox = self
            .require_displayed(&selector, &format!("checkbox named {name:?}"))
            .await?;
        if checkbox.is_selected().await? != checked {
            checkbox
                .click()
                .await
                .with_context(|| format!("clicking checkbox {name:?}"))?;
        }
        Ok(())
    }

    /// Clicks the first displayed button or link whose text, with
    /// whitespace collapsed, equals `text`. Buttons are `<button>`,
    /// `<input type=submit|button|reset>` (by their `value`), `<summary>` and
    /// elements with `role=button` or `role=link`.
    pub async fn click_text(&self, text: &str) -> Result<()> {
        let literal = xpath_string(text);
        let xpath = format!(
            "//*[self::a or self::button or self::summary or @role='button' or @role='link']\
             [normalize-space(.)={literal}] \
             | //input[@type='submit' or @type='button' or @type='reset']\
             [normalize-space(@value)={literal}]"
        );
        match self.first_displayed(Locator::XPath(&xpath)).await? {
            Some(element) => element
                .click()
                .await
                .with_context(|| format!("clicking {text:?}")),
            None => {
                let offered = self.clickable_texts().await.unwrap_or_default();
                Err(anyhow!(
                    "no displayed button or link reads {text:?} {}; those displayed read: {}",
                    self.page_context().await,
                    offered.join(", ")
                ))
            }
        }
    }

    /// Clicks the first displayed element that matches the CSS `selector`.
    pub async fn click_css(&self, selector: &str) -> Result<()> {
        let element = self
            .require_displayed(selector, &format!("element matching `{selector}`"))
            .await?;
        element
            .click()
            .await
            .with_context(|| format!("clicking `{selector}`"))
    }

    /// Returns the rendered text of the first displayed element that matches
    /// the CSS `selector`.
    pub async fn text(&self, selector: &str) -> Result<String> {
        let element = self
            .require_displayed(selector, &format!("element matching `{selector}`"))
            .await?;
        element
            .text()
            .await
            .with_context(|| format!("reading the text of `{selector}`"))
    }

    /// Returns the rendered text of the whole page (`document.body.innerText`).
    pub async fn page_text(&self) -> Result<String> {
        let text = self
            .eval("document.body ? document.body.innerText : ''")
            .await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until an element matching the CSS `selector` is displayed.
    pub async fn wait_for(&self, selector: &str) -> Result<()> {
        let awaited = format!("an element matching `{selector}`");
        self.wait_until(&awaited, || async {
            Ok(self
                .first_displayed(Locator::Css(selector))
                .await?
                .is_some())
        })
        .await
    }

    /// Waits until the page's rendered text contains `text`.
    pub async fn wait_for_text(&self, text: &str) -> Result<()> {
        let awaited = format!("the text {text:?}");
        self.wait_until(&awaited, || async {
            Ok(self.page_text().await?.contains(text))
        })
        .await
    }

    /// Returns the cookie named `name` that the browser would send to the
    /// current page, or `None` when there is none.
    pub async fn cookie(&self, name: &str) -> Result<Option<BrowserCookie>> {
        let cookies = self
            .client
            .get_all_cookies()
            .await
            .context("reading cookies")?;
        Ok(cookies
            .iter()
            .find(|cookie| cookie.name() == name)
            .map(|cookie| BrowserCookie {
                name: cookie.name().to_owned(),
                value: cookie.value().to_owned(),
                path: cookie.path().map(str::to_owned),
                domain: cookie.domain().map(str::to_owned),
                secure: cookie.secure().unwrap_or(false),
                http_only: cookie.http_only().unwrap_or(false),
                same_site: cookie.same_site().map(|same_site| same_site.to_string()),
            }))
    }

    /// Evaluates the JavaScript `expression` in the page and returns its
    /// value as JSON; DOM elements come back as WebDriver element references.
    pub async fn eval(&self, expression: &str) -> Result<Value> {
        self.client
            .execute(&format!("return ({expression});"), Vec::new())
            .await
            .with_context(|| format!("evaluating `{expression}`"))
    }

    /// Returns the bounding box of the first element matching the CSS
    /// `selector`, with the size of the viewport it is drawn in.
    pub async fn bounding_box(&self, selector: &str) -> Result<ElementBox> {
        const SCRIPT: &str = "
            const element = document.querySelector(arguments[0]);
            if (!element) { return null; }
            const rect = element.getBoundingClientRect();
            const root = document.documentElement;
            return { left: rect.left, top: rect.top, width: rect.width, height: rect.height,
                     viewport_width: root.clientWidth, viewport_height: root.clientHeight };";
        let value = self
            .client
            .execute(SCRIPT, vec![json!(selector)])
            .await
            .with_context(|| format!("measuring `{selector}`"))?;
        if value.is_null() {
            bail!(
                "no element matches `{selector}` {}",
                self.page_context().await
            );
        }
        serde_json::from_value(value).context("reading the bounding box the script returned")
    }

    /// Saves a PNG of the viewport as
    /// `target/portal-screenshots/<test name>/<NN>-<name>.png`, numbering
    /// the screenshots of one test from 01 on, and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = self.screenshots.next_path(name)?;
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Ends the session, which makes chromedriver quit Chromium, then stops
    /// chromedriver and removes the profile. Dropping the browser does the
    /// same without asking Chromium to quit and without reporting errors.
    pub async fn close(self) -> Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("ending the WebDriver session")
    }

    /// Polls `check` every 50 ms until it returns true, and fails with a
    /// [`WaitTimeout`] after the browser's wait timeout. A failed check
    /// counts as not yet, because elements go stale while a page changes.
    async fn wait_until<F, Fut>(&self, awaited: &str, mut check: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let started = Instant::now();
        let check_error = loop {
            let error = match check().await {
                Ok(true) => return Ok(()),
                Ok(false) => None,
                Err(error) => Some(format!("{error:#}")),
            };
            if started.elapsed() >= self.wait_timeout {
                break error;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        };

        let url = self
            .current_url()
            .await
            .unwrap_or_else(|error| format!("(unknown URL: {error})"));
        let page_text = self
            .page_text()
            .await
            .map(|text| excerpt(&text))
            .unwrap_or_else(|error| format!("(page text unreadable: {error})"));
        let screenshot = self.screenshot("wait-timed-out").await.ok();
        Err(WaitTimeout {
            awaited: awaited.to_owned(),
            waited: self.wait_timeout,
            url,
            page_text,
            screenshot,
            check_error,
        }
        .into())
    }

    async fn first_displayed(&self, locator: Locator<'_>) -> Result<Option<Element>> {
        for element in self.client.find_all(locator).await? {
            if element.is_displayed().await? {
                return Ok(Some(element));
            }
        }
        Ok(None)
    }

    async fn require_displayed(&self, selector: &str, description: &str) -> Result<Element> {
        match self.first_displayed(Locator::Css(selector)).await? {
            Some(element) => Ok(element),
            None => Err(anyhow!(
                "no displayed {description} {}",
                self.page_context().await
            )),
        }
    }

    /// Describes where the browser is, for error messages: the URL and the
    /// start of the page's text.
    async fn page_context(&self) -> String {
        let url = self.current_url().await.unwrap_or_default();
        let text = self.page_text().await.unwrap_or_default();
        format!("on {url}, whose text reads: {:?}", excerpt(&text))
    }

    async fn clickable_texts(&self) -> Result<Vec<String>> {
        const SCRIPT: &str = "
            return Array.from(document.querySelectorAll(
                'a, button, summary, [role=button], [role=link], \
                 input[type=submit], input[type=button], input[type=reset]'))
              .filter(element => element.getClientRects().length > 0)
              .map(element => (element.tagName === 'INPUT' ? element.value : element.innerText)
                .replace(/\\s+/g, ' ').trim());";
        let value = self.client.execute(SCRIPT, Vec::new()).await?;
        let texts: Vec<String> = serde_json::from_value(value)?;
        Ok(texts.iter().map(|text| format!("{text:?}")).collect())
    }
}

impl fmt::Debug for Browser {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Browser")
            .field("window", &self.window)
            .field("chromedriver", &self.driver.url())
            .field("profile", &self.driver.profile)
            .finish_non_exhaustive()
    }
}

/// A cookie as the browser stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    /// `Strict`, `Lax` or `None`, when the server set the attribute.
    pub same_site: Option<String>,
}

/// An element's bounding box and its viewport, in CSS pixels. The viewport
/// is the root element's client area, which excludes scrollbars.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ElementBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub viewport_width: f64,
    pub viewport_height: f64,
}

impl ElementBox {
    /// Returns whether the whole box lies inside the viewport as it is
    /// scrolled now.
    pub fn inside_viewport(&self) -> bool {
        self.fits_viewport_width()
            && self.top >= -LAYOUT_TOLERANCE
            && self.top + self.height <= self.viewport_height + LAYOUT_TOLERANCE
    }

    /// Returns whether the box lies between the viewport's left and right
    /// edges, so that it needs no sideways scrolling, as a phone layout must.
    pub fn fits_viewport_width(&self) -> bool {
        self.left >= -LAYOUT_TOLERANCE
            && self.left + self.width <= self.viewport_width + LAYOUT_TOLERANCE
    }
}

/// The error of a wait that timed out: what was awaited, and where the
/// browser was. Reach it with `error.downcast_ref::<WaitTimeout>()`.
#[derive(Debug, Clone)]
pub struct WaitTimeout {
    /// What was awaited, such as ``an element matching `#result` ``.
    pub awaited: String,
    pub waited: Duration,
    /// URL of the page when the wait gave up.
    pub url: String,
    /// The start of the page's rendered text, whitespace collapsed.
    pub page_text: String,
    /// Screenshot taken when the wait gave up, unless taking it failed.
    pub screenshot: Option<PathBuf>,
    /// Error of the last check, when it failed rather than found nothing,
    /// such as a lost WebDriver session.
    pub check_error: Option<String>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "timed out after {:?} waiting for {} on {}; the page's text reads: {:?}",
            self.waited, self.awaited, self.url, self.page_text
        )?;
        if let Some(error) = &self.check_error {
            write!(formatter, "; the last check failed: {error}")?;
        }
        if let Some(path) = &self.screenshot {
            write!(formatter, "; screenshot: {}", path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitTimeout {}

/// A chromedriver child process on a loopback port, with the temporary
/// folder of its logs and of the Chromium profile. On drop it kills every
/// process that uses the profile, then chromedriver, then removes the folder.
struct Chromedriver {
    child: Child,
    port: u16,
    /// chromedriver's log, with Chromium's own output (`--enable-chrome-logs`).
    log: PathBuf,
    /// chromedriver's standard error, where it reports failures to start.
    stderr: PathBuf,
    /// Chromium's `--user-data-dir`, which no other process on the machine
    /// names, so it identifies this browser's processes.
    profile: PathBuf,
    // Declared last so that it is removed after the drop code has run.
    _directory: tempfile::TempDir,
}

impl Chromedriver {
    /// Starts chromedriver on a port it picks itself (`--port=0`), so
    /// parallel tests never race for a port, and waits until `/status`
    /// reports it ready.
    async fn start(binary: &Path, deadline: Instant) -> Result<Self> {
        let directory = tempfile::Builder::new()
            .prefix("pobridge-browser-")
            .tempdir()
            .context("creating a temporary folder for the browser profile")?;
        let log = directory.path().join("chromedriver.log");
        let stderr = directory.path().join("chromedriver-stderr.log");
        let stderr_file =
            std::fs::File::create(&stderr).context("creating chromedriver's stderr file")?;
        // Chromium keeps its singleton socket in TMPDIR and leaves it behind
        // when it is killed, so its TMPDIR is inside the folder removed on drop.
        let chromium_tmp = directory.path().join("tmp");
        std::fs::create_dir(&chromium_tmp).context("creating Chromium's TMPDIR")?;
        let mut child = Command::new(binary)
            .env("TMPDIR", &chromium_tmp)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .arg("--enable-chrome-logs")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr_file)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let port = read_reported_port(&mut child);
        let mut driver = Self {
            child,
            port: 0,
            log,
            stderr,
            profile: directory.path().join("profile"),
            _directory: directory,
        };

        driver.port = match tokio::time::timeout_at(deadline.into(), port).await {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => {
                return Err(driver.failure("chromedriver exited before it reported its port"))
            }
            Err(_) => {
                return Err(driver.failure(&format!(
                    "chromedriver did not report its port within {STARTUP_TIMEOUT:?}"
                )))
            }
        };
        driver.wait_until_ready(deadline).await?;
        Ok(driver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_until_ready(&self, deadline: Instant) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let status_url = format!("{}/status", self.url());
        let mut last = String::from("no response");
        while Instant::now() < deadline {
            match http.get(&status_url).send().await {
                Ok(response) => {
                    let body: Value = response.json().await.unwrap_or_default();
                    if body["value"]["ready"] == Value::Bool(true) {
                        return Ok(());
                    }
                    last = body.to_string();
                }
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Err(self.failure(&format!(
            "chromedriver at {status_url} was not ready within {STARTUP_TIMEOUT:?}; last response: {last}"
        )))
    }

    /// Builds a startup error that ends with the last lines of chromedriver's
    /// standard error and log, which go away with the temporary folder.
    fn failure(&self, message: &str) -> anyhow::Error {
        let mut text = message.to_owned();
        for (title, path, count) in [("stderr", &self.stderr, 10), ("log", &self.log, 30)] {
            let lines = last_lines(path, count);
            if !lines.is_empty() {
                text.push_str(&format!("\nchromedriver's {title}:\n{lines}"));
            }
        }
        anyhow!(text)
    }

    /// Kills every running process whose command line names this profile,
    /// until none is left or [`PROCESS_EXIT_TIMEOUT`] has passed. chromedriver
    /// does not stop Chromium when it is killed itself, and Chromium's helper
    /// processes write to the profile for a moment after the browser process
    /// dies, so the folder can be removed only once they have all exited.
    fn kill_chromium(&self) {
        let argument = format!("--user-data-dir={}", self.profile.display());
        let deadline = Instant::now() + PROCESS_EXIT_TIMEOUT;
        loop {
            let running = processes_with_argument(&argument);
            if running.is_empty() || Instant::now() >= deadline {
                return;
            }
            for pid in running {
                // An error means the process has exited meanwhile.
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            // Drop cannot await, and this waits for a few milliseconds.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // NOTE: nothing runs when the test process itself is killed with
        // SIGKILL, so Chromium, chromedriver and the folder are then left
        // behind. Ctrl-C does reach them, because they stay in the test's
        // process group.
        self.kill_chromium();
        // Errors mean that chromedriver has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads chromedriver's stdout on a thread until it prints
/// "ChromeDriver was started successfully on port N.", then keeps draining
/// it so chromedriver never blocks on a full pipe.
fn read_reported_port(child: &mut Child) -> tokio::sync::oneshot::Receiver<u16> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let Some(stdout) = child.stdout.take() else {
        // Dropping the sender makes the receiver report that no port came.
        return receiver;
    };
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = reported_port(&line) {
                if let Some(sender) = sender.take() {
                    let _ = sender.send(port);
                }
            }
        }
    });
    receiver
}

fn reported_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started successfully on port ")?;
    rest.trim_end().trim_end_matches('.').parse().ok()
}

fn last_lines(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Returns the running processes that have `argument` among their
/// command-line arguments, read from `/proc`. Zombies, which have exited but
/// are not yet reaped, do not count.
fn processes_with_argument(argument: &str) -> Vec<rustix::process::Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| has_argument(pid, argument) && !has_exited(pid))
        .filter_map(rustix::process::Pid::from_raw)
        .collect()
}

fn has_argument(pid: i32, argument: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| contains_argument(&cmdline, argument))
        .unwrap_or(false)
}

/// Returns whether `cmdline`, as read from `/proc/<pid>/cmdline`, contains
/// `argument` followed by a separator or the end. Chromium's helper processes
/// rewrite their command line into one string of space-separated arguments,
/// so both NUL and space count as separators.
fn contains_argument(cmdline: &[u8], argument: &str) -> bool {
    let argument = argument.as_bytes();
    let mut cmdline = cmdline.to_vec();
    cmdline.push(0);
    cmdline
        .windows(argument.len() + 1)
        .any(|window| window.starts_with(argument) && matches!(window[argument.len()], 0 | b' '))
}

/// Returns whether `pid` is gone or a zombie, from its state in
/// `/proc/<pid>/stat`.
fn has_exited(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // The command name in parentheses may contain spaces, so the state is
    // read after the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, fields)| fields.split_whitespace().next());
    matches!(state, Some("Z" | "X") | None)
}

fn find_binary(variable: &str, default: &str) -> Result<PathBuf> {
    let path = std::env::var_os(variable)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    if path.is_file() {
        return Ok(path);
    }
    bail!(
        "{} not found: browser tests need Debian's chromium and chromium-driver packages \
         (`apt-get install chromium chromium-driver`, as .ci/run does), or {variable} \
         set to the binary",
        path.display()
    )
}

fn session_capabilities(chromium: &Path, profile: &Path, window: WindowSize) -> Capabilities {
    let mut arguments: Vec<String> = CHROMIUM_FLAGS.iter().map(|flag| flag.to_string()).collect();
    arguments.push(format!("--user-data-dir={}", profile.display()));
    arguments.push(format!("--window-size={},{}", window.width, window.height));
    let device_metrics = json!({
        "width": window.width,
        "height": window.height,
        "pixelRatio": 1.0,
        "mobile": window.mobile,
        "touch": window.mobile,
    });
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": arguments,
            "mobileEmulation": { "deviceMetrics": device_metrics },
        },
        "timeouts": { "pageLoad": PAGE_LOAD_TIMEOUT_MS, "script": SCRIPT_TIMEOUT_MS, "implicit": 0 },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// Where one test's screenshots go, numbered in the order they are taken.
struct ScreenshotFolder {
    folder: PathBuf,
}

/// The number of screenshots taken so far in each folder by this process,
/// shared by every browser of a test.
static SCREENSHOT_COUNTS: LazyLock<Mutex<HashMap<PathBuf, u32>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

impl ScreenshotFolder {
    fn for_test(test_name: Option<&str>) -> Self {
        let thread = std::thread::current();
        let name = test_name.or(thread.name()).unwrap_or("unnamed-test");
        Self {
            folder: target_dir()
                .join("portal-screenshots")
                .join(file_name_part(name)),
        }
    }

    /// Returns the path of the next screenshot. The first one of a test in
    /// this process empties the folder, so no screenshot of an earlier run
    /// is mistaken for one of this run.
    fn next_path(&self, name: &str) -> Result<PathBuf> {
        let number = {
            let mut counts = SCREENSHOT_COUNTS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = counts.entry(self.folder.clone()).or_insert(0);
            if *count == 0 && self.folder.exists() {
                std::fs::remove_dir_all(&self.folder)
                    .with_context(|| format!("emptying {}", self.folder.display()))?;
            }
            *count += 1;
            *count
        };
        std::fs::create_dir_all(&self.folder)
            .with_context(|| format!("creating {}", self.folder.display()))?;
        Ok(self
            .folder
            .join(format!("{number:02}-{}.png", file_name_part(name))))
    }
}

/// Returns the build's target folder: `CARGO_TARGET_DIR` when set (a
/// relative one taken from the workspace root), else `target` in the
/// workspace root.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    match std::env::var_os("CARGO_TARGET_DIR").filter(|value| !value.is_empty()) {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Replaces what does not belong in a portable file name, such as the `::`
/// of a test path, with `_`.
fn file_name_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Quotes `value` as a CSS string for an attribute selector.
fn css_string(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\a ");
    format!("\"{escaped}\"")
}

/// Quotes `value` as an XPath 1.0 string literal, which has no escapes: a
/// value with both kinds of quote is joined with `concat()`.
fn xpath_string(value: &str) -> String {
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    if !value.contains('"') {
        return format!("\"{value}\"");
    }
    let parts: Vec<String> = value.split('\'').map(|part| format!("'{part}'")).collect();
    format!("concat({})", parts.join(", \"'\", "))
}

/// Collapses whitespace and cuts `text` to what an error message quotes.
fn excerpt(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= PAGE_TEXT_IN_ERRORS {
        return collapsed;
    }
    let cut: String = collapsed.chars().take(PAGE_TEXT_IN_ERRORS).collect();
    format!("{cut}…")
}

/// Fails the test when the page in `browser` scrolls sideways, as a page
/// wider than a phone's window does.
pub async fn assert_no_sideways_scroll(browser: &Browser, page: &str) {
    let overflows = browser
        .eval("document.documentElement.scrollWidth > document.documentElement.clientWidth")
        .await
        .expect("the page runs a script");
    assert_eq!(overflows, Value::Bool(false), "{page} scrolls sideways");
}

/// Starts a browser with a `window`-sized viewport, failing the test when
/// chromedriver or Chromium does not start.
pub async fn start_browser(window: WindowSize) -> Browser {
    let options = BrowserOptions {
        window,
        ..BrowserOptions::default()
    };
    Browser::start_with(options)
        .await
        .expect("chromedriver and Chromium start")
}

/// Logs `email` in to `app` with the test password through the login page,
/// then waits for `next`'s page to show `ready_text`.
pub async fn log_in_as(
    browser: &Browser,
    app: &TestApp,
    email: &str,
    next: &str,
    ready_text: &str,
) {
    let url = format!("{}/login?next={next}", app.base_url);
    browser.goto(&url).await.unwrap();
    browser.fill("email", email).await.unwrap();
    browser.fill("password", TEST_PASSWORD).await.unwrap();
    browser.click_text("Log in").await.unwrap();
    browser.wait_for_text(ready_text).await.unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_port_is_read_from_the_startup_line() {
        assert_eq!(
            reported_port("ChromeDriver was started successfully on port 45213."),
            Some(45213)
        );
        assert_eq!(reported_port("Only local connections are allowed."), None);
    }

    #[test]
    fn missing_binary_error_says_what_to_install() {
        let error = find_binary("POBRIDGE_E2E_UNSET_VARIABLE", "/nonexistent/chromium")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/nonexistent/chromium not found"),
            "{error}"
        );
        assert!(
            error.contains("apt-get install chromium chromium-driver"),
            "{error}"
        );
        assert!(error.contains("POBRIDGE_E2E_UNSET_VARIABLE"), "{error}");
    }

    #[test]
    fn contains_argument_reads_both_command_line_forms() {
        let argument = "--user-data-dir=/tmp/pobridge-browser-x/profile";
        let argv = b"/usr/lib/chromium/chromium\0--user-data-dir=/tmp/pobridge-browser-x/profile\0";
        let title = b"/usr/lib/chromium/chromium --type=renderer \
            --user-data-dir=/tmp/pobridge-browser-x/profile --lang=en-US\0";
        let unterminated = b"chromium --user-data-dir=/tmp/pobridge-browser-x/profile";
        let longer = b"chromium --user-data-dir=/tmp/pobridge-browser-x/profile2\0";
        assert!(contains_argument(argv, argument));
        assert!(contains_argument(title, argument));
        assert!(contains_argument(unterminated, argument));
        assert!(!contains_argument(longer, argument));
        assert!(!contains_argument(b"", argument));
    }

    #[test]
    fn xpath_string_quotes_every_kind_of_value() {
        assert_eq!(xpath_string("Save"), "'Save'");
        assert_eq!(xpath_string("Don't save"), "\"Don't save\"");
        assert_eq!(
            xpath_string("say \"don't\""),
            "concat('say \"don', \"'\", 't\"')"
        );
    }

    #[test]
    fn css_string_escapes_quotes_and_backslashes() {
        assert_eq!(css_string("company"), "\"company\"");
        assert_eq!(css_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn file_name_part_replaces_path_separators() {
        assert_eq!(file_name_part("portal::login_works"), "portal__login_works");
        assert_eq!(file_name_part("saved settings"), "saved_settings");
    }

    #[test]
    fn excerpt_collapses_whitespace_and_cuts_long_text() {
        assert_eq!(excerpt("  Supplier\n\n settings "), "Supplier settings");
        let long = "word ".repeat(500);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().count(), PAGE_TEXT_IN_ERRORS + 1);
    }

    #[test]
    fn element_box_checks_each_viewport_edge() {
        let inside = ElementBox {
            left: 0.0,
            top: 10.0,
            width: 390.0,
            height: 100.0,
            viewport_width: 390.0,
            viewport_height: 844.0,
        };
        assert!(inside.inside_viewport());
        let too_wide = ElementBox {
            width: 600.0,
            ..inside
        };
        assert!(!too_wide.fits_viewport_width());
        let below = ElementBox {
            top: 800.0,
            ..inside
        };
        assert!(below.fits_viewport_width());
        assert!(!below.inside_viewport());
    }
}
