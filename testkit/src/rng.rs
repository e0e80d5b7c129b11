//! A tiny seeded random number generator whose sequence never changes between versions,
//! so a nemesis seed printed by a failing run replays the same schedule forever.

/// SplitMix64 (Steele, Lea and Flood 2014): small, fast, and fully determined by its seed.
///
/// # Examples
///
/// ```
/// use zk_testkit::SplitMix64;
///
/// let mut a = SplitMix64::new(42);
/// let mut b = SplitMix64::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rng = zk_testkit::SplitMix64::new(7);
    /// let _ = rng.next_u64();
    /// ```
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rng = zk_testkit::SplitMix64::new(0);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 when `n` is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut rng = zk_testkit::SplitMix64::new(1);
    /// assert!((0..100).all(|_| rng.below(3) < 3));
    /// assert_eq!(rng.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift maps 64 random bits onto 0..n without a modulo bias worth noting.
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// Shuffles `items` in place (Fisher–Yates).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut v = vec![1, 2, 3, 4];
    /// zk_testkit::SplitMix64::new(3).shuffle(&mut v);
    /// v.sort();
    /// assert_eq!(v, [1, 2, 3, 4]);
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.below(i as u64 + 1)).unwrap_or(0);
            items.swap(i, j);
        }
    }
}
