//! Listing cursors as clients see them: the store's position, sealed (AES-256-GCM) under the
//! tenant's insights data key and bound to one listing. Nothing inside is readable (a rep
//! paging one call at a time learns no colleague's call ids or creation times), a cursor
//! altered by one bit is refused, and a cursor of one listing or tenant opens in no other.
//! Sealing uses the data key the api already holds for reading analyses, so it costs no KMS
//! request beyond the key cache's; shredding a workspace leaves its old cursors unopenable.

use callcoach_shared::crypto::{Binding, DataCategory, Envelope};
use callcoach_shared::ids::TenantId;
use callcoach_shared::ports::Cursor;

use crate::error::ApiError;

fn refused() -> ApiError {
    ApiError::BadRequest("cursor: not valid for this listing".into())
}

fn item(listing: &str) -> String {
    format!("cursor/{listing}")
}

/// The sealed form of `cursor` for `listing`.
pub async fn seal<E: Envelope>(
    envelope: &E,
    tenant: &TenantId,
    listing: &str,
    cursor: Option<&Cursor>,
) -> Result<Option<String>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let item = item(listing);
    let binding = Binding {
        tenant,
        category: DataCategory::Insights,
        item: &item,
    };
    let sealed = envelope
        .encrypt(binding, cursor.as_str().as_bytes())
        .await?;
    Ok(Some(Cursor::from_bytes(&sealed).into_string()))
}

/// The store's cursor inside a client's sealed one, if it was sealed for this listing.
pub async fn open<E: Envelope>(
    envelope: &E,
    tenant: &TenantId,
    listing: &str,
    sealed: Option<&str>,
) -> Result<Option<Cursor>, ApiError> {
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let bytes = Cursor::from_client(sealed)
        .to_bytes()
        .map_err(|_| refused())?;
    let item = item(listing);
    let binding = Binding {
        tenant,
        category: DataCategory::Insights,
        item: &item,
    };
    let plain = envelope.decrypt(binding, &bytes).await.map_err(|e| {
        if e.is_retryable() {
            ApiError::from(e)
        } else {
            refused()
        }
    })?;
    let text = String::from_utf8(plain).map_err(|_| refused())?;
    Ok(Some(Cursor::from_client(text)))
}
