//! What every namespace gets from the control plane: the `default` ServiceAccount (pkg/controller/serviceaccount)
//! and the `kube-root-ca.crt` ConfigMap with the cluster CA (pkg/controller/certificates/rootcacertpublisher).
use super::{is_deleting, name_of};
use crate::server::ApiServer;
use serde_json::json;

const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

pub fn reconcile(api: &ApiServer) {
    let (namespaces, _) = api.store.list("namespaces", None);
    for ns in namespaces
        .iter()
        .filter(|n| !is_deleting(n) && n["status"]["phase"] != "Terminating")
    {
        let ns = name_of(ns);
        if api.store.get("serviceaccounts", ns, "default").is_none() {
            let _ = super::create(
                api,
                "serviceaccounts",
                ns,
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
            );
        }
        if let Some(pem) = api.ca_pem.get()
            && api
                .store
                .get("configmaps", ns, "kube-root-ca.crt")
                .is_none()
        {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": ns, "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                "data": {"ca.crt": pem}});
            let _ = super::create(api, "configmaps", ns, cm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_namespace_gets_default_service_account_and_root_ca() {
        let api = crate::controllers::testing::api();
        let _ = api.ca_pem.set("-----BEGIN CERTIFICATE-----\n".into());
        crate::bootstrap::apply_object(
            &api,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "obs"}}),
        )
        .unwrap();
        reconcile(&api);
        assert!(api.store.get("serviceaccounts", "obs", "default").is_some());
        let cm = api
            .store
            .get("configmaps", "obs", "kube-root-ca.crt")
            .unwrap();
        assert_eq!(cm["data"]["ca.crt"], "-----BEGIN CERTIFICATE-----\n");
        assert!(
            api.store
                .get("serviceaccounts", "kube-system", "default")
                .is_some()
        );
    }
}
