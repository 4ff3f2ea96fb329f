//! `callcoach token`: local-only identities for the local API (`callcoach api`), which plays
//! API Gateway's JWT authorizer.
//!
//! The first use makes an Ed25519 key pair in `.local/auth/` (ignored by git; the directory
//! 0700, the private key 0600, readable by you alone). Tokens are signed with its private key;
//! `callcoach api` verifies them with the public key. No deployed function can do either (see
//! `callcoach_local_router::local_auth`).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, bail};
use callcoach_local_router::local_auth::{LocalIssuer, generate_key_pair};

const KEY_DIR: &str = ".local/auth";
const PRIVATE_KEY: &str = ".local/auth/local-ed25519.pk8";
const PUBLIC_KEY: &str = ".local/auth/local-ed25519.pub";

/// The local key pair, made on first use: (PKCS#8 private key, base64url public key).
pub fn key_pair() -> anyhow::Result<(Vec<u8>, String)> {
    if Path::new(PRIVATE_KEY).exists() {
        let private = std::fs::read(PRIVATE_KEY).context("reading the local private key")?;
        let public = std::fs::read_to_string(PUBLIC_KEY).context("reading the local public key")?;
        return Ok((private, public.trim().to_owned()));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(KEY_DIR)
        .context("creating .local/auth")?;
    let (private, public) = generate_key_pair();
    // Created with its final mode, never briefly readable by others.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(PRIVATE_KEY)
        .and_then(|mut file| file.write_all(&private))
        .context("writing the local private key")?;
    std::fs::write(PUBLIC_KEY, &public).context("writing the local public key")?;
    Ok((private, public))
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (private, public) = key_pair()?;
    if args.iter().any(|a| a == "--public-key") {
        println!("{public}");
        return Ok(());
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(tenant), Some(user)) = (value("--tenant"), value("--user")) else {
        bail!(
            "usage: callcoach token --tenant TENANT --user USER [--ttl SECONDS] [--claim NAME] | --public-key"
        );
    };
    let ttl: i64 = match value("--ttl") {
        Some(ttl) => ttl.parse().context("--ttl takes seconds")?,
        None => 3600,
    };
    let claim = value("--claim").unwrap_or_else(|| "custom:tenant_id".into());
    let token =
        LocalIssuer::from_pkcs8(&private).issue(&claim, &tenant, &user, ttl, Default::default());
    println!("{token}");
    Ok(())
}
