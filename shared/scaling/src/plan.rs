//! The planner: one snapshot in, one [`Plan`] out.
//!
//! Order of the decision, and why:
//! 1. Stand down if ECS managed scaling or managed draining owns the group (two controllers fight).
//! 2. Reconcile the lifecycle hooks (instances already terminating come first: they hold tasks).
//! 3. Scale out in one step to what a bin packing of the pending tasks needs, counting instances
//!    already coming.
//! 4. Only when nothing waits and nothing is coming: release drained empty instances, then drain
//!    the emptiest instances whose tasks fit elsewhere (consolidation).
//! 5. Keep every instance but the released ones protected from scale-in, so that when the desired
//!    capacity drops the group can only pick a released (empty) instance.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::{Action, Plan, Step};
use crate::alerts::{self, Summary};
use crate::binpack::{self, Bin, Item, Launcher, Spread};
use crate::hooks::{self, HookRecord};
use crate::model::{Config, ContainerInstance, InstanceStatus, Mode, Snapshot};

/// The hook ECS managed draining installs on a group it drains.
pub const MANAGED_DRAINING_HOOK: &str = "ecs-managed-draining-termination-hook";

/// Plans the next actions for `snapshot` at `now` (epoch seconds).
pub fn plan(snapshot: &Snapshot, config: &Config, now: u64) -> Plan {
    if let Some(owner) = managed_by(snapshot) {
        return stand_down(snapshot, config, &owner, now);
    }
    let mut planner = Planner::new(snapshot, config, now);
    planner.reconcile_hooks();
    let out = planner.scale_out();
    let released = planner.release(&out);
    let drained = planner.consolidate(&out);
    planner.protect(&released);
    planner.set_desired(&out, &released);
    planner.summarise(&out, &released, &drained);
    planner.finish()
}

/// A capacity provider (or its draining hook) that manages this group.
fn managed_by(snapshot: &Snapshot) -> Option<String> {
    let asg = &snapshot.asg;
    if let Some(provider) = snapshot
        .capacity_providers
        .iter()
        .find(|p| p.manages(&asg.name))
    {
        return Some(provider.name.clone());
    }
    asg.lifecycle_hooks
        .iter()
        .find(|h| h.as_str() == MANAGED_DRAINING_HOOK)
        .map(|h| format!("(managed draining hook {h})"))
}

fn stand_down(snapshot: &Snapshot, config: &Config, owner: &str, now: u64) -> Plan {
    let alert = alerts::stand_down(&snapshot.cluster, &snapshot.asg.name, owner, now);
    let why = format!(
        "capacity provider {owner} manages {}: no action, to avoid two controllers",
        snapshot.asg.name
    );
    Plan {
        mode: config.mode,
        stood_down: true,
        steps: vec![Step {
            action: Action::Alert(Box::new(alert)),
            why,
            execute: true,
        }],
        hooks: snapshot.hooks.clone(),
    }
}

/// What scale-out decided.
#[derive(Debug, Default)]
struct ScaleOut {
    /// The group's effective size before this plan (desired, or more if instances exist beyond it).
    current: u32,
    /// Instances added by this plan.
    added: u32,
    /// Pending tasks that some instance (existing, coming or added) will hold.
    placeable: usize,
    /// Pending tasks that fit no instance type.
    unfittable: Vec<usize>,
    /// Pending tasks left waiting by max size or the step limit.
    over_limit: usize,
    /// Instances launched or requested but not registered yet.
    coming: u32,
}

impl ScaleOut {
    /// Capacity is still arriving or tasks still wait: no time to take capacity away.
    fn busy(&self) -> bool {
        self.placeable > 0 || self.over_limit > 0 || self.coming > 0 || self.added > 0
    }
}

struct Planner<'a> {
    s: &'a Snapshot,
    c: &'a Config,
    now: u64,
    steps: Vec<(Action, String)>,
    hooks: Vec<HookRecord>,
    /// Instances whose termination a lifecycle hook holds: out of service already.
    held: BTreeSet<String>,
}

impl<'a> Planner<'a> {
    fn new(s: &'a Snapshot, c: &'a Config, now: u64) -> Self {
        Planner {
            s,
            c,
            now,
            steps: Vec::new(),
            hooks: Vec::new(),
            held: BTreeSet::new(),
        }
    }

    fn reconcile_hooks(&mut self) {
        let update = hooks::reconcile(&self.s.hooks, &self.s.instances, self.c, self.now);
        // Held now or completed in this very plan: either way the group is terminating it.
        // Any record, holding or completed: instance ids are never reused, and a completed hook's
        // instance is on its way out even while ECS still lists it.
        self.held = update
            .records
            .iter()
            .map(|r| r.instance_id.clone())
            .collect();
        self.hooks = update.records;
        self.steps.extend(update.actions);
    }

    /// Registered instances the group still counts (not terminating).
    fn in_service(&self) -> impl Iterator<Item = &'a ContainerInstance> + '_ {
        self.s
            .instances
            .iter()
            .filter(|i| !self.held.contains(&i.id))
    }

    fn active(&self) -> impl Iterator<Item = &'a ContainerInstance> + '_ {
        self.in_service()
            .filter(|i| i.status == InstanceStatus::Active)
    }

    // ---- scale-out -------------------------------------------------------------------------

    fn scale_out(&mut self) -> ScaleOut {
        let asg = &self.s.asg;
        let registered = self.in_service().count() as u32;
        let launched = registered + asg.in_flight.len() as u32;
        let current = asg.desired.max(launched);
        let requested = current - launched;

        let mut launcher = self.launcher();
        let mut bins = self.existing_bins();
        for _ in 0..requested {
            bins.extend(launcher.next_bin());
        }
        launcher.remaining = self
            .c
            .max_scale_out_step
            .min(asg.max.saturating_sub(current));

        let items = self.pending_items();
        let mut spread = self.spread_counts();
        let reference = asg
            .instance_types
            .first()
            .map(|t| t.resources)
            .unwrap_or_default();
        let packed = binpack::pack(&mut bins, &items, &mut launcher, &mut spread, reference);
        let mut added = launcher.opened;
        if added > 0 {
            added += self.c.spare_instances.min(launcher.remaining);
        }
        let out = ScaleOut {
            current,
            added,
            placeable: items.len() - packed.unfittable.len() - packed.over_limit.len(),
            unfittable: packed.unfittable,
            over_limit: packed.over_limit.len(),
            coming: asg.in_flight.len() as u32 + requested,
        };
        self.alert_waiting(&out);
        out
    }

    /// Launch order starts from the instances per AZ the group already has or is starting.
    fn launcher(&self) -> Launcher {
        let asg = &self.s.asg;
        let mut per_az: BTreeMap<String, u32> = BTreeMap::new();
        for instance in self.in_service() {
            *per_az.entry(instance.az.clone()).or_default() += 1;
        }
        for coming in asg.in_flight.iter().filter_map(|f| f.az.as_ref()) {
            *per_az.entry(coming.clone()).or_default() += 1;
        }
        Launcher::new(&asg.instance_types, &asg.azs, per_az)
    }

    /// Free room on ACTIVE instances, then whole in-flight instances.
    fn existing_bins(&self) -> Vec<Bin> {
        let mut bins: Vec<Bin> = self
            .active()
            .map(|i| {
                let mut bin = Bin::new(Some(i.az.clone()), i.remaining);
                bin.services = i.busy_tasks().filter_map(|t| t.service.clone()).collect();
                bin
            })
            .collect();
        for coming in &self.s.asg.in_flight {
            if let Some(t) = self.s.instance_type(&coming.instance_type) {
                bins.push(Bin::new(coming.az.clone(), t.resources));
            }
        }
        bins
    }

    /// Pending tasks as packing items (AZ spread is balanced while packing).
    fn pending_items(&self) -> Vec<Item> {
        self.s
            .pending_tasks
            .iter()
            .map(|task| Item {
                resources: task.resources,
                service: task.service.clone(),
                placement: task.placement,
                az: None,
            })
            .collect()
    }

    /// Tasks per service and zone on ACTIVE instances: where AZ spread starts from.
    fn spread_counts(&self) -> Spread {
        let mut counts = BTreeMap::new();
        for instance in self.active() {
            for service in instance.busy_tasks().filter_map(|t| t.service.as_ref()) {
                *counts
                    .entry((service.clone(), instance.az.clone()))
                    .or_default() += 1;
            }
        }
        Spread {
            azs: self.s.asg.azs.clone(),
            counts,
        }
    }

    fn alert_waiting(&mut self, out: &ScaleOut) {
        let (cluster, asg) = (&self.s.cluster, &self.s.asg);
        if !out.unfittable.is_empty() {
            let tasks: Vec<_> = out
                .unfittable
                .iter()
                .map(|&i| {
                    let t = &self.s.pending_tasks[i];
                    let need = format!("{} CPU, {} MiB", t.resources.cpu, t.resources.memory);
                    (t.id.clone(), t.service.clone(), need)
                })
                .collect();
            let why = format!(
                "{} pending task(s) are bigger than every instance type of {}",
                tasks.len(),
                asg.name
            );
            let alert = alerts::unfittable(cluster, &asg.name, &tasks, self.now);
            self.steps.push((Action::Alert(Box::new(alert)), why));
        }
        if out.over_limit > 0 && out.current + out.added >= asg.max {
            let why = format!(
                "{} task(s) need more instances than the maximum of {}",
                out.over_limit, asg.max
            );
            let alert = alerts::at_max(cluster, &asg.name, asg.max, out.over_limit, self.now);
            self.steps.push((Action::Alert(Box::new(alert)), why));
        }
    }

    // ---- scale-in --------------------------------------------------------------------------

    /// Drained instances with nothing left on them, to let go now. Only in a quiet moment (no
    /// task waits, nothing is coming) and only when the group's desired capacity matches the
    /// instances it has, so a drop in desired capacity means exactly these instances.
    fn release(&self, out: &ScaleOut) -> Vec<&'a ContainerInstance> {
        let asg = &self.s.asg;
        let in_service = self.in_service().count() as u32;
        if out.busy() || asg.desired != in_service {
            return Vec::new();
        }
        let room = asg
            .desired
            .saturating_sub(asg.min)
            .min(self.c.max_scale_in_step) as usize;
        self.in_service()
            .filter(|i| i.status == InstanceStatus::Draining && i.is_empty())
            .take(room)
            .collect()
    }

    /// Drains the emptiest ACTIVE instances whose tasks fit on the others (same AZ for AZ-spread
    /// services, one per instance for distinctInstance), within the disruption budget and the
    /// services' minimumHealthyPercent.
    fn consolidate(&mut self, out: &ScaleOut) -> Vec<&'a ContainerInstance> {
        if out.busy() || !self.settled() {
            return Vec::new();
        }
        let draining_busy = self
            .in_service()
            .filter(|i| i.status == InstanceStatus::Draining && !i.is_empty())
            .count() as u32;
        let budget = self.c.disruption_budget.saturating_sub(draining_busy) as usize;
        let mut moves = Moves::new(self.s, self.active().collect());
        for candidate in self.drain_candidates() {
            if moves.chosen.len() >= budget {
                break;
            }
            if moves.active_after() <= self.s.asg.min as usize {
                break;
            }
            moves.try_drain(candidate, self.c.spare_instances);
        }
        for instance in &moves.chosen {
            let why = format!(
                "consolidation: {} holds {} task(s) ({:.0}% used) that fit on the other instances",
                instance.id,
                instance.non_daemon_task_count(),
                load_share(instance) * 100.0
            );
            let action = Action::DrainInstance {
                instance_id: instance.id.clone(),
                container_instance_arn: Some(instance.arn.clone()),
            };
            self.steps.push((action, why));
        }
        moves.chosen
    }

    /// The last launch is at least the scale-in delay ago: the load has had time to settle.
    fn settled(&self) -> bool {
        let newest = self.in_service().map(|i| i.launched_at).max().unwrap_or(0);
        self.now >= newest.saturating_add(self.c.scale_in_delay_s)
    }

    /// ACTIVE instances old enough, whose tasks all belong to services (standalone tasks are not
    /// replaced elsewhere, so draining would not empty the instance), emptiest first.
    fn drain_candidates(&self) -> Vec<&'a ContainerInstance> {
        let mut candidates: Vec<_> = self
            .active()
            .filter(|i| self.now >= i.launched_at.saturating_add(self.c.scale_in_delay_s))
            .filter(|i| i.busy_tasks().all(|t| t.service.is_some()))
            .collect();
        candidates.sort_by(|a, b| {
            load_share(a)
                .total_cmp(&load_share(b))
                .then(a.launched_at.cmp(&b.launched_at))
                .then(a.id.cmp(&b.id))
        });
        candidates
    }

    // ---- protection and desired capacity ---------------------------------------------------

    fn protect(&mut self, released: &[&ContainerInstance]) {
        let asg = self.s.asg.name.clone();
        let released_ids: BTreeSet<&str> = released.iter().map(|i| i.id.as_str()).collect();
        let protect: Vec<String> = self
            .in_service()
            .filter(|i| !i.protected && !released_ids.contains(i.id.as_str()))
            .map(|i| i.id.clone())
            .collect();
        let unprotect: Vec<String> = released
            .iter()
            .filter(|i| i.protected)
            .map(|i| i.id.clone())
            .collect();
        if !protect.is_empty() {
            let why = "keep instances that are not being released out of the group's scale-in \
                       choice"
                .to_string();
            self.steps.push((
                Action::Protect {
                    asg: asg.clone(),
                    instance_ids: protect,
                },
                why,
            ));
        }
        if !unprotect.is_empty() {
            let why = "drained and empty: the only instances the group may pick when its desired \
                       capacity drops"
                .to_string();
            self.steps.push((
                Action::Unprotect {
                    asg,
                    instance_ids: unprotect,
                },
                why,
            ));
        }
    }

    fn set_desired(&mut self, out: &ScaleOut, released: &[&ContainerInstance]) {
        let asg = &self.s.asg;
        let (desired, why) = if out.added > 0 {
            let desired = out.current + out.added;
            let why = format!(
                "{} pending task(s) need {} more instance(s) by first-fit-decreasing packing \
                 (counting {} already coming)",
                out.placeable, out.added, out.coming
            );
            (desired, why)
        } else if !released.is_empty() {
            let ids: Vec<&str> = released.iter().map(|i| i.id.as_str()).collect();
            let desired = asg.desired - released.len() as u32;
            (
                desired,
                format!("release drained, empty {}", ids.join(", ")),
            )
        } else {
            return;
        };
        let desired = desired.clamp(asg.min, asg.max.max(asg.min));
        if desired != asg.desired {
            let action = Action::SetDesiredCapacity {
                asg: asg.name.clone(),
                desired,
            };
            self.steps.push((action, why));
        }
    }

    // ---- summary and result ----------------------------------------------------------------

    fn summarise(
        &mut self,
        out: &ScaleOut,
        released: &[&ContainerInstance],
        drained: &[&ContainerInstance],
    ) {
        if out.added == 0 && released.is_empty() && drained.is_empty() {
            return;
        }
        let summary = self.summary(out, released, drained);
        let why = "one summary per capacity decision, threaded per group".to_string();
        let alert = alerts::summary(summary, self.now);
        self.steps.push((Action::Alert(Box::new(alert)), why));
    }

    /// Title from the main decision; a field and an identity part for every part of it.
    fn summary(
        &self,
        out: &ScaleOut,
        released: &[&ContainerInstance],
        drained: &[&ContainerInstance],
    ) -> Summary<'a> {
        let asg = &self.s.asg;
        let desired = self.planned_desired().unwrap_or(asg.desired);
        let mut lines = Vec::new();
        let mut identity = vec![desired.to_string()];
        if out.added > 0 {
            lines.push(("Pending".to_string(), self.pending_by_service()));
            lines.push(("Added".to_string(), format!("{} instance(s)", out.added)));
            let ids: Vec<&str> = self.s.pending_tasks.iter().map(|t| t.id.as_str()).collect();
            identity.extend(["out".to_string(), ids.join(",")]);
        }
        for (label, instances) in [("Released", released), ("Draining", drained)] {
            if !instances.is_empty() {
                lines.push((label.to_string(), ids_of(instances)));
                identity.extend([label.to_string(), ids_of(instances)]);
            }
        }
        let title = if out.added > 0 {
            format!(
                "Scaling {} out from {} to {desired} for {} pending task(s)",
                asg.name,
                out.current,
                self.s.pending_tasks.len()
            )
        } else if !released.is_empty() {
            format!(
                "Scaling {} in to {desired}: released {}",
                asg.name,
                ids_of(released)
            )
        } else {
            format!("Consolidating {}: draining {}", asg.name, ids_of(drained))
        };
        Summary {
            cluster: &self.s.cluster,
            asg: &asg.name,
            title,
            lines,
            identity,
            observe: self.c.mode == Mode::Observe,
        }
    }

    fn planned_desired(&self) -> Option<u32> {
        self.steps.iter().find_map(|(a, _)| match a {
            Action::SetDesiredCapacity { desired, .. } => Some(*desired),
            _ => None,
        })
    }

    fn pending_by_service(&self) -> String {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for task in &self.s.pending_tasks {
            *counts
                .entry(task.service.as_deref().unwrap_or("standalone"))
                .or_default() += 1;
        }
        counts
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn finish(self) -> Plan {
        let observe = self.c.mode == Mode::Observe;
        let steps = self
            .steps
            .into_iter()
            .map(|(action, why)| Step {
                execute: !observe || action.is_alert(),
                action,
                why,
            })
            .collect();
        // In observe mode nothing was done, so the stored hook state must not move on either.
        let hooks = if observe {
            self.s.hooks.clone()
        } else {
            self.hooks
        };
        Plan {
            mode: self.c.mode,
            stood_down: false,
            steps,
            hooks,
        }
    }
}

fn ids_of(instances: &[&ContainerInstance]) -> String {
    instances
        .iter()
        .map(|i| i.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn load_share(instance: &ContainerInstance) -> f64 {
    instance.movable_load().share_of(instance.registered)
}

/// Instances staying ACTIVE, with their free room.
type Kept<'a> = Vec<(&'a ContainerInstance, Bin)>;

/// The consolidation being built: which instances drain, where their tasks would go, and how
/// many tasks each service loses at once.
struct Moves<'a> {
    s: &'a Snapshot,
    /// ACTIVE instances and their free room, fullest first (first fit then packs tightly).
    kept: Kept<'a>,
    chosen: Vec<&'a ContainerInstance>,
    /// Instances that receive moved tasks in this plan: never drained in the same plan.
    receivers: BTreeSet<String>,
    leaving: BTreeMap<String, u32>,
}

impl<'a> Moves<'a> {
    fn new(s: &'a Snapshot, mut active: Vec<&'a ContainerInstance>) -> Self {
        active.sort_by(|a, b| {
            a.remaining
                .share_of(a.registered)
                .total_cmp(&b.remaining.share_of(b.registered))
                .then(a.id.cmp(&b.id))
        });
        let kept = active
            .into_iter()
            .map(|i| {
                let mut bin = Bin::new(Some(i.az.clone()), i.remaining);
                bin.services = i.busy_tasks().filter_map(|t| t.service.clone()).collect();
                (i, bin)
            })
            .collect();
        Moves {
            s,
            kept,
            chosen: Vec::new(),
            receivers: BTreeSet::new(),
            leaving: BTreeMap::new(),
        }
    }

    fn active_after(&self) -> usize {
        self.kept.len()
    }

    /// Drains `candidate` if all its tasks fit on the remaining instances, every service keeps
    /// its minimum healthy share, and `spare` empty instances remain.
    fn try_drain(&mut self, candidate: &'a ContainerInstance, spare: u32) -> bool {
        if self.receivers.contains(&candidate.id) {
            return false;
        }
        let leaving = self.leaving_with(candidate);
        if !self.keeps_min_healthy(&leaving) {
            return false;
        }
        let Some((kept, receivers)) = self.placed_without(candidate) else {
            return false;
        };
        let empties = kept
            .iter()
            .filter(|(i, _)| i.is_empty() && !receivers.contains(&i.id))
            .count();
        if empties < spare as usize {
            return false;
        }
        self.kept = kept;
        self.receivers.extend(receivers);
        self.leaving = leaving;
        self.chosen.push(candidate);
        true
    }

    fn leaving_with(&self, candidate: &ContainerInstance) -> BTreeMap<String, u32> {
        let mut leaving = self.leaving.clone();
        for service in candidate.busy_tasks().filter_map(|t| t.service.clone()) {
            *leaving.entry(service).or_default() += 1;
        }
        leaving
    }

    /// ECS replaces a draining instance's tasks by starting new ones first as far as
    /// maximumPercent allows, and stopping old ones as far as minimumHealthyPercent allows; the
    /// drain keeps the service healthy when those two together cover the tasks that leave.
    fn keeps_min_healthy(&self, leaving: &BTreeMap<String, u32>) -> bool {
        leaving.iter().all(|(name, &gone)| {
            let Some(service) = self.s.service(name) else {
                return false;
            };
            let (desired, running) = (u64::from(service.desired), u64::from(service.running));
            let floor = (desired * u64::from(service.minimum_healthy_percent)).div_ceil(100);
            let ceiling = desired * u64::from(service.maximum_percent) / 100;
            let started_first = ceiling.saturating_sub(running).min(u64::from(gone));
            running + started_first >= floor + u64::from(gone)
        })
    }

    /// The kept instances after moving the candidate's tasks onto them, and who received them.
    fn placed_without(
        &self,
        candidate: &ContainerInstance,
    ) -> Option<(Kept<'a>, BTreeSet<String>)> {
        let mut kept: Vec<_> = self
            .kept
            .iter()
            .filter(|(i, _)| i.id != candidate.id)
            .cloned()
            .collect();
        let mut receivers = BTreeSet::new();
        let mut tasks: Vec<_> = candidate.busy_tasks().collect();
        tasks.sort_by(|a, b| {
            b.resources
                .share_of(candidate.registered)
                .total_cmp(&a.resources.share_of(candidate.registered))
        });
        for task in tasks {
            let service = task.service.clone();
            let spec = service.as_deref().and_then(|n| self.s.service(n));
            let placement = spec.map(|s| s.placement).unwrap_or_default();
            let item = Item {
                resources: task.resources,
                service,
                placement,
                az: placement.spread_az.then(|| candidate.az.clone()),
            };
            let (id, bin) = kept.iter_mut().find(|(_, bin)| bin.accepts(&item))?;
            bin.take(&item);
            receivers.insert(id.id.clone());
        }
        Some((kept, receivers))
    }
}
