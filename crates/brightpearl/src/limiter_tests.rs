use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::message_cost::{Counting, MultiMessageCost};

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/limiter-decisions.json"
);
const OBSERVATIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/brightpearl/_throttle-header-observations.json"
);

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    rpm: u32,
    reserve: u32,
    sent_ms: Vec<u64>,
    /// The cost of each earlier send, 1 each when absent.
    sent_costs: Option<Vec<u32>>,
    last: Option<LastCase>,
    reply: Option<ReplyCase>,
    now_ms: u64,
    /// The cost of the request about to be sent, 1 when absent.
    cost: Option<u32>,
    expect: Value,
}

#[derive(Deserialize)]
struct LastCase {
    remaining: Option<String>,
    next_period: Option<String>,
    sent_ms: u64,
    received_ms: u64,
}

#[derive(Deserialize)]
struct ReplyCase {
    status: u16,
    remaining: Option<String>,
    next_period: Option<String>,
    retry_after_s: Option<u64>,
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn expected(value: &Value) -> Decision {
    match value {
        Value::String(word) if word == "send" => Decision::Send,
        Value::String(word) if word == "accept" => Decision::Accept,
        Value::Object(map) if map.contains_key("wait_ms") => {
            Decision::Wait(ms(map["wait_ms"].as_u64().unwrap()))
        }
        Value::Object(map) if map.contains_key("retry_after_ms") => {
            Decision::RetryAfter(ms(map["retry_after_ms"].as_u64().unwrap()))
        }
        other => panic!("unknown expectation {other}"),
    }
}

#[test]
fn decide_matches_fixture_table() {
    let cases: Cases = serde_json::from_str(&std::fs::read_to_string(CASES).unwrap()).unwrap();
    assert!(cases.cases.len() >= 20);

    for case in &cases.cases {
        let policy = Policy {
            requests_per_minute: case.rpm,
            reserve: case.reserve,
            window: WINDOW,
        };
        let costs = case.sent_costs.clone().unwrap_or_default();
        let sent: Vec<SendRecord> = case
            .sent_ms
            .iter()
            .enumerate()
            .map(|(index, at)| SendRecord {
                at: ms(*at),
                cost: costs.get(index).copied().unwrap_or(1),
                seq: index as u64,
            })
            .collect();
        let last = case.last.as_ref().map(|last| Observation {
            headers: ThrottleHeaders::parse(last.remaining.as_deref(), last.next_period.as_deref()),
            sent_at: ms(last.sent_ms),
            received_at: ms(last.received_ms),
        });
        let reply = case.reply.as_ref().map(|reply| ReplySignal {
            status: reply.status,
            headers: ThrottleHeaders::parse(
                reply.remaining.as_deref(),
                reply.next_period.as_deref(),
            ),
            retry_after: reply.retry_after_s.map(Duration::from_secs),
        });

        let decision = decide(
            policy,
            &sent,
            last.as_ref(),
            reply.as_ref(),
            ms(case.now_ms),
            case.cost.unwrap_or(1),
        );

        assert_eq!(decision, expected(&case.expect), "case {:?}", case.name);
    }
}

#[derive(Deserialize)]
struct Observations {
    observations: Vec<Value>,
}

fn corpus_observations() -> Vec<Value> {
    let text = std::fs::read_to_string(OBSERVATIONS).unwrap();
    serde_json::from_str::<Observations>(&text)
        .unwrap()
        .observations
}

#[test]
fn captured_headers_parse_as_integers() {
    let observations = corpus_observations();
    assert!(observations.len() > 80);

    for observation in &observations {
        let remaining = observation["brightpearl-requests-remaining"]
            .as_str()
            .unwrap();
        let period = observation["brightpearl-next-throttle-period"]
            .as_str()
            .unwrap();

        let headers = ThrottleHeaders::parse(Some(remaining), Some(period));

        assert_eq!(
            headers.remaining,
            Some(remaining.parse().unwrap()),
            "{observation}"
        );
        assert_eq!(
            headers.next_period,
            Some(ms(period.parse().unwrap())),
            "{observation}"
        );
    }
}

#[test]
fn captured_headers_drive_decisions() {
    for observation in corpus_observations() {
        let headers = ThrottleHeaders::parse(
            observation["brightpearl-requests-remaining"].as_str(),
            observation["brightpearl-next-throttle-period"].as_str(),
        );
        let remaining = headers.remaining.unwrap();
        let period = headers.next_period.unwrap();
        let status = observation["status"].as_u64().unwrap() as u16;
        let last = Observation {
            headers,
            sent_at: Duration::ZERO,
            received_at: Duration::ZERO,
        };
        let relaxed = Policy {
            requests_per_minute: 190,
            reserve: 5,
            window: WINDOW,
        };
        let strict = Policy {
            requests_per_minute: 190,
            reserve: remaining,
            window: WINDOW,
        };

        // Every capture left plenty of quota (66 at the lowest), so a
        // small reserve sends at once, while a reserve equal to what was
        // left waits the whole reported period.
        assert_eq!(
            decide(relaxed, &[], Some(&last), None, Duration::ZERO, 1),
            Decision::Send
        );
        assert_eq!(
            decide(strict, &[], Some(&last), None, Duration::ZERO, 1),
            if period.is_zero() {
                Decision::Send
            } else {
                Decision::Wait(period)
            },
            "{observation}"
        );
        let reply = ReplySignal {
            status,
            headers,
            retry_after: None,
        };
        assert_eq!(
            decide(relaxed, &[], None, Some(&reply), Duration::ZERO, 1),
            Decision::Accept
        );
    }
}

#[test]
fn header_names_are_case_insensitive() {
    let mut map = HeaderMap::new();
    map.insert("Brightpearl-Requests-Remaining", "198".parse().unwrap());
    map.insert("BRIGHTPEARL-NEXT-THROTTLE-PERIOD", "51000".parse().unwrap());

    let headers = ThrottleHeaders::from_headers(&map);

    assert_eq!(headers.remaining, Some(198));
    assert_eq!(headers.next_period, Some(ms(51_000)));
}

#[tokio::test(start_paused = true)]
async fn limiter_waits_out_the_sliding_window() {
    let limiter = Limiter::new(2, 0);
    let start = Instant::now();

    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(60));
    assert_eq!(limiter.requests_sent(), 3);
}

#[tokio::test(start_paused = true)]
async fn limiter_fails_fast_when_wait_exceeds_budget() {
    let limiter = Limiter::new(1, 0);
    let start = Instant::now();
    limiter.acquire(Duration::from_secs(10), 1).await.unwrap();

    let needed = limiter
        .acquire(Duration::from_secs(10), 1)
        .await
        .unwrap_err();

    assert_eq!(needed, Refusal::TooLong(Duration::from_secs(60)));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(limiter.requests_sent(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttled_reply_pauses_every_caller() {
    let limiter = Limiter::new(190, 5);
    let start = Instant::now();
    let permit = limiter.acquire(Duration::from_secs(120), 1).await.unwrap();

    let decision = limiter.observe(
        &permit,
        ReplySignal {
            status: 503,
            headers: ThrottleHeaders::default(),
            retry_after: None,
        },
    );

    assert_eq!(decision, Decision::RetryAfter(Duration::from_secs(60)));
    assert_eq!(limiter.last_headers().unwrap().remaining, Some(0));
    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn low_remaining_header_delays_next_request() {
    let limiter = Limiter::new(190, 5);
    let start = Instant::now();
    let permit = limiter.acquire(Duration::from_secs(120), 1).await.unwrap();

    let decision = limiter.observe(
        &permit,
        ReplySignal {
            status: 200,
            headers: ThrottleHeaders::parse(Some("3"), Some("12000")),
            retry_after: None,
        },
    );
    assert_eq!(decision, Decision::Accept);
    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(12));
}

/// A shared budget in memory that grants `free` slots, then reports the
/// window full for `full_for`, and records every claim.
struct ScriptedBudget {
    free: Mutex<u32>,
    full_for: Duration,
    claims: Mutex<Vec<(u32, Duration, u32)>>,
}

#[async_trait::async_trait]
impl SharedBudget for ScriptedBudget {
    async fn claim(&self, limit: u32, window: Duration, count: u32) -> Result<SlotClaim, String> {
        self.claims.lock().unwrap().push((limit, window, count));
        let mut free = self.free.lock().unwrap();
        if *free == 0 {
            *free = 1;
            return Ok(SlotClaim::Full(self.full_for));
        }
        *free -= 1;
        Ok(SlotClaim::Granted)
    }
}

struct BrokenBudget;

#[async_trait::async_trait]
impl SharedBudget for BrokenBudget {
    async fn claim(
        &self,
        _limit: u32,
        _window: Duration,
        _count: u32,
    ) -> Result<SlotClaim, String> {
        Err("connection refused".to_owned())
    }
}

#[tokio::test(start_paused = true)]
async fn full_shared_budget_delays_request() {
    let budget = Arc::new(ScriptedBudget {
        free: Mutex::new(1),
        full_for: Duration::from_secs(7),
        claims: Mutex::new(Vec::new()),
    });
    let limiter = Limiter::new(190, 5)
        .with_window(Duration::from_secs(10))
        .with_shared_budget(budget.clone());
    let start = Instant::now();

    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(limiter.requests_sent(), 2);
    let held_for = Duration::from_secs(10) + SEND_ALLOWANCE;
    assert_eq!(
        *budget.claims.lock().unwrap(),
        vec![(190, held_for, 1), (190, held_for, 1), (190, held_for, 1)]
    );
}

#[tokio::test(start_paused = true)]
async fn shared_budget_wait_counts_against_max_wait() {
    let budget = Arc::new(ScriptedBudget {
        free: Mutex::new(0),
        full_for: Duration::from_secs(30),
        claims: Mutex::new(Vec::new()),
    });
    let limiter = Limiter::new(190, 5).with_shared_budget(budget);

    let refusal = limiter
        .acquire(Duration::from_secs(10), 1)
        .await
        .unwrap_err();

    assert_eq!(refusal, Refusal::TooLong(Duration::from_secs(30)));
    assert_eq!(limiter.requests_sent(), 0);
}

#[tokio::test(start_paused = true)]
async fn unreadable_shared_budget_sends_nothing() {
    let limiter = Limiter::new(190, 5).with_shared_budget(Arc::new(BrokenBudget));

    let refusal = limiter
        .acquire(Duration::from_secs(120), 1)
        .await
        .unwrap_err();

    assert_eq!(
        refusal,
        Refusal::SharedBudget("connection refused".to_owned())
    );
    assert_eq!(limiter.requests_sent(), 0);
}

#[tokio::test(start_paused = true)]
async fn low_remaining_header_delays_shared_claim() {
    let budget = Arc::new(ScriptedBudget {
        free: Mutex::new(10),
        full_for: Duration::from_secs(1),
        claims: Mutex::new(Vec::new()),
    });
    let limiter = Limiter::new(190, 5).with_shared_budget(budget.clone());
    let start = Instant::now();
    let permit = limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    limiter.observe(
        &permit,
        ReplySignal {
            status: 200,
            headers: ThrottleHeaders::parse(Some("3"), Some("12000")),
            retry_after: None,
        },
    );

    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(12));
    assert_eq!(budget.claims.lock().unwrap().len(), 2);
}

fn reply(remaining: u32, period_ms: u64) -> ReplySignal {
    ReplySignal {
        status: 200,
        headers: ThrottleHeaders {
            remaining: Some(remaining),
            next_period: Some(ms(period_ms)),
        },
        retry_after: None,
    }
}

/// Sends a plain request and a multi-message of ten one after the other,
/// with the remaining counts the server reports for each.
async fn probe(limiter: &Limiter, before: u32, after: u32) -> u64 {
    let plain = limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    limiter.observe(&plain, reply(before, 40_000));
    drop(plain);
    let claimed = limiter.quota_claimed();
    let batch = limiter.acquire(Duration::from_secs(120), 10).await.unwrap();
    limiter.observe(&batch, reply(after, 40_000));
    limiter.quota_claimed() - claimed
}

#[tokio::test(start_paused = true)]
async fn drop_of_one_learns_counts_as_one() {
    let limiter = Limiter::new(190, 5);
    assert_eq!(limiter.multi_message_counting(), Counting::Unknown);

    let probe_cost = probe(&limiter, 150, 149).await;

    assert_eq!(
        probe_cost, 10,
        "an unknown multi-message is costed per message"
    );
    assert_eq!(limiter.multi_message_counting(), Counting::One);
    let claimed = limiter.quota_claimed();
    limiter.acquire(Duration::from_secs(120), 10).await.unwrap();
    assert_eq!(limiter.quota_claimed() - claimed, 1);
}

#[tokio::test(start_paused = true)]
async fn drop_per_message_teaches_per_item_counting() {
    let limiter = Limiter::new(190, 5);

    probe(&limiter, 150, 140).await;

    assert_eq!(limiter.multi_message_counting(), Counting::PerItem);
    let claimed = limiter.quota_claimed();
    limiter.acquire(Duration::from_secs(120), 7).await.unwrap();
    assert_eq!(limiter.quota_claimed() - claimed, 7);
}

#[tokio::test(start_paused = true)]
async fn per_item_yields_to_drop_of_one() {
    let limiter = Limiter::new(190, 5);
    probe(&limiter, 150, 140).await;

    probe(&limiter, 120, 119).await;

    assert_eq!(limiter.multi_message_counting(), Counting::One);
}

#[tokio::test(start_paused = true)]
async fn fixed_setting_is_not_relearned() {
    let limiter = Limiter::new(190, 5).with_multi_message_cost(MultiMessageCost::PerItem);

    let cost = probe(&limiter, 150, 149).await;

    assert_eq!(cost, 10);
    assert_eq!(limiter.multi_message_counting(), Counting::PerItem);
}

#[tokio::test(start_paused = true)]
async fn unknown_cost_waits_for_quota() {
    let limiter = Limiter::new(190, 5);
    let start = Instant::now();
    let plain = limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    limiter.observe(&plain, reply(12, 9_000));
    drop(plain);

    limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "a plain request still fits"
    );
    limiter.acquire(Duration::from_secs(120), 10).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(9));
}

#[tokio::test(start_paused = true)]
async fn probe_waits_for_requests_in_flight() {
    let limiter = Arc::new(Limiter::new(190, 5));
    let in_flight = limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
    let released = Arc::new(tokio::sync::Notify::new());

    let probe = {
        let (limiter, released) = (limiter.clone(), released.clone());
        tokio::spawn(async move {
            let permit = limiter.acquire(Duration::from_secs(120), 10).await.unwrap();
            released.notified().await;
            drop(permit);
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        limiter.requests_sent(),
        1,
        "the probe waits for the plain request"
    );
    let later = {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            limiter.acquire(Duration::from_secs(120), 1).await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        limiter.requests_sent(),
        1,
        "a waiting probe holds back new requests"
    );

    drop(in_flight);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(limiter.requests_sent(), 2, "the probe goes alone");
    released.notify_one();
    probe.await.unwrap();
    later.await.unwrap();

    assert_eq!(limiter.requests_sent(), 3);
}

#[tokio::test(start_paused = true)]
async fn shared_budget_is_claimed_per_message_until_learned() {
    let budget = Arc::new(ScriptedBudget {
        free: Mutex::new(10),
        full_for: Duration::from_secs(1),
        claims: Mutex::new(Vec::new()),
    });
    let limiter = Limiter::new(190, 5).with_shared_budget(budget.clone());

    probe(&limiter, 150, 149).await;
    limiter.acquire(Duration::from_secs(120), 10).await.unwrap();

    let counts: Vec<u32> = budget
        .claims
        .lock()
        .unwrap()
        .iter()
        .map(|claim| claim.2)
        .collect();
    assert_eq!(counts, vec![1, 10, 1]);
}
