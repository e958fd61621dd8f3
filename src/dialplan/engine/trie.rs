//! A compact, immutable digit trie from dial strings (`+`, `0`–`9`, `*`, `#`) to slots (rule or
//! entry indices), answering every slot along a number's path, longest prefix first.
//!
//! Layout: nodes are numbered breadth-first, so the children of a node are consecutive and sorted
//! by label; per node we keep its label (1 byte), the index of its first child (u32), its child
//! count (1 byte) and where its slots start in one shared slot array (u32), i.e. 10 bytes a node
//! plus 4 bytes a slot, in five flat vectors (no per-node allocation, no pointers). A lookup
//! touches one node per character and scans at most 13 sorted labels per step.

use std::collections::VecDeque;

/// Keys are never longer than this (longer input is only walked this far).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Trie {
    labels: Vec<u8>,
    first_child: Vec<u32>,
    child_count: Vec<u8>,
    /// Slots of node `i` are `slots[slot_start[i]..slot_start[i + 1]]`.
    slot_start: Vec<u32>,
    slots: Vec<u32>,
}

impl Trie {
    /// Builds the trie from `(key, slot)` pairs. Slots of one key keep ascending slot order, so
    /// a caller that numbers its rules in list order gets them back in list order.
    pub fn build<K: AsRef<str>>(mut entries: Vec<(K, u32)>) -> Self {
        fn key<K: AsRef<str>>(k: &K) -> &[u8] {
            k.as_ref().as_bytes()
        }
        entries.sort_unstable_by(|a, b| key(&a.0).cmp(key(&b.0)).then(a.1.cmp(&b.1)));
        entries.dedup_by(|a, b| key(&a.0) == key(&b.0) && a.1 == b.1);
        let mut trie = Trie {
            labels: vec![0],
            first_child: vec![0],
            child_count: vec![0],
            slot_start: Vec::new(),
            slots: Vec::with_capacity(entries.len()),
        };
        // Breadth-first: node indices are handed out in the order nodes are dequeued, so each
        // node's slots can be appended as it is processed.
        let mut queue = VecDeque::from([(0usize, 0usize, entries.len(), 0usize)]);
        while let Some((node, low, high, depth)) = queue.pop_front() {
            trie.slot_start.push(trie.slots.len() as u32);
            let mut i = low;
            // Keys ending here sort before the longer keys sharing this prefix.
            while i < high && key(&entries[i].0).len() == depth {
                trie.slots.push(entries[i].1);
                i += 1;
            }
            if depth >= MAX_DEPTH {
                continue;
            }
            trie.first_child[node] = trie.labels.len() as u32;
            let mut children = 0u8;
            while i < high {
                let label = key(&entries[i].0)[depth];
                let mut j = i + 1;
                while j < high && key(&entries[j].0)[depth] == label {
                    j += 1;
                }
                let child = trie.labels.len();
                trie.labels.push(label);
                trie.first_child.push(0);
                trie.child_count.push(0);
                queue.push_back((child, i, j, depth + 1));
                children = children.saturating_add(1);
                i = j;
            }
            trie.child_count[node] = children;
        }
        trie.slot_start.push(trie.slots.len() as u32);
        trie
    }

    fn child(&self, node: usize, label: u8) -> Option<usize> {
        let start = self.first_child[node] as usize;
        let end = start + self.child_count[node] as usize;
        self.labels[start..end]
            .iter()
            .position(|l| *l == label)
            .map(|i| start + i)
    }

    fn slots_of(&self, node: usize) -> &[u32] {
        let start = self.slot_start[node] as usize;
        let end = self.slot_start[node + 1] as usize;
        &self.slots[start..end]
    }

    /// Every node on `key`'s path that carries slots, deepest (longest prefix) first, with the
    /// prefix length it stands for.
    pub fn matches<'t>(&'t self, key: &[u8]) -> Matches<'t> {
        let mut path = [0u32; MAX_DEPTH + 1];
        let mut len = 0;
        if !self.labels.is_empty() {
            let mut node = 0usize;
            path[0] = 0;
            len = 1;
            for byte in key.iter().take(MAX_DEPTH) {
                match self.child(node, *byte) {
                    Some(next) => {
                        node = next;
                        path[len] = next as u32;
                        len += 1;
                    }
                    None => break,
                }
            }
        }
        Matches {
            trie: self,
            path,
            len,
        }
    }

    pub fn node_count(&self) -> usize {
        self.labels.len()
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Bytes held by the trie's arrays (their capacity, so what the allocator handed out).
    pub fn memory_bytes(&self) -> usize {
        self.labels.capacity()
            + self.first_child.capacity() * 4
            + self.child_count.capacity()
            + self.slot_start.capacity() * 4
            + self.slots.capacity() * 4
    }
}

/// The matching nodes of one lookup, longest prefix first.
pub struct Matches<'t> {
    trie: &'t Trie,
    path: [u32; MAX_DEPTH + 1],
    len: usize,
}

impl<'t> Iterator for Matches<'t> {
    /// (prefix length, slots in ascending order)
    type Item = (usize, &'t [u32]);

    fn next(&mut self) -> Option<Self::Item> {
        while self.len > 0 {
            self.len -= 1;
            let slots = self.trie.slots_of(self.path[self.len] as usize);
            if !slots.is_empty() {
                return Some((self.len, slots));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(trie: &Trie, key: &str) -> Vec<(usize, Vec<u32>)> {
        trie.matches(key.as_bytes())
            .map(|(depth, slots)| (depth, slots.to_vec()))
            .collect()
    }

    #[test]
    fn longest_prefix_comes_first() {
        let trie = Trie::build(vec![("+1", 0), ("+1415", 1), ("+14155", 2), ("+44", 3)]);
        assert_eq!(
            all(&trie, "+14155550100"),
            vec![(6, vec![2]), (5, vec![1]), (2, vec![0])]
        );
        assert_eq!(all(&trie, "+14165550100"), vec![(2, vec![0])]);
        assert_eq!(all(&trie, "+33"), vec![]);
    }

    #[test]
    fn ties_keep_slot_order_and_the_root_matches_everything() {
        let trie = Trie::build(vec![("+44", 7), ("", 9), ("+44", 2), ("+44", 7)]);
        assert_eq!(
            all(&trie, "+447700900000"),
            vec![(3, vec![2, 7]), (0, vec![9])]
        );
        assert_eq!(all(&trie, "999"), vec![(0, vec![9])]);
        assert_eq!(all(&trie, ""), vec![(0, vec![9])]);
    }

    #[test]
    fn star_and_hash_are_keys_too() {
        let trie = Trie::build(vec![("*67", 0), ("#31#", 1), ("*6", 2)]);
        assert_eq!(all(&trie, "*6712345"), vec![(3, vec![0]), (2, vec![2])]);
        assert_eq!(all(&trie, "#31#+441"), vec![(4, vec![1])]);
    }

    #[test]
    fn an_empty_trie_matches_nothing() {
        let trie = Trie::build(Vec::<(&str, u32)>::new());
        assert_eq!(all(&trie, "+1"), vec![]);
        assert_eq!(trie.node_count(), 1);
    }

    #[test]
    fn agrees_with_a_linear_scan_on_random_keys() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let digits = |rng: &mut rand::rngs::StdRng, n: usize| -> String {
            (0..n)
                .map(|_| char::from(b"+0123456789*#"[rng.random_range(0..13)]))
                .collect()
        };
        let keys: Vec<(String, u32)> = (0..3000u32)
            .map(|slot| {
                let len = rng.random_range(0..6);
                (digits(&mut rng, len), slot)
            })
            .collect();
        let trie = Trie::build(keys.clone());
        for _ in 0..3000 {
            let len = rng.random_range(0..9);
            let number = digits(&mut rng, len);
            let mut expected: Vec<(usize, u32)> = keys
                .iter()
                .filter(|(k, _)| number.starts_with(k.as_str()))
                .map(|(k, slot)| (k.len(), *slot))
                .collect();
            expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let got: Vec<(usize, u32)> = trie
                .matches(number.as_bytes())
                .flat_map(|(depth, slots)| slots.iter().map(move |s| (depth, *s)))
                .collect();
            assert_eq!(got, expected, "{number}");
        }
    }

    #[test]
    fn many_keys_share_nodes_and_every_key_is_found() {
        let keys: Vec<(String, u32)> = (0..20_000u32)
            .map(|i| (format!("+{}", 1_000_000 + i * 7), i))
            .collect();
        let trie = Trie::build(keys.clone());
        for (key, slot) in keys.iter().step_by(97) {
            let number = format!("{key}55");
            let first = trie.matches(number.as_bytes()).next().unwrap();
            assert_eq!(first, (key.len(), &[*slot][..]));
        }
        assert!(
            trie.node_count() < 20_000 * 8,
            "shared prefixes share nodes"
        );
        assert_eq!(trie.slot_count(), 20_000);
    }
}
