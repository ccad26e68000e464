//! First-fit-decreasing bin packing over CPU and memory, with the two placement rules the planner
//! honours: a target Availability Zone (AZ spread) and one task per instance (distinctInstance).
//!
//! Bins are instances: the free part of registered ones, whole in-flight ones, and new ones opened
//! by a [`Launcher`] that follows the Auto Scaling group's own choices (AZ balancing, the launch
//! order of its instance types), so the count it opens is what the group will really start.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{InstanceType, Placement, Resources};

/// Free capacity on one instance (existing, coming, or new).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bin {
    /// `None` for capacity whose AZ Auto Scaling has not chosen yet.
    pub az: Option<String>,
    pub free: Resources,
    /// Services with a task here (for distinctInstance).
    pub services: BTreeSet<String>,
}

impl Bin {
    pub fn new(az: Option<String>, free: Resources) -> Self {
        Bin {
            az,
            free,
            services: BTreeSet::new(),
        }
    }

    pub fn accepts(&self, item: &Item) -> bool {
        self.accepts_spread(item, None)
    }

    /// Whether the item fits here; with `spread`, an AZ-spread item only goes to a zone where
    /// its service has the fewest tasks.
    fn accepts_spread(&self, item: &Item, spread: Option<&Spread>) -> bool {
        let az_ok = match (&item.az, spread) {
            (Some(target), _) => self.az.as_deref() == Some(target.as_str()),
            (None, Some(spread)) if item.spreads() => self
                .az
                .as_deref()
                .is_some_and(|az| spread.is_least(item, az)),
            (None, _) => true,
        };
        let distinct_ok = !item.placement.distinct_instance
            || item
                .service
                .as_ref()
                .is_none_or(|s| !self.services.contains(s));
        az_ok && distinct_ok && self.free.fits(item.resources)
    }

    pub fn take(&mut self, item: &Item) {
        self.free = self.free.minus(item.resources);
        if let Some(service) = &item.service {
            self.services.insert(service.clone());
        }
    }
}

/// Per service and AZ, how many tasks there are (placed so far included): what AZ spread
/// balances.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spread {
    pub azs: Vec<String>,
    pub counts: BTreeMap<(String, String), u32>,
}

impl Spread {
    fn count(&self, service: &str, az: &str) -> u32 {
        self.counts
            .get(&(service.to_string(), az.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Whether `az` is one of the zones where the item's service has the fewest tasks.
    fn is_least(&self, item: &Item, az: &str) -> bool {
        let Some(service) = item.service.as_deref() else {
            return true;
        };
        let least = self
            .azs
            .iter()
            .map(|z| self.count(service, z))
            .min()
            .unwrap_or(0);
        self.count(service, az) <= least
    }

    fn record(&mut self, item: &Item, bin: &Bin) {
        if let (true, Some(service), Some(az)) = (item.spreads(), &item.service, &bin.az) {
            *self
                .counts
                .entry((service.clone(), az.clone()))
                .or_default() += 1;
        }
    }
}

/// Something to place: a pending task, or a task that consolidation would move.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub resources: Resources,
    pub service: Option<String>,
    pub placement: Placement,
    /// The AZ the task must land in (a task moved by consolidation stays in its zone).
    pub az: Option<String>,
}

impl Item {
    /// Balanced over zones while packing.
    fn spreads(&self) -> bool {
        self.placement.spread_az && self.az.is_none() && self.service.is_some()
    }
}

/// Opens new instances the way the Auto Scaling group will: next type in launch order, in the
/// AZ with the fewest instances (ties in the group's AZ order).
#[derive(Debug, Clone)]
pub(crate) struct Launcher {
    types: Vec<InstanceType>,
    azs: Vec<String>,
    per_az: BTreeMap<String, u32>,
    next_type: usize,
    /// How many more instances may be opened (max size and step limit).
    pub remaining: u32,
    pub opened: u32,
}

impl Launcher {
    pub fn new(types: &[InstanceType], azs: &[String], per_az: BTreeMap<String, u32>) -> Self {
        Launcher {
            types: types.to_vec(),
            azs: azs.to_vec(),
            per_az,
            next_type: 0,
            remaining: u32::MAX,
            opened: 0,
        }
    }

    /// Whether any type of the group can hold `need` at all.
    pub fn any_type_fits(&self, need: Resources) -> bool {
        self.types.iter().any(|t| t.resources.fits(need))
    }

    /// The next instance the group would start, ignoring the limit (used for capacity already
    /// requested but not launched).
    pub fn next_bin(&mut self) -> Option<Bin> {
        let instance_type = self.types.get(self.next_type % self.types.len().max(1))?;
        let free = instance_type.resources;
        self.next_type += 1;
        let az = self.balanced_az();
        if let Some(az) = &az {
            *self.per_az.entry(az.clone()).or_default() += 1;
        }
        Some(Bin::new(az, free))
    }

    /// Opens one more instance within the limit.
    fn open(&mut self) -> Option<Bin> {
        if self.remaining == 0 {
            return None;
        }
        let bin = self.next_bin()?;
        self.remaining -= 1;
        self.opened += 1;
        Some(bin)
    }

    fn balanced_az(&self) -> Option<String> {
        self.azs
            .iter()
            .min_by_key(|az| self.per_az.get(*az).copied().unwrap_or(0))
            .cloned()
    }

    /// Launches in one full cycle of AZs and types: if a task fits no instance in that many
    /// launches, it never will.
    fn cycle_len(&self) -> usize {
        (self.azs.len().max(1) * self.types.len().max(1)).max(1) * 2
    }
}

/// Where FFD left the items.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    /// Indices of items that fit no instance type of the group.
    pub unfittable: Vec<usize>,
    /// Indices of items that need more instances than the limit allows.
    pub over_limit: Vec<usize>,
}

/// First-fit decreasing: largest items first (by their share of `reference`), each into the
/// first bin that accepts it, opening instances through `launcher` when none does.
pub(crate) fn pack(
    bins: &mut Vec<Bin>,
    items: &[Item],
    launcher: &mut Launcher,
    spread: &mut Spread,
    reference: Resources,
) -> Packed {
    let mut packed = Packed::default();
    for index in decreasing_order(items, reference) {
        let item = &items[index];
        if !launcher.any_type_fits(item.resources) {
            packed.unfittable.push(index);
        } else if !place_spread(bins, item, spread)
            && !open_until_placed(bins, item, launcher, spread)
        {
            packed.over_limit.push(index);
        }
    }
    packed
}

/// First fit; an AZ-spread item only in the zones where its service has the fewest tasks, so
/// the service stays balanced within one task per zone.
fn place_spread(bins: &mut [Bin], item: &Item, spread: &mut Spread) -> bool {
    match bins
        .iter_mut()
        .find(|bin| bin.accepts_spread(item, Some(spread)))
    {
        Some(bin) => {
            bin.take(item);
            spread.record(item, bin);
            true
        }
        None => false,
    }
}

/// Item indices, biggest first; ties keep input order (stable sort) so plans are deterministic.
fn decreasing_order(items: &[Item], reference: Resources) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (
            items[a].resources.share_of(reference),
            items[b].resources.share_of(reference),
        );
        sb.total_cmp(&sa)
    });
    order
}

/// Opens instances in the group's order until one accepts the item. Instances opened on the way
/// (another AZ or type) stay as bins: the group starts them anyway, later items fill them.
fn open_until_placed(
    bins: &mut Vec<Bin>,
    item: &Item,
    launcher: &mut Launcher,
    spread: &mut Spread,
) -> bool {
    for _ in 0..launcher.cycle_len() {
        let Some(mut bin) = launcher.open() else {
            return false;
        };
        let accepted = bin.accepts_spread(item, Some(spread));
        if accepted {
            bin.take(item);
            spread.record(item, &bin);
        }
        bins.push(bin);
        if accepted {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn large() -> InstanceType {
        InstanceType {
            name: "large".into(),
            resources: Resources::new(2048, 8192),
        }
    }

    fn item(cpu: u32, memory: u32) -> Item {
        Item {
            resources: Resources::new(cpu, memory),
            service: None,
            placement: Placement::default(),
            az: None,
        }
    }

    fn launcher(azs: &[&str]) -> Launcher {
        let azs: Vec<String> = azs.iter().map(|s| s.to_string()).collect();
        Launcher::new(&[large()], &azs, BTreeMap::new())
    }

    #[test]
    fn ffd_packs_big_items_first() {
        // 3 x 1200 + 3 x 800 CPU: FFD pairs each 1200 with an 800 -> 3 instances.
        let items: Vec<Item> = [800, 1200, 800, 1200, 800, 1200]
            .iter()
            .map(|&c| item(c, 100))
            .collect();
        let mut bins = Vec::new();
        let mut l = launcher(&["a"]);
        let packed = pack(
            &mut bins,
            &items,
            &mut l,
            &mut Spread::default(),
            large().resources,
        );
        assert_eq!(l.opened, 3);
        assert!(packed.unfittable.is_empty() && packed.over_limit.is_empty());
    }

    #[test]
    fn memory_binds_as_well_as_cpu() {
        let items = vec![item(100, 5000), item(100, 5000)];
        let mut bins = Vec::new();
        let mut l = launcher(&["a"]);
        pack(
            &mut bins,
            &items,
            &mut l,
            &mut Spread::default(),
            large().resources,
        );
        assert_eq!(l.opened, 2);
    }

    #[test]
    fn az_target_opens_instances_in_balancing_order() {
        let mut target = item(100, 100);
        target.az = Some("c".into());
        let mut bins = Vec::new();
        let mut l = launcher(&["a", "b", "c"]);
        pack(
            &mut bins,
            &[target],
            &mut l,
            &mut Spread::default(),
            large().resources,
        );
        // a and b come first by AZ balancing; the group starts them whatever we wish.
        assert_eq!(l.opened, 3);
        assert_eq!(bins[2].az.as_deref(), Some("c"));
    }

    #[test]
    fn distinct_instance_puts_one_per_bin() {
        let mut one = item(100, 100);
        one.service = Some("s".into());
        one.placement.distinct_instance = true;
        let mut bins = Vec::new();
        let mut l = launcher(&["a"]);
        pack(
            &mut bins,
            &[one.clone(), one.clone(), one],
            &mut l,
            &mut Spread::default(),
            large().resources,
        );
        assert_eq!(l.opened, 3);
    }

    #[test]
    fn limit_and_unfittable_are_reported() {
        let items = vec![item(4096, 100), item(2048, 100), item(2048, 100)];
        let mut bins = Vec::new();
        let mut l = launcher(&["a"]);
        l.remaining = 1;
        let packed = pack(
            &mut bins,
            &items,
            &mut l,
            &mut Spread::default(),
            large().resources,
        );
        assert_eq!(packed.unfittable, vec![0]);
        assert_eq!(packed.over_limit, vec![2]);
        assert_eq!(l.opened, 1);
    }
}
