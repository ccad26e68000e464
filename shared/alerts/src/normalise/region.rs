//! Region codes for the human region names CloudWatch puts in SNS alarm messages.
//!
//! The `Region` field says "EU - Ireland", "US (Virginia)" or "US East (N. Virginia)" depending on
//! the alarm's age, never a code. The ARN has the code, so this table is only a fallback for
//! messages without `AlarmArn`: it matches the place name, which all spellings share.

/// Place names (lower case) to codes. Longer, more specific names come before the ones they
/// contain ("n. california" before "california" does not matter, but "hong kong" must not be
/// taken for anything else).
const PLACES: &[(&str, &str)] = &[
    ("virginia", "us-east-1"),
    ("ohio", "us-east-2"),
    ("california", "us-west-1"),
    ("oregon", "us-west-2"),
    ("govcloud (us-east)", "us-gov-east-1"),
    ("govcloud (us-west)", "us-gov-west-1"),
    ("govcloud (us)", "us-gov-west-1"),
    ("calgary", "ca-west-1"),
    ("canada", "ca-central-1"),
    ("mexico", "mx-central-1"),
    ("são paulo", "sa-east-1"),
    ("sao paulo", "sa-east-1"),
    ("ireland", "eu-west-1"),
    ("london", "eu-west-2"),
    ("paris", "eu-west-3"),
    ("frankfurt", "eu-central-1"),
    ("zurich", "eu-central-2"),
    ("stockholm", "eu-north-1"),
    ("milan", "eu-south-1"),
    ("spain", "eu-south-2"),
    ("cape town", "af-south-1"),
    ("bahrain", "me-south-1"),
    ("uae", "me-central-1"),
    ("tel aviv", "il-central-1"),
    ("mumbai", "ap-south-1"),
    ("hyderabad", "ap-south-2"),
    ("hong kong", "ap-east-1"),
    ("taipei", "ap-east-2"),
    ("tokyo", "ap-northeast-1"),
    ("seoul", "ap-northeast-2"),
    ("osaka", "ap-northeast-3"),
    ("singapore", "ap-southeast-1"),
    ("sydney", "ap-southeast-2"),
    ("jakarta", "ap-southeast-3"),
    ("melbourne", "ap-southeast-4"),
    ("malaysia", "ap-southeast-5"),
    ("thailand", "ap-southeast-7"),
    ("beijing", "cn-north-1"),
    ("ningxia", "cn-northwest-1"),
];

/// The region code for a human region name, if the place is known.
pub(crate) fn code_for_name(name: &str) -> Option<&'static str> {
    let name = name.to_lowercase();
    PLACES
        .iter()
        .find(|(place, _)| name.contains(place))
        .map(|(_, code)| *code)
}

/// The console host for an ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
pub(crate) fn console_host(partition: &str, region: &str) -> String {
    match partition {
        "aws-cn" => "console.amazonaws.cn".to_string(),
        "aws-us-gov" => "console.amazonaws-us-gov.com".to_string(),
        _ => format!("{region}.console.aws.amazon.com"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_region_name_maps_to_its_code() {
        for (name, code) in [
            ("EU - Ireland", "eu-west-1"),
            ("EU (Ireland)", "eu-west-1"),
            ("Europe (Ireland)", "eu-west-1"),
            ("US (Virginia)", "us-east-1"),
            ("US East (N. Virginia)", "us-east-1"),
            ("US East - N. Virginia", "us-east-1"),
            ("US West (N. California)", "us-west-1"),
            ("EU (London)", "eu-west-2"),
            ("Asia Pacific (Hong Kong)", "ap-east-1"),
            ("Canada (Central)", "ca-central-1"),
            ("South America (São Paulo)", "sa-east-1"),
            ("AWS GovCloud (US-East)", "us-gov-east-1"),
        ] {
            assert_eq!(code_for_name(name), Some(code), "{name}");
        }
        assert_eq!(code_for_name("Atlantis"), None);
    }
}
