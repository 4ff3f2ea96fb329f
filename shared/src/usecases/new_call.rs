//! A new call and its upload: what may be uploaded and how much, who may create the call, what
//! it counts against the workspace's quotas, and where the file goes (a presigned PUT to the
//! call's key under `uploads/`, [`upload_key`]). A refused request counts nothing; one that
//! fails after counting gives the count back.

use std::time::Duration;

use crate::access::Caller;
use crate::crypto::{CryptoError, Envelope};
use crate::domain::call::Call;
use crate::ids::{CallId, TenantId};
use crate::keys::upload_key;
use crate::ports::{
    BlobError, BlobStore, CallRepository, Clock, IdGenerator, PresignedRequest, QuotaStore,
    StoreError, TeamRepository,
};
use crate::usecases::call_details::{CallDetails, seal_details};
use crate::usecases::calls::{CallError, NewCall};
use crate::usecases::ingest::{MAX_RECORDING_BYTES, MAX_TRANSCRIPT_BYTES};
use crate::usecases::quota::{self, Meter, Quotas};

/// What may be uploaded: transcript files, and recordings (audio or video).
pub const UPLOAD_CONTENT_TYPES: &[&str] = &[
    "text/vtt",
    "application/x-subrip",
    "application/json",
    "text/plain",
    "audio/wav",
    "audio/x-wav",
    "audio/mpeg",
    "audio/mp4",
    "audio/x-m4a",
    "audio/webm",
    "audio/ogg",
    "audio/flac",
    "video/mp4",
    "video/webm",
];

/// How long a presigned upload stays valid.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// The most bytes an upload of `content_type` may have: a recording's limit for audio and video,
/// a transcript's for the rest; `None` when the type is not one that may be uploaded.
pub fn upload_limit(content_type: &str) -> Option<u64> {
    if !UPLOAD_CONTENT_TYPES.contains(&content_type) {
        return None;
    }
    Some(
        if content_type.starts_with("audio/") || content_type.starts_with("video/") {
            MAX_RECORDING_BYTES
        } else {
            MAX_TRANSCRIPT_BYTES
        },
    )
}

/// The file the client is about to upload (checked by the caller: [`upload_limit`],
/// [`crate::keys::is_upload_file_name`]).
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub content_length: u64,
}

/// Who asks for which call, under which quotas, with which file.
#[derive(Debug, Clone)]
pub struct CallRequest<'a> {
    pub tenant: &'a TenantId,
    pub caller: &'a Caller,
    /// The workspace's quotas ([`Quotas::of_workspace`]).
    pub quotas: Quotas,
    /// The call; its details are sealed here, once it has its id.
    pub call: NewCall,
    pub details: CallDetails,
    pub upload: Upload,
}

/// The call as created, and the request that uploads its file.
#[derive(Debug)]
pub struct CreatedCall {
    pub call: Call,
    pub upload: PresignedRequest,
}

#[derive(Debug, thiserror::Error)]
pub enum NewCallError {
    /// The caller may not create a call for that rep in that team.
    #[error("the caller may not create this call")]
    NotAllowed,
    /// A quota of the workspace is spent: nothing was counted.
    #[error("over the workspace's {} quota", .meter.as_str())]
    OverQuota { meter: Meter, retry_after: Duration },
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the upload could not be presigned")]
    Blob(#[from] BlobError),
    #[error("the call's details could not be sealed")]
    Crypto(#[from] CryptoError),
}

/// Creates the call (awaiting its upload) and presigns the upload, once the caller may create it
/// (a rep for themselves, managers and owners for any member of the team:
/// [`Caller::can_create_call`]) and the workspace's quotas allow one more call and the upload's
/// bytes.
pub async fn create_call_with_upload<S, B, E, C, I>(
    store: &S,
    blobs: &B,
    envelope: &E,
    clock: &C,
    ids: &I,
    request: CallRequest<'_>,
) -> Result<CreatedCall, NewCallError>
where
    S: CallRepository + TeamRepository + QuotaStore,
    B: BlobStore,
    E: Envelope,
    C: Clock,
    I: IdGenerator,
{
    let CallRequest {
        tenant,
        caller,
        quotas,
        mut call,
        details,
        upload,
    } = request;
    let rep_is_member = store
        .memberships_of_user(tenant, &call.rep_id)
        .await?
        .iter()
        .any(|m| m.team_id == call.team_id);
    if !caller.can_create_call(&call.team_id, &call.rep_id, rep_is_member) {
        return Err(NewCallError::NotAllowed);
    }
    let spends = [
        (Meter::Calls, 1),
        (Meter::UploadBytes, upload.content_length),
    ];
    let receipt = match quota::spend_all(store, tenant, &quotas, &spends, clock.now()).await? {
        Ok(receipt) => receipt,
        Err((meter, retry_after)) => return Err(NewCallError::OverQuota { meter, retry_after }),
    };
    let created = async {
        let call_id: CallId = ids.mint();
        call.details = seal_details(envelope, tenant, &call_id, &details).await?;
        let call = call.into_call(tenant.clone(), call_id, clock.now());
        store.create_call(&call).await.map_err(CallError::from)?;
        let key = upload_key(tenant, &call.call_id, &upload.file_name);
        let upload = blobs
            .presign_put(
                &key,
                &upload.content_type,
                upload.content_length,
                UPLOAD_URL_TTL,
            )
            .await?;
        Ok::<_, NewCallError>(CreatedCall { call, upload })
    }
    .await;
    if created.is_err()
        && let Err(undo) = quota::give_back(store, tenant, receipt).await
    {
        tracing::warn!(error = %undo, "a failed call's quota spend was not given back");
    }
    created
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_may_be_larger_than_transcripts_and_other_types_are_refused() {
        assert_eq!(upload_limit("audio/mpeg"), Some(MAX_RECORDING_BYTES));
        assert_eq!(upload_limit("video/webm"), Some(MAX_RECORDING_BYTES));
        assert_eq!(upload_limit("text/vtt"), Some(MAX_TRANSCRIPT_BYTES));
        assert_eq!(upload_limit("application/json"), Some(MAX_TRANSCRIPT_BYTES));
        assert_eq!(upload_limit("audio/x-unknown"), None);
        assert_eq!(upload_limit("application/pdf"), None);
    }
}
