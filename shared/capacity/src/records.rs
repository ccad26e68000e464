//! The lifecycle-hook records of one Auto Scaling group, kept in the state table as one item:
//! key `capacity#hooks#<group>`, value a JSON list of [`HookRecord`]s. Every write is a
//! compare-and-set against the value read, so two invocations at once (the schedule and a
//! terminate event) never lose each other's records: the loser reads again and [`merge`]s.

use fleetwatch_ports::{StateError, StateItem, StateStore};
use fleetwatch_scaling::{HookRecord, HookState};

/// Every key of the capacity function starts with this (the IAM policy's `dynamodb:LeadingKeys`).
pub const KEY_PREFIX: &str = "capacity#";

/// A completed record is kept this long after completion, so a late or repeated terminate event
/// finds it and changes nothing; then it is dropped.
pub const COMPLETED_RETENTION_S: u64 = 24 * 3600;

/// The item's TTL after every write. A hook is never held longer than 48 hours, so an item not
/// written for a week holds nothing worth keeping.
pub const ITEM_TTL_S: u64 = 7 * 24 * 3600;

/// The state-table key of `asg`'s records.
pub fn key(asg: &str) -> String {
    format!("{KEY_PREFIX}hooks#{asg}")
}

/// The records as read, and the raw value a compare-and-set must find to replace them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stored {
    pub records: Vec<HookRecord>,
    /// `None`: no live item.
    pub raw: Option<String>,
    /// The item held something that is not a record list (it is replaced, and said so).
    pub unreadable: Option<String>,
}

/// Reads the records of `asg`.
pub async fn load<S: StateStore>(store: &S, asg: &str) -> Result<Stored, StateError> {
    let Some(item) = store.get(&key(asg)).await? else {
        return Ok(Stored::default());
    };
    match serde_json::from_str::<Vec<HookRecord>>(&item.value) {
        Ok(records) => Ok(Stored {
            records,
            raw: Some(item.value),
            unreadable: None,
        }),
        Err(error) => Ok(Stored {
            records: Vec::new(),
            raw: Some(item.value),
            unreadable: Some(error.to_string()),
        }),
    }
}

/// Writes `records` over `stored` when the item still holds what was read. `Ok(None)`: another
/// invocation wrote first (read again, merge, try again). `Ok(Some(_))`: what is stored now.
/// `clock_now` (the clock's epoch seconds, not an event's time) dates the item's expiry.
pub async fn save<S: StateStore + Sync>(
    store: &S,
    asg: &str,
    stored: &Stored,
    records: Vec<HookRecord>,
    clock_now: u64,
) -> Result<Option<Stored>, StateError> {
    let value = serde_json::to_string(&records).expect("hook records serialise");
    let item = StateItem {
        key: key(asg),
        value: value.clone(),
        expires_at: clock_now + ITEM_TTL_S,
    };
    if !store.compare_and_set(&item, stored.raw.as_deref()).await? {
        return Ok(None);
    }
    Ok(Some(Stored {
        records,
        raw: Some(value),
        unreadable: None,
    }))
}

/// Drops completed records past their retention.
pub fn prune(records: Vec<HookRecord>, now: u64) -> Vec<HookRecord> {
    records
        .into_iter()
        .filter(|r| match r.state {
            HookState::Holding => true,
            HookState::Completed { at, .. } => at.saturating_add(COMPLETED_RETENTION_S) > now,
        })
        .collect()
}

/// This invocation's changes (from `base`, what it read, to `ours`) applied onto `current`,
/// what another invocation stored meanwhile.
///
/// Per instance: a record only we changed takes our version; one both changed keeps the later
/// heartbeat and is completed if either completed it; one only the other added or changed stays
/// as the other left it; one we added is added; one the other dropped (pruned) stays dropped
/// unless we added it. For one instance with two lifecycle actions (an adopted record has no
/// token, the event's has one), the record with a token wins.
pub fn merge(current: &[HookRecord], base: &[HookRecord], ours: &[HookRecord]) -> Vec<HookRecord> {
    let mut merged = current.to_vec();
    for record in ours {
        let before = base.iter().find(|b| b.instance_id == record.instance_id);
        if before == Some(record) {
            continue;
        }
        match merged
            .iter_mut()
            .find(|m| m.instance_id == record.instance_id)
        {
            Some(theirs) if theirs.token == record.token => {
                theirs.last_heartbeat_at = theirs.last_heartbeat_at.max(record.last_heartbeat_at);
                if theirs.is_holding() && !record.is_holding() {
                    theirs.state = record.state.clone();
                }
            }
            Some(theirs) if theirs.token.is_empty() && !record.token.is_empty() => {
                *theirs = record.clone();
            }
            Some(_) => {}
            None if before.is_none() => merged.push(record.clone()),
            None => {}
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fleetwatch_ports::{ManualClock, MemoryStateStore};
    use fleetwatch_scaling::CompleteReason;

    use super::*;

    fn record(instance: &str, token: &str) -> HookRecord {
        HookRecord {
            instance_id: instance.into(),
            asg: "prod-asg".into(),
            hook_name: "drain".into(),
            token: token.into(),
            started_at: 1_000,
            heartbeat_timeout_s: 900,
            global_timeout_s: 90_000,
            last_heartbeat_at: 1_000,
            state: HookState::Holding,
        }
    }

    fn completed(mut r: HookRecord, at: u64) -> HookRecord {
        r.state = HookState::Completed {
            at,
            reason: CompleteReason::Empty,
        };
        r
    }

    #[tokio::test]
    async fn a_save_over_a_stale_read_is_refused_and_the_item_expires_a_week_on() {
        let store = MemoryStateStore::new(Arc::new(ManualClock::at_epoch_seconds(1_000)));
        let empty = load(&store, "prod-asg").await.unwrap();
        assert_eq!(empty, Stored::default());
        let first = save(&store, "prod-asg", &empty, vec![record("i-1", "t1")], 1_000)
            .await
            .unwrap()
            .expect("nothing was there");
        assert!(
            save(&store, "prod-asg", &empty, vec![record("i-2", "t2")], 1_000)
                .await
                .unwrap()
                .is_none(),
            "written over a read that is no longer true"
        );
        assert_eq!(load(&store, "prod-asg").await.unwrap(), first);
        let item = store.items().pop().unwrap();
        assert_eq!(item.key, "capacity#hooks#prod-asg");
        assert_eq!(item.expires_at, 1_000 + ITEM_TTL_S);
        assert!(
            item.value.starts_with(r#"[{"instance_id":"i-1""#),
            "{}",
            item.value
        );
    }

    #[tokio::test]
    async fn an_unreadable_item_reads_as_no_records_and_says_why() {
        let store = MemoryStateStore::new(Arc::new(ManualClock::at_epoch_seconds(1_000)));
        store
            .put(&StateItem {
                key: key("prod-asg"),
                value: "{not a list".into(),
                expires_at: 5_000,
            })
            .await
            .unwrap();
        let stored = load(&store, "prod-asg").await.unwrap();
        assert!(stored.records.is_empty());
        assert!(stored.unreadable.is_some());
        assert!(
            save(&store, "prod-asg", &stored, vec![], 1_000)
                .await
                .unwrap()
                .is_some(),
            "replaced"
        );
    }

    #[test]
    fn completed_records_go_after_a_day() {
        let kept = prune(
            vec![
                record("i-1", "t1"),
                completed(record("i-2", "t2"), 1_000),
                completed(record("i-3", "t3"), 50_000),
            ],
            1_000 + COMPLETED_RETENTION_S,
        );
        let ids: Vec<&str> = kept.iter().map(|r| r.instance_id.as_str()).collect();
        assert_eq!(ids, ["i-1", "i-3"]);
    }

    #[test]
    fn merge_keeps_both_invocations_work() {
        let base = vec![record("i-1", "t1"), record("i-2", "t2")];
        // We completed i-1 and heartbeat i-2; the other invocation recorded i-3 and heartbeat
        // i-2 later.
        let mut ours_i2 = record("i-2", "t2");
        ours_i2.last_heartbeat_at = 2_000;
        let ours = vec![completed(record("i-1", "t1"), 2_000), ours_i2];
        let mut theirs_i2 = record("i-2", "t2");
        theirs_i2.last_heartbeat_at = 2_050;
        let current = vec![record("i-1", "t1"), theirs_i2.clone(), record("i-3", "t3")];
        let merged = merge(&current, &base, &ours);
        assert_eq!(
            merged,
            vec![
                completed(record("i-1", "t1"), 2_000),
                theirs_i2,
                record("i-3", "t3")
            ]
        );

        // A record the other pruned stays pruned; one we added is added; an adopted record
        // (no token) gives way to the event's.
        let base = vec![completed(record("i-1", "t1"), 10)];
        let ours = vec![completed(record("i-1", "t1"), 10), record("i-4", "")];
        let current = vec![record("i-4", "t4")];
        assert_eq!(merge(&current, &base, &ours), vec![record("i-4", "t4")]);
        let current = vec![record("i-5", "")];
        let ours = vec![record("i-5", "t5")];
        assert_eq!(merge(&current, &[], &ours), vec![record("i-5", "t5")]);
        assert_eq!(
            merge(&[], &[], &ours),
            vec![record("i-5", "t5")],
            "ours alone"
        );
    }
}
