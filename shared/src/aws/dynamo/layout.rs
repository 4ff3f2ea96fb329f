//! The table's key layout: every partition, sort and index key is built (and read back) here.
//!
//! Every partition key begins with `T#{tenant}#` (or is `T#{tenant}`), so a query built from a
//! caller's tenant can only ever read that tenant's items.
//!
//! | entity       | pk                        | sk                     | gsi1pk                         | gsi1sk                    |
//! |--------------|---------------------------|------------------------|--------------------------------|---------------------------|
//! | tenant       | `T#{t}`                   | `TENANT`               | `TENANTS`                      | `{t}`                     |
//! | team         | `T#{t}`                   | `TEAM#{team}`          |                                |                           |
//! | membership   | `T#{t}#TEAM#{team}`       | `MEMBER#{user}`        | `T#{t}#USER#{user}`            | `TEAM#{team}`             |
//! | call         | `T#{t}#CALL#{call}`       | `CALL`                 | `T#{t}#TEAM#{team}#CALLS`      | `{created_ns:020}#{call}` |
//! | (call, gsi2) |                           |                        | `T#{t}#TEAM#{team}#REP#{rep}`  | `{created_ns:020}#{call}` |
//! | document     | `T#{t}#CALL#{call}`       | `DOC#{kind}#v{n:010}`  |                                |                           |
//! | age mark     | `T#{t}#CALL#{call}`       | `AGE#{index}`          |                                |                           |
//! | data key     | `T#{t}#KEYS`              | `{category}#v{n:010}`  |                                |                           |
//! | idempotency  | `T#{t}#CALL#{call}`       | `IDEM#{key}`           |                                |                           |
//! | (no call)    | `T#{t}#IDEM#{key}`        | `IDEM`                 |                                |                           |
//! | rep progress | `T#{t}#USER#{user}`       | `PROGRESS`             |                                |                           |
//! | playbook     | `T#{t}`                   | `PLAYBOOK#{team}`      |                                |                           |
//! | audit event  | `T#{t}#AUDIT`             | `{at_ns:020}#{event}`  |                                |                           |
//! | usage event  | `T#{t}#USAGE#{user}`      | `{at_ns:020}#{call}#{view}` |                           |                           |
//! | user (known) | `T#{t}`                   | `USER#{user}`          |                                |                           |
//! | admin        | `T#{t}`                   | `ADMIN#{user}`         | `T#{t}#USER#{user}`            | `ADMIN`                   |
//! | quota counter| `T#{t}#QUOTA`             | `{meter}#{period}`     |                                |                           |
//! | export job   | `T#{t}#EXPORTS`           | `{export}`             |                                |                           |
//! | receipt      | `T#{t}#RECEIPTS`          | `RECEIPT#{issued_ns:020}#{receipt}` and `RID#{receipt}` |  |                 |
//! | ticket       | `T#{t}#RECEIPTS`          | `TICKET#{receipt}`, `TICKET#{receipt}#CALL#{call}` |      |                           |
//! | purge note   | `T#{t}#RECEIPTS`          | `PURGED#{call}`        |                                |                           |
//! | reaper resume| `SYSTEM#REAPER`           | `RESUME`               |                                |                           |
//!
//! Data keys are in a table of their own (see [`super::DynamoKeyTable`]), with the same keys.
//!
//! The sparse KEYS_ONLY indexes, whose pk is `T#{t}#AGE#{name}`:
//!
//! | index     | attributes          | name                             | sk                           |
//! |-----------|---------------------|----------------------------------|------------------------------|
//! | `expiry`  | `exp_pk`, `exp_sk`  | `calls`, `deleted`, `recordings` | `{since_s:012}#{call}`       |
//! | `expiry`  | `exp_pk`, `exp_sk`  | `usage_events`, `audit_events`   | `{expires_s:012}#{unique}`   |
//! | `waiting` | `wait_pk`, `wait_sk`| `waiting`                        | `{since_s:012}#{call}`       |
//!
//! Access patterns: get tenant / team / call by id (GetItem); a team's members (Query pk);
//! a user's teams (Query gsi1); a team's calls newest first, paged (Query gsi1, descending);
//! every document version of a call (Query pk, `begins_with(sk, "DOC#")`); the latest data
//! key of a category (Query pk descending, limit 1) and one version (GetItem). Calls get their
//! own partition so one busy tenant does not concentrate writes on one key.

use std::fmt::Display;

use time::OffsetDateTime;

use super::attr_names as a;
use super::items::{Item, attr, keys, s};
use crate::crypto::DataCategory;
use crate::ids::{CallId, ExportId, ReceiptId, TeamId, TenantId, UserId};
use crate::ports::{AgeIndex, AgeMark, DocumentKind, DueCall, ExpiringRecords, IdempotencyKey};

// The tenant partition: the tenant, its teams, playbooks, known users and admins.

pub(super) fn tenant_pk(t: &TenantId) -> String {
    format!("T#{t}")
}
/// What every other partition key of the tenant starts with.
pub(super) fn tenant_scope(t: &TenantId) -> String {
    format!("T#{t}#")
}
pub(super) const TENANT_SK: &str = "TENANT";
pub(super) const TEAM_PREFIX: &str = "TEAM#";
pub(super) fn team_sk(team: &TeamId) -> String {
    format!("{TEAM_PREFIX}{team}")
}
pub(super) fn playbook_sk(team: &TeamId) -> String {
    format!("PLAYBOOK#{team}")
}
pub(super) const ADMIN_PREFIX: &str = "ADMIN#";
pub(super) fn admin_sk(user: &UserId) -> String {
    format!("{ADMIN_PREFIX}{user}")
}
/// The admin record's sort key in the user's `gsi1` partition.
pub(super) const ADMIN_GSI_SK: &str = "ADMIN";
pub(super) const USER_REGISTRY_PREFIX: &str = "USER#";
pub(super) fn user_registry_sk(user: &UserId) -> String {
    format!("{USER_REGISTRY_PREFIX}{user}")
}
/// The user a registry sort key names.
pub(super) fn registered_user(sk: &str) -> Option<UserId> {
    UserId::parse(sk.strip_prefix(USER_REGISTRY_PREFIX)?).ok()
}

/// The registry entry of a user in the tenant partition.
pub(super) fn user_registry_item(tenant: &TenantId, user: &UserId) -> Item {
    let mut item = keys(tenant_pk(tenant), user_registry_sk(user));
    item.insert(a::ENTITY.into(), s("user"));
    item
}

/// Tenants are listed through `gsi1pk = TENANTS` on the tenant items.
pub(super) const TENANT_REGISTRY: &str = "TENANTS";
pub(super) fn register_tenant(item: &mut Item, tenant: &TenantId) {
    item.insert(a::GSI1_PK.into(), s(TENANT_REGISTRY));
    item.insert(a::GSI1_SK.into(), s(tenant.as_str()));
}

// Teams and their members.

pub(super) fn members_pk(t: &TenantId, team: &TeamId) -> String {
    format!("T#{t}#TEAM#{team}")
}
pub(super) const MEMBER_PREFIX: &str = "MEMBER#";
pub(super) fn member_sk(user: &UserId) -> String {
    format!("{MEMBER_PREFIX}{user}")
}
/// The user's `gsi1` partition: their memberships and admin record.
pub(super) fn user_gsi(t: &TenantId, user: &UserId) -> String {
    format!("T#{t}#USER#{user}")
}

// A call's partition: the call, its documents, age marks and idempotency records.

pub(super) fn call_pk(t: &TenantId, call: &CallId) -> String {
    format!("T#{t}#CALL#{call}")
}
pub(super) const CALL_SK: &str = "CALL";
pub(super) fn team_calls_gsi(t: &TenantId, team: &TeamId) -> String {
    format!("T#{t}#TEAM#{team}#CALLS")
}
pub(super) fn rep_calls_gsi(t: &TenantId, team: &TeamId, rep: &UserId) -> String {
    format!("T#{t}#TEAM#{team}#REP#{rep}")
}
/// Newest first in a descending query of either call listing.
pub(super) fn call_order_key(created_at: OffsetDateTime, call: &CallId) -> String {
    format!("{:020}#{call}", created_at.unix_timestamp_nanos().max(0))
}
pub(super) fn document_sk(kind: DocumentKind, version: u32) -> String {
    format!("{}{version:010}", document_prefix(kind))
}
/// What every version of a call's documents of `kind` begins its sort key with.
pub(super) fn document_prefix(kind: DocumentKind) -> String {
    format!("DOC#{}#v", kind.as_str())
}
/// The version a document's sort key names, when it names one of `kind`.
pub(super) fn document_version(sk: &str, kind: DocumentKind) -> Option<u32> {
    sk.strip_prefix(&document_prefix(kind))?.parse().ok()
}
/// The mark's sort key in the call's partition (`AGE#recordings` predates the other marks).
pub(super) fn mark_sk(mark: AgeMark) -> String {
    format!("AGE#{}", mark.index().as_str())
}

/// (pk, sk) of an idempotency record: in the call's partition when the work belongs to a
/// call, so the call's cascade removes it.
pub(super) fn idempotency_location(key: &IdempotencyKey<'_>) -> (String, String) {
    const SK: &str = "IDEM";
    match key.call {
        Some(call) => (call_pk(key.tenant, call), format!("{SK}#{}", key.key)),
        None => (format!("T#{}#IDEM#{}", key.tenant, key.key), SK.into()),
    }
}

// A user's own partitions.

pub(super) fn progress_pk(t: &TenantId, rep: &UserId) -> String {
    format!("T#{t}#USER#{rep}")
}
pub(super) const PROGRESS_SK: &str = "PROGRESS";
pub(super) fn usage_pk(t: &TenantId, user: &UserId) -> String {
    format!("T#{t}#USAGE#{user}")
}
pub(super) fn usage_sk(at: OffsetDateTime, call: &CallId, view: &str) -> String {
    format!("{}#{call}#{view}", nanos(at))
}
/// What tells one usage event apart in the expiry index: events of two users may share a
/// sort key.
pub(super) fn usage_expiry_unique(user: &UserId, sk: &str) -> String {
    format!("{user}#{sk}")
}

// Tenant-wide partitions.

pub(super) fn audit_pk(t: &TenantId) -> String {
    format!("T#{t}#AUDIT")
}
pub(super) fn audit_sk(at: OffsetDateTime, event: &impl Display) -> String {
    format!("{}#{event}", nanos(at))
}
/// The sort keys of events from `from` to `to`: '~' sorts after every id.
pub(super) fn audit_range(from: OffsetDateTime, to: OffsetDateTime) -> (String, String) {
    (format!("{}#", nanos(from)), format!("{}#~", nanos(to)))
}
pub(super) fn quota_pk(t: &TenantId) -> String {
    format!("T#{t}#QUOTA")
}
pub(super) fn quota_sk(meter: &str, period: &str) -> String {
    format!("{meter}#{period}")
}
pub(super) fn export_jobs_pk(t: &TenantId) -> String {
    format!("T#{t}#EXPORTS")
}
pub(super) fn export_job_sk(export: &ExportId) -> String {
    export.as_str().to_owned()
}
/// Receipts, open tickets and purge notes: kept when the workspace is destroyed.
pub(super) fn receipts_pk(t: &TenantId) -> String {
    format!("T#{t}#RECEIPTS")
}
pub(super) const TICKET_PREFIX: &str = "TICKET#";
pub(super) const PURGED_PREFIX: &str = "PURGED#";
pub(super) const RECEIPT_PREFIX: &str = "RECEIPT#";
pub(super) fn ticket_sk(receipt: &ReceiptId) -> String {
    format!("{TICKET_PREFIX}{receipt}")
}
pub(super) fn ticket_call_sk(receipt: &ReceiptId, call: &CallId) -> String {
    format!("{TICKET_PREFIX}{receipt}#CALL#{call}")
}
pub(super) fn purged_sk(call: &CallId) -> String {
    format!("{PURGED_PREFIX}{call}")
}
/// Listed newest first by issue time.
pub(super) fn receipt_sk(issued: OffsetDateTime, receipt: &str) -> String {
    format!("{RECEIPT_PREFIX}{}#{receipt}", nanos(issued))
}
/// The same receipt, found by its id.
pub(super) fn receipt_pointer_sk(receipt: &str) -> String {
    format!("RID#{receipt}")
}

/// Zero-padded epoch nanoseconds: sort keys that start with them sort by time.
fn nanos(at: OffsetDateTime) -> String {
    format!("{:020}", at.unix_timestamp_nanos().max(0))
}

// Data keys (in the keys table).

pub(super) fn keys_pk(t: &TenantId) -> String {
    format!("T#{t}#KEYS")
}
/// The mark a shredded workspace leaves beside its keys, in a partition of its own so that
/// shredding (which empties the keys' partition) cannot remove it: no key is created after it.
pub(super) fn shredded_pk(t: &TenantId) -> String {
    format!("T#{t}#SHREDDED")
}
pub(super) const SHREDDED_SK: &str = "SHREDDED";
/// What every version of a category's key starts with.
pub(super) fn data_key_prefix(category: DataCategory) -> String {
    format!("{}#v", category.as_str())
}
pub(super) fn data_key_sk(category: DataCategory, version: u32) -> String {
    format!("{}{version:010}", data_key_prefix(category))
}
/// The tenant, category and version a data key's keys name.
pub(super) fn parse_data_key(pk: &str, sk: &str) -> Option<(TenantId, DataCategory, u32)> {
    let tenant = pk.strip_prefix("T#")?.strip_suffix("#KEYS")?;
    let (category, version) = sk.split_once("#v")?;
    Some((
        TenantId::parse(tenant).ok()?,
        DataCategory::parse(category)?,
        version.parse().ok()?,
    ))
}

// The service's own items.

/// Where the reaper's scheduled run stopped: the service's own item, no tenant's.
pub(super) const REAPER_PK: &str = "SYSTEM#REAPER";
pub(super) const REAPER_RESUME_SK: &str = "RESUME";

// The age indexes.

fn age_partition(t: &TenantId, name: &str) -> String {
    format!("T#{t}#AGE#{name}")
}
/// `{at, epoch seconds, 12 digits}#{unique}`.
fn age_sort_key(at: OffsetDateTime, unique: &impl Display) -> String {
    format!("{:012}#{unique}", at.unix_timestamp().max(0))
}
pub(super) fn age_pk(t: &TenantId, index: AgeIndex) -> String {
    age_partition(t, index.as_str())
}
pub(super) fn expiry_pk(t: &TenantId, kind: ExpiringRecords) -> String {
    age_partition(t, kind.as_str())
}

/// The sort key above every entry of the second of `at`: '$' sorts after '#'.
pub(super) fn age_upper_bound(at: OffsetDateTime) -> String {
    format!("{:012}$", at.unix_timestamp().max(0))
}

/// The sort keys from just after `after` (or the start) to the end of the second of
/// `not_after`, both bounds included; `None` when that range is empty. No entry equals
/// either bound: '0' is the lowest possible, and '~' sorts after every id character.
pub(super) fn due_range(
    not_after: OffsetDateTime,
    after: Option<&DueCall>,
) -> Option<(String, String)> {
    let upper = age_upper_bound(not_after);
    let lower = match after {
        Some(due) => format!("{}~", age_sort_key(due.since, &due.call_id)),
        None => "0".to_owned(),
    };
    (lower < upper).then_some((lower, upper))
}

/// The call an age index sort key names, and since when.
pub(super) fn due_call(sk: &str) -> Option<DueCall> {
    let (seconds, call) = sk.split_once('#')?;
    Some(DueCall {
        call_id: CallId::parse(call).ok()?,
        since: OffsetDateTime::from_unix_timestamp(seconds.parse().ok()?).ok()?,
    })
}

/// Puts an item into an age index.
pub(super) fn index_call(
    item: &mut Item,
    tenant: &TenantId,
    call: &CallId,
    index: AgeIndex,
    since: OffsetDateTime,
) {
    item.insert(a::EXP_PK.into(), s(age_pk(tenant, index)));
    item.insert(a::EXP_SK.into(), s(age_sort_key(since, call)));
}

/// Puts a call item into the waiting index (its own sparse GSI: the item is in `calls` too).
pub(super) fn index_waiting(
    item: &mut Item,
    tenant: &TenantId,
    call: &CallId,
    since: OffsetDateTime,
) {
    item.insert(a::WAIT_PK.into(), s(age_pk(tenant, AgeIndex::Waiting)));
    item.insert(a::WAIT_SK.into(), s(age_sort_key(since, call)));
}

/// Puts a record into the expiry index of its kind, which the reaper deletes through, and gives
/// it the TTL attribute as a backstop; `unique` tells records of one second apart.
pub(super) fn index_expiry(
    item: &mut Item,
    tenant: &TenantId,
    kind: ExpiringRecords,
    expires_at: OffsetDateTime,
    unique: &str,
) {
    item.insert(
        a::EXPIRES_AT.into(),
        attr::number(expires_at.unix_timestamp()),
    );
    item.insert(a::EXP_PK.into(), s(expiry_pk(tenant, kind)));
    item.insert(a::EXP_SK.into(), s(age_sort_key(expires_at, &unique)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_the_adapter_reads_back_name_what_was_written() {
        let tenant = TenantId::parse("acme").unwrap();
        let pk = keys_pk(&tenant);
        let sk = data_key_sk(DataCategory::Insights, 7);
        assert_eq!(
            parse_data_key(&pk, &sk),
            Some((tenant.clone(), DataCategory::Insights, 7))
        );
        let due = DueCall {
            call_id: CallId::parse("call_00000000000000000000000000000001").unwrap(),
            since: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        };
        assert_eq!(
            due_call(&age_sort_key(due.since, &due.call_id)),
            Some(due.clone())
        );
        assert_eq!(
            registered_user(&user_registry_sk(&UserId::parse("u-1").unwrap())),
            Some(UserId::parse("u-1").unwrap())
        );
        let sk = document_sk(DocumentKind::Analysis, 12);
        assert_eq!(document_version(&sk, DocumentKind::Analysis), Some(12));
        assert_eq!(document_version(&sk, DocumentKind::Transcript), None);
    }

    #[test]
    fn a_due_range_starts_after_the_last_entry_read_and_ends_with_its_second() {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let due = DueCall {
            call_id: CallId::parse("call_00000000000000000000000000000001").unwrap(),
            since: at,
        };
        let entry = age_sort_key(at, &due.call_id);
        let (lower, upper) = due_range(at, None).unwrap();
        assert!(lower < entry && entry < upper);
        let later = at + time::Duration::seconds(1);
        let (lower, _) = due_range(later, Some(&due)).unwrap();
        assert!(entry < lower);
        let earlier = at - time::Duration::seconds(1);
        assert_eq!(due_range(earlier, Some(&due)), None);
    }
}
