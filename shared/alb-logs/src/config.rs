//! The alb-logs function's configuration, read from environment variables (set by
//! `template.yaml`). Pure: the caller passes the lookup, so tests need no process environment.

use std::path::PathBuf;

use fleetwatch_alb::encode::Format;
use fleetwatch_ports::{Env, EnvError};

use crate::keys::normalize_prefix;
use crate::outputs::TableFormat;
use crate::thresholds::Thresholds;

#[derive(Clone, Debug, PartialEq)]
pub struct AlbLogsConfig {
    pub search: Option<SearchConfig>,
    pub table: Option<TableConfig>,
    pub errors_bucket: String,
    pub errors_prefix: String,
    pub thresholds: Thresholds,
    pub alerts_queue_url: Option<String>,
    pub poison_queue_url: Option<String>,
    pub work_dir: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchConfig {
    pub endpoint: String,
    pub index: String,
    pub op: SearchOperation,
    pub format: Format,
    pub auth: SearchAuth,
}

/// `create` for data streams (a duplicate id is refused: already indexed), `index` for plain
/// indices (a duplicate id overwrites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchOperation {
    Create,
    Index,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchAuth {
    None,
    /// The password is read from this SSM SecureString parameter at cold start.
    Basic {
        user: String,
        password_parameter: String,
    },
    /// `es` (OpenSearch Service domain) or `aoss` (Serverless).
    SigV4 {
        service: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableConfig {
    pub bucket: String,
    pub prefix: String,
    pub format: TableFormat,
}

/// Why the configuration cannot be read (it names the variable and the value seen).
pub type ConfigError = EnvError;

pub const SEARCH_ENDPOINT: &str = "FLEETWATCH_SEARCH_ENDPOINT";
pub const SEARCH_INDEX: &str = "FLEETWATCH_SEARCH_INDEX";
pub const SEARCH_OP: &str = "FLEETWATCH_SEARCH_OP";
pub const SEARCH_FORMAT: &str = "FLEETWATCH_SEARCH_FORMAT";
pub const SEARCH_AUTH: &str = "FLEETWATCH_SEARCH_AUTH";
pub const SEARCH_USER: &str = "FLEETWATCH_SEARCH_USER";
pub const SEARCH_PASSWORD_PARAMETER: &str = "FLEETWATCH_SEARCH_PASSWORD_PARAMETER";
pub const SEARCH_SIGV4_SERVICE: &str = "FLEETWATCH_SEARCH_SIGV4_SERVICE";
pub const OUTPUT_BUCKET: &str = "FLEETWATCH_OUTPUT_BUCKET";
pub const OUTPUT_PREFIX: &str = "FLEETWATCH_OUTPUT_PREFIX";
pub const OUTPUT_FORMAT: &str = "FLEETWATCH_OUTPUT_FORMAT";
pub const ERRORS_BUCKET: &str = "FLEETWATCH_ERRORS_BUCKET";
pub const ERRORS_PREFIX: &str = "FLEETWATCH_ERRORS_PREFIX";
pub use fleetwatch_ports::env::ALERTS_QUEUE_URL;
pub const POISON_QUEUE_URL: &str = "FLEETWATCH_POISON_QUEUE_URL";
pub const ALERT_5XX_RATIO: &str = "FLEETWATCH_ALERT_5XX_RATIO";
pub const ALERT_MIN_REQUESTS: &str = "FLEETWATCH_ALERT_MIN_REQUESTS";
pub const ALERT_ELB_5XX_COUNT: &str = "FLEETWATCH_ALERT_ELB_5XX_COUNT";
pub const ALERT_P99_SECONDS: &str = "FLEETWATCH_ALERT_P99_SECONDS";
pub const WORK_DIR: &str = "FLEETWATCH_WORK_DIR";

impl AlbLogsConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let search = search_config(&env)?;
        let table = table_config(&env)?;
        if search.is_none() && table.is_none() {
            return Err(EnvError::Missing {
                name: SEARCH_ENDPOINT,
                why: " (or FLEETWATCH_OUTPUT_BUCKET): with neither, the logs would go nowhere",
            });
        }
        let errors_bucket = env
            .get(ERRORS_BUCKET)
            .or_else(|| table.as_ref().map(|t| t.bucket.clone()))
            .ok_or(EnvError::Missing {
                name: ERRORS_BUCKET,
                why: " when FLEETWATCH_OUTPUT_BUCKET is not set: unparseable lines must go somewhere",
            })?;
        Ok(Self {
            search,
            table,
            errors_bucket,
            errors_prefix: normalize_prefix(
                &env.get(ERRORS_PREFIX)
                    .unwrap_or_else(|| "alb-errors".into()),
            ),
            thresholds: thresholds(&env)?,
            alerts_queue_url: env.get(ALERTS_QUEUE_URL),
            poison_queue_url: env.get(POISON_QUEUE_URL),
            // Lambda's writable directory; the lookup, not this crate, reads the environment.
            work_dir: env
                .get(WORK_DIR)
                .or_else(|| env.get("TMPDIR"))
                .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from),
        })
    }
}

/// The search cluster, when an endpoint is set.
fn search_config<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<SearchConfig>, ConfigError> {
    let Some(endpoint) = env.get(SEARCH_ENDPOINT) else {
        return Ok(None);
    };
    Ok(Some(SearchConfig {
        endpoint,
        index: env
            .get(SEARCH_INDEX)
            .unwrap_or_else(|| "logs-aws.elb-default".into()),
        op: env.choice(
            SEARCH_OP,
            &[
                ("create", SearchOperation::Create),
                ("index", SearchOperation::Index),
            ],
        )?,
        format: env.parse_or(SEARCH_FORMAT, Format::Ecs, "ecs, vrl or flat")?,
        auth: search_auth(env)?,
    }))
}

fn search_auth<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<SearchAuth, ConfigError> {
    let with_basic = |name| {
        env.get(name).ok_or(EnvError::Missing {
            name,
            why: " with basic authentication",
        })
    };
    match env.get(SEARCH_AUTH).as_deref() {
        None | Some("none") => Ok(SearchAuth::None),
        Some("basic") => Ok(SearchAuth::Basic {
            user: with_basic(SEARCH_USER)?,
            password_parameter: with_basic(SEARCH_PASSWORD_PARAMETER)?,
        }),
        Some("sigv4") => Ok(SearchAuth::SigV4 {
            service: env.get(SEARCH_SIGV4_SERVICE).unwrap_or_else(|| "es".into()),
        }),
        Some(other) => Err(EnvError::invalid(
            SEARCH_AUTH,
            other,
            "none, basic or sigv4",
        )),
    }
}

/// The table (Athena) output, when an output bucket is set.
fn table_config<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<TableConfig>, ConfigError> {
    let Some(bucket) = env.get(OUTPUT_BUCKET) else {
        return Ok(None);
    };
    Ok(Some(TableConfig {
        bucket,
        prefix: normalize_prefix(&env.get(OUTPUT_PREFIX).unwrap_or_else(|| "alb".into())),
        format: env.choice(
            OUTPUT_FORMAT,
            &[
                ("parquet", TableFormat::Parquet),
                ("ndjson", TableFormat::NdjsonGz),
                ("json", TableFormat::NdjsonGz),
            ],
        )?,
    }))
}

fn thresholds<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Thresholds, ConfigError> {
    let defaults = Thresholds::default();
    Ok(Thresholds {
        five_xx_ratio: env.parse_or(
            ALERT_5XX_RATIO,
            defaults.five_xx_ratio,
            "a ratio such as 0.05",
        )?,
        min_requests: env.parse_or(ALERT_MIN_REQUESTS, defaults.min_requests, "a whole number")?,
        elb_5xx_count: env.parse_or(
            ALERT_ELB_5XX_COUNT,
            defaults.elb_5xx_count,
            "a whole number",
        )?,
        p99_latency_seconds: env.parse_or(
            ALERT_P99_SECONDS,
            defaults.p99_latency_seconds,
            "seconds, such as 2.5",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<AlbLogsConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AlbLogsConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_with_an_output_bucket_only() {
        let c = config(&[(OUTPUT_BUCKET, "out")]).unwrap();
        assert_eq!(c.search, None);
        assert_eq!(
            c.table,
            Some(TableConfig {
                bucket: "out".into(),
                prefix: "alb/".into(),
                format: TableFormat::Parquet
            })
        );
        assert_eq!(
            (c.errors_bucket.as_str(), c.errors_prefix.as_str()),
            ("out", "alb-errors/")
        );
        assert_eq!(c.thresholds, Thresholds::default());
    }

    #[test]
    fn search_with_basic_auth_and_custom_thresholds() {
        let c = config(&[
            (SEARCH_ENDPOINT, "https://es.internal:9200"),
            (SEARCH_OP, "index"),
            (SEARCH_FORMAT, "vrl"),
            (SEARCH_AUTH, "basic"),
            (SEARCH_USER, "elastic"),
            (SEARCH_PASSWORD_PARAMETER, "/fleetwatch/es-password"),
            (ERRORS_BUCKET, "errs"),
            (ALERT_5XX_RATIO, "0.1"),
        ])
        .unwrap();
        let search = c.search.unwrap();
        assert_eq!(
            (search.op, search.format),
            (SearchOperation::Index, Format::Vrl)
        );
        assert_eq!(
            search.auth,
            SearchAuth::Basic {
                user: "elastic".into(),
                password_parameter: "/fleetwatch/es-password".into()
            }
        );
        assert_eq!(c.thresholds.five_xx_ratio, 0.1);
    }

    #[test]
    fn mistakes_are_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "FLEETWATCH_SEARCH_ENDPOINT is required"),
            (
                &[(SEARCH_ENDPOINT, "http://x")],
                "FLEETWATCH_ERRORS_BUCKET is required",
            ),
            (
                &[(OUTPUT_BUCKET, "o"), (OUTPUT_FORMAT, "csv")],
                "FLEETWATCH_OUTPUT_FORMAT=\"csv\"",
            ),
            (
                &[(OUTPUT_BUCKET, "o"), (ALERT_MIN_REQUESTS, "lots")],
                "FLEETWATCH_ALERT_MIN_REQUESTS=\"lots\"",
            ),
            (
                &[
                    (SEARCH_ENDPOINT, "http://x"),
                    (OUTPUT_BUCKET, "o"),
                    (SEARCH_AUTH, "basic"),
                ],
                "FLEETWATCH_SEARCH_USER is required",
            ),
        ];
        for (pairs, expected) in cases {
            let error = config(pairs).unwrap_err().to_string();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
    }
}
