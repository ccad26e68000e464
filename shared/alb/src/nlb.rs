//! Network Load Balancer access log lines (written for TLS listeners only): `tls 2.0 <time> ...`.
//! Both timestamps are written without a zone (`2018-12-20T02:59:40`, UTC), as AWS's documented
//! example shows; the `Z` form is accepted too.

use crate::error::ParseError;
use crate::fields::{
    ExtraFields, Fields, opt_text, opt_utc_or_zoneless_timestamp, utc_or_zoneless_timestamp,
};
use crate::time::Timestamp;
use crate::tokenize::Text;
use crate::values::{HostPort, opt_u64};

/// `type` through `domain_name`; the ALPN fields and `tls_connection_creation_time` came later.
pub const NLB_REQUIRED_FIELDS: usize = 18;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NlbRecord<'a> {
    /// `tls`.
    pub log_type: Text<'a>,
    /// Log format version (`2.0`).
    pub version: Text<'a>,
    /// When the connection closed.
    pub time: Timestamp<'a>,
    /// `net/<name>/<id>`.
    pub elb: Text<'a>,
    pub listener: Text<'a>,
    pub client: HostPort<'a>,
    /// The load balancer side of the connection (`destination:port`).
    pub destination: Option<HostPort<'a>>,
    /// Milliseconds from connection open to close.
    pub connection_time_ms: Option<u64>,
    /// Milliseconds; `None` when no handshake happened (`-`).
    pub tls_handshake_time_ms: Option<u64>,
    pub received_bytes: Option<u64>,
    pub sent_bytes: Option<u64>,
    pub incoming_tls_alert: Option<Text<'a>>,
    pub chosen_cert_arn: Option<Text<'a>>,
    pub chosen_cert_serial: Option<Text<'a>>,
    pub tls_cipher: Option<Text<'a>>,
    /// `tlsv12`, `tlsv13`, ...
    pub tls_protocol_version: Option<Text<'a>>,
    pub tls_named_group: Option<Text<'a>>,
    pub domain_name: Option<Text<'a>>,
    pub alpn_fe_protocol: Option<Text<'a>>,
    pub alpn_be_protocol: Option<Text<'a>>,
    /// `"h2","http/1.1"` as written; see [`NlbRecord::alpn_client_preferences`].
    pub alpn_client_preference_list: Option<Text<'a>>,
    pub tls_connection_creation_time: Option<Timestamp<'a>>,
    pub extra: ExtraFields<'a>,
}

impl<'a> NlbRecord<'a> {
    /// The client's ALPN preferences, quotes removed.
    pub fn alpn_client_preferences(&self) -> impl Iterator<Item = Text<'a>> + 'a {
        self.alpn_client_preference_list
            .into_iter()
            .flat_map(|t| t.split(b','))
            .map(|t| {
                let b = t.raw();
                match b {
                    [b'"', inner @ .., b'"'] => Text::escaped(inner),
                    _ => t,
                }
            })
    }

    pub fn load_balancer_name(&self) -> Text<'a> {
        crate::access::lb_name(self.elb)
    }
}

pub fn parse_nlb(line: &[u8]) -> Result<NlbRecord<'_>, ParseError> {
    let mut f = Fields::new(line, NLB_REQUIRED_FIELDS);
    let log_type = f.next()?;
    if log_type.is_quoted() || !log_type.raw().iter().all(u8::is_ascii_alphanumeric) {
        return Err(ParseError::BadField { field: "type" });
    }
    let version = f.next()?.text();
    let time = utc_or_zoneless_timestamp(f.next()?, "time")?;
    let elb = f.next()?.text();
    let listener = f.next()?.text();
    let client = HostPort::required(f.next()?, "client:port")?;
    let destination = HostPort::optional(f.next()?, "destination:port")?;
    let connection_time_ms = opt_u64(f.next()?, "connection_time")?;
    let tls_handshake_time_ms = opt_u64(f.next()?, "tls_handshake_time")?;
    let received_bytes = opt_u64(f.next()?, "received_bytes")?;
    let sent_bytes = opt_u64(f.next()?, "sent_bytes")?;
    let incoming_tls_alert = f.next()?.value();
    let chosen_cert_arn = f.next()?.value();
    let chosen_cert_serial = f.next()?.value();
    let tls_cipher = f.next()?.value();
    let tls_protocol_version = f.next()?.value();
    let tls_named_group = f.next()?.value();
    let domain_name = f.next()?.value();
    let alpn_fe_protocol = opt_text(f.optional()?);
    let alpn_be_protocol = opt_text(f.optional()?);
    let alpn_client_preference_list = opt_text(f.optional()?);
    let tls_connection_creation_time =
        opt_utc_or_zoneless_timestamp(f.optional()?, "tls_connection_creation_time")?;
    let extra = ExtraFields::new(f.rest());
    Ok(NlbRecord {
        log_type: log_type.text(),
        version,
        time,
        elb,
        listener,
        client,
        destination,
        connection_time_ms,
        tls_handshake_time_ms,
        received_bytes,
        sent_bytes,
        incoming_tls_alert,
        chosen_cert_arn,
        chosen_cert_serial,
        tls_cipher,
        tls_protocol_version,
        tls_named_group,
        domain_name,
        alpn_fe_protocol,
        alpn_be_protocol,
        alpn_client_preference_list,
        tls_connection_creation_time,
        extra,
    })
}
