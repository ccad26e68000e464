//! A hand-written SVG line chart of simulator reports: instances (solid) and pending tasks
//! (dashed) over time, one colour per policy, with axes, labels and a legend.

use std::fmt::Write as _;

use crate::sim::Report;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// The chart as an SVG document. `title` goes on top (escaped).
pub fn plot(title: &str, reports: &[Report]) -> String {
    let frame = Frame::of(reports);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    svg.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = write!(
        svg,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        LEFT + frame.plot_width() / 2.0,
        escape(title)
    );
    frame.axes(&mut svg);
    for (i, report) in reports.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        frame.line(&mut svg, report, colour, |p| p.instances, None);
        frame.line(&mut svg, report, colour, |p| p.pending, Some("6 4"));
        legend(&mut svg, i, &report.policy, colour);
    }
    svg.push_str("</svg>\n");
    svg
}

struct Frame {
    max_t: f64,
    max_y: f64,
}

impl Frame {
    fn of(reports: &[Report]) -> Frame {
        let points = reports.iter().flat_map(|r| r.timeline.iter());
        // Points are the starts of simulated minutes: the last one's minute ends the axis.
        let max_t = (points.clone().map(|p| p.t).max().unwrap_or(0) + 60) as f64;
        let max_y = points
            .map(|p| p.instances.max(p.pending))
            .max()
            .unwrap_or(0)
            .max(1);
        Frame {
            max_t,
            max_y: nice_ceiling(max_y) as f64,
        }
    }

    fn plot_width(&self) -> f64 {
        WIDTH - LEFT - RIGHT
    }

    fn plot_height(&self) -> f64 {
        HEIGHT - TOP - BOTTOM
    }

    fn x(&self, t: u64) -> f64 {
        LEFT + t as f64 / self.max_t * self.plot_width()
    }

    fn y(&self, value: u32) -> f64 {
        TOP + self.plot_height() - f64::from(value) / self.max_y * self.plot_height()
    }

    /// Axes, five ticks each, labels in minutes (hours beyond three hours) and counts.
    fn axes(&self, svg: &mut String) {
        let (x0, y0) = (LEFT, TOP + self.plot_height());
        let _ = write!(
            svg,
            r#"<path d="M{x0} {TOP} V{y0} H{}" fill="none" stroke="black"/>"#,
            LEFT + self.plot_width()
        );
        let hours = self.max_t > 3.0 * 3600.0;
        for k in 0..=5 {
            let t = (self.max_t * f64::from(k) / 5.0) as u64;
            let x = self.x(t);
            let label = if hours {
                format!("{:.1}h", t as f64 / 3600.0)
            } else {
                format!("{}m", t / 60)
            };
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{}" stroke="black"/><text x="{x:.1}" y="{}" text-anchor="middle">{label}</text>"#,
                y0 + 5.0,
                y0 + 18.0
            );
            let value = (self.max_y * f64::from(k) / 5.0).round() as u32;
            let y = self.y(value);
            let _ = write!(
                svg,
                r##"<line x1="{}" y1="{y:.1}" x2="{x0}" y2="{y:.1}" stroke="black"/><line x1="{x0}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{value}</text>"##,
                x0 - 5.0,
                LEFT + self.plot_width(),
                x0 - 8.0,
                y + 4.0
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">time since start</text>"#,
            LEFT + self.plot_width() / 2.0,
            HEIGHT - 10.0
        );
        let _ = write!(
            svg,
            r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">instances / pending tasks</text>"#,
            TOP + self.plot_height() / 2.0,
            TOP + self.plot_height() / 2.0
        );
    }

    fn line(
        &self,
        svg: &mut String,
        report: &Report,
        colour: &str,
        value: impl Fn(&crate::sim::Point) -> u32,
        dash: Option<&str>,
    ) {
        let points: Vec<String> = report
            .timeline
            .iter()
            .map(|p| format!("{:.1},{:.1}", self.x(p.t), self.y(value(p))))
            .collect();
        let dash = dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>"#,
            points.join(" ")
        );
    }
}

fn legend(svg: &mut String, index: usize, policy: &str, colour: &str) {
    let x = WIDTH - RIGHT + 15.0;
    let y = TOP + 10.0 + index as f64 * 40.0;
    let policy = escape(policy);
    let _ = write!(
        svg,
        r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{policy} instances</text>"#,
        x + 25.0,
        x + 30.0,
        y + 4.0
    );
    let y = y + 16.0;
    let _ = write!(
        svg,
        r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/><text x="{}" y="{}">{policy} pending tasks</text>"#,
        x + 25.0,
        x + 30.0,
        y + 4.0
    );
}

/// 1, 2, 5 x 10^k at or above `value`, so tick labels are round.
fn nice_ceiling(value: u32) -> u32 {
    let mut base = 1;
    loop {
        for step in [1, 2, 5] {
            if step * base >= value {
                return step * base;
            }
        }
        base *= 10;
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(17), 20);
        assert_eq!(nice_ceiling(51), 100);
    }
}
