//! The order endpoint's logic: read, authenticate, store, queue, respond.
//!
//! The response never waits on Brightpearl: the document and its parsed
//! revision are committed in one transaction together with the sync job, and
//! only then is 200 returned. A failure of our own gets a 500 so that
//! Coupa retries.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountSlug, DocumentId, PoNumber};
use pobridge_cxml::{Body, Envelope, OrderKind, OrderRequest, ReadError};
use pobridge_store::{
    Account, Buyer, BuyerMode, DocumentOutcome, NewAttachment, NewDocument, NewRevision, OrderJson,
    OrderType, PoStatus, RecordedDocument, RevisionStatus, StoreError,
};
use sha2::{Digest, Sha256};

use crate::auth::{authenticate, AuthError};
use crate::credential_throttle::{CredentialKeys, Party};
use crate::sync::sync_job;
use crate::Engine;

/// One HTTP request to the order endpoint, as the web layer hands it over.
#[derive(Debug, Clone)]
pub struct IntakeRequest {
    pub account: String,
    /// The per-buyer URL token, when the request used a buyer's own URL.
    pub url_token: Option<String>,
    pub content_type: Option<String>,
    /// The `Content-Encoding` header. pobridge reads only bodies sent
    /// without one, or with `identity`.
    pub content_encoding: Option<String>,
    /// The body exactly as received; shared, not copied, on its way through.
    pub body: bytes::Bytes,
    /// The client's IP address, which failed credential checks are counted
    /// under; `None` when unknown, and then they are not counted.
    pub client_ip: Option<std::net::IpAddr>,
}

/// Describes how a body pobridge cannot read as it is was compressed: by
/// the `Content-Encoding` header's codings other than `identity` (the
/// header cut to 40 characters), or by gzip when the body starts with its
/// signature whatever the header contains. Returns `None` for a plain body.
fn compressed(encoding: Option<&str>, body: &[u8]) -> Option<String> {
    let listed = encoding.unwrap_or("");
    let applied = listed
        .split(',')
        .map(str::trim)
        .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"));
    if applied {
        let header: String = listed.trim().chars().take(40).collect();
        return Some(format!("the body is sent with Content-Encoding {header}"));
    }
    body.starts_with(&GZIP_SIGNATURE)
        .then(|| "the body is gzip-compressed (it starts with gzip's signature)".to_owned())
}

/// Documents larger than this are read on a blocking thread. A document of
/// many small elements reads at about 15 MB a second, so one at the body
/// limit would otherwise hold a runtime thread, and every request waiting
/// on it, for seconds before its credentials are even checked.
const READ_APART_BYTES: usize = 256 * 1024;

/// Reads `bytes` as cXML, on a blocking thread when the document is larger
/// than [`READ_APART_BYTES`].
async fn read_envelope(
    bytes: bytes::Bytes,
    limits: &pobridge_cxml::Limits,
) -> Result<Envelope, ReadError> {
    if bytes.len() <= READ_APART_BYTES {
        return pobridge_cxml::read_envelope(&bytes, limits);
    }
    let (apart, apart_limits) = (bytes.clone(), limits.clone());
    let read =
        tokio::task::spawn_blocking(move || pobridge_cxml::read_envelope(&apart, &apart_limits));
    match read.await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // A runtime that is shutting down cancels blocking tasks that have
        // not started, so the document is read here instead.
        Err(_) => pobridge_cxml::read_envelope(&bytes, limits),
    }
}

/// The first two bytes of every gzip stream (RFC 1952). An XML document in
/// any encoding starts with `<`, white space or a byte-order mark, none of
/// which begins with these bytes.
const GZIP_SIGNATURE: [u8; 2] = [0x1f, 0x8b];

/// The response to send: the HTTP status equals the cXML status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeReply {
    pub status: u16,
    pub body: String,
    /// Summary of the outcome for the request log.
    pub log: String,
    /// Seconds for a `Retry-After` header, on a 503 to a client held off
    /// after failed credential checks.
    pub retry_after: Option<u64>,
}

impl Engine {
    /// Handles one document posted to `/cxml/{account}`.
    pub async fn receive_order(&self, request: IntakeRequest) -> IntakeReply {
        match self.receive(request).await {
            Ok(reply) => reply,
            Err(error) => {
                let id = uuid_like(self);
                tracing::error!(error = ?error, error.id = %id, "order intake failed");
                self.reply(500, "Internal Server Error", Some(&format!("pobridge could not store the document (error id {id}); it will accept a retry")), "failed to store".to_owned())
            }
        }
    }

    async fn receive(&self, request: IntakeRequest) -> Result<IntakeReply, StoreError> {
        let limits = &self.config.limits;
        if request.body.len() > limits.max_body_bytes {
            let text = format!(
                "the request body is {} bytes; the limit is {} bytes",
                request.body.len(),
                limits.max_body_bytes
            );
            return Ok(self.reply(413, "Request Entity Too Large", Some(&text), text.clone()));
        }
        if let Some(how) = compressed(request.content_encoding.as_deref(), &request.body) {
            let text = format!(
                "{how}; pobridge reads only uncompressed cXML, so send the document \
                 without compression"
            );
            return Ok(self.reply(415, "Unsupported Media Type", Some(&text), text.clone()));
        }

        let (cxml_bytes, attachments) = match split_multipart(&request, limits) {
            Ok(parts) => parts,
            Err(error) => return Ok(self.read_error_reply(&error)),
        };
        let envelope = match read_envelope(cxml_bytes.clone(), limits).await {
            Ok(envelope) => envelope,
            Err(error) => return Ok(self.read_error_reply(&error)),
        };

        if let Some(problem) = too_many_credentials(envelope.header.as_ref()) {
            return Ok(self.reply(400, "Bad Request", Some(&problem), problem.clone()));
        }
        let identified = self.identify(&request, &envelope).await?;
        if let Some(ip) = request.client_ip {
            if let Err(wait) = self.admit_credentials(ip, &request, &envelope, identified.as_ref())
            {
                return Ok(self.held_off_reply(&request, wait));
            }
        }

        let Some((account, buyer)) = identified else {
            return Ok(self.unknown_account_reply(&envelope));
        };
        let buyer = match buyer {
            Ok(buyer) => buyer,
            Err(error) => {
                tracing::warn!(account.slug = %account.slug, payload_id = %envelope.payload_id, reason = %error.detail(), "cXML credentials rejected");
                return Ok(self.reply(
                    401,
                    "Unauthorized",
                    Some(&error.to_string()),
                    error.to_string(),
                ));
            }
        };

        let context = Received {
            account,
            buyer,
            url_token: request.url_token.clone(),
            body_sha256: hex::encode(Sha256::digest(&request.body)),
            masked_body: pobridge_cxml::mask_secrets(&cxml_bytes),
            content_type: request.content_type.clone().unwrap_or_default(),
            attachments,
            received_at: self.clock.now(),
        };
        self.dispatch(context, envelope).await
    }

    async fn dispatch(
        &self,
        context: Received,
        envelope: Envelope,
    ) -> Result<IntakeReply, StoreError> {
        match envelope.body {
            Body::OrderRequest {
                deployment_test,
                ref order,
            } => {
                let order = order.clone();
                self.receive_order_request(context, &envelope, deployment_test, order)
                    .await
            }
            Body::ProfileRequest { deployment_test } => {
                self.store_other(&context, &envelope, "ProfileRequest", deployment_test)
                    .await?;
                let url = self.order_url(&context);
                let body = pobridge_cxml::write_profile_response(
                    &self.new_payload_id(),
                    self.clock.now().fixed_offset(),
                    &[
                        ("OrderRequest", url.as_deref()),
                        ("ProfileRequest", url.as_deref()),
                    ],
                );
                Ok(IntakeReply {
                    status: 200,
                    body,
                    log: "profile request handled".to_owned(),
                    retry_after: None,
                })
            }
            Body::OtherRequest { ref name, .. } => {
                let text = format!("pobridge accepts OrderRequest and ProfileRequest, not {name}");
                Ok(self.reply(450, "Not Implemented", Some(&text), text.clone()))
            }
            Body::Response { .. } | Body::Message { .. } => {
                let text = "pobridge accepts cXML requests; this document is a Response or Message"
                    .to_owned();
                Ok(self.reply(450, "Not Implemented", Some(&text), text.clone()))
            }
        }
    }

    async fn receive_order_request(
        &self,
        context: Received,
        envelope: &Envelope,
        deployment_test: bool,
        mut order: OrderRequest,
    ) -> Result<IntakeReply, StoreError> {
        mask_card(&mut order);
        let store = &self.store;
        let account = context.account.id;
        let buyer = &context.buyer;

        // A repeated new order reaches the store's own duplicate check, which
        // gives the same reply. So only documents that take another path
        // first are looked up here: an update or delete can meet a conflict,
        // and a test from a production buyer is stored differently.
        let test_from_production = deployment_test && buyer.mode == BuyerMode::Production;
        let looked_up = if order.header.order_type != OrderKind::New || test_from_production {
            store
                .find_duplicate_document(
                    account,
                    buyer.id,
                    &envelope.payload_id,
                    &context.body_sha256,
                )
                .await?
        } else {
            None
        };
        if let Some(original) = looked_up {
            let document = self.new_document(
                &context,
                envelope,
                deployment_test,
                DocumentOutcome::Duplicate,
                Some(original),
            );
            store
                .record_document(account, &document, None, None)
                .await?;
            return Ok(self.duplicate_reply(&context, envelope, original));
        }

        if test_from_production {
            let document = self.new_document(
                &context,
                envelope,
                deployment_test,
                DocumentOutcome::TestNotSynced,
                None,
            );
            store
                .record_document(account, &document, None, None)
                .await?;
            tracing::info!(account.slug = %context.account.slug, order_id = %order.header.order_id, "test document from a production buyer, not synced");
            return Ok(self.reply(200, "OK", None, "test, not synced".to_owned()));
        }

        if let Err(problem) = crate::validate::check_order(&order) {
            tracing::info!(account.slug = %context.account.slug, payload_id = %envelope.payload_id, reason = %problem, "purchase order rejected");
            return Ok(self.reply(400, "Bad Request", Some(&problem), problem.clone()));
        }
        // Spaces around the orderID do not make another purchase order. The
        // stored order keeps the orderID as sent, and the invoice echoes it.
        let number = PoNumber(order.header.order_id.trim().to_owned());
        if let Some(conflict) = self.conflict(&context, &number, &order).await? {
            return Ok(conflict);
        }

        let revision = new_revision(buyer, &number, &order, envelope, deployment_test)?;
        let document = self.new_document(
            &context,
            envelope,
            deployment_test,
            DocumentOutcome::Accepted,
            None,
        );
        let job = sync_job(account, buyer.id, &number, self.clock.now());
        let recorded = store
            .record_document(account, &document, Some(&revision), Some(&job))
            .await?;
        // An identical document stored after the check above was still
        // caught by the store, which then kept no revision and queued no job.
        if let Some(original) = recorded.duplicate_of {
            return Ok(self.duplicate_reply(&context, envelope, original));
        }
        self.wake.notify_one();
        self.log_recorded(&context, &order, &recorded);

        let log = if recorded.is_latest {
            format!("stored PO {number} and queued it for sync")
        } else {
            format!(
                "stored PO {number}; a later revision is already stored, so this one is superseded"
            )
        };
        Ok(self.reply(200, "OK", None, log))
    }

    /// Logs and builds the 200 reply for a document already stored as `original`.
    fn duplicate_reply(
        &self,
        context: &Received,
        envelope: &Envelope,
        original: DocumentId,
    ) -> IntakeReply {
        tracing::info!(account.slug = %context.account.slug, payload_id = %envelope.payload_id, duplicate_of = %original, "duplicate cXML document");
        let log = format!("duplicate of document {original}");
        self.reply(200, "OK", None, log)
    }

    /// Rejects with 409 an update or delete of a PO that is already shipped or invoiced.
    async fn conflict(
        &self,
        context: &Received,
        number: &PoNumber,
        order: &OrderRequest,
    ) -> Result<Option<IntakeReply>, StoreError> {
        if order.header.order_type == OrderKind::New {
            return Ok(None);
        }
        let existing = self
            .store
            .purchase_order_by_number(context.account.id, context.buyer.id, number)
            .await?;
        match existing {
            Some(po) if matches!(po.status, PoStatus::Shipped | PoStatus::Invoiced) => {
                let text = format!(
                    "PO {number} is already {} in the supplier's system, so this {} cannot be applied; contact the supplier",
                    po.status.as_str(),
                    order_type_name(order.header.order_type)
                );
                Ok(Some(self.reply(409, "Conflict", Some(&text), text.clone())))
            }
            _ => Ok(None),
        }
    }

    fn log_recorded(&self, context: &Received, order: &OrderRequest, recorded: &RecordedDocument) {
        if let Some(po) = recorded.po {
            tracing::info!(account.slug = %context.account.slug, po.id = %po, order_id = %order.header.order_id, is_latest = recorded.is_latest, "purchase order stored");
        }
    }

    /// Finds the account the order URL names and the buyer the document's
    /// credentials name. The account's buyers come from a copy up to
    /// [`pobridge_store::IDENTITY_TTL`] old. Before credentials are
    /// rejected, the buyers are read again, so that a buyer another process
    /// added or changed a moment ago is found.
    async fn identify(
        &self,
        request: &IntakeRequest,
        envelope: &Envelope,
    ) -> Result<Option<(Account, Result<Buyer, AuthError>)>, StoreError> {
        let Ok(slug) = AccountSlug::parse(&request.account) else {
            return Ok(None);
        };
        let (account, buyer) = match self.store.recent_account_with_buyers(&slug).await {
            Ok((account, buyers)) => (account, identify_buyer(request, envelope, &buyers)),
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        if buyer.is_ok() {
            return Ok(Some((account, buyer)));
        }

        match self.store.account_with_buyers(&slug).await {
            Ok((account, buyers)) => {
                let buyer = identify_buyer(request, envelope, &buyers);
                Ok(Some((account, buyer)))
            }
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn store_other(
        &self,
        context: &Received,
        envelope: &Envelope,
        kind: &str,
        deployment_test: bool,
    ) -> Result<(), StoreError> {
        let mut document = self.new_document(
            context,
            envelope,
            deployment_test,
            DocumentOutcome::Other,
            None,
        );
        document.request_kind = kind.to_owned();
        self.store
            .record_document(context.account.id, &document, None, None)
            .await?;
        Ok(())
    }

    fn new_document(
        &self,
        context: &Received,
        envelope: &Envelope,
        deployment_test: bool,
        outcome: DocumentOutcome,
        duplicate_of: Option<DocumentId>,
    ) -> NewDocument {
        NewDocument {
            buyer: Some(context.buyer.id),
            payload_id: envelope.payload_id.clone(),
            body_sha256: context.body_sha256.clone(),
            masked_body: context.masked_body.clone(),
            content_type: context.content_type.clone(),
            request_kind: "OrderRequest".to_owned(),
            deployment_test,
            outcome,
            duplicate_of,
            received_at: context.received_at,
            attachments: context.attachments.clone(),
        }
    }

    /// Returns the URL the document was posted to, under the configured
    /// public URL: the account's order URL, or the buyer's own when the
    /// request used one.
    fn order_url(&self, context: &Received) -> Option<String> {
        let base = self.config.public_url.as_deref()?.trim_end_matches('/');
        let slug = &context.account.slug;
        Some(match &context.url_token {
            Some(token) => format!("{base}/cxml/{slug}/{token}"),
            None => format!("{base}/cxml/{slug}"),
        })
    }

    fn read_error_reply(&self, error: &ReadError) -> IntakeReply {
        let status = error.status();
        let text = match status {
            400 => "Bad Request",
            406 => "Not Acceptable",
            413 => "Request Entity Too Large",
            _ => "Bad Request",
        };
        self.reply(status, text, Some(&error.to_string()), error.to_string())
    }

    /// Responds to an order URL that names no account exactly as to an unknown
    /// From credential, so that account names cannot be probed.
    fn unknown_account_reply(&self, envelope: &Envelope) -> IntakeReply {
        let error = AuthError::UnknownFrom(crate::auth::first_from(envelope.header.as_ref()));
        tracing::warn!(payload_id = %envelope.payload_id, "cXML document posted to an order URL that names no account");
        self.reply(
            401,
            "Unauthorized",
            Some(&error.to_string()),
            "unknown account".to_owned(),
        )
    }

    /// Counts the outcome of the credential check of a request from `ip`
    /// (see [`crate::credential_throttle`]), or returns how long the client
    /// is held off.
    fn admit_credentials(
        &self,
        ip: std::net::IpAddr,
        request: &IntakeRequest,
        envelope: &Envelope,
        identified: Option<&(Account, Result<Buyer, AuthError>)>,
    ) -> Result<(), chrono::Duration> {
        let first_from = crate::auth::first_from(envelope.header.as_ref());
        let (party, passed) = match identified {
            Some((_, Ok(buyer))) => (Party::Buyer(&buyer.name), true),
            Some((_, Err(error))) => match error.buyer() {
                Some(name) => (Party::Buyer(name), false),
                None => (Party::Unknown(&first_from), false),
            },
            None => (Party::Unknown(&first_from), false),
        };
        // Each From or Sender credential of a document is one try, since
        // any of them may match.
        let attempts = envelope
            .header
            .as_ref()
            .map_or(1, |header| header.from.len().max(header.sender.len()));
        let keys = CredentialKeys::new(ip, &request.account, &party);
        self.credential_throttle
            .admit(&keys, passed, attempts, self.clock.now())
    }

    /// Builds the 503 reply for a client held off after failed credential
    /// checks, whether this request's credentials passed or not.
    fn held_off_reply(&self, request: &IntakeRequest, wait: chrono::Duration) -> IntakeReply {
        // Rounded up, so that a client that waits the given time is not
        // rejected again for the fraction of a second left.
        let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
        let seconds = millis.div_ceil(1000).max(1);
        let text = format!(
            "too many documents from this address failed the credential check; \
             pobridge checks no credentials from it for {seconds} seconds"
        );
        let client = request
            .client_ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        tracing::info!(account.slug = %slug_for_log(&request.account), client.ip = %client, retry_after = seconds, "order endpoint held off a client after failed credential checks");
        let mut reply = self.reply(503, "Service Unavailable", Some(&text), text.clone());
        reply.retry_after = Some(seconds);
        reply
    }

    fn reply(&self, status: u16, text: &str, detail: Option<&str>, log: String) -> IntakeReply {
        let body = pobridge_cxml::write_response(
            &self.new_payload_id(),
            self.clock.now().fixed_offset(),
            status,
            text,
            detail,
        );
        IntakeReply {
            status,
            body,
            log,
            retry_after: None,
        }
    }

    pub(crate) fn new_payload_id(&self) -> String {
        pobridge_cxml::new_payload_id(
            self.clock.now(),
            rand::random::<u64>(),
            &self.config.payload_host,
        )
    }
}

/// The maximum number of credentials of each kind (From, To, Sender) a
/// document may carry. Real documents carry one or two. Each one is a try at the shared
/// secret or at a buyer's identity, so a document with thousands would be
/// thousands of tries.
pub const MAX_CREDENTIALS: usize = 5;

/// Describes a Header with more than [`MAX_CREDENTIALS`] credentials of one
/// kind, or returns `None`.
fn too_many_credentials(header: Option<&pobridge_cxml::Header>) -> Option<String> {
    let header = header?;
    [("From", &header.from), ("To", &header.to), ("Sender", &header.sender)]
        .into_iter()
        .find(|(_, credentials)| credentials.len() > MAX_CREDENTIALS)
        .map(|(kind, credentials)| {
            format!(
                "the Header has {} {kind} credentials; pobridge accepts at most {MAX_CREDENTIALS} of each kind",
                credentials.len()
            )
        })
}

/// Returns an account slug as sent in an order URL for a log line, cut to
/// 64 characters, since a client may send any length.
pub fn slug_for_log(slug: &str) -> String {
    let mut chars = slug.chars();
    let prefix: String = chars.by_ref().take(64).collect();
    if chars.next().is_some() {
        format!("{prefix}…")
    } else {
        prefix
    }
}

/// Finds the buyer whose credentials `envelope` carries, among the buyer
/// the request's URL token names or, without a token, all of `buyers`.
fn identify_buyer(
    request: &IntakeRequest,
    envelope: &Envelope,
    buyers: &[Buyer],
) -> Result<Buyer, AuthError> {
    let token_buyer = match &request.url_token {
        Some(token) => match find_by_token(buyers, token) {
            Some(buyer) => Some(buyer),
            None => {
                return Err(AuthError::UnknownFrom(crate::auth::first_from(
                    envelope.header.as_ref(),
                )))
            }
        },
        None => None,
    };
    authenticate(envelope.header.as_ref(), buyers, token_buyer).cloned()
}

/// The request's context once the sender is authenticated.
struct Received {
    account: Account,
    buyer: Buyer,
    /// The per-buyer URL token the request used, if any.
    url_token: Option<String>,
    body_sha256: String,
    masked_body: Vec<u8>,
    content_type: String,
    attachments: Vec<NewAttachment>,
    received_at: DateTime<Utc>,
}

fn split_multipart(
    request: &IntakeRequest,
    limits: &pobridge_cxml::Limits,
) -> Result<(bytes::Bytes, Vec<NewAttachment>), ReadError> {
    let content_type = request.content_type.as_deref().unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        return Ok((request.body.clone(), Vec::new()));
    }
    let document = pobridge_cxml::read_multipart_related(content_type, &request.body, limits)?;
    let attachments = document
        .attachments
        .into_iter()
        .map(|part| NewAttachment {
            content_id: part.content_id,
            content_type: part.content_type,
            bytes: part.bytes,
        })
        .collect();
    Ok((bytes::Bytes::from(document.cxml), attachments))
}

fn find_by_token<'a>(buyers: &'a [Buyer], token: &str) -> Option<&'a Buyer> {
    use subtle::ConstantTimeEq;
    buyers.iter().find(|buyer| {
        buyer
            .url_token
            .as_deref()
            .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(token.as_bytes())))
    })
}

fn new_revision(
    buyer: &Buyer,
    number: &PoNumber,
    order: &OrderRequest,
    envelope: &Envelope,
    deployment_test: bool,
) -> Result<NewRevision, StoreError> {
    let value = serde_json::to_value(order).map_err(|error| StoreError::Corrupt {
        entity: "order",
        detail: error.to_string(),
    })?;
    let json = OrderJson::new(&value);
    let content_sha256 = hex::encode(Sha256::digest(json.as_str().as_bytes()));
    Ok(NewRevision {
        buyer: buyer.id,
        po_number: number.clone(),
        order_type: match order.header.order_type {
            OrderKind::New => OrderType::New,
            OrderKind::Update => OrderType::Update,
            OrderKind::Delete => OrderType::Delete,
        },
        order_version: order.header.order_version,
        document_timestamp: envelope.timestamp,
        content_sha256,
        order: json,
        status: RevisionStatus::Pending,
        test: deployment_test || buyer.mode == BuyerMode::Test,
        items: order
            .items
            .iter()
            .map(crate::products::coupa_item)
            .collect(),
    })
}

fn order_type_name(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::New => "new order",
        OrderKind::Update => "update",
        OrderKind::Delete => "cancellation",
    }
}

fn uuid_like(engine: &Engine) -> String {
    format!(
        "{:x}-{:08x}",
        engine.clock.now().timestamp_millis(),
        rand::random::<u32>()
    )
}

/// Masks the payment card in the parsed order before it is stored: the
/// number keeps its last four digits and the expiry date is hidden.
fn mask_card(order: &mut OrderRequest) {
    if let Some(card) = order.header.payment.as_mut() {
        let digits: Vec<char> = card
            .number
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let keep = digits.len().saturating_sub(4);
        let last_four: String = digits[keep..].iter().collect();
        card.number = format!("{}{last_four}", "*".repeat(keep.max(4)));
        card.expiration = pobridge_cxml::Secret::new("****");
    }
}

#[cfg(test)]
mod tests {
    use super::{compressed, read_envelope, READ_APART_BYTES};

    fn profile_request(padding: usize) -> bytes::Bytes {
        let comment = "x".repeat(padding);
        format!(
            "<cXML payloadID=\"p\" timestamp=\"2026-12-05T12:00:00+00:00\"><!--{comment}-->\
             <Request><ProfileRequest/></Request></cXML>"
        )
        .into()
    }

    #[tokio::test]
    async fn large_document_reads_like_small() {
        let limits = pobridge_cxml::Limits::default();
        let small = read_envelope(profile_request(10), &limits).await.unwrap();
        let large = profile_request(READ_APART_BYTES + 1);
        assert!(large.len() > READ_APART_BYTES);

        let read = read_envelope(large, &limits).await.unwrap();
        assert_eq!(read.payload_id, small.payload_id);
    }

    #[tokio::test]
    async fn large_document_errors_come_back() {
        let limits = pobridge_cxml::Limits::default();
        let mut broken = profile_request(READ_APART_BYTES + 1).to_vec();
        broken.truncate(broken.len() - 3);

        let error = read_envelope(broken.into(), &limits).await.unwrap_err();
        assert_eq!(error.status(), 406, "{error}");
    }

    #[test]
    fn identity_and_missing_encodings_are_read() {
        let body = b"<?xml version=\"1.0\"?><cXML/>";
        assert_eq!(compressed(None, body), None);
        assert_eq!(compressed(Some(""), body), None);
        assert_eq!(compressed(Some(" identity "), body), None);
        assert_eq!(compressed(Some("IDENTITY"), body), None);
        assert_eq!(compressed(Some("identity, identity"), body), None);
    }

    #[test]
    fn other_encodings_are_named_and_cut() {
        let body = b"<cXML/>";
        let named = |encoding: &str| compressed(Some(encoding), body).unwrap();
        assert_eq!(named("gzip"), "the body is sent with Content-Encoding gzip");
        assert_eq!(
            named("identity, gzip"),
            "the body is sent with Content-Encoding identity, gzip"
        );
        let long = "x".repeat(100);
        assert!(named(&long).ends_with(&"x".repeat(40)));
        assert!(!named(&long).ends_with(&"x".repeat(41)));
    }

    #[test]
    fn gzip_signature_is_found_without_header() {
        let gzipped = [0x1f, 0x8b, 0x08, 0x00];
        for encoding in [None, Some("identity")] {
            let found = compressed(encoding, &gzipped).unwrap();
            assert!(found.contains("gzip-compressed"), "{found}");
        }
    }
}
