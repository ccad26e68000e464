//! The Slack and `_bulk` fakes speak their protocols over real HTTP: status codes, bodies,
//! headers, state, fault scripts, and shutdown.

use std::time::Duration;

use fleetwatch_test_support::bulk::{BulkAction, BulkFake, ItemFault, RequestFault};
use fleetwatch_test_support::slack::{
    SlackFake, SlackFault, SlackOutcome, SlackRoute, SlackTarget, Via, WebhookError,
};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// Status, `Retry-After`, body text.
async fn send(req: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
    let resp = req.send().await.expect("request reaches the fake");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.text().await.expect("body");
    (status, retry_after, body)
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

// ------------------------------------------------------------------------------------------
// Slack: incoming webhooks
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn webhook_success_is_plain_ok_and_recorded() {
    let slack = SlackFake::start();
    let url = slack.add_webhook("#alerts");
    let http = client();

    let (status, _, body) = send(http.post(&url).json(&json!({"text": "disk full"}))).await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    let delivered = slack.delivered(&url);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].text.as_deref(), Some("disk full"));
    assert_eq!(delivered[0].channel_name, "alerts");
    assert!(matches!(&delivered[0].via, Via::Webhook(p) if url.ends_with(p.as_str())));
    // The same message is visible in the channel.
    assert_eq!(slack.messages("alerts").len(), 1);

    let reqs = slack.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert!(matches!(reqs[0].route, SlackRoute::Webhook(_)));
    assert_eq!(reqs[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(reqs[0].json, Some(json!({"text": "disk full"})));
    assert_eq!(reqs[0].response.status, 200);
    assert_eq!(
        reqs[0].response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(matches!(reqs[0].outcome, SlackOutcome::Delivered { .. }));
    assert_eq!(slack.arrivals(&url).len(), 1);
}

#[tokio::test]
async fn webhook_bad_payloads_are_400() {
    let slack = SlackFake::start();
    let url = slack.add_webhook("alerts");
    let http = client();

    let (status, _, body) = send(
        http.post(&url)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!((status, body.as_str()), (400, "invalid_payload"));

    let (status, _, body) = send(http.post(&url).json(&json!({"username": "bot"}))).await;
    assert_eq!((status, body.as_str()), (400, "no_text"));

    let (status, _, body) = send(http.post(&url).json(&json!({"text": "", "blocks": []}))).await;
    assert_eq!((status, body.as_str()), (400, "no_text"));

    let too_many: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
    let (status, _, body) = send(
        http.post(&url)
            .json(&json!({"text": "x", "blocks": too_many})),
    )
    .await;
    assert_eq!((status, body.as_str()), (400, "invalid_blocks"));

    // Blocks or attachments alone are enough.
    let (status, _, _) =
        send(http.post(&url).json(
            &json!({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}),
        ))
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = send(
        http.post(&url)
            .json(&json!({"attachments": [{"color": "#f00"}]})),
    )
    .await;
    assert_eq!(status, 200);

    assert_eq!(slack.delivered(&url).len(), 2);
    assert_eq!(slack.rejected_count("invalid_payload"), 1);
    assert_eq!(slack.rejected_count("no_text"), 2);
    assert_eq!(slack.rejected_count("invalid_blocks"), 1);
}

#[tokio::test]
async fn webhook_permanent_errors_have_their_real_status() {
    let slack = SlackFake::start();
    let url = slack.add_webhook("alerts");
    let http = client();
    let payload = json!({"text": "x"});

    for (error, status, code) in [
        (WebhookError::ChannelNotFound, 404, "channel_not_found"),
        (WebhookError::ChannelIsArchived, 410, "channel_is_archived"),
        (WebhookError::ActionProhibited, 403, "action_prohibited"),
        (WebhookError::InvalidToken, 403, "invalid_token"),
        (WebhookError::NoService, 404, "no_service"),
        (WebhookError::RollupError, 500, "rollup_error"),
    ] {
        assert!(slack.break_webhook(&url, error));
        // Permanent: every attempt gets the same answer.
        for _ in 0..2 {
            let (s, _, body) = send(http.post(&url).json(&payload)).await;
            assert_eq!((s, body.as_str()), (status, code));
        }
    }
    assert!(slack.repair_webhook(&url));
    let (s, _, body) = send(http.post(&url).json(&payload)).await;
    assert_eq!((s, body.as_str()), (200, "ok"));

    // A webhook that was never registered (or was revoked) is 404 no_service.
    let unknown = slack.url("/services/T1/B1/nope");
    let (s, _, body) = send(http.post(&unknown).json(&payload)).await;
    assert_eq!((s, body.as_str()), (404, "no_service"));

    assert_eq!(slack.delivered(&url).len(), 1);
    assert_eq!(slack.rejected_count("channel_not_found"), 2);
    assert_eq!(slack.rejected_count("no_service"), 3);
}

#[tokio::test]
async fn webhook_rate_limit_has_retry_after_and_json_body() {
    let slack = SlackFake::start();
    let url = slack.add_webhook("alerts");
    slack.fail_next(
        SlackTarget::Webhook(url.clone()),
        1,
        SlackFault::rate_limited(7),
    );
    let http = client();

    let (status, retry_after, body) = send(http.post(&url).json(&json!({"text": "x"}))).await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("7"));
    assert_eq!(
        parse(&body),
        json!({"retry_after": 7, "ok": false, "error": "rate_limited"})
    );
    assert!(slack.delivered(&url).is_empty(), "a 429 stores nothing");

    let (status, _, _) = send(http.post(&url).json(&json!({"text": "x"}))).await;
    assert_eq!(status, 200);
    assert_eq!(slack.rejected_count("rate_limited"), 1);
    assert_eq!(slack.requests()[0].response.retry_after(), Some("7"));
}

#[tokio::test]
async fn slack_fault_script_is_consumed_in_order_then_rate_applies() {
    let slack = SlackFake::start();
    let a = slack.add_webhook("alerts");
    let b = slack.add_webhook("ops");
    let http = client();
    let payload = json!({"text": "x"});

    slack.fail_next(
        SlackTarget::Webhook(a.clone()),
        1,
        SlackFault::rate_limited(2),
    );
    slack.fail_next(
        SlackTarget::Webhook(a.clone()),
        2,
        SlackFault::server_error(503),
    );
    slack.fail_next(
        SlackTarget::Webhook(a.clone()),
        1,
        SlackFault::Webhook(WebhookError::RollupError),
    );
    assert_eq!(slack.pending_faults(SlackTarget::Webhook(a.clone())), 4);

    // Faults on one webhook do not touch another.
    let (s, _, _) = send(http.post(&b).json(&payload)).await;
    assert_eq!(s, 200);

    let mut seen = Vec::new();
    for _ in 0..5 {
        let (s, _, body) = send(http.post(&a).json(&payload)).await;
        seen.push((s, body));
    }
    let statuses: Vec<u16> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, vec![429, 503, 503, 500, 200]);
    assert_eq!(seen[3].1, "rollup_error");
    assert_eq!(slack.pending_faults(SlackTarget::Webhook(a.clone())), 0);

    // Every 3rd request to any webhook: requests 3 and 6 fail.
    slack.fail_every(SlackTarget::AllWebhooks, 3, SlackFault::server_error(500));
    let mut statuses = Vec::new();
    for i in 0..6 {
        let url = if i % 2 == 0 { &a } else { &b };
        statuses.push(send(http.post(url).json(&payload)).await.0);
    }
    assert_eq!(statuses, vec![200, 200, 500, 200, 200, 500]);

    slack.clear_faults();
    assert_eq!(send(http.post(&a).json(&payload)).await.0, 200);
    assert_eq!(slack.rejections().get("http_500"), Some(&2));
    assert_eq!(slack.rejections().get("http_503"), Some(&2));
}

// ------------------------------------------------------------------------------------------
// Slack: Web API
// ------------------------------------------------------------------------------------------

async fn api(
    http: &reqwest::Client,
    slack: &SlackFake,
    method: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Option<String>, Value) {
    let mut req = http.post(slack.url(&format!("/api/{method}"))).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let (status, retry_after, text) = send(req).await;
    (status, retry_after, parse(&text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_api_post_thread_and_update() {
    let slack = SlackFake::start();
    let alerts = slack.add_channel("alerts");
    assert!(alerts.starts_with("C0"), "{alerts}");
    assert_eq!(slack.add_channel("#alerts"), alerts, "IDs are stable");
    let token = Some(SlackFake::DEFAULT_TOKEN);
    let http = client();

    let (status, _, first) = api(
        &http,
        &slack,
        "chat.postMessage",
        token,
        json!({"channel": "#alerts", "text": "CPU high", "blocks": [{"type": "divider"}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first["ok"], json!(true));
    assert_eq!(first["channel"], json!(alerts));
    let ts = first["ts"].as_str().expect("ts").to_owned();
    assert_eq!(first["message"]["text"], json!("CPU high"));
    assert_eq!(first["message"]["ts"], json!(ts));

    // A name without '#' works too; ts values are unique and increasing.
    let (_, _, second) = api(
        &http,
        &slack,
        "chat.postMessage",
        token,
        json!({"channel": "alerts", "text": "reply", "thread_ts": ts}),
    )
    .await;
    let reply_ts = second["ts"].as_str().expect("ts").to_owned();
    assert!(reply_ts.parse::<f64>().expect("numeric ts") > ts.parse::<f64>().expect("ts"));
    assert_eq!(second["message"]["thread_ts"], json!(ts));

    // A reply to the reply lands in the parent's thread.
    let (_, _, third) = api(
        &http,
        &slack,
        "chat.postMessage",
        token,
        json!({"channel": alerts, "text": "reply 2", "thread_ts": reply_ts}),
    )
    .await;
    assert_eq!(third["ok"], json!(true));
    assert_eq!(slack.thread_replies("alerts", &ts).len(), 2);
    assert_eq!(slack.top_level_messages("#alerts").len(), 1);

    // Update twice: the stored message shows the latest, with a history.
    for text in ["CPU ok", "CPU resolved"] {
        let (status, _, up) = api(
            &http,
            &slack,
            "chat.update",
            token,
            json!({"channel": alerts, "ts": ts, "text": text}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(up["ok"], json!(true), "{up}");
        assert_eq!(up["ts"], json!(ts));
        assert_eq!(up["text"], json!(text));
    }
    let msg = slack.message(&alerts, &ts).expect("message");
    assert_eq!(msg.text.as_deref(), Some("CPU resolved"));
    assert_eq!(
        msg.blocks,
        Some(json!([{"type": "divider"}])),
        "an update without blocks keeps them"
    );
    assert_eq!(slack.update_count(&alerts, &ts), 2);
    assert_eq!(msg.updates[0].text.as_deref(), Some("CPU ok"));
    assert_eq!(msg.via, Via::WebApi);
    // An empty blocks array removes them.
    let (_, _, up) = api(
        &http,
        &slack,
        "chat.update",
        token,
        json!({"channel": alerts, "ts": ts, "text": "CPU resolved", "blocks": []}),
    )
    .await;
    assert_eq!(up["ok"], json!(true), "{up}");
    let msg = slack.message(&alerts, &ts).expect("message");
    assert_eq!(msg.blocks, None);
    assert_eq!(msg.text.as_deref(), Some("CPU resolved"));
    assert_eq!(slack.update_count(&alerts, &ts), 3);

    let reqs = slack.requests();
    assert_eq!(reqs[0].route, SlackRoute::PostMessage);
    assert_eq!(
        reqs[0].authorization.as_deref(),
        Some(format!("Bearer {}", SlackFake::DEFAULT_TOKEN).as_str())
    );
    assert_eq!(
        reqs.last().map(|r| r.route.clone()),
        Some(SlackRoute::Update)
    );
    assert_eq!(slack.arrivals("#alerts").len(), 6);
}

#[tokio::test]
async fn web_api_errors_are_http_200_ok_false() {
    let slack = SlackFake::start();
    let alerts = slack.add_channel("alerts");
    let http = client();
    let good = Some(SlackFake::DEFAULT_TOKEN);
    let text = json!({"channel": "alerts", "text": "x"});

    let (s, _, b) = api(&http, &slack, "chat.postMessage", None, text.clone()).await;
    assert_eq!((s, b), (200, json!({"ok": false, "error": "not_authed"})));
    let (s, _, b) = api(
        &http,
        &slack,
        "chat.postMessage",
        Some("xoxb-wrong"),
        text.clone(),
    )
    .await;
    assert_eq!((s, b), (200, json!({"ok": false, "error": "invalid_auth"})));

    slack.set_token("xoxb-rotated");
    let (_, _, b) = api(&http, &slack, "chat.postMessage", good, text.clone()).await;
    assert_eq!(b["error"], json!("invalid_auth"));
    let rotated = Some("xoxb-rotated");

    let (_, _, b) = api(
        &http,
        &slack,
        "chat.postMessage",
        rotated,
        json!({"channel": "#nope", "text": "x"}),
    )
    .await;
    assert_eq!(b, json!({"ok": false, "error": "channel_not_found"}));

    let (_, _, b) = api(
        &http,
        &slack,
        "chat.postMessage",
        rotated,
        json!({"channel": "alerts"}),
    )
    .await;
    assert_eq!(b["error"], json!("no_text"));

    let (_, _, b) = api(
        &http,
        &slack,
        "chat.postMessage",
        rotated,
        json!({"channel": "alerts", "text": "x", "thread_ts": "1.000001"}),
    )
    .await;
    assert_eq!(b["error"], json!("thread_not_found"));

    let (_, _, posted) = api(&http, &slack, "chat.postMessage", rotated, text.clone()).await;
    let ts = posted["ts"].as_str().expect("ts").to_owned();

    // chat.update needs the channel ID: a name is channel_not_found.
    let (_, _, b) = api(
        &http,
        &slack,
        "chat.update",
        rotated,
        json!({"channel": "alerts", "ts": ts, "text": "y"}),
    )
    .await;
    assert_eq!(b["error"], json!("channel_not_found"));
    let (_, _, b) = api(
        &http,
        &slack,
        "chat.update",
        rotated,
        json!({"channel": alerts, "ts": "1.999999", "text": "y"}),
    )
    .await;
    assert_eq!(b["error"], json!("message_not_found"));
    let (_, _, b) = api(
        &http,
        &slack,
        "chat.update",
        rotated,
        json!({"channel": alerts, "ts": ts}),
    )
    .await;
    assert_eq!(b["error"], json!("no_text"));

    // Not JSON.
    let (s, _, b) = send(
        http.post(slack.url("/api/chat.postMessage"))
            .bearer_auth("xoxb-rotated")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(
        (s, parse(&b)["error"].clone()),
        (200, json!("invalid_json"))
    );

    assert_eq!(slack.update_count(&alerts, &ts), 0);
    assert_eq!(slack.messages(&alerts).len(), 1);
    let rejections = slack.rejections();
    assert_eq!(rejections.get("invalid_auth"), Some(&2));
    assert_eq!(rejections.get("not_authed"), Some(&1));
    assert_eq!(rejections.get("channel_not_found"), Some(&2));
    assert_eq!(rejections.get("message_not_found"), Some(&1));
    assert_eq!(rejections.get("no_text"), Some(&2));
}

#[tokio::test]
async fn web_api_rate_limits() {
    let slack = SlackFake::start();
    slack.add_channel("alerts");
    slack.add_channel("ops");
    let http = client();
    let token = Some(SlackFake::DEFAULT_TOKEN);

    slack.fail_next(
        SlackTarget::Channel("#alerts".into()),
        1,
        SlackFault::rate_limited(3),
    );
    let (s, retry_after, b) = api(
        &http,
        &slack,
        "chat.postMessage",
        token,
        json!({"channel": "ops", "text": "x"}),
    )
    .await;
    assert_eq!((s, retry_after), (200, None), "{b}");
    let (s, retry_after, b) = api(
        &http,
        &slack,
        "chat.postMessage",
        token,
        json!({"channel": "alerts", "text": "x"}),
    )
    .await;
    assert_eq!(s, 429);
    assert_eq!(retry_after.as_deref(), Some("3"));
    assert_eq!(b, json!({"ok": false, "error": "ratelimited"}));
    assert!(slack.messages("alerts").is_empty());

    // Per-channel pace: with a one-hour minimum interval, the second message in a row is 429
    // whatever the machine's speed; another channel is not affected.
    slack.set_channel_min_interval(Some(Duration::from_secs(3600)));
    let body = json!({"channel": "alerts", "text": "x"});
    let (s, _, _) = api(&http, &slack, "chat.postMessage", token, body.clone()).await;
    assert_eq!(s, 200);
    let (s, retry_after, b) = api(&http, &slack, "chat.postMessage", token, body.clone()).await;
    assert_eq!(s, 429);
    assert_eq!(b["error"], json!("ratelimited"));
    let secs: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((3500..=3600).contains(&secs), "{secs}");
    let webhook = slack.add_webhook("alerts");
    let (s, _, b) = send(http.post(&webhook).json(&json!({"text": "x"}))).await;
    assert_eq!(s, 429);
    assert_eq!(parse(&b)["error"], json!("rate_limited"));

    assert_eq!(slack.messages("alerts").len(), 1);
    assert_eq!(slack.rejected_count("ratelimited"), 2);
    assert_eq!(slack.rejected_count("rate_limited"), 1);
    let arrivals = slack.arrivals("alerts");
    assert_eq!(arrivals.len(), 4, "API and webhook requests to the channel");
    assert_eq!(slack.arrivals(&webhook).len(), 1);
    assert!(arrivals.windows(2).all(|w| w[0] <= w[1]));
}

// ------------------------------------------------------------------------------------------
// _bulk
// ------------------------------------------------------------------------------------------

fn ndjson(lines: &[Value]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&l.to_string());
        s.push('\n');
    }
    s
}

async fn bulk(
    http: &reqwest::Client,
    url: &str,
    body: String,
    auth: Option<(&str, &str)>,
) -> (u16, Option<String>, Value) {
    let mut req = http
        .post(url)
        .header("content-type", "application/x-ndjson")
        .body(body);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    let (status, retry_after, text) = send(req).await;
    (status, retry_after, parse(&text))
}

fn statuses(resp: &Value) -> Vec<u64> {
    resp["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let (_, v) = item
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("one action per item");
            v["status"].as_u64().expect("status")
        })
        .collect()
}

#[tokio::test]
async fn bulk_create_index_conflict_and_delete() {
    let es = BulkFake::start();
    let http = client();

    let body = ndjson(&[
        json!({"create": {"_index": "logs", "_id": "a"}}),
        json!({"msg": "one"}),
        json!({"index": {"_index": "logs", "_id": "b"}}),
        json!({"msg": "two"}),
        json!({"index": {}}),
        json!({"msg": "generated id, index from the path"}),
    ]);
    let (status, _, resp) = bulk(&http, &es.bulk_url(Some("logs")), body, None).await;
    assert_eq!(status, 200);
    assert_eq!(resp["errors"], json!(false));
    assert!(resp["took"].is_u64());
    assert_eq!(statuses(&resp), vec![201, 201, 201]);
    let created = &resp["items"][0]["create"];
    assert_eq!(created["_index"], json!("logs"));
    assert_eq!(created["_id"], json!("a"));
    assert_eq!(created["_version"], json!(1));
    assert_eq!(created["result"], json!("created"));
    let generated = resp["items"][2]["index"]["_id"].as_str().expect("id");
    assert_eq!(generated.len(), 20);

    let body = ndjson(&[
        json!({"create": {"_index": "logs", "_id": "a"}}),
        json!({"msg": "again"}),
        json!({"index": {"_index": "logs", "_id": "b"}}),
        json!({"msg": "two v2"}),
        json!({"delete": {"_index": "logs", "_id": "b"}}),
        json!({"delete": {"_index": "logs", "_id": "zzz"}}),
    ]);
    let (status, _, resp) = bulk(&http, &es.bulk_url(None), body, None).await;
    assert_eq!(status, 200);
    assert_eq!(resp["errors"], json!(true));
    assert_eq!(statuses(&resp), vec![409, 200, 200, 404]);
    let conflict = &resp["items"][0]["create"];
    assert_eq!(
        conflict["error"]["type"],
        json!("version_conflict_engine_exception")
    );
    assert_eq!(
        conflict["error"]["reason"],
        json!("[a]: version conflict, document already exists (current version [1])")
    );
    assert_eq!(resp["items"][1]["index"]["result"], json!("updated"));
    assert_eq!(resp["items"][1]["index"]["_version"], json!(2));
    assert_eq!(resp["items"][2]["delete"]["result"], json!("deleted"));
    assert_eq!(resp["items"][3]["delete"]["result"], json!("not_found"));
    assert!(resp["items"][3]["delete"].get("error").is_none());

    assert_eq!(
        es.document("logs", "a").expect("a").source,
        json!({"msg": "one"}),
        "a conflicting create changes nothing"
    );
    assert_eq!(es.write_count("logs", "a"), 1);
    assert_eq!(es.write_count("logs", "b"), 2);
    assert!(es.document("logs", "b").expect("b").deleted);
    assert_eq!(es.documents_in("logs").len(), 2);
    assert_eq!(
        es.written_more_than_once(),
        vec![("logs".to_owned(), "b".to_owned())]
    );

    let stats = es.stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.items, 7);
    assert_eq!(stats.items_by_outcome.get("created"), Some(&3));
    assert_eq!(
        stats
            .items_by_outcome
            .get("version_conflict_engine_exception"),
        Some(&1)
    );
    assert_eq!(stats.items_by_status.get(&404), Some(&1));

    let reqs = es.requests();
    assert_eq!(reqs[0].path_index.as_deref(), Some("logs"));
    assert_eq!(
        reqs[0].content_type.as_deref(),
        Some("application/x-ndjson")
    );
    assert_eq!(reqs[0].items.len(), 3);
    assert_eq!(reqs[1].items[0].action, BulkAction::Create);
    assert_eq!(
        reqs[0].response.header("x-elastic-product"),
        Some("Elasticsearch")
    );
}

#[tokio::test]
async fn bulk_update_doc_upsert_and_noop() {
    let es = BulkFake::start();
    let http = client();
    let body = ndjson(&[
        json!({"update": {"_index": "s", "_id": "1"}}),
        json!({"doc": {"a": 1}}),
        json!({"update": {"_index": "s", "_id": "1"}}),
        json!({"doc": {"a": 1}, "doc_as_upsert": true}),
        json!({"update": {"_index": "s", "_id": "1"}}),
        json!({"doc": {"b": {"c": 2}}}),
        json!({"update": {"_index": "s", "_id": "1"}}),
        json!({"doc": {"b": {"c": 2}}}),
        json!({"update": {"_index": "s", "_id": "2"}}),
        json!({"doc": {"x": 1}, "upsert": {"x": 0}}),
    ]);
    let (status, _, resp) = bulk(&http, &es.bulk_url(None), body, None).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&resp), vec![404, 201, 200, 200, 201]);
    assert_eq!(
        resp["items"][0]["update"]["error"]["type"],
        json!("document_missing_exception")
    );
    assert_eq!(resp["items"][2]["update"]["result"], json!("updated"));
    assert_eq!(resp["items"][3]["update"]["result"], json!("noop"));
    assert_eq!(
        es.document("s", "1").expect("doc").source,
        json!({"a": 1, "b": {"c": 2}})
    );
    assert_eq!(es.document("s", "2").expect("doc").source, json!({"x": 0}));
    assert_eq!(es.write_count("s", "1"), 2);
}

#[tokio::test]
async fn bulk_item_faults_are_not_stored_and_follow_the_script() {
    let es = BulkFake::start();
    let http = client();
    es.fail_next_items(2, ItemFault::Rejected);
    es.fail_next_items(1, ItemFault::Unavailable);
    assert_eq!(es.pending_item_faults(), 3);

    let lines: Vec<Value> = (0..5)
        .flat_map(|i| {
            [
                json!({"create": {"_index": "logs", "_id": format!("d{i}")}}),
                json!({"n": i}),
            ]
        })
        .collect();
    let (status, _, resp) = bulk(&http, &es.bulk_url(None), ndjson(&lines), None).await;
    assert_eq!(status, 200);
    assert_eq!(resp["errors"], json!(true));
    assert_eq!(statuses(&resp), vec![429, 429, 503, 201, 201]);
    assert_eq!(
        resp["items"][0]["create"]["error"]["type"],
        json!("es_rejected_execution_exception")
    );
    assert_eq!(
        resp["items"][2]["create"]["error"]["type"],
        json!("unavailable_shards_exception")
    );
    assert_eq!(es.pending_item_faults(), 0);
    for i in 0..3 {
        assert!(es.document("logs", &format!("d{i}")).is_none(), "d{i}");
    }
    assert_eq!(es.documents().len(), 2);

    // Retrying the failed items stores each exactly once.
    let retry: Vec<Value> = lines[..6].to_vec();
    let (_, _, resp) = bulk(&http, &es.bulk_url(None), ndjson(&retry), None).await;
    assert_eq!(statuses(&resp), vec![201, 201, 201]);
    assert_eq!(es.documents().len(), 5);
    assert!(es.written_more_than_once().is_empty());

    // Every 2nd item, counted across requests.
    es.fail_every_item(2, ItemFault::Rejected);
    let more: Vec<Value> = (10..13)
        .flat_map(|i| {
            [
                json!({"index": {"_index": "logs", "_id": format!("d{i}")}}),
                json!({}),
            ]
        })
        .collect();
    let (_, _, resp) = bulk(&http, &es.bulk_url(None), ndjson(&more), None).await;
    assert_eq!(statuses(&resp), vec![201, 429, 201]);
    let (_, _, resp) = bulk(&http, &es.bulk_url(None), ndjson(&more[..2]), None).await;
    assert_eq!(statuses(&resp), vec![429]);
    assert!(es.document("logs", "d11").is_none());
    assert_eq!(
        es.stats()
            .items_by_outcome
            .get("es_rejected_execution_exception"),
        Some(&4)
    );
}

#[tokio::test]
async fn bulk_permanent_item_rejection_by_field_and_predicate() {
    let es = BulkFake::start();
    let http = client();
    es.reject_documents_with_field("bad");
    es.reject_documents_where(|index, doc| index == "strict" && doc["level"] == json!(7));

    let body = ndjson(&[
        json!({"index": {"_index": "logs", "_id": "1"}}),
        json!({"bad": true}),
        json!({"index": {"_index": "strict", "_id": "2"}}),
        json!({"level": 7}),
        json!({"index": {"_index": "strict", "_id": "3"}}),
        json!({"level": 3}),
    ]);
    let (_, _, resp) = bulk(&http, &es.bulk_url(None), body.clone(), None).await;
    assert_eq!(statuses(&resp), vec![400, 400, 201]);
    assert_eq!(resp["errors"], json!(true));
    assert_eq!(
        resp["items"][0]["index"]["error"]["type"],
        json!("mapper_parsing_exception")
    );
    // Permanent: the same documents are rejected again; doc 3 now exists, so it is updated.
    let (_, _, resp) = bulk(&http, &es.bulk_url(None), body, None).await;
    assert_eq!(statuses(&resp), vec![400, 400, 200]);
    assert_eq!(es.documents().len(), 1);
    assert_eq!(
        es.stats().items_by_outcome.get("mapper_parsing_exception"),
        Some(&4)
    );
}

#[tokio::test]
async fn bulk_request_faults_429_and_5xx() {
    let es = BulkFake::start();
    let http = client();
    es.fail_next_requests(1, RequestFault::too_many_requests(5));
    es.fail_next_requests(1, RequestFault::server_error(503));
    es.fail_next_requests(1, RequestFault::server_error(502));
    let body = ndjson(&[json!({"index": {"_index": "logs", "_id": "1"}}), json!({})]);

    let (status, retry_after, b) = send(
        http.post(es.bulk_url(None))
            .header("content-type", "application/x-ndjson")
            .body(body.clone()),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("5"));
    let b = parse(&b);
    assert_eq!(b["status"], json!(429));
    assert_eq!(b["error"]["type"], json!("es_rejected_execution_exception"));

    let (status, _, b) = bulk(&http, &es.bulk_url(None), body.clone(), None).await;
    assert_eq!(status, 503);
    assert_eq!(b["status"], json!(503));
    let (status, _, text) = send(
        http.post(es.bulk_url(None))
            .header("content-type", "application/x-ndjson")
            .body(body.clone()),
    )
    .await;
    assert_eq!((status, text.as_str()), (502, "Bad Gateway"));
    assert!(es.documents().is_empty());

    let (status, _, _) = bulk(&http, &es.bulk_url(None), body.clone(), None).await;
    assert_eq!(status, 200);
    assert_eq!(es.pending_request_faults(), 0);

    es.fail_every_request(2, RequestFault::server_error(500));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(bulk(&http, &es.bulk_url(None), body.clone(), None).await.0);
    }
    assert_eq!(seen, vec![200, 500, 200, 500]);
    let stats = es.stats();
    assert_eq!(stats.requests_by_status.get(&200), Some(&3));
    assert_eq!(stats.requests_by_status.get(&500), Some(&2));
    assert_eq!(es.write_count("logs", "1"), 3);
}

#[tokio::test]
async fn bulk_basic_auth() {
    let es = BulkFake::start_with_basic_auth("elastic", "s3cret");
    let http = client();
    let body = ndjson(&[json!({"index": {"_index": "logs", "_id": "1"}}), json!({})]);

    let (status, _, b) = bulk(&http, &es.bulk_url(None), body.clone(), None).await;
    assert_eq!(status, 401);
    assert_eq!(b["error"]["type"], json!("security_exception"));
    assert_eq!(
        b["error"]["reason"],
        json!("missing authentication credentials for REST request [/_bulk]")
    );
    let (status, _, b) = bulk(
        &http,
        &es.bulk_url(None),
        body.clone(),
        Some(("elastic", "wrong")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        b["error"]["reason"],
        json!("unable to authenticate user [elastic] for REST request [/_bulk]")
    );
    assert!(es.documents().is_empty());
    assert!(
        es.requests()[0]
            .response
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic"))
    );

    let (status, _, b) = bulk(&http, &es.bulk_url(None), body, Some(("elastic", "s3cret"))).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(es.documents().len(), 1);
    assert!(
        es.requests()[2]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))
    );
}

#[tokio::test]
async fn bulk_malformed_requests_are_400_as_a_whole() {
    let es = BulkFake::start();
    let http = client();
    let url = es.bulk_url(None);

    // No trailing newline.
    let (status, _, b) = bulk(
        &http,
        &url,
        "{\"index\":{\"_index\":\"logs\"}}\n{}".to_owned(),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(b["error"]["type"], json!("illegal_argument_exception"));
    assert_eq!(
        b["error"]["reason"],
        json!("The bulk request must be terminated by a newline [\\n]")
    );
    assert_eq!(b["status"], json!(400));

    // A valid first pair, then an action line that is not JSON: nothing is stored.
    let body = format!(
        "{}not json\n{{}}\n",
        ndjson(&[json!({"index": {"_index": "logs", "_id": "1"}}), json!({})])
    );
    let (status, _, b) = bulk(&http, &url, body, None).await;
    assert_eq!(status, 400);
    assert!(b["error"]["root_cause"].is_array());

    // Unknown action.
    let body = ndjson(&[json!({"upsert": {"_index": "logs"}}), json!({})]);
    let (status, _, b) = bulk(&http, &url, body, None).await;
    assert_eq!(status, 400);
    assert!(
        b["error"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("expected field [create], [delete], [index] or [update]"))
    );

    // No index anywhere; delete without id.
    let body = ndjson(&[
        json!({"index": {}}),
        json!({}),
        json!({"delete": {"_index": "x"}}),
    ]);
    let (status, _, b) = bulk(&http, &url, body, None).await;
    assert_eq!(status, 400);
    assert_eq!(
        b["error"]["type"],
        json!("action_request_validation_exception")
    );
    assert_eq!(
        b["error"]["reason"],
        json!("Validation Failed: 1: index is missing;2: id is missing;")
    );

    // Unknown metadata parameter (`_type` is gone since ES 8 / OpenSearch 2).
    let body = ndjson(&[
        json!({"index": {"_index": "x", "_type": "_doc"}}),
        json!({}),
    ]);
    assert_eq!(bulk(&http, &url, body, None).await.0, 400);

    // Missing source line.
    let body = ndjson(&[json!({"index": {"_index": "x"}})]);
    assert_eq!(bulk(&http, &url, body, None).await.0, 400);

    // Empty body, wrong content type.
    assert_eq!(bulk(&http, &url, String::new(), None).await.0, 400);
    let (status, _, _) = send(
        http.post(&url)
            .header("content-type", "text/plain")
            .body(ndjson(&[json!({"index": {"_index": "x"}}), json!({})])),
    )
    .await;
    assert_eq!(status, 406);

    // A source that is not an object fails only its item.
    let body = "{\"index\":{\"_index\":\"x\",\"_id\":\"1\"}}\n[1,2]\n{\"index\":{\"_index\":\"x\",\"_id\":\"2\"}}\n{\"ok\":1}\n";
    let (status, _, b) = bulk(&http, &url, body.to_owned(), None).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&b), vec![400, 201]);

    assert_eq!(es.documents().len(), 1);
    assert_eq!(es.stats().requests_by_status.get(&400), Some(&7));
}

#[tokio::test]
async fn bulk_per_index_item_faults_and_cluster_info() {
    let es = BulkFake::start_with_basic_auth("u", "p");
    let http = client();
    es.fail_next_items_in("metrics", 1, ItemFault::Unavailable);
    es.fail_every_item(3, ItemFault::Rejected);
    let body = ndjson(&[
        json!({"index": {"_index": "logs", "_id": "1"}}),
        json!({}),
        json!({"index": {"_index": "metrics", "_id": "1"}}),
        json!({}),
        json!({"index": {"_index": "metrics", "_id": "2"}}),
        json!({}),
        json!({"index": {"_index": "logs", "_id": "2"}}),
        json!({}),
    ]);
    let (_, _, resp) = bulk(&http, &es.bulk_url(None), body, Some(("u", "p"))).await;
    // metrics/1 takes the per-index fault (the global counter does not see it); the global
    // every-3rd then hits logs/2 (global items: logs/1, metrics/2, logs/2).
    assert_eq!(statuses(&resp), vec![201, 503, 201, 429]);
    assert_eq!(es.pending_item_faults(), 0);

    let (status, _, info) = send(http.get(es.url("/")).basic_auth("u", Some("p"))).await;
    assert_eq!(status, 200);
    assert_eq!(parse(&info)["tagline"], json!("You Know, for Search"));
    let (status, _, _) = send(http.get(es.url("/"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn slack_channel_fault_set_before_the_channel_exists() {
    let slack = SlackFake::start();
    slack.fail_next(
        SlackTarget::Channel("#later".into()),
        1,
        SlackFault::Api("is_archived".into()),
    );
    slack.add_channel("later");
    let http = client();
    let body = json!({"channel": "later", "text": "x"});
    let token = Some(SlackFake::DEFAULT_TOKEN);
    let (_, _, b) = api(&http, &slack, "chat.postMessage", token, body.clone()).await;
    assert_eq!(b, json!({"ok": false, "error": "is_archived"}));
    let (_, _, b) = api(&http, &slack, "chat.postMessage", token, body).await;
    assert_eq!(b["ok"], json!(true));
}

// ------------------------------------------------------------------------------------------
// Lifecycle
// ------------------------------------------------------------------------------------------

#[test]
fn fakes_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SlackFake>();
    assert_send_sync::<BulkFake>();
}

#[test]
fn fakes_work_without_a_caller_runtime_and_drop_frees_the_port() {
    let slack = SlackFake::start();
    let es = BulkFake::start();
    let slack_addr = slack.addr();
    let es_addr = es.addr();
    assert!(slack_addr.ip().is_loopback() && es_addr.ip().is_loopback());
    assert!(slack.base_url().starts_with("http://127.0.0.1:"));

    // Used from a runtime the test builds itself, then dropped outside it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = slack.add_webhook("alerts");
    let (http, http_status) = rt.block_on(async {
        let http = client();
        let status = http
            .post(&url)
            .json(&json!({"text": "x"}))
            .send()
            .await
            .expect("send")
            .status()
            .as_u16();
        (http, status)
    });
    assert_eq!(http_status, 200);
    // A keep-alive connection is still open in the client's pool: drop must not wait for it.
    std::net::TcpStream::connect(slack_addr).expect("connect while running");
    std::net::TcpStream::connect(es_addr).expect("connect while running");

    drop(slack);
    drop(es);
    assert!(
        std::net::TcpStream::connect_timeout(&slack_addr, Duration::from_secs(2)).is_err(),
        "the Slack fake's port is closed after drop"
    );
    assert!(
        std::net::TcpStream::connect_timeout(&es_addr, Duration::from_secs(2)).is_err(),
        "the _bulk fake's port is closed after drop"
    );
    drop(http);
    drop(rt);
}
