//! The replay buffer: numbered output entries, already encoded as frames, kept until the
//! controller acknowledges them. Bounded by entry count and by bytes; on overflow the oldest
//! go first, and the gap shows in the sequence numbers.

use bytes::Bytes;
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
pub struct RingLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<(u64, Bytes)>,
    bytes: usize,
    limits: RingLimits,
}

impl Ring {
    pub fn new(limits: RingLimits) -> Self {
        Self {
            entries: VecDeque::new(),
            bytes: 0,
            limits,
        }
    }

    /// Appends an entry (`seq` must be greater than every buffered one) and returns how many
    /// old entries overflow pushed out. The newest entry always stays, however large.
    pub fn push(&mut self, seq: u64, frame: Bytes) -> usize {
        debug_assert!(self.entries.back().is_none_or(|(last, _)| *last < seq));
        self.bytes += frame.len();
        self.entries.push_back((seq, frame));
        let mut dropped = 0;
        while self.entries.len() > 1
            && (self.entries.len() > self.limits.max_entries.max(1)
                || self.bytes > self.limits.max_bytes)
        {
            self.pop_front();
            dropped += 1;
        }
        dropped
    }

    /// Forgets every entry with `seq <= upto`.
    pub fn ack(&mut self, upto: u64) {
        while self.entries.front().is_some_and(|(seq, _)| *seq <= upto) {
            self.pop_front();
        }
    }

    /// Up to `max` entries with `seq > after`, oldest first.
    pub fn after(&self, after: u64, max: usize) -> Vec<(u64, Bytes)> {
        let start = self.entries.partition_point(|(seq, _)| *seq <= after);
        self.entries.range(start..).take(max).cloned().collect()
    }

    pub fn oldest_seq(&self) -> Option<u64> {
        self.entries.front().map(|(seq, _)| *seq)
    }

    fn pop_front(&mut self) {
        if let Some((_, frame)) = self.entries.pop_front() {
            self.bytes -= frame.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(max_entries: usize, max_bytes: usize) -> Ring {
        Ring::new(RingLimits {
            max_entries,
            max_bytes,
        })
    }

    fn seqs(entries: &[(u64, Bytes)]) -> Vec<u64> {
        entries.iter().map(|(seq, _)| *seq).collect()
    }

    #[test]
    fn overflow_drops_the_oldest_by_count() {
        let mut r = ring(3, usize::MAX);
        for seq in 1..=3 {
            assert_eq!(r.push(seq, Bytes::from_static(b"x")), 0);
        }
        assert_eq!(r.push(4, Bytes::from_static(b"x")), 1);
        assert_eq!(r.push(5, Bytes::from_static(b"x")), 1);
        assert_eq!(r.oldest_seq(), Some(3));
        assert_eq!(seqs(&r.after(0, 100)), vec![3, 4, 5]);
    }

    #[test]
    fn overflow_drops_the_oldest_by_bytes_but_keeps_the_newest() {
        let mut r = ring(100, 10);
        r.push(1, Bytes::from_static(b"aaaa"));
        r.push(2, Bytes::from_static(b"bbbb"));
        assert_eq!(r.push(3, Bytes::from_static(b"cccc")), 1);
        assert_eq!(seqs(&r.after(0, 100)), vec![2, 3]);
        // Larger than the whole budget: kept alone.
        assert_eq!(r.push(4, Bytes::from(vec![b'd'; 50])), 2);
        assert_eq!(seqs(&r.after(0, 100)), vec![4]);
        r.push(5, Bytes::from_static(b"e"));
        assert_eq!(seqs(&r.after(0, 100)), vec![5]);
    }

    #[test]
    fn ack_forgets_up_to_and_including_seq() {
        let mut r = ring(10, usize::MAX);
        for seq in 1..=5 {
            r.push(seq, Bytes::from(seq.to_string()));
        }
        r.ack(3);
        assert_eq!(r.oldest_seq(), Some(4));
        r.ack(2); // stale acks change nothing
        assert_eq!(r.after(0, 100).len(), 2);
        r.ack(99);
        assert_eq!(r.oldest_seq(), None);
        assert!(r.after(0, 10).is_empty());
    }

    #[test]
    fn replay_after_a_seq_is_ordered_and_bounded() {
        let mut r = ring(10, usize::MAX);
        for seq in 1..=6 {
            r.push(seq, Bytes::from(format!("line {seq}")));
        }
        let got = r.after(2, 100);
        assert_eq!(seqs(&got), vec![3, 4, 5, 6]);
        assert_eq!(got[0].1, Bytes::from("line 3"));
        assert_eq!(seqs(&r.after(2, 2)), vec![3, 4]);
        assert!(r.after(6, 100).is_empty());
        // Entries before the oldest buffered one are simply absent.
        r.ack(4);
        assert_eq!(seqs(&r.after(0, 100)), vec![5, 6]);
    }
}
