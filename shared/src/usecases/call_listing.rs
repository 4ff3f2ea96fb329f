//! Listing a team's calls: by rep (a rep's own calls, or the one rep a manager names) or the whole
//! team, newest first, with the listing's filters. Deleted calls are never listed.

use time::OffsetDateTime;

use crate::crypto::{CryptoError, Envelope};
use crate::domain::call::{Call, CallStatus, CallType};
use crate::ids::{TeamId, TenantId, UserId};
use crate::ports::{CallRepository, Page, PageRequest, StoreError};
use crate::usecases::call_details::{CallDetails, open_details};

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a listed call's details could not be opened")]
    Crypto(#[from] CryptoError),
}

/// Which calls of a team a listing holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Whose calls are read: the listing is then a query by rep, so no page holds, or skips,
    /// anyone else's calls (a rep's own listing, or a manager's filtered to one rep).
    pub rep: Option<UserId>,
    /// The rep id the request named, as written: a rep naming anyone but themselves gets none.
    pub named_rep: Option<String>,
    pub call_type: Option<CallType>,
    pub status: Option<CallStatus>,
    /// The company, case-insensitive.
    pub company_domain: Option<String>,
    /// Calls created at or after.
    pub from: Option<OffsetDateTime>,
    /// Calls created before.
    pub to: Option<OffsetDateTime>,
}

impl CallFilter {
    /// Whether the call passes, its details as opened.
    pub fn matches(&self, call: &Call, details: &CallDetails) -> bool {
        call.status != CallStatus::Deleted
            && self.rep.as_ref().is_none_or(|r| &call.rep_id == r)
            && self
                .named_rep
                .as_deref()
                .is_none_or(|r| call.rep_id.as_str() == r)
            && self.call_type.is_none_or(|t| call.call_type == t)
            && self.status.is_none_or(|s| call.status == s)
            && self
                .company_domain
                .as_deref()
                .is_none_or(|d| details.is_with(d))
            && self.from.is_none_or(|f| call.created_at >= f)
            && self.to.is_none_or(|t| call.created_at < t)
    }
}

/// One page of the team's calls, newest first, holding those that pass `filter`. The filters
/// apply to each page the store returns, so a page may hold fewer calls than asked for (none,
/// even) while more follow: follow `next` until it is absent.
pub async fn list_calls<S: CallRepository, E: Envelope>(
    store: &S,
    envelope: &E,
    tenant: &TenantId,
    team: &TeamId,
    filter: &CallFilter,
    page: &PageRequest,
) -> Result<Page<(Call, CallDetails)>, ListingError> {
    let listed = match &filter.rep {
        Some(rep) => store.list_rep_calls(tenant, team, rep, page).await?,
        None => store.list_team_calls(tenant, team, page).await?,
    };
    let mut items = Vec::with_capacity(listed.items.len());
    for call in listed.items {
        // A deleted call's details are never opened.
        if call.status == CallStatus::Deleted {
            continue;
        }
        let details = open_details(envelope, &call).await?;
        if filter.matches(&call, &details) {
            items.push((call, details));
        }
    }
    Ok(Page {
        items,
        next: listed.next,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ids::MintedId;
    use crate::usecases::calls::scored_call;

    fn call(
        rep: &str,
        status: CallStatus,
        company: Option<&str>,
        at: OffsetDateTime,
    ) -> (Call, CallDetails) {
        let call = Call {
            status,
            ..scored_call(TeamId::from_random([1; 16]), rep, at)
        };
        let details = CallDetails {
            company_domain: company.map(str::to_owned),
            ..CallDetails::default()
        };
        (call, details)
    }

    #[test]
    fn each_filter_narrows_and_deleted_calls_never_pass() {
        let at = datetime!(2026-03-01 12:00 UTC);
        let (scored, details) = call("rep-1", CallStatus::Scored, Some("Acme.com"), at);
        let passes = |filter: &CallFilter| filter.matches(&scored, &details);
        assert!(passes(&CallFilter::default()));
        let (deleted, none) = call("rep-1", CallStatus::Deleted, None, at);
        assert!(!CallFilter::default().matches(&deleted, &none));

        let company = |d: &str| CallFilter {
            company_domain: Some(d.into()),
            ..CallFilter::default()
        };
        assert!(passes(&company("acme.COM")) && !passes(&company("other.com")));
        let window = |from, to| CallFilter {
            from,
            to,
            ..CallFilter::default()
        };
        assert!(passes(&window(Some(at), None)), "from is inclusive");
        assert!(!passes(&window(None, Some(at))), "to is exclusive");
        let named = |r: &str| CallFilter {
            rep: Some(UserId::parse("rep-1").unwrap()),
            named_rep: Some(r.into()),
            ..CallFilter::default()
        };
        assert!(passes(&named("rep-1")) && !passes(&named("rep-2")));
        let status = CallFilter {
            status: Some(CallStatus::Failed),
            ..CallFilter::default()
        };
        assert!(!passes(&status));
    }
}
