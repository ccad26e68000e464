//! `fleetwatch alb athena-ddl`: the `CREATE EXTERNAL TABLE` over the alb-logs function's S3
//! table output. The columns are the flat encoder's (the same list the Parquet and NDJSON writers
//! use), the partitions follow the output keys
//! (`<location><kind>/year=YYYY/month=MM/day=DD/elb=<name>/`), and partition projection makes new
//! partitions queryable without crawlers or `MSCK REPAIR TABLE`.

use std::fmt::Write as _;
use std::io::{self, Write};

use clap::{Args, ValueEnum};
use fleetwatch_alb::LogKind;
use fleetwatch_alb::encode::flat::flat_columns;

use crate::outcome::{CommandResult, Fatal, Finished};

#[derive(Debug, Args)]
pub struct AthenaDdlArgs {
    /// Table name, optionally with its database (`logs.alb_access_logs`). Default: one name per
    /// kind (alb_access_logs, alb_connection_logs, nlb_tls_logs, elb_classic_logs).
    #[arg(long, value_name = "NAME", value_parser = parse_table_name)]
    table: Option<String>,
    /// Where the function writes its table output (its `s3://bucket/prefix/`).
    #[arg(
        long,
        value_name = "S3_URL",
        default_value = "s3://YOUR-OUTPUT-BUCKET/alb/"
    )]
    location: String,
    /// File format of the output: parquet, or json (gzip NDJSON, read with the OpenX JSON SerDe).
    #[arg(long, value_enum, default_value_t = TableFormat::Parquet)]
    format: TableFormat,
    /// Which log kind's table.
    #[arg(long, value_enum, default_value_t = Kind::Access)]
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Parquet,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Access,
    Connection,
    Nlb,
    Classic,
}

impl Kind {
    fn log_kind(self) -> LogKind {
        match self {
            Kind::Access => LogKind::Access,
            Kind::Connection => LogKind::Connection,
            Kind::Nlb => LogKind::NlbTls,
            Kind::Classic => LogKind::Classic,
        }
    }

    fn default_table(self) -> &'static str {
        match self {
            Kind::Access => "alb_access_logs",
            Kind::Connection => "alb_connection_logs",
            Kind::Nlb => "nlb_tls_logs",
            Kind::Classic => "elb_classic_logs",
        }
    }
}

/// The table's partition columns, in key order. The key segment is `elb=`, but the column is
/// `load_balancer`: the access and NLB tables have a data column `elb` (`app/<name>/<id>`), and
/// Athena rejects a partition column that repeats a data column. Projection maps the column to the
/// `elb=` segment through `storage.location.template`.
pub const PARTITION_COLUMNS: [(&str, &str); 4] = [
    ("year", "year"),
    ("month", "month"),
    ("day", "day"),
    ("load_balancer", "elb"),
];

/// Access logs exist since ALB's launch (2016); the year range ends at the query's `NOW`.
const FIRST_YEAR: u16 = 2016;

pub fn run(args: &AthenaDdlArgs) -> CommandResult {
    let location = normalize_location(&args.location).map_err(Fatal::Usage)?;
    let table = args
        .table
        .clone()
        .unwrap_or_else(|| args.kind.default_table().to_string());
    let ddl = create_table(&table, &location, args.kind.log_kind(), args.format);
    io::stdout()
        .lock()
        .write_all(ddl.as_bytes())
        .map_err(Fatal::output("standard output"))?;
    Ok(Finished::Success)
}

/// `s3://bucket/prefix` -> `s3://bucket/prefix/`; anything but an `s3://bucket[/prefix]` is an
/// error (Athena tables only live on S3).
fn normalize_location(location: &str) -> Result<String, String> {
    let rest = location
        .strip_prefix("s3://")
        .ok_or_else(|| format!("--location must be an s3:// URL, got `{location}`"))?;
    let bucket = rest.split('/').next().unwrap_or_default();
    if bucket.is_empty() || location.contains(['\'', ' ', '$']) {
        return Err(format!(
            "--location must be s3://<bucket>/<prefix>/ without quotes, spaces or `$`, got `{location}`"
        ));
    }
    let trimmed = location.trim_end_matches('/');
    Ok(format!("{trimmed}/"))
}

/// Athena table names: letters, digits and `_`, optionally `database.table`.
fn parse_table_name(name: &str) -> Result<String, String> {
    let valid_part =
        |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() <= 2 && parts.iter().all(|p| valid_part(p)) {
        Ok(name.to_string())
    } else {
        Err("letters, digits and `_` only, optionally `database.table`".into())
    }
}

/// The whole statement, ending with `;` and a newline.
pub fn create_table(table: &str, location: &str, kind: LogKind, format: TableFormat) -> String {
    let columns = flat_columns(kind);
    // The output keys use the kind's stable name (`access`, `nlb_tls`, ...).
    let kind_location = format!("{location}{}/", kind.as_str());
    let mut ddl = String::new();
    let _ = writeln!(ddl, "CREATE EXTERNAL TABLE IF NOT EXISTS {table} (");
    write_columns(
        &mut ddl,
        columns.iter().map(|c| (c.name, c.ty.athena_type())),
    );
    ddl.push_str(")\nPARTITIONED BY (\n");
    write_columns(
        &mut ddl,
        PARTITION_COLUMNS
            .iter()
            .map(|(column, _)| (*column, "string")),
    );
    ddl.push_str(")\n");
    match format {
        TableFormat::Parquet => ddl.push_str("STORED AS PARQUET\n"),
        TableFormat::Json => ddl.push_str(
            "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n\
             STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n\
             OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n",
        ),
    }
    let _ = writeln!(ddl, "LOCATION '{kind_location}'");
    ddl.push_str("TBLPROPERTIES (\n");
    let template: String = PARTITION_COLUMNS
        .iter()
        .map(|(column, segment)| format!("{segment}=${{{column}}}/"))
        .collect();
    let properties = [
        ("projection.enabled", "true".to_string()),
        ("projection.year.type", "date".into()),
        ("projection.year.format", "yyyy".into()),
        ("projection.year.range", format!("{FIRST_YEAR},NOW")),
        ("projection.year.interval", "1".into()),
        ("projection.year.interval.unit", "YEARS".into()),
        ("projection.month.type", "integer".into()),
        ("projection.month.range", "1,12".into()),
        ("projection.month.digits", "2".into()),
        ("projection.day.type", "integer".into()),
        ("projection.day.range", "1,31".into()),
        ("projection.day.digits", "2".into()),
        // Load balancer names are not enumerable: queries name the one they want.
        ("projection.load_balancer.type", "injected".into()),
        (
            "storage.location.template",
            format!("{kind_location}{template}"),
        ),
    ];
    for (i, (key, value)) in properties.iter().enumerate() {
        let comma = if i + 1 < properties.len() { "," } else { "" };
        let _ = writeln!(ddl, "  '{key}' = '{value}'{comma}");
    }
    ddl.push_str(");\n");
    ddl
}

fn write_columns<'c>(ddl: &mut String, columns: impl ExactSizeIterator<Item = (&'c str, &'c str)>) {
    let count = columns.len();
    for (i, (name, ty)) in columns.enumerate() {
        let comma = if i + 1 < count { "," } else { "" };
        // Backticks: `time`, `type` and friends are reserved words in Athena DDL.
        let _ = writeln!(ddl, "  `{name}` {ty}{comma}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_lines(ddl: &str) -> Vec<(String, String)> {
        ddl.lines()
            .filter_map(|l| l.trim().strip_prefix('`'))
            .filter_map(|l| {
                let (name, ty) = l.split_once("` ")?;
                Some((name.to_string(), ty.trim_end_matches(',').to_string()))
            })
            .collect()
    }

    #[test]
    fn every_kind_has_each_column_once_and_no_partition_repeats_a_column() {
        for kind in [Kind::Access, Kind::Connection, Kind::Nlb, Kind::Classic] {
            let log_kind = kind.log_kind();
            let ddl = create_table("t", "s3://b/p/", log_kind, TableFormat::Parquet);
            let declared = column_lines(&ddl);
            let columns = flat_columns(log_kind);
            assert_eq!(
                declared.len(),
                columns.len() + PARTITION_COLUMNS.len(),
                "{kind:?}"
            );
            for (column, (name, ty)) in columns.iter().zip(&declared) {
                assert_eq!(
                    (column.name, column.ty.athena_type()),
                    (name.as_str(), ty.as_str())
                );
            }
            let mut names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), declared.len(), "{kind:?}: a name repeats");
        }
    }

    #[test]
    fn locations_are_normalised_and_checked() {
        assert_eq!(normalize_location("s3://b/p").unwrap(), "s3://b/p/");
        assert_eq!(normalize_location("s3://b/").unwrap(), "s3://b/");
        assert_eq!(normalize_location("s3://b").unwrap(), "s3://b/");
        for bad in ["b/p/", "s3:///p", "https://b/p", "s3://b/it's"] {
            assert!(normalize_location(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn table_names_are_checked() {
        assert!(parse_table_name("alb_access_logs").is_ok());
        assert!(parse_table_name("logs.alb").is_ok());
        for bad in ["", "a-b", "a.b.c", "x;drop", "a."] {
            assert!(parse_table_name(bad).is_err(), "{bad}");
        }
    }
}
