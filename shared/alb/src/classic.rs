//! Classic Load Balancer access log lines: no `type` field, the line starts with the time.

use crate::error::ParseError;
use crate::fields::{ExtraFields, Fields, opt_text, timestamp};
use crate::time::Timestamp;
use crate::tokenize::Text;
use crate::values::{HostPort, Request, Seconds, opt_u16, opt_u64};

/// `time` through `"request"`; `user_agent`, `ssl_cipher`, `ssl_protocol` came later.
pub const CLASSIC_REQUIRED_FIELDS: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassicRecord<'a> {
    pub time: Timestamp<'a>,
    /// The load balancer's name.
    pub elb: Text<'a>,
    pub client: HostPort<'a>,
    /// `None` when no back end was reached (`-`).
    pub backend: Option<HostPort<'a>>,
    pub request_processing_time: Seconds,
    pub backend_processing_time: Seconds,
    pub response_processing_time: Seconds,
    pub elb_status_code: Option<u16>,
    pub backend_status_code: Option<u16>,
    pub received_bytes: Option<u64>,
    pub sent_bytes: Option<u64>,
    /// All parts `None` for TCP listeners (`"- - - "`).
    pub request: Request<'a>,
    pub user_agent: Option<Text<'a>>,
    pub ssl_cipher: Option<Text<'a>>,
    pub ssl_protocol: Option<Text<'a>>,
    pub extra: ExtraFields<'a>,
}

impl ClassicRecord<'_> {
    /// Whether the line is from an HTTP(S) listener (a TCP/SSL listener logs no request).
    pub fn is_http(&self) -> bool {
        self.request.method.is_some() || self.request.url.is_some()
    }
}

pub fn parse_classic(line: &[u8]) -> Result<ClassicRecord<'_>, ParseError> {
    let mut f = Fields::new(line, CLASSIC_REQUIRED_FIELDS);
    let time = timestamp(f.next()?, "time")?;
    let elb = f.next()?.text();
    let client = HostPort::required(f.next()?, "client:port")?;
    let backend = HostPort::optional(f.next()?, "backend:port")?;
    let request_processing_time = Seconds::parse(f.next()?, "request_processing_time")?;
    let backend_processing_time = Seconds::parse(f.next()?, "backend_processing_time")?;
    let response_processing_time = Seconds::parse(f.next()?, "response_processing_time")?;
    let elb_status_code = opt_u16(f.next()?, "elb_status_code")?;
    let backend_status_code = opt_u16(f.next()?, "backend_status_code")?;
    let received_bytes = opt_u64(f.next()?, "received_bytes")?;
    let sent_bytes = opt_u64(f.next()?, "sent_bytes")?;
    let request = Request::split(f.next()?.text());
    let user_agent = opt_text(f.optional()?);
    let ssl_cipher = opt_text(f.optional()?);
    let ssl_protocol = opt_text(f.optional()?);
    let extra = ExtraFields::new(f.rest());
    Ok(ClassicRecord {
        time,
        elb,
        client,
        backend,
        request_processing_time,
        backend_processing_time,
        response_processing_time,
        elb_status_code,
        backend_status_code,
        received_bytes,
        sent_bytes,
        request,
        user_agent,
        ssl_cipher,
        ssl_protocol,
        extra,
    })
}
