//! What the `alerts` commands read from AWS: the ecs-events function's lookups
//! (`alerts render --enrich`) and SSM Parameter Store (`alerts send` and `health check` without
//! `--secrets`). Only
//! in a build with the `aws` feature; the default build says how to get one.

#[cfg(feature = "aws")]
pub use with_aws::{Enricher, SsmSecrets, ssm_secrets};
#[cfg(not(feature = "aws"))]
pub use without_aws::{Enricher, SsmSecrets, ssm_secrets};

#[cfg(feature = "aws")]
mod with_aws {
    use std::time::Duration;

    use fleetwatch_aws::{AwsClients, EcsApiLookups};
    use fleetwatch_ecs_events::enrich_alert;
    use fleetwatch_ports::SystemClock;

    use crate::alerts::event_file::Loaded;
    use crate::outcome::Fatal;
    use crate::runtime;

    pub use fleetwatch_aws::SsmSecrets;

    /// Time allowed for the lookups of one alert, as in the function.
    const ENRICHMENT_BUDGET: Duration = Duration::from_secs(10);

    /// Parameter Store with the environment's credentials and region.
    pub async fn ssm_secrets() -> Result<SsmSecrets, Fatal> {
        let aws = AwsClients::from_env().await;
        Ok(SsmSecrets::new(
            aws.ssm(),
            Duration::from_secs(300),
            SystemClock::shared(),
        ))
    }

    /// The function's lookups, on the command's runtime.
    pub struct Enricher {
        runtime: tokio::runtime::Runtime,
        lookups: EcsApiLookups,
        region: String,
    }

    impl Enricher {
        pub fn new() -> Result<Self, Fatal> {
            let runtime = runtime::new()?;
            let aws = runtime.block_on(AwsClients::from_env());
            let region = aws
                .sdk_config()
                .region()
                .map_or_else(|| "us-east-1".to_string(), |r| r.to_string());
            Ok(Enricher {
                runtime,
                lookups: EcsApiLookups::from_clients(&aws),
                region,
            })
        }

        /// Adds the lookups' answers to each ECS alert; a failed lookup marks the alert (as in
        /// the function) and is logged on standard error.
        pub fn enrich(&self, loaded: &mut Loaded) {
            for alert in &mut loaded.normalised.alerts {
                let Some((_, event)) = loaded.ecs_events.iter().find(|(id, _)| *id == alert.id)
                else {
                    continue;
                };
                let deadline = tokio::time::Instant::now() + ENRICHMENT_BUDGET;
                let failed = self.runtime.block_on(enrich_alert(
                    &self.lookups,
                    event,
                    alert,
                    deadline,
                    &self.region,
                ));
                if failed {
                    eprintln!(
                        "fleetwatch: {}: enrichment incomplete (see the alert's Note)",
                        alert.title
                    );
                }
            }
        }
    }
}

/// The default build's stand-ins. Compiled in every build, so their message is tested in every
/// build; only used without the feature.
#[cfg_attr(feature = "aws", allow(dead_code))]
mod without_aws {
    use fleetwatch_ports::{Secret, SecretError, SecretSource};

    use crate::alerts::event_file::Loaded;
    use crate::outcome::Fatal;

    fn no_aws(what: &str) -> Fatal {
        Fatal::Usage(format!(
            "{what} needs AWS, and this fleetwatch was built without it: \
             `cargo install --path cli --features aws` (or `cargo run -p fleetwatch-cli --features aws -- ...`)"
        ))
    }

    /// Never built: there is no AWS in this build.
    pub enum SsmSecrets {}

    impl SecretSource for SsmSecrets {
        async fn secret(&self, _name: &str) -> Result<Secret, SecretError> {
            match *self {}
        }
    }

    pub async fn ssm_secrets() -> Result<SsmSecrets, Fatal> {
        Err(no_aws(
            "reading secrets from SSM Parameter Store (no --secrets FILE)",
        ))
    }

    pub enum Enricher {}

    impl Enricher {
        pub fn new() -> Result<Self, Fatal> {
            Err(no_aws("--enrich"))
        }

        pub fn enrich(&self, _loaded: &mut Loaded) {
            match *self {}
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_default_build_says_how_to_get_aws() {
            let Err(Fatal::Usage(message)) = Enricher::new() else {
                panic!("--enrich without AWS support must be a usage error");
            };
            assert!(message.starts_with("--enrich needs AWS"), "{message}");
            assert!(message.contains("--features aws"), "{message}");
        }
    }
}
