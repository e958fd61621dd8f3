//! Multi-row statements cut to a size the PostgreSQL connection sends without stalling.

/// Bytes of bound values per multi-row statement, roughly. sqlx 0.9.0 leaves Nagle's algorithm
/// on (no TCP_NODELAY: sqlx issue #4335): a PostgreSQL message bigger than the socket's
/// first send buffer (16 KiB by default on Linux) has its tail held until the server's delayed
/// ACK, some 40 ms per statement, more than the round trips a bigger statement saves.
pub const STATEMENT_BYTES: usize = 12 * 1024;

/// `rows` cut into runs of at most `max_rows` rows and, past a run's first row,
/// [`STATEMENT_BYTES`] as `size` estimates them.
pub fn chunks<T>(rows: &[T], max_rows: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, row) in rows.iter().enumerate() {
        let row_bytes = size(row);
        if i > start && (i - start == max_rows || bytes + row_bytes > STATEMENT_BYTES) {
            out.push(&rows[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += row_bytes;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_order_and_cap_rows_and_bytes() {
        let small: Vec<usize> = vec![10; 1_234];
        let runs = chunks(&small, 500, |b| *b);
        assert_eq!(
            runs.iter().map(|r| r.len()).collect::<Vec<_>>(),
            [500, 500, 234]
        );

        // 5,000 bytes each: two fit under the budget, the third starts a new run.
        let big: Vec<usize> = vec![5_000; 5];
        let runs = chunks(&big, 500, |b| *b);
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [2, 2, 1]);

        // A row bigger than the budget still goes, alone.
        let mixed = [1, STATEMENT_BYTES * 2, 1, 1];
        let runs = chunks(&mixed, 500, |b| *b);
        assert_eq!(runs, [&mixed[..1], &mixed[1..2], &mixed[2..]]);

        let numbered: Vec<usize> = (0..1_000).collect();
        let runs = chunks(&numbered, 7, |n| n % 300);
        assert_eq!(runs.concat(), numbered, "every row once, in order");
        assert!(runs.iter().all(|r| r.len() <= 7));
        assert!(chunks(&[] as &[usize], 500, |b| *b).is_empty());
    }
}
