//! A call's details (title, the customer's domain, the buyer persona) are sealed under the
//! tenant's `metadata` data key, bound to the call, and opened only where they are shown or
//! filtered on: the API's views and filters and the exports. The pipeline never reads them.
//!
//! Filters by company domain open each listed call rather than query a blind index: listings
//! are read a page at a time anyway, and an index would let anyone who reads the table tell
//! which calls are with the same customer.

use serde::{Deserialize, Serialize};

use crate::crypto::{Binding, CryptoError, DataCategory, Envelope};
use crate::domain::call::{Call, SealedDetails};
use crate::ids::{CallId, TenantId};

/// A call's details, opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallDetails {
    pub title: String,
    pub company_domain: Option<String>,
    pub buyer_persona: Option<String>,
}

impl CallDetails {
    /// Whether the call is with `domain` (as users type domains: any case, spaces around).
    pub fn is_with(&self, domain: &str) -> bool {
        self.company_domain
            .as_deref()
            .is_some_and(|d| d.trim().eq_ignore_ascii_case(domain.trim()))
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
    let binding = Binding {
        tenant,
        category: DataCategory::Metadata,
        item: &item,
    };
    let plain = serde_json::to_vec(details).expect("call details are plain data");
    Ok(SealedDetails(envelope.encrypt(binding, &plain).await?))
}

/// The call's details, opened; empty for a call stored before details were sealed.
pub async fn open_details<E: Envelope>(
    envelope: &E,
    call: &Call,
) -> Result<CallDetails, CryptoError> {
    if call.details.0.is_empty() {
        return Ok(CallDetails::default());
    }
    let item = details_item(&call.call_id);
    let binding = Binding {
        tenant: &call.tenant_id,
        category: DataCategory::Metadata,
        item: &item,
    };
    let plain = envelope.decrypt(binding, &call.details.0).await?;
    serde_json::from_slice(&plain).map_err(|_| CryptoError::Malformed)
}
