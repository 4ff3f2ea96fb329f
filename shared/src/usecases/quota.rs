//! Per-workspace quotas: what one workspace may spend, so that one tenant (or one stolen token)
//! cannot run up the operator's bill or crowd out the others.
//!
//! Three meters: calls created per UTC day, upload bytes declared per UTC month (counted when
//! the presigned upload is issued, with the size it is bound to), and LLM tokens per UTC month
//! (the estimate of a request's prompt plus its output cap, counted before the request is
//! sent). The deployment sets the limits (`QUOTA_*`); an operator can give one workspace its
//! own. A request over a limit is refused whole and counts nothing: the API answers 429 with
//! `Retry-After` (seconds until the period ends), the scoring worker scores with the
//! deterministic coach instead of the LLM.
//!
//! Counters are items of the workspace (`T#{t}#QUOTA`, one per meter and period), kept by
//! atomic conditional adds, deleted with the workspace and expiring after their period.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, Time};

use crate::config::ConfigError;
use crate::domain::org::Tenant;
use crate::ids::TenantId;
use crate::ports::{BoundedAdd, QuotaCounter, QuotaStore, StoreError};

/// What a workspace may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    pub calls_per_day: u64,
    pub upload_bytes_per_month: u64,
    pub llm_tokens_per_month: u64,
    /// Workspace export jobs started per UTC day (each reads the whole workspace, and the
    /// jobs of every workspace share two runners). Limits set before it existed keep the
    /// default.
    #[serde(default = "default_workspace_exports_per_day")]
    pub workspace_exports_per_day: u64,
}

fn default_workspace_exports_per_day() -> u64 {
    10
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            calls_per_day: 1_000,
            upload_bytes_per_month: 500_000_000_000,
            llm_tokens_per_month: 100_000_000,
            workspace_exports_per_day: default_workspace_exports_per_day(),
        }
    }
}

impl Quotas {
    /// The deployment's limits: `QUOTA_CALLS_PER_DAY`, `QUOTA_UPLOAD_BYTES_PER_MONTH`,
    /// `QUOTA_LLM_TOKENS_PER_MONTH`, `QUOTA_WORKSPACE_EXPORTS_PER_DAY` (whole numbers; unset
    /// keeps the default).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Quotas::default();
        let read = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match lookup(name).as_deref().map(str::trim) {
                None | Some("") => Ok(default),
                Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                    name,
                    reason: format!("expected a whole number, got {text:?}"),
                }),
            }
        };
        Ok(Self {
            calls_per_day: read("QUOTA_CALLS_PER_DAY", defaults.calls_per_day)?,
            upload_bytes_per_month: read(
                "QUOTA_UPLOAD_BYTES_PER_MONTH",
                defaults.upload_bytes_per_month,
            )?,
            llm_tokens_per_month: read(
                "QUOTA_LLM_TOKENS_PER_MONTH",
                defaults.llm_tokens_per_month,
            )?,
            workspace_exports_per_day: read(
                "QUOTA_WORKSPACE_EXPORTS_PER_DAY",
                defaults.workspace_exports_per_day,
            )?,
        })
    }

    /// The limits a workspace works under: its own, when an operator set some, else the
    /// deployment's.
    pub fn of_workspace(workspace: Option<&Tenant>, deployment: Quotas) -> Quotas {
        workspace.and_then(|w| w.quotas).unwrap_or(deployment)
    }

    pub fn limit(&self, meter: Meter) -> u64 {
        match meter {
            Meter::Calls => self.calls_per_day,
            Meter::UploadBytes => self.upload_bytes_per_month,
            Meter::LlmTokens => self.llm_tokens_per_month,
            Meter::WorkspaceExports => self.workspace_exports_per_day,
        }
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    /// Calls created, per UTC day.
    Calls,
    /// Upload bytes declared, per UTC month.
    UploadBytes,
    /// LLM tokens, per UTC month.
    LlmTokens,
    /// Workspace export jobs started, per UTC day.
    WorkspaceExports,
}

impl Meter {
    pub fn as_str(self) -> &'static str {
        match self {
            Meter::Calls => "calls",
            Meter::UploadBytes => "upload_bytes",
            Meter::LlmTokens => "llm_tokens",
            Meter::WorkspaceExports => "workspace_exports",
        }
    }

    /// This meter's counter of `tenant` in `period`.
    fn counter<'a>(self, tenant: &'a TenantId, period: &'a str) -> QuotaCounter<'a> {
        QuotaCounter {
            tenant,
            meter: self.as_str(),
            period,
        }
    }

    /// The period `now` falls in: its name (part of the counter's key) and when it ends.
    pub fn period(self, now: OffsetDateTime) -> (String, OffsetDateTime) {
        let now = now.to_offset(time::UtcOffset::UTC);
        let midnight = |date: Date| date.with_time(Time::MIDNIGHT).assume_utc();
        match self {
            Meter::Calls | Meter::WorkspaceExports => (
                format!("{}", now.date()),
                midnight(now.date()) + Duration::DAY,
            ),
            Meter::UploadBytes | Meter::LlmTokens => {
                let (year, month) = (now.year(), now.month());
                let next = match month {
                    Month::December => Date::from_calendar_date(year + 1, Month::January, 1),
                    _ => Date::from_calendar_date(year, month.next(), 1),
                }
                .expect("the first of a month exists");
                (format!("{year:04}-{:02}", month as u8), midnight(next))
            }
        }
    }
}

/// Whether a spend was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    Granted,
    /// Over the limit: nothing was counted; the period ends in `retry_after`.
    Exhausted {
        retry_after: std::time::Duration,
    },
}

/// Counts `amount` against `meter` for `tenant`, unless that would pass `quotas`' limit.
pub async fn spend<S: QuotaStore>(
    store: &S,
    tenant: &TenantId,
    quotas: &Quotas,
    meter: Meter,
    amount: u64,
    now: OffsetDateTime,
) -> Result<Spend, StoreError> {
    let (period, ends) = meter.period(now);
    let limit = quotas.limit(meter);
    let granted = amount <= limit
        && store
            .add_within_limit(
                meter.counter(tenant, &period),
                BoundedAdd {
                    amount,
                    limit,
                    expires_at: ends,
                },
            )
            .await?;
    Ok(if granted {
        Spend::Granted
    } else {
        let left = (ends - now).max(Duration::SECOND);
        Spend::Exhausted {
            retry_after: left.try_into().unwrap_or(std::time::Duration::from_secs(1)),
        }
    })
}

/// What a successful [`spend_all`] counted, to give back if the request then fails.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "give the spend back if the request fails"]
pub struct Receipt {
    spent: Vec<(Meter, String, u64)>,
}

/// Counts every `(meter, amount)` or none: when one meter refuses, what the others took is
/// given back, and the refusal names the meter and the wait.
pub async fn spend_all<S: QuotaStore>(
    store: &S,
    tenant: &TenantId,
    quotas: &Quotas,
    spends: &[(Meter, u64)],
    now: OffsetDateTime,
) -> Result<Result<Receipt, (Meter, std::time::Duration)>, StoreError> {
    let mut receipt = Receipt { spent: Vec::new() };
    for &(meter, amount) in spends {
        match spend(store, tenant, quotas, meter, amount, now).await? {
            Spend::Granted => receipt.spent.push((meter, meter.period(now).0, amount)),
            Spend::Exhausted { retry_after } => {
                give_back(store, tenant, receipt).await?;
                return Ok(Err((meter, retry_after)));
            }
        }
    }
    Ok(Ok(receipt))
}

/// Takes back what `receipt` counted.
pub async fn give_back<S: QuotaStore>(
    store: &S,
    tenant: &TenantId,
    receipt: Receipt,
) -> Result<(), StoreError> {
    for (meter, period, amount) in receipt.spent {
        store
            .give_back(meter.counter(tenant, &period), amount)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fakes::InMemoryStore;

    #[test]
    fn periods_are_utc_days_and_months() {
        let at = datetime!(2026-12-31 23:59:30 UTC);
        assert_eq!(
            Meter::Calls.period(at),
            ("2026-12-31".into(), datetime!(2027-01-01 0:00 UTC))
        );
        assert_eq!(
            Meter::LlmTokens.period(at),
            ("2026-12".into(), datetime!(2027-01-01 0:00 UTC))
        );
        let local = datetime!(2026-03-01 01:00 +02:00);
        assert_eq!(Meter::UploadBytes.period(local).0, "2026-02");
    }

    #[tokio::test]
    async fn a_spend_over_the_limit_is_refused_whole_until_the_period_ends() {
        let store = InMemoryStore::default();
        let tenant = TenantId::parse("acme").unwrap();
        let other = TenantId::parse("other").unwrap();
        let quotas = Quotas {
            calls_per_day: 2,
            upload_bytes_per_month: 100,
            llm_tokens_per_month: 10,
            workspace_exports_per_day: 1,
        };
        let now = datetime!(2026-12-01 23:00 UTC);
        for _ in 0..2 {
            assert_eq!(
                spend(&store, &tenant, &quotas, Meter::Calls, 1, now)
                    .await
                    .unwrap(),
                Spend::Granted
            );
        }
        let refused = spend(&store, &tenant, &quotas, Meter::Calls, 1, now)
            .await
            .unwrap();
        assert_eq!(
            refused,
            Spend::Exhausted {
                retry_after: std::time::Duration::from_secs(3600)
            }
        );
        // Another workspace, another meter and the next day are untouched.
        assert_eq!(
            spend(&store, &other, &quotas, Meter::Calls, 1, now)
                .await
                .unwrap(),
            Spend::Granted
        );
        assert_eq!(
            spend(&store, &tenant, &quotas, Meter::UploadBytes, 60, now)
                .await
                .unwrap(),
            Spend::Granted
        );
        let tomorrow = now + Duration::hours(2);
        assert_eq!(
            spend(&store, &tenant, &quotas, Meter::Calls, 1, tomorrow)
                .await
                .unwrap(),
            Spend::Granted
        );
        // A spend that would pass the limit counts nothing: what fits still fits.
        assert!(matches!(
            spend(&store, &tenant, &quotas, Meter::UploadBytes, 41, now)
                .await
                .unwrap(),
            Spend::Exhausted { .. }
        ));
        assert_eq!(
            spend(&store, &tenant, &quotas, Meter::UploadBytes, 40, now)
                .await
                .unwrap(),
            Spend::Granted
        );
        assert!(matches!(
            spend(&store, &tenant, &quotas, Meter::LlmTokens, 11, now)
                .await
                .unwrap(),
            Spend::Exhausted { .. }
        ));
    }

    #[tokio::test]
    async fn spending_on_several_meters_counts_all_or_none() {
        let store = InMemoryStore::default();
        let tenant = TenantId::parse("acme").unwrap();
        let quotas = Quotas {
            calls_per_day: 5,
            upload_bytes_per_month: 100,
            llm_tokens_per_month: 10,
            workspace_exports_per_day: 1,
        };
        let now = datetime!(2026-12-01 12:00 UTC);
        let too_big = [(Meter::Calls, 1), (Meter::UploadBytes, 101)];
        for _ in 0..10 {
            let refused = spend_all(&store, &tenant, &quotas, &too_big, now)
                .await
                .unwrap();
            assert!(matches!(refused, Err((Meter::UploadBytes, _))));
        }
        // Ten refused requests took none of the day's five calls; a failed request gives back.
        let fits = [(Meter::Calls, 1), (Meter::UploadBytes, 10)];
        let receipt = spend_all(&store, &tenant, &quotas, &fits, now)
            .await
            .unwrap()
            .unwrap();
        give_back(&store, &tenant, receipt).await.unwrap();
        for _ in 0..5 {
            let _kept = spend_all(&store, &tenant, &quotas, &fits, now)
                .await
                .unwrap()
                .unwrap();
        }
        assert!(matches!(
            spend_all(&store, &tenant, &quotas, &fits, now)
                .await
                .unwrap(),
            Err((Meter::Calls, _))
        ));
    }

    #[test]
    fn limits_come_from_the_environment_or_the_defaults() {
        let env = |name: &str| (name == "QUOTA_CALLS_PER_DAY").then(|| "25".to_owned());
        let quotas = Quotas::from_lookup(&env).unwrap();
        assert_eq!(quotas.calls_per_day, 25);
        assert_eq!(
            quotas.llm_tokens_per_month,
            Quotas::default().llm_tokens_per_month
        );
        let bad = |name: &str| (name == "QUOTA_LLM_TOKENS_PER_MONTH").then(|| "lots".to_owned());
        assert!(Quotas::from_lookup(&bad).is_err());
    }
}
