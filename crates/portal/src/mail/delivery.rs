//! Sending the outbox over SMTP with lettre's async transport.
//!
//! Each round takes the messages due now, sends them one by one, and marks
//! each sent or failed. A failed message stays in the outbox and is tried
//! again after 1, 5 and 30 minutes, then every hour, without limit, so a
//! long SMTP outage delays mail but loses none.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pobridge_engine::Engine;
use pobridge_store::{Mail, StoreResult};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

/// How often the loop looks for due messages.
pub const POLL_INTERVAL: StdDuration = StdDuration::from_secs(10);

/// Messages sent per round at most; the rest wait for the next round.
const BATCH: i64 = 50;

/// How long one SMTP command may take before the attempt fails.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// The security of the connection to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption, for a relay on the same host or network.
    None,
}

impl SmtpTls {
    /// Returns the usual port of this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// The SMTP server and the login that mail is sent with.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// Login name; no authentication when `None`.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The From address, such as `pobridge <pobridge@example.com>`.
    pub from: String,
    pub tls: SmtpTls,
}

/// The counts of one round of [`deliver_due`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
}

/// Returns how long to wait before the next attempt of a message that has
/// failed `attempts` times, this failure included.
pub fn retry_delay(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        3 => Duration::minutes(30),
        _ => Duration::hours(1),
    }
}

/// Sends due mail every [`POLL_INTERVAL`] until `shutdown` turns true.
/// Without SMTP settings it logs where the mail waits and returns.
pub async fn run_delivery(
    engine: Engine,
    smtp: Option<SmtpSettings>,
    shutdown: watch::Receiver<bool>,
) {
    run_delivery_every(engine, smtp, shutdown, POLL_INTERVAL).await;
}

/// [`run_delivery`] with another interval between rounds.
pub async fn run_delivery_every(
    engine: Engine,
    smtp: Option<SmtpSettings>,
    mut shutdown: watch::Receiver<bool>,
    interval: StdDuration,
) {
    let Some(smtp) = smtp else {
        tracing::info!(
            "no SMTP server is configured; mail stays in the outbox, read it with `pobridge mail list`"
        );
        return;
    };
    let mailer = match Mailer::new(&smtp) {
        Ok(mailer) => mailer,
        Err(error) => {
            tracing::error!(error = %error, host = %smtp.host, "the SMTP settings are invalid; no mail is sent");
            return;
        }
    };
    tracing::info!(host = %smtp.host, port = smtp.port, "mail delivery started");

    loop {
        if let Err(error) = mailer.deliver_due(&engine).await {
            tracing::error!(error = %error, "reading the mail outbox failed");
        }
        let stop = tokio::select! {
            () = tokio::time::sleep(interval) => false,
            // A dropped sender also ends the loop, because no shutdown can come.
            changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
        };
        if stop {
            tracing::info!("mail delivery stopped");
            return;
        }
    }
}

/// Checks that mail can be sent with `smtp` without connecting: the From
/// address must parse and TLS must accept the host name. `serve` calls it
/// before it starts.
pub fn check_smtp(smtp: &SmtpSettings) -> anyhow::Result<()> {
    Mailer::new(smtp).map(drop)
}

/// Sends the messages due now once, for a caller that drives rounds itself.
pub async fn deliver_due(engine: &Engine, smtp: &SmtpSettings) -> anyhow::Result<Delivered> {
    let mailer = Mailer::new(smtp)?;
    Ok(mailer.deliver_due(engine).await?)
}

struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    fn new(smtp: &SmtpSettings) -> anyhow::Result<Self> {
        let from: Mailbox = smtp.from.parse().map_err(|error| {
            anyhow::anyhow!(
                "smtp.from {:?} is not an address ({error}): set an address such as \
                 \"pobridge <pobridge@example.com>\"",
                smtp.from
            )
        })?;
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(TlsParameters::new(smtp.host.clone())?),
            SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(smtp.host.clone())?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(username) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    async fn deliver_due(&self, engine: &Engine) -> StoreResult<Delivered> {
        let due = engine.store.due_mail(engine.clock.now(), BATCH).await?;
        let mut delivered = Delivered::default();
        for mail in due {
            match self.send(&mail).await {
                Ok(()) => {
                    engine
                        .store
                        .mark_mail_sent(mail.id, engine.clock.now())
                        .await?;
                    tracing::info!(mail.id = %mail.id, kind = %mail.kind, "mail sent");
                    delivered.sent += 1;
                }
                Err(error) => {
                    let attempts = mail.attempts + 1;
                    let retry_at = engine.clock.now() + retry_delay(attempts);
                    tracing::warn!(mail.id = %mail.id, attempts, %retry_at, error = %error, "sending mail failed; it stays in the outbox");
                    engine
                        .store
                        .mark_mail_failed(mail.id, &error, retry_at)
                        .await?;
                    delivered.failed += 1;
                }
            }
        }
        Ok(delivered)
    }

    /// Sends one message, or returns why it was not sent.
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        let to: Mailbox = mail.recipient.parse().map_err(|error| {
            format!("recipient {:?} is not an address: {error}", mail.recipient)
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|error| format!("building the message failed: {error}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| format!("SMTP delivery failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_hourly() {
        let delays: Vec<i64> = (1..=6).map(|n| retry_delay(n).num_minutes()).collect();

        assert_eq!(delays, [1, 5, 30, 60, 60, 60]);
    }

    #[test]
    fn invalid_from_address_is_reported() {
        let settings = SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: 25,
            username: None,
            password: None,
            from: "not an address".to_owned(),
            tls: SmtpTls::None,
        };

        let error = Mailer::new(&settings).err().expect("rejected").to_string();

        assert!(error.contains("smtp.from"), "{error}");
    }
}
