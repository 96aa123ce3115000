use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::*;

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
    last: Option<LastCase>,
    reply: Option<ReplyCase>,
    now_ms: u64,
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
        let sent: Vec<Duration> = case.sent_ms.iter().copied().map(ms).collect();
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
            decide(relaxed, &[], Some(&last), None, Duration::ZERO),
            Decision::Send
        );
        assert_eq!(
            decide(strict, &[], Some(&last), None, Duration::ZERO),
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
            decide(relaxed, &[], None, Some(&reply), Duration::ZERO),
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

    limiter.acquire(Duration::from_secs(120)).await.unwrap();
    limiter.acquire(Duration::from_secs(120)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    limiter.acquire(Duration::from_secs(120)).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(60));
    assert_eq!(limiter.requests_sent(), 3);
}

#[tokio::test(start_paused = true)]
async fn limiter_fails_fast_when_wait_exceeds_budget() {
    let limiter = Limiter::new(1, 0);
    let start = Instant::now();
    limiter.acquire(Duration::from_secs(10)).await.unwrap();

    let needed = limiter.acquire(Duration::from_secs(10)).await.unwrap_err();

    assert_eq!(needed, Refusal::TooLong(Duration::from_secs(60)));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(limiter.requests_sent(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttled_reply_pauses_every_caller() {
    let limiter = Limiter::new(190, 5);
    let start = Instant::now();
    let permit = limiter.acquire(Duration::from_secs(120)).await.unwrap();

    let decision = limiter.observe(
        permit,
        ReplySignal {
            status: 503,
            headers: ThrottleHeaders::default(),
            retry_after: None,
        },
    );

    assert_eq!(decision, Decision::RetryAfter(Duration::from_secs(60)));
    assert_eq!(limiter.last_headers().unwrap().remaining, Some(0));
    limiter.acquire(Duration::from_secs(120)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn low_remaining_header_delays_next_request() {
    let limiter = Limiter::new(190, 5);
    let start = Instant::now();
    let permit = limiter.acquire(Duration::from_secs(120)).await.unwrap();

    let decision = limiter.observe(
        permit,
        ReplySignal {
            status: 200,
            headers: ThrottleHeaders::parse(Some("3"), Some("12000")),
            retry_after: None,
        },
    );
    assert_eq!(decision, Decision::Accept);
    limiter.acquire(Duration::from_secs(120)).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(12));
}

/// A shared budget in memory that grants `free` slots, then reports the
/// window full for `full_for`, and records every claim.
struct ScriptedBudget {
    free: Mutex<u32>,
    full_for: Duration,
    claims: Mutex<Vec<(u32, Duration)>>,
}

#[async_trait::async_trait]
impl SharedBudget for ScriptedBudget {
    async fn claim(&self, limit: u32, window: Duration) -> Result<SlotClaim, String> {
        self.claims.lock().unwrap().push((limit, window));
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
    async fn claim(&self, _limit: u32, _window: Duration) -> Result<SlotClaim, String> {
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

    limiter.acquire(Duration::from_secs(120)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    limiter.acquire(Duration::from_secs(120)).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(limiter.requests_sent(), 2);
    let held_for = Duration::from_secs(10) + SEND_ALLOWANCE;
    assert_eq!(
        *budget.claims.lock().unwrap(),
        vec![(190, held_for), (190, held_for), (190, held_for)]
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

    let refusal = limiter.acquire(Duration::from_secs(10)).await.unwrap_err();

    assert_eq!(refusal, Refusal::TooLong(Duration::from_secs(30)));
    assert_eq!(limiter.requests_sent(), 0);
}

#[tokio::test(start_paused = true)]
async fn unreadable_shared_budget_sends_nothing() {
    let limiter = Limiter::new(190, 5).with_shared_budget(Arc::new(BrokenBudget));

    let refusal = limiter.acquire(Duration::from_secs(120)).await.unwrap_err();

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
    let permit = limiter.acquire(Duration::from_secs(120)).await.unwrap();
    limiter.observe(
        permit,
        ReplySignal {
            status: 200,
            headers: ThrottleHeaders::parse(Some("3"), Some("12000")),
            retry_after: None,
        },
    );

    limiter.acquire(Duration::from_secs(120)).await.unwrap();

    assert_eq!(start.elapsed(), Duration::from_secs(12));
    assert_eq!(budget.claims.lock().unwrap().len(), 2);
}
