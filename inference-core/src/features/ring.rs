//! A fixed-capacity history that overwrites its oldest entry: what `heapless::HistoryBuf` did
//! here, written so that no index can be out of bounds (every index is taken modulo the
//! capacity, a constant), so the ring links no bounds-check panic, and with it no integer
//! formatting, into firmware images.

/// The `N` most recent values written (fewer until `N` were written).
#[derive(Debug, Clone)]
pub struct Ring<T, const N: usize> {
    buf: [T; N],
    /// Where the next value goes (`0..N`).
    next: usize,
    /// Values held (`0..=N`).
    len: usize,
}

impl<T: Copy, const N: usize> Ring<T, N> {
    const NOT_EMPTY: () = assert!(N > 0, "a ring holds at least one value");

    /// An empty ring; `fill` only initialises the storage (it is never read).
    pub const fn new(fill: T) -> Self {
        let () = Self::NOT_EMPTY;
        Ring {
            buf: [fill; N],
            next: 0,
            len: 0,
        }
    }

    /// Appends `v`, dropping the oldest value when full.
    pub fn write(&mut self, v: T) {
        self.buf[self.next % N] = v;
        self.next = (self.next + 1) % N;
        self.len = (self.len + 1).min(N);
    }

    /// The newest value, if any.
    pub fn recent(&self) -> Option<&T> {
        self.newest().next()
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values held, newest first.
    pub fn newest(&self) -> impl Iterator<Item = &T> + '_ {
        // `next + N - 1 - k` with `k < len ≤ N` and `next < N` never underflows
        (0..self.len.min(N)).map(move |k| &self.buf[(self.next % N + N - 1 - k) % N])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_values_newest_first() {
        let mut r: Ring<u32, 3> = Ring::new(0);
        assert!(r.is_empty());
        assert_eq!(r.recent(), None);
        assert_eq!(r.newest().count(), 0);
        for v in 1..=2 {
            r.write(v);
        }
        assert_eq!(r.len(), 2);
        assert_eq!(
            r.newest().copied().collect::<heapless::Vec<u32, 3>>(),
            [2, 1]
        );
        for v in 3..=7 {
            r.write(v);
            assert_eq!(r.recent(), Some(&v));
        }
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.newest().copied().collect::<heapless::Vec<u32, 3>>(),
            [7, 6, 5]
        );
    }

    #[test]
    fn matches_heapless_history_buf() {
        // the type it replaced, over every fill level and wrap-around
        let mut ours: Ring<u16, 5> = Ring::new(0);
        let mut theirs: heapless::HistoryBuf<u16, 5> = heapless::HistoryBuf::new();
        for v in 0..23u16 {
            let a: heapless::Vec<u16, 5> = ours.newest().copied().collect();
            let b: heapless::Vec<u16, 5> = theirs.oldest_ordered().rev().copied().collect();
            assert_eq!(a, b);
            assert_eq!(ours.recent(), theirs.recent());
            assert_eq!(ours.len(), theirs.len());
            ours.write(v.wrapping_mul(7919));
            theirs.write(v.wrapping_mul(7919));
        }
    }
}
