//! The portal users of an account: adding one (the first user of a new
//! account, or an invitation), listing them, and recording who invited whom
//! in the account's audit trail.

use pobridge_store::{Account, NewAuditEntry, StoreError, User, UserId};

use super::{account, invalid, parse_email, AdminError};
use crate::Engine;

/// Audit action of a new user, invited from the portal or the command line.
pub const AUDIT_INVITE: &str = "user.invite";
/// Audit action of an invitation sent again.
pub const AUDIT_INVITE_AGAIN: &str = "user.invite_again";

/// The person behind an action, as the audit trail shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The portal user, or `None` for the command line.
    pub user: Option<UserId>,
    /// The user's e-mail, or `cli`.
    pub name: String,
}

impl Actor {
    /// Returns the operator at the command line.
    pub fn cli() -> Self {
        Self {
            user: None,
            name: "cli".to_owned(),
        }
    }

    /// Returns the operator at the command line, named by the login the
    /// command ran under when there is one: `cli (login ops)`. The login
    /// comes from the environment, so it tells operators apart but proves
    /// nothing, because anyone who can run the command can also write the
    /// database.
    pub fn command_line(login: Option<&str>) -> Self {
        let login = login.map(str::trim).filter(|login| !login.is_empty());
        match login {
            Some(login) => Self {
                user: None,
                name: format!("cli (login {login})"),
            },
            None => Self::cli(),
        }
    }

    /// Returns a logged-in portal user.
    pub fn user(user: &User) -> Self {
        Self {
            user: Some(user.id),
            name: user.email.clone(),
        }
    }
}

/// Adds a user without a password to the account `slug` and records it in
/// the audit trail. An address that any user of the installation already
/// has is rejected without naming that user's account.
pub async fn add_user(
    engine: &Engine,
    slug: &str,
    email: &str,
    actor: &Actor,
) -> Result<(Account, User), AdminError> {
    let account = account(engine, slug).await?;
    let email = parse_email(email)?;
    let now = engine.clock.now();

    let user = match engine.store.create_user(account.id, &email, now).await {
        Ok(user) => user,
        Err(StoreError::Conflict { .. }) => {
            return Err(invalid(
                "email",
                &email,
                "an address that no pobridge user has yet; this one is taken",
            ))
        }
        Err(error) => return Err(error.into()),
    };

    record(engine, &account, actor, AUDIT_INVITE, &user).await?;
    tracing::info!(tenant.id = %account.id, user.id = %user.id, "user added");
    Ok((account, user))
}

/// Checks that `user` of the account `slug` still has no password before
/// an invitation is sent again, and records it in the audit trail. Another
/// account's user is not found.
pub async fn invite_again(
    engine: &Engine,
    slug: &str,
    user: UserId,
    actor: &Actor,
) -> Result<(Account, User), AdminError> {
    let account = account(engine, slug).await?;
    let user = engine.store.user(account.id, user).await?;
    if user.password_hash.is_some() {
        return Err(invalid(
            "user",
            &user.email,
            "a user who has not set a password yet; this one has, and can use \
             \"Forgot your password?\" on the login page",
        ));
    }

    record(engine, &account, actor, AUDIT_INVITE_AGAIN, &user).await?;
    Ok((account, user))
}

/// Lists the users of the account `slug`, oldest first.
pub async fn list_users(engine: &Engine, slug: &str) -> Result<Vec<User>, AdminError> {
    let account = account(engine, slug).await?;
    Ok(engine.store.list_users(account.id).await?)
}

async fn record(
    engine: &Engine,
    account: &Account,
    actor: &Actor,
    action: &str,
    user: &User,
) -> Result<(), AdminError> {
    record_change(
        engine,
        account,
        actor,
        action,
        format!("invited {}", user.email),
    )
    .await
}

/// Writes one change to the account's audit trail, dated by the engine's
/// clock. `detail` must hold no secret.
pub async fn record_change(
    engine: &Engine,
    account: &Account,
    actor: &Actor,
    action: &str,
    detail: String,
) -> Result<(), AdminError> {
    let entry = NewAuditEntry {
        user: actor.user,
        actor: actor.name.clone(),
        action: action.to_owned(),
        detail,
    };
    engine
        .store
        .record_audit(account.id, &entry, engine.clock.now())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pobridge_brightpearl::ClientConfig;
    use pobridge_core::{Clock, ManualClock};

    use super::*;
    use crate::admin::create_account;
    use crate::{ClientPool, EngineConfig};

    async fn engine() -> Engine {
        let store = pobridge_store::open("sqlite::memory:").await.unwrap();
        let start = "2024-05-10T06:00:00Z".parse().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
        let clients = ClientPool::new(
            reqwest::Client::new(),
            ClientConfig::default(),
            store.clone(),
            clock.clone(),
        );
        Engine::new(store, clock, clients, EngineConfig::default())
    }

    /// Builds an engine with the accounts `acme` and `globex`.
    async fn engine_with_accounts() -> Engine {
        let engine = engine().await;
        for slug in ["acme", "globex"] {
            let email = format!("ops@{slug}.example");
            create_account(&engine, slug, &email).await.unwrap();
        }
        engine
    }

    #[tokio::test]
    async fn added_user_is_audited() {
        let engine = engine_with_accounts().await;

        let (account, user) = add_user(&engine, "acme", " Ann@Acme.Example ", &Actor::cli())
            .await
            .unwrap();

        assert_eq!(user.email, "ann@acme.example");
        assert_eq!(user.password_hash, None);
        let trail = engine.store.audit_log(account.id, 10).await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].action, AUDIT_INVITE);
        assert_eq!(trail[0].actor, "cli");
        assert_eq!(trail[0].detail, "invited ann@acme.example");
        let listed = list_users(&engine, "acme").await.unwrap();
        assert_eq!(listed, vec![user]);
    }

    #[tokio::test]
    async fn invalid_addresses_are_not_invited() {
        let engine = engine_with_accounts().await;
        let long_local = format!("{}@acme.example", "a".repeat(300));

        for email in ["<script>alert(1)</script>@x.example", long_local.as_str()] {
            let error = add_user(&engine, "acme", email, &Actor::cli())
                .await
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("--email: "), "{error}");
        }
        assert!(list_users(&engine, "acme").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn international_domain_stored_as_ascii() {
        let engine = engine_with_accounts().await;

        let (_, user) = add_user(&engine, "acme", "Jürgen@bücher.example", &Actor::cli())
            .await
            .unwrap();

        assert!(
            user.email.ends_with("@xn--bcher-kva.example"),
            "{}",
            user.email
        );
        let found = engine
            .store
            .user_by_email("jürgen@xn--bcher-kva.example")
            .await
            .unwrap();
        assert_eq!(found.id, user.id);
    }

    #[tokio::test]
    async fn taken_address_does_not_name_its_account() {
        let engine = engine_with_accounts().await;
        add_user(&engine, "globex", "ops@globex.example", &Actor::cli())
            .await
            .unwrap();

        let error = add_user(&engine, "acme", "OPS@globex.example", &Actor::cli())
            .await
            .unwrap_err()
            .to_string();

        assert!(error.contains("taken"), "{error}");
        assert!(!error.contains("globex\""), "{error}");
        assert!(!error.contains("account"), "{error}");
        let invalid = add_user(&engine, "acme", "not-an-address", &Actor::cli()).await;
        assert!(matches!(invalid, Err(AdminError::Invalid { .. })));
        let missing = add_user(&engine, "nobody", "a@b.example", &Actor::cli()).await;
        assert!(matches!(missing, Err(AdminError::AccountNotFound(_))));
    }

    #[tokio::test]
    async fn invite_again_only_pending_users() {
        let engine = engine_with_accounts().await;
        let (account, pending) = add_user(&engine, "acme", "new@acme.example", &Actor::cli())
            .await
            .unwrap();
        let (_, done) = add_user(&engine, "acme", "done@acme.example", &Actor::cli())
            .await
            .unwrap();
        let now = engine.clock.now();
        engine
            .store
            .set_password_hash(account.id, done.id, "$argon2id$hash", now)
            .await
            .unwrap();
        let inviter = Actor::user(&done);

        let again = invite_again(&engine, "acme", pending.id, &inviter).await;
        let other_account = invite_again(&engine, "globex", pending.id, &inviter).await;
        let has_password = invite_again(&engine, "acme", done.id, &inviter).await;

        assert_eq!(again.unwrap().1.id, pending.id);
        assert!(matches!(
            other_account,
            Err(AdminError::Store(StoreError::NotFound { .. }))
        ));
        let error = has_password.unwrap_err().to_string();
        assert!(error.contains("Forgot your password?"), "{error}");
        let trail = engine.store.audit_log(account.id, 1).await.unwrap();
        assert_eq!(trail[0].action, AUDIT_INVITE_AGAIN);
        assert_eq!(trail[0].actor, "done@acme.example");
        assert_eq!(trail[0].user, Some(done.id));
    }
}
