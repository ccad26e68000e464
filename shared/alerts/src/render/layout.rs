//! What differs between sources' messages. The data itself is in the alert (the normalisers put
//! each source's facts into fields and links in the order they matter); a layout only decides
//! how the common parts are presented.

use crate::alert::Source;

pub(crate) struct Layout {
    /// A bold heading over the summary, when the summary is a specific thing (an alarm's
    /// state reason) rather than free text.
    pub summary_heading: Option<&'static str>,
    /// Alertmanager alerts are identified by their labels, so they are shown; elsewhere labels
    /// are routing data.
    pub show_labels: bool,
}

impl Layout {
    pub fn for_source(source: &Source) -> Layout {
        match source {
            Source::Cloudwatch => Layout {
                summary_heading: Some("Reason"),
                show_labels: false,
            },
            Source::Alertmanager => Layout {
                summary_heading: None,
                show_labels: true,
            },
            _ => Layout {
                summary_heading: None,
                show_labels: false,
            },
        }
    }
}
