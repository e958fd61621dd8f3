//! RFC 2782 ordering of SRV records: priority ascending, weighted random within a priority.

use super::lookup::SrvRecord;
use rand::Rng;
use rand::seq::SliceRandom;

/// Orders SRV records as RFC 2782 says to try them: priority ascending, and within a priority
/// by repeated weighted random selection (weight-0 records only have a small chance,
/// `1 / (sum of weights + 1)`, of being picked while heavier records remain).
pub fn order_srv<R: Rng + ?Sized>(mut records: Vec<SrvRecord>, rng: &mut R) -> Vec<SrvRecord> {
    records.sort_by_key(|record| record.priority);
    let mut ordered = Vec::with_capacity(records.len());
    for_each_priority(
        records,
        |r| r.priority,
        |group| {
            ordered.extend(weighted_order(group, |r| r.weight, rng));
        },
    );
    ordered
}

/// Splits `items` (sorted by priority) into runs of equal priority, in order.
pub(super) fn for_each_priority<T>(
    items: Vec<T>,
    priority: impl Fn(&T) -> u16,
    mut each: impl FnMut(Vec<T>),
) {
    let mut group: Vec<T> = Vec::new();
    for item in items {
        if group
            .first()
            .is_some_and(|first| priority(first) != priority(&item))
        {
            each(std::mem::take(&mut group));
        }
        group.push(item);
    }
    if !group.is_empty() {
        each(group);
    }
}

/// The RFC 2782 selection algorithm over one priority: zero-weight entries first in the
/// unordered list, a uniform number in `0..=sum`, pick the first entry whose running sum
/// reaches it, remove it, repeat. The list is shuffled first ("arrange in any order") so
/// equal weights, including all-zero, share the first place evenly.
pub(super) fn weighted_order<T, R: Rng + ?Sized>(
    mut pool: Vec<T>,
    weight: impl Fn(&T) -> u16,
    rng: &mut R,
) -> Vec<T> {
    pool.shuffle(rng);
    pool.sort_by_key(|item| weight(item) != 0); // stable: zero weights to the front
    let mut ordered = Vec::with_capacity(pool.len());
    while !pool.is_empty() {
        let total: u64 = pool.iter().map(|item| u64::from(weight(item))).sum();
        let pick = rng.random_range(0..=total);
        let mut running = 0u64;
        let index = pool
            .iter()
            .position(|item| {
                running += u64::from(weight(item));
                running >= pick
            })
            .unwrap_or(0);
        ordered.push(pool.remove(index));
    }
    ordered
}
