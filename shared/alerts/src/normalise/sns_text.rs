//! SNS notifications whose message is plain text (budgets, scripts, `aws sns publish`): an info
//! alert titled by the subject.

use super::SnsContext;
use crate::alert::{Alert, Severity, Source};
use crate::hash::stable_id;
use crate::text::{first_line, truncate_chars};

/// A title taken from the message itself is cut here; the full text stays in the summary.
const MAX_TITLE_FROM_MESSAGE: usize = 120;

pub(crate) fn from_message(message: &str, sns: &SnsContext) -> Alert {
    let title = sns.subject.clone().unwrap_or_else(|| {
        truncate_chars(first_line(message), MAX_TITLE_FROM_MESSAGE).into_owned()
    });
    let title = if title.is_empty() {
        "SNS message".to_string()
    } else {
        title
    };
    let topic = sns.topic_arn.clone().unwrap_or_default();
    let mut alert = Alert::new(Source::SnsText, title.clone());
    alert.severity = Severity::Info;
    alert.fingerprint = stable_id(&["sns_text", &topic, &title]);
    // SNS's MessageId is unique per publish and kept on redelivery: the natural id.
    alert.id = match &sns.message_id {
        Some(id) => stable_id(&["sns_text", id]),
        None => stable_id(&[
            "sns_text",
            &topic,
            sns.timestamp.as_deref().unwrap_or(""),
            message,
        ]),
    };
    alert.summary = message.trim().to_string();
    alert.occurred_at = sns.timestamp.clone();
    if let Some(name) = topic.rsplit(':').next().filter(|n| !n.is_empty()) {
        alert.push_field("Topic", name);
        alert.set_label("topic", name);
    }
    alert
}
