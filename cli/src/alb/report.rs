//! The human form of a statistics report: sections of aligned text, every number with its share
//! where a share means something.

use fleetwatch_alb_logs::{Count, LatencySummary, StatsReport};

use crate::table::{Align, Table, binary_bytes, percent, thousands};

use Align::{Left, Right};

pub fn render(report: &StatsReport) -> String {
    let mut out = String::new();
    totals(report, &mut out);
    status_classes(report, &mut out);
    origins_of_5xx(report, &mut out);
    latency(report, &mut out);
    top_list("Top paths", &report.top_paths, report.requests, &mut out);
    top_list(
        "Top 5xx paths",
        &report.top_5xx_paths,
        report.status_classes.s5xx,
        &mut out,
    );
    top_list(
        "Top clients",
        &report.top_clients,
        report.requests,
        &mut out,
    );
    counts(
        "Desync classifications",
        report.classifications.iter(),
        report.requests,
        &mut out,
    );
    counts(
        "Error reasons",
        report.error_reasons.iter(),
        report.failed,
        &mut out,
    );
    // One trailing newline: the caller ends the output.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out.pop();
    out
}

fn section(title: &str, table: &Table, out: &mut String) {
    out.push_str(title);
    out.push('\n');
    if table.is_empty() {
        out.push_str("  (none)\n");
    } else {
        table.render("  ", out);
    }
    out.push('\n');
}

fn totals(r: &StatsReport, out: &mut String) {
    let mut table = Table::new(&[Left, Right, Left]);
    table.row([
        "Lines".to_string(),
        thousands(r.lines),
        format!(
            "parsed {} ({}), failed {} ({}), blank {}",
            thousands(r.parsed),
            percent(r.parsed, r.lines - r.blank),
            thousands(r.failed),
            percent(r.failed, r.lines - r.blank),
            thousands(r.blank)
        ),
    ]);
    table.row([
        "Requests".to_string(),
        thousands(r.requests),
        "access and Classic ELB lines".into(),
    ]);
    table.row([
        "Received".to_string(),
        thousands(r.received_bytes),
        format!("bytes ({})", binary_bytes(r.received_bytes)),
    ]);
    table.row([
        "Sent".to_string(),
        thousands(r.sent_bytes),
        format!("bytes ({})", binary_bytes(r.sent_bytes)),
    ]);
    let range = match (&r.first_time, &r.last_time) {
        (Some(first), Some(last)) => format!("{first} .. {last}"),
        _ => "-".into(),
    };
    table.row(["Time range".to_string(), String::new(), range]);
    section("Totals", &table, out);
}

fn status_classes(r: &StatsReport, out: &mut String) {
    let classes = &r.status_classes;
    let mut table = Table::new(&[Left, Right, Right]);
    for (name, n) in [
        ("1xx", classes.s1xx),
        ("2xx", classes.s2xx),
        ("3xx", classes.s3xx),
        ("4xx", classes.s4xx),
        ("5xx", classes.s5xx),
        ("none", classes.none),
    ] {
        if n > 0 {
            table.row([name.to_string(), thousands(n), percent(n, r.requests)]);
        }
    }
    section("Status classes (load balancer status)", &table, out);
}

fn origins_of_5xx(r: &StatsReport, out: &mut String) {
    let mut table = Table::new(&[Left, Right, Right]);
    if r.status_classes.s5xx > 0 {
        table.row([
            "target".to_string(),
            thousands(r.target_5xx),
            percent(r.target_5xx, r.status_classes.s5xx),
        ]);
        table.row([
            "load balancer".to_string(),
            thousands(r.elb_5xx),
            percent(r.elb_5xx, r.status_classes.s5xx),
        ]);
    }
    section("5xx by origin", &table, out);
}

fn latency(r: &StatsReport, out: &mut String) {
    let mut table = Table::new(&[Left, Right, Right, Right, Right, Right, Right, Right]);
    if r.target_latency.count > 0 || !r.target_groups.is_empty() {
        table.row([
            "target group",
            "requests",
            "5xx target",
            "5xx lb",
            "p50",
            "p90",
            "p99",
            "max",
        ]);
        let mut all = vec![
            "(all)".to_string(),
            thousands(r.requests),
            thousands(r.target_5xx),
            thousands(r.elb_5xx),
        ];
        all.extend(latency_cells(&r.target_latency));
        table.row(all);
        for group in &r.target_groups {
            let mut row = vec![
                group.name.clone(),
                thousands(group.requests),
                thousands(group.target_5xx),
                thousands(group.elb_5xx),
            ];
            row.extend(latency_cells(&group.latency));
            table.row(row);
        }
    }
    section("Target latency (seconds)", &table, out);
}

fn latency_cells(summary: &LatencySummary) -> [String; 4] {
    let cell = |value: Option<f64>| value.map_or_else(|| "-".to_string(), |s| format!("{s:.3}"));
    [
        cell(summary.p50),
        cell(summary.p90),
        cell(summary.p99),
        cell(summary.max),
    ]
}

fn top_list(title: &str, entries: &[Count], whole: u64, out: &mut String) {
    let mut table = Table::new(&[Right, Right, Left]);
    for entry in entries {
        table.row([
            thousands(entry.count),
            percent(entry.count, whole),
            entry.key.clone(),
        ]);
    }
    section(title, &table, out);
}

fn counts<'a>(
    title: &str,
    entries: impl Iterator<Item = (&'a String, &'a u64)>,
    whole: u64,
    out: &mut String,
) {
    let mut entries: Vec<(&String, &u64)> = entries.collect();
    // Largest first; ties in name order, so the report is stable.
    entries.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut table = Table::new(&[Right, Right, Left]);
    for (name, &n) in entries {
        table.row([thousands(n), percent(n, whole), name.clone()]);
    }
    section(title, &table, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_alb::{LogKind, parse_line};
    use fleetwatch_alb_logs::Stats;

    #[test]
    fn an_empty_report_has_every_section_and_no_division_by_zero() {
        let text = render(&Stats::new().report(5));
        for title in [
            "Totals",
            "Status classes",
            "5xx by origin",
            "Target latency",
            "Top paths",
            "Top 5xx paths",
            "Top clients",
            "Desync classifications",
            "Error reasons",
        ] {
            assert!(text.contains(title), "{title} missing:\n{text}");
        }
        assert!(!text.contains("NaN"), "{text}");
        assert!(!text.ends_with('\n'));
    }

    #[test]
    fn shares_are_of_the_right_whole() {
        let line = "https 2026-11-25T10:00:00.000000Z app/web/50dc6c495c0c9188 203.0.113.7:5000 - -1 -1 -1 502 - 100 200 \"GET https://shop.example.com:443/x HTTP/1.1\" \"curl/8\" - - - \"-\" \"-\" \"-\" 0 2026-11-25T09:59:59.900000Z \"forward\" \"-\" \"-\" \"-\" \"-\" \"-\" \"-\" TID_1";
        let mut stats = Stats::new();
        stats.record(&parse_line(LogKind::Access, line.as_bytes()).unwrap());
        stats.blank_line();
        let text = render(&stats.report(5));
        assert!(
            text.contains("parsed 1 (100.0%), failed 0 (0.0%), blank 1"),
            "{text}"
        );
        assert!(text.contains("load balancer  1  100.0%"), "{text}");
        assert!(text.contains("1  100.0%  /x"), "{text}");
    }
}
