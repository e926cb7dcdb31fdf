//! A token-bucket rate limiter over a clock the caller advances.
//!
//! The bucket holds up to `capacity` tokens and gains `rate` tokens per second. Time never
//! comes from the system: [`Bucket::advance`] moves the bucket's clock, so every outcome is a
//! function of the calls made. Refill is counted in millitokens, so no fraction of a token is
//! lost between calls.

/// What [`Bucket::take`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The tokens were taken; this many are left.
    Taken {
        /// Tokens left in the bucket.
        left: u64,
    },
    /// Not enough tokens now; enough will be there after this many milliseconds.
    Refused {
        /// Milliseconds until the same request would succeed.
        retry_after_ms: u64,
    },
    /// More tokens than the bucket can ever hold.
    Never,
}

/// A token bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    capacity: u64,
    rate: u64,
    /// Tokens held, in thousandths of a token.
    millitokens: u64,
    /// The bucket's clock.
    now_ms: u64,
}

/// Why a bucket cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A bucket of no tokens refuses everything.
    ZeroCapacity,
    /// A bucket that never refills stays empty once used.
    ZeroRate,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Invalid::ZeroCapacity => "the capacity must be at least 1",
            Invalid::ZeroRate => "the rate must be at least 1 token per second",
        })
    }
}

impl Bucket {
    /// A full bucket of `capacity` tokens that gains `rate` tokens per second.
    #[spectrace::implements("TB-0001")]
    pub fn new(capacity: u64, rate: u64) -> Result<Self, Invalid> {
        if capacity == 0 {
            return Err(Invalid::ZeroCapacity);
        }
        if rate == 0 {
            return Err(Invalid::ZeroRate);
        }
        Ok(Self {
            capacity,
            rate,
            millitokens: capacity.saturating_mul(1000),
            now_ms: 0,
        })
    }

    /// Whole tokens held now.
    pub fn tokens(&self) -> u64 {
        self.millitokens / 1000
    }

    /// The bucket's clock, in milliseconds since it was made.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Moves the clock `ms` milliseconds on, refilling the bucket.
    #[spectrace::implements("TB-0003", "TB-0004")]
    pub fn advance(&mut self, ms: u64) {
        self.now_ms = self.now_ms.saturating_add(ms);
        let gained = ms.saturating_mul(self.rate);
        let full = self.capacity.saturating_mul(1000);
        self.millitokens = self.millitokens.saturating_add(gained).min(full);
    }

    /// Takes `n` tokens, or says why not.
    #[spectrace::implements("TB-0002", "TB-0005", "TB-0102")]
    pub fn take(&mut self, n: u64) -> Take {
        if n > self.capacity {
            return Take::Never;
        }
        let wanted = n.saturating_mul(1000);
        if self.millitokens >= wanted {
            self.millitokens -= wanted;
            return Take::Taken {
                left: self.tokens(),
            };
        }
        let missing = wanted - self.millitokens;
        Take::Refused {
            retry_after_ms: missing.div_ceil(self.rate),
        }
    }
}
