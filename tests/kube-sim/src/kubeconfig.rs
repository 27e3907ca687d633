//! The kubeconfig the world writes: cluster `kube-sim`, contexts `kube-sim` (admin, in `system:masters`) and
//! `kube-sim-restricted` (user `restricted`, whose rights come from the scenario's RBAC objects), namespace `default`;
//! both users are bearer tokens in the API server's token file (`control_plane`).
use base64::Engine;
use serde_json::json;

pub const ADMIN_CONTEXT: &str = "kube-sim";
pub const RESTRICTED_CONTEXT: &str = "kube-sim-restricted";
pub const ADMIN_USER: &str = "kube-sim-admin";
pub const RESTRICTED_USER: &str = "restricted";

/// Bearer tokens of both users (random per cluster).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub restricted: String,
}

impl Tokens {
    pub fn generate() -> Self {
        let t = || {
            format!(
                "{}{}",
                crate::ids::new_uid().replace('-', ""),
                crate::ids::new_uid().replace('-', "")
            )
        };
        Tokens {
            admin: t(),
            restricted: t(),
        }
    }
}

pub fn render(server: &str, ca_pem: &str, tokens: &Tokens) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kube-sim", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [
            {"name": ADMIN_USER, "user": {"token": tokens.admin}},
            {"name": RESTRICTED_USER, "user": {"token": tokens.restricted}},
        ],
        "contexts": [
            {"name": ADMIN_CONTEXT, "context": {"cluster": "kube-sim", "user": ADMIN_USER, "namespace": "default"}},
            {"name": RESTRICTED_CONTEXT, "context": {"cluster": "kube-sim", "user": RESTRICTED_USER, "namespace": "default"}},
        ],
        "current-context": ADMIN_CONTEXT,
        "preferences": {},
    });
    serde_saphyr::to_string(&doc).unwrap_or_default()
}
