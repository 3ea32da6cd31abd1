//! Input drift: the integer arithmetic the kernel shim runs on the inputs a model sees, and
//! the trainer replays on validation data to choose the model's drift levels. One definition,
//! so the levels mean on the device what they meant in training.
//!
//! A model's blob may carry, per input feature, the mean and the spread of its int8 input code
//! on the training data ([`MonitorWire::input_stats`](crate::blob::MonitorWire), 4 bytes a
//! feature: mean and spread in 1/16 of a code, i16 and u16, little endian). The device keeps
//! an exponentially weighted mean of each feature's code ([`update`], over about
//! [`DRIFT_SPAN`] samples) and a drift score: the mean over features of how far the running
//! mean is from the training mean, in per-mille of the training spread (at least one code),
//! each term capped at [`TERM_CAP`] so one broken sensor cannot dominate ([`score`]).

/// Samples the running means average over (weights halve in about 22).
pub const DRIFT_SPAN: i32 = 32;
/// Largest contribution of one feature to the score, per-mille of its spread (8 spreads).
pub const TERM_CAP: u32 = 8000;
/// Bytes of one feature's training statistics.
pub const STAT_LEN: usize = 4;

/// The running mean (1/16 code) after one more code.
pub fn update(mean_q4: i32, code: i8) -> i32 {
    mean_q4 + (i32::from(code) * 16 - mean_q4) / DRIFT_SPAN
}

/// Training mean and spread (1/16 code) of feature `i`, if `stats` has it.
pub fn stat(stats: &[u8], i: usize) -> Option<(i32, i32)> {
    let b = stats.get(i * STAT_LEN..(i + 1) * STAT_LEN)?;
    Some((
        i32::from(i16::from_le_bytes([b[0], b[1]])),
        i32::from(u16::from_le_bytes([b[2], b[3]])),
    ))
}

/// The encoded statistics of one feature (see the module docs).
pub fn encode_stat(mean_q4: i16, spread_q4: u16) -> [u8; STAT_LEN] {
    let (m, s) = (mean_q4.to_le_bytes(), spread_q4.to_le_bytes());
    [m[0], m[1], s[0], s[1]]
}

/// One feature's term: |running − training mean| in per-mille of the spread (at least one
/// code, 16), capped at [`TERM_CAP`].
pub fn term(mean_q4: i32, train_mean_q4: i32, spread_q4: i32) -> u32 {
    let d = u64::from(mean_q4.abs_diff(train_mean_q4));
    let s = spread_q4.max(16) as u64;
    (d * 1000 / s).min(u64::from(TERM_CAP)) as u32
}

/// The drift score of running means against `stats`: the mean of the features' terms.
pub fn score(means_q4: impl Iterator<Item = i32>, stats: &[u8]) -> u32 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (i, m) in means_q4.enumerate() {
        if let Some((tm, ts)) = stat(stats, i) {
            sum += u64::from(term(m, tm, ts));
            n += 1;
        }
    }
    (sum / n.max(1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_follow_and_scores_measure_the_shift() {
        let (a, b) = (encode_stat(0, 160), encode_stat(-320, 16));
        let stats = [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]];
        assert_eq!(stat(&stats, 1), Some((-320, 16)));
        assert_eq!(stat(&stats, 2), None);
        // at the training means: no drift
        assert_eq!(score([0, -320].into_iter(), &stats), 0);
        // one spread off on the first feature, none on the second: 500 per-mille on average
        assert_eq!(score([160, -320].into_iter(), &stats), 500);
        // capped terms
        assert_eq!(term(i32::MAX, i32::MIN, 0), TERM_CAP);
        // a constant code: the running mean converges to it
        let mut m = 0;
        for _ in 0..400 {
            m = update(m, 10);
        }
        assert!((160 - 31..=160).contains(&m), "{m}");
        m = update(m, -128);
        assert!(m < 160);
    }
}
