//! `fleetwatch-slack`'s client against the Slack fake (Slack cannot run here; the fake answers
//! with the real webhook and Web API status codes, bodies and `Retry-After`).

use std::time::Duration;

use fleetwatch_ports::{ErrorChain, Secret};
use fleetwatch_slack::SlackClient;
use fleetwatch_slack_fanout::{SlackError, SlackTransport};
use fleetwatch_test_support::slack::{SlackFake, SlackFault, SlackTarget, WebhookError};
use serde_json::json;

fn client(fake: &SlackFake) -> SlackClient {
    SlackClient::new(fake.api_base_url(), Duration::from_secs(5)).unwrap()
}

fn message(text: &str) -> serde_json::Value {
    json!({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]})
}

#[tokio::test]
async fn webhook_post_is_delivered() {
    let fake = SlackFake::start();
    let url = Secret::new(fake.add_webhook("alerts"));
    client(&fake)
        .post_webhook(&url, &message("disk full"))
        .await
        .unwrap();
    let delivered = fake.delivered("alerts");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].text.as_deref(), Some("disk full"));
}

#[tokio::test]
async fn webhook_answers_are_classified_and_never_show_the_url() {
    let fake = SlackFake::start();
    let url = fake.add_webhook("alerts");
    let secret = Secret::new(url.clone());
    let slack = client(&fake);

    fake.fail_next(
        SlackTarget::Webhook(url.clone()),
        1,
        SlackFault::rate_limited(7),
    );
    assert!(matches!(
        slack.post_webhook(&secret, &message("x")).await,
        Err(SlackError::RateLimited { retry_after }) if retry_after == Duration::from_secs(7)
    ));
    fake.fail_next(
        SlackTarget::Webhook(url.clone()),
        1,
        SlackFault::server_error(503),
    );
    assert!(matches!(
        slack.post_webhook(&secret, &message("x")).await,
        Err(SlackError::Transient(_))
    ));

    for (error, code) in [
        (WebhookError::ChannelNotFound, "channel_not_found"),
        (WebhookError::ChannelIsArchived, "channel_is_archived"),
        (WebhookError::NoService, "no_service"),
        (WebhookError::InvalidToken, "invalid_token"),
    ] {
        fake.break_webhook(&url, error);
        let result = slack
            .post_webhook(&secret, &message("x"))
            .await
            .unwrap_err();
        assert!(result.is_permanent(), "{error:?}: {result}");
        let text = format!("{} {result:?}", ErrorChain(&result));
        assert!(text.contains(code), "{text}");
        assert!(!text.contains(&url), "the webhook URL leaked: {text}");
    }
    assert!(fake.delivered("alerts").is_empty());
}

#[tokio::test]
async fn an_unreachable_webhook_is_transient_and_does_not_leak_the_url() {
    // A port nobody listens on (bound then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/services/T0/B0/SECRETPART");
    let slack = SlackClient::new("http://127.0.0.1:1/api", Duration::from_secs(2)).unwrap();
    let error = slack
        .post_webhook(&Secret::new(url), &message("x"))
        .await
        .unwrap_err();
    assert!(matches!(error, SlackError::Transient(_)), "{error}");
    assert!(!format!("{error:?}").contains("SECRETPART"), "{error:?}");
}

#[tokio::test]
async fn bot_mode_posts_replies_in_thread_and_updates_the_parent() {
    let fake = SlackFake::start();
    fake.set_token("xoxb-good");
    let channel_id = fake.add_channel("deploys");
    let token = Secret::new("xoxb-good");
    let slack = client(&fake);

    let parent = slack
        .post_message(&token, "#deploys", &message("deploying"))
        .await
        .unwrap();
    assert_eq!(parent.channel_id, channel_id);
    let mut reply = message("rolled back");
    reply["thread_ts"] = json!(parent.ts);
    slack
        .post_message(&token, "#deploys", &reply)
        .await
        .unwrap();
    slack
        .update_message(&token, &parent, &message("FAILED"))
        .await
        .unwrap();

    assert_eq!(fake.top_level_messages("deploys").len(), 1);
    assert_eq!(fake.thread_replies("deploys", &parent.ts).len(), 1);
    assert_eq!(fake.update_count("deploys", &parent.ts), 1);
    assert_eq!(
        fake.message("deploys", &parent.ts).unwrap().text.as_deref(),
        Some("FAILED")
    );
}

#[tokio::test]
async fn web_api_errors_are_classified_and_never_show_the_token() {
    let fake = SlackFake::start();
    fake.set_token("xoxb-good");
    fake.add_channel("ops");
    let slack = client(&fake);

    let wrong = Secret::new("xoxb-wrong-token-value");
    let error = slack
        .post_message(&wrong, "ops", &message("x"))
        .await
        .unwrap_err();
    assert!(matches!(error, SlackError::Permanent(_)), "{error:?}");
    assert_eq!(
        ErrorChain(&error).to_string(),
        "Slack refused the message: chat.postMessage: invalid_auth"
    );
    assert!(!format!("{error:?}").contains("xoxb-wrong-token-value"));

    let token = Secret::new("xoxb-good");
    let error = slack
        .post_message(&token, "no-such-channel", &message("x"))
        .await
        .unwrap_err();
    assert!(matches!(error, SlackError::Permanent(_)), "{error:?}");
    assert_eq!(
        ErrorChain(&error).to_string(),
        "Slack refused the message: chat.postMessage: channel_not_found"
    );

    fake.fail_next(SlackTarget::AllApi, 1, SlackFault::rate_limited(3));
    assert!(matches!(
        slack.post_message(&token, "ops", &message("x")).await,
        Err(SlackError::RateLimited { retry_after }) if retry_after == Duration::from_secs(3)
    ));
    fake.fail_next(SlackTarget::AllApi, 1, SlackFault::server_error(500));
    assert!(matches!(
        slack.post_message(&token, "ops", &message("x")).await,
        Err(SlackError::Transient(_))
    ));
    fake.fail_next(
        SlackTarget::AllApi,
        1,
        SlackFault::Api("internal_error".into()),
    );
    assert!(matches!(
        slack.post_message(&token, "ops", &message("x")).await,
        Err(SlackError::Transient(_))
    ));
    assert!(
        slack
            .post_message(&token, "ops", &message("x"))
            .await
            .is_ok()
    );
}
