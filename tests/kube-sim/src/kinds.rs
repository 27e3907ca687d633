//! The one table from a built-in kind name to its k8s-openapi type, used for strict field validation and for the
//! OpenAPI schemas (`dispatch_kind!("Pod", |T| expr)` evaluates `expr` with `T` = `k8s_openapi::api::core::v1::Pod`).

/// Every kind with a typed model, with its group and version.
pub const TYPED_KINDS: &[(&str, &str, &str)] = &[
    ("", "v1", "ConfigMap"),
    ("", "v1", "Endpoints"),
    ("", "v1", "Event"),
    ("", "v1", "Namespace"),
    ("", "v1", "Node"),
    ("", "v1", "PersistentVolumeClaim"),
    ("", "v1", "PersistentVolume"),
    ("", "v1", "Pod"),
    ("", "v1", "Secret"),
    ("", "v1", "ServiceAccount"),
    ("", "v1", "Service"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "ReplicaSet"),
    ("apps", "v1", "StatefulSet"),
    ("storage.k8s.io", "v1", "StorageClass"),
    ("storage.k8s.io", "v1", "CSIDriver"),
    ("rbac.authorization.k8s.io", "v1", "Role"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview"),
    ("discovery.k8s.io", "v1", "EndpointSlice"),
];

#[macro_export]
macro_rules! dispatch_kind {
    ($kind:expr, |$t:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use k8s_openapi::api::{
            apps::v1 as apps, authorization::v1 as authz, core::v1 as core, discovery::v1 as disc,
            rbac::v1 as rbac, storage::v1 as storage,
        };
        #[allow(unused_imports)]
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
        match $kind {
            "ConfigMap" => {
                type $t = core::ConfigMap;
                Some($body)
            }
            "Endpoints" => {
                type $t = core::Endpoints;
                Some($body)
            }
            "Event" => {
                type $t = core::Event;
                Some($body)
            }
            "Namespace" => {
                type $t = core::Namespace;
                Some($body)
            }
            "Node" => {
                type $t = core::Node;
                Some($body)
            }
            "PersistentVolumeClaim" => {
                type $t = core::PersistentVolumeClaim;
                Some($body)
            }
            "PersistentVolume" => {
                type $t = core::PersistentVolume;
                Some($body)
            }
            "Pod" => {
                type $t = core::Pod;
                Some($body)
            }
            "Secret" => {
                type $t = core::Secret;
                Some($body)
            }
            "ServiceAccount" => {
                type $t = core::ServiceAccount;
                Some($body)
            }
            "Service" => {
                type $t = core::Service;
                Some($body)
            }
            "Deployment" => {
                type $t = apps::Deployment;
                Some($body)
            }
            "ReplicaSet" => {
                type $t = apps::ReplicaSet;
                Some($body)
            }
            "StatefulSet" => {
                type $t = apps::StatefulSet;
                Some($body)
            }
            "StorageClass" => {
                type $t = storage::StorageClass;
                Some($body)
            }
            "CSIDriver" => {
                type $t = storage::CSIDriver;
                Some($body)
            }
            "Role" => {
                type $t = rbac::Role;
                Some($body)
            }
            "RoleBinding" => {
                type $t = rbac::RoleBinding;
                Some($body)
            }
            "ClusterRole" => {
                type $t = rbac::ClusterRole;
                Some($body)
            }
            "ClusterRoleBinding" => {
                type $t = rbac::ClusterRoleBinding;
                Some($body)
            }
            "CustomResourceDefinition" => {
                type $t = ext::CustomResourceDefinition;
                Some($body)
            }
            "SelfSubjectAccessReview" => {
                type $t = authz::SelfSubjectAccessReview;
                Some($body)
            }
            "EndpointSlice" => {
                type $t = disc::EndpointSlice;
                Some($body)
            }
            _ => None,
        }
    }};
}
