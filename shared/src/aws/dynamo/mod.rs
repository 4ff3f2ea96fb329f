//! DynamoDB single-table adapter: [`DynamoTable`] over the callcoach table, one file per
//! entity, and [`DynamoKeyTable`] over the wrapped data keys. Every item's keys are built in
//! `layout.rs`, which also shows the table design.

mod admins;
mod audit;
mod call_moves;
mod calls;
mod data_keys;
mod documents;
mod export_jobs;
mod idempotency;
mod items;
mod layout;
mod paging;
mod progress;
mod quota;
mod receipts;
mod retention;
mod table;
mod teams;
mod tenants;
mod transact;
mod usage;

use aws_sdk_dynamodb::Client;

pub use data_keys::DynamoKeyTable;
use table::Table;

/// Attribute names, in one place.
pub mod attr_names {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1_PK: &str = "gsi1pk";
    pub const GSI1_SK: &str = "gsi1sk";
    pub const GSI1: &str = "gsi1";
    pub const GSI2_PK: &str = "gsi2pk";
    pub const GSI2_SK: &str = "gsi2sk";
    /// A rep's calls in a team, newest first.
    pub const GSI2: &str = "gsi2";
    /// The sparse age index the retention reaper reads (KEYS_ONLY).
    pub const EXPIRY_INDEX: &str = "expiry";
    pub const EXP_PK: &str = "exp_pk";
    pub const EXP_SK: &str = "exp_sk";
    /// The sparse index of calls waiting for the pipeline (KEYS_ONLY): only a call item whose
    /// status waits carries the two attributes.
    pub const WAITING_INDEX: &str = "waiting";
    pub const WAIT_PK: &str = "wait_pk";
    pub const WAIT_SK: &str = "wait_sk";
    pub const ENTITY: &str = "entity";
    pub const STATUS: &str = "status";
    pub const BODY: &str = "body";
    /// The mark of the conditional put that wrote the item (tells its own retry from others).
    pub const WRITE_NONCE: &str = "wn";
    pub const CIPHERTEXT: &str = "ciphertext";
    pub const BLOB_KEY: &str = "blob_key";
    pub const WRAPPED_KEY: &str = "wrapped_key";
    pub const KMS_KEY_ID: &str = "kms_key_id";
    pub const CREATED_AT: &str = "created_at";
    pub const RESERVED: &str = "reserved_encryptions";
    pub const ROLE: &str = "role";
    pub const USER: &str = "user_id";
    pub const TEAM: &str = "team_id";
    pub const TENANT: &str = "tenant_id";
    /// Epoch seconds; DynamoDB TTL deletes late, so reads filter on it too.
    pub const EXPIRES_AT: &str = "expires_at";
    pub const PAYLOAD_HASH: &str = "payload_hash";
    /// The claim that holds an idempotency record.
    pub const OWNER: &str = "owner";
    pub const VERSION: &str = "version";
    /// Epoch milliseconds.
    pub const IN_PROGRESS_UNTIL: &str = "in_progress_until";
}

/// The callcoach table, and the table of wrapped data keys beside it.
///
/// The use cases that destroy a workspace reach both through this one store; the envelope
/// cipher needs the keys alone ([`Self::data_keys`]).
#[derive(Debug, Clone)]
pub struct DynamoTable {
    table: Table,
    keys: DynamoKeyTable,
}

impl DynamoTable {
    /// Both tables; `keys_table` holds the wrapped data keys.
    pub fn new(client: Client, table: impl Into<String>, keys_table: impl Into<String>) -> Self {
        Self {
            keys: DynamoKeyTable::new(client.clone(), keys_table),
            table: Table::new(client, table),
        }
    }

    /// The table of wrapped data keys.
    pub fn data_keys(&self) -> &DynamoKeyTable {
        &self.keys
    }
}
