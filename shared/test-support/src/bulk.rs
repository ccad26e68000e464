//! A protocol-faithful fake of the OpenSearch / Elasticsearch `_bulk` API.
//!
//! This is a fake because neither OpenSearch nor Elasticsearch can run in tests here (a JVM
//! cluster is far too heavy for a 2-core CI box). [`BulkFake`] runs a small HTTP server on a free
//! loopback port (`127.0.0.1:0`) on its own thread and tokio runtime, so it serves any test
//! (`current_thread` or `multi_thread` tokio tests, or synchronous code). Dropping it shuts the
//! server down and frees the port.
//!
//! # Protocol behaviours reproduced
//!
//! - `POST` (or `PUT`) `/_bulk` and `/{index}/_bulk`, query string ignored (recorded); another
//!   method: 405; another path: 400 `no handler found for uri`. `GET /` answers a cluster info
//!   body (Elasticsearch 8 style) for connectivity checks.
//! - `Content-Type` must be `application/x-ndjson` or `application/json`, else 406 (ES is strict
//!   about it since 6.0).
//! - NDJSON body: action/metadata lines `index`, `create`, `update`, `delete` with `_index` (or the
//!   path's index) and `_id`; `index`/`create`/`update` are followed by a source line. Blank lines
//!   between entries are skipped. An empty body answers 400 `parse_exception` (`request body is
//!   required`); a body not ending in `\n` answers 400 `illegal_argument_exception` (`The bulk
//!   request must be terminated by a newline [\n]`); a malformed action line (not JSON, not an
//!   object, unknown action, unknown metadata parameter, missing source line) or an unparsable
//!   update body answers 400 for the whole request; a missing index, or a missing `_id` for
//!   `update`/`delete`, answers 400 `action_request_validation_exception`. Every such error body is
//!   ES-shaped: `{"error":{"root_cause":[..],"type":..,"reason":..},"status":400}`.
//! - Response `{"took":N,"errors":bool,"items":[{"<action>":{"_index","_id","_version","result",
//!   "_shards","_seq_no","_primary_term","status"}}]}`, with the `X-Elastic-Product:
//!   Elasticsearch` header the official clients check.
//! - `index`: new id 201 `created`, existing id 200 `updated` (version + 1); a missing `_id` is
//!   generated (20 chars). `create` of an existing id: item 409
//!   `version_conflict_engine_exception`, reason `[<id>]: version conflict, document already
//!   exists (current version [N])`. `update` with `doc` (merged), `upsert`, `doc_as_upsert`: 200
//!   `updated`, 200 `noop` when nothing changes, 201 `created` by upsert, 404
//!   `document_missing_exception` otherwise (`script` is not supported: item 400). `delete`: 200
//!   `deleted`, 404 `not_found` (not an error: `errors` stays false). A source that is not a JSON
//!   object: item 400 `mapper_parsing_exception`. Optimistic concurrency parameters are accepted
//!   and ignored.
//! - Optional HTTP basic auth ([`BulkFake::start_with_basic_auth`]): missing or wrong credentials
//!   answer 401 `security_exception` with a `WWW-Authenticate: Basic realm="security"` header.
//!
//! # Fault injection
//!
//! Deterministic, no randomness:
//! - whole request ([`RequestFault`]): 429 with `Retry-After` and an `es_rejected_execution_exception`
//!   body, or a 5xx; scripted ([`BulkFake::fail_next_requests`]) or every k-th request
//!   ([`BulkFake::fail_every_request`]);
//! - per item ([`ItemFault`]): 429 `es_rejected_execution_exception`, 503
//!   `unavailable_shards_exception`, 400 `mapper_parsing_exception`; scripted
//!   ([`BulkFake::fail_next_items`], items counted across requests) or every k-th item
//!   ([`BulkFake::fail_every_item`]), also per index ([`BulkFake::fail_next_items_in`],
//!   [`BulkFake::fail_every_item_in`]);
//! - permanent per-document rejection, 400 `mapper_parsing_exception`, for documents matching a
//!   predicate ([`BulkFake::reject_documents_where`]) or holding a field
//!   ([`BulkFake::reject_documents_with_field`]).
//!
//! Rejected items are never stored. Auth is checked before request faults, request faults before
//! parsing, item faults before the document predicate and the item's own semantics.
//!
//! # Recording
//!
//! Every request ([`BulkRequest`]: method, path, Authorization, Content-Type, raw body, arrival
//! [`Instant`], per-item outcomes, the answer), every document per (index, id) with how many times
//! it was written ([`StoredDoc`]), and counters ([`BulkStats`]). Accessors return clones.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

pub use crate::slack::RecordedResponse;
use crate::slack::harness::{FaultPlan, Reply, ServerThread, base64_decode, base64_encode, lock};

/// A fault answered for a whole `_bulk` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestFault {
    /// HTTP 429, `Retry-After: retry_after_secs`, `es_rejected_execution_exception` body.
    TooManyRequests { retry_after_secs: u64 },
    /// A 5xx (500, 502, 503, 504). 500 and 503 carry an ES-shaped body; 502 and 504 a proxy's
    /// plain-text body.
    ServerError { status: u16 },
}

impl RequestFault {
    /// 429 with `Retry-After: secs`.
    pub fn too_many_requests(secs: u64) -> Self {
        Self::TooManyRequests {
            retry_after_secs: secs,
        }
    }

    /// A 5xx answer.
    pub fn server_error(status: u16) -> Self {
        Self::ServerError { status }
    }
}

/// A fault answered for one item of a `_bulk` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFault {
    /// Item status 429, `es_rejected_execution_exception` (transient).
    Rejected,
    /// Item status 503, `unavailable_shards_exception` (transient).
    Unavailable,
    /// Item status 400, `mapper_parsing_exception` (permanent).
    MapperParsing,
}

/// A bulk action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BulkAction {
    Index,
    Create,
    Update,
    Delete,
}

impl BulkAction {
    /// The action's name in NDJSON and in the response.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "index" => Some(Self::Index),
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItemRecord {
    pub action: BulkAction,
    pub index: String,
    /// The `_id` given or generated.
    pub id: String,
    /// The item's status (201, 200, 404, 409, 429, 503, 400, ...).
    pub status: u16,
    /// `created`, `updated`, `deleted`, `not_found`, `noop` for a success.
    pub result: Option<String>,
    /// The error `type` for a failure.
    pub error_type: Option<String>,
}

impl BulkItemRecord {
    /// True when the document was stored, updated or deleted.
    pub fn is_success(&self) -> bool {
        self.error_type.is_none() && self.result.as_deref() != Some("not_found")
    }
}

/// One request received by the fake.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    /// Arrival order, from 0.
    pub seq: usize,
    /// Arrival time.
    pub at: Instant,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The index named in the path (`/{index}/_bulk`).
    pub path_index: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The raw body.
    pub body: Bytes,
    /// Item outcomes, in request order (empty when the whole request was refused).
    pub items: Vec<BulkItemRecord>,
    pub response: RecordedResponse,
}

/// A document as stored, per (index, id).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    pub index: String,
    pub id: String,
    /// The latest source (kept after a delete).
    pub source: Value,
    pub version: u64,
    pub seq_no: u64,
    /// Successful writes (`index`, `create`, `update` that changed it or upserted).
    pub writes: u32,
    /// Deleted by a `delete` item.
    pub deleted: bool,
}

/// Counters of requests and items by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkStats {
    /// Requests received.
    pub requests: usize,
    /// Requests by HTTP status answered.
    pub requests_by_status: BTreeMap<u16, usize>,
    /// Items processed (in requests that were not refused as a whole).
    pub items: usize,
    /// Items by status.
    pub items_by_status: BTreeMap<u16, usize>,
    /// Items by outcome: the `result` (`created`, `updated`, `deleted`, `not_found`, `noop`) or
    /// the error `type`.
    pub items_by_outcome: BTreeMap<String, usize>,
}

/// A predicate over (index, document) selecting documents to reject permanently.
type DocPredicate = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

struct Rejector(DocPredicate);

impl std::fmt::Debug for Rejector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rejector(..)")
    }
}

#[derive(Debug)]
struct BulkState {
    auth: Option<(String, String)>,
    docs: BTreeMap<(String, String), StoredDoc>,
    seq_nos: BTreeMap<String, u64>,
    requests: Vec<BulkRequest>,
    request_plan: FaultPlan<RequestFault>,
    item_plan: FaultPlan<ItemFault>,
    index_item_plans: BTreeMap<String, FaultPlan<ItemFault>>,
    rejectors: Vec<Rejector>,
    id_counter: u64,
}

impl BulkState {
    fn next_seq_no(&mut self, index: &str) -> u64 {
        let n = self.seq_nos.entry(index.to_owned()).or_insert(0);
        let v = *n;
        *n += 1;
        v
    }

    fn rejected_by_predicate(&self, index: &str, doc: &Value) -> bool {
        self.rejectors.iter().any(|r| (r.0)(index, doc))
    }
}

/// A fake OpenSearch/Elasticsearch `_bulk` endpoint. See the [module documentation](self).
#[derive(Debug)]
pub struct BulkFake {
    state: Arc<Mutex<BulkState>>,
    server: ServerThread,
    base: String,
}

impl BulkFake {
    /// Starts the fake without authentication; returns once it accepts connections. Panics if no
    /// loopback port can be bound (see [`BulkFake::try_start`]).
    pub fn start() -> Self {
        Self::try_start(None).expect("start the _bulk fake on 127.0.0.1")
    }

    /// Starts the fake requiring HTTP basic auth with these credentials.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::try_start(Some((user, password))).expect("start the _bulk fake on 127.0.0.1")
    }

    /// Starts the fake, with basic auth when `auth` is given.
    pub fn try_start(auth: Option<(&str, &str)>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(BulkState {
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            docs: BTreeMap::new(),
            seq_nos: BTreeMap::new(),
            requests: Vec::new(),
            request_plan: FaultPlan::default(),
            item_plan: FaultPlan::default(),
            index_item_plans: BTreeMap::new(),
            rejectors: Vec::new(),
            id_counter: 0,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let server = ServerThread::start("bulk-fake", app)?;
        let base = server.base_url();
        Ok(Self {
            state,
            server,
            base,
        })
    }

    fn st(&self) -> std::sync::MutexGuard<'_, BulkState> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// `base_url()` + `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `/_bulk`, or `/{index}/_bulk`, as a full URL.
    pub fn bulk_url(&self, index: Option<&str>) -> String {
        match index {
            Some(i) => self.url(&format!("/{i}/_bulk")),
            None => self.url("/_bulk"),
        }
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Requires (or, with `None`, stops requiring) HTTP basic auth.
    pub fn set_basic_auth(&self, auth: Option<(&str, &str)>) {
        self.st().auth = auth.map(|(u, p)| (u.to_owned(), p.to_owned()));
    }

    /// The next `n` requests are answered `fault` as a whole (appended after scripted ones).
    pub fn fail_next_requests(&self, n: usize, fault: RequestFault) {
        self.st().request_plan.push(n, fault);
    }

    /// Every `k`-th request (counted from now; requests answered by a script count too) is
    /// answered `fault`; `k == 0` stops it.
    pub fn fail_every_request(&self, k: u64, fault: RequestFault) {
        self.st().request_plan.every(k, fault);
    }

    /// The next `n` items (across requests) fail with `fault` (appended after scripted ones).
    pub fn fail_next_items(&self, n: usize, fault: ItemFault) {
        self.st().item_plan.push(n, fault);
    }

    /// Every `k`-th item (counted from now, across requests; items failed by a script count
    /// too) fails with `fault`; `k == 0` stops.
    pub fn fail_every_item(&self, k: u64, fault: ItemFault) {
        self.st().item_plan.every(k, fault);
    }

    /// The next `n` items addressed to `index` fail with `fault`. Per-index plans are consulted
    /// before the global one; when one yields a fault the global plan is not consulted for that
    /// item.
    pub fn fail_next_items_in(&self, index: &str, n: usize, fault: ItemFault) {
        self.st()
            .index_item_plans
            .entry(index.to_owned())
            .or_default()
            .push(n, fault);
    }

    /// Every `k`-th item addressed to `index` (counted from now) fails with `fault`; `k == 0`
    /// stops.
    pub fn fail_every_item_in(&self, index: &str, k: u64, fault: ItemFault) {
        self.st()
            .index_item_plans
            .entry(index.to_owned())
            .or_default()
            .every(k, fault);
    }

    /// Documents (of `index`/`create`, the `doc`/`upsert` of `update`) for which `pred(index,
    /// doc)` is true are rejected, every time, with item 400 `mapper_parsing_exception`.
    pub fn reject_documents_where<F>(&self, pred: F)
    where
        F: Fn(&str, &Value) -> bool + Send + Sync + 'static,
    {
        self.st().rejectors.push(Rejector(Arc::new(pred)));
    }

    /// Documents holding this top-level field are rejected, every time, with item 400
    /// `mapper_parsing_exception` (as a mapping conflict on that field would).
    pub fn reject_documents_with_field(&self, field: &str) {
        let field = field.to_owned();
        self.reject_documents_where(move |_, doc| doc.get(&field).is_some());
    }

    /// Scripted request faults not consumed yet.
    pub fn pending_request_faults(&self) -> usize {
        self.st().request_plan.pending()
    }

    /// Scripted item faults not consumed yet (global and per-index).
    pub fn pending_item_faults(&self) -> usize {
        let st = self.st();
        st.item_plan.pending()
            + st.index_item_plans
                .values()
                .map(FaultPlan::pending)
                .sum::<usize>()
    }

    /// Removes every fault script, rate and document predicate.
    pub fn clear_faults(&self) {
        let mut st = self.st();
        st.request_plan = FaultPlan::default();
        st.item_plan = FaultPlan::default();
        st.index_item_plans.clear();
        st.rejectors.clear();
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<BulkRequest> {
        self.st().requests.clone()
    }

    /// Every item outcome, all requests, in order.
    pub fn items(&self) -> Vec<BulkItemRecord> {
        self.st()
            .requests
            .iter()
            .flat_map(|r| r.items.iter().cloned())
            .collect()
    }

    /// Live (not deleted) documents, ordered by (index, id).
    pub fn documents(&self) -> Vec<StoredDoc> {
        self.st()
            .docs
            .values()
            .filter(|d| !d.deleted)
            .cloned()
            .collect()
    }

    /// Live documents of one index.
    pub fn documents_in(&self, index: &str) -> Vec<StoredDoc> {
        self.documents()
            .into_iter()
            .filter(|d| d.index == index)
            .collect()
    }

    /// How many live documents one index holds (without copying them).
    pub fn document_count(&self, index: &str) -> usize {
        self.st()
            .docs
            .values()
            .filter(|d| !d.deleted && d.index == index)
            .count()
    }

    /// One document (also when deleted: see [`StoredDoc::deleted`]).
    pub fn document(&self, index: &str, id: &str) -> Option<StoredDoc> {
        self.st()
            .docs
            .get(&(index.to_owned(), id.to_owned()))
            .cloned()
    }

    /// How many times (index, id) was written successfully; 0 if never.
    pub fn write_count(&self, index: &str, id: &str) -> u32 {
        self.document(index, id).map_or(0, |d| d.writes)
    }

    /// (index, id) pairs written more than once.
    pub fn written_more_than_once(&self) -> Vec<(String, String)> {
        self.st()
            .docs
            .values()
            .filter(|d| d.writes > 1)
            .map(|d| (d.index.clone(), d.id.clone()))
            .collect()
    }

    /// Counters of requests and items by outcome.
    pub fn stats(&self) -> BulkStats {
        let st = self.st();
        let mut s = BulkStats {
            requests: st.requests.len(),
            ..BulkStats::default()
        };
        for r in &st.requests {
            *s.requests_by_status.entry(r.response.status).or_insert(0) += 1;
            for i in &r.items {
                s.items += 1;
                *s.items_by_status.entry(i.status).or_insert(0) += 1;
                let key = i
                    .error_type
                    .clone()
                    .or_else(|| i.result.clone())
                    .unwrap_or_default();
                *s.items_by_outcome.entry(key).or_insert(0) += 1;
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------

/// An ES-shaped error body.
fn es_error(status: u16, kind: &str, reason: &str) -> Value {
    json!({
        "error": {
            "root_cause": [{"type": kind, "reason": reason}],
            "type": kind,
            "reason": reason,
        },
        "status": status,
    })
}

fn es_reply(status: u16, body: &Value) -> Reply {
    Reply::json(status, body).with_header("x-elastic-product", "Elasticsearch")
}

fn es_error_reply(status: u16, kind: &str, reason: &str) -> Reply {
    es_reply(status, &es_error(status, kind, reason))
}

fn index_uuid(index: &str) -> String {
    // Stable and 22 chars, like a real index UUID.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in index.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let s = base64_encode(&h.to_be_bytes()).replace(['+', '/', '='], "x");
    format!("{s}{}", "f".repeat(22usize.saturating_sub(s.len())))
}

/// One parsed entry of the NDJSON body.
struct Op {
    action: BulkAction,
    index: Option<String>,
    id: Option<String>,
    /// Source line: `Ok(value)`, or `Err(())` when it is not JSON (an item failure for index and
    /// create).
    source: Option<Result<Value, ()>>,
}

const KNOWN_METADATA: &[&str] = &[
    "_index",
    "_id",
    "routing",
    "version",
    "version_type",
    "if_seq_no",
    "if_primary_term",
    "pipeline",
    "require_alias",
    "require_data_stream",
    "retry_on_conflict",
    "_source",
    "dynamic_templates",
    "list_executed_pipelines",
];

/// Parses the body; `Err((type, reason))` refuses the whole request with 400.
fn parse_body(body: &[u8], path_index: Option<&str>) -> Result<Vec<Op>, (String, String)> {
    let malformed = |reason: String| ("illegal_argument_exception".to_owned(), reason);
    // The body ends with '\n' (checked by the caller); drop the empty piece after it.
    let mut lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    lines.pop();
    let mut ops = Vec::new();
    let mut validation = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = trim_cr(lines[i]);
        i += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = serde_json::from_slice(line).map_err(|e| {
            (
                "x_content_parse_exception".to_owned(),
                format!("[{line_no}:{}] {e}", e.column()),
            )
        })?;
        let Value::Object(obj) = value else {
            return Err(malformed(format!(
                "Malformed action/metadata line [{line_no}], expected START_OBJECT but found [{}]",
                token_name(&value)
            )));
        };
        if obj.len() != 1 {
            return Err(malformed(format!(
                "Malformed action/metadata line [{line_no}], expected a single action but found [{}]",
                obj.len()
            )));
        }
        let Some((name, meta)) = obj.into_iter().next() else {
            return Err(malformed(format!(
                "Malformed action/metadata line [{line_no}], expected FIELD_NAME but found [END_OBJECT]"
            )));
        };
        let Some(action) = BulkAction::parse(&name) else {
            return Err(malformed(format!(
                "Malformed action/metadata line [{line_no}], expected field [create], [delete], [index] or [update] but found [{name}]"
            )));
        };
        let Value::Object(meta) = meta else {
            return Err(malformed(format!(
                "Malformed action/metadata line [{line_no}], expected START_OBJECT but found [{}]",
                token_name(&meta)
            )));
        };
        if let Some(unknown) = meta.keys().find(|k| !KNOWN_METADATA.contains(&k.as_str())) {
            return Err(malformed(format!(
                "Action/metadata line [{line_no}] contains an unknown parameter [{unknown}]"
            )));
        }
        let string_field = |key: &str| -> Result<Option<String>, (String, String)> {
            match meta.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) if key == "_id" => Ok(Some(n.to_string())),
                Some(other) => Err(malformed(format!(
                    "Malformed action/metadata line [{line_no}], [{key}] expected a string but found [{}]",
                    token_name(other)
                ))),
            }
        };
        let index = string_field("_index")?
            .filter(|s| !s.is_empty())
            .or_else(|| path_index.map(str::to_owned));
        let id = string_field("_id")?;
        if id.as_deref() == Some("") {
            validation.push("id cannot be empty".to_owned());
        }
        if index.is_none() {
            validation.push("index is missing".to_owned());
        }
        if id.is_none() && matches!(action, BulkAction::Update | BulkAction::Delete) {
            validation.push("id is missing".to_owned());
        }
        let source = if action == BulkAction::Delete {
            None
        } else {
            let Some(src) = lines.get(i) else {
                return Err(malformed(format!(
                    "Malformed action/metadata line [{line_no}], expected a source line for [{name}]"
                )));
            };
            i += 1;
            let parsed = serde_json::from_slice::<Value>(trim_cr(src));
            if action == BulkAction::Update {
                // The coordinating node parses update bodies: a bad one refuses the request.
                match parsed {
                    Ok(v @ Value::Object(_)) => Some(Ok(v)),
                    Ok(v) => {
                        return Err(malformed(format!(
                            "Malformed update request body on line [{}], expected START_OBJECT but found [{}]",
                            line_no + 1,
                            token_name(&v)
                        )));
                    }
                    Err(e) => {
                        return Err((
                            "x_content_parse_exception".to_owned(),
                            format!("[{}:{}] {e}", line_no + 1, e.column()),
                        ));
                    }
                }
            } else {
                Some(parsed.map_err(|_| ()))
            }
        };
        ops.push(Op {
            action,
            index,
            id,
            source,
        });
    }
    if ops.is_empty() {
        validation.push("no requests added".to_owned());
    }
    if !validation.is_empty() {
        let mut reason = "Validation Failed: ".to_owned();
        for (n, v) in validation.iter().enumerate() {
            reason.push_str(&format!("{}: {v};", n + 1));
        }
        return Err(("action_request_validation_exception".to_owned(), reason));
    }
    Ok(ops)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// Deep merge of `patch` into `target` (objects merged key by key, anything else replaced).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

struct ItemOut {
    record: BulkItemRecord,
    json: Value,
}

fn item_error(
    op: BulkAction,
    index: &str,
    id: &str,
    status: u16,
    kind: &str,
    reason: String,
) -> ItemOut {
    let mut error = Map::new();
    error.insert("type".to_owned(), json!(kind));
    error.insert("reason".to_owned(), json!(reason));
    if kind == "mapper_parsing_exception" {
        error.insert(
            "caused_by".to_owned(),
            json!({"type": "document_parsing_exception", "reason": reason}),
        );
    }
    error.insert("index_uuid".to_owned(), json!(index_uuid(index)));
    error.insert("shard".to_owned(), json!("0"));
    error.insert("index".to_owned(), json!(index));
    ItemOut {
        record: BulkItemRecord {
            action: op,
            index: index.to_owned(),
            id: id.to_owned(),
            status,
            result: None,
            error_type: Some(kind.to_owned()),
        },
        json: json!({
            op.as_str(): {"_index": index, "_id": id, "status": status, "error": Value::Object(error)}
        }),
    }
}

fn item_fault(op: BulkAction, index: &str, id: &str, f: ItemFault) -> ItemOut {
    match f {
        ItemFault::Rejected => item_error(
            op,
            index,
            id,
            429,
            "es_rejected_execution_exception",
            "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, \
             replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, \
             max_coordinating_and_primary_bytes=107374182]"
                .to_owned(),
        ),
        ItemFault::Unavailable => item_error(
            op,
            index,
            id,
            503,
            "unavailable_shards_exception",
            format!(
                "[{index}][0] primary shard is not active Timeout: [1m], request: \
                 [BulkShardRequest [[{index}][0]] containing [1] requests]"
            ),
        ),
        ItemFault::MapperParsing => item_error(
            op,
            index,
            id,
            400,
            "mapper_parsing_exception",
            format!("failed to parse document with id '{id}'"),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn item_success(
    op: BulkAction,
    index: &str,
    id: &str,
    version: u64,
    seq_no: u64,
    result: &str,
    status: u16,
) -> ItemOut {
    let shards = if result == "noop" {
        json!({"total": 0, "successful": 0, "failed": 0})
    } else {
        json!({"total": 2, "successful": 1, "failed": 0})
    };
    ItemOut {
        record: BulkItemRecord {
            action: op,
            index: index.to_owned(),
            id: id.to_owned(),
            status,
            result: Some(result.to_owned()),
            error_type: None,
        },
        json: json!({
            op.as_str(): {
                "_index": index,
                "_id": id,
                "_version": version,
                "result": result,
                "_shards": shards,
                "_seq_no": seq_no,
                "_primary_term": 1,
                "status": status,
            }
        }),
    }
}

/// Stores `source` at (index, id) as a new write; returns (version, seq_no, created).
fn write_doc(st: &mut BulkState, index: &str, id: &str, source: Value) -> (u64, u64, bool) {
    let seq_no = st.next_seq_no(index);
    let key = (index.to_owned(), id.to_owned());
    match st.docs.get_mut(&key) {
        Some(doc) => {
            let created = doc.deleted;
            doc.version += 1;
            doc.seq_no = seq_no;
            doc.source = source;
            doc.writes += 1;
            doc.deleted = false;
            (doc.version, seq_no, created)
        }
        None => {
            st.docs.insert(
                key,
                StoredDoc {
                    index: index.to_owned(),
                    id: id.to_owned(),
                    source,
                    version: 1,
                    seq_no,
                    writes: 1,
                    deleted: false,
                },
            );
            (1, seq_no, true)
        }
    }
}

fn execute(st: &mut BulkState, op: Op) -> ItemOut {
    let action = op.action;
    let index = op.index.unwrap_or_default();
    let id = match op.id {
        Some(id) => id,
        None => {
            st.id_counter += 1;
            format!("fk{:018}", st.id_counter)
        }
    };

    let index_fault = st
        .index_item_plans
        .get_mut(&index)
        .and_then(FaultPlan::next);
    if let Some(f) = index_fault.or_else(|| st.item_plan.next()) {
        return item_fault(action, &index, &id, f);
    }

    let live = st
        .docs
        .get(&(index.clone(), id.clone()))
        .filter(|d| !d.deleted)
        .cloned();

    match action {
        BulkAction::Index | BulkAction::Create => {
            let doc = match op.source {
                Some(Ok(v @ Value::Object(_))) => v,
                Some(Ok(v)) => {
                    return item_error(
                        action,
                        &index,
                        &id,
                        400,
                        "mapper_parsing_exception",
                        format!(
                            "failed to parse, document is empty or not an object: found [{}]",
                            token_name(&v)
                        ),
                    );
                }
                _ => {
                    return item_error(
                        action,
                        &index,
                        &id,
                        400,
                        "mapper_parsing_exception",
                        "failed to parse".to_owned(),
                    );
                }
            };
            if st.rejected_by_predicate(&index, &doc) {
                return item_fault(action, &index, &id, ItemFault::MapperParsing);
            }
            if action == BulkAction::Create
                && let Some(existing) = &live
            {
                return item_error(
                    action,
                    &index,
                    &id,
                    409,
                    "version_conflict_engine_exception",
                    format!(
                        "[{id}]: version conflict, document already exists (current version [{}])",
                        existing.version
                    ),
                );
            }
            let (version, seq_no, created) = write_doc(st, &index, &id, doc);
            let (result, status) = if created {
                ("created", 201)
            } else {
                ("updated", 200)
            };
            item_success(action, &index, &id, version, seq_no, result, status)
        }
        BulkAction::Update => {
            let body = match &op.source {
                Some(Ok(body)) => body.clone(),
                _ => Value::Null,
            };
            if body.get("script").is_some() {
                return item_error(
                    action,
                    &index,
                    &id,
                    400,
                    "illegal_argument_exception",
                    "scripted updates are not supported by the fake".to_owned(),
                );
            }
            let doc = body.get("doc").cloned();
            let upsert = body.get("upsert").cloned();
            let doc_as_upsert = body.get("doc_as_upsert").and_then(Value::as_bool) == Some(true);
            for candidate in [&doc, &upsert].into_iter().flatten() {
                if st.rejected_by_predicate(&index, candidate) {
                    return item_fault(action, &index, &id, ItemFault::MapperParsing);
                }
            }
            match live {
                Some(existing) => {
                    let Some(patch) = doc else {
                        return item_error(
                            action,
                            &index,
                            &id,
                            400,
                            "action_request_validation_exception",
                            "Validation Failed: 1: script or doc is missing;".to_owned(),
                        );
                    };
                    let mut merged = existing.source.clone();
                    merge(&mut merged, &patch);
                    if merged == existing.source {
                        return item_success(
                            action,
                            &index,
                            &id,
                            existing.version,
                            existing.seq_no,
                            "noop",
                            200,
                        );
                    }
                    let (version, seq_no, _) = write_doc(st, &index, &id, merged);
                    item_success(action, &index, &id, version, seq_no, "updated", 200)
                }
                None => {
                    let new_doc = match (upsert, doc) {
                        (Some(u), _) => u,
                        (None, Some(d)) if doc_as_upsert => d,
                        _ => {
                            return item_error(
                                action,
                                &index,
                                &id,
                                404,
                                "document_missing_exception",
                                format!("[{id}]: document missing"),
                            );
                        }
                    };
                    let (version, seq_no, _) = write_doc(st, &index, &id, new_doc);
                    item_success(action, &index, &id, version, seq_no, "created", 201)
                }
            }
        }
        BulkAction::Delete => {
            let seq_no = st.next_seq_no(&index);
            match st.docs.get_mut(&(index.clone(), id.clone())) {
                Some(doc) if !doc.deleted => {
                    doc.deleted = true;
                    doc.version += 1;
                    doc.seq_no = seq_no;
                    let version = doc.version;
                    item_success(action, &index, &id, version, seq_no, "deleted", 200)
                }
                _ => item_success(action, &index, &id, 1, seq_no, "not_found", 404),
            }
        }
    }
}

struct Incoming {
    at: Instant,
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

/// `Some(index)` for `/{index}/_bulk`, `Some(None)` for `/_bulk`, `None` for another path.
fn bulk_path(path: &str) -> Option<Option<String>> {
    if path == "/_bulk" || path == "/_bulk/" {
        return Some(None);
    }
    let rest = path.strip_prefix('/')?;
    let index = rest
        .strip_suffix("/_bulk")
        .or_else(|| rest.strip_suffix("/_bulk/"))?;
    if index.is_empty() || index.contains('/') {
        return None;
    }
    Some(Some(index.to_owned()))
}

fn check_auth(auth: &(String, String), header: Option<&str>, path: &str) -> Option<Reply> {
    let challenge = "Basic realm=\"security\", charset=\"UTF-8\"";
    let refuse = |reason: String| {
        let mut body = es_error(401, "security_exception", &reason);
        let header = json!({"WWW-Authenticate": [challenge, "ApiKey"]});
        if let Some(err) = body.get_mut("error").and_then(Value::as_object_mut) {
            err.insert("header".to_owned(), header.clone());
            if let Some(Value::Object(rc)) = err.get_mut("root_cause").and_then(|r| r.get_mut(0)) {
                rc.insert("header".to_owned(), header);
            }
        }
        Some(es_reply(401, &body).with_header("www-authenticate", challenge))
    };
    let Some(encoded) = header.and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    }) else {
        return refuse(format!(
            "missing authentication credentials for REST request [{path}]"
        ));
    };
    let decoded = base64_decode(encoded).and_then(|b| String::from_utf8(b).ok());
    let (user, password) = match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((u, p)) => (u.to_owned(), p.to_owned()),
        None => {
            return refuse(format!(
                "missing authentication credentials for REST request [{path}]"
            ));
        }
    };
    if user == auth.0 && password == auth.1 {
        None
    } else {
        refuse(format!(
            "unable to authenticate user [{user}] for REST request [{path}]"
        ))
    }
}

fn request_fault_reply(f: &RequestFault) -> Reply {
    match f {
        RequestFault::TooManyRequests { retry_after_secs } => es_error_reply(
            429,
            "es_rejected_execution_exception",
            "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, \
             replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1048576, \
             max_coordinating_and_primary_bytes=107374182]",
        )
        .with_header("retry-after", retry_after_secs.to_string()),
        RequestFault::ServerError { status: 503 } => es_error_reply(
            503,
            "cluster_block_exception",
            "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
        ),
        RequestFault::ServerError { status: 502 } => Reply::text(502, "Bad Gateway"),
        RequestFault::ServerError { status: 504 } => Reply::text(504, "Gateway Timeout"),
        RequestFault::ServerError { status } => {
            es_error_reply(*status, "exception", "fake internal server error")
        }
    }
}

/// `GET /`: what a client's connectivity or product check expects.
fn cluster_info() -> Value {
    json!({
        "name": "fleetwatch-fake-node",
        "cluster_name": "fleetwatch-fake",
        "cluster_uuid": "fAkEcLuStEr0000000000A",
        "version": {
            "number": "8.15.0",
            "build_flavor": "default",
            "lucene_version": "9.11.1",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    })
}

/// Handles one request; returns the reply and the item records.
fn process(st: &mut BulkState, req: &Incoming) -> (Reply, Vec<BulkItemRecord>) {
    if req.path == "/" && (req.method == "GET" || req.method == "HEAD") {
        if let Some(auth) = &st.auth
            && let Some(reply) = check_auth(auth, req.authorization.as_deref(), &req.path)
        {
            return (reply, Vec::new());
        }
        return (es_reply(200, &cluster_info()), Vec::new());
    }
    let Some(path_index) = bulk_path(&req.path) else {
        let reply = es_reply(
            400,
            &json!({"error": format!("no handler found for uri [{}] and method [{}]", req.path, req.method), "status": 400}),
        );
        return (reply, Vec::new());
    };
    if req.method != "POST" && req.method != "PUT" {
        let reply = es_reply(
            405,
            &json!({"error": format!("Incorrect HTTP method for uri [{}] and method [{}], allowed: [POST, PUT]", req.path, req.method), "status": 405}),
        );
        return (reply, Vec::new());
    }
    if let Some(auth) = &st.auth
        && let Some(reply) = check_auth(auth, req.authorization.as_deref(), &req.path)
    {
        return (reply, Vec::new());
    }
    if let Some(f) = st.request_plan.next() {
        return (request_fault_reply(&f), Vec::new());
    }
    let ct = req.content_type.clone().unwrap_or_default();
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime != "application/x-ndjson" && mime != "application/json" {
        let reply = es_reply(
            406,
            &json!({"error": format!("Content-Type header [{ct}] is not supported"), "status": 406}),
        );
        return (reply, Vec::new());
    }
    if req.body.is_empty() {
        return (
            es_error_reply(400, "parse_exception", "request body is required"),
            Vec::new(),
        );
    }
    if !req.body.ends_with(b"\n") {
        return (
            es_error_reply(
                400,
                "illegal_argument_exception",
                "The bulk request must be terminated by a newline [\\n]",
            ),
            Vec::new(),
        );
    }
    let ops = match parse_body(&req.body, path_index.as_deref()) {
        Ok(ops) => ops,
        Err((kind, reason)) => return (es_error_reply(400, &kind, &reason), Vec::new()),
    };
    let mut items = Vec::with_capacity(ops.len());
    let mut records = Vec::with_capacity(ops.len());
    for op in ops {
        let out = execute(st, op);
        items.push(out.json);
        records.push(out.record);
    }
    let errors = records.iter().any(|r| r.error_type.is_some());
    let took = u64::try_from(req.at.elapsed().as_millis()).unwrap_or(u64::MAX);
    let body = json!({"took": took, "errors": errors, "items": items});
    (es_reply(200, &body), records)
}

async fn handle(State(state): State<Arc<Mutex<BulkState>>>, req: Request) -> Response {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let header_str = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let body = match axum::body::to_bytes(body, crate::slack::harness::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return es_error_reply(413, "content_too_long_exception", "request body too large")
                .into_response();
        }
    };
    let incoming = Incoming {
        at,
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: header_str(header::AUTHORIZATION),
        content_type: header_str(header::CONTENT_TYPE),
        body,
    };
    let mut st = lock(&state);
    let (reply, items) = process(&mut st, &incoming);
    let seq = st.requests.len();
    let path_index = bulk_path(&incoming.path).flatten();
    st.requests.push(BulkRequest {
        seq,
        at: incoming.at,
        method: incoming.method,
        path: incoming.path,
        query: incoming.query,
        path_index,
        authorization: incoming.authorization,
        content_type: incoming.content_type,
        body: incoming.body,
        items,
        response: reply.record(),
    });
    drop(st);
    reply.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "user:pa:ss",
        ] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).as_deref(), Some(s.as_bytes()));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("!!!!"), None);
    }

    #[test]
    fn index_uuid_is_stable_and_22_chars() {
        assert_eq!(index_uuid("logs"), index_uuid("logs"));
        assert_eq!(index_uuid("logs").len(), 22);
    }
}
