//! Application Load Balancer access log lines: the 33 documented fields, older shorter lines, and
//! any number of unknown trailing fields.

use crate::error::ParseError;
use crate::fields::{ExtraFields, Fields, opt_text, opt_timestamp, timestamp};
use crate::time::Timestamp;
use crate::tokenize::{Text, Token};
use crate::values::{HostPort, Request, Seconds, opt_u16, opt_u64, parse_i64};

/// Fields every access line has had since ALB launched (through `target_group_arn`); the ones
/// after are optional because older files stop at 22, 26, 27 or 29 fields.
pub const ACCESS_REQUIRED_FIELDS: usize = 17;

/// One access log line, borrowed from the line's bytes. Fields after the 17th are `None` when the
/// line is older than they are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccessRecord<'a> {
    /// `http`, `https`, `h2`, `grpcs`, `ws`, `wss`, ...
    pub request_type: Text<'a>,
    /// When the load balancer sent the response (the record's time).
    pub time: Timestamp<'a>,
    /// `app/<name>/<id>`.
    pub elb: Text<'a>,
    pub client: HostPort<'a>,
    /// `None` when no target was reached (`-`: Lambda target, WAF block, malformed request).
    pub target: Option<HostPort<'a>>,
    pub request_processing_time: Seconds,
    pub target_processing_time: Seconds,
    pub response_processing_time: Seconds,
    pub elb_status_code: Option<u16>,
    pub target_status_code: Option<u16>,
    pub received_bytes: Option<u64>,
    pub sent_bytes: Option<u64>,
    pub request: Request<'a>,
    pub user_agent: Option<Text<'a>>,
    pub ssl_cipher: Option<Text<'a>>,
    pub ssl_protocol: Option<Text<'a>>,
    pub target_group_arn: Option<Text<'a>>,
    pub trace_id: Option<Text<'a>>,
    /// SNI as sent by the client; kept raw (a leading space has been seen, see
    /// [`Text::trim_spaces`]).
    pub domain_name: Option<Text<'a>>,
    /// Certificate ARN, `session-reused`, or `None`.
    pub chosen_cert_arn: Option<Text<'a>>,
    /// `0` default rule, `-1` rule evaluation error, `None` for `-`.
    pub matched_rule_priority: Option<i64>,
    pub request_creation_time: Option<Timestamp<'a>>,
    /// Comma-separated; `Some("")` when the field is present but empty.
    pub actions_executed: Option<Text<'a>>,
    pub redirect_url: Option<Text<'a>>,
    pub error_reason: Option<Text<'a>>,
    pub target_port_list: Option<TargetList<'a>>,
    pub target_status_code_list: Option<TargetList<'a>>,
    pub classification: Option<Text<'a>>,
    pub classification_reason: Option<Text<'a>>,
    /// `TID_<hex>`: joins access and connection logs.
    pub conn_trace_id: Option<Text<'a>>,
    pub transformed_host: Option<Text<'a>>,
    pub transformed_uri: Option<Text<'a>>,
    pub request_transform_status: Option<Text<'a>>,
    /// Fields after the 33rd, kept as they are.
    pub extra: ExtraFields<'a>,
    /// How many fields the line had up to the last known one (33 for a current line).
    pub known_fields: usize,
}

impl<'a> AccessRecord<'a> {
    /// The entries of `actions_executed` (`waf`, `forward`, ...), empty pieces skipped.
    pub fn actions(&self) -> impl Iterator<Item = Text<'a>> + 'a {
        self.actions_executed
            .into_iter()
            .flat_map(|t| t.split(b','))
    }

    /// The load balancer's name from `app/<name>/<id>`.
    pub fn load_balancer_name(&self) -> Text<'a> {
        lb_name(self.elb)
    }
}

/// `<name>` out of `app/<name>/<id>` or `net/<name>/<id>`; the whole field otherwise.
pub(crate) fn lb_name(elb: Text<'_>) -> Text<'_> {
    let b = elb.raw();
    let mut parts = b.splitn(3, |&c| c == b'/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(kind), Some(name), Some(_)) => elb.slice(kind.len() + 1..kind.len() + 1 + name.len()),
        _ => elb,
    }
}

/// A space-separated list of targets (`ip:port`) or of their status codes, quoted or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetList<'a> {
    text: Text<'a>,
}

impl<'a> TargetList<'a> {
    /// The entries; `-` entries (no target) are skipped.
    pub fn iter(&self) -> impl Iterator<Item = Text<'a>> + 'a {
        self.text.split(b' ').filter(|t| t.raw() != b"-")
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The list as written (without quotes).
    pub fn raw(&self) -> &'a [u8] {
        self.text.raw()
    }

    /// The whole list as one space-separated value (the Athena column form).
    pub fn text(&self) -> Text<'a> {
        self.text
    }
}

/// Parses one access log line (no line ending).
pub fn parse_access(line: &[u8]) -> Result<AccessRecord<'_>, ParseError> {
    let mut f = Fields::new(line, ACCESS_REQUIRED_FIELDS);
    let request_type = f.next()?;
    if request_type.is_quoted()
        || request_type.raw().is_empty()
        || !request_type
            .raw()
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
    {
        return Err(ParseError::BadField { field: "type" });
    }
    let time = timestamp(f.next()?, "time")?;
    let elb = f.next()?.text();
    let client = HostPort::required(f.next()?, "client:port")?;
    let target = HostPort::optional(f.next()?, "target:port")?;
    let request_processing_time = Seconds::parse(f.next()?, "request_processing_time")?;
    let target_processing_time = Seconds::parse(f.next()?, "target_processing_time")?;
    let response_processing_time = Seconds::parse(f.next()?, "response_processing_time")?;
    let elb_status_code = opt_u16(f.next()?, "elb_status_code")?;
    let target_status_code = opt_u16(f.next()?, "target_status_code")?;
    let received_bytes = opt_u64(f.next()?, "received_bytes")?;
    let sent_bytes = opt_u64(f.next()?, "sent_bytes")?;
    let request = Request::split(f.next()?.text());
    let user_agent = f.next()?.value();
    let ssl_cipher = f.next()?.value();
    let ssl_protocol = f.next()?.value();
    let target_group_arn = f.next()?.value();

    // From here on every field may be missing (older lines).
    let trace_id = opt_text(f.optional()?);
    let domain_name = opt_text(f.optional()?);
    let chosen_cert_arn = opt_text(f.optional()?);
    let matched_rule_priority = match f.optional()? {
        Some(t) if !t.is_dash() => Some(parse_i64(t.raw()).ok_or(ParseError::BadNumber {
            field: "matched_rule_priority",
        })?),
        _ => None,
    };
    let request_creation_time = opt_timestamp(f.optional()?, "request_creation_time")?;
    let actions_executed = opt_text(f.optional()?);
    let redirect_url = opt_text(f.optional()?);
    let error_reason = opt_text(f.optional()?);
    let target_port_list = f
        .optional()?
        .map(|first| take_list(&mut f, first, looks_like_host_port));
    let target_status_code_list = f
        .optional()?
        .map(|first| take_list(&mut f, first, looks_like_status));
    let classification = opt_text(f.optional()?);
    let classification_reason = opt_text(f.optional()?);
    let conn_trace_id = opt_text(f.optional()?);
    let transformed_host = opt_text(f.optional()?);
    let transformed_uri = opt_text(f.optional()?);
    let request_transform_status = opt_text(f.optional()?);
    let known_fields = f.count;
    let extra = ExtraFields::new(f.rest());

    Ok(AccessRecord {
        request_type: request_type.text(),
        time,
        elb,
        client,
        target,
        request_processing_time,
        target_processing_time,
        response_processing_time,
        elb_status_code,
        target_status_code,
        received_bytes,
        sent_bytes,
        request,
        user_agent,
        ssl_cipher,
        ssl_protocol,
        target_group_arn,
        trace_id,
        domain_name,
        chosen_cert_arn,
        matched_rule_priority,
        request_creation_time,
        actions_executed,
        redirect_url,
        error_reason,
        target_port_list,
        target_status_code_list,
        classification,
        classification_reason,
        conn_trace_id,
        transformed_host,
        transformed_uri,
        request_transform_status,
        extra,
        known_fields,
    })
}

/// A target list field. Quoted, it is one field. Unquoted (older docs, Vector's tests), several
/// targets appear as several fields: take the following unquoted fields that look like entries.
fn take_list<'a>(
    f: &mut Fields<'a>,
    first: Token<'a>,
    looks_like: fn(&[u8]) -> bool,
) -> TargetList<'a> {
    if first.is_quoted() || first.is_dash() {
        return TargetList { text: first.text() };
    }
    let (start, mut end) = first.span();
    loop {
        let mut ahead = f.tok;
        match ahead.next_token() {
            Ok(Some(t)) if !t.is_quoted() && looks_like(t.raw()) => {
                end = t.span().1;
                f.tok = ahead;
                f.count += 1;
            }
            _ => break,
        }
    }
    TargetList {
        text: Text::literal(&f.line[start..end]),
    }
}

fn looks_like_host_port(b: &[u8]) -> bool {
    b.contains(&b':') && HostPort::parse(b).is_some_and(|h| h.port.is_some())
}

fn looks_like_status(b: &[u8]) -> bool {
    !b.is_empty() && b.len() <= 3 && b.iter().all(u8::is_ascii_digit)
}
