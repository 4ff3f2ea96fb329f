//! Object key layout in the bucket. Each area begins with the tenant, so a tenant's objects are
//! found by three prefix listings and no key can name another tenant's object. Uploads have
//! their own top-level area so the S3 notification can filter on the `uploads/` prefix.
//!
//! ```text
//! uploads/{tenant}/{call}/upload.{ext}      raw uploads (recordings or transcript files)
//! documents/{tenant}/{call}/{kind}/v{n}     encrypted documents too large for a table item
//! documents/{tenant}/{call}/provider/{job}.json
//!                                           Amazon Transcribe's output for one job
//! exports/{tenant}/users/{user}/{export}.json
//!                                           a user's own export bundles
//! exports/{tenant}/workspace/{export}.json  workspace export bundles
//! exports/{tenant}/calls/{call}/{kind}-v{n}.json
//!                                           a document too large for an API answer, fetched
//!                                           by link (3 days, like bundles; purged with the call)
//! ```

use crate::ids::{CallId, ExportId, TenantId, UserId};
use crate::ports::DocumentKind;

pub const UPLOADS_AREA: &str = "uploads/";
const DOCUMENTS_AREA: &str = "documents/";
const EXPORTS_AREA: &str = "exports/";
pub const AREAS: [&str; 3] = [UPLOADS_AREA, DOCUMENTS_AREA, EXPORTS_AREA];

/// The prefixes holding every object of a tenant.
pub fn tenant_prefixes(tenant: &TenantId) -> [String; 3] {
    AREAS.map(|area| format!("{area}{tenant}/"))
}

pub fn upload_prefix(tenant: &TenantId, call: &CallId) -> String {
    format!("{UPLOADS_AREA}{tenant}/{call}/")
}

/// Where a call's file is uploaded: `uploads/{tenant}/{call}/upload` plus the file's extension.
/// The file's own name is not kept: it often names the customer or the people on the call, and
/// an object key is readable to whoever lists the bucket, in every log of it and in the call's
/// item. Ingestion takes no key outside `uploads/{tenant}/{call}/{one segment}`.
pub fn upload_key(tenant: &TenantId, call: &CallId, file: &str) -> String {
    format!(
        "{}upload{}",
        upload_prefix(tenant, call),
        upload_extension(file)
    )
}

/// The file's extension, as a hint of its format for people reading the bucket: a dot and one
/// to eight ASCII letters or digits, lowercased; nothing for any other name.
fn upload_extension(file: &str) -> String {
    match file.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=8).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!(".{}", ext.to_ascii_lowercase())
        }
        _ => String::new(),
    }
}

/// A file name that stays the last segment of its upload key: no `/`, neither `.` nor `..`.
pub fn is_upload_file_name(file: &str) -> bool {
    !file.contains('/') && file != "." && file != ".."
}

fn documents_prefix(tenant: &TenantId, call: &CallId) -> String {
    format!("{DOCUMENTS_AREA}{tenant}/{call}/")
}

pub fn document_key(tenant: &TenantId, call: &CallId, kind: DocumentKind, version: u32) -> String {
    format!(
        "{}{}/v{version}",
        documents_prefix(tenant, call),
        kind.as_str()
    )
}

/// Where Amazon Transcribe writes the output of one job for a call.
pub fn provider_output_key(tenant: &TenantId, call: &CallId, job: &str) -> String {
    format!("{}provider/{job}.json", documents_prefix(tenant, call))
}

/// The prefix of a tenant's exports: bundles and document views.
pub fn exports_prefix(tenant: &TenantId) -> String {
    format!("{EXPORTS_AREA}{tenant}/")
}

/// Where a user's own export bundles are: what deleting that user, or one of their calls,
/// empties.
pub fn user_exports_prefix(tenant: &TenantId, user: &UserId) -> String {
    format!("{}users/{user}/", exports_prefix(tenant))
}

/// Where every user's own bundles are.
pub fn all_user_exports_prefix(tenant: &TenantId) -> String {
    format!("{}users/", exports_prefix(tenant))
}

/// Where the workspace's bundles are: each holds all of it, so any deletion empties this.
pub fn workspace_exports_prefix(tenant: &TenantId) -> String {
    format!("{}workspace/", exports_prefix(tenant))
}

pub fn user_export_key(tenant: &TenantId, user: &UserId, export: &ExportId) -> String {
    format!("{}{export}.json", user_exports_prefix(tenant, user))
}

pub fn workspace_export_key(tenant: &TenantId, export: &ExportId) -> String {
    format!("{}{export}.json", workspace_exports_prefix(tenant))
}

fn document_views_prefix(tenant: &TenantId, call: &CallId) -> String {
    format!("{}calls/{call}/", exports_prefix(tenant))
}

/// Where a call's documents wait, as plain JSON, for a download link.
pub fn document_view_key(
    tenant: &TenantId,
    call: &CallId,
    kind: DocumentKind,
    version: u32,
) -> String {
    format!(
        "{}{}-v{version}.json",
        document_views_prefix(tenant, call),
        kind.as_str()
    )
}

/// Every prefix holding objects of one call: what its purge empties.
pub fn call_prefixes(tenant: &TenantId, call: &CallId) -> [String; 3] {
    [
        upload_prefix(tenant, call),
        documents_prefix(tenant, call),
        document_views_prefix(tenant, call),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MintedId;
    use crate::usecases::ingest::parse_upload_key;

    #[test]
    fn an_upload_key_names_its_tenant_and_call_to_ingestion() {
        let tenant = TenantId::parse("acme").unwrap();
        let call = CallId::from_random([7; 16]);
        let key = upload_key(&tenant, &call, "Globex intro call.VTT");
        assert_eq!(key, format!("{}upload.vtt", upload_prefix(&tenant, &call)));
        assert_eq!(
            parse_upload_key(&key).unwrap(),
            (tenant.clone(), call.clone())
        );
        // No extension worth keeping: no extension.
        for name in ["notes", ".hidden", "a.tar-gz", "x.verylongext"] {
            assert_eq!(
                upload_key(&tenant, &call, name),
                format!("{}upload", upload_prefix(&tenant, &call)),
                "{name}"
            );
        }
        assert!(is_upload_file_name("intro call.vtt") && is_upload_file_name("..."));
        for name in ["a/b", ".", ".."] {
            assert!(!is_upload_file_name(name), "{name}");
        }
    }
}
