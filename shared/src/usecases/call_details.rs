//! A call's details (title, the customer's domain, the buyer persona) and its rep speaker are
//! sealed under the tenant's `metadata` data key, bound to the call, and opened only where
//! they are shown or filtered on: the API's views and filters and the exports, and (the rep
//! speaker alone) the scoring worker. The rest of the pipeline carries them as they are.
//!
//! Filters by company domain open each listed call rather than query a blind index: listings
//! are read a page at a time anyway, and an index would let anyone who reads the table tell
//! which calls are with the same customer.

use serde::{Deserialize, Serialize};

use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::domain::call::{Call, SealedDetails};
use crate::domain::org::SealedName;
use crate::ids::{CallId, TenantId};

/// A call's details, opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallDetails {
    pub title: String,
    pub company_domain: Option<String>,
    pub buyer_persona: Option<String>,
    /// Sealed on its own (it changes on its own): filled in by [`open_details`].
    #[serde(skip)]
    pub rep_speaker: Option<String>,
}

impl CallDetails {
    /// Whether the call is with `domain` (as users type domains: any case, spaces around).
    pub fn is_with(&self, domain: &str) -> bool {
        self.company_domain
            .as_deref()
            .is_some_and(|d| d.trim().eq_ignore_ascii_case(domain.trim()))
    }
}

/// Where a call's sealed fields are bound: the tenant's `metadata` category and the field.
fn metadata_binding<'a>(tenant: &'a TenantId, item: &'a str) -> Binding<'a> {
    Binding {
        tenant,
        category: DataCategory::Metadata,
        item,
    }
}

fn details_item(call: &CallId) -> String {
    format!("call/{call}/details")
}

/// `details` sealed for the call `call` of `tenant`.
pub async fn seal_details<E: Envelope>(
    envelope: &E,
    tenant: &TenantId,
    call: &CallId,
    details: &CallDetails,
) -> Result<SealedDetails, CryptoError> {
    let item = details_item(call);
    let binding = metadata_binding(tenant, &item);
    let plain = serde_json::to_vec(details).expect("call details are plain data");
    Ok(SealedDetails(envelope.encrypt(binding, &plain).await?))
}

/// The call's details and rep speaker, opened; empty details for a call stored before they
/// were sealed.
pub async fn open_details<E: Envelope>(
    envelope: &E,
    call: &Call,
) -> Result<CallDetails, CryptoError> {
    let mut details = if call.details.0.is_empty() {
        CallDetails::default()
    } else {
        let item = details_item(&call.call_id);
        let binding = metadata_binding(&call.tenant_id, &item);
        let plain = envelope.decrypt(binding, &call.details.0).await?;
        serde_json::from_slice(&plain).map_err(|_| CryptoError::Malformed)?
    };
    details.rep_speaker = open_rep_speaker(envelope, call).await?;
    Ok(details)
}

fn speaker_item(call: &CallId) -> String {
    format!("call/{call}/rep-speaker")
}

/// `speaker` (a transcript speaker's label or name) sealed as the rep speaker of `call`.
pub async fn seal_rep_speaker<E: Envelope>(
    envelope: &E,
    call: &Call,
    speaker: &str,
) -> Result<SealedName, CryptoError> {
    let item = speaker_item(&call.call_id);
    let binding = metadata_binding(&call.tenant_id, &item);
    Ok(SealedName(
        envelope.encrypt(binding, speaker.as_bytes()).await?,
    ))
}

/// The call's rep speaker, opened (`None` when no one chose one).
pub async fn open_rep_speaker<E: Envelope>(
    envelope: &E,
    call: &Call,
) -> Result<Option<String>, CryptoError> {
    let Some(sealed) = &call.rep_speaker else {
        return Ok(None);
    };
    let item = speaker_item(&call.call_id);
    let binding = metadata_binding(&call.tenant_id, &item);
    let plain = envelope.decrypt(binding, &sealed.0).await?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| CryptoError::Malformed)
}
