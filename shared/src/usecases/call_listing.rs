//! Listing a team's calls: by rep (a rep's own calls, or the one rep a manager names) or the whole
//! team, newest first, with the listing's filters. Deleted calls are never listed.

use time::OffsetDateTime;

use crate::domain::call::{Call, CallStatus, CallType};
use crate::ids::{TeamId, TenantId, UserId};
use crate::ports::{CallRepository, Page, PageRequest, StoreError};

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
    pub fn matches(&self, call: &Call) -> bool {
        call.status != CallStatus::Deleted
            && self.rep.as_ref().is_none_or(|r| &call.rep_id == r)
            && self
                .named_rep
                .as_deref()
                .is_none_or(|r| call.rep_id.as_str() == r)
            && self.call_type.is_none_or(|t| call.call_type == t)
            && self.status.is_none_or(|s| call.status == s)
            && self.company_domain.as_deref().is_none_or(|d| {
                call.company_domain
                    .as_deref()
                    .is_some_and(|cd| cd.eq_ignore_ascii_case(d))
            })
            && self.from.is_none_or(|f| call.created_at >= f)
            && self.to.is_none_or(|t| call.created_at < t)
    }
}

/// One page of the team's calls, newest first, holding those that pass `filter`. The filters
/// apply to each page the store returns, so a page may hold fewer calls than asked for (none,
/// even) while more follow: follow `next` until it is absent.
pub async fn list_calls<S: CallRepository>(
    store: &S,
    tenant: &TenantId,
    team: &TeamId,
    filter: &CallFilter,
    page: &PageRequest,
) -> Result<Page<Call>, StoreError> {
    let mut listed = match &filter.rep {
        Some(rep) => store.list_rep_calls(tenant, team, rep, page).await?,
        None => store.list_team_calls(tenant, team, page).await?,
    };
    listed.items.retain(|call| filter.matches(call));
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ids::MintedId;
    use crate::usecases::calls::scored_call;

    fn call(rep: &str, status: CallStatus, company: Option<&str>, at: OffsetDateTime) -> Call {
        Call {
            status,
            company_domain: company.map(str::to_owned),
            ..scored_call(TeamId::from_random([1; 16]), rep, at)
        }
    }

    #[test]
    fn each_filter_narrows_and_deleted_calls_never_pass() {
        let at = datetime!(2026-03-01 12:00 UTC);
        let scored = call("rep-1", CallStatus::Scored, Some("Acme.com"), at);
        assert!(CallFilter::default().matches(&scored));
        let deleted = call("rep-1", CallStatus::Deleted, None, at);
        assert!(!CallFilter::default().matches(&deleted));

        let company = |d: &str| CallFilter {
            company_domain: Some(d.into()),
            ..CallFilter::default()
        };
        assert!(company("acme.COM").matches(&scored) && !company("other.com").matches(&scored));
        let window = |from, to| CallFilter {
            from,
            to,
            ..CallFilter::default()
        };
        assert!(window(Some(at), None).matches(&scored), "from is inclusive");
        assert!(!window(None, Some(at)).matches(&scored), "to is exclusive");
        let named = |r: &str| CallFilter {
            rep: Some(UserId::parse("rep-1").unwrap()),
            named_rep: Some(r.into()),
            ..CallFilter::default()
        };
        assert!(named("rep-1").matches(&scored) && !named("rep-2").matches(&scored));
        let status = CallFilter {
            status: Some(CallStatus::Failed),
            ..CallFilter::default()
        };
        assert!(!status.matches(&scored));
    }
}
