//! Object key layout in the bucket. Each area begins with the tenant, so a tenant's objects are
//! found by three prefix listings and no key can name another tenant's object. Uploads have
//! their own top-level area so the S3 notification can filter on the `uploads/` prefix.
//!
//! ```text
//! uploads/{tenant}/{call}/{file}            raw uploads (recordings or transcript files)
//! documents/{tenant}/{call}/{kind}/v{n}     encrypted documents too large for a table item
//! exports/{tenant}/{export}.json            export bundles
//! ```

use crate::ids::{CallId, TenantId};
use crate::ports::DocumentKind;

pub const UPLOADS_AREA: &str = "uploads/";
pub const AREAS: [&str; 3] = [UPLOADS_AREA, "documents/", "exports/"];

/// The prefixes holding every object of a tenant.
pub fn tenant_prefixes(tenant: &TenantId) -> [String; 3] {
    AREAS.map(|area| format!("{area}{tenant}/"))
}

pub fn upload_prefix(tenant: &TenantId, call: &CallId) -> String {
    format!("{UPLOADS_AREA}{tenant}/{call}/")
}

pub fn document_key(tenant: &TenantId, call: &CallId, kind: DocumentKind, version: u32) -> String {
    format!("documents/{tenant}/{call}/{}/v{version}", kind.as_str())
}
