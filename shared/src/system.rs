//! Production implementations of the clock and id ports.

use time::OffsetDateTime;

use crate::ids::MintedId;
use crate::ports::{Clock, IdGenerator};

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Ids from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn mint<T: MintedId>(&self) -> T {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        T::from_random(bytes)
    }
}

impl<T: Clock> Clock for &T {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

impl<T: Clock> Clock for std::sync::Arc<T> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}
