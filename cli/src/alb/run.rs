//! `fleetwatch alb run`: the alb-logs function's job on local files. Each input goes through the
//! same `Pipeline::process` as in the Lambda, with local adapters in place of AWS: the file's
//! directory is the bucket, search documents go to one NDJSON file per format, table output and
//! dead letters are stored below the output directory under the function's own prefixes (so the
//! Hive layout Athena reads is visible), and threshold alerts are shown as the Slack text they
//! would send instead of being queued.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use fleetwatch_alb::LogKind;
use fleetwatch_alb::encode::Format;
use fleetwatch_alb_logs::{
    LocalObjectSource, LocalStore, NdjsonFile, ObjectContext, ObjectRef, ObjectReport, OutputStore,
    PassConfig, Pipeline, Stats, TableFormat, Thresholds, evaluate_thresholds,
};
use fleetwatch_alerts::{RenderOptions, render};

use super::report;
use crate::outcome::{CommandResult, Fatal, Finished};
use crate::runtime;
use crate::table::{Align, Table, thousands};
use fleetwatch_ports::ErrorChain;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Output directory: search/<format>.ndjson, alb/ (table, Hive layout), alb-errors/.
    #[arg(long, value_name = "DIR", default_value = "fleetwatch-out")]
    out: PathBuf,
    /// Search document format: ecs (Elastic's AWS integration field names), vrl (Vector's
    /// parse_aws_alb_log keys) or flat (the Athena columns).
    #[arg(
        long,
        default_value = "ecs",
        value_parser = PossibleValuesParser::new(["ecs", "vrl", "flat"])
            .try_map(|name| name.parse::<Format>())
    )]
    format: Format,
    /// Table output for Athena: parquet, or ndjson (gzip NDJSON).
    #[arg(long, value_enum, default_value_t = TableChoice::Parquet)]
    table: TableChoice,
    /// Entries in each top list of the statistics.
    #[arg(long, value_name = "N", default_value_t = 5)]
    top: usize,
    /// Log files as the load balancer wrote them (plain or gzip); the file name gives the log
    /// kind and the partition, as an S3 key does. A directory stands for its `*.log` and
    /// `*.log.gz` files.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableChoice {
    Parquet,
    Ndjson,
}

impl TableChoice {
    fn format(self) -> TableFormat {
        match self {
            TableChoice::Parquet => TableFormat::Parquet,
            TableChoice::Ndjson => TableFormat::NdjsonGz,
        }
    }
}

/// The function's default key prefixes (`FLEETWATCH_OUTPUT_PREFIX`, `..._ERRORS_PREFIX`).
pub const TABLE_PREFIX: &str = "alb/";
pub const ERRORS_PREFIX: &str = "alb-errors/";
/// Stands in for the S3 bucket in object references and alert texts.
const LOCAL_BUCKET: &str = "local";

pub fn run(args: &RunArgs) -> CommandResult {
    if args.inputs.iter().any(|input| input.as_os_str() == "-") {
        return Err(Fatal::Usage(
            "alb run reads files (the file name says the log kind): use `alb parse` for stdin"
                .into(),
        ));
    }
    let (inputs, mut finished) = expand_directories(&args.inputs);
    let search_file = prepare_output(&args.out, args.format)?;
    let work_dir = tempfile::Builder::new()
        .prefix(".work-")
        .tempdir_in(&args.out)
        .map_err(Fatal::output(args.out.display().to_string()))?;
    let mut pass = PassConfig::new(work_dir.path());
    pass.search_format = Some(args.format);
    pass.table_format = Some(args.table.format());
    let pipeline = Pipeline {
        pass: Arc::new(pass),
        search: NdjsonFile(search_file.clone()),
        table: Some((LocalStore::new(&args.out), TABLE_PREFIX.into())),
        errors: (LocalStore::new(&args.out), ERRORS_PREFIX.into()),
    };

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "fleetwatch alb run: {} input(s) -> {} (search documents: {}, table: {})\n",
        inputs.len(),
        args.out.display(),
        args.format.as_str(),
        args.table.format().extension()
    )
    .map_err(Fatal::stdout)?;

    let runtime = runtime::new()?;
    let mut totals = Totals::default();
    for input in &inputs {
        let text = match runtime.block_on(process_file(&pipeline, input)) {
            Processed::Done(report) => {
                if let Some(damage) = &report.corrupt {
                    eprintln!(
                        "fleetwatch: {}: damaged: {}",
                        input.display(),
                        damage.reason()
                    );
                    finished = finished.and(Finished::SomeInputsUnreadable);
                }
                let alerts = threshold_alerts(&report);
                totals.add(&report, alerts.len());
                describe(input, &report, &alerts, &pipeline, &search_file)
            }
            Processed::Unreadable(reason) => {
                eprintln!("fleetwatch: {}: cannot open: {reason}", input.display());
                finished = finished.and(Finished::SomeInputsUnreadable);
                continue;
            }
            Processed::Failed(reason) => {
                eprintln!("fleetwatch: {}: {reason}", input.display());
                finished = finished.and(Finished::SomeWorkFailed);
                continue;
            }
        };
        out.write_all(text.as_bytes()).map_err(Fatal::stdout)?;
    }
    let mut summary = totals.render();
    summary.push_str("\nStatistics (all inputs)\n\n");
    summary.push_str(&report::render(&totals.stats.report(args.top)));
    summary.push('\n');
    out.write_all(summary.as_bytes()).map_err(Fatal::stdout)?;
    out.flush().map_err(Fatal::stdout)?;
    Ok(finished)
}

/// The inputs with each directory replaced by its log files (`*.log`, `*.log.gz`, in name
/// order): `alb run events/alb` runs the samples and not the generator script beside them. A
/// directory that cannot be listed or holds no log file is reported as unreadable.
fn expand_directories(inputs: &[PathBuf]) -> (Vec<PathBuf>, Finished) {
    let mut files = Vec::new();
    let mut finished = Finished::Success;
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let listed = std::fs::read_dir(input).and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.path()))
                .collect::<io::Result<Vec<PathBuf>>>()
        });
        let mut logs: Vec<PathBuf> = match listed {
            Ok(paths) => paths
                .into_iter()
                .filter(|path| path.is_file() && is_log_file_name(path))
                .collect(),
            Err(error) => {
                eprintln!("fleetwatch: {}: cannot list: {error}", input.display());
                finished = Finished::SomeInputsUnreadable;
                continue;
            }
        };
        if logs.is_empty() {
            eprintln!(
                "fleetwatch: {}: no *.log or *.log.gz file in this directory",
                input.display()
            );
            finished = Finished::SomeInputsUnreadable;
        }
        logs.sort();
        files.extend(logs);
    }
    (files, finished)
}

fn is_log_file_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.ends_with(".log") || name.ends_with(".log.gz"))
}

/// Creates the output directory and starts a fresh search file (the sink appends, and a second
/// run must not double the documents). Returns the search file's path.
fn prepare_output(out: &Path, format: Format) -> Result<PathBuf, Fatal> {
    let search_dir = out.join("search");
    std::fs::create_dir_all(&search_dir)
        .map_err(Fatal::output(search_dir.display().to_string()))?;
    let search_file = search_dir.join(format!("{}.ndjson", format.as_str()));
    File::create(&search_file).map_err(Fatal::output(search_file.display().to_string()))?;
    Ok(search_file)
}

enum Processed {
    Done(Box<ObjectReport>),
    /// The input could not be opened (missing, a directory, no permission).
    Unreadable(String),
    /// The pipeline could not finish the object (an output could not be written).
    Failed(String),
}

/// The CLI's pipeline: documents to a local NDJSON file, outputs below a local directory.
type LocalPipeline = Pipeline<NdjsonFile, LocalStore>;

async fn process_file(pipeline: &LocalPipeline, input: &Path) -> Processed {
    // The local source reports a missing file as "deleted since the notification" (skipped,
    // as in the Lambda); on the command line that is a mistake worth saying.
    let size = match File::open(input).and_then(|file| file.metadata()) {
        Ok(metadata) if metadata.is_dir() => {
            return Processed::Unreadable("is a directory".into());
        }
        Ok(metadata) => metadata.len(),
        Err(error) => return Processed::Unreadable(error.to_string()),
    };
    let Some(file_name) = input.file_name().and_then(|name| name.to_str()) else {
        return Processed::Unreadable("the file name is not UTF-8".into());
    };
    let directory = match input.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let source = LocalObjectSource::new(directory);
    let object = ObjectRef {
        bucket: LOCAL_BUCKET.into(),
        key: file_name.into(),
        size: Some(size),
        etag: None,
        version_id: None,
    };
    match pipeline.process(&source, &object).await {
        Ok(report) => Processed::Done(Box::new(report)),
        Err(failure) => Processed::Failed(ErrorChain(&failure).to_string()),
    }
}

/// The block printed for one object: what was read, where each output went, which alerts would
/// fire.
fn describe(
    input: &Path,
    report: &ObjectReport,
    alerts: &[String],
    pipeline: &LocalPipeline,
    search_file: &Path,
) -> String {
    let mut text = String::new();
    let kind = LogKind::from_key(&report.object.key);
    let _ = writeln!(
        text,
        "{}\n  {} log, load balancer {}",
        input.display(),
        kind.as_str(),
        report.load_balancer
    );
    if let Some(skipped) = &report.skipped {
        let _ = writeln!(text, "  skipped: {}\n", skipped.as_str());
        return text;
    }
    let stats = &report.stats;
    let mut table = Table::new(&[Align::Left, Align::Right, Align::Left]);
    table.row([
        "lines".to_string(),
        thousands(stats.lines),
        format!(
            "parsed {}, failed {}, blank {}",
            thousands(stats.parsed),
            thousands(stats.failed),
            thousands(stats.blank)
        ),
    ]);
    table.row([
        "search".to_string(),
        thousands(report.search.indexed),
        format!("documents -> {}", search_file.display()),
    ]);
    if let (Some(key), Some((store, _))) = (&report.table_key, &pipeline.table) {
        table.row([
            "table".to_string(),
            thousands(table_rows(report)),
            format!("rows -> {}", store.describe(key)),
        ]);
    }
    if let Some(key) = &report.errors_key {
        let (store, _) = &pipeline.errors;
        table.row([
            "errors".to_string(),
            thousands(report.dead_letters),
            format!("dead letters -> {}", store.describe(key)),
        ]);
    }
    table.row([
        "alerts".to_string(),
        thousands(alerts.len() as u64),
        if alerts.is_empty() {
            "none would fire (default thresholds)".to_string()
        } else {
            "would be sent to Slack:".to_string()
        },
    ]);
    table.render("  ", &mut text);
    for alert in alerts {
        let _ = writeln!(text, "    {alert}");
    }
    if let Some(damage) = &report.corrupt {
        let _ = writeln!(
            text,
            "  damaged: {damage}; every line before it is in the outputs above, the damage is \
             the last record of the errors object"
        );
    }
    text.push('\n');
    text
}

/// Table rows: every parsed record is one row (the report does not carry the writer's count).
fn table_rows(report: &ObjectReport) -> u64 {
    if report.table_key.is_some() {
        report.stats.parsed
    } else {
        0
    }
}

/// The threshold alerts the function would queue for this object, as the Slack text they would
/// be sent with.
fn threshold_alerts(report: &ObjectReport) -> Vec<String> {
    let context = ObjectContext {
        bucket: &report.object.bucket,
        key: &report.object.key,
        load_balancer: &report.load_balancer,
        fingerprint: &report.fingerprint,
    };
    evaluate_thresholds(&report.stats, &Thresholds::default(), &context)
        .iter()
        .map(|alert| render(alert, &RenderOptions::default()).text)
        .collect()
}

#[derive(Default)]
struct Totals {
    objects: u64,
    skipped: u64,
    documents: u64,
    table_rows: u64,
    dead_letters: u64,
    alerts: u64,
    stats: Stats,
}

impl Totals {
    fn add(&mut self, report: &ObjectReport, alerts: usize) {
        self.objects += 1;
        if report.skipped.is_some() {
            self.skipped += 1;
            return;
        }
        self.documents += report.search.indexed;
        self.table_rows += table_rows(report);
        self.dead_letters += report.dead_letters;
        self.alerts += alerts as u64;
        self.stats.merge(&report.stats);
    }

    fn render(&self) -> String {
        let s = &self.stats;
        let mut text = String::new();
        let mut objects = format!("{} object(s)", thousands(self.objects));
        if self.skipped > 0 {
            let _ = write!(objects, ", {} skipped", thousands(self.skipped));
        }
        let _ = writeln!(
            text,
            "Total: {objects}, {} lines (parsed {}, failed {}, blank {})",
            thousands(s.lines),
            thousands(s.parsed),
            thousands(s.failed),
            thousands(s.blank)
        );
        let _ = writeln!(
            text,
            "       {} search documents, {} table rows, {} dead letters, {} alert(s)",
            thousands(self.documents),
            thousands(self.table_rows),
            thousands(self.dead_letters),
            thousands(self.alerts)
        );
        text
    }
}
