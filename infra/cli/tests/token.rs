//! `callcoach token` makes a local key pair once and issues tokens the api function's local
//! verifier accepts for exactly the tenant and user asked for.

use std::os::unix::fs::PermissionsExt;

use callcoach_local_router::local_auth::LocalVerifier;

mod common;
use common::callcoach;

#[test]
fn issued_tokens_verify_against_the_printed_public_key() {
    let dir = std::env::temp_dir().join(format!("callcoach-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let public = callcoach(&dir, &["token", "--public-key"]);
    assert_eq!(
        callcoach(&dir, &["token", "--public-key"]),
        public,
        "the key is made once"
    );
    let token = callcoach(
        &dir,
        &["token", "--tenant", "demo-tenant", "--user", "demo-rep"],
    );
    let claims = LocalVerifier::from_public_key(&public)
        .unwrap()
        .verify(&format!("Bearer {token}"))
        .expect("the function's verifier accepts it");
    assert_eq!(claims["sub"], "demo-rep");
    assert_eq!(claims["custom:tenant_id"], "demo-tenant");
    // The private key is the caller's alone, whatever the umask.
    let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(".local/auth/local-ed25519.pk8"), 0o600);
    assert_eq!(mode(".local/auth"), 0o700);

    let out = common::command(&dir)
        .args(["token", "--tenant", "t"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    std::fs::remove_dir_all(&dir).unwrap();
}
