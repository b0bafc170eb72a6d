//! numpy's legacy `RandomState`, bit for bit, so that data generated here equals PyEPO's.
//!
//! MT19937 seeded with `init_genrand`, doubles from two 32-bit draws, the polar Box–Muller normal
//! with one cached value, and masked rejection for bounded integers — the algorithms numpy's
//! `RandomState` keeps for backward compatibility.

/// A Mersenne Twister (MT19937) with numpy's legacy sampling methods.
#[derive(Debug, Clone)]
pub struct RandomState {
    state: [u32; 624],
    index: usize,
    cached_normal: Option<f64>,
}

impl RandomState {
    /// `numpy.random.RandomState(seed)` for a 32-bit seed.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            state,
            index: 624,
            cached_normal: None,
        }
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..624 {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % 624] & LOWER);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 == 1 {
                next ^= MATRIX_A;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    /// The next raw 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// A double in [0, 1) with 53 random bits (`random_sample`).
    pub fn next_double(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_double()
    }

    /// `binomial(1, 0.5)`: a fair coin (numpy draws one double and compares it with 0.5).
    pub fn coin(&mut self) -> u8 {
        u8::from(self.next_double() > 0.5)
    }

    /// `standard_normal()`, the polar Box–Muller method with one cached value.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(v) = self.cached_normal.take() {
            return v;
        }
        loop {
            let x1 = 2.0 * self.next_double() - 1.0;
            let x2 = 2.0 * self.next_double() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_normal = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `randint(lo, hi)`: an integer in [lo, hi) by masked rejection.
    pub fn randint(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(hi > lo, "randint needs hi > lo");
        let range = (hi - lo - 1) as u64;
        if range == 0 {
            return lo;
        }
        let mut mask = range;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        loop {
            let v = if range <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                ((u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())) & mask
            };
            if v <= range {
                return lo + v as i64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_output_for_seed_135_matches_numpy() {
        assert_eq!(RandomState::new(135).next_u32(), 2_840_386_207);
    }

    #[test]
    fn randint_stays_in_range() {
        let mut r = RandomState::new(1);
        for _ in 0..1000 {
            let v = r.randint(300, 800);
            assert!((300..800).contains(&v));
        }
    }
}
